"""MinHash LSH near-duplicate detection: hashing, signatures, LSH maths, clustering, the stage."""

import math
import random

import numpy as np
import pytest

from curate import config as C
from curate import text as T
from curate.dedup import minhash as M
from curate.document import Document, Rejected


def _vocab(rng, n=3000):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(n)]


def _words(rng, vocab, n):
    return [rng.choice(vocab) for _ in range(n)]


def _ref_word_hash(word: str) -> int:
    h = 0
    for j, ch in enumerate(word):
        h = (h + (ord(ch) + 1) * pow(M._CHAR_BASE, j, 1 << 64)) % (1 << 64)
    h = (h + (len(word) << 56)) % (1 << 64)
    return int(M._splitmix64(np.array([h], np.uint64))[0])


# --------------------------------------------------------------------------- hashing


def test_word_hashes_are_the_words_of_normalize(monkeypatch):
    texts = [
        "Hello, World! It's 2024 — “quoted” text.",
        "",
        "   ...   ",
        "Ünïcode ÇAFÉ café\u00a0nbsp ٣٤ digits\tand\nlines",
        "one",
    ]
    hashes, counts = M.word_hashes(texts)
    expected = [_ref_word_hash(w) for t in texts for w in T.normalize(t).split()]
    assert [int(h) for h in hashes] == expected
    assert list(counts) == [len(T.normalize(t).split()) for t in texts]
    # passes over a few characters at a time give the same result
    monkeypatch.setattr(M, "_CHUNK_CHARS", 8)
    small_hashes, small_counts = M.word_hashes(texts)
    assert (small_hashes == hashes).all() and (small_counts == counts).all()
    # café written decomposed is the same word after NFC
    h1, _ = M.word_hashes(["cafe\u0301"])
    h2, _ = M.word_hashes(["café"])
    assert h1[0] == h2[0]


def test_distinct_words_get_distinct_hashes(shared_data):
    book = shared_data("books", "pg972-devils-dictionary.txt").read_text(encoding="utf-8")
    words = T.normalize(book).split()
    hashes, _ = M.word_hashes([book])
    by_hash = {}
    for w, h in zip(words, hashes.tolist()):
        assert by_hash.setdefault(h, w) == w
    assert len(by_hash) == len(set(words)) > 5000


def test_shingles_are_ngrams_of_words_and_short_texts_get_one():
    h = M.MinHasher(ngram=3, num_perm=8)
    words, _ = M.word_hashes(["a b c d e"])
    sh = h.shingle_hashes("A b, c d e!")
    assert len(sh) == 3
    assert list(sh) == list(M.combine_word_hashes(words, 3))
    assert len(h.shingle_hashes("a b")) == 1  # fewer words than n: one shingle of all
    assert len(h.shingle_hashes("!!")) == 0
    # order matters, shared words do not make equal shingles
    assert h.shingle_hashes("a b c")[0] != h.shingle_hashes("c b a")[0]
    # batching does not change shingles: texts never share a window
    flat, lengths = h.batch_shingle_hashes(["a b c d", "x", "", "e f g h i"])
    assert list(lengths) == [2, 1, 0, 3]
    assert list(flat) == [*h.shingle_hashes("a b c d"), *h.shingle_hashes("x"), *h.shingle_hashes("e f g h i")]


# --------------------------------------------------------------------------- signatures


def test_signatures_match_the_definition_across_block_edges():
    rng = random.Random(3)
    vocab = _vocab(rng)
    # a long document crosses several blocks; short and empty ones sit between
    texts = [" ".join(_words(rng, vocab, n)) for n in (2500, 3, 0, 40, 1100, 1)]
    h = M.MinHasher(ngram=5, num_perm=16, seed=4)
    sig = h.signatures(texts)
    a, b = [int(x) for x in h.a], [int(x) for x in h.b]
    for t, row in zip(texts, sig):
        sh = [int(x) for x in h.shingle_hashes(t)]
        if not sh:
            assert (row == np.iinfo(np.uint64).max).all()
            continue
        expected = [min(((ai * x + bi) % (1 << 64)) % M.MERSENNE_P for x in sh) for ai, bi in zip(a, b)]
        assert [int(v) for v in row] == expected
    # per-document results do not depend on the batch
    alone = np.vstack([h.signatures([t]) for t in texts])
    assert (alone == sig).all()
    # released buffers and power tables (after each bundle) are made again, the same
    h.release()
    assert (h.signatures(texts) == sig).all()


