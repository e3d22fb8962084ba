"""``applies_to``: stages run only on the listed sources (config key, per-document and
global stages); stage statistics become ``stat|`` counters; stage instances
(``base/label``). One Beam pipeline, and one whole run refiltered."""

import glob
import json
import os
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from curate import config
from curate.config import ConfigError
from curate.counters import NAMESPACE, balanced, counts_from_counters
from curate.dedup.exact import ExactDedupConfig
from curate.document import Document
from curate.filters.gopher import GopherQualityConfig
from curate.redact import CodeRedactConfig
from curate.refilter import refilter
from curate.registry import stage as stage_spec
from pipelines import build as build_mod
from pipelines.apply import apply_stage
from pipelines.stages import ApplyDocStage
from tests.pipeline_helpers import check_output, run_config

REPO = Path(__file__).resolve().parent.parent

BASE = {
    "inputs": [{"kind": "books", "name": "books", "paths": ["x.txt"]}, {"kind": "code", "paths": ["y.py"]}],
    "tokenizer": {"model": "m.model"},
}


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
    g = apply_stage(pc, "gopher_quality", GopherQualityConfig(), ["books"])
    r = apply_stage(g.kept, "code_redact", CodeRedactConfig(), ["code"])
    d = apply_stage(r.kept, "exact_dedup", ExactDedupConfig(), ["books"])
    summary = d.kept | beam.Map(
        lambda doc: (
            doc.id,
            "<EMAIL>" in doc.text and "<SECRET>" in doc.text,
            sorted(doc.metadata.get("signals", {})),
            "redactions" in doc.metadata,
        )
    )
    assert_that(
        summary,
        equal_to(
            [
                ("b1", False, ["gopher_quality"], False),  # gopher ran, redaction did not
                ("c1", True, [], True),  # redacted, gopher and dedup did not touch it
                ("c2", True, [], True),
            ]
        ),
    )
    result = p.run()
    result.wait_until_finish()
    values = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    }
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
        ("gopher_quality", ["books"]),
        ("code_redact", ["code"]),
        ("exact_dedup", None),
    ]
    assert cfg.inputs[0].options.split == "chapters" and cfg.inputs[1].options.read_archives is False


# ------------------------------------------------------------------ stage instances (base/label)

# Gopher's alphabetic-word ratio (punctuation tokens count as words) of these texts:
DIALOGUE = " ".join(
    ['"Where is the cat?" said the girl to the old man by the door, "and when will it come back to the house?"'] * 6
)  # 0.77: fails 0.8, passes 0.7
CLIPPED = " ".join(['"Where?" "There, there," said the girl; "the cat is by the door, and the house!"'] * 6)  # 0.56
INSTANCES = [
    {"gopher_quality": {"applies_to": ["web"]}},
    {"gopher_quality/books": {"applies_to": ["books"], "min_alpha_words_ratio": 0.7}},
]


def test_stage_instances_are_parsed_by_base_name_and_keep_their_full_name():
    cfg = config.parse(
        dict(BASE, inputs=BASE["inputs"] + [{"kind": "jsonl", "name": "web", "paths": ["z.jsonl"]}], stages=INSTANCES),
        check_paths=False,
    )
    web, books = cfg.stages
    assert (web.name, web.base, web.params.min_alpha_words_ratio) == ("gopher_quality", "gopher_quality", 0.8)
    assert (books.name, books.base, books.params.min_alpha_words_ratio, books.applies_to) == (
        "gopher_quality/books",
        "gopher_quality",
        0.7,
        ["books"],
    )
    build_mod.check_stages(cfg)
    for stages, msg in [
        (
            ["gopher_quality/Books"],
            r"^stages\.gopher_quality/Books: an instance label \(after '/'\) must match \[a-z0-9_\]\+, got 'Books'$",
        ),
        (["gopher_quality/"], r"^stages\.gopher_quality/: an instance label .* got ''$"),
        (["gopher_quality/a/b"], r"^stages\.gopher_quality/a/b: an instance label .* got 'a/b'$"),
        (
            ["gopher_quality/x", "gopher_quality", "gopher_quality/x"],
            r"^stages\[2\]\.gopher_quality/x: stage listed twice$",
        ),
        (["no_such/x"], r"^stages\[0\]\.no_such/x: unknown stage"),
        (
            ["exact_dedup/books"],
            r"^stages\[0\]\.exact_dedup/books: global stage exact_dedup cannot take an instance label",
        ),
        (
            [{"gopher_quality/books": {"min_alpha_words_ratio": "low"}}],
            r"^stages\.gopher_quality/books\.min_alpha_words_ratio: expected float",
        ),
    ]:
        with pytest.raises(ConfigError, match=msg) as e:
            parse_stages(stages)
        assert "\n" not in str(e.value)


