import io
import random

import pyarrow.parquet as pq
import pytest

from curate import shards as S
from curate import tokenize as tok
from curate.dedup.exact import choose_survivor, dedup_key
from curate.document import Document, Rejected

TEXTS = [
    "The river carried goods to the sea, and the merchants grew rich from the trade.",
    "Visitors walk along the water  and see the boats\n\nthat still use the harbour.",
    "Numbers 12345 and symbols — “quotes” — and 日本語 and emoji 😀 survive.",
] * 20


@pytest.fixture(scope="module")
def model():
    return tok.train_model(TEXTS, vocab_size=300)


def test_training_is_deterministic_and_round_trips_exactly(model):
    assert tok.train_model(TEXTS, vocab_size=300) == model
    p = tok.load_processor(model)
    odd = "  leading spaces, tabs\there,\r\nCRLF and unseen ✓ chars  "
    for text in TEXTS[:3] + [odd]:
        (ids,) = tok.encode(p, [text], add_bos=True, add_eos=True)
        assert ids[0] == p.bos_id() and ids[-1] == p.eos_id()
        assert tok.decode(p, ids) == text


def test_training_without_text_is_a_clear_error():
    with pytest.raises(tok.TokenizerError, match="no kept text"):
        tok.train_model(["", "  "])


def test_read_model_rejects_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "x.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(tok.TokenizerError, match="not a SentencePiece model"):
        tok.read_model(str(bad))
    with pytest.raises(tok.TokenizerError, match="cannot read"):
        tok.read_model(str(tmp_path / "missing.model"))


def _rows(n):
    return [S.doc_row(Document(f"id{i:03d}", f"text {i}", "web", {"url": f"u{i}"}, {"language": "en", "language_score": 0.9}), [i, i + 1]) for i in range(n)]


def test_parquet_bytes_do_not_depend_on_row_order():
    rows = _rows(50)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    a = S.parquet_bytes(rows, S.SHARD_SCHEMA)
    assert a == S.parquet_bytes(shuffled, S.SHARD_SCHEMA)
    table = pq.read_table(io.BytesIO(a))
    assert table.column("id").to_pylist() == sorted(r["id"] for r in rows)
    assert str(table.schema.field("tokens").type) == "list<element: uint32>"
    assert table.column("url").to_pylist()[0] == "u0"


def test_shard_assignment_is_stable_and_spread():
    counts = [0] * 4
    for i in range(400):
        counts[S.shard_of(f"doc{i}", 4)] += 1
    assert S.shard_of("doc1", 4) == S.shard_of("doc1", 4)
    assert min(counts) > 60
    assert S.shard_name("part", 3, 16) == "part-00003-of-00016.parquet"


def test_rejected_rows_carry_reason_and_details():
    rej = Rejected(Document("a", "t", "web", {"url": "u"}), "gopher_quality", "too_few_words", {"signals": {"n_words": 3}})
    row = S.rejected_row(rej)
    assert (row["stage"], row["reason"], row["details"]) == ("gopher_quality", "too_few_words", '{"signals":{"n_words":3}}')


def test_exact_dedup_key_and_survivor():
    assert dedup_key("Hello   World\n") == dedup_key("hello world")
    assert dedup_key("Hello, world") != dedup_key("hello world")
    assert dedup_key("Hello, world!", "full") == dedup_key("hello world", "full")
    docs = [Document("b", "long text", "web", {"fetch_date": "2020"}), Document("a", "text", "web", {"fetch_date": "2021"})]
    assert choose_survivor(docs).id == "a"
    assert choose_survivor(docs, "oldest").id == "b"
    assert choose_survivor(docs, "longest").id == "b"
