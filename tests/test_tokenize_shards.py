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


def test_a_batch_encodes_as_each_text_alone_and_a_bad_text_costs_only_itself(model):
    p = tok.load_processor(model)
    alone = [tok.encode(p, [t], add_bos=False, add_eos=True)[0] for t in TEXTS[:3]]
    assert tok.encode_or_errors(p, TEXTS[:3], add_bos=False, add_eos=True) == alone
    out = tok.encode_or_errors(p, [TEXTS[0], None, TEXTS[1]], add_bos=False, add_eos=True)
    assert out[0] == alone[0] and out[2] == alone[1] and isinstance(out[1], Exception)


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
    return [
        S.doc_row(
            Document(f"id{i:03d}", f"text {i}", "web", {"url": f"u{i}"}, {"language": "en", "language_score": 0.9}),
            [i, i + 1],
        )
        for i in range(n)
    ]


def test_parquet_bytes_do_not_depend_on_row_order():
    rows = _rows(50)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    a = S.parquet_bytes(rows, S.shard_schema("uint16"))
    assert a == S.parquet_bytes(shuffled, S.shard_schema("uint16"))
    table = pq.read_table(io.BytesIO(a))
    assert table.column("id").to_pylist() == sorted(r["id"] for r in rows)
    assert str(table.schema.field("tokens").type) == "list<element: uint16>"
    assert table.column("url").to_pylist()[0] == "u0"


def test_shard_assignment_is_stable_and_spread():
    counts = [0] * 4
    for i in range(400):
        counts[S.shard_of(f"doc{i}", 4)] += 1
    assert S.shard_of("doc1", 4) == S.shard_of("doc1", 4)
    assert min(counts) > 60
    assert S.shard_name("part", 3, 16) == "part-00003-of-00016.parquet"


def test_rejected_rows_carry_reason_and_details():
    rej = Rejected(
        Document("a", "t", "web", {"url": "u"}), "gopher_quality", "too_few_words", {"signals": {"n_words": 3}}
    )
    row = S.rejected_row(rej)
    assert (row["stage"], row["reason"], row["details"]) == (
        "gopher_quality",
        "too_few_words",
        '{"signals":{"n_words":3}}',
    )


def test_exact_dedup_key_and_survivor():
    assert dedup_key("Hello   World\n") == dedup_key("hello world")
    assert dedup_key("Hello, world") != dedup_key("hello world")
    assert dedup_key("Hello, world!", "full") == dedup_key("hello world", "full")
    docs = [
        Document("b", "long text", "web", {"fetch_date": "2020"}),
        Document("a", "text", "web", {"fetch_date": "2021"}),
    ]
    assert choose_survivor(docs).id == "a"
    assert choose_survivor(docs, "oldest").id == "b"
    assert choose_survivor(docs, "longest").id == "b"


def test_token_ids_take_uint16_when_the_vocabulary_fits():
    assert S.token_dtype(32000) == S.token_dtype(65536) == "uint16"
    assert S.token_dtype(65537) == S.token_dtype(128256) == "uint32"
    rows = [S.doc_row(Document("a", "t", "web"), [65535, 0])]
    table = pq.read_table(io.BytesIO(S.parquet_bytes(rows, S.shard_schema("uint16"))))
    assert table.column("tokens").to_pylist() == [[65535, 0]]
    with pytest.raises(Exception):  # an id that does not fit is an error, never wrapped
        S.parquet_bytes([S.doc_row(Document("b", "t", "web"), [65536])], S.shard_schema("uint16"))


def test_row_groups_are_cut_by_rows_and_by_tokens():
    rows = [{"id": f"{i:03d}", "num_tokens": n} for i, n in enumerate([5, 5, 5, 20, 1, 1, 1, 1])]
    groups = S.row_groups(rows, max_rows=3, max_tokens=12)
    assert [[r["id"] for r in g] for g in groups] == [["000", "001"], ["002"], ["003"], ["004", "005", "006"], ["007"]]
    assert S.row_groups([], 3, 12) == [[]]


def test_shard_count_follows_the_target_and_validation_hash_is_stable():
    from curate.config import OutputConfig, build

    fixed = build(OutputConfig, {"num_shards": 8, "validation_fraction": 0.05})
    assert S.shard_count(fixed, 10**9, 10**9) == 8 and S.shard_count(fixed, 0, 0, validation=True) == 1
    by_tokens = build(OutputConfig, {"shard_tokens": 1000})
    assert [S.shard_count(by_tokens, t, 0) for t in (0, 1000, 1001, 5500)] == [1, 1, 2, 6]
    by_bytes = build(OutputConfig, {"shard_bytes": 100})
    assert S.shard_count(by_bytes, 0, 250) == 3
    assert build(OutputConfig, {}).num_shards == 4
    held = [i for i in range(20000) if S.is_validation(f"doc{i}", 0.1)]
    assert 1800 < len(held) < 2200 and held == [i for i in range(20000) if S.is_validation(f"doc{i}", 0.1)]
    assert not any(S.is_validation(f"doc{i}", 0.0) for i in range(1000))
    assert set(held) <= {i for i in range(20000) if S.is_validation(f"doc{i}", 0.2)}  # nested fractions
