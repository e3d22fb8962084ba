"""``curate refilter``: the core over rows, and end to end over a real run of the
bundled sample with the quality classifier stage (one Beam run shared by the tests)."""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest

from curate import config
from curate.config import ConfigError
from curate.demo import sample
from curate.outdir import OutputError
from curate.refilter import RefilterError, parse_config, refilter, refilter_rows
from pipelines import cli
from tests.pipeline_helpers import check_output, shard_hashes
from tests.test_classifier_train import train_synthetic_model

GOPHER_OK = {
    "n_words": 120,
    "mean_word_length": 4.5,
    "hash_ratio": 0.0,
    "ellipsis_ratio": 0.0,
    "bullet_lines_ratio": 0.0,
    "ellipsis_lines_ratio": 0.0,
    "alpha_words_ratio": 0.95,
    "stop_words": 6,
}


def row(i, n_words=120, lang="en", lang_score=0.9, metadata=None):
    signals = {
        "gopher_quality": {**GOPHER_OK, "n_words": n_words},
        "language_id": {"language": lang, "score": lang_score},
    }
    meta = {"language": lang, "signals": signals} if metadata is None else metadata
    return {
        "id": f"d{i}",
        "source": "web",
        "text": f"text {i}",
        "metadata": json.dumps(meta),
        "provenance": json.dumps({"url": f"u{i}"}),
        "input_file": "f.warc.gz",
        "record_id": f"r{i}",
    }


def stages_of(raw_stages, ran=("extract", "language_id", "gopher_quality", "exact_dedup")):
    return parse_config({"stages": raw_stages}, ran)


# ------------------------------------------------------------------ core, over rows


def test_new_thresholds_drop_with_the_first_failing_stage_in_config_order():
    cfg = stages_of([{"language_id": {"languages": ["en"], "min_score": 0.8}}, {"gopher_quality": {"min_words": 100}}])
    rows = [row(0), row(1, n_words=80), row(2, lang_score=0.7, n_words=80), row(3, lang="de")]
    out = list(refilter_rows(rows, cfg.stages))
    assert [o.rejected and (o.rejected.stage, o.rejected.reason) for o in out] == [
        None,
        ("gopher_quality", "too_few_words"),
        ("language_id", "low_score"),
        ("language_id", "language_not_kept"),
    ]
    assert out[1].rejected.details["signals"]["n_words"] == 80
    assert out[1].rejected.doc.provenance == {"url": "u1"}


def test_unreadable_or_missing_signals_are_error_records():
    cfg = stages_of([{"gopher_quality": {}}])
    bad_json = {**row(0), "metadata": "{not json"}
    no_signals = row(1, metadata={"language": "en", "signals": {"language_id": {}}})
    out = list(refilter_rows([bad_json, no_signals, row(2)], cfg.stages))
    assert "unreadable metadata" in out[0].error.message
    assert out[1].error.message == "no stored signals for stage gopher_quality"
    assert (out[1].error.stage, out[1].error.locator, out[1].error.doc_id) == ("refilter", "r1", "d1")
    assert out[2].error is None and out[2].rejected is None


def test_applies_to_is_inherited_from_the_run_or_set_anew():
    code_row = {**row(9, metadata={"signals": {}}), "source": "code"}  # never scored by gopher
    ran = {"gopher_quality": ["web"], "language_id": None}
    cfg = parse_config({"stages": [{"gopher_quality": {"min_words": 100}}]}, ran)
    assert cfg.stages[0].applies_to == ["web"]
    out = list(refilter_rows([row(1, n_words=80), code_row], cfg.stages))
    assert out[0].rejected.reason == "too_few_words"
    assert out[1].rejected is None and out[1].error is None  # passes untouched
    # Without the inherited applies_to the code row would be an error (no signals):
    cfg_all = parse_config({"stages": [{"gopher_quality": {"applies_to": ["web", "code"]}}]}, ran)
    (err,) = refilter_rows([code_row], cfg_all.stages)
    assert err.error.message == "no stored signals for stage gopher_quality"


def test_non_filter_stages_are_listed_not_reapplied():
    cfg = stages_of([{"extract": {}}, {"gopher_quality": {}}, {"exact_dedup": {}}])
    assert [s.name for s in cfg.stages] == ["gopher_quality"]
    assert cfg.not_reapplied == ["extract", "exact_dedup"]


