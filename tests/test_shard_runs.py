"""The bounded-memory shard writer (curate/shard_runs.py) writes the bytes of
``parquet_bytes``: rows spilled to several run files, split by shard, merged (also in
rounds through intermediate runs) and streamed to Parquet give, shard by shard, the
file and the manifest entry that ``parquet_bytes``/``shard_info`` give for the same rows,
with copies, the validation split, ``partition_by: language``, empty shards and
rejected rows that tie on id. Rows are built in code; the Beam writers are compared
across runners in tests/test_pipeline.py and tests/test_partition.py."""

from __future__ import annotations

import io
import random

import pyarrow.parquet as pq
import pytest

from curate import mixture as mix
from curate import shard_runs as R
from curate import shards as S
from curate.config import OutputConfig, build
from curate.document import Document, Rejected

ITEMSIZE = 2  # uint16 ids


def kept_rows(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lang = rng.choice(["en", "de", "", None])
        meta = {} if lang is None else {"language": lang, "language_score": 0.9}
        doc = Document(f"doc-{rng.randrange(10**9):09d}-{i}", "wört " * rng.randint(0, 60), "web", {}, meta)
        row = S.doc_row(doc, [rng.randrange(65536) for _ in range(rng.randint(1, 700))])
        rows.extend(mix.expand(row, 3 if i % 7 == 0 else 1))  # copies: their own ids, copy_of set
    return rows


def rejected_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        doc = Document(f"r{i // 3}", "text " * (i % 50), "web", {"url": f"http://x/{i}"})
        # ids repeat: the same document dropped by two stages ties on id, sorts by stage
        rows.append(S.rejected_row(Rejected(doc, f"stage{2 - i % 3}", "reason", {"i": i})))
    return rows


def spill(rows, schema, folder_of, tmp_path) -> list[dict]:
    """Rows into run files as pipelines/output.py:SpillRows does (one buffer per folder)."""
    buffers, runs = {}, []

    def write(folder):
        path = str(tmp_path / f"run-{len(runs)}.arrow")
        runs.append({"folder": folder, "path": path, **buffers.pop(folder).write(path)})

    for row in rows:
        folder = folder_of(row)
        buffers.setdefault(folder, R.RunBuffer(schema)).add(row)
        if buffers[folder].nbytes >= R.RUN_BYTES:
            write(folder)
    for folder in list(buffers):
        write(folder)
    return runs


def write_all(runs, counts, schema, tmp_path, max_rows) -> dict:
    """``{(folder, index): (bytes, info)}`` of every shard, through split and merge."""
    pieces = {(f, i): [] for f, k in counts.items() for i in range(k)}
    for n, run in enumerate(runs):
        sorted_path = str(tmp_path / f"sorted-{n}.arrow")
        for index, first, end in R.split_run(run["path"], sorted_path, counts[run["folder"]]):
            pieces[(run["folder"], index)].append((sorted_path, first, end))
    out = {}
    for (folder, index), ps in pieces.items():
        buf = io.BytesIO()
        groups = R.merged_row_groups(sorted(ps), schema, str(tmp_path / f"merge-{folder}-{index}"), max_rows=max_rows)
        out[(folder, index)] = buf, S.write_parquet(groups, buf, schema)
    return out


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of ~100 KB, batches of 16 rows, merges of 2 pieces at a time: many runs,
    many batches per shard, and merge rounds, on a few thousand rows."""
    monkeypatch.setattr(R, "RUN_BYTES", 100_000)
    monkeypatch.setattr(R, "BUFFER_ROWS", 32)
    monkeypatch.setattr(R, "BATCH_ROWS", 16)
    monkeypatch.setattr(R, "MERGE_FAN_IN", 2)


@pytest.mark.parametrize(
    "output",
    [
        {"shard_tokens": 150_000, "validation_fraction": 0.2},
        {"num_shards": 7, "partition_by": "language", "validation_fraction": 0.1},
        {"num_shards": 300},  # about 1 in 25 gets no row: empty shards
    ],
)
def test_merged_shards_equal_parquet_bytes(output, small_runs, tmp_path):
    cfg = build(OutputConfig, output)
    schema = S.shard_schema("uint16")
    rows = kept_rows(900)
    runs = spill(rows, schema, lambda r: S.output_folder(r, cfg.validation_fraction, cfg.partition_by), tmp_path)
    assert len(runs) > 5 and sum(r["rows"] for r in runs) == len(rows)
    totals = {}
    for run in runs:
        t = totals.get(run["folder"], (0, 0))
        totals[run["folder"]] = (t[0] + run["tokens"], t[1] + run["payload_bytes"])
    counts = S.folder_counts(totals, cfg, write_rejected=False)
    written = write_all(runs, counts, schema, tmp_path, max_rows=50)
    # the reference: rows assigned as the in-memory writer assigned them
    empty = []
    for (folder, index), (buf, info) in written.items():
        split, value = folder
        mine = [
            r
            for r in rows
            if S.is_validation(r["copy_of"] or r["id"], cfg.validation_fraction) == (split == "validation")
            and (value is None or S.partition_value(r, cfg.partition_by) == value)
            and S.shard_of(r["id"], counts[folder]) == index
        ]
        if not mine:
            empty.append(buf)
        data = S.parquet_bytes(mine, schema, max_rows=50)
        assert buf.getvalue() == data, (folder, index)
        assert {"path": "p", **info} == S.shard_info("p", mine, data, max_rows=50)
    assert sum(info["rows"] for _, info in written.values()) == len(rows)
    assert sum(info["copies"] for _, info in written.values()) == sum(1 for r in rows if r["copy_of"]) > 0
    if cfg.validation_fraction:
        assert {f[0] for f in counts} == {"shards", "validation"}
    if cfg.partition_by:
        assert {f[1] for f in counts} == {"en", "de", "und"}
    if cfg.num_shards == 300:
        assert empty and pq.read_table(empty[0]).num_rows == 0


def test_rejected_rows_that_tie_on_id_sort_by_stage(small_runs, tmp_path):
    rows = rejected_rows(600)
    random.Random(1).shuffle(rows)  # ties land in different runs, in any order
    runs = spill(rows, S.REJECTED_SCHEMA, lambda r: S.REJECTED_FOLDER, tmp_path)
    counts = {S.REJECTED_FOLDER: 3}
    written = write_all(runs, counts, S.REJECTED_SCHEMA, tmp_path, max_rows=64)
    for (_, index), (buf, info) in written.items():
        mine = [r for r in rows if S.shard_of(r["id"], 3) == index]
        assert buf.getvalue() == S.parquet_bytes(mine, S.REJECTED_SCHEMA, max_rows=64)
        ids_stages = [(r["id"], r["stage"]) for r in pq.read_table(buf).to_pylist()]
        assert ids_stages == sorted(ids_stages) and len(set(ids_stages)) == len(ids_stages)
    assert sum(info["rows"] for _, info in written.values()) == len(rows)


def test_run_totals_are_what_the_shard_count_counts(tmp_path):
    rows = kept_rows(200)
    (run,) = spill(rows, S.shard_schema("uint16"), lambda r: ("shards", None), tmp_path)
    assert run["rows"] == len(rows)
    assert run["tokens"] == sum(r["num_tokens"] for r in rows)
    assert run["payload_bytes"] == sum(S.payload_bytes(r, ITEMSIZE) for r in rows)


def test_folder_counts():
    cfg = build(OutputConfig, {"shard_tokens": 100, "validation_fraction": 0.5})
    totals = {("shards", None): (250, 0)}
    assert S.folder_counts(totals, cfg, write_rejected=True) == {
        ("shards", None): 3,
        ("validation", None): 1,  # no held-out row: still one (empty) shard
        S.REJECTED_FOLDER: 3,  # rejected/ follows the training split's count
    }
    parts = build(OutputConfig, {"num_shards": 2, "partition_by": "language"})
    by_lang = {("shards", "de"): (5, 5), ("shards", "en"): (5, 5)}
    assert S.folder_counts(by_lang, parts, write_rejected=False) == {("shards", "de"): 2, ("shards", "en"): 2}


def test_run_budget_is_shared_by_the_spillers_of_a_process(monkeypatch):
    monkeypatch.setattr(R, "RUN_BYTES", 100)
    budget = R.RunBudget()
    assert not budget.report(1, 90)  # under the budget
    assert not budget.report(2, 20)  # over it together, but 2 holds less than the mean
    assert budget.report(1, 95)  # the largest writes
    assert not budget.report(1, 0)  # ... and holds nothing after
    assert not budget.report(2, 60)
    assert budget.report(3, 50) is False and budget.report(2, 61)  # 111 held, 2 above the mean
