"""Reading the shards for training: packed fixed-length sequences, split by rank,
resumable.

    reader = PackedSequences("out/web", seq_len=2048, rank=r, world_size=w)
    for seq in reader:          # numpy uint32 arrays of length seq_len
        ...
        ckpt = reader.state_dict()
    # later, in a new process:
    reader = PackedSequences("out/web", seq_len=2048, rank=r, world_size=w, state=ckpt)

Rank ``r`` of ``w`` reads the shards whose index is ``r`` mod ``w`` (so every rank should
get at least one shard: choose ``output.num_shards`` as a multiple of the world size).
Documents are concatenated in shard order, each already ending in EOS when the
tokenizer adds one; a document longer than ``seq_len`` continues in the next sequence.
The state is the position (shard, row group, row, token) plus the partial sequence, so
a resumed reader yields exactly the sequences the interrupted one would have.
"""

from __future__ import annotations

import io
import json
from typing import Iterator, Optional

import numpy as np
import pyarrow.parquet as pq

from curate import io as cio


class PackedSequences:
    def __init__(
        self,
        out_dir: str,
        seq_len: int,
        rank: int = 0,
        world_size: int = 1,
        state: Optional[dict] = None,
    ):
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}")
        manifest = json.loads(cio.read_bytes(cio.join(out_dir, "manifest.json")))
        self.out_dir = out_dir
        self.seq_len = seq_len
        self.shards = [s["path"] for i, s in enumerate(manifest["shards"]) if i % world_size == rank]
        self._key = {"rank": rank, "world_size": world_size, "seq_len": seq_len, "shards": self.shards}
        self._pos = {"shard": 0, "row_group": 0, "row": 0, "token": 0}
        self._buffer: list[int] = []
        if state is not None:
            if state.get("key") != self._key:
                raise ValueError("state was saved for another rank, world size, seq_len or output")
            self._pos = dict(state["position"])
            self._buffer = list(state["buffer"])

    def state_dict(self) -> dict:
        """A JSON-serialisable checkpoint of where the next sequence starts."""
        return {"key": self._key, "position": dict(self._pos), "buffer": list(self._buffer)}

    def __iter__(self) -> Iterator[np.ndarray]:
        n = self.seq_len
        while self._pos["shard"] < len(self.shards):
            path = cio.join(self.out_dir, self.shards[self._pos["shard"]])
            pf = pq.ParquetFile(path if not cio.is_remote(path) else io.BytesIO(cio.read_bytes(path)))
            while self._pos["row_group"] < pf.num_row_groups:
                tokens = pf.read_row_group(self._pos["row_group"], columns=["tokens"]).column("tokens").to_pylist()
                while self._pos["row"] < len(tokens):
                    doc = tokens[self._pos["row"]]
                    while self._pos["token"] < len(doc):
                        take = min(n - len(self._buffer), len(doc) - self._pos["token"])
                        self._buffer.extend(doc[self._pos["token"] : self._pos["token"] + take])
                        self._pos["token"] += take
                        if len(self._buffer) == n:
                            seq = np.asarray(self._buffer, dtype=np.uint32)
                            self._buffer = []
                            yield seq
                    self._pos["row"] += 1
                    self._pos["token"] = 0
                self._pos["row_group"] += 1
                self._pos["row"] = 0
            self._pos["shard"] += 1
            self._pos["row_group"] = 0
        # The final partial sequence is not yielded: fixed-length batches only.
