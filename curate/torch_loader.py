"""PyTorch wrapper of :mod:`curate.loader` (``pip install -e '.[torch]'``).

    dataset = PackedDataset("out/web", seq_len=2048, seed=0)   # rank/world from torch.distributed
    loader = ResumableDataLoader(dataset, batch_size=8, num_workers=2)
    loader.load_state_dict(ckpt["data"])                      # when resuming
    for batch in loader:                                       # one epoch
        batch["tokens"]                                        # int64 (batch, seq_len)
        batch["segment_ids"]                                   # int32, -1 = padding
        ckpt = {"data": loader.state_dict(), ...}

Each data-loader worker reads its own slot of the split (``get_worker_info()``), so ranks
x workers cover the data once. A DataLoader's workers run ahead of the training loop, so
the dataset alone cannot know what was consumed: every sample carries its ``worker`` and
``position`` (sequences that worker had yielded), and :class:`ResumableDataLoader` takes
them off each batch and keeps the per-worker positions that make its ``state_dict()``.
Resuming needs the same ``num_workers``, ranks, seq_len and seed (the state says which);
with the same ``batch_size`` it gives the very batches the interrupted run would have.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from curate.loader import PackedSequences, check_state_key


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class PackedDataset(IterableDataset):
    """An ``IterableDataset`` of packed sequences; ``options`` go to :class:`PackedSequences`
    (seed, shuffle, shuffle_buffer, remainder, pad_id, split)."""

    def __init__(
        self, out_dir: str, seq_len: int, rank: Optional[int] = None, world_size: Optional[int] = None, **options
    ):
        super().__init__()
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither (then torch.distributed's)")
        if rank is None or world_size is None:  # both (checked above)
            rank, world_size = _distributed()
        self.out_dir, self.seq_len = out_dir, seq_len
        self.rank, self.world_size = rank, world_size
        self.options = options
        self.epoch = 0
        self.positions: dict[int, int] = {}  # slot (worker) -> sequences consumed this epoch
        self.rotation = 0  # DataLoader worker i reads slot (i + rotation) % num_workers

    def reader(self, worker: int, num_workers: int) -> PackedSequences:
        r = PackedSequences(self.out_dir, self.seq_len, self.rank, self.world_size, worker, num_workers, **self.options)
        r.epoch, r.position = self.epoch, self.positions.get(worker, 0)
        return r

    def __iter__(self):
        info = get_worker_info()
        worker, num_workers = (0, 1) if info is None else (info.id, info.num_workers)
        worker = (worker + self.rotation) % num_workers
        reader = self.reader(worker, num_workers)
        for item in reader:
            yield {
                "tokens": torch.from_numpy(item["tokens"].astype(np.int64)),
                "segment_ids": torch.from_numpy(item["segment_ids"]),
                "worker": worker,
                "position": reader.position,
            }


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` over a :class:`PackedDataset` that records what the training loop
    consumed; iterating it runs the rest of the current epoch, then moves to the next."""

    def __init__(self, dataset: PackedDataset, **kwargs):
        if kwargs.get("persistent_workers"):
            # Persistent workers keep their copy of the dataset: epoch and positions set
            # here would not reach them.
            raise ValueError("ResumableDataLoader does not support persistent_workers=True")
        super().__init__(dataset, **kwargs)
        self.slots = max(self.num_workers, 1)
        self._batches = 0  # batches consumed this epoch
        # Built here too, so a rank that would get nothing fails before any worker starts.
        self._key = dataset.reader(0, self.slots).state_dict()["key"]
        self._key.pop("worker")

    @property
    def epoch(self) -> int:
        return self.dataset.epoch

    @property
    def sequences_per_epoch(self) -> int:
        """Sequences this rank yields per epoch (all workers), the same on every rank."""
        return len(self.dataset.reader(0, self.slots)) * self.slots

    def __iter__(self):
        ds = self.dataset
        # The DataLoader asks its workers for batches in turn, starting with worker 0, and
        # every slot has as many batches: the next batch is slot (batches % slots)'s, so a
        # resumed loader starts there and gives the very batches the interrupted one would.
        ds.rotation = self._batches % self.slots
        for batch in super().__iter__():
            workers = torch.as_tensor(batch.pop("worker")).reshape(-1).tolist()
            positions = torch.as_tensor(batch.pop("position")).reshape(-1).tolist()
            for w, p in zip(workers, positions):
                ds.positions[w] = max(ds.positions.get(w, 0), p)
            self._batches += 1
            yield batch
        ds.epoch, ds.positions, self._batches = ds.epoch + 1, {}, 0

    def state_dict(self) -> dict:
        ds = self.dataset
        return {
            "key": dict(self._key),
            "epoch": ds.epoch,
            "positions": [ds.positions.get(w, 0) for w in range(self.slots)],
            "batches": self._batches,
        }

    def load_state_dict(self, state: dict) -> None:
        check_state_key(state, self._key)
        self.dataset.epoch = int(state["epoch"])
        self.dataset.positions = {w: int(p) for w, p in enumerate(state["positions"])}
        self._batches = int(state["batches"])
