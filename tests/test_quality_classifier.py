"""Unit tests of the ``quality_classifier`` stage on a small model trained in the test."""

from __future__ import annotations

import numpy as np
import pytest

from curate import registry
from curate.config import ConfigError, build, parse_stages
from curate.document import Document, Drop
from curate.filters.quality_classifier import (
    QualityClassifier,
    QualityClassifierConfig,
    pareto_draw,
    pareto_uniform,
)
from tests.test_classifier_train import train_synthetic_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return train_synthetic_model(tmp_path_factory.mktemp("qmodel"))


def stage(model_path, **kw) -> QualityClassifier:
    s = QualityClassifier(build(QualityClassifierConfig, {"model": model_path, **kw}, "stages.quality_classifier"))
    s.setup()
    return s


def doc(text, i=0):
    return Document(id=f"doc{i}", text=text, source="web")


def test_threshold_mode_keeps_high_scores_and_stores_the_score(model_path):
    s = stage(model_path, threshold=0.5)
    good = s.process(doc("The history of science:\nresearch and evidence, careful study of method."))
    assert isinstance(good, Document) and good.signals("quality_classifier")["score"] > 0.5
    bad = doc("CLICK HERE\nbuy now cheap\nfree login subscribe")
    out = s.process(bad)
    assert isinstance(out, Drop) and out.reason == "below_threshold"
    assert out.details["signals"]["score"] == bad.signals("quality_classifier")["score"] < 0.5


def test_pareto_mode_is_deterministic_per_seed_and_id(model_path):
    a = stage(model_path, mode="pareto", seed=7)
    b = stage(model_path, mode="pareto", seed=7)
    docs = [doc("the of and click here cheap " * (i % 3 + 1), i) for i in range(200)]
    da = [isinstance(a.process(Document(d.id, d.text, d.source)), Drop) for d in docs]
    db = [isinstance(b.process(Document(d.id, d.text, d.source)), Drop) for d in docs]
    assert da == db
    assert pareto_uniform(7, "doc1") == pareto_uniform(7, "doc1") != pareto_uniform(8, "doc1")


def test_pareto_keep_rate_follows_the_gpt3_rule(model_path):
    # P(pareto(alpha) > 1 - s) = (2 - s) ** -alpha for numpy's (Lomax) pareto.
    s = QualityClassifier(QualityClassifierConfig(model=model_path, mode="pareto", pareto_alpha=9.0))
    ids = [f"id{i}" for i in range(4000)]
    for score in (0.5, 0.9, 1.0):
        kept = np.mean([s.decide({"score": score, "pareto_u": pareto_uniform(0, i), "seed": 0}) is None for i in ids])
        assert kept == pytest.approx((2 - score) ** -9.0, abs=0.03)
    assert s.decide({"score": 0.5, "pareto_u": 1.0, "seed": 0}) == "pareto_rejected"  # draw 0


def test_pareto_draw_matches_numpy_distribution():
    u = np.array([pareto_uniform(3, f"d{i}") for i in range(20000)])
    ours = np.sort(pareto_draw(u, 9.0))
    theirs = np.sort(np.random.default_rng(0).pareto(9.0, 20000))
    assert abs(ours.mean() - 1 / 8) < 0.01  # Lomax mean 1 / (alpha - 1)
    assert np.max(np.abs(np.quantile(ours, [0.1, 0.5, 0.9]) - np.quantile(theirs, [0.1, 0.5, 0.9]))) < 0.01


def test_refilter_with_another_seed_is_refused(model_path):
    s = QualityClassifier(QualityClassifierConfig(model=model_path, mode="pareto", seed=1))
    with pytest.raises(ValueError, match="stored with seed 0"):
        s.decide({"score": 0.5, "pareto_u": 0.5, "seed": 0})


def test_config_errors(model_path, tmp_path):
    key = "stages.quality_classifier"
    with pytest.raises(ConfigError, match=r"\.model: no such file"):
        build(QualityClassifierConfig, {"model": str(tmp_path / "none.bin")}, key)
    with pytest.raises(ConfigError, match=r"\.threshold: must be a fraction between 0 and 1"):
        build(QualityClassifierConfig, {"model": model_path, "threshold": 1.5}, key)
    with pytest.raises(ConfigError, match=r"\.mode: expected one of"):
        build(QualityClassifierConfig, {"model": model_path, "mode": "top_k"}, key)
    with pytest.raises(ConfigError, match="model: missing required key"):
        build(QualityClassifierConfig, {}, key)


def test_unknown_label_or_bad_model_file_is_a_config_error(model_path, tmp_path):
    with pytest.raises(ConfigError, match="has no label 'good'.*labels: "):
        stage(model_path, label="good")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a fastText model"):
        stage(str(junk))


def test_model_error_names_the_instance_key(tmp_path):
    """An instance (``quality_classifier/books``) is named by its own key, as the config
    loader names it, not by the registered stage's."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model")
    (st,) = parse_stages([{"quality_classifier/books": {"model": str(junk)}}])
    with pytest.raises(ConfigError, match=r"^stages\.quality_classifier/books\.model: .*not a fastText model"):
        registry.stage(st.base).make(st.params, st.name)


def test_example_configs_parse(model_path):
    import yaml

    from curate import config
    from curate.refilter import parse_config

    with open("configs/web-quality.yaml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    stage_params = next(s for s in raw["stages"] if "quality_classifier" in s)["quality_classifier"]
    stage_params["model"] = model_path  # the demo model is built by a command, not shipped
    cfg = config.parse(raw, check_paths=False)
    assert [s.name for s in cfg.stages][-2:] == ["quality_classifier", "exact_dedup"]
    with open("configs/refilter-quality.yaml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    raw["stages"][1]["quality_classifier"]["model"] = model_path
    rcfg = parse_config(raw, ["language_id", "quality_classifier"])
    assert [s.params.mode for s in rcfg.stages if s.name == "quality_classifier"] == ["threshold"]


def test_remote_model_is_copied_locally_once_per_process(model_path, monkeypatch):
    from curate import io as cio
    from curate import quality_model as M

    reads = []

    def fake_read(path):
        reads.append(path)
        with open(model_path, "rb") as f:
            return f.read()

    monkeypatch.setattr(cio, "read_bytes", fake_read)
    a = M.load_model("gs://bucket/quality/model.bin")
    b = M.load_model("gs://bucket/quality/model.bin")
    assert a is b and reads == ["gs://bucket/quality/model.bin"]
    assert a.probability("research and history of science", "hq") > 0.5
