"""The measured inputs of the cost model (docs/scale.md): CPU seconds per document of
every stage and bytes shuffled per document by every GroupByKey, on real pages.

Per-document stages (read, extract with each engine, language_id, Gopher repetition and
quality, C4, FineWeb): the core stages one after another in one process, CPU time
(``time.process_time``) of each over the documents that reach it, divided by the pages
read, so the figures add up to the chain's cost per crawled page.

Global stages (exact, MinHash, sentence and token dedup) and tokenization + shard
writing: Beam runs on the local FnApiRunner (in this process) over the texts the
trafilatura chain kept, written as JSONL: two runs with tokenization and writing only, at
two sizes (their slope is tokenize-and-write per document, the rest a run's fixed cost),
and one run per dedup stage, whose CPU less the fixed cost and the tokenizing and writing
of the documents it kept is the stage's. Bytes shuffled:
the sampled encoded size of every GroupByKey's input PCollection (Beam's
``sampled_byte_size`` and ``element_count`` monitoring infos: the sampled elements' bytes,
and each element not sampled at the sampled mean without the largest), in a run with all four
dedup stages, per document entering deduplication.

The corpus is the real pages of bench_web_path.py (HTML responses of ../shared/data/warc
and the 181 article pages), --copies times; the dedup runs see --dedup-copies copies of
the kept texts, each copy but the first with every 7th word replaced (see ``vary``).
Writes the figures as JSON for bench/project_snapshot.py:

    nice -n 10 python bench/bench_cost_model.py --out bench/cost_inputs.json
    python bench/project_snapshot.py bench/cost_inputs.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "bench"))
sys.path.insert(0, HERE)

from bench_web_path import TOKENIZER, write_corpus  # noqa: E402

CHAIN = ["language_id", "gopher_repetition", "gopher_quality", "c4", "fineweb"]
DEDUP = ["exact_dedup", "minhash_dedup", "sentence_dedup", "token_dedup"]


def cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def read_pages(corpus: str):
    import glob

    from curate import registry
    from curate.document import Document

    spec = registry.reader("warc")
    docs, t0 = [], time.process_time()
    for path in sorted(glob.glob(os.path.join(corpus, "*.warc.gz"))):
        with open(path, "rb") as f:
            docs += [d for d in spec.read_file(path, f, "web", spec.config_cls()) if isinstance(d, Document)]
    return docs, time.process_time() - t0


def stage(name: str, **params):
    from curate import registry

    spec = registry.stage(name)
    return spec.make(spec.config_cls(**params))


def child_cpu_s(stage_obj) -> float:
    """CPU seconds so far of the stage's extraction child process (``extract`` runs the
    engine in one, curate.sandbox, with its default ``timeout_seconds``), 0 without one:
    ``time.process_time`` of this process does not see it."""
    proc = getattr(getattr(stage_obj, "_sandbox", None), "_proc", None)
    if proc is None:
        return 0.0
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def per_document_chain(docs, engine: str) -> tuple[dict, list]:
    """CPU seconds of each stage over the documents that reach it, its extraction child
    process included (started and warmed on one page before the clock starts, as a
    worker's is once per process); the kept documents."""
    from curate.document import Drop

    cpu_s, reached = {}, {}
    alive = [copy.deepcopy(d) for d in docs]
    for name, params in [("extract", {"engine": engine})] + [
        (n, {"drop_bad_words": False} if n == "c4" else {}) for n in CHAIN
    ]:
        s = stage(name, **params)
        s.process(copy.deepcopy(alive[0]))  # warm-up: the extraction child's start and imports
        reached[name] = len(alive)
        t0 = time.process_time() + child_cpu_s(s)
        out = [s.process(d) for d in alive]
        cpu_s[name] = time.process_time() + child_cpu_s(s) - t0
        alive = [d for d in out if not isinstance(d, Drop)]
    return {"cpu_s": cpu_s, "reached": reached, "kept": len(alive)}, alive


def vary(text: str, copy: int) -> str:
    """A copy of ``text`` with every 7th word replaced by a copy-specific token: a distinct
    document for exact dedup and (Jaccard of 5-gram shingles ~0.4) for MinHash, so that
    every stage processes every copy, as in a run with few duplicates."""
    words = text.split(" ")
    return " ".join(f"v{copy}x{i}" if i % 7 == 3 else w for i, w in enumerate(words))


def beam_run(texts_path: str, out: str, stages: list, want_bytes: bool = False) -> dict:
    import apache_beam as beam
    from apache_beam.metrics import monitoring_infos
    from apache_beam.options.pipeline_options import PipelineOptions

    from curate import config
    from curate import tokenize as tok
    from pipelines import build

    raw = {
        "inputs": [
            {"kind": "jsonl", "name": "web", "paths": [texts_path], "options": {"id_field": "id", "url_field": "url"}}
        ],
        "stages": [{s: ({"model": TOKENIZER} if s == "token_dedup" else {})} for s in stages],
        "tokenizer": {"model": TOKENIZER},
        "output": {"num_shards": 4, "write_rejected": False},
    }
    cfg = config.parse(raw)
    build.check_stages(cfg)
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build.build(p, cfg, out, tok.read_model(TOKENIZER))
    proto = p.to_runner_api()
    c0 = cpu()
    result = p.run()
    result.wait_until_finish()
    from apache_beam.metrics.metric import MetricsFilter

    from pipelines.launch import counter_values

    values = counter_values(result.metrics().query(MetricsFilter().with_namespace("curate"))["counters"])
    r = {"cpu_s": cpu() - c0, "kept": sum(v for k, v in values.items() if k.startswith("kept|"))}
    if want_bytes:
        sizes, counts = {}, {}
        for mi in result.monitoring_infos():
            pcoll = mi.labels.get("PCOLLECTION")
            if mi.urn == "beam:metric:sampled_byte_size:v1" and pcoll:
                n, total, _, largest = monitoring_infos.extract_distribution(mi)
                prev = sizes.get(pcoll, (0, 0.0, largest))
                sizes[pcoll] = (prev[0] + n, prev[1] + total, max(prev[2], largest))
            elif mi.urn == "beam:metric:element_count:v1" and pcoll:
                counts[pcoll] = counts.get(pcoll, 0) + monitoring_infos.extract_counter_value(mi)
        shuffled = {}
        for t in proto.components.transforms.values():
            if t.spec.urn == "beam:transform:group_by_key:v1":
                (pcoll,) = t.inputs.values()
                # the GroupByKey's step name, without Beam's own inner labels
                name = t.unique_name.replace("/GroupByKey", "").replace("/ReshufflePerKey", "")
                # Beam measures a sample of the elements (the first 10, then ~10/N). MinHash
                # ships a block of thousands of documents' shingles as one element beside
                # many small ones, and that one is always in the sample: mean x count would
                # count it hundreds of times. So: the sampled bytes, plus each element not
                # sampled at the mean of the sampled ones without the largest.
                n, total, largest = sizes.get(pcoll, (0, 0.0, 0))
                rest = (total - largest) / (n - 1) if n > 1 else 0.0
                shuffled[name] = shuffled.get(name, 0.0) + total + max(counts.get(pcoll, 0) - n, 0) * rest
        r["shuffled_bytes"] = shuffled
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--dedup-copies", type=int, default=20)
    ap.add_argument("--out", default=None, help="write the figures here as JSON")
    args = ap.parse_args()
    import logging

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    figures = {"corpus": {}, "per_page_cpu_s": {}, "survival": {}, "dedup": {}}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        n_pages = write_corpus(corpus, args.copies)
        docs, read_s = read_pages(corpus)
        figures["corpus"] = {
            "pages": n_pages,
            "copies": args.copies,
            "html_bytes_per_page": sum(len(d.html or "") for d in docs) / len(docs),
        }
        figures["per_page_cpu_s"]["read"] = read_s / n_pages
        kept_texts = None
        for engine in ("trafilatura", "resiliparse"):
            r, kept = per_document_chain(docs, engine)
            figures["per_page_cpu_s"][engine] = {k: v / n_pages for k, v in r["cpu_s"].items()}
            figures["survival"][engine] = {
                "reached": {k: v / n_pages for k, v in r["reached"].items()},
                "kept": r["kept"] / n_pages,
            }
            print(
                f"{engine}: {n_pages} pages -> {r['kept']} kept; CPU ms/page: "
                + ", ".join(f"{k} {1000 * v / n_pages:.2f}" for k, v in r["cpu_s"].items())
            )
            if engine == "trafilatura":
                kept_texts = kept

        def write_texts(path: str, copies: int) -> int:
            with open(path, "w", encoding="utf-8") as f:
                for c in range(copies):
                    for d in kept_texts:
                        text = d.text if c == 0 else vary(d.text, c)
                        f.write(json.dumps({"id": f"{d.id}/{c}", "url": d.provenance.get("url"), "text": text}) + "\n")
            return len(kept_texts) * copies

        texts_path = os.path.join(tmp, "kept.jsonl")
        n_dedup = write_texts(texts_path, args.dedup_copies)
        small_path = os.path.join(tmp, "kept-small.jsonl")
        n_small = write_texts(small_path, max(1, args.dedup_copies // 4))
        # tokenization + writing per document: the slope between two sizes (a run's fixed cost cancels)
        base = beam_run(texts_path, os.path.join(tmp, "base"), [])
        small = beam_run(small_path, os.path.join(tmp, "base-small"), [])
        figures["dedup"]["docs"] = n_dedup
        figures["dedup"]["text_bytes_per_doc"] = sum(len(d.text.encode()) for d in kept_texts) / len(kept_texts)
        slope = max(base["cpu_s"] - small["cpu_s"], 0.0) / (n_dedup - n_small)
        fixed = small["cpu_s"] - slope * n_small  # a run's cost with no documents
        figures["dedup"]["cpu_s_per_doc"] = {"tokenize_and_write": slope}
        for s in DEDUP:
            r = beam_run(texts_path, os.path.join(tmp, s), [s])
            # the run less its fixed cost and the tokenizing and writing of what the stage kept
            figures["dedup"]["cpu_s_per_doc"][s] = max(r["cpu_s"] - fixed - slope * r["kept"], 0.0) / n_dedup
        full = beam_run(texts_path, os.path.join(tmp, "all"), DEDUP, want_bytes=True)
        figures["dedup"]["shuffled_bytes_per_doc"] = {
            k: v / n_dedup for k, v in sorted(full["shuffled_bytes"].items()) if v
        }
        print(
            f"dedup runs: {n_dedup} docs ({args.dedup_copies} copies of the kept texts); CPU ms/doc: "
            + ", ".join(f"{k} {1000 * v:.2f}" for k, v in figures["dedup"]["cpu_s_per_doc"].items())
        )
        print("bytes shuffled per doc entering dedup:")
        for k, v in figures["dedup"]["shuffled_bytes_per_doc"].items():
            print(f"  {k:<60} {v:>10,.0f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)
        print(f"figures -> {args.out}")


if __name__ == "__main__":
    main()
