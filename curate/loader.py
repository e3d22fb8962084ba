"""Reading an output's shards for training: packed fixed-length sequences, split over
ranks and data-loader workers without overlap or gap, shuffled by seed, resumable exactly.

    reader = PackedSequences("out/web", seq_len=2048, rank=r, world_size=w, seed=0)
    for item in reader:         # one epoch; iterate again for the next one
        item["tokens"]          # numpy array of seq_len token ids (the shards' dtype)
        item["segment_ids"]     # int32: 0, 1, ... per document inside the sequence, -1 = padding
        ckpt = reader.state_dict()
    # later, in a new process:
    reader = PackedSequences("out/web", seq_len=2048, rank=r, world_size=w, seed=0)
    reader.load_state_dict(ckpt)

How the work is split (a deterministic rule, the same on every rank):

- The work units are the shards' row groups. Each epoch they are put in an order: a
  seeded permutation (``shuffle=True``) or manifest order. Their documents, in that order,
  form one token stream of ``T`` tokens.
- The stream is cut into ``world_size * num_workers`` slots of ``L = K * seq_len``
  tokens (with ``drop``), slot ``rank * num_workers + worker`` going to that rank's worker. So any world
  size works with any shard count, every rank and worker yields exactly ``K`` sequences
  per epoch, and no token is read by two slots. A document straddling a slot boundary is
  cut there (its two parts go to two slots). A row group at a boundary is read by both
  slots, each using its own part.
- ``remainder="drop"`` (default): ``K = T // (slots * seq_len)``; the last
  ``T - slots * L`` tokens of the epoch's stream (fewer than ``slots * seq_len``) are not
  read this epoch; with shuffling a different tail is dropped each epoch.
  ``remainder="pad"``: every token is read: slot ``s`` gets tokens ``[s*T//slots,
  (s+1)*T//slots)`` and ``K = ceil(ceil(T / slots) / seq_len)``; each slot fills its last
  sequence (rarely two) with ``pad_id`` tokens whose ``segment_ids`` are -1.
- A rank that would get nothing (no sequence with ``drop``, no real token with ``pad``) is
  an error raised on every rank at construction, not a silent empty rank.
- Documents are shuffled within a bounded buffer: inside each slot's part of a row group,
  in windows of ``shuffle_buffer`` documents, by a seeded permutation per epoch. Row groups
  hold documents in id order, and ids are hashes, so a row group is already a random
  sample of its shard; the window shuffle changes the order from epoch to epoch.
- Permutations come from splitmix64 keys of (seed, epoch, unit, ...) sorted with numpy,
  not from a NumPy ``Generator`` stream, so they cannot change with the NumPy version.

Documents are concatenated (each ends in EOS when the tokenizer adds one) and cut into
sequences of ``seq_len``; a document longer than that continues in the next sequence.

Resuming: the state is (epoch, sequences yielded this epoch) plus a key naming the
split (seq_len, ranks, workers, seed, shuffle settings and the shards). Because the
emitted stream is a pure function of that key and the epoch, a resumed reader finds the
row group holding its next sequence from the unit token counts alone and yields exactly
what the interrupted one would have, shuffled or not.

Row group sizes and token counts come from the manifest (``row_groups`` of each shard)
when it has them, otherwise from the Parquet footers and ``num_tokens`` columns. Shards
are opened as files (``gs://`` through Beam's FileSystems) and read one row group at a
time, so a remote shard is streamed, not loaded whole.

Under PyTorch, ``curate.torch_loader`` wraps this in an ``IterableDataset``; when
``worker``/``num_workers`` are not given and PyTorch is already imported, they come from
``torch.utils.data.get_worker_info()``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import json
import sys
from typing import Iterator, Optional

import numpy as np
import pyarrow.parquet as pq

from curate import io as cio

# Manifest key of each split's shard list.
SPLITS = {"train": "shards", "validation": "validation_shards"}
REMAINDER = ("drop", "pad")


@dataclasses.dataclass(frozen=True)
class Unit:
    """One work unit: a row group of a shard."""

    path: str  # shard path relative to the output directory
    row_group: int
    rows: int
    tokens: int


def read_manifest(out_dir: str) -> dict:
    return json.loads(cio.read_bytes(cio.join(out_dir, "manifest.json")))


def shard_entries(manifest: dict, split: str) -> list[dict]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return list(manifest.get(SPLITS[split]) or [])


def work_units(out_dir: str, entries: list[dict]) -> list[Unit]:
    """Row groups of the shards, in manifest order, with their row and token counts."""
    units: list[Unit] = []
    for e in entries:
        groups = e.get("row_groups")
        if groups is None:  # an older manifest: read the footers and num_tokens columns
            with cio.open_read(cio.join(out_dir, e["path"])) as f:
                pf = pq.ParquetFile(f)
                groups = [[pf.metadata.row_group(i).num_rows, _sum_num_tokens(pf, i)] for i in range(pf.num_row_groups)]
        units.extend(Unit(e["path"], i, int(rows), int(tokens)) for i, (rows, tokens) in enumerate(groups))
    return units


def _sum_num_tokens(pf: pq.ParquetFile, row_group: int) -> int:
    col = pf.read_row_group(row_group, columns=["num_tokens"]).column(0)
    return int(np.asarray(col.to_numpy(), dtype=np.int64).sum())


# --------------------------------------------------------------------------- permutations


_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + _GOLD
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def permutation_keys(n: int, *key: int) -> np.ndarray:
    """``n`` pseudo-random uint64 keys determined by ``key`` alone (any platform, any NumPy)."""
    base = int.from_bytes(hashlib.blake2b(repr(tuple(int(k) for k in key)).encode(), digest_size=8).digest(), "little")
    with np.errstate(over="ignore"):
        return _splitmix64(np.arange(n, dtype=np.uint64) ^ np.uint64(base))


def permutation(n: int, *key: int) -> np.ndarray:
    """A seeded permutation of ``range(n)``."""
    return np.argsort(permutation_keys(n, *key), kind="stable")


def window_permutation(n: int, window: int, *key: int) -> np.ndarray:
    """A permutation of ``range(n)`` that only moves items inside consecutive windows of ``window``."""
    return np.lexsort((permutation_keys(n, *key), np.arange(n) // window))


# --------------------------------------------------------------------------- the split


@dataclasses.dataclass(frozen=True)
class SlotSpan:
    """Which tokens of an epoch's stream one (rank, worker) slot reads."""

    sequences: int  # K, the same for every slot
    start: int  # first token of the slot in the epoch stream
    stop: int  # end of the slot's real tokens (< start + K * seq_len only with padding)