def test_config_errors():
    with pytest.raises(ConfigError, match="had no such stage"):
        stages_of([{"gopher_quality": {}}], ran=("extract",))
    with pytest.raises(ConfigError, match="no filter stage to re-apply"):
        stages_of([{"extract": {}}])
    with pytest.raises(ConfigError, match="stages: missing required key"):
        parse_config({"output": {}}, [])
    with pytest.raises(ConfigError, match=r"stages.gopher_quality.min_words: expected int"):
        stages_of([{"gopher_quality": {"min_words": "many"}}])


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("refilter")
    model = train_synthetic_model(base)
    warc = str(base / "sample.warc.gz")
    sample.write_sample_warc(warc)
    raw = config.load("configs/sample.yaml", check_paths=False).raw
    raw["inputs"][0]["paths"] = [warc]
    # A small alpha keeps most documents (P(keep) = (2 - score) ** -alpha): the model
    # is trained on synthetic words, so the sample's pages all score low.
    quality = {"quality_classifier": {"model": model, "mode": "pareto", "pareto_alpha": 0.5}}
    names = [next(iter(st)) if isinstance(st, dict) else st for st in raw["stages"]]
    raw["stages"].insert(names.index("gopher_quality") + 1, quality)  # before the dedup stages
    out = str(base / "run")
    m = cli.run_pipeline(config.parse(raw), out, [])
    return base, raw, out, m


def quality_params(raw) -> dict:
    return next(st["quality_classifier"] for st in raw["stages"] if isinstance(st, dict) and "quality_classifier" in st)


def write_yaml(path, raw) -> str:
    path.write_text(json.dumps(raw))  # JSON is YAML
    return str(path)


def test_run_stores_quality_scores_and_language_counts(sample_run):
    _, _, out, m = sample_run
    rows = check_output(out, m)
    c = m["counts"]
    assert sum(c["by_language"].values()) == c["kept"] == len(rows)
    assert c["by_language"]["en"] == sum(r["language"] == "en" for r in rows)
    for r in rows:
        q = json.loads(r["metadata"])["signals"]["quality_classifier"]
        assert 0.0 <= q["score"] <= 1.0 and 0.0 < q["pareto_u"] <= 1.0 and q["seed"] == 0


def test_refilter_with_the_same_config_reproduces_the_shards(sample_run):
    base, raw, out, m = sample_run
    new = refilter(out, raw, str(base / "same"))
    assert (
        shard_hashes(str(base / "same"))["shards/part-00000-of-00002.parquet"]
        == shard_hashes(out)["shards/part-00000-of-00002.parquet"]
    )
    shards = lambda d: {k: v for k, v in shard_hashes(d).items() if k.startswith("shards/")}  # noqa: E731
    assert len(shards(out)) == 2 and shards(str(base / "same")) == shards(out)  # every shard, byte for byte
    assert new["counts"]["input"] == new["counts"]["kept"] == m["counts"]["kept"]
    assert new["not_reapplied"] == ["extract", "exact_dedup", "minhash_dedup", "pii_redact"] and new["balanced"]