def _pair_with_jaccard(rng, vocab, target, n=400):
    """Two documents whose 5-gram sets have roughly the target Jaccard: b replaces a
    contiguous run of a's words."""
    base = _words(rng, vocab, n)
    # replacing w words changes ~w+4 shingles out of n-4
    shingles = n - 4
    changed = round(shingles * (1 - target) / (1 + target))
    w = max(0, changed - 4)
    start = rng.randint(0, n - w)
    other = base[:start] + _words(rng, vocab, w) + base[start + w :]
    return " ".join(base), " ".join(other)


def test_estimated_jaccard_within_expected_error():
    rng = random.Random(11)
    vocab = _vocab(rng)
    h = M.MinHasher(num_perm=112)
    errors = []
    for target in np.linspace(0.05, 0.95, 19):
        a, b = _pair_with_jaccard(rng, vocab, target)
        ha, hb = h.shingle_hashes(a), h.shingle_hashes(b)
        j = M.exact_jaccard(ha, hb)
        sa, sb = h.signatures([a, b])
        est = M.estimated_jaccard(sa, sb)
        sd = math.sqrt(j * (1 - j) / 112)
        assert abs(est - j) <= 4 * sd + 1e-9, (target, j, est)
        errors.append(est - j)
    assert abs(np.mean(errors)) < 0.03  # no bias


def test_agrees_with_datasketch_statistically():
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(5)
    vocab = _vocab(rng)
    h = M.MinHasher(num_perm=128)
    diffs = []
    for target in (0.3, 0.5, 0.7, 0.8, 0.9):
        for _ in range(4):
            a, b = _pair_with_jaccard(rng, vocab, target)
            ha, hb = h.shingle_hashes(a), h.shingle_hashes(b)
            j = M.exact_jaccard(ha, hb)
            ms = []
            for hh in (ha, hb):
                m = datasketch.MinHash(num_perm=128, seed=7)
                m.update_batch([x.tobytes() for x in hh])
                ms.append(m)
            ds = ms[0].jaccard(ms[1])
            ours = M.estimated_jaccard(*h.signatures([a, b]))
            sd = math.sqrt(j * (1 - j) / 128)
            assert abs(ds - j) <= 4 * sd + 1e-9 and abs(ours - j) <= 4 * sd + 1e-9
            diffs.append(abs(ours - ds))
    assert np.mean(diffs) < 2 * math.sqrt(0.25 / 128)


# --------------------------------------------------------------------------- LSH maths


def test_lsh_threshold_and_probabilities():
    assert M.lsh_threshold(14, 8) == pytest.approx(0.719, abs=1e-3)
    assert M.candidate_probability(0.8, 14, 8) == pytest.approx(0.9235, abs=1e-4)
    assert M.candidate_probability(0.0, 14, 8) == 0.0
    assert M.candidate_probability(1.0, 14, 8) == 1.0
    text = M.describe_lsh(9, 13)
    assert "117 permutations" in text and "= 0.844" in text


def test_cli_prints_threshold(capsys):
    M.main(["--bands", "20", "--rows", "5"])
    out = capsys.readouterr().out
    assert "20 bands x 5 rows = 100 permutations" in out and "0.549" in out


def test_band_hashes_empty_and_equal():
    h = M.MinHasher(num_perm=112)
    sig = h.signatures(["the same words here and there again", "The same words here, and there again!", ""])
    bh = M.band_hashes(sig, 14, 8)
    assert bh[0] == bh[1] and len(bh[0]) == 14 and bh[2] is None


# --------------------------------------------------------------------------- clustering


