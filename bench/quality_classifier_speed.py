"""Throughput of the quality_classifier stage against datatrove's FastTextClassifierFilter,
on the same documents and the same model file, in one run (one process each, one core).

    python bench/quality_classifier_speed.py MODEL.bin TEXTS.jsonl [--n 5000]

Ours: the stage's ``process`` (preprocessing, fastText predict, signals, decision) in
threshold mode. Peer: datatrove's ``FastTextClassifierFilter(keep_labels=("hq", 0.5))``
``filter`` (it runs in the peers' venv, $CURATE_PEER_PYTHON: datatrove must not be
installed beside the project). Prints docs/s, peak RSS and the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from _peers import HOW, peer_python

PEER = r"""
import json, resource, sys, time
from datatrove.data import Document
from datatrove.pipeline.filters import FastTextClassifierFilter
model, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")]
docs = [Document(text=texts[i % len(texts)], id=f"d{i}") for i in range(n)]
f = FastTextClassifierFilter(model, keep_labels=("hq", 0.5))
f.model  # load before timing
t0 = time.perf_counter()
kept = sum(f.filter(d) is True for d in docs)
dt = time.perf_counter() - t0
print(json.dumps({"docs_per_s": n / dt, "seconds": dt, "kept": kept,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def ours(model: str, texts: list[str], n: int) -> dict:
    from curate.document import Document, Drop
    from curate.filters.quality_classifier import QualityClassifier, QualityClassifierConfig

    docs = [Document(f"d{i}", texts[i % len(texts)], "web") for i in range(n)]
    stage = QualityClassifier(QualityClassifierConfig(model=model, threshold=0.5))
    stage.setup()
    t0 = time.perf_counter()
    kept = sum(not isinstance(stage.process(d), Drop) for d in docs)
    dt = time.perf_counter() - t0
    return {
        "docs_per_s": n / dt,
        "seconds": dt,
        "kept": kept,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("texts", help="JSONL with a text field")
    p.add_argument("--n", type=int, default=5000)
    args = p.parse_args(argv)
    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    mb = sum(len(texts[i % len(texts)].encode()) for i in range(args.n)) / 1e6
    print(f"{args.n} documents, {mb:.1f} MB, model {args.model}")
    r = ours(args.model, texts, args.n)
    print(
        f"curate quality_classifier: {r['docs_per_s']:,.0f} docs/s ({r['seconds']:.2f} s), "
        f"kept {r['kept']}, peak RSS {r['rss_mb']:.0f} MB"
    )
    peer = peer_python()
    if peer is None:
        print(f"peer skipped: no peers' interpreter ({HOW})")
        return 0
    proc = subprocess.run([peer, "-c", PEER, args.model, args.texts, str(args.n)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"peer failed: {proc.stderr.strip().splitlines()[-1:]}")
        return 0
    d = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"datatrove FastTextClassifierFilter: {d['docs_per_s']:,.0f} docs/s ({d['seconds']:.2f} s), "
        f"kept {d['kept']}, peak RSS {d['rss_mb']:.0f} MB"
    )
    print(f"ratio (ours / datatrove): {r['docs_per_s'] / d['docs_per_s']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
