"""CPU per page of each per-document stage of the web path (extract with resiliparse,
language_id, gopher_repetition, gopher_quality, c4 without bad words, fineweb), each page
through the whole chain before the next, as Beam's fused stages run it (so the filters'
shared word cache works as in a run). No peer: this checkout against an older revision
(``--before REV``, taken with ``git archive`` into a temporary folder), alternating rounds
in child processes on the same pages, with the same extraction settings in both (DCLM's
call, which every revision has: main content, alt texts, comments and post meta on).

The corpus: the real pages of bench_web_path.py (HTML responses of ../shared/data/warc and
the 181 article pages), read once per child. Prints the median over rounds of each stage's
CPU ms per page read, and the filters' sum.

    nice -n 10 python bench/bench_web_chain.py --before 8e6261b --rounds 3
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = [
    ("language_id", {"languages": ["en"], "min_score": 0.65}),
    ("gopher_repetition", {}),
    ("gopher_quality", {}),
    ("c4", {"drop_bad_words": False}),
    ("fineweb", {}),
]
FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb")


def measure(root: str, corpus: str, passes: int) -> dict:
    """In a child whose ``curate`` is ``root``'s: CPU seconds per stage over ``passes`` passes."""
    sys.path.insert(0, root)
    from curate import registry
    from curate.document import Document, Drop
    from curate.readers.warc import WarcConfig, read_warc

    docs = []
    for path in sorted(glob.glob(os.path.join(corpus, "*.warc.gz"))):
        with open(path, "rb") as f:
            docs += [d for d in read_warc(path, f, "web", WarcConfig()) if isinstance(d, Document)]
    extract = {"engine": "resiliparse", "timeout_seconds": None, "alt_texts": True}
    if "post_meta" in {f.name for f in dataclasses.fields(registry.stage("extract").config_cls)}:
        extract.update(comments=True, post_meta=True)  # DCLM's call: resiliparse's own defaults
    stages = [
        (name, registry.stage(name).make(registry.stage(name).config_cls(**params), name))
        for name, params in [("extract", extract)] + STAGES
    ]
    cpu = {name: 0.0 for name, _ in stages}
    kept = 0
    for _ in range(passes):
        for original in docs:
            doc = copy.copy(original)
            doc.metadata = dict(original.metadata)
            for name, st in stages:
                t0 = time.process_time()
                out = st.process(doc)
                cpu[name] += time.process_time() - t0
                if isinstance(out, Drop):
                    break
            else:
                kept += 1
    return {"pages": len(docs) * passes, "kept": kept // passes, "cpu_s": cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="a git revision to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--passes", type=int, default=2, help="passes over the pages in each child")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)  # ROOT CORPUS PASSES
    args = ap.parse_args()
    if args.worker:
        root, corpus, passes = args.worker
        print(json.dumps(measure(root, corpus, int(passes))))
        return
    sys.path.insert(0, os.path.join(HERE, "bench"))
    from bench_web_path import write_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        n = write_corpus(corpus, 1)
        before = os.path.join(tmp, "before")
        os.makedirs(before)
        archive = subprocess.run(["git", "archive", args.before, "curate"], cwd=HERE, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        os.symlink(os.path.join(HERE, "curate", "models"), os.path.join(before, "curate", "models"))
        runs: dict = {"before": [], "this checkout": []}
        for _ in range(args.rounds):
            for name, root in (("before", before), ("this checkout", HERE)):
                out = subprocess.run(
                    [sys.executable, __file__, "--before", args.before, "--worker", root, corpus, str(args.passes)],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{n} real HTML pages, {args.rounds} rounds x {args.passes} passes; CPU ms per page read (median of rounds)")
    names = [name for name, _ in [("extract", None)] + STAGES]
    print(f"{'checkout':<24} {'kept':>5} " + " ".join(f"{s:>17}" for s in names) + f" {'filters':>8}")
    medians = {}
    for label, rs in runs.items():
        ms = {s: statistics.median(1000 * r["cpu_s"][s] / r["pages"] for r in rs) for s in names}
        ms["filters"] = statistics.median(1000 * sum(r["cpu_s"][s] for s in FILTERS) / r["pages"] for r in rs)
        medians[label] = ms
        title = f"{label} ({args.before})" if label == "before" else label
        print(
            f"{title:<24} {rs[0]['kept']:>5} " + " ".join(f"{ms[s]:>17.3f}" for s in names) + f" {ms['filters']:>8.3f}"
        )
    b, a = medians["before"], medians["this checkout"]
    print("this checkout / before: " + ", ".join(f"{s} {a[s] / b[s]:.2f}x" for s in list(FILTERS) + ["filters"]))


if __name__ == "__main__":
    main()