def slot_span(
    total_tokens: int, seq_len: int, rank: int, world_size: int, worker: int, num_workers: int, remainder: str
) -> SlotSpan:
    slots = world_size * num_workers
    slot = rank * num_workers + worker
    if remainder == "drop":
        k = total_tokens // (slots * seq_len)
        bounds = [s * k * seq_len for s in range(slots + 1)]
    else:  # every slot gets T / slots real tokens (+-1) and pads its last sequence
        k = -(-(-(-total_tokens // slots)) // seq_len)
        bounds = [s * total_tokens // slots for s in range(slots + 1)]
    empty = [r for r in range(world_size) if bounds[(r + 1) * num_workers] == bounds[r * num_workers]]
    if k == 0 or empty:
        r = empty[0] if empty else 0
        raise ValueError(
            f"rank {r} of world_size {world_size} would get no data: the split has "
            f"{total_tokens:,} tokens for {slots} slots (ranks x workers) of seq_len {seq_len} "
            f"(remainder={remainder!r}); use fewer ranks or workers, a shorter seq_len, or more data"
        )
    return SlotSpan(k, bounds[slot], bounds[slot + 1])


def check_state_key(state: dict, key: dict) -> None:
    """A checkpoint only resumes the split it was saved for."""
    saved = state.get("key") or {}
    if saved != key:
        diff = sorted(k for k in set(key) | set(saved) if saved.get(k) != key.get(k))
        raise ValueError(f"state was saved for another split of the data (differs in: {', '.join(diff)})")


def _torch_worker() -> tuple[int, int]:
    torch = sys.modules.get("torch")
    info = torch.utils.data.get_worker_info() if torch is not None else None
    return (0, 1) if info is None else (info.id, info.num_workers)


# --------------------------------------------------------------------------- reading


class _ShardFiles:
    """A few open shards (each row group is read on its own, so remote files stream),
    and every footer read so far (shuffled row groups come from any shard in turn)."""

    def __init__(self, out_dir: str, keep: int = 8):
        self.out_dir = out_dir
        self.keep = keep
        self._open: collections.OrderedDict = collections.OrderedDict()
        self._footers: dict = {}

    def get(self, path: str) -> pq.ParquetFile:
        if path in self._open:
            self._open.move_to_end(path)
            return self._open[path][1]
        full = cio.join(self.out_dir, path)
        # Local files by name: Arrow's own reader is ~3x faster than through a Python file.
        f = cio.open_read(full) if cio.is_remote(full) else None
        pf = pq.ParquetFile(full if f is None else f, metadata=self._footers.get(path))
        self._footers[path] = pf.metadata
        self._open[path] = (f, pf)
        while len(self._open) > self.keep:
            _, (old, old_pf) = self._open.popitem(last=False)
            (old or old_pf).close()
        return pf

    def close(self) -> None:
        for f, pf in self._open.values():
            (f or pf).close()
        self._open.clear()


def read_unit_tokens(files: _ShardFiles, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """The row group's token ids, flat, and the documents' offsets into them."""
    col = files.get(unit.path).read_row_group(unit.row_group, columns=["tokens"]).column(0)
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    offsets = arr.offsets.to_numpy()
    values = arr.values.to_numpy()[offsets[0] : offsets[-1]]
    return values, offsets - offsets[0]


class PackedSequences:
    """Packed ``seq_len`` sequences for one (rank, worker) slot; see the module docstring."""

    def __init__(
        self,
        out_dir: str,
        seq_len: int,
        rank: int = 0,
        world_size: int = 1,
        worker: Optional[int] = None,
        num_workers: Optional[int] = None,
        seed: int = 0,
        shuffle: bool = True,
        shuffle_buffer: int = 4096,
        remainder: str = "drop",
        pad_id: int = 0,
        split: str = "train",
        state: Optional[dict] = None,
    ):
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}")
        if (worker is None) != (num_workers is None):
            raise ValueError("give both worker and num_workers, or neither")
        if worker is None or num_workers is None:  # both (checked above)
            worker, num_workers = _torch_worker()
        if not 0 <= worker < num_workers:
            raise ValueError(f"worker must be in [0, num_workers), got worker={worker}, num_workers={num_workers}")
        if remainder not in REMAINDER:
            raise ValueError(f"remainder must be one of {', '.join(REMAINDER)}, got {remainder!r}")
        if shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer}")
        manifest = read_manifest(out_dir)
        entries = shard_entries(manifest, split)
        self.token_dtype = np.dtype(manifest.get("token_dtype", "uint32"))
        self.out_dir = out_dir
        self.seq_len = seq_len
        self.rank, self.world_size = rank, world_size
        self.worker, self.num_workers = worker, num_workers
        self.seed, self.shuffle, self.shuffle_buffer = seed, shuffle, shuffle_buffer
        self.remainder, self.pad_id = remainder, pad_id
        self.units = work_units(out_dir, entries)
        self.total_tokens = sum(u.tokens for u in self.units)
        self.span = slot_span(self.total_tokens, seq_len, rank, world_size, worker, num_workers, remainder)
        shards_digest = hashlib.sha256(
            json.dumps([[e["path"], e.get("rows"), e.get("tokens"), e.get("sha256")] for e in entries]).encode()
        ).hexdigest()
        self._key = {
            "seq_len": seq_len,
            "rank": rank,
            "world_size": world_size,
            "worker": worker,
            "num_workers": num_workers,
            "seed": seed,
            "shuffle": shuffle,
            "shuffle_buffer": shuffle_buffer,
            "remainder": remainder,
            "split": split,
            "shards": shards_digest,
        }
        self.epoch = 0
        self.position = 0  # sequences yielded in this epoch
        if state is not None:
            self.load_state_dict(state)

    # -- state

    def __len__(self) -> int:
        """Sequences this slot yields per epoch (the same for every rank and worker)."""
        return self.span.sequences

    def state_dict(self) -> dict:
        """A JSON-serialisable checkpoint: the next sequence is ``position`` of ``epoch``."""
        return {"key": dict(self._key), "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        check_state_key(state, self._key)
        if not 0 <= state["position"] <= self.span.sequences:
            raise ValueError(
                f"state position {state['position']} is outside the epoch's {self.span.sequences} sequences"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its first sequence."""
        self.epoch, self.position = epoch, 0

    # -- iteration

    def __iter__(self) -> Iterator[dict]:
        """The rest of the current epoch; at its end the reader moves to the next epoch."""
        for item in self._epoch_items(self.epoch, self.position):
            self.position += 1
            yield item
        self.epoch, self.position = self.epoch + 1, 0

    def epoch_units(self, epoch: int) -> list[int]:
        """Indices into ``units`` in this epoch's order."""
        n = len(self.units)
        return permutation(n, self.seed, epoch).tolist() if self.shuffle else list(range(n))

    def _parts(self, epoch: int, begin: int) -> Iterator[tuple[int, int, int, int]]:
        """(unit index, first token, end token, token offset to skip) of the slot's parts of
        the row groups, from the one holding stream token ``begin`` on."""
        pos = 0
        for ui in self.epoch_units(epoch):
            u_start, u_stop = pos, pos + self.units[ui].tokens
            pos = u_stop
            lo, hi = max(u_start, self.span.start), min(u_stop, self.span.stop)
            if hi <= max(lo, begin):
                if u_start >= self.span.stop:
                    return
                continue
            yield ui, lo - u_start, hi - u_start, max(begin - lo, 0)

    def _chunks(self, epoch: int, begin: int, files: _ShardFiles) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The slot's emitted token stream from stream token ``begin``, as (tokens, document
        ordinal of each token) chunks, one per row-group part, documents shuffled in windows.
        The next part is read and prepared in a thread while this one is packed (Arrow and
        NumPy release the GIL while they decompress and copy)."""
        parts = list(self._parts(epoch, begin))
        if not parts:
            return
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(self._prepare, files, epoch, parts[0])
            for i in range(len(parts)):
                chunk = ahead.result()
                if i + 1 < len(parts):
                    ahead = pool.submit(self._prepare, files, epoch, parts[i + 1])
                yield chunk

    def _prepare(
        self, files: _ShardFiles, epoch: int, part: tuple[int, int, int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        ui, lo, hi, skip = part
        values, offsets = read_unit_tokens(files, self.units[ui])
        # Documents of the part [lo, hi): offsets clipped to it.
        first = int(np.searchsorted(offsets, lo, side="right")) - 1
        last = int(np.searchsorted(offsets, hi, side="left"))
        bounds = np.clip(offsets[first : last + 1], lo, hi)
        starts, lens = bounds[:-1], np.diff(bounds)
        if self.shuffle and len(lens) > 1:
            order = window_permutation(len(lens), self.shuffle_buffer, self.seed, epoch, ui, lo)
            starts, lens = starts[order], lens[order]
            tokens = np.concatenate([values[s : s + n] for s, n in zip(starts.tolist(), lens.tolist())])
        else:
            tokens = values[lo:hi]
        docs = np.repeat(np.arange(len(lens), dtype=np.int32), lens)
        return tokens[skip:], docs[skip:]

    def _epoch_items(self, epoch: int, position: int) -> Iterator[dict]:
        n, k = self.seq_len, self.span.sequences
        if position >= k:
            return
        begin = self.span.start + position * n
        files = _ShardFiles(self.out_dir)
        pending: list[tuple[np.ndarray, np.ndarray]] = []  # pieces of a sequence being assembled
        pending_len = 0
        emitted = position
        try:
            for tokens, docs in self._chunks(epoch, begin, files):
                pos, size = 0, len(tokens)
                if pending_len:  # a sequence spanning row-group parts
                    take = min(n - pending_len, size)
                    pending.append((tokens[:take], docs[:take]))
                    pending_len += take
                    pos = take
                    if pending_len == n:
                        yield _joined(pending, n, self.pad_id)
                        emitted += 1
                        pending, pending_len = [], 0
                # Whole sequences inside this chunk, their segment ids in one operation.
                m = (size - pos) // n
                if m:
                    toks = tokens[pos : pos + m * n].reshape(m, n)
                    block = docs[pos : pos + m * n].reshape(m, n)
                    segs = block - block[:, :1]
                    for i in range(m):
                        yield {"tokens": toks[i], "segment_ids": segs[i]}
                    emitted += m
                    pos += m * n
                if pos < size:
                    pending.append((tokens[pos:], docs[pos:]))
                    pending_len += size - pos
        finally:
            files.close()
        # Only with remainder="pad": the slot's last real tokens, then padding, up to K.
        while emitted < k:
            yield _joined(pending, n, self.pad_id, self.token_dtype)
            emitted += 1
            pending = []


def _joined(pieces: list[tuple[np.ndarray, np.ndarray]], n: int, pad_id: int, dtype=None) -> dict:
    """One sequence from pieces of consecutive row-group parts (different documents),
    padded to ``n`` with ``pad_id`` (segment -1)."""
    tokens = np.full(n, pad_id, dtype=dtype or pieces[0][0].dtype)
    seg = np.full(n, -1, dtype=np.int32)
    at, next_seg = 0, 0
    for toks, docs in pieces:
        tokens[at : at + len(toks)] = toks
        seg[at : at + len(toks)] = docs - docs[0] + next_seg
        at += len(toks)
        next_seg = int(seg[at - 1]) + 1
    return {"tokens": tokens, "segment_ids": seg}


def epoch_summary(reader: PackedSequences) -> dict:
    """What one epoch of this split reads, the same for every slot (for logs)."""
    slots = reader.world_size * reader.num_workers
    read = min(reader.total_tokens, slots * reader.span.sequences * reader.seq_len)
    return {
        "total_tokens": reader.total_tokens,
        "slots": slots,
        "sequences_per_slot": reader.span.sequences,
        "tokens_dropped_per_epoch": reader.total_tokens - read,
        "pad_tokens_per_epoch": slots * reader.span.sequences * reader.seq_len - read,
    }