def _random_graph(rng, n_nodes, n_edges):
    nodes = [("", f"d{i:04d}") for i in range(n_nodes)]
    return [(rng.choice(nodes), rng.choice(nodes)) for _ in range(n_edges)]


def test_star_rounds_equal_union_find():
    rng = random.Random(2)
    graphs = [_random_graph(rng, 200, m) for m in (50, 150, 400)]
    path = [(("", f"p{i:03d}"), ("", f"p{i + 1:03d}")) for i in range(100)]
    rng.shuffle(path)
    graphs.append(path)
    for edges in graphs:
        uf = M.union_find_components(e for e in edges if e[0] != e[1])
        assert M.star_components(edges) == uf
        for node, root in uf.items():
            assert root <= node


def test_star_rounds_fail_loudly_when_not_converged():
    path = [(("", f"p{i:03d}"), ("", f"p{i + 1:03d}")) for i in range(64)]
    with pytest.raises(RuntimeError, match="did not converge"):
        M.star_components(path, max_rounds=1)


def test_large_and_small_star():
    n = lambda i: ("", str(i))  # noqa: E731
    assert M.large_star(n(5), [n(2), n(7), n(9)]) == [(n(7), n(2)), (n(9), n(2))]
    assert M.large_star(n(1), [n(2), n(3)]) == [(n(2), n(1)), (n(3), n(1))]
    assert M.small_star(n(5), [n(3), n(2)]) == [(n(3), n(2)), (n(5), n(2))]
    assert M.small_star(n(5), []) == []


def test_star_edges_per_bucket_and_verification():
    s = lambda *v: np.array(v, np.uint64)  # noqa: E731
    members = [(("", "c"), s(1, 2, 3, 4)), (("", "a"), s(1, 2, 3, 4)), (("", "b"), s(1, 2, 9, 9))]
    assert M.star_edges(members) == [(("", "a"), ("", "b")), (("", "a"), ("", "c"))]
    assert M.star_edges(members, verify_threshold=0.75) == [(("", "a"), ("", "c"))]
    assert M.star_edges(members[:1]) == []


def test_node_key_orders_by_keep_rule():
    old = Document("b", "x" * 10, "web", provenance={"fetch_date": "2019-01-01"}, metadata={"q": {"s": 0.2}})
    new = Document("a", "x" * 50, "web", provenance={"fetch_date": "2021-01-01"}, metadata={"q": {"s": 0.9}})
    undated = Document("0", "x", "web", metadata={"q": {"s": -1.5}})
    docs = [old, new, undated]

    def kept(keep):
        return min(docs, key=lambda d: M.node_key(d, keep, "q.s")).id

    assert kept("oldest") == "b"
    assert kept("longest") == "a"
    assert kept("highest_score") == "a"
    assert kept("smallest_id") == "0"
    # scores sort correctly across signs and magnitudes; missing scores sort last
    scores = [3.5, -2.0, 0.0, 1e-9, -1e9, 7.0]
    ds = [Document(f"s{i}", "", "x", metadata={"q": {"s": v}}) for i, v in enumerate(scores)]
    ds.append(Document("none", "", "x"))
    order = sorted(ds, key=lambda d: M.node_key(d, "highest_score", "q.s"))
    assert [d.id for d in order] == ["s5", "s0", "s3", "s2", "s1", "s4", "none"]


# --------------------------------------------------------------------------- the stage


