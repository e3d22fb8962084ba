"""sentence_dedup then token_dedup as Beam global stages, in one shared pipeline."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from curate.config import build
from curate.counters import NAMESPACE
from curate.dedup.sentences import SentenceDedupConfig
from curate.dedup.token_spans import TokenDedupConfig
from curate.document import Document
from pipelines import span_dedup  # noqa: F401  (registers the transforms)
from pipelines.span_dedup import sentence_dedup, token_dedup
from pipelines.stages import count_outcomes
from tests.test_span_dedup import A3, processor, words  # noqa: F401  (fixture)

LONG = " ".join(f"filler{i}" for i in range(8))
OTHER = " ".join(f"other{i}" for i in range(8))


@pytest.fixture(scope="module")
def run(processor, tmp_path_factory):  # noqa: F811
    model = tmp_path_factory.mktemp("spm") / "t.model"
    model.write_bytes(processor.serialized_model_proto())
    shared_tokens = words(0, 30)
    docs = [
        Document("a", f"Opening line here. {A3} {LONG}.", "web"),
        Document("b", f"Another start here. {A3} {OTHER} b.", "web"),  # loses A3
        Document("c", A3, "web"),  # all duplicate
        Document("d", f"Short one. {A3}", "web"),  # too short after
        Document("e", f"{words(300, 5)} {shared_tokens}", "web"),
        Document("f", f"{words(400, 5)} {shared_tokens} {words(500, 3)}", "web"),  # loses the tokens
        Document("g", "Broken \ud800 text. One. Two. Three.", "web"),  # cannot be encoded
        Document("h", "Same id twice. Version one.", "web"),
        Document("h", "Same id twice. Version two.", "web"),
    ]
    sent = build(SentenceDedupConfig, {"min_words": 3})
    tok = build(TokenDedupConfig, {"model": str(model), "min_tokens": 10, "min_words": 3, "hash_buckets": 3})
    p = BeamTestPipeline(runner="FnApiRunner")
    pcoll = p | beam.Create(docs)
    s = count_outcomes(pcoll | sentence_dedup(sent), "sentence_dedup")
    t = count_outcomes(s.kept | token_dedup(tok), "token_dedup")
    assert_that(
        t.kept | "kept" >> beam.Map(lambda d: (d.id, d.text)),
        equal_to(
            [
                ("a", f"Opening line here. {A3} {LONG}."),
                ("b", f"Another start here. {OTHER} b."),
                ("e", f"{words(300, 5)} {shared_tokens}"),
                ("f", f"{words(400, 5)} {words(500, 3)}"),
                ("h", "Same id twice. Version one."),
            ]
        ),
        label="kept",
    )
    rejected = (s.rejected, t.rejected) | beam.Flatten()
    assert_that(
        rejected | "rej" >> beam.Map(lambda r: (r.doc.id, r.key, r.doc.text)),
        equal_to(
            [
                ("c", "sentence_dedup:all_duplicate", A3),
                ("d", "sentence_dedup:too_short_after_dedup", f"Short one. {A3}"),
                ("h", "sentence_dedup:duplicate_id", "Same id twice. Version two."),
            ]
        ),
        label="rejected",
    )
    errors = (s.errors, t.errors) | "errs" >> beam.Flatten()
    assert_that(
        errors | "err" >> beam.Map(lambda e: (e.doc_id, e.stage)), equal_to([("g", "sentence_dedup")]), label="errors"
    )
    result = p.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    return {c.key.metric.name: c.committed for c in counters}


def test_every_document_is_kept_dropped_or_errored_once(run):
    # kept, rejected and errors were checked by assert_that inside the pipeline (a
    # mismatch raises in run()); the counters must account for the other 4 of 9 docs
    dropped = sum(v for k, v in run.items() if k.startswith("dropped|"))
    errors = sum(v for k, v in run.items() if k.startswith("errors|"))
    assert (dropped, errors) == (3, 1)
    assert run["dropped|web|sentence_dedup|all_duplicate"] == 1


def test_counters_report_what_was_removed(run):
    assert run["dropped|web|sentence_dedup|too_short_after_dedup"] == 1
    assert run["dropped|web|sentence_dedup|duplicate_id"] == 1
    assert run["errors|web|sentence_dedup"] == 1
    assert run["stat|web|sentence_dedup|units_removed"] == 3 * 3  # A3 from b, c and d
    assert run["stat|web|sentence_dedup|docs_edited"] == 3
    assert run["stat|web|token_dedup|docs_edited"] == 1
    assert run["stat|web|token_dedup|tokens_removed"] >= 30
    assert run["stat|web|token_dedup|bytes_removed"] == len(words(0, 30)) + 1
