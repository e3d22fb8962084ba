"""Shards written in bounded memory: sorted runs in a work folder, merged per shard.

A shard (:mod:`curate.shards`) holds the rows with ``shard_of(id, k) == index`` sorted by
id, and ``k`` follows from the totals of all rows, so a writer that holds rows until ``k``
is known and then groups them by shard holds the whole output in memory (what Beam's
local runner does with every PCollection crossing a GroupByKey or waiting for a side
input). Here rows never wait in memory; the classic external sort, in three steps:

1. :class:`RunBuffer`: rows of one output folder (``shards``, ``validation``, a
   partition of them, ``rejected``) are buffered as compact Arrow batches and written
   as an unsorted *run file* when the buffers of the process reach :data:`RUN_BYTES`
   (:class:`RunBudget`); only the run's
   path and totals (rows, tokens, payload bytes) travel on, and ``k`` is computed from
   the totals of all runs.
2. :func:`split_run`: each run, read back whole (it is bounded), is sorted by
   ``(shard, id, stage)`` and written as a *sorted run* whose record batches never
   span two shards; it yields ``(shard, batch range)`` pieces.
3. :func:`merged_row_groups`: a shard's pieces are merged (``heapq.merge`` over one
   batch per piece) and cut into the row groups of :func:`curate.shards.row_groups`,
   which :func:`curate.shards.write_parquet` streams out. More than
   :data:`MERGE_FAN_IN` pieces are first merged in rounds into intermediate sorted runs,
   so memory stays bounded whatever the number of runs.

The row order is the one of :func:`curate.shards.sort_rows` (Arrow compares strings by
their UTF-8 bytes, which orders them as Python compares code points) and the row groups
are the same, so a shard's bytes equal ``parquet_bytes`` of its rows (tests/test_shard_runs.py).
Run files are Arrow IPC (lz4-compressed buffers: cheap to write and read back, no
Python objects), read and written through :mod:`curate.io`, so the work folder may be on
``gs://``. The constants are not configuration: they bound memory per worker process
(about ``2 * RUN_BYTES`` while a run is sorted, ``MERGE_FAN_IN`` batches of
``BATCH_BYTES`` plus one row group while a shard is merged) and change no output byte.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
from operator import itemgetter
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from curate import io as cio
from curate.shards import ROW_GROUP_ROWS, ROW_GROUP_TOKENS, iter_row_groups, shard_of

# Arrow bytes of rows a buffer holds before it is written as a run: large enough that a
# run file is worth its open/close, small enough that sorting one is cheap (up to three
# copies: Table.take over several chunks concatenates them first).
# 16 -> 8 MB: the near-duplicate run's peak at 8N fell by ~14 MB (the end of the run,
# sorting runs), the same shard bytes (bench/bench_memory.py --minhash, docs/scale.md).
RUN_BYTES = 8 << 20
# RUN_BYTES is the budget of all the buffers of a process together (:class:`RunBudget`):
# the rows of every stage's drops are spilled where they are produced, one spiller each.
# Rows held as Python dicts before they join the buffer as one Arrow batch: a row's
# token ids take ~36 bytes each as Python ints, 2-4 in Arrow.
BUFFER_ROWS = 256
# Record batches of sorted runs: the unit a merge holds per piece.
BATCH_ROWS = 1024
BATCH_BYTES = 1 << 20
# Pieces merged at once; more are merged in rounds through intermediate runs.
MERGE_FAN_IN = 64
IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def sort_columns(schema: pa.Schema) -> list[str]:
    """The columns rows are sorted by, as :func:`curate.shards.sort_rows` does."""
    return ["id"] + (["stage"] if "stage" in schema.names else [])


def _row_bytes(batch) -> list[int]:
    """Each row's text and token-id bytes: what batches are cut by."""
    size = pc.binary_length(batch.column("text")).fill_null(0)
    if "tokens" in batch.schema.names:
        itemsize = batch.schema.field("tokens").type.value_type.byte_width
        size = pc.add(size, pc.multiply(pc.list_value_length(batch.column("tokens")).fill_null(0), itemsize))
    return size.to_pylist()


