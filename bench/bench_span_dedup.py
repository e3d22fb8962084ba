"""Sentence- and token-level span dedup on real data with planted repeats, at N, 2N, 4N
documents, against datatrove's 3-stage SentenceDedup on the same documents.

Corpus (all from ../shared/data, plus the Python standard library as code):
  books   the two Gutenberg books with their PG header and licence, cut at paragraph
          boundaries into ~200-word documents (the licence repeats across books: a
          natural repeated span that exact document dedup cannot see);
  web     the 181 article bodies of html/ground-truth.json (extracted pages) and the
          text trafilatura extracts (curate's extract stage, cached as
          bench_filters.py caches it) from the HTML responses of warc/*.warc.gz,
          English, Japanese, Chinese, German, Russian... pages, each with its
          language from lid.176 in ``metadata.language`` as language_id sets it;
  conversations  every root-to-leaf thread of the 100 OpenAssistant trees (threads
          of one tree share their opening turns: natural repeats);
  code    standard-library modules, line-based spans (``code: lines``).
Planted, with ground truth by construction (seeded):
  sentence plants  4 consecutive sentences of a prose document inserted as a
          paragraph into 2 other documents: afterwards exactly one copy must remain;
  token plants     a 60-word fragment cut verbatim mid-sentence from a prose document
          inserted inside a paragraph of 2 other documents: exactly one copy must remain.

Reports, per size: docs/s and wall time of each stage (Beam FnApiRunner, one process,
model loading and pipeline start included), spans and characters/tokens removed,
planted recall, peak memory; datatrove's wall time (its 3 stages, spaCy sentencizer,
same k=3 and min_doc_words=50) and the ratio; the time ratios 2N/N and 4N/N.

Damage check (issue 15): every kept document that changed is diffed against its input
(curate.dedup.damage.audit_edit) and the report counts, per source, the removed chunks
shorter than the minimum span worth cutting (curate.dedup.spans.MIN_SPAN_WORDS words,
MIN_SPAN_CHARS characters), the cuts that start or end inside a word or number, seam
faults (doubled, missing or dangling whitespace) and altered text, for our two stages,
for datatrove's output, and with ``--before REV`` for the two stages of the project at
git revision REV (run from ``git archive REV`` in a subprocess, same documents, same
plants, same tokenizer, their defaults): the before/after figures side by side.

    .venv/bin/python bench/bench_span_dedup.py --n 500
    .venv/bin/python bench/bench_span_dedup.py --n 700 --sizes 1 --reps 1 --before a1b550e
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers import peer_python  # noqa: E402

from curate import text as T  # noqa: E402
from curate.dedup.damage import audit_edit  # noqa: E402
from curate.dedup.sentences import unwrap_lines  # noqa: E402
from curate.dedup.spans import MIN_SPAN_CHARS, MIN_SPAN_WORDS  # noqa: E402
from curate.document import Document, make_id  # noqa: E402
from curate.segment import split_sentences  # noqa: E402

DATA = os.environ.get(
    "CURATE_SHARED_DATA",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data"),
)


# ----------------------------------------------------------------------------- corpus


def book_docs(path: str, words_per_doc: int = 200) -> list[Document]:
    text = open(path, encoding="utf-8-sig").read().replace("\r\n", "\n")
    name = os.path.basename(path)
    docs, buf, count = [], [], 0
    for para in T.paragraphs(text):
        buf.append(para)
        count += len(para.split())
        if count >= words_per_doc:
            docs.append(Document(make_id("books", name, len(docs)), "\n\n".join(buf), "books"))
            buf, count = [], 0
    if buf:
        docs.append(Document(make_id("books", name, len(docs)), "\n\n".join(buf), "books"))
    return docs


def page_docs() -> list[Document]:
    truth = json.load(open(os.path.join(DATA, "html", "ground-truth.json")))
    return [
        Document(make_id("web", key), v["articleBody"], "web", {"url": v["url"]})
        for key, v in sorted(truth.items())
        if v.get("articleBody", "").strip()
    ]


def warc_page_docs() -> list[Document]:
    """The text extracted from the HTML responses of warc/*.warc.gz (bench_filters.py's
    cache: curate's reader and extract stage, run once)."""
    from bench_filters import load_documents

    return [
        Document(make_id("web", d["id"]), d["text"], "web", {"url": d["url"]})
        for d in load_documents()
        if d["source"] == "web" and d["text"].strip()
    ]


def tag_languages(docs: list[Document]) -> None:
    """``metadata.language`` as the language_id stage sets it (lid.176, first 10,000 chars)."""
    from curate.langid import fasttext_language
    from curate.model_files import load_fasttext, model_path

    model = load_fasttext(model_path("lid.176.ftz"))
    for d in docs:
        if d.source != "code":
            d.metadata["language"] = fasttext_language(model, d.text, 10_000)[0]


def thread_docs() -> list[Document]:
    docs = []

    def walk(msg, path):
        role = "User" if msg["role"] == "prompter" else "Assistant"
        path = path + [f"{role}: {msg['text'].strip()}"]
        if not msg.get("replies"):
            docs.append(Document(make_id("conversations", msg["message_id"]), "\n\n".join(path), "conversations"))
        for r in msg.get("replies", []):
            walk(r, path)

    with open(os.path.join(DATA, "conversations", "oasst-en-100-trees.jsonl"), encoding="utf-8") as f:
        for line in f:
            walk(json.loads(line)["prompt"], [])
    return docs


def code_docs(limit: int) -> list[Document]:
    root = sysconfig.get_paths()["stdlib"]
    docs = []
    for path in sorted(glob.glob(os.path.join(root, "*.py")) + glob.glob(os.path.join(root, "*", "*.py"))):
        if "test" in path or "site-packages" in path:
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        if 500 < len(text) < 40_000:
            docs.append(Document(make_id("code", os.path.relpath(path, root)), text, "code"))
        if len(docs) >= limit:
            break
    return docs


def pool(seed: int = 0) -> list[Document]:
    prose = []
    for p in sorted(glob.glob(os.path.join(DATA, "books", "*.txt"))):
        prose += book_docs(p)
    prose += page_docs() + warc_page_docs() + thread_docs()
    docs = prose + code_docs(len(prose) // 4)
    tag_languages(docs)
    order = np.random.default_rng(seed).permutation(len(docs))
    return [docs[i] for i in order]


def sentence_passage(text: str, rng, language: str | None = None) -> str | None:
    """4 consecutive sentences from one paragraph, each ending in . ! or ?, verbatim:
    boundaries that any sentence splitter agrees on (fair to datatrove's spaCy)."""
    flat = unwrap_lines(text)
    offsets = split_sentences(flat, language)
    sents = [flat[s:e] for s, e in offsets]
    starts = [
        i
        for i in range(len(sents) - 3)
        if all(x.endswith((".", "!", "?")) for x in sents[i : i + 4])
        and (i == 0 or sents[i - 1].endswith((".", "!", "?")))
        and "\n\n" not in text[offsets[i][0] : offsets[i + 3][1]]
    ]
    if not starts:
        return None
    i = starts[int(rng.integers(0, len(starts)))]
    passage = text[offsets[i][0] : offsets[i + 3][1]]
    return passage if len(T.alnum_words(passage)) >= 20 else None


def plant(docs: list[Document], seed: int) -> tuple[list[str], list[str]]:
    """Insert sentence and token plants (one group per 20 documents each), in place.

    Each group is a donor and 2 recipients, and no document takes part in two groups,
    so one plant never cuts through another and the ground truth stays exact.
    """
    rng = np.random.default_rng(seed)
    free = [int(i) for i in rng.permutation(len(docs)) if docs[i].source != "code"]
    groups = max(1, len(docs) // 20)
    sentence_plants, token_plants = [], []
    for g in range(2 * groups):
        if len(free) < 3:
            break
        donor = free.pop()
        if g < groups:
            plant_text = sentence_passage(docs[donor].text, rng, docs[donor].metadata.get("language"))
        else:
            text = docs[donor].text
            words = list(re.finditer(r"\S+", text))
            i = int(rng.integers(0, len(words) - 60)) if len(words) >= 100 else None
            # 60 words cut mid-sentence, verbatim: token dedup is exact, line breaks included
            plant_text = None if i is None else text[words[i].start() : words[i + 59].end()]
        if plant_text is None:
            continue
        recipients = [free.pop(), free.pop()]
        (sentence_plants if g < groups else token_plants).append(plant_text)
        for r in recipients:
            text = docs[r].text
            if g < groups:  # a paragraph of its own
                paras = text.split("\n\n")
                at = int(rng.integers(0, len(paras) + 1))
                docs[r].text = "\n\n".join(paras[:at] + [plant_text] + paras[at:])
            else:  # inside a paragraph, between two words
                spaces = [m.start() for m in re.finditer(" ", text)]
                at = spaces[int(rng.integers(0, len(spaces)))] if spaces else len(text)
                docs[r].text = f"{text[:at]} {plant_text} {text[at:]}"
    return sentence_plants, token_plants


def train_tokenizer(docs: list[Document], path: str, vocab: int = 8000) -> None:
    """The run's own tokenizer training (curate.tokenize: identity normalisation, byte
    fallback, one thread, deterministic) on the first 500 documents of the pool."""
    from curate.tokenize import train_model

    with open(path, "wb") as f:
        f.write(train_model([d.text for d in docs[:500]], vocab_size=vocab))


# ----------------------------------------------------------------------------- runs


def run_ours(stage: str, params, docs: list[Document], out_dir: str):
    """One Beam pipeline: the stage, then the kept documents written as JSON lines."""
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    from curate import registry
    from curate.counters import NAMESPACE
    from pipelines import span_dedup  # noqa: F401
    from pipelines.stages import global_transform

    prefix = os.path.join(out_dir, stage)
    t0, c0 = time.perf_counter(), time.process_time()
    p = beam.Pipeline(runner="FnApiRunner")
    res = p | beam.Create(docs) | global_transform(registry.stage(stage), params)
    (
        res.kept
        | beam.Map(lambda d: json.dumps({"id": d.id, "text": d.text}))
        | beam.io.WriteToText(prefix, file_name_suffix=".jsonl")
    )
    result = p.run()
    result.wait_until_finish()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    stats = {c.key.metric.name: c.committed for c in counters}
    kept = {}
    for path in glob.glob(prefix + "*.jsonl"):
        with open(path, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                kept[d["id"]] = d["text"]
        os.remove(path)
    return (wall, cpu), kept, stats


def run_empty(docs):
    import apache_beam as beam

    t0, c0 = time.perf_counter(), time.process_time()
    p = beam.Pipeline(runner="FnApiRunner")
    p | beam.Create(docs) | beam.Map(lambda d: d.id) | beam.combiners.Count.Globally()
    p.run().wait_until_finish()
    return time.perf_counter() - t0, time.process_time() - c0


PEER_SCRIPT = r"""
import json, sys, time, os
t_import = time.perf_counter()
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.dedup.sentence_dedup import (
    SentDedupConfig, SentenceDedupSignature, SentenceFindDedups, SentenceDedupFilter)
t0, c0 = time.perf_counter(), time.process_time()
work = sys.argv[1]
cfg = SentDedupConfig(n_sentences=3, min_doc_words=50)
def run(steps, name):
    LocalPipelineExecutor(pipeline=steps, tasks=1, workers=1, logging_dir=f"{work}/logs/{name}").run()
run([JsonlReader(f"{work}/in"), SentenceDedupSignature(output_folder=f"{work}/sigs", config=cfg)], "s1")
run([SentenceFindDedups(data_folder=f"{work}/sigs", output_folder=f"{work}/dups", config=cfg)], "s2")
run([JsonlReader(f"{work}/in"), SentenceDedupFilter(data_folder=f"{work}/dups", config=cfg),
     JsonlWriter(f"{work}/out", compression=None)], "s3")
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
kept = {}
for name in os.listdir(f"{work}/out"):
    for line in open(f"{work}/out/{name}"):
        d = json.loads(line); kept[d["id"]] = d["text"]
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
json.dump({"wall": wall, "cpu": cpu, "import": t0 - t_import, "kept": kept, "peak_mb": hwm / 1024}, open(f"{work}/result.json", "w"))
"""


def run_datatrove(docs: list[Document]):
    peer = peer_python()
    if peer is None:
        return None
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(f"{work}/in")
        with open(f"{work}/in/docs.jsonl", "w") as f:
            for d in docs:
                f.write(json.dumps({"id": d.id, "text": d.text}) + "\n")
        proc = subprocess.run(
            [peer, "-c", PEER_SCRIPT, work],
            capture_output=True,
            text=True,
            env=dict(os.environ, HF_HOME=f"{work}/hf", TQDM_DISABLE="1"),
        )
        if proc.returncode != 0:
            print("datatrove failed:", proc.stderr[-2000:], file=sys.stderr)
            return None
        return json.load(open(f"{work}/result.json"))


REVISION_RUNNER = r"""
import glob, json, os, sys, time
tree, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import apache_beam as beam
from curate import registry
from curate.config import build
from curate.document import Document
from pipelines import span_dedup
try:  # one declaration per stage (registry.load, the transform named by the stage)
    from pipelines.stages import global_transform
    registry.load()
    transform = lambda stage, cfg: global_transform(registry.stage(stage), cfg)
except ImportError:  # revisions before it
    import curate.builtin
    from pipelines.stages import GLOBAL_TRANSFORMS
    transform = lambda stage, cfg: GLOBAL_TRANSFORMS[stage](cfg)
spec = json.load(open(f"{work}/spec.json"))
rows = [json.loads(line) for line in open(f"{work}/in.jsonl", encoding="utf-8")]
out = {}
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
for stage, params in spec.items():
    cfg = build(registry.STAGES[stage].config_cls, params)
    for _ in range(reps):  # the output is the same every time; keep the fastest
        docs = [Document(r["id"], r["text"], r["source"], metadata=r["metadata"]) for r in rows]
        prefix = f"{work}/{stage}"
        t0, c0 = time.perf_counter(), time.process_time()
        p = beam.Pipeline(runner="FnApiRunner")
        res = p | beam.Create(docs) | transform(stage, cfg)
        res.kept | beam.Map(lambda d: json.dumps({"id": d.id, "text": d.text})) | beam.io.WriteToText(prefix, file_name_suffix=".jsonl")
        result = p.run()
        result.wait_until_finish()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if stage in out:
            wall, cpu = min(wall, out[stage]["wall"]), min(cpu, out[stage]["cpu"])
        out[stage] = {"wall": wall, "cpu": cpu, "kept": {}}
        counters = result.metrics().query()["counters"]
        out[stage]["stats"] = {c.key.metric.name: c.committed for c in counters if c.key.metric.namespace == "curate"}
        for path in glob.glob(prefix + "*.jsonl"):
            for line in open(path, encoding="utf-8"):
                d = json.loads(line)
                out[stage]["kept"][d["id"]] = d["text"]
            os.remove(path)
json.dump(out, open(f"{work}/out.json", "w"))
"""


def run_revision(rev: str, stages: dict, docs: list[Document], reps: int = 1) -> dict:
    """``{stage: {"kept": {doc id: kept text}, "wall": s, "cpu": s}}`` from the project as it was at git revision ``rev``
    (``git archive`` into a temporary folder, run in a subprocess with this venv), each
    stage with the given parameters and that revision's defaults otherwise."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as work:
        tree = os.path.join(work, "tree")
        os.makedirs(tree)
        archive = subprocess.run(["git", "-C", repo, "archive", rev], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        with open(f"{work}/in.jsonl", "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d.id, "text": d.text, "source": d.source, "metadata": d.metadata}) + "\n")
        with open(f"{work}/spec.json", "w") as f:
            json.dump(stages, f)
        proc = subprocess.run(
            [sys.executable, "-c", REVISION_RUNNER, tree, work, str(reps)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            sys.exit(f"revision {rev} failed: {proc.stderr[-2000:]}")
        with open(f"{work}/out.json") as f:
            return json.load(f)


def damage(docs: list[Document], kept: dict) -> dict:
    """Per source (code left out: its units are lines), over the kept documents that
    changed: the diff audit's counts, and the removed chunks' sizes."""
    by_id = {d.id: d for d in docs}
    out: dict = {}
    for doc_id, text in kept.items():
        d = by_id[doc_id]
        if d.source == "code" or text == d.text:
            continue
        audit = audit_edit(d.text, text)
        for key in (d.source, "all"):
            r = out.setdefault(
                key,
                {
                    "docs": 0,
                    "removed": 0,
                    "below": 0,
                    "inside": 0,
                    "seams": 0,
                    "altered": 0,
                    "words": [],
                    "examples": [],
                },
            )
            r["docs"] += 1
            r["removed"] += len(audit.removals)
            r["below"] += audit.below(MIN_SPAN_WORDS, MIN_SPAN_CHARS)
            r["inside"] += audit.inside_word()
            r["seams"] += audit.seam_faults
            r["altered"] += audit.altered
            r["words"] += [x.words for x in audit.removals]
            if key == "all":
                r["examples"] += [_show_cut(d.text, x.start, x.end) for x in audit.removals if x.inside_word]
                if os.environ.get("BENCH_SHOW_SEAMS") and audit.seam_faults:
                    print("SEAM", repr(d.text), "\n---->\n", repr(text))
    return out


def _show_cut(text: str, start: int, end: int, width: int = 25) -> str:
    """A removed chunk in its context: ``before[removed]after``, long chunks elided."""
    removed = text[start:end]
    if len(removed) > 2 * width:
        removed = f"{removed[:width]} ... {removed[-width:]}"
    return f"{text[max(0, start - width) : start]}[{removed}]{text[end : end + width]}".replace("\n", " ")


def report_damage(name: str, dmg: dict) -> None:
    """One line per source; the floor is curate.dedup.spans' MIN_SPAN_WORDS/CHARS."""
    print(
        f"  damage, {name} (kept documents that changed, code left out; floor "
        f"{MIN_SPAN_WORDS} words / {MIN_SPAN_CHARS} chars):"
    )
    for source in sorted(dmg, key=lambda k: (k == "all", k)):
        r = dmg[source]
        w = np.array(r["words"] or [0])
        print(
            f"    {source:13s} {r['docs']:4d} docs changed, {r['removed']:5d} chunks removed "
            f"(words: median {np.median(w):.0f}, min {w.min()}), {r['below']:4d} below the floor, "
            f"{r['inside']:4d} cut inside a word or number, {r['seams']:3d} seam faults, {r['altered']} altered"
        )
    for example in dmg.get("all", {}).get("examples", [])[:3]:
        print(f"      e.g. ...{example}...")


def surviving(plants: list[str], kept: dict) -> list[int]:
    """For each planted text, in how many kept documents it still appears (compared in
    normalised form, so the donor's own line breaks do not hide its copy)."""
    texts = [T.normalize(t) for t in kept.values()]
    return [sum(T.normalize(p) in t for t in texts) for p in plants]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        return [int(line.split()[1]) for line in f if line.startswith(field + ":")][0] / 1024


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss)."""
    return _status_mb("VmHWM")


def reset_peak() -> float:
    """Restart the peak-RSS count (Linux >= 4.0) and return the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def chars(docs) -> int:
    return sum(len(d.text) for d in docs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--sizes", default="1,2,4")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument(
        "--tokenizer",
        choices=["mistral", "trained"],
        default="mistral",
        help="token_dedup's model: the real Mistral model from `python -m curate.model_files`, or one trained here",
    )
    ap.add_argument("--reps", type=int, default=2, help="runs per measurement; the fastest is reported")
    ap.add_argument("--keep-first-whole", action="store_true", help="both stages: keep_first_whole: true")
    ap.add_argument(
        "--before", metavar="REV", help="also run both stages as they were at git revision REV (damage before/after)"
    )
    ap.add_argument(
        "--floor",
        type=int,
        nargs=2,
        metavar=("WORDS", "CHARS"),
        help="min_span_words and min_span_chars of both stages (default: the stages' defaults)",
    )
    args = ap.parse_args()

    from curate.config import build
    from curate.dedup.sentences import SentenceDedupConfig
    from curate.dedup.token_spans import TokenDedupConfig

    base = pool()
    sizes = [args.n * int(m) for m in args.sizes.split(",")]
    if sizes[-1] > len(base):
        sys.exit(f"pool has {len(base)} documents, fewer than {sizes[-1]}")
    print(
        f"pool: {len(base)} documents ({', '.join(f'{s}={sum(d.source == s for d in base)}' for s in ('books', 'web', 'conversations', 'code'))})"
    )
    tmp = tempfile.mkdtemp()
    from curate.model_files import ModelNotFound, model_path

    try:
        model = model_path("mistral-tokenizer.model.v1") if args.tokenizer == "mistral" else None
        print(f"tokenizer: {model} (Mistral's 32,000-piece SentencePiece model)")
    except ModelNotFound as e:
        print(f"tokenizer: {e}; training one instead")
        model = None
    if model is None:
        model = os.path.join(tmp, "bench.model")
        t = time.perf_counter()
        train_tokenizer(base, model)
        print(
            f"tokenizer: SentencePiece unigram 8000 (curate.tokenize.train_model) trained on 500 pool documents in {time.perf_counter() - t:.1f} s"
        )
    floor = {"min_span_words": args.floor[0], "min_span_chars": args.floor[1]} if args.floor else {}
    sent_cfg = build(SentenceDedupConfig, {"keep_first_whole": args.keep_first_whole, **floor})
    tok_cfg = build(TokenDedupConfig, {"model": model, "keep_first_whole": args.keep_first_whole, **floor})
    print(
        f"sentence_dedup: k={sent_cfg.k}, min_words={sent_cfg.min_words}, code=lines; "
        f"token_dedup: N={tok_cfg.min_tokens}, buckets={tok_cfg.hash_buckets}; keep_first_whole={args.keep_first_whole}; "
        f"minimum span {sent_cfg.min_span_words} words / {sent_cfg.min_span_chars} chars"
    )
    run_empty(base[:10])  # warm Beam imports

    rows = []
    for n in sizes:
        docs = [Document(d.id, d.text, d.source, dict(d.provenance), dict(d.metadata)) for d in base[:n]]
        s_plants, t_plants = plant(docs, seed=n)
        empty = min(run_empty(docs) for _ in range(args.reps))
        row = {"n": n, "empty": empty, "chars": chars(docs)}
        for stage, cfg in (("sentence_dedup", sent_cfg), ("token_dedup", tok_cfg)):
            times = []
            for _ in range(args.reps):  # the output is the same every time; keep the fastest
                fresh = [Document(d.id, d.text, d.source, metadata=dict(d.metadata)) for d in docs]
                rss_before = reset_peak()
                t, kept, stats = run_ours(stage, cfg, fresh, tmp)
                times.append(t)
                peak = peak_mb()
            surv = surviving(s_plants if stage == "sentence_dedup" else t_plants, kept)
            row[stage] = {
                "wall": min(w for w, _ in times),
                "cpu": min(c for _, c in times),
                "rss_before": rss_before,
                "peak": peak,
                "kept": len(kept),
                "kept_chars": sum(len(t) for t in kept.values()),
                "kept_texts": kept,
                "stats": stats,
                "dropped": {
                    k.split("|")[3]: v for k, v in stats.items() if k.startswith("dropped|") and f"|{stage}|" in k
                },
                **plant_outcomes(surv),
                "damage": damage(docs, kept),
            }
        if not args.no_peer:
            runs = [run_datatrove(docs) for _ in range(args.reps)]
            if all(runs):
                dt = runs[-1]
                dt["wall"], dt["cpu"] = min(r["wall"] for r in runs), min(r["cpu"] for r in runs)
                dt.update(plant_outcomes(surviving(s_plants, dt["kept"])))
                dt["damage"] = damage(docs, dt["kept"])
                row["datatrove"] = dt
        if args.before:
            common = {"keep_first_whole": args.keep_first_whole}
            old = run_revision(
                args.before, {"sentence_dedup": common, "token_dedup": {"model": model, **common}}, docs, args.reps
            )
            row["before"] = {
                stage: {
                    **plant_outcomes(surviving(plants, old[stage]["kept"])),
                    "kept": len(old[stage]["kept"]),
                    "damage": damage(docs, old[stage]["kept"]),
                    "wall": old[stage]["wall"],
                    "cpu": old[stage]["cpu"],
                    # this tree's output against REV's: the same kept texts and counters?
                    "same_kept": old[stage]["kept"] == row[stage]["kept_texts"],
                    "same_stats": old[stage]["stats"] == row[stage]["stats"],
                }
                for stage, plants in (("sentence_dedup", s_plants), ("token_dedup", t_plants))
            }
            row["before"]["rev"] = args.before
        rows.append(row)
        report_row(row)
    report_scaling(rows)
    print(f"peak RSS of this process (ours, all sizes, corpus and tokenizer training included): {peak_mb():.0f} MB")


def plant_outcomes(surv: list[int]) -> dict:
    return {
        "plants": len(surv),
        "one": sum(s == 1 for s in surv),
        "none": sum(s == 0 for s in surv),
        "several": sum(s > 1 for s in surv),
    }


def _stat(stats, stage, name):
    """A ``stat|<source>|<stage>|<name>`` counter summed over sources."""
    return sum(v for k, v in stats.items() if k.startswith("stat|") and k.endswith(f"|{stage}|{name}"))


def _plants(r) -> str:
    return f"planted groups with exactly one copy left {r['one']}/{r['plants']} (none: {r['none']}, several: {r['several']})"


def report_row(row):
    n = row["n"]
    print(
        f"\n== {n} documents, {row['chars'] / 1e6:.2f} M chars; an empty Beam pipeline over them: "
        f"{row['empty'][0]:.2f} s wall, {row['empty'][1]:.2f} s CPU"
    )
    for stage, what in (("sentence_dedup", "units"), ("token_dedup", "tokens")):
        r, st = row[stage], row[stage]["stats"]
        print(
            f"{stage}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, {n / r['wall']:.0f} docs/s; "
            f"occurrences removed {_stat(st, stage, 'occurrences_removed')}, {what} removed {_stat(st, stage, what + '_removed')}, "
            f"chars removed {_stat(st, stage, 'chars_removed')} ({_stat(st, stage, 'chars_removed') / row['chars']:.1%}), "
            f"bytes removed {_stat(st, stage, 'bytes_removed')}, docs edited {_stat(st, stage, 'docs_edited')}, "
            f"dropped {r['dropped']}; {_plants(r)}; process RSS {r['rss_before']:.0f} MB before, "
            f"peak {r['peak']:.0f} MB during the run"
        )
        report_damage(f"{stage} (this tree)", r["damage"])
        before = row.get("before")
        if before:
            b = before[stage]
            print(
                f"  {stage} at {before['rev']} (before, in a subprocess): {b['wall']:.2f} s wall, {b['cpu']:.2f} s CPU, "
                f"{n / b['wall']:.0f} docs/s; kept {b['kept']} docs; {_plants(b)}; "
                f"same kept texts as this tree: {b['same_kept']}, same counters: {b['same_stats']}; "
                f"wall this tree / before {r['wall'] / b['wall']:.2f}x"
            )
            report_damage(f"{stage} at {before['rev']}", b["damage"])
    dt = row.get("datatrove")
    if dt:
        s = row["sentence_dedup"]
        kept_chars = sum(len(x) for x in dt["kept"].values())
        print(
            f"datatrove SentenceDedup (3 stages): {dt['wall']:.2f} s wall, {dt['cpu']:.2f} s CPU "
            f"(+{dt['import']:.1f} s imports), {n / dt['wall']:.0f} docs/s, kept {len(dt['kept'])} docs / "
            f"{kept_chars} chars, peak {dt['peak_mb']:.0f} MB; {_plants(dt)}"
        )
        print(
            f"  ours kept {s['kept']} docs / {s['kept_chars']} chars; datatrove/ours: wall {dt['wall'] / s['wall']:.2f}x, "
            f"CPU {dt['cpu'] / s['cpu']:.2f}x"
        )
        report_damage("datatrove SentenceDedup", dt["damage"])


def report_scaling(rows):
    if len(rows) < 2:
        return
    base = rows[0]
    print("\nscaling: time at k x documents / time at the smallest size (CPU; wall in brackets)")
    for r in rows[1:]:
        parts = [f"input chars {r['chars'] / base['chars']:.2f}"]
        for stage in ("sentence_dedup", "token_dedup"):
            parts.append(
                f"{stage} {r[stage]['cpu'] / base[stage]['cpu']:.2f} [{r[stage]['wall'] / base[stage]['wall']:.2f}]"
            )
        if r.get("datatrove") and base.get("datatrove"):
            parts.append(
                f"datatrove {r['datatrove']['cpu'] / base['datatrove']['cpu']:.2f} "
                f"[{r['datatrove']['wall'] / base['datatrove']['wall']:.2f}]"
            )
        parts.append(f"empty pipeline {r['empty'][1] / base['empty'][1]:.2f}")
        print(f"  {r['n']}/{base['n']} docs = {r['n'] / base['n']:.0f}x: " + ", ".join(parts))


if __name__ == "__main__":
    main()
