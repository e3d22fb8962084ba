"""A stage defined in this file, registered and run through the whole pipeline: the
README's "Adding a stage" example (kept in step with it), with its config checks,
stored signals, counts and a refilter of its threshold."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

import pyarrow.parquet as pq
import pytest

from curate import config, model_files, registry
from curate.base import Filter
from curate.filters.common import exceeds
from curate.params import ConfigError, param, threshold
from curate.refilter import refilter
from curate.registry import register_stage
from tests.pipeline_helpers import check_output, run_config

TOKENIZER = model_files.model_path("mistral-tokenizer.model.v1")

# --- the README example, as written there --------------------------------------------


@dataclasses.dataclass
class MaxLineLengthConfig:
    max_line_length: Optional[int] = threshold(1000, min=1)  # refilter may change it; null: rule off
    strip: bool = param(True)  # measure lines without their surrounding spaces (changes the signal)


@register_stage("max_line_length", MaxLineLengthConfig)
class MaxLineLength(Filter):
    """Drops a document that has a line longer than ``max_line_length`` characters."""

    def score(self, doc) -> dict:
        lines = doc.text.splitlines()
        if self.config.strip:
            lines = [ln.strip() for ln in lines]
        return {"longest_line": max(map(len, lines), default=0)}

    def decide(self, signals) -> Optional[str]:
        return "line_too_long" if exceeds(signals["longest_line"], self.config.max_line_length) else None


# --------------------------------------------------------------------------------------


@pytest.fixture
def registered(monkeypatch):
    registry.load()  # first: the copy below must hold the built-in stages
    monkeypatch.setattr(registry, "STAGES", dict(registry.STAGES))  # restored after the test
    registry.register(MaxLineLength)
    return registry.stage("max_line_length")


def test_the_declaration_gives_name_config_and_roles(registered):
    assert registered.core is MaxLineLength and MaxLineLength.name == "max_line_length"
    assert registered.is_filter and registered.per_document
    stage = registered.make(MaxLineLengthConfig(max_line_length=5))
    assert stage.fingerprint != registered.make(MaxLineLengthConfig(strip=False)).fingerprint
    assert stage.fingerprint == registered.make(MaxLineLengthConfig(max_line_length=9)).fingerprint


def test_its_bounds_are_checked_when_the_config_is_read(registered):
    with pytest.raises(ConfigError, match=r"^stages.max_line_length.max_line_length: must be >= 1, got 0$"):
        config.parse_stages([{"max_line_length": {"max_line_length": 0}}])
    (st,) = config.parse_stages([{"max_line_length": {"max_line_length": None}}])
    assert st.params.max_line_length is None


def test_a_stage_defined_in_a_test_runs_through_the_pipeline(registered, tmp_path):
    lengths = [10, 40, 90, 200, 60, 120]
    with open(tmp_path / "docs.jsonl", "w") as f:
        for i, n in enumerate(lengths):
            text = f"Line {i} of a short document.\n" + "x" * n + "\nThe end."
            f.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    raw = {
        "inputs": [
            {"kind": "jsonl", "name": "docs", "paths": [str(tmp_path / "docs.jsonl")], "options": {"id_field": "id"}}
        ],
        "stages": [{"max_line_length": {"max_line_length": 100}}],
        "tokenizer": {"model": TOKENIZER},
        "output": {"num_shards": 1},
    }
    out, m = run_config(raw, tmp_path)
    rows = check_output(out, m)
    assert m["counts"]["dropped"] == {"max_line_length:line_too_long": 2}
    assert sorted(json.loads(r["metadata"])["signals"]["max_line_length"]["longest_line"] for r in rows) == [
        27,
        40,
        60,
        90,
    ]
    # its threshold refilters; its scoring parameter is refused
    new = refilter(out, {"stages": [{"max_line_length": {"max_line_length": 50}}]}, str(tmp_path / "re"))
    assert new["counts"]["dropped"] == {"max_line_length:line_too_long": 2} and new["counts"]["kept"] == 2
    assert len(pq.read_table(str(tmp_path / "re" / "shards")).to_pylist()) == 2
    with pytest.raises(ConfigError, match=r"^stages.max_line_length.strip: a scoring parameter"):
        refilter(out, {"stages": [{"max_line_length": {"strip": False}}]}, str(tmp_path / "re2"))
