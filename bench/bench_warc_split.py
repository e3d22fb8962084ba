"""Cost of reading one WARC.gz in byte ranges vs whole: the ranges are read one after the
other here, so the ratio is the pure overhead of splitting (member scan at each range
boundary, one probe per file); on a runner the ranges run in parallel.

    python bench/bench_warc_split.py [copies] [split_bytes]

The input is the real Common Crawl sample in ../shared/data/warc repeated ``copies`` times
(gzip members concatenate into a valid per-record WARC.gz)."""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from curate.readers.warc import WarcConfig, read_warc, read_warc_range, splits_by_member  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "warc", "cc-main-2020-34-sample.warc.gz")


def main():
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    split_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
    data = open(SAMPLE, "rb").read() * copies
    with tempfile.NamedTemporaryFile(suffix=".warc.gz") as tmp:
        tmp.write(data)
        tmp.flush()
        size = len(data)
        with open(tmp.name, "rb") as f:
            t = time.perf_counter()
            whole = sum(1 for _ in read_warc(tmp.name, f, "web", WarcConfig()))
            t_whole = time.perf_counter() - t
        with open(tmp.name, "rb") as f:
            t = time.perf_counter()
            assert splits_by_member(f, size, split_bytes)
            ranged = 0
            for start in range(0, size, split_bytes):
                ranged += sum(
                    1
                    for _ in read_warc_range(
                        tmp.name, f, "web", WarcConfig(), start, min(start + split_bytes, size), size
                    )
                )
            t_ranged = time.perf_counter() - t
    assert ranged == whole
    print(f"{size / 1e6:.1f} MB, {whole} records, {-(-size // split_bytes)} ranges of {split_bytes} bytes")
    print(f"whole file: {t_whole:.2f} s ({whole / t_whole:.0f} records/s)")
    print(f"ranges, one after the other: {t_ranged:.2f} s ({ranged / t_ranged:.0f} records/s)")
    print(
        f"ratio ranged/whole: {t_ranged / t_whole:.3f}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