def test_refilter_with_tighter_thresholds(sample_run):
    base, raw, out, m = sample_run
    before = pq.read_table(os.path.join(out, "shards")).to_pylist()
    scores = sorted(json.loads(r["metadata"])["signals"]["quality_classifier"]["score"] for r in before)
    median = scores[len(scores) // 2]
    n_words = sorted(json.loads(r["metadata"])["signals"]["gopher_quality"]["n_words"] for r in before)
    min_words = n_words[1] + 1  # drops the two shortest
    tight = {
        "stages": [
            {"gopher_quality": {"min_words": min_words}},
            {"quality_classifier": {**quality_params(raw), "mode": "threshold", "threshold": median}},
        ],
        "output": {"write_rejected": True},
    }
    cfg_path = write_yaml(base / "tight.yaml", tight)
    code = cli.main(["refilter", "--input", out, "--config", cfg_path, "--output", str(base / "tight")])
    assert code == 0
    new = json.load(open(base / "tight" / "manifest.json"))
    rows = check_output(str(base / "tight"), new)
    c = new["counts"]
    assert c["input"] == m["counts"]["kept"] and c["errors"] == 0
    assert c["dropped"]["gopher_quality:too_few_words"] == 2
    assert c["dropped"]["quality_classifier:below_threshold"] > 0
    assert sum(c["by_language"].values()) == c["kept"] > 0
    assert {r["id"] for r in rows} < {r["id"] for r in before}
    for r in rows:
        signals = json.loads(r["metadata"])["signals"]
        assert signals["gopher_quality"]["n_words"] >= min_words and signals["quality_classifier"]["score"] >= median
    rejected = pq.read_table(str(base / "tight" / "rejected")).to_pylist()
    assert len(rejected) == sum(c["dropped"].values())
    assert all(json.loads(r["details"])["signals"] for r in rejected)
    assert new["refilter_of"]["config_hash"] == m["config_hash"]
    # A refilter output can be refiltered again, by any stage of the original run.
    again = refilter(str(base / "tight"), {"stages": [{"language_id": {"min_score": 0.99}}]}, str(base / "again"))
    assert again["counts"]["input"] == c["kept"] and again["balanced"]


def test_refilter_cli_errors_are_one_line(sample_run, capsys):
    base, raw, out, _ = sample_run
    bad_seed = {"stages": [{"quality_classifier": {**quality_params(raw), "seed": 5}}]}
    with pytest.raises(SystemExit) as e:
        cli.main(
            [
                "refilter",
                "--input",
                out,
                "--config",
                write_yaml(base / "seed.yaml", bad_seed),
                "--output",
                str(base / "seed"),
            ]
        )
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stages.quality_classifier.seed: a scoring parameter" in err
    with pytest.raises(SystemExit) as e:
        cli.main(["refilter", "--input", str(base), "--config", str(base / "seed.yaml"), "--output", str(base / "x")])
    assert "no manifest.json" in capsys.readouterr().err
    with pytest.raises(OutputError, match="lies under the output"):
        refilter(out, raw, out + "/shards/..")


def test_refilter_reports_a_damaged_shard(sample_run, tmp_path):
    import shutil

    _, raw, out, _ = sample_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shard = copy / "shards" / "part-00001-of-00002.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(RefilterError, match="part-00001-of-00002.parquet: cannot read shard"):
        refilter(str(copy), raw, str(tmp_path / "new"))


# ------------------------------------------------------------------ scoring parameters vs thresholds


@pytest.mark.parametrize(
    "stage, change, param",
    [
        ("gopher_quality", {"stop_words": ["the", "and"]}, "stop_words"),
        ("gopher_quality", {"bullets": ["*"]}, "bullets"),
        ("c4", {"min_words_per_line": 5}, "min_words_per_line"),
        ("c4", {"policy_phrases": []}, "policy_phrases"),
        ("language_id", {"backend": "langdetect"}, "backend"),
        ("fineweb", {"short_line_length": 10}, "short_line_length"),
        ("gopher_repetition", {"top_ngram_char_frac": {2: 0.2, 3: 0.18}}, "top_ngram_char_frac"),
        ("exact_dedup", {"normalize": "full"}, "normalize"),
    ],
)
def test_a_changed_scoring_parameter_is_refused_naming_it(sample_run, tmp_path, stage, change, param):
    _, raw, out, _ = sample_run
    with pytest.raises(ConfigError, match=rf"^stages\.{stage}\.{param}: "):
        refilter(out, {"stages": [{stage: change}]}, str(tmp_path / "new"))


def test_rows_carry_the_fingerprint_and_refilter_checks_it_without_the_manifest(sample_run, tmp_path):
    import shutil

    _, raw, out, _ = sample_run
    row = pq.read_table(os.path.join(out, "shards")).to_pylist()[0]
    meta = json.loads(row["metadata"])
    assert set(meta["scored_with"]) == set(meta["signals"])  # each filter's signals with their fingerprint
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    m = json.load(open(copy / "manifest.json"))
    m["scoring_params"] = {}  # no record of the run's scoring parameters: the rows alone must tell
    json.dump(m, open(copy / "manifest.json", "w"))
    with pytest.raises(
        RefilterError, match=r"stages.gopher_quality: document \w+ was scored with other scoring parameters"
    ):
        refilter(str(copy), {"stages": [{"gopher_quality": {"stop_words": ["the"]}}]}, str(tmp_path / "new"))


def test_a_changed_threshold_gives_exactly_the_counts_the_stored_signals_imply(sample_run, tmp_path):
    _, raw, out, m = sample_run
    before = pq.read_table(os.path.join(out, "shards")).to_pylist()
    signals = [json.loads(r["metadata"])["signals"] for r in before]
    # gopher first (config order), then fineweb on what gopher kept; null switches a rule off
    min_words = sorted(s["gopher_quality"]["n_words"] for s in signals)[len(signals) // 4]
    passed = [s for s in signals if s["gopher_quality"]["n_words"] >= min_words]
    max_newlines = sorted(s["fineweb"]["newlines_per_word"] for s in passed)[len(passed) // 2]
    too_short = len(signals) - len(passed)
    many_newlines = sum(s["fineweb"]["newlines_per_word"] > max_newlines for s in passed)
    new = refilter(
        out,
        {
            "stages": [
                {"gopher_quality": {"min_words": min_words, "min_stop_words": None}},
                {"fineweb": {"max_newlines_per_word": max_newlines, "max_short_line_frac": None}},
            ]
        },
        str(tmp_path / "new"),
    )
    c = new["counts"]
    assert too_short > 0 and many_newlines > 0
    assert c["dropped"] == {"gopher_quality:too_few_words": too_short, "fineweb:too_many_newlines": many_newlines}
    assert c["kept"] == len(before) - too_short - many_newlines and new["balanced"]
    assert new["scoring_params"]["gopher_quality"]["stop_words"] == list(
        ("the", "be", "to", "of", "and", "that", "have", "with")
    )
