"""Web filtering chain: curate vs datatrove 0.10.1, on the same extracted documents.

    python bench/bench_filters.py [--workers 2] [--copies 4] [--rounds 2]

Documents: the real pages of ../shared/data (html/pages/*.html.gz and the HTML responses
of warc/*.warc.gz, extracted with trafilatura by curate's ``extract`` stage) and the two
Gutenberg books cut into ~300-word chunks. Extraction runs once; the texts are cached
in $TMPDIR (never in the repository). The unique documents are repeated ``--copies``
times for the timed run, so that it lasts long enough to measure.

Chain, in FineWeb's order: language ID (English, score >= 0.65, fastText lid.176.ftz on
both sides), Gopher repetition, Gopher quality, C4 quality (no bad-words rule on either
side: datatrove's downloads its list; ours still counts the words, so the cost is
timed), FineWeb quality. Both sides run the filters' own
per-document calls (ours ``stage.process``, datatrove's ``filter``) in a pool of the same
number of worker processes, timed after every worker has loaded its models. The
datatrove half runs in the peers' venv ($CURATE_PEER_PYTHON, ``--peer``) as a subprocess of this script.

Also printed: how many documents each side keeps, how often the final decisions agree,
and - running each filter alone on the original unique texts, one process - each
filter's time per document and its keep/drop agreement with datatrove's counterpart.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import os
import pathlib
import resource
import subprocess
import sys
import time

from _peers import require_peer_python

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = pathlib.Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
LID_MODEL = os.environ.get("CURATE_LID_MODEL") or str(REPO / "curate" / "models" / "lid.176.ftz")
CACHE = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / "curate-bench-filters" / "docs-v1.jsonl"
CHUNK_WORDS = 300
FILTERS = ("language_id", "gopher_repetition", "gopher_quality", "c4", "fineweb")

# ----------------------------------------------------------------------------- documents


def _book_chunks(path: pathlib.Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    start, end = text.find("*** START OF"), text.find("*** END OF")
    if start != -1 and end != -1:
        text = text[text.index("\n", start) + 1 : end]
    chunks, cur, n = [], [], 0
    for line in text.split("\n"):
        cur.append(line)
        n += len(line.split())
        if n >= CHUNK_WORDS:
            chunks.append("\n".join(cur).strip())
            cur, n = [], 0
    if n:
        chunks.append("\n".join(cur).strip())
    return [c for c in chunks if c]


def build_documents() -> list[dict]:
    """Extract the real pages and chunk the books (ours: curate's reader and extract stage)."""
    sys.path.insert(0, str(REPO))
    from curate import registry
    from curate.config import build
    from curate.document import Document
    from curate.readers.warc import decode_html, read_warc

    spec = registry.stage("extract")
    extract = spec.make(build(spec.config_cls, {}))
    truth = json.loads((DATA / "html" / "ground-truth.json").read_text())
    docs = []

    def add(doc):
        out = extract.process(doc)
        if isinstance(out, Document) and out.text.strip():
            docs.append({"id": doc.id, "source": doc.source, "url": doc.provenance.get("url"), "text": out.text})

    for path in sorted((DATA / "html" / "pages").glob("*.html.gz")):
        key = path.name[: -len(".html.gz")]
        html, _, _ = decode_html(gzip.decompress(path.read_bytes()))
        url = truth.get(key, {}).get("url")
        add(Document(id=key, text="", source="page", provenance={"url": url}, html=html))
    for path in sorted((DATA / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for item in read_warc(str(path), f, "web", registry.reader("warc").config_cls()):
                if isinstance(item, Document) and item.html:
                    add(item)
    for path in sorted((DATA / "books").glob("*.txt")):
        for i, chunk in enumerate(_book_chunks(path)):
            docs.append({"id": f"{path.stem}#{i}", "source": "book", "url": None, "text": chunk})
    return docs


def load_documents() -> list[dict]:
    if not CACHE.exists():
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        docs = build_documents()
        tmp = CACHE.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        tmp.rename(CACHE)
    with open(CACHE, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ----------------------------------------------------------------------------- the two chains


class OursChain:
    """curate's stages with their default (paper) parameters, English LID at 0.65."""

    def __init__(self):
        sys.path.insert(0, str(REPO))
        from curate import registry
        from curate.config import build
        from curate.document import Document, Drop

        self.Document, self.Drop = Document, Drop
        params = {
            "language_id": {"languages": ["en"], "min_score": 0.65, "model": LID_MODEL},
            # datatrove's C4QualityFilter has no bad-words rule: same rules on both sides
            # (the words are still counted, so their cost is in the timing).
            "c4": {"drop_bad_words": False},
        }
        self.stages = []
        for name in FILTERS:
            spec = registry.stage(name)
            self.stages.append((name, spec.make(build(spec.config_cls, params.get(name, {})))))

    def make(self, d: dict):
        return self.Document(id=d["id"], text=d["text"], source=d["source"], provenance={"url": d["url"]})

    def run_one(self, stage, d: dict) -> str | None:
        out = stage.process(self.make(d))
        return out.reason if isinstance(out, self.Drop) else None

    def run_chain(self, d: dict) -> str | None:
        doc = self.make(d)
        for name, stage in self.stages:
            out = stage.process(doc)
            if isinstance(out, self.Drop):
                return f"{name}:{out.reason}"
            doc = out
        return None


class PeerChain:
    """datatrove 0.10.1's filters with their defaults; LID on the local lid.176.ftz."""

    def __init__(self):
        os.environ.setdefault("HF_HOME", str(CACHE.parent / "hf"))
        from datatrove.data import Document
        from datatrove.pipeline.filters import (
            C4QualityFilter,
            FineWebQualityFilter,
            GopherQualityFilter,
            GopherRepetitionFilter,
            LanguageFilter,
        )
        from datatrove.utils.lid import FT176LID

        class LocalFT176(FT176LID):  # the .ftz beside us instead of a download
            MODEL_URL = LID_MODEL
            MODEL_SUBFOLDER = "ft176-local-ftz"

        self.Document = Document
        lid = LanguageFilter(languages=["en"], language_threshold=0.65)
        lid.model = LocalFT176(["en"])
        self.stages = [
            ("language_id", lid),
            ("gopher_repetition", GopherRepetitionFilter()),
            ("gopher_quality", GopherQualityFilter()),
            ("c4", C4QualityFilter()),
            ("fineweb", FineWebQualityFilter()),
        ]
        warm = Document(text="The quick brown fox jumps over the lazy dog. " * 20, id="warm")
        for _, f in self.stages:
            f.filter(warm)  # loads spaCy and the model now, not in the timed part

    @staticmethod
    def _reason(result) -> str | None:
        if result is True:
            return None
        if isinstance(result, tuple):
            return str(result[1])
        return "dropped"

    def run_one(self, stage, d: dict) -> str | None:
        return self._reason(stage.filter(self.Document(text=d["text"], id=d["id"], metadata={"url": d["url"]})))

    def run_chain(self, d: dict) -> str | None:
        doc = self.Document(text=d["text"], id=d["id"], metadata={"url": d["url"]})
        for name, stage in self.stages:
            reason = self._reason(stage.filter(doc))
            if reason is not None:
                return f"{name}:{reason}"
        return None


# ----------------------------------------------------------------------------- timing

_CHAIN = None
_DOCS: list = []


def _init_worker(kind: str, barrier) -> None:
    global _CHAIN
    _CHAIN = OursChain() if kind == "ours" else PeerChain()
    if kind == "ours":  # warm the same way as the peer
        _CHAIN.run_chain({"id": "warm", "source": "x", "url": None, "text": "The quick brown fox. " * 40})
    barrier.wait()


def _run_range(bounds: tuple[int, int]) -> tuple[list, float]:
    lo, hi = bounds
    out = [(i, _CHAIN.run_chain(_DOCS[i])) for i in range(lo, hi)]
    return out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this worker's peak, MB


def time_chain(kind: str, docs: list[dict], workers: int, chunk: int = 40) -> dict:
    """Run the chain over ``docs`` with ``workers`` processes; time from all-ready to done."""
    global _DOCS
    _DOCS = docs  # inherited by the forked workers
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(kind, barrier))
    barrier.wait()
    t0 = time.perf_counter()
    reasons = [None] * len(docs)
    peak_mb = 0.0
    ranges = [(lo, min(lo + chunk, len(docs))) for lo in range(0, len(docs), chunk)]
    for part, rss_mb in pool.imap_unordered(_run_range, ranges):
        peak_mb = max(peak_mb, rss_mb)
        for i, reason in part:
            reasons[i] = reason
    seconds = time.perf_counter() - t0
    pool.close()
    pool.join()
    return {
        "seconds": seconds,
        "docs": len(docs),
        "docs_per_s": len(docs) / seconds,
        "reasons": reasons,
        "peak_rss_mb": peak_mb,
    }


def per_filter(chain, docs: list[dict], rounds: int) -> dict:
    """Each filter alone on every original text, one process: best time of ``rounds``
    passes, and the decisions."""
    out = {}
    for name, stage in chain.stages:
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            decisions = [chain.run_one(stage, d) for d in docs]
            best = min(best, time.perf_counter() - t0)
        out[name] = {"ms_per_doc": 1000 * best / len(docs), "reasons": decisions}
    return out


def run_part(kind: str, part: str, args) -> dict:
    """``part`` "chain": the timed multi-process run; "per_filter": the one-process breakdown."""
    unique = load_documents()
    if part == "per_filter":
        return per_filter(OursChain() if kind == "ours" else PeerChain(), unique, args.rounds)
    docs = [dict(d, id=f"{d['id']}#{k}") for k in range(args.copies) for d in unique]
    result = time_chain(kind, docs, args.workers)
    result["reasons"] = result["reasons"][: len(unique)]  # the copies decide alike
    return result


def run_peer(part: str, args) -> dict:
    cmd = [
        require_peer_python(),
        __file__,
        "--peer",
        part,
        "--workers",
        str(args.workers),
        "--copies",
        str(args.copies),
        "--rounds",
        str(args.rounds),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"peer run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report


def _kept(reasons) -> int:
    return sum(r is None for r in reasons)


def _agreement(a, b) -> float:
    return sum((x is None) == (y is None) for x, y in zip(a, b)) / len(a)


def report(ours: dict, peer: dict, n_unique: int, args) -> None:
    oc, pc = ours["chain"], peer["chain"]
    print(
        f"documents: {n_unique} unique (real pages via trafilatura + book chunks) x {args.copies} copies "
        f"= {oc['docs']}; {args.workers} worker processes each side; best of {args.rounds} alternating rounds"
    )
    print(f"{'':22}{'curate':>12}{'datatrove':>12}")
    print(f"{'docs/s':22}{oc['docs_per_s']:12.1f}{pc['docs_per_s']:12.1f}")
    print(f"{'wall s':22}{oc['seconds']:12.2f}{pc['seconds']:12.2f}")
    print(f"{'peak RSS/worker MB':22}{oc['peak_rss_mb']:12.0f}{pc['peak_rss_mb']:12.0f}")
    print(f"{'kept (of unique)':22}{_kept(oc['reasons']):12d}{_kept(pc['reasons']):12d}")
    print(
        f"speed-up: {oc['docs_per_s'] / pc['docs_per_s']:.2f}x datatrove "
        f"(final keep/drop agreement {_agreement(oc['reasons'], pc['reasons']):.3f})"
    )
    print(f"\neach filter alone on the unique original texts, one process (best of {args.rounds}):")
    print(
        f"{'filter':20}{'curate ms/doc':>14}{'datatrove ms/doc':>18}{'speed-up':>10}"
        f"{'kept ours':>11}{'kept dt':>9}{'agree':>8}"
    )
    for name in FILTERS:
        o, p = ours["per_filter"][name], peer["per_filter"][name]
        print(
            f"{name:20}{o['ms_per_doc']:14.3f}{p['ms_per_doc']:18.3f}{p['ms_per_doc'] / o['ms_per_doc']:9.1f}x"
            f"{_kept(o['reasons']):11d}{_kept(p['reasons']):9d}{_agreement(o['reasons'], p['reasons']):8.3f}"
        )
    if args.disagreements:
        unique = load_documents()
        for name in FILTERS:
            o, p = ours["per_filter"][name]["reasons"], peer["per_filter"][name]["reasons"]
            diff = [(d["id"], x, y) for d, x, y in zip(unique, o, p) if (x is None) != (y is None)]
            for row in diff[: args.disagreements]:
                print(f"  {name}: {row[0]} ours={row[1]} datatrove={row[2]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--copies", type=int, default=4, help="repeat the unique documents this many times")
    ap.add_argument("--rounds", type=int, default=2, help="timed runs per side, alternating; the best counts")
    ap.add_argument("--peer", choices=["chain", "per_filter"], help="(internal) run a datatrove part, print JSON")
    ap.add_argument("--disagreements", type=int, default=0, help="list up to N disagreeing docs per filter")
    args = ap.parse_args()
    if args.peer:
        print(json.dumps(run_part("peer", args.peer, args)))
        return
    unique = load_documents()  # build the cache before either side runs
    require_peer_python()
    # Alternate the sides so that load from other processes on the machine hits both.
    ours_runs, peer_runs = [], []
    for _ in range(args.rounds):
        peer_runs.append(run_peer("chain", args))
        ours_runs.append(run_part("ours", "chain", args))
    ours = {"chain": max(ours_runs, key=lambda r: r["docs_per_s"]), "per_filter": run_part("ours", "per_filter", args)}
    peer = {"chain": max(peer_runs, key=lambda r: r["docs_per_s"]), "per_filter": run_peer("per_filter", args)}
    report(ours, peer, len(unique), args)


if __name__ == "__main__":
    main()
