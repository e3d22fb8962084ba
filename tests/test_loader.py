import itertools
import json
import os

import numpy as np
import pytest

from curate import shards as S
from curate.document import Document
from curate.loader import PackedSequences, epoch_summary, permutation, window_permutation

NUM_DOCS = 200


def doc_tokens(d: int) -> list[int]:
    """Token ids that say which document and position they are: d * 1000 + t."""
    return [d * 1000 + t for t in range(3 + (d * 7) % 23)]


def write_output(out, with_row_groups: bool):
    """An output directory with 4 shards of several row groups (16 rows each)."""
    os.makedirs(out / "shards")
    rows = {i: [] for i in range(4)}
    for d in range(NUM_DOCS):
        doc_id = f"doc{d:03d}"
        rows[S.shard_of(doc_id, 4)].append(S.doc_row(Document(doc_id, "x", "web"), doc_tokens(d)))
    shards = []
    for i in range(4):
        name = f"shards/{S.shard_name('part', i, 4)}"
        data = S.parquet_bytes(rows[i], S.shard_schema("uint32"), max_rows=16)
        (out / name).write_bytes(data)
        entry = S.shard_info(name, rows[i], data, max_rows=16)
        if not with_row_groups:  # as an older manifest
            del entry["row_groups"]
        shards.append(entry)
    (out / "manifest.json").write_text(json.dumps({"shards": shards}))
    return str(out)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return write_output(tmp_path_factory.mktemp("out"), with_row_groups=True)


def all_tokens(out_dir):
    import pyarrow.parquet as pq

    manifest = json.loads(open(os.path.join(out_dir, "manifest.json")).read())
    toks = []
    for s in manifest["shards"]:
        for row in pq.read_table(os.path.join(out_dir, s["path"])).column("tokens").to_pylist():
            toks.extend(row)
    return toks


def real_tokens(items) -> list[int]:
    return [int(t) for it in items for t, s in zip(it["tokens"], it["segment_ids"]) if s >= 0]


def check_segments(item):
    """Segment ids change exactly where the document (token // 1000) changes."""
    docs = item["tokens"].astype(np.int64) // 1000
    seg = item["segment_ids"]
    real = seg >= 0
    changes = np.flatnonzero(np.diff(docs[real]) != 0) + 1
    assert (np.flatnonzero(np.diff(seg[real]) != 0) + 1).tolist() == changes.tolist()
    assert seg[0] == 0 and np.all(np.diff(seg[real]) >= 0)


def test_unshuffled_sequences_are_the_concatenated_tokens_cut_to_length(out_dir):
    reader = PackedSequences(out_dir, seq_len=16, shuffle=False)
    items = list(reader)
    flat = all_tokens(out_dir)
    assert len(items) == len(reader) == len(flat) // 16
    assert all(it["tokens"].dtype == np.uint32 and len(it["tokens"]) == 16 for it in items)
    assert np.concatenate([it["tokens"] for it in items]).tolist() == flat[: len(items) * 16]
    for it in items:
        check_segments(it)


def test_manifest_without_row_groups_reads_them_from_the_footers(out_dir, tmp_path):
    old = write_output(tmp_path, with_row_groups=False)
    a = PackedSequences(old, seq_len=16, seed=3)
    b = PackedSequences(out_dir, seq_len=16, seed=3)
    assert a.units == b.units and len(a.units) > 4
    assert [it["tokens"].tolist() for it in a] == [it["tokens"].tolist() for it in b]


