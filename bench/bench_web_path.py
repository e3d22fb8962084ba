"""The whole web path, WARC to filtered documents, side by side in one run: curate with
each extraction engine (trafilatura, resiliparse) and datatrove's equivalent pipeline
(WarcReader -> Trafilatura -> LanguageFilter -> Gopher repetition -> Gopher quality -> C4
-> FineWeb), with 1 and 2 workers, on the same WARCs. Prints docs/s (HTML pages in / wall
time of the whole command, start-up included; and after start-up: the wall time less that of the
same command on one page per file), the ratios, peak memory of the process tree,
pages kept and how far the kept sets agree (Jaccard of the WARC-Record-IDs kept).

Then the speedup of 2 local worker processes over 1 for curate on a larger corpus, and
whether both wrote the same shard bytes.

The corpus: real pages only, written into per-record-gzipped WARCs as Common Crawl's
(with WARC-Identified-Payload-Type): the HTML responses of ../shared/data/warc (the
truncated clipped-record.warc.gz left out: datatrove's WarcReader crashes on it) and the
181 article pages of ../shared/data/html, each repeated --copies times under new record
ids (the same page several times: the path has no dedup stage, so copies cost what new
pages cost), dealt round-robin into 4 files.

curate's chain: extract, language_id (en >= 0.65), gopher_repetition, gopher_quality, c4
(without bad words, as datatrove's C4QualityFilter without C4BadWordsFilter), fineweb,
then SentencePiece tokenization and Parquet shards (datatrove writes JSONL).

    export CURATE_PEER_PYTHON=VENV/bin/python   # bash bench/setup_peers.sh VENV
    nice -n 10 python bench/bench_web_path.py --copies 2 --speedup-copies 12
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import io
import json
import os
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(HERE, "..", "shared", "data")
sys.path.insert(0, os.path.join(HERE, "bench"))
sys.path.insert(0, HERE)

from _peers import require_peer_python  # noqa: E402
from _proctree import byte_compile, run_sampled  # noqa: E402

LID = os.path.join(HERE, "curate", "models", "lid.176.ftz")
TOKENIZER = os.path.join(HERE, "curate", "models", "mistral-tokenizer.model.v1")
N_FILES = 4


def real_pages() -> list[tuple[str, bytes, str]]:
    """(url, HTML bytes, content type) of every real HTML page: WARC responses and articles."""
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    for path in sorted(glob.glob(os.path.join(DATA, "warc", "*.warc.gz"))):
        if "clipped" in path:
            continue
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                ctype = rec.http_headers.get_header("Content-Type") or ""
                if "html" not in ctype.lower():
                    continue
                url = (rec.rec_headers.get_header("WARC-Target-URI") or "").strip("<>")
                pages.append((url, rec.content_stream().read(), ctype))
    truth = json.load(open(os.path.join(DATA, "html", "ground-truth.json"), encoding="utf-8"))
    for key in sorted(truth):
        with gzip.open(os.path.join(DATA, "html", "pages", f"{key}.html.gz"), "rb") as f:
            pages.append((truth[key]["url"], f.read(), "text/html"))
    return pages


def write_corpus(directory: str, copies: int, limit: int = 0) -> int:
    """The corpus as N_FILES per-record-gzipped WARCs; returns the number of pages
    (the first ``limit`` only, when given)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    os.makedirs(directory, exist_ok=True)
    pages = real_pages()[: limit or None]
    files = [open(os.path.join(directory, f"corpus-{i}.warc.gz"), "wb") for i in range(N_FILES)]
    writers = [WARCWriter(f, gzip=True) for f in files]
    n = 0
    for copy in range(copies):
        for i, (url, body, ctype) in enumerate(pages):
            record_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{copy}/{i}/{url}')}>"
            http = StatusAndHeaders(
                "200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
            )
            rec = writers[n % N_FILES].create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=http,
                warc_headers_dict={"WARC-Record-ID": record_id, "WARC-Identified-Payload-Type": "text/html"},
            )
            writers[n % N_FILES].write_record(rec)
            n += 1
    for f in files:
        f.close()
    return n


def run_curate(corpus: str, out: str, engine: str, workers: int) -> dict:
    config = os.path.join(out + ".yaml")
    with open(config, "w") as f:
        json.dump(
            {
                "inputs": [{"kind": "warc", "name": "web", "paths": [os.path.join(corpus, "*.warc.gz")]}],
                "stages": [
                    {"extract": {"engine": engine}},
                    {"language_id": {"languages": ["en"], "min_score": 0.65}},
                    {"gopher_repetition": {}},
                    {"gopher_quality": {}},
                    {"c4": {"drop_bad_words": False}},
                    {"fineweb": {}},
                ],
                "tokenizer": {"model": TOKENIZER},
                "output": {"num_shards": 2, "write_rejected": False},
            },
            f,
        )
    cmd = [sys.executable, "-m", "pipelines.cli", "run", config, "--output", out, "--overwrite"]
    if workers > 1:
        cmd += ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
    r = run_sampled(cmd, cwd=HERE)
    import pyarrow.parquet as pq

    shards = sorted(glob.glob(os.path.join(out, "shards", "*.parquet")))
    r["kept"] = {rid for s in shards for rid in pq.read_table(s, columns=["record_id"]).column(0).to_pylist()}
    r["shard_sha"] = [hashlib.sha256(open(s, "rb").read()).hexdigest() for s in shards]
    return r


