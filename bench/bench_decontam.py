"""Train-eval decontamination: planted benchmark items in real text, curate's
``decontaminate`` stage vs datatrove 0.10.1's n-gram decontamination, same documents,
one run.

    python bench/bench_decontam.py [--code 400] [--chain-docs 1500]

Eval sets: GSM8K's test split (../shared/data/evals/gsm8k-test.jsonl, question +
answer) and HumanEval (curate/models/HumanEval.jsonl.gz from ``python -m
curate.model_files``, prompt + canonical solution): 1,483 items.

Documents, all real text: ``bench_span_dedup.pool`` (the Gutenberg books in ~200-word
pieces, the 181 article bodies, the OpenAssistant threads, standard-library modules),
the other modules of the standard library (tests included, first 20,000 characters)
and the 1,167 OpenAssistant messages one by one:
  clean    all of these, untouched: any change to one is a false positive;
  planted  one document per eval item, the variant chosen by the item's number mod 4:
           verbatim     the item's text alone (question and answer), as a post copying it;
           embedded     the item in the middle of a long real document (prose for GSM8K,
                        a standard-library module for HumanEval) at a sentence or line end;
           two_changed  embedded, with two words of the item replaced (at 1/3 and 2/3);
           question     only the question (GSM8K) or prompt (HumanEval), embedded.
A planted item counts as removed when its document is dropped or no 60-character piece
of the planted text (one starting at each word, leaving out pieces the host document
itself contains) survives in the output.

Both sides are given the same items: ours reads the two eval files; datatrove's indexer
gets each item as a document (text = answer, metadata query = question; its own eval
loading goes through lighteval, which downloads), with 12-grams over the query, the
answer and the n-grams across them, and drops a document on its first match.

Printed: per side the share of planted items removed (overall and per variant), the
share of clean documents touched (and the n-grams datatrove matched in them), docs/s
over all documents (one process each, index loaded before timing) and the ratio; our
matching alone (``NgramIndex.find``) with the real index and with one grown to MMLU's
size by ``--scale-items`` made-up items, and the curate filter chain (language ID,
Gopher repetition and quality, C4, FineWeb: the ``bench_filters.py`` chain) in docs/s
on the same documents in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, REPO)
sys.path.insert(0, BENCH)

from _peers import require_peer_python  # noqa: E402
from bench_span_dedup import DATA, pool  # noqa: E402

from curate.config import build  # noqa: E402
from curate.decontam import DecontaminateConfig, decontaminate_documents, load_index  # noqa: E402
from curate.document import Document, Drop, make_id  # noqa: E402
from curate.model_files import model_path  # noqa: E402

GSM8K = os.path.join(DATA, "evals", "gsm8k-test.jsonl")
VARIANTS = ("verbatim", "embedded", "two_changed", "question")
PIECE = 60
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")


def eval_items() -> list[dict]:
    import gzip

    items = []
    with open(GSM8K, encoding="utf-8") as f:
        for i, line in enumerate(f):
            r = json.loads(line)
            items.append({"set": "gsm8k", "id": str(i), "question": r["question"], "answer": r["answer"]})
    with gzip.open(model_path("HumanEval.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            items.append(
                {"set": "humaneval", "id": r["task_id"], "question": r["prompt"], "answer": r["canonical_solution"]}
            )
    return items


def decontam_config(policy: str) -> DecontaminateConfig:
    return build(
        DecontaminateConfig,
        {
            "eval_sets": [
                {"name": "gsm8k", "paths": [GSM8K], "fields": ["question", "answer"]},
                {
                    "name": "humaneval",
                    "paths": [model_path("HumanEval.jsonl.gz")],
                    "fields": ["prompt", "canonical_solution"],
                    "id_field": "task_id",
                },
            ],
            "policy": policy,
        },
        "stages.decontaminate",
    )


def two_words_changed(text: str) -> str:
    words = list(re.finditer(r"[A-Za-z]{3,}", text))
    for k, new in ((2 * len(words) // 3, "quartz"), (len(words) // 3, "zebra")):  # right to left: offsets stay valid
        w = words[k]
        text = text[: w.start()] + new + text[w.end() :]
    return text


def embed(host: str, passage: str, code: bool) -> str:
    """``passage`` inserted at the first line end (code) or sentence end after the middle."""
    mid = len(host) // 2
    if code:
        k = host.find("\n", mid)
        k = len(host) if k < 0 else k + 1
        return host[:k] + passage.rstrip("\n") + "\n" + host[k:]
    m = _SENTENCE_END.search(host, mid)
    k = m.end() if m else len(host)
    return host[:k] + passage + " " + host[k:]


def clean_documents() -> list[Document]:
    import glob
    import sysconfig

    docs = pool()
    seen = {d.id for d in docs}
    root = sysconfig.get_paths()["stdlib"]
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        doc_id = make_id("code", os.path.relpath(path, root))
        if "site-packages" in path or doc_id in seen:
            continue
        text = open(path, encoding="utf-8", errors="replace").read()[:20_000]
        if len(text) > 500:
            docs.append(Document(doc_id, text, "code"))
    with open(os.path.join(DATA, "conversations", "oasst-en-100-flat.jsonl"), encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            docs.append(Document(make_id("message", m["message_id"]), m["text"], "conversations"))
    return docs


def planted_documents(items: list[dict], clean: list[Document]) -> list[dict]:
    prose_hosts = [d for d in clean if d.source != "code" and len(d.text) >= 1500]
    code_hosts = [d for d in clean if d.source == "code" and len(d.text) >= 3000]
    planted = []
    for i, it in enumerate(items):
        variant = VARIANTS[i % 4]
        full = it["question"] + "\n" + it["answer"]
        code = it["set"] == "humaneval"
        hosts = code_hosts if code else prose_hosts
        host = hosts[(i * 7919) % len(hosts)].text
        if variant == "verbatim":
            passage, host = full, ""
            text = full
        else:
            passage = {"embedded": full, "two_changed": two_words_changed(full), "question": it["question"]}[variant]
            text = embed(host, passage, code)
        planted.append(
            {
                "id": f"planted-{i}",
                "text": text,
                "passage": passage,
                "host": host,
                "variant": variant,
                "set": it["set"],
                "item": it["id"],
            }
        )
    return planted


def pieces(passage: str, host: str) -> list[str]:
    starts = [m.start() for m in re.finditer(r"\S+", passage)]
    out = [passage[s : s + PIECE] for s in starts if s + PIECE <= len(passage)] or [passage.strip()]
    return [p for p in out if p not in host]


def removed(planted: dict, output) -> bool:
    return output is None or not any(p in output for p in pieces(planted["passage"], planted["host"]))


def run_ours(docs: list[dict], policy: str, index) -> tuple[dict, float, dict]:
    cfg = decontam_config(policy)
    batch = [Document(d["id"], d["text"], "bench") for d in docs]
    start = time.perf_counter()
    out, report, _ = decontaminate_documents(batch, cfg, index)
    seconds = time.perf_counter() - start
    return {d["id"]: (None if isinstance(o, Drop) else o.text) for d, o in zip(docs, out)}, seconds, report


def run_peer(items: list[dict], docs: list[dict], work: str) -> dict:
    items_path, docs_path = os.path.join(work, "items.jsonl"), os.path.join(work, "docs.jsonl")
    with open(items_path, "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps({"task": it["set"], "query": it["question"], "text": it["answer"]}) + "\n")
    with open(docs_path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d["id"], "text": d["text"]}) + "\n")
    res = subprocess.run(
        [require_peer_python(), os.path.join(BENCH, "_datatrove_decontam.py"), items_path, docs_path, work],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        sys.exit(f"datatrove run failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def quality(planted: list[dict], clean: list[dict], outputs: dict) -> tuple[dict, float, int]:
    by_variant = {v: [removed(p, outputs[p["id"]]) for p in planted if p["variant"] == v] for v in VARIANTS}
    by_variant["all"] = [x for v in VARIANTS for x in by_variant[v]]
    touched = sum(outputs[d["id"]] != d["text"] for d in clean)
    return {v: float(np.mean(x)) for v, x in by_variant.items()}, touched / len(clean), touched


def filter_chain_docs_per_s(docs: list[dict]) -> float:
    from bench_filters import OursChain

    chain = OursChain()
    start = time.perf_counter()
    for d in docs:
        chain.run_chain({"id": d["id"], "text": d["text"], "source": "bench", "url": None})
    return len(docs) / (time.perf_counter() - start)


def scaled_index(clean: list[Document], n_items: int, words_per_item: int = 110):
    """The real items plus ``n_items`` made-up ones (``words_per_item`` words drawn from
    the clean documents' vocabulary, seeded): an index the size of MMLU's test split
    (~14k items, ~1.5M 13-grams)."""
    from curate.decontam import EvalItem, NgramIndex, load_eval_sets

    rng = np.random.default_rng(0)
    vocab = sorted({w for d in clean[:2000] for w in re.findall(r"[A-Za-z]{3,}", d.text)})
    words = np.array(vocab)[rng.integers(0, len(vocab), size=(n_items, words_per_item))]
    cfg = decontam_config("gpt3")
    items = load_eval_sets(cfg) + [EvalItem("synthetic", str(i), " ".join(row)) for i, row in enumerate(words)]
    start = time.perf_counter()
    index = NgramIndex.build(items, cfg.ngram, [s.name for s in cfg.eval_sets] + ["synthetic"])
    return index, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scale-items", type=int, default=14_000, help="made-up items for the large-index timing (0: skip)"
    )
    ap.add_argument(
        "--chain-docs", type=int, default=1500, help="documents timed through the filter chain (evenly spread)"
    )
    args = ap.parse_args()
    require_peer_python()
    items = eval_items()
    clean_docs = clean_documents()
    planted = planted_documents(items, clean_docs)
    clean = [{"id": d.id, "text": d.text} for d in clean_docs]
    docs = clean + [{"id": p["id"], "text": p["text"]} for p in planted]
    n_words = sum(len(d["text"].split()) for d in docs)
    print(
        f"documents: {len(clean):,} clean + {len(planted):,} planted = {len(docs):,} "
        f"({n_words / len(docs):.0f} words on average); eval items: {len(items):,}"
    )

    start = time.perf_counter()
    index = load_index(decontam_config("gpt3"))
    build_s = time.perf_counter() - start
    ours, ours_s, report = run_ours(docs, "gpt3", index)
    ours_drop, ours_drop_s, _ = run_ours(docs, "drop_document", index)
    start = time.perf_counter()
    for d in docs:
        index.find(d["text"])
    match_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="curate-bench-decontam-") as work:
        peer = run_peer(items, docs, work)
    peer_out = {d["id"]: d["text"] for d in docs}
    for doc_id in peer["dropped"]:
        peer_out[doc_id] = None
    step = max(1, len(docs) // args.chain_docs)
    chain_rate = filter_chain_docs_per_s(docs[::step])

    if args.scale_items:
        big, big_build_s = scaled_index(clean_docs, args.scale_items)
        start = time.perf_counter()
        big_found = sum(big.find(d["text"]) is not None for d in docs)
        big_match_s = time.perf_counter() - start
    found = {(s, i) for s, r in report["sets"].items() for i in r["found_ids"]}
    found_share = np.mean([(p["set"], p["item"]) in found for p in planted])
    print(
        f"index: ours {len(index):,} n-grams built in {build_s:.2f} s (13-grams); datatrove {peer['build_s']:.2f} s (12-grams)"
    )
    print()
    print(f"{'':34}{'planted removed':>16}{'clean touched':>22}{'docs/s':>10}")
    rows = [
        ("curate gpt3 (13-grams, cut)", ours, ours_s),
        ("curate drop_document (13-grams)", ours_drop, ours_drop_s),
        ("datatrove (12-grams, drop)", peer_out, peer["filter_s"]),
    ]
    for name, out, seconds in rows:
        q, share, touched = quality(planted, clean, out)
        print(f"{name:34}{q['all']:>15.2%} {share:>12.3%} ({touched:>4}){len(docs) / seconds:>12,.0f}")
    source = {d.id: d.source for d in clean_docs}
    for name, out, _ in rows:
        hit = [d["id"] for d in clean if out[d["id"]] != d["text"]]
        if hit:
            by_source = {src: sum(source[i] == src for i in hit) for src in sorted({source[i] for i in hit})}
            print(f"  {name}: clean documents touched by source: {by_source}")
    peer_ngrams = Counter(peer["dropped"][d["id"]] for d in clean if d["id"] in peer["dropped"])
    for ngram, n in peer_ngrams.most_common(3):
        print(f"  datatrove's matched n-gram in {n} clean documents: {ngram!r}")
    print()
    print("planted removed by variant:    " + "  ".join(f"{v:>12}" for v in VARIANTS))
    for name, out, _ in rows:
        q, _, _ = quality(planted, clean, out)
        print(f"  {name:28}" + "  ".join(f"{q[v]:>12.2%}" for v in VARIANTS))
    print()
    print(
        f"docs/s ratio curate gpt3 / datatrove: {peer['filter_s'] / ours_s:.1f}x "
        f"(drop_document: {peer['filter_s'] / ours_drop_s:.1f}x)"
    )
    print(
        f"curate matching alone (NgramIndex.find): {len(docs) / match_s:,.0f} docs/s; "
        f"curate filter chain on {len(docs[::step]):,} of the same documents: {chain_rate:,.0f} docs/s"
    )
    if args.scale_items:
        print(
            f"large index: {len(big):,} n-grams ({len(big.to_bytes()) / 1e6:.1f} MB as shipped), built in {big_build_s:.1f} s; "
            f"matching {len(docs) / big_match_s:,.0f} docs/s ({big_found:,} documents with a match) "
            f"vs {len(docs) / match_s:,.0f} with the {len(index):,}-n-gram index"
        )
    print(f"planted items listed as found in curate's report: {found_share:.2%}")
    for name, s in report["sets"].items():
        print(
            f"  {name}: {s['items_found']} of {s['items']} items found, {s['docs_cut']} docs cut, "
            f"{s['docs_dropped']} dropped, {s['common_ngrams_ignored']} common n-grams ignored"
        )


if __name__ == "__main__":
    main()