def make_corpus():
    """Hand-made near-duplicates and near-misses over a seeded random vocabulary.

    a0 original; a1 one word changed; a2 truncated by ~5%; a3 a1 with boilerplate added
    (chains to a0 via a1); b0/b1 a second pair with dates; c0 shares half of a0 (near
    miss); d0 unrelated; e0 no words; f0/f1 tiny (3 words, identical after normalising).
    """
    rng = random.Random(42)
    vocab = _vocab(rng)
    a = _words(rng, vocab, 300)
    a1 = list(a)
    a1[150] = "zzzz"
    b = _words(rng, vocab, 200)
    b1 = list(b)
    b1[10:12] = ["yyyy", "xxxx"]
    texts = {
        "a0": " ".join(a),
        "a1": " ".join(a1),
        "a2": " ".join(a[:285]),
        "a3": " ".join(a1) + " Subscribe to our newsletter for more",
        "b0": " ".join(b),
        "b1": " ".join(b1),
        "c0": " ".join(a[:150] + _words(rng, vocab, 150)),
        "d0": " ".join(_words(rng, vocab, 250)),
        "e0": "... !!! ???",
        "f0": "Tiny doc here.",
        "f1": "tiny DOC, here",
    }
    dates = {"b0": "2020-05-01T00:00:00Z", "b1": "2018-01-01T00:00:00Z"}
    return [Document(k, v, "test", provenance={"fetch_date": dates[k]} if k in dates else {}) for k, v in texts.items()]


EXPECTED_REMOVED = {
    "a1": ("a0", "a0"),
    "a2": ("a0", "a0"),
    "a3": ("a0", "a0"),
    "b0": ("b1", "b0"),  # oldest kept: b1 is older
    "f1": ("f0", "f0"),
}


def check_outcome(out):
    removed = {r.doc.id: (r.details["duplicate_of"], r.details["cluster_id"]) for r in out if isinstance(r, Rejected)}
    assert removed == EXPECTED_REMOVED
    for r in out:
        if isinstance(r, Rejected):
            assert (r.stage, r.reason) == ("minhash_dedup", "near_duplicate")
    kept = {d.id: d.metadata.get("minhash_dedup") for d in out if isinstance(d, Document)}
    assert kept == {
        "a0": {"cluster_id": "a0", "cluster_size": 4},
        "b1": {"cluster_id": "b0", "cluster_size": 2},
        "c0": None,
        "d0": None,
        "e0": None,
        "f0": {"cluster_id": "f0", "cluster_size": 2},
    }


@pytest.mark.parametrize("verify", ["exact", "signature", "none"])
def test_dedup_documents_hand_made(verify):
    out = M.dedup_documents(make_corpus(), M.MinHashDedupConfig(verify=verify))
    check_outcome(out)
    assert [o.id if isinstance(o, Document) else o.doc.id for o in out] == [d.id for d in make_corpus()]


def test_keep_longest_and_no_verification():
    out = M.dedup_documents(make_corpus(), M.MinHashDedupConfig(keep="longest", verify="none"))
    removed = {r.doc.id: r.details["duplicate_of"] for r in out if isinstance(r, Rejected)}
    assert removed == {
        "a0": "a3",
        "a1": "a3",
        "a2": "a3",
        "b1": "b0",
        "f1": "f0",
    }  # f0, f1 equally long: id breaks the tie


def test_config_validation():
    cfg = C.build(M.MinHashDedupConfig, {"bands": 9, "rows": 13, "keep": "longest"})
    assert cfg.num_perm == 117
    with pytest.raises(C.ConfigError, match="rows"):
        C.build(M.MinHashDedupConfig, {"rows": 0})
    with pytest.raises(C.ConfigError, match="verify_threshold"):
        C.build(M.MinHashDedupConfig, {"verify_threshold": 1.5})
    with pytest.raises(C.ConfigError, match="keep"):
        C.build(M.MinHashDedupConfig, {"keep": "newest"})


def test_word_hashes_beyond_the_basic_plane(monkeypatch):
    monkeypatch.setattr(T, "_CHAR_CLASSES", None)  # as in a fresh worker process
    monkeypatch.setattr(M, "_CHUNK_CHARS", 8)  # one text per pass: the table grows on the second
    texts = ["plain words first", "emoji\U0001f600split 𝐁old 𝟗 here"]
    hashes, counts = M.word_hashes(texts)
    assert [int(h) for h in hashes] == [_ref_word_hash(w) for t in texts for w in T.normalize(t).split()]
    assert list(counts) == [len(T.normalize(t).split()) for t in texts]


def test_distinct_sorted_is_unique():
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 50):
        a = rng.integers(0, 6, n).astype(np.uint64)
        assert M.distinct_sorted(a).tolist() == np.unique(a).tolist()