def run_datatrove(python: str, corpus: str, out: str, workers: int) -> dict:
    script = os.path.join(HERE, "bench", "_datatrove_web_path.py")
    r = run_sampled([python, script, corpus, out, str(workers), LID], cwd=out if os.path.isdir(out) else None)
    result = json.loads(r["output"].strip().splitlines()[-1])
    r["kept"] = set(result["kept"])
    return r


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--copies", type=int, default=2, help="copies of the real pages in the side-by-side corpus (0: skip)"
    )
    ap.add_argument("--speedup-copies", type=int, default=12, help="copies for the 1-vs-2-worker speedup (0: skip)")
    ap.add_argument("--speedup-engine", default="resiliparse")
    args = ap.parse_args()
    byte_compile(HERE)
    with tempfile.TemporaryDirectory() as tmp:
        if args.copies:
            side_by_side(args, tmp)
        if args.speedup_copies:
            speedup(args, tmp)


def side_by_side(args, tmp: str) -> None:
    corpus = os.path.join(tmp, "corpus")
    n = write_corpus(corpus, args.copies)
    mb = sum(os.path.getsize(p) for p in glob.glob(os.path.join(corpus, "*"))) / 2**20
    print(f"corpus: {n:,} real HTML pages ({args.copies} copies), {N_FILES} WARC.gz files, {mb:.1f} MB")
    # The start-up cost of each command: the same command on one page per file.
    tiny = os.path.join(tmp, "tiny")
    write_corpus(tiny, 1, limit=N_FILES)
    # One untimed run of each first: the first process of a session reads its libraries
    # from disk (datatrove's first 4-page run took 10.3 s, its next 3.1 s).
    for name in ("datatrove", "curate trafilatura", "curate resiliparse"):
        out = os.path.join(tmp, f"{name.replace(' ', '-')}-warm-up")
        if name == "datatrove":
            os.makedirs(out)
            run_datatrove(require_peer_python(), tiny, out, 1)
        else:
            run_curate(tiny, out, name.split()[1], 1)
    rows = {}
    for workers in (1, 2):
        for name in ("datatrove", "curate trafilatura", "curate resiliparse"):
            runs = []
            for label, path in (("tiny", tiny), ("", corpus)):
                out = os.path.join(tmp, f"{name.replace(' ', '-')}-{workers}{label}")
                if name == "datatrove":
                    os.makedirs(out)
                    runs.append(run_datatrove(require_peer_python(), path, out, workers))
                else:
                    runs.append(run_curate(path, out, name.split()[1], workers))
            start_up, r = runs
            r["docs_s"] = n / r["wall_s"]
            r["start_s"] = start_up["wall_s"]
            # None: the 4-page run took as long as the whole corpus (the machine's load
            # changed between the two), so there is no after-start-up figure to give
            steady_s = r["wall_s"] - start_up["wall_s"]
            r["steady_docs_s"] = (n - N_FILES) / steady_s if steady_s > 0.1 * r["wall_s"] else None
            rows[(name, workers)] = r
    print(
        f"\n{'pipeline':<20} {'workers':>7} {'wall s':>7} {'docs/s':>7} {'x dt':>6} {'start s':>7} {'docs/s after':>12} "
        f"{'x dt':>6} {'peak MB':>8} {'kept':>5} {'Jaccard vs dt':>13}"
    )
    for (name, workers), r in rows.items():
        dt = rows[("datatrove", workers)]
        steady, dt_steady = r["steady_docs_s"], dt["steady_docs_s"]
        after = f"{steady:>12.1f} " if steady else f"{'n/a':>12} "
        after += f"{steady / dt_steady:>5.2f}x" if steady and dt_steady else f"{'n/a':>6}"
        print(
            f"{name:<20} {workers:>7} {r['wall_s']:>7.1f} {r['docs_s']:>7.1f} {r['docs_s'] / dt['docs_s']:>5.2f}x "
            f"{r['start_s']:>7.1f} {after} "
            f"{r['peak_mb']:>8.0f} {len(r['kept']):>5} {jaccard(r['kept'], dt['kept']):>13.3f}"
        )
    for engine in ("trafilatura", "resiliparse"):
        a, b = rows[(f"curate {engine}", 1)], rows[(f"curate {engine}", 2)]
        print(
            f"curate {engine}: 1 and 2 workers wrote {'the same' if a['shard_sha'] == b['shard_sha'] else 'DIFFERENT'} shard bytes"
        )
    t, r = rows[("curate trafilatura", 1)]["kept"], rows[("curate resiliparse", 1)]["kept"]
    print(
        f"kept by curate: trafilatura {len(t)}, resiliparse {len(r)}, both {len(t & r)} (Jaccard {jaccard(t, r):.3f})"
    )


def speedup(args, tmp: str) -> None:
    big = os.path.join(tmp, "big")
    n = write_corpus(big, args.speedup_copies)
    mb = sum(os.path.getsize(p) for p in glob.glob(os.path.join(big, "*"))) / 2**20
    one = run_curate(big, os.path.join(tmp, "big-1"), args.speedup_engine, 1)
    two = run_curate(big, os.path.join(tmp, "big-2"), args.speedup_engine, 2)
    print(
        f"\nspeedup corpus: {n:,} pages ({args.speedup_copies} copies of the real pages), {mb:.1f} MB, "
        f"engine {args.speedup_engine}"
    )
    print(f"  1 worker  {one['wall_s']:6.1f} s  {n / one['wall_s']:6.1f} docs/s  peak {one['peak_mb']:.0f} MB")
    print(f"  2 workers {two['wall_s']:6.1f} s  {n / two['wall_s']:6.1f} docs/s  peak {two['peak_mb']:.0f} MB")
    print(
        f"  speedup {one['wall_s'] / two['wall_s']:.2f}x; shard bytes "
        f"{'equal' if one['shard_sha'] == two['shard_sha'] else 'DIFFERENT'}; kept {len(one['kept'])}"
    )


if __name__ == "__main__":
    main()