@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
@pytest.mark.parametrize("num_workers", [1, 2])
@pytest.mark.parametrize("remainder", ["drop", "pad"])
def test_ranks_and_workers_cover_every_token_once_with_equal_counts(out_dir, world_size, num_workers, remainder):
    flat = all_tokens(out_dir)
    seq_len = 24
    counts, seen = [], []
    for rank, worker in itertools.product(range(world_size), range(num_workers)):
        reader = PackedSequences(out_dir, seq_len, rank, world_size, worker, num_workers, seed=7, remainder=remainder)
        items = list(reader)
        counts.append(len(items))
        for it in items:
            assert len(it["tokens"]) == seq_len
            check_segments(it)
        seen.extend(real_tokens(items))
    assert len(set(counts)) == 1 and counts[0] >= 1  # equal counts: no rank waits at a collective
    assert len(seen) == len(set(seen))  # no token read twice
    slots = world_size * num_workers
    if remainder == "pad":
        assert sorted(seen) == sorted(flat)  # no gap
    else:
        assert set(seen) <= set(flat)
        assert len(flat) - len(seen) == len(flat) % (slots * seq_len)  # only the tail is dropped
        assert counts[0] == len(flat) // (slots * seq_len)


def test_an_empty_rank_is_an_error_not_silence(out_dir):
    total = len(all_tokens(out_dir))
    with pytest.raises(ValueError, match="would get no data"):
        PackedSequences(out_dir, seq_len=total // 8 + 1, rank=0, world_size=8)
    with pytest.raises(ValueError, match="would get no data"):
        PackedSequences(out_dir, seq_len=4, rank=0, world_size=total + 1, remainder="pad")  # a rank with no token


def test_shuffling_is_seeded_and_changes_with_the_epoch(out_dir):
    def epoch(seed, e):
        r = PackedSequences(out_dir, 16, seed=seed)
        r.set_epoch(e)
        return [it["tokens"].tolist() for it in r]

    e0, e1 = epoch(1, 0), epoch(1, 1)
    assert e0 == epoch(1, 0) and e0 != e1 and e0 != epoch(2, 0)
    unshuffled = [it["tokens"].tolist() for it in PackedSequences(out_dir, 16, shuffle=False)]
    assert e0 != unshuffled
    # The same documents, cut differently: whole-sequence multisets differ, tokens do not (mostly).
    assert len(set(sum(e0, [])) & set(sum(e1, []))) > 0.9 * len(set(sum(e0, [])))


def test_iterating_again_moves_to_the_next_epoch(out_dir):
    r = PackedSequences(out_dir, 16, seed=5)
    first = [it["tokens"].tolist() for it in r]
    assert r.state_dict()["epoch"] == 1 and r.state_dict()["position"] == 0
    second = [it["tokens"].tolist() for it in r]
    other = PackedSequences(out_dir, 16, seed=5)
    other.set_epoch(1)
    assert second == [it["tokens"].tolist() for it in other] and second != first


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("stop_at", [0, 1, 5, 9])
def test_resume_continues_exactly_where_it_stopped(out_dir, shuffle, stop_at):
    """Mid-epoch resume with shuffling and workers, across an epoch boundary too."""
    opts = dict(rank=1, world_size=3, worker=1, num_workers=2, seed=11, shuffle=shuffle, shuffle_buffer=5)
    ref = PackedSequences(out_dir, 10, **opts)
    full = [[it["tokens"].tolist(), it["segment_ids"].tolist()] for _ in range(2) for it in ref]
    reader = PackedSequences(out_dir, 10, **opts)
    reader.set_epoch(0)
    it = itertools.chain(iter(reader))
    got = [[x["tokens"].tolist(), x["segment_ids"].tolist()] for x in itertools.islice(it, stop_at)]
    state = json.loads(json.dumps(reader.state_dict()))  # survives a JSON checkpoint
    resumed = PackedSequences(out_dir, 10, **opts, state=state)
    for _ in range(2 - state["epoch"]):
        got += [[x["tokens"].tolist(), x["segment_ids"].tolist()] for x in resumed]
    assert got == full[: len(got)] and len(got) == len(full)


def test_resume_in_the_second_epoch(out_dir):
    opts = dict(rank=0, world_size=2, worker=0, num_workers=2, seed=2)
    reader = PackedSequences(out_dir, 12, **opts)
    list(reader)
    it = iter(reader)
    head = [next(it)["tokens"].tolist() for _ in range(3)]
    state = reader.state_dict()
    assert state["epoch"] == 1 and state["position"] == 3
    rest = [x["tokens"].tolist() for x in PackedSequences(out_dir, 12, **opts, state=state)]
    fresh = PackedSequences(out_dir, 12, **opts)
    fresh.set_epoch(1)
    assert head + rest == [x["tokens"].tolist() for x in fresh]


def test_padding_marks_pad_tokens_with_segment_minus_one(out_dir):
    total = len(all_tokens(out_dir))
    items = []
    for rank in range(3):
        items += list(PackedSequences(out_dir, 50, rank, 3, 0, 1, remainder="pad", pad_id=7, shuffle=False))
    pads = sum(int((it["segment_ids"] == -1).sum()) for it in items)
    assert pads == len(items) * 50 - total and pads > 0
    assert all(int(t) == 7 for it in items for t, s in zip(it["tokens"], it["segment_ids"]) if s == -1)


def test_state_from_another_split_is_refused(out_dir):
    state = PackedSequences(out_dir, 10, rank=0, world_size=2).state_dict()
    with pytest.raises(ValueError, match="differs in: rank"):
        PackedSequences(out_dir, 10, rank=1, world_size=2, state=state)
    with pytest.raises(ValueError, match="differs in: num_workers, worker"):
        PackedSequences(out_dir, 10, rank=0, world_size=2, worker=1, num_workers=2, state=state)
    with pytest.raises(ValueError, match="rank must be"):
        PackedSequences(out_dir, 10, rank=2, world_size=2)
    with pytest.raises(ValueError, match="remainder"):
        PackedSequences(out_dir, 10, remainder="wrap")


def test_epoch_summary_accounts_for_every_token(out_dir):
    r = PackedSequences(out_dir, 24, 0, 3, 0, 2)
    s = epoch_summary(r)
    assert s["total_tokens"] == len(all_tokens(out_dir))
    assert s["tokens_dropped_per_epoch"] == s["total_tokens"] - 6 * len(r) * 24 and s["pad_tokens_per_epoch"] == 0


def test_permutations_are_fixed_by_their_key():
    p = permutation(50, 1, 2)
    assert sorted(p.tolist()) == list(range(50)) and p.tolist() == permutation(50, 1, 2).tolist()
    assert p.tolist() != permutation(50, 1, 3).tolist()
    # A pinned value: the order must not change with the NumPy version.
    assert permutation(8, 0, 0).tolist() == PINNED_PERMUTATION
    w = window_permutation(20, 6, 4)
    assert all(set(w[i : i + 6].tolist()) == set(range(i, min(i + 6, 20))) for i in range(0, 20, 6))


PINNED_PERMUTATION = [6, 3, 0, 2, 1, 4, 5, 7]


# --------------------------------------------------------------------------- PyTorch wrapper


def _batches(loader, limit=None):
    out = []
    for batch in loader:
        out.append([batch["tokens"].tolist(), batch["segment_ids"].tolist()])
        if limit is not None and len(out) == limit:
            break
    return out


def test_torch_workers_cover_the_rank_and_resume_exactly(out_dir):
    torch = pytest.importorskip("torch")
    from curate.torch_loader import PackedDataset, ResumableDataLoader

    def make():
        ds = PackedDataset(out_dir, 16, rank=1, world_size=2, seed=4, shuffle_buffer=8)
        return ResumableDataLoader(ds, batch_size=3, num_workers=2)

    loader = make()
    full = _batches(loader)
    assert loader.epoch == 1
    # Every sample of the rank's two worker slots, once, with equal counts per worker.
    got = sorted(t for b in full for seq in b[0] for t in seq)
    want = sorted(
        int(t)
        for w in range(2)
        for it in PackedSequences(out_dir, 16, 1, 2, w, 2, seed=4, shuffle_buffer=8)
        for t in it["tokens"]
    )
    assert got == want and sum(len(b[0]) for b in full) == loader.sequences_per_epoch
    assert all(isinstance(b, list) for b in full) and torch.is_tensor(next(iter(make()))["tokens"])

    interrupted = make()
    head = _batches(interrupted, limit=5)  # odd: the next batch is worker 1's
    state = json.loads(json.dumps(interrupted.state_dict()))
    resumed = make()
    resumed.load_state_dict(state)
    rest = _batches(resumed)
    assert head + rest == full  # the very batches, in order
    assert resumed.epoch == 1


def test_the_core_reader_takes_its_worker_from_torch(out_dir):
    """Inside a DataLoader worker, PackedSequences without worker/num_workers reads that
    worker's slot (torch.utils.data.get_worker_info())."""
    torch = pytest.importorskip("torch")

    class Plain(torch.utils.data.IterableDataset):
        def __iter__(self):
            for it in PackedSequences(out_dir, 16, seed=1):
                yield it["tokens"].tolist()

    got = sorted(list(map(int, seq)) for seq in torch.utils.data.DataLoader(Plain(), batch_size=None, num_workers=2))
    want = sorted(it["tokens"].tolist() for w in range(2) for it in PackedSequences(out_dir, 16, 0, 1, w, 2, seed=1))
    assert got == want and len(got) > 0


def test_torch_loader_refuses_a_state_for_other_workers(out_dir):
    pytest.importorskip("torch")
    from curate.torch_loader import PackedDataset, ResumableDataLoader

    two = ResumableDataLoader(PackedDataset(out_dir, 16, rank=0, world_size=1), batch_size=2, num_workers=2)
    one = ResumableDataLoader(PackedDataset(out_dir, 16, rank=0, world_size=1), batch_size=2)
    with pytest.raises(ValueError, match="num_workers"):
        one.load_state_dict(two.state_dict())


# --------------------------------------------------------------------------- remote shards stream


class _CountingFile:
    def __init__(self, data: bytes, counter: list):
        import io

        self._f, self._counter = io.BytesIO(data), counter

    def read(self, n=-1):
        out = self._f.read(n)
        self._counter[0] += len(out)
        return out

    def __getattr__(self, name):  # seek, tell, close, seekable, ...
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_remote_shards_are_read_a_row_group_at_a_time():
    """Through Beam's FileSystems (as gs:// is): a rank reads its row groups, not whole shards."""
    from apache_beam.io.filesystem import FileSystem

    files: dict[str, bytes] = {}
    read = [0]

    class MemoryFS(FileSystem):  # registered with Beam by subclassing; scheme unique to this test
        @classmethod
        def scheme(cls):
            return "loadertestmem"

        def open(self, path, mime_type=None, compression_type=None):
            return _CountingFile(files[path], read)

        def join(self, base, *parts):
            return "/".join([base.rstrip("/"), *parts])

        _list = copy = create = delete = exists = has_dirs = last_updated = metadata = mkdirs = rename = size = (
            split
        ) = None

    rng = np.random.default_rng(0)
    rows = [S.doc_row(Document(f"d{i:03d}", "x", "web"), rng.integers(0, 2**31, 2000).tolist()) for i in range(128)]
    data = S.parquet_bytes(rows, S.shard_schema("uint32"), max_rows=16)
    files["loadertestmem://bucket/out/shards/part-00000-of-00001.parquet"] = data
    manifest = {"shards": [S.shard_info("shards/part-00000-of-00001.parquet", rows, data, max_rows=16)]}
    files["loadertestmem://bucket/out/manifest.json"] = json.dumps(manifest).encode()
    reader = PackedSequences("loadertestmem://bucket/out", 1000, rank=0, world_size=8, shuffle=False)
    read[0] = 0
    items = list(reader)
    assert len(items) == 32 and len(data) > 500_000
    assert read[0] < 0.3 * len(data)  # one row group (+ the footer), not the 8