class RunBuffer:
    """Rows of one output folder waiting to be written as a run file, as Arrow batches
    of :data:`BUFFER_ROWS` rows; keeps the totals the shard count needs."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.pending: list[dict] = []
        self.batches: list[pa.RecordBatch] = []
        self.nbytes = 0

    def add(self, row: dict) -> None:
        self.pending.append(row)
        if len(self.pending) >= BUFFER_ROWS:
            self._seal()

    def _seal(self) -> None:
        if self.pending:
            batch = pa.RecordBatch.from_pylist(self.pending, schema=self.schema)
            self.batches.append(batch)
            self.nbytes += batch.nbytes
            self.pending = []

    def write(self, path: str) -> dict:
        """Write the buffered rows (unsorted) to ``path`` and empty the buffer; return the
        run's ``rows``, ``tokens`` and ``payload_bytes`` (text and token-id bytes, as
        :func:`curate.shards.payload_bytes` counts them)."""
        self._seal()
        totals = {"rows": 0, "tokens": 0, "payload_bytes": 0}
        with cio.open_write(path) as f, pa.ipc.new_stream(f, self.schema, options=IPC_OPTIONS) as writer:
            for batch in self.batches:
                writer.write_batch(batch)
                totals["rows"] += batch.num_rows
                totals["payload_bytes"] += sum(_row_bytes(batch))
                if "num_tokens" in self.schema.names:
                    totals["tokens"] += pc.sum(batch.column("num_tokens")).as_py() or 0
        self.batches, self.nbytes = [], 0
        return totals


class RunBudget:
    """The bytes held by all the spillers (each with its buffers) of one process, so that
    their sum stays near :data:`RUN_BYTES` however many there are (one per stage that
    drops documents, per thread). A spiller that reports its size learns whether to write
    a run now: when all together hold RUN_BYTES or more and it holds at least the mean of
    those holding anything, so the largest ones write and runs are not cut small by a
    spiller that happens to be busy. Together they hold at most about twice RUN_BYTES."""

    def __init__(self):
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()

    def report(self, spiller: int, nbytes: int) -> bool:
        with self._lock:
            if nbytes:
                self._held[spiller] = nbytes
            else:
                self._held.pop(spiller, None)
            total = sum(self._held.values())
            return total >= RUN_BYTES and nbytes * len(self._held) >= total


BUDGET = RunBudget()  # the process's


def _batch_cuts(sizes: list[int], start: int, stop: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` cut into ranges of at most BATCH_ROWS rows and, past the first
    row, BATCH_BYTES bytes."""
    begin, size = start, 0
    for i in range(start, stop):
        if i > begin and (i - begin == BATCH_ROWS or size + sizes[i] > BATCH_BYTES):
            yield begin, i
            begin, size = i, 0
        size += sizes[i]
    if stop > begin:
        yield begin, stop


def split_run(run_path: str, sorted_path: str, num_shards: int) -> list[tuple[int, int, int]]:
    """Sort the run at ``run_path`` by ``(shard_of(id, num_shards), id, stage)`` into the
    Arrow IPC file ``sorted_path``; return ``(shard, first batch, end batch)`` for each
    shard the run has rows of (batches never span two shards)."""
    with cio.open_read(run_path) as f:
        table = pa.ipc.open_stream(f).read_all()
    shards = pa.array([shard_of(i, num_shards) for i in table.column("id").to_pylist()], pa.int64())
    keys = [("_shard", "ascending")] + [(c, "ascending") for c in sort_columns(table.schema)]
    order = pc.sort_indices(table.append_column("_shard", shards), sort_keys=keys)
    table = table.take(order)  # over several chunks pyarrow concatenates them first: up to three copies of the run
    table = table.combine_chunks()
    shards = shards.take(order).to_pylist()
    sizes = _row_bytes(table)
    pieces, nbatches, start = [], 0, 0
    with cio.open_write(sorted_path) as f, pa.ipc.new_file(f, table.schema, options=IPC_OPTIONS) as writer:
        while start < len(shards):
            stop = start
            while stop < len(shards) and shards[stop] == shards[start]:
                stop += 1
            first = nbatches
            for a, b in _batch_cuts(sizes, start, stop):
                writer.write_table(table.slice(a, b - a))  # one chunk: one batch
                nbatches += 1
            pieces.append((shards[start], first, nbatches))
            start = stop
    return pieces


