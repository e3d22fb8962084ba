"""``applies_to``: stages run only on the listed sources (config key, per-document and
global stages); stage statistics become ``stat|`` counters. One Beam pipeline."""

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from curate import config
from curate.config import ConfigError
from curate.dedup.exact import ExactDedupConfig
from curate.document import Document
from curate.filters.gopher import GopherQualityConfig
from curate.redact import CodeRedactConfig
from pipelines import build as build_mod
from pipelines.counters import NAMESPACE, balanced, counts_from_counters
from pipelines.stages import apply_doc_stage, apply_global_stage

BASE = {"inputs": [{"kind": "books", "name": "books", "paths": ["x.txt"]}, {"kind": "code", "paths": ["y.py"]}],
        "tokenizer": {"model": "m.model"}}


def parse_stages(stages):
    return config.parse(dict(BASE, stages=stages), check_paths=False)


def test_applies_to_is_parsed_beside_the_stage_parameters():
    cfg = parse_stages([{"gopher_quality": {"applies_to": ["books"], "min_words": 10}}, {"code_redact": {}}])
    g, r = cfg.stages
    assert g.applies_to == ["books"] and g.params.min_words == 10
    assert r.applies_to is None
    build_mod.check_stages(cfg)
    for bad, msg in [(["books", 3], r"applies_to\[1\]"), ([], "at least one"), ("books", "expected a list")]:
        with pytest.raises(ConfigError, match=msg):
            parse_stages([{"gopher_quality": {"applies_to": bad}}])
    with pytest.raises(ConfigError, match="no input has source 'web'"):
        build_mod.check_stages(parse_stages([{"code_redact": {"applies_to": ["web"]}}]))


PROSE = (
    "The history of the town is closely tied to the river that runs through it. For centuries "
    "the river carried goods to the sea, and the merchants who lived here grew rich from the "
    "trade. Today the old warehouses have been turned into homes and studios, and visitors "
    "come to walk along the water and to see the boats that still use the harbour."
)
CODE = 'x = 1\n# contact: dev@example.com\nsecret = "pa55-word-9"\n' * 3


def test_stages_skip_other_sources_and_count_statistics():
    docs = [
        Document("b1", PROSE, "books"),
        Document("b2", PROSE, "books"),  # exact duplicate of b1: dedup applies to books
        Document("b3", "too short", "books"),  # dropped by gopher
        Document("c1", CODE, "code", metadata={"code": {"language": "python"}}),
        Document("c2", CODE, "code", metadata={"code": {"language": "python"}}),  # duplicate, but not deduped
    ]
    p = beam.Pipeline("FnApiRunner")
    pc = p | beam.Create(docs)
    g = apply_doc_stage(pc, "gopher_quality", GopherQualityConfig(), ["books"])
    r = apply_doc_stage(g.kept, "code_redact", CodeRedactConfig(), ["code"])
    d = apply_global_stage(r.kept, "exact_dedup", ExactDedupConfig(), ["books"])
    summary = d.kept | beam.Map(
        lambda doc: (doc.id, "<EMAIL>" in doc.text and "<SECRET>" in doc.text,
                     sorted(doc.metadata.get("signals", {})), "redactions" in doc.metadata)
    )
    assert_that(summary, equal_to([
        ("b1", False, ["gopher_quality"], False),  # gopher ran, redaction did not
        ("c1", True, [], True),  # redacted, gopher and dedup did not touch it
        ("c2", True, [], True),
    ]))
    result = p.run()
    result.wait_until_finish()
    values = {c.key.metric.name: c.committed for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]}
    assert values == {
        "dropped|books|gopher_quality|too_few_words": 1,
        "dropped|books|exact_dedup|duplicate": 1,
        "stat|code|code_redact|email": 6,
        "stat|code|code_redact|secret_assignment": 6,
    }
    counts = counts_from_counters(dict(values, **{"input|books": 3, "input|code": 2, "kept|books": 1, "kept|code": 2}))
    assert balanced(counts)
    assert counts["stats"] == {"code_redact:email": 6, "code_redact:secret_assignment": 6}
    assert counts["by_source"]["code"]["stats"] == counts["stats"]


def test_the_books_code_example_config_is_valid():
    cfg = config.load("configs/books-code.yaml", check_paths=False)
    build_mod.check_stages(cfg)
    assert [(s.name, s.applies_to) for s in cfg.stages] == [
        ("gopher_quality", ["books"]), ("code_redact", ["code"]), ("exact_dedup", None)
    ]
    assert cfg.inputs[0].options.split == "chapters" and cfg.inputs[1].options.read_archives is False
