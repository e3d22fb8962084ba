"""Time of a whole-file read of a WET file with the WET reader (ms per read, best of
``rounds``), for comparing the reader before and after a change:

    nice -n 10 python bench/bench_wet_read.py [reads] [rounds] [path]

Default input: the real whirlwind WET in ../shared/data/warc (2 records, 3 KB), read
``reads`` times a round. To compare with an older revision, extract it (``git archive REV
curate | tar -x -C /tmp/old``) and run this script alternately with ``PYTHONPATH=/tmp/old``
and with this checkout's code, one process each: the code is imported from
``PYTHONPATH`` first."""

from __future__ import annotations

import os
import sys
import time

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from curate.readers import wet  # noqa: E402

SAMPLE = os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "warc", "cc-main-2024-22-whirlwind.warc.wet.gz"
)


def main():
    reads = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    path = sys.argv[3] if len(sys.argv) > 3 else SAMPLE
    config = wet.WetConfig()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reads):
            with open(path, "rb") as f:
                for _ in wet.read_wet(path, f, "web", config):
                    pass
        best = min(best, (time.perf_counter() - t) / reads)
    print(f"{wet.__file__}: {best * 1e3:.4f} ms per whole-file read (best of {rounds} x {reads} reads)")


if __name__ == "__main__":
    main()