def _read_piece(stack: contextlib.ExitStack, piece) -> Iterator[pa.RecordBatch]:
    path, first, end = piece
    reader = pa.ipc.open_file(stack.enter_context(cio.open_read(path)))
    for i in range(first, end):
        yield reader.get_batch(i)


def _keyed_rows(batches: Iterable[pa.RecordBatch], columns: list[str]) -> Iterator[tuple]:
    """``(sort key, batch, row, tokens, bytes)`` for each row of sorted batches."""
    for batch in batches:
        keys = [batch.column(c).to_pylist() for c in columns]
        keys = list(zip(*keys)) if len(keys) > 1 else [(k, "") for k in keys[0]]
        names = batch.schema.names
        tokens = batch.column("num_tokens").to_pylist() if "num_tokens" in names else [0] * batch.num_rows
        sizes = _row_bytes(batch)
        for i in range(batch.num_rows):
            yield keys[i], batch, i, tokens[i], sizes[i]


def _gather(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """The rows (``_keyed_rows`` tuples) as one contiguous table, in their order."""
    batches, indices, total = [], [], 0
    offset_of: dict[int, int] = {}
    for _key, batch, i, _tokens, _size in rows:
        offset = offset_of.get(id(batch))
        if offset is None:
            offset = offset_of[id(batch)] = total
            batches.append(batch)
            total += batch.num_rows
        indices.append(offset + i)
    return pa.Table.from_batches(batches, schema=schema).take(indices).combine_chunks()


def _merged(stack: contextlib.ExitStack, pieces: list, schema: pa.Schema) -> Iterator[tuple]:
    columns = sort_columns(schema)
    streams = [_keyed_rows(_read_piece(stack, p), columns) for p in pieces]
    return heapq.merge(*streams, key=itemgetter(0))


def _merge_rounds(pieces: list, schema: pa.Schema, work_prefix: str) -> list:
    """Merge pieces MERGE_FAN_IN at a time into intermediate sorted runs
    ``{work_prefix}-{round}-{n}.arrow`` until at most MERGE_FAN_IN are left."""
    level = 0
    while len(pieces) > MERGE_FAN_IN:
        merged = []
        for n in range(0, len(pieces), MERGE_FAN_IN):
            path = f"{work_prefix}-{level}-{n // MERGE_FAN_IN}.arrow"
            nbatches = 0
            with contextlib.ExitStack() as stack:
                rows = _merged(stack, pieces[n : n + MERGE_FAN_IN], schema)
                with cio.open_write(path) as f, pa.ipc.new_file(f, schema, options=IPC_OPTIONS) as writer:
                    for group in iter_row_groups(rows, BATCH_ROWS, BATCH_BYTES, num_tokens=itemgetter(4)):
                        writer.write_table(_gather(group, schema))
                        nbatches += 1
            merged.append((path, 0, nbatches))
        pieces, level = merged, level + 1
    return pieces


def merged_row_groups(
    pieces: list,
    schema: pa.Schema,
    work_prefix: str,
    max_rows: int = ROW_GROUP_ROWS,
    max_tokens: int = ROW_GROUP_TOKENS,
) -> Iterator[pa.Table]:
    """The rows of sorted-run ``pieces`` (``(path, first batch, end batch)``, each sorted
    as :func:`curate.shards.sort_rows` sorts) merged, as the row groups of
    :func:`curate.shards.row_groups`: what ``parquet_bytes`` of all their rows writes.
    Equal keys keep the order of ``pieces``. Intermediate files go to ``work_prefix-*``."""
    pieces = _merge_rounds(list(pieces), schema, work_prefix)
    with contextlib.ExitStack() as stack:
        rows = _merged(stack, pieces, schema)
        for group in iter_row_groups(rows, max_rows, max_tokens, num_tokens=itemgetter(3)):
            yield _gather(group, schema)
