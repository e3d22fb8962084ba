import json
import os

import numpy as np
import pytest

from curate import shards as S
from curate.document import Document
from curate.loader import PackedSequences


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    """An output directory with 4 shards of documents whose tokens encode (doc, position)."""
    out = tmp_path_factory.mktemp("out")
    os.makedirs(out / "shards")
    rows = {i: [] for i in range(4)}
    for d in range(60):
        length = 3 + (d * 7) % 23
        tokens = [d * 1000 + t for t in range(length)]
        rows[S.shard_of(f"doc{d:03d}", 4)].append(S.doc_row(Document(f"doc{d:03d}", "x", "web"), tokens))
    shards = []
    for i in range(4):
        name = f"shards/{S.shard_name('part', i, 4)}"
        (out / name).write_bytes(S.parquet_bytes(rows[i], S.SHARD_SCHEMA))
        shards.append({"path": name, "rows": len(rows[i])})
    (out / "manifest.json").write_text(json.dumps({"shards": shards}))
    return str(out)


def all_tokens(out_dir, shard_paths):
    import pyarrow.parquet as pq

    toks = []
    for p in shard_paths:
        for row in pq.read_table(os.path.join(out_dir, p)).column("tokens").to_pylist():
            toks.extend(row)
    return toks


def test_sequences_are_the_concatenated_tokens_cut_to_length(out_dir):
    reader = PackedSequences(out_dir, seq_len=16)
    seqs = list(reader)
    flat = all_tokens(out_dir, reader.shards)
    assert all(s.dtype == np.uint32 and len(s) == 16 for s in seqs)
    assert len(seqs) == len(flat) // 16
    assert np.concatenate(seqs).tolist() == flat[: len(seqs) * 16]


def test_ranks_split_the_shards_disjointly_and_completely(out_dir):
    parts = [PackedSequences(out_dir, 8, rank=r, world_size=2).shards for r in range(2)]
    assert sorted(parts[0] + parts[1]) == sorted(PackedSequences(out_dir, 8).shards)
    assert not set(parts[0]) & set(parts[1])


def test_resume_continues_exactly_where_it_stopped(out_dir):
    full = [s.tolist() for s in PackedSequences(out_dir, 10, rank=1, world_size=2)]
    reader = PackedSequences(out_dir, 10, rank=1, world_size=2)
    it = iter(reader)
    first = [next(it).tolist() for _ in range(7)]
    state = json.loads(json.dumps(reader.state_dict()))  # survives a JSON checkpoint
    rest = [s.tolist() for s in PackedSequences(out_dir, 10, rank=1, world_size=2, state=state)]
    assert first + rest == full


def test_state_from_another_configuration_is_refused(out_dir):
    state = PackedSequences(out_dir, 10, rank=0, world_size=2).state_dict()
    with pytest.raises(ValueError, match="another rank"):
        PackedSequences(out_dir, 10, rank=1, world_size=2, state=state)
    with pytest.raises(ValueError, match="rank must be"):
        PackedSequences(out_dir, 10, rank=2, world_size=2)
