"""Mixture of sources: per-source weights applied by document id (curate.mixture), and
a run on the real data in ../shared/data."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from curate import mixture as mix
from curate import shards as S
from curate.loader import PackedSequences
from pipelines import cli
from tests.pipeline_helpers import run_config
from tests.test_training_output import real_config, verify

ids = [f"doc{i}" for i in range(20000)]


def test_copies_follow_the_weight_by_id():
    assert {mix.copies(i, 2.0) for i in ids} == {2} and {mix.copies(i, 0.0) for i in ids} == {0}
    half = [i for i in ids if mix.copies(i, 0.5) == 1]
    assert 9600 < len(half) < 10400 and set(mix.copies(i, 0.5) for i in ids) == {0, 1}
    assert half == [i for i in ids if mix.copies(i, 0.5) == 1]  # the same every time
    thirds = sum(mix.copies(i, 1.3) for i in ids)
    assert 25600 < thirds < 26400
    # Nested: a document kept at 0.3 is kept at 0.5 too.
    assert {i for i in ids if mix.copies(i, 0.3)} <= set(half)


def test_copies_get_derived_ids_pointing_to_the_original():
    row = {"id": "abc", "num_tokens": 3, "copy_of": None}
    rows = mix.expand(row, 3)
    assert [(r["id"], r["copy_of"]) for r in rows] == [("abc", None), ("abc~1", "abc"), ("abc~2", "abc")]
    assert mix.expand(row, 1) == [row]


def test_shares_put_target_beside_achieved():
    out = mix.shares(
        {"books": 2.0, "web": 0.5}, {"books": 100, "web": 800, "code": 100}, {"books": 200, "web": 390, "code": 100}
    )
    b = out["by_source"]
    assert b["books"]["target_share"] == round(200 / 700, 6) and b["web"]["target_share"] == round(400 / 700, 6)
    assert b["code"]["weight"] == 1.0 and b["web"]["share"] == round(390 / 690, 6)


# --------------------------------------------------------------------------- real data

WEIGHTS = {"books": 2.0, "conversations": 0.5, "math": 1.5}
TOLERANCE = 0.02  # absolute, on each source's token share


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory):
    """The real data with a mixture, a validation split and shards sized by tokens; run
    twice (determinism)."""
    raw = real_config()
    raw["stages"].insert(0, {"gopher_quality": {"applies_to": ["math"], "min_words": 5}})
    raw["output"] = {"shard_tokens": 60000, "validation_fraction": 0.1, "mixture": WEIGHTS, "write_rejected": True}
    return [run_config(raw, tmp_path_factory.mktemp(f"mixed{i}")) for i in range(2)]


@pytest.fixture(scope="module")
def mixed(mixed_runs):
    return mixed_runs[0]


def test_achieved_shares_are_within_tolerance_of_the_target(mixed):
    out, m = mixed
    by = m["mixture"]["by_source"]
    assert set(by) == set(WEIGHTS)
    for src, x in by.items():
        assert x["weight"] == WEIGHTS[src]
        assert abs(x["share"] - x["target_share"]) <= TOLERANCE, (src, x)
    assert by["books"]["tokens"] == 2 * by["books"]["tokens_in"]  # a whole weight is exact
    assert sum(x["tokens"] for x in by.values()) == m["totals"]["tokens"] + m["validation_totals"]["tokens"]


def test_copies_are_accounted_and_never_straddle_validation(mixed):
    out, m = mixed
    c = m["counts"]
    assert m["balanced"] and c["dropped"]["mixture:downsampled"] > 0
    rows = (
        pq.read_table(os.path.join(out, "shards")).to_pylist()
        + pq.read_table(os.path.join(out, "validation")).to_pylist()
    )
    copies = [r for r in rows if r["copy_of"]]
    assert len(copies) == c["stats"]["mixture:copies"] == sum(s["copies"] for s in m["shards"] + m["validation_shards"])
    assert len(rows) - len(copies) == c["kept"]
    held = {r["id"] for r in pq.read_table(os.path.join(out, "validation"), columns=["id"]).to_pylist()}
    for r in copies:
        assert r["id"] == mix.copy_id(r["copy_of"], int(r["id"].rsplit("~", 1)[1]))
        assert (r["id"] in held) == (r["copy_of"] in held) == S.is_validation(r["copy_of"], 0.1)
    assert {r["source"] for r in copies} == {"books", "math"}


def test_summary_prints_target_and_achieved_shares(mixed):
    out, m = mixed
    text = cli.format_summary(m, out)
    assert "mixture      token share by source, target / achieved" in text
    for src, x in m["mixture"]["by_source"].items():
        section = text.split("token share by source", 1)[1]
        line = " ".join(section.split(src, 1)[1].splitlines()[0].split())
        assert line.startswith(f"{x['target_share']:.1%} / {x['share']:.1%}")


def test_mixture_of_an_unknown_source_is_a_config_error(tmp_path):
    raw = real_config()
    raw["output"]["mixture"] = {"novels": 2.0}
    with pytest.raises(Exception, match=r"output.mixture.novels: no input has this source"):
        run_config(raw, tmp_path)


def test_refilter_gives_copies_their_original_fate(mixed, tmp_path):
    from curate.refilter import refilter

    out, m = mixed
    new = refilter(out, {"stages": [{"gopher_quality": {"min_words": 40}}]}, str(tmp_path / "new"))
    c = new["counts"]
    assert new["balanced"] and c["input"] == m["counts"]["kept"]
    assert 0 < c["dropped"]["gopher_quality:too_few_words"] < c["input"]
    rows = []
    for sub in ("shards", "validation"):
        rows += pq.read_table(os.path.join(str(tmp_path / "new"), sub), columns=["id", "copy_of"]).to_pylist()
    kept_ids = {r["id"] for r in rows if not r["copy_of"]}
    copies = [r for r in rows if r["copy_of"]]
    assert copies and all(r["copy_of"] in kept_ids for r in copies)
    assert len(copies) == c["stats"]["mixture:copies"] < m["counts"]["stats"]["mixture:copies"]


# --------------------------------------------------------------------------- sized shards, validation


def test_shard_count_follows_the_token_target_and_validation_is_held_out(mixed_runs):
    (out, m), (out2, m2) = mixed_runs
    written = m["shards"] + m["validation_shards"]
    assert m["balanced"] and m["counts"]["kept"] == sum(s["rows"] - s["copies"] for s in written)
    assert len(m["shards"]) == -(-m["totals"]["tokens"] // 60000) > 1
    assert len(m["validation_shards"]) == -(-m["validation_totals"]["tokens"] // 60000)
    assert all(s["path"].startswith("validation/") for s in m["validation_shards"])
    train = pq.read_table(os.path.join(out, "shards"), columns=["id", "copy_of"]).to_pylist()
    held = pq.read_table(os.path.join(out, "validation"), columns=["id", "copy_of"]).to_pylist()
    originals_held = [r for r in held if not r["copy_of"]]
    assert 0.05 < len(originals_held) / m["counts"]["kept"] < 0.15
    assert not {r["id"] for r in train} & {r["id"] for r in held}
    assert all(S.is_validation(r["copy_of"] or r["id"], 0.1) for r in held)
    # Deterministic: the same input and config give the same files, the count included.
    assert [(s["path"], s["sha256"]) for s in m["shards"] + m["validation_shards"]] == [
        (s["path"], s["sha256"]) for s in m2["shards"] + m2["validation_shards"]
    ]
    # Row groups are the streaming unit the manifest lists.
    for s in m["shards"]:
        assert sum(r for r, _ in s["row_groups"]) == s["rows"] and all(
            t <= S.ROW_GROUP_TOKENS or r == 1 for r, t in s["row_groups"]
        )


def test_verify_and_the_loader_cover_the_validation_split(mixed_runs, capsys):
    (out, m), _ = mixed_runs
    code, text = verify(out, capsys)
    assert code == 0, text
    assert f"{len(m['shards']) + len(m['validation_shards'])} shards match" in text
    items = list(PackedSequences(out, 256, split="validation", remainder="pad", shuffle=False))
    assert sum(int((it["segment_ids"] >= 0).sum()) for it in items) == m["validation_totals"]["tokens"]
    assert items[0]["tokens"].dtype == np.uint16
