"""configs/fineweb.yaml (URL filter, extraction, LID, Gopher repetition and quality, C4,
FineWeb, exact dedup) on the real WARCs in ../shared/data (skipped when absent)."""

import json
import os

import pyarrow.parquet as pq
import pytest

import curate.builtin  # noqa: F401
from curate import registry
from tests.pipeline_helpers import check_output, run_on_real_warcs

FILTERS = ("url_filter", "gopher_repetition", "gopher_quality", "c4", "fineweb")


@pytest.fixture(scope="module")
def fineweb_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("fineweb") / "out")
    cfg, m = run_on_real_warcs("configs/fineweb.yaml", out)
    return cfg, out, m


def test_accounting_holds_and_the_filters_drop_real_pages(fineweb_run):
    cfg, out, m = fineweb_run
    rows = check_output(out, m)
    stages_that_dropped = {key.split(":")[0] for key in m["counts"]["dropped"]}
    assert {"gopher_repetition", "gopher_quality", "c4"} <= stages_that_dropped
    for row in rows:  # every kept page carries every filter's signals
        signals = json.loads(row["metadata"])["signals"]
        assert set(FILTERS) <= set(signals)


def test_kept_text_is_c4_cleaned(fineweb_run):
    cfg, out, m = fineweb_run
    rows = check_output(out, m)
    c4 = next(s.params for s in cfg.stages if s.name == "c4")
    for row in rows:
        for line in row["text"].split("\n"):
            assert line.endswith(tuple(c4.terminal_punctuation)) and not line.endswith("...")
            assert len(line.split()) >= c4.min_words_per_line


def test_each_rejected_page_reads_with_its_reason_and_signals(fineweb_run):
    cfg, out, m = fineweb_run
    params = {s.name: s.params for s in cfg.stages}
    rejected = [r for r in pq.read_table(os.path.join(out, "rejected")).to_pylist() if r["stage"] in FILTERS]
    assert len(rejected) == sum(n for k, n in m["counts"]["dropped"].items() if k.split(":")[0] in FILTERS)
    for r in rejected:
        assert r["text"]
        stage = registry.STAGES[r["stage"]].factory(params[r["stage"]])
        # decide() on the stored signals gives the recorded reason: thresholds can be re-applied
        assert stage.decide(json.loads(r["details"])["signals"]) == r["reason"]