def test_two_gopher_instances_decide_by_their_own_thresholds_under_their_own_names():
    web = ApplyDocStage(stage_spec("gopher_quality"), "gopher_quality", GopherQualityConfig(), ["web"])
    books = ApplyDocStage(
        stage_spec("gopher_quality"), "gopher_quality/books", GopherQualityConfig(min_alpha_words_ratio=0.7), ["books"]
    )
    for stage in (web, books):
        stage.setup()

    def through(doc):
        for stage in (web, books):
            (out,) = stage.process(doc)
            if isinstance(out, beam.pvalue.TaggedOutput):
                return out.tag, out.value
            doc = out
        return "kept", doc

    tag, doc = through(Document("b1", DIALOGUE, "books"))
    assert tag == "kept" and list(doc.metadata["signals"]) == ["gopher_quality/books"]
    tag, rej = through(Document("w1", DIALOGUE, "web"))
    assert (tag, rej.stage, rej.reason) == ("rejected", "gopher_quality", "too_few_alpha_words")
    assert list(rej.doc.metadata["signals"]) == ["gopher_quality"]
    tag, rej = through(Document("b2", CLIPPED, "books"))
    assert (tag, rej.stage, rej.reason) == ("rejected", "gopher_quality/books", "too_few_alpha_words")
    tag, err = through(Document("b3", None, "books"))  # a bad record: an error named after the instance
    assert (tag, err.stage, err.doc_id) == ("errors", "gopher_quality/books", "b3")
    # Both instances over one source: each stores its own signals, neither overwrites the other.
    both = ApplyDocStage(
        stage_spec("gopher_quality"), "gopher_quality/books", GopherQualityConfig(min_alpha_words_ratio=0.7), ["web"]
    )
    both.setup()
    (doc,) = both.process(Document("w2", PROSE, "web"))
    (doc,) = web.process(doc)
    assert sorted(doc.metadata["signals"]) == ["gopher_quality", "gopher_quality/books"]


@pytest.fixture(scope="module")
def instances_run(tmp_path_factory):
    """One run of two gopher_quality instances (web at the paper's 0.8, books at 0.7)."""
    model = REPO / "curate" / "models" / "mistral-tokenizer.model.v1"
    if not model.exists():
        pytest.skip(f"tokenizer model {model} not installed (run python -m curate.model_files)")
    base = tmp_path_factory.mktemp("instances")
    texts = {"web": [PROSE, DIALOGUE], "books": [DIALOGUE.replace("cat", "dog"), CLIPPED]}
    inputs = []
    for source, docs in texts.items():
        path = base / f"{source}.jsonl"
        path.write_text("".join(json.dumps({"id": f"{source}{i}", "text": t}) + "\n" for i, t in enumerate(docs)))
        inputs.append({"kind": "jsonl", "name": source, "paths": [str(path)], "options": {"id_field": "id"}})
    raw = {
        "inputs": inputs,
        "stages": INSTANCES,
        "tokenizer": {"model": str(model)},
        "output": {"num_shards": 1, "write_rejected": True},
    }
    return (base, *run_config(raw, base))


def test_instances_in_a_run_and_a_refilter_of_one_instance(instances_run):
    base, out, manifest = instances_run
    rows = check_output(out, manifest)
    assert manifest["counts"]["dropped"] == {
        "gopher_quality/books:too_few_alpha_words": 1,
        "gopher_quality:too_few_alpha_words": 1,
    }
    assert manifest["counts"]["by_source"]["books"]["dropped"] == {"gopher_quality/books:too_few_alpha_words": 1}
    assert {r["source"]: sorted(json.loads(r["metadata"])["signals"]) for r in rows} == {
        "web": ["gopher_quality"],
        "books": ["gopher_quality/books"],
    }
    rejected = pq.read_table(glob.glob(os.path.join(out, "rejected", "*.parquet"))).to_pylist()
    assert sorted((r["source"], r["stage"], r["text"] == CLIPPED) for r in rejected) == [
        ("books", "gopher_quality/books", True),
        ("web", "gopher_quality", False),
    ]
    # Refilter the books instance at the web threshold: its own signals decide, web rows
    # are not its business (applies_to inherited from the run).
    new = refilter(out, {"stages": [{"gopher_quality/books": {"min_alpha_words_ratio": 0.8}}]}, str(base / "tight"))
    assert new["reapplied_stages"] == ["gopher_quality/books"]
    assert new["counts"]["dropped"] == {"gopher_quality/books:too_few_alpha_words": 1}
    assert new["counts"]["by_source"]["web"]["kept"] == 1 and new["balanced"]
