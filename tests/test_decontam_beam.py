"""The ``decontaminate`` Beam transform gives what the core gives (``decontaminate_documents``):
the same kept texts and metadata, the same drops, the same report files, and counters
that agree with the report; every document accounted for. One pipeline for all checks."""

from __future__ import annotations

import copy
import json
import pickle

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter

from curate.config import build
from curate.counters import NAMESPACE, counts_from_counters
from curate.decontam import DecontaminateConfig, decontaminate_documents, report_files
from curate.document import Document, Drop
from pipelines.decontam import Decontaminate
from pipelines.stages import count_outcomes
from tests.test_decontam import ITEM, ITEM_B, SHORT, filler, write_jsonl

PHRASE = "the quick brown fox jumps over the lazy dog near the river bank"  # 13 words


def documents() -> list[Document]:
    texts = [
        filler("a", 120) + " " + ITEM + " " + filler("b", 120),  # cut
        "Quiz: " + ITEM_B,  # nothing left: dropped
        filler("c", 160) + (" " + ITEM + " " + filler("d", 160)) * 11,  # more than 10 pieces: dropped
        filler("e", 120) + " Who wrote the play HAMLET? " + filler("f", 120),  # short item, cut
        filler("g", 300),  # clean
    ]
    texts += [
        filler("h", 120) + " " + PHRASE + ". " + filler("i", 120, first=i) for i in range(11)
    ]  # common: untouched
    sources = ["web", "web", "books", "books", "web"] + ["books"] * 11
    return [Document(f"doc{i:02d}", t, s) for i, (t, s) in enumerate(zip(texts, sources))]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("decontam")
    path = write_jsonl(d / "eval.jsonl", [{"q": ITEM}, {"q": ITEM_B}, {"q": SHORT}, {"q": PHRASE + ". Then what?"}])
    cfg = build(
        DecontaminateConfig, {"eval_sets": [{"name": "toy", "paths": [path], "fields": ["q"]}]}, "stages.decontaminate"
    )
    docs = documents()
    core_out, core_report, core_lines = decontaminate_documents(copy.deepcopy(docs), cfg)
    p = beam.Pipeline("FnApiRunner")
    res = count_outcomes(p | beam.Create(docs) | Decontaminate(cfg), "decontaminate")
    for name in ("kept", "rejected", "errors", "files"):
        (
            getattr(res, name)
            | f"{name}:all" >> beam.combiners.ToList()
            | f"{name}:save"
            >> beam.Map(lambda xs, path: open(path, "wb").write(pickle.dumps(xs)), str(d / f"{name}.pickle"))
        )
    result = p.run()
    result.wait_until_finish()
    results = {
        name: pickle.loads((d / f"{name}.pickle").read_bytes()) for name in ("kept", "rejected", "errors", "files")
    }
    results["files"] = dict(results["files"])
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    values = {c.key.metric.name: int(c.committed) for c in counters}
    return docs, core_out, report_files(core_report, core_lines), core_report, results, counts_from_counters(values)


def test_beam_equals_core(run):
    docs, core_out, core_files, _, results, _ = run
    kept = {d.id: (d.text, d.metadata) for d in results["kept"]}
    dropped = {r.doc.id: (r.reason, r.details) for r in results["rejected"]}
    for doc, out in zip(docs, core_out):
        if isinstance(out, Drop):
            assert dropped[doc.id] == (out.reason, out.details)
        else:
            assert kept[doc.id] == (out.text, out.metadata)
    assert results["errors"] == []
    assert len(kept) + len(dropped) == len(docs)  # every document accounted for
    assert results["files"] == core_files


def test_what_the_run_did(run):
    docs, _, _, report, results, _ = run
    dropped = {r.doc.id: r.details["why"] for r in results["rejected"]}
    assert dropped == {"doc01": "no_fragment_left", "doc02": "too_many_fragments"}
    kept = {d.id: d for d in results["kept"]}
    assert kept["doc00"].text == filler("a", 80) + " " + filler("b", 80, first=40)
    assert kept["doc04"].text == docs[4].text and "decontaminate" not in kept["doc04"].metadata
    assert all(kept[f"doc{i:02d}"].text == docs[i].text for i in range(5, 16))  # common n-gram: untouched
    s = report["sets"]["toy"]
    assert (s["items_found"], s["found_ids"], s["docs_cut"], s["docs_dropped"], s["common_ngrams_ignored"]) == (
        3,
        ["0", "1", "2"],
        2,
        2,
        1,
    )


def test_counters_equal_the_report(run):
    _, _, files, report, _, counts = run
    s = json.loads(files["decontamination.json"])["sets"]["toy"]
    stats = counts["stats"]
    assert counts["dropped"] == {"decontaminate:contaminated": s["docs_dropped"]}
    assert stats["decontaminate:toy.docs_dropped"] == s["docs_dropped"]
    assert stats["decontaminate:toy.docs_cut"] == stats["decontaminate:docs_cut"] == s["docs_cut"]
    assert stats["decontaminate:toy.chars_removed"] == stats["decontaminate:chars_removed"] == s["chars_removed"] > 0
    by_source = counts["by_source"]
    assert by_source["web"]["dropped"] == {"decontaminate:contaminated": 1}
    assert by_source["books"]["dropped"] == {"decontaminate:contaminated": 1}


def test_eval_set_paths_must_be_remote_on_a_remote_runner(tmp_path):
    from curate import config
    from pipelines.launch import local_paths

    raw = {
        "inputs": [{"kind": "jsonl", "paths": ["gs://bucket/docs/*.jsonl"]}],
        "stages": [
            {
                "decontaminate": {
                    "eval_sets": [
                        {"name": "a", "paths": ["gs://bucket/evals/a.jsonl"], "fields": ["q"]},
                        {"name": "b", "paths": ["gs://bucket/evals/b.jsonl", "evals/b.parquet"], "fields": ["q"]},
                    ]
                }
            }
        ],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1"},
    }
    cfg = config.parse(raw, check_paths=False)
    assert local_paths(cfg) == [("stages.decontaminate.eval_sets[1].paths[1]", "evals/b.parquet")]
