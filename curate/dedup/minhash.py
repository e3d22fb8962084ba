"""Document-level near-duplicate detection with MinHash LSH (stage ``minhash_dedup``).

Pure logic, no Beam (the Beam transform is ``pipelines/dedup.py``):

- shingles: n consecutive words of :func:`curate.text.normalize`'d text (FineWeb: n=5),
  Chinese, Japanese and Thai text cut into words by its segmenter first (:mod:`curate.lang`);
  a document with fewer than n words is one shingle of all its words, one with no
  words gets no signature and is never a duplicate;
- shingle hashes: each word hashed with numpy over the whole batch (a polynomial over
  its code points from prefix sums, then the splitmix64 finaliser), the n word hashes
  combined the same way: no Python per word or per shingle;
- signatures: ``bands * rows`` permutations ``(a*x + b) mod (2^61 - 1)`` as one
  (shingles x permutations) matrix per block of documents and a segmented minimum
  (``np.minimum.reduceat``) per document. As in datasketch and datatrove, ``a*x + b``
  wraps modulo 2^64 before the reduction mod p;
- bands: a 64-bit hash of each band's ``rows`` values (numpy over the batch); two documents are candidates when
  they share a (band index, band hash) bucket;
- clusters: star edges per bucket (its smallest node -> each other member), optionally
  verified by the signatures' estimated Jaccard, then connected components (union-find
  here; large-star/small-star rounds in Beam, from the same :func:`large_star` and
  :func:`small_star`). Nodes are ``(rank, id)`` tuples ordered so that the smallest node
  of a component is the document to keep.

``python -m curate.dedup.minhash --bands 14 --rows 8`` prints the LSH threshold and
the detection probability per Jaccard for a setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import struct
import unicodedata
from typing import Iterable, Literal, NamedTuple, Optional, Sequence

import numpy as np

from curate import text as T
from curate.document import Document, ErrorRecord, Rejected
from curate.lang import spaced
from curate.params import param
from curate.readers.common import field
from curate.registry import register_stage

STAGE = "minhash_dedup"
MERSENNE_P = (1 << 61) - 1
_P = np.uint64(MERSENNE_P)
_SHIFT61 = np.uint64(61)
_EMPTY = np.uint64(np.iinfo(np.uint64).max)  # signature value of a document without words
# Polynomial multiplier for combining word hashes into a shingle hash (odd, 64-bit).
_COMBINE = np.uint64(0x9E3779B97F4A7C15)
# Shingles per block of the (permutations x shingles) matrix (7 MB at 112 permutations).
# Measured (CPU time, 2,000 real documents): 1024 -> 54 us/doc, 4096 -> 43-45,
# 8192 -> 40, 16384 -> 56: fewer numpy calls per document until the buffers leave cache.
_BLOCK_ROWS = 8192
# The quality_classifier stage stores its P(high quality) here.
DEFAULT_SCORE_FIELD = "signals.quality_classifier.score"


@dataclasses.dataclass
class MinHashDedupConfig:
    ngram: int = param(5, min=1)  # words per shingle (FineWeb: 5)
    bands: int = param(14, min=1)  # FineWeb: 14 bands x 8 rows = 112 permutations, threshold ~0.72
    rows: int = param(8, min=1)
    seed: int = 1  # draws the permutations; runs must agree to compare signatures
    # Which document of a cluster survives: oldest fetch date, longest text, highest
    # score at ``score_field`` (a dotted path into metadata), or smallest id; ties -> id.
    keep: Literal["oldest", "longest", "highest_score", "smallest_id"] = "oldest"
    score_field: str = DEFAULT_SCORE_FIELD
    # Candidate pairs from the buckets are checked before they join a cluster:
    # exact: Jaccard of the two shingle sets >= verify_threshold (costs one more
    #   shuffle of the shingle sets; removes the false positives LSH lets in below
    #   the threshold); signature: the signatures' estimated Jaccard (error ~0.04 at
    #   112 permutations); none: every bucket collision is an edge (FineWeb's way).
    verify: Literal["exact", "signature", "none"] = "exact"
    verify_threshold: float = param(0.8, min=0, max=1)
    batch_size: int = param(512, min=1)  # documents per numpy call
    # Connected components: union-find on one worker up to this many edges, else
    # large-star/small-star rounds (at most ``max_rounds``; a run that has not
    # converged by then fails rather than keep wrong clusters). Measured: a chain of
    # 10^5 near-duplicates needs 13 rounds when ids are in random order along it (ids
    # are hashes) and 17 in the worst (sorted) order, +~3.5 per factor 10; real clusters
    # (stars around a popular page) need a few. Each round is 2 GroupByKeys.
    max_local_edges: int = param(2_000_000, min=0)
    # None: 16 rounds on a distributed runner, none on an in-process one (FnApiRunner,
    # DirectRunner, Prism), where every edge is in one process anyway and each unrolled
    # round only adds a fixed cost per step. An integer applies on every runner.
    max_rounds: Optional[int] = param(None, min=0)
    # Beam shuffles: documents travel in blocks of about this many characters of text
    # (one shuffle element per block, and the unit the joins group on), and the LSH
    # buckets in this many shards (one element per block and shard; a shard's group
    # holds documents x bands / bucket_shards entries: raise it for very large runs).
    block_chars: int = param(8_000_000, min=1)
    bucket_shards: int = param(1024, min=1)

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


# --------------------------------------------------------------------------- LSH maths


def lsh_threshold(bands: int, rows: int) -> float:
    """The Jaccard at which the detection curve is steepest, ~(1/b)^(1/r)."""
    return (1.0 / bands) ** (1.0 / rows)


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """P(two documents share at least one bucket | Jaccard J) = 1 - (1 - J^r)^b."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


def describe_lsh(bands: int, rows: int, ngram: int = 5) -> str:
    lines = [
        f"MinHash LSH: {ngram}-word shingles, {bands} bands x {rows} rows = {bands * rows} permutations",
        f"threshold ~ (1/b)^(1/r) = {lsh_threshold(bands, rows):.3f}",
        "Jaccard  P(candidate)",
    ]
    for j in (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0):
        lines.append(f"  {j:4.2f}   {candidate_probability(j, bands, rows):.4f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- signatures


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array (a bijection that mixes all bits)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def combine_word_hashes(word_hashes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every run of ``n`` consecutive words (``len - n + 1`` values, or one
    value over all words when there are fewer than ``n``)."""
    m = len(word_hashes)
    if m == 0:
        return np.empty(0, np.uint64)
    n = min(n, m)
    out = word_hashes[: m - n + 1].copy()
    for j in range(1, n):
        out *= _COMBINE
        out += word_hashes[j : m - n + 1 + j]
    out += np.uint64(n)  # shingles of different lengths (short documents) never collide by construction
    return _splitmix64(out)


# Odd multiplier of the per-word polynomial hash over code points (any odd 64-bit value).
_CHAR_BASE = 0xD6E8FEB86659FD93
_POWERS = np.ones(1, np.uint64)  # _CHAR_BASE^i mod 2^64
_INV_POWERS = np.ones(1, np.uint64)  # _CHAR_BASE^-i mod 2^64


def _power_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """base^i and base^-i mod 2^64 for i < n (grown geometrically, kept per process)."""
    global _POWERS, _INV_POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS))
        inv = pow(_CHAR_BASE, -1, 1 << 64)
        tables = []
        for base in (_CHAR_BASE, inv):
            t = np.empty(size, np.uint64)
            t[0] = 1
            np.multiply.accumulate(np.full(size - 1, base, np.uint64), out=t[1:])
            tables.append(t)
        _POWERS, _INV_POWERS = tables
    return _POWERS, _INV_POWERS


# Characters per numpy pass in word_hashes: the per-character arrays then stay small
# enough to be reused warm (measured: 16 vs 19 us/doc for whole 512-document batches).
_CHUNK_CHARS = 1 << 17


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the words of :func:`curate.text.normalize` for a batch
    (hashes of all words in order, number of words per text), ~128k characters per pass."""
    words, counts = [], []
    start, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t)
        if size >= _CHUNK_CHARS or i == len(texts) - 1:
            w, c = _word_hashes(texts[start : i + 1])
            words.append(w)
            counts.append(c)
            start, size = i + 1, 0
    if not words:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(words), np.concatenate(counts)


def _word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the words of :func:`curate.text.normalize` for a whole batch.

    Returns (hashes of all words in order, number of words per text). The words are
    found with the per-code-point class table and hashed as polynomials over their code
    points via prefix sums (``sum c_j B^j`` over a word = difference of two prefix
    sums, times ``B^-start``), then mixed with splitmix64: no Python per word.
    """
    norm = [unicodedata.normalize("NFC", t).lower() for t in texts]
    joined = "\n".join(norm)  # "\n" is whitespace: a word never spans two texts
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = T.normalize_char_classes(int(cp.max()) + 1 if len(cp) else 0)[cp]
    bounded = np.ones(len(cp) + 2, np.int8)  # separators, with one on each side
    bounded[1:-1] = cls == T.SEPARATOR
    step = np.diff(bounded)
    starts = np.flatnonzero(step == -1)
    ends = np.flatnonzero(step == 1)
    text_starts = np.cumsum([0] + [len(t) + 1 for t in norm[:-1]])
    counts = np.diff(np.append(np.searchsorted(starts, text_starts), len(starts)))
    if len(starts) == 0:
        return np.empty(0, np.uint64), counts
    codes = cp.astype(np.uint64) + np.uint64(1)  # +1: a code point 0 still changes the hash
    codes[cls == T.DIGIT] = ord("0") + 1
    powers, inv_powers = _power_tables(len(cp) + 1)
    prefix = np.zeros(len(cp) + 1, np.uint64)
    np.cumsum(codes * powers[: len(cp)], out=prefix[1:])
    h = (prefix[ends] - prefix[starts]) * inv_powers[starts]
    h += (ends - starts).astype(np.uint64) << np.uint64(56)  # the length, in the top byte
    return _splitmix64(h), counts


class MinHasher:
    """Signatures for many documents per call: words found and hashed with numpy over
    the whole batch, shingles combined with numpy, one permutation matrix per block."""

    def __init__(self, ngram: int = 5, num_perm: int = 112, seed: int = 1):
        self.ngram = ngram
        self.num_perm = num_perm
        rng = np.random.RandomState(seed)
        self.a = rng.randint(1, MERSENNE_P, size=num_perm, dtype=np.uint64)
        self.b = rng.randint(0, MERSENNE_P, size=num_perm, dtype=np.uint64)
        # the permutation buffers (2 x 7 MB at 112 permutations), made on first use: a
        # MinHasher that only computes shingle hashes (exact verification) never needs them
        self._buf: Optional[np.ndarray] = None
        self._tmp: Optional[np.ndarray] = None

    def batch_shingle_hashes(
        self, texts: Sequence[str], languages: Optional[Sequence[Optional[str]]] = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(all shingle hashes, texts in order, with repeats; number per text).

        ``languages`` (one per text, or None) names each text's language: a Chinese,
        Japanese or Thai text is cut into words by its segmenter first
        (:func:`curate.lang.spaced`), so its shingles are word n-grams as in other
        languages rather than n-grams of whole clauses. Other texts are hashed as they are."""
        if languages is not None:
            texts = [spaced(t, lang) for t, lang in zip(texts, languages)]
        n = self.ngram
        words, counts = word_hashes(texts)
        lengths = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
        out = np.empty(int(lengths.sum()), np.uint64)
        offsets = np.cumsum(lengths) - lengths
        first_word = np.cumsum(counts) - counts
        if len(words) >= n:
            grams = combine_word_hashes(words, n)  # every window, some across two texts
            doc = np.repeat(np.arange(len(texts)), counts)[: len(grams)]
            pos = np.arange(len(grams)) - first_word[doc]
            valid = pos <= counts[doc] - n
            out[offsets[doc[valid]] + pos[valid]] = grams[valid]
        for d in np.flatnonzero((counts > 0) & (counts < n)):  # short texts: one shingle
            out[offsets[d]] = combine_word_hashes(words[first_word[d] : first_word[d] + counts[d]], n)[0]
        return out, lengths

    def document_hashes(self, docs: Sequence[Document]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`batch_shingle_hashes` of the documents' texts, each in its language
        (``metadata["language"]``, as language ID sets it)."""
        return self.batch_shingle_hashes([d.text for d in docs], [d.metadata.get("language") for d in docs])

    def shingle_hashes(self, text: str) -> np.ndarray:
        """One document's shingle hashes (with repeats), uint64."""
        return self.batch_shingle_hashes([text])[0]

    def release(self) -> None:
        """Drop the permutation buffers and the power tables (made again on next use).
        Why: they are ~18 MB held for the life of the process (the local runner keeps a
        stage's DoFns until the end of the run), while tokenizing and writing shards
        come after the stage and set the run's peak (issue 13; docs/scale.md)."""
        global _POWERS, _INV_POWERS
        self._buf = self._tmp = None
        _POWERS = _INV_POWERS = np.ones(1, np.uint64)

    def _permuted(self, h: np.ndarray) -> np.ndarray:
        """(a*h + b) mod p for a block of hashes, (permutations x block), in a reused buffer."""
        cols = len(h)
        if self._buf is None or self._tmp is None:
            self._buf = np.empty((self.num_perm, _BLOCK_ROWS), np.uint64)
            self._tmp = np.empty((self.num_perm, _BLOCK_ROWS), np.uint64)
        buf, tmp = self._buf[:, :cols], self._tmp[:, :cols]
        np.multiply(self.a[:, None], h[None, :], out=buf)
        np.add(buf, self.b[:, None], out=buf)
        # Mersenne reduction: x = hi*2^61 + lo == hi + lo (mod p). The sum is < 2^61 + 8
        # and equals x mod p unless lo + hi >= p, i.e. unless x mod p < 8 (p < 2^-58):
        # a deterministic value congruent to x either way.
        np.bitwise_and(buf, _P, out=tmp)
        np.right_shift(buf, _SHIFT61, out=buf)
        np.add(buf, tmp, out=buf)
        return buf

    def signatures_from_hashes(self, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """One signature row per document from its ``lengths[d]`` consecutive shingle
        hashes in ``flat`` (all-max for a document without shingles)."""
        n_docs = len(lengths)
        sig = np.full((n_docs, self.num_perm), _EMPTY, np.uint64)
        docs = np.flatnonzero(lengths)  # documents that have shingles, in order
        if len(docs) == 0:
            return sig
        starts = np.cumsum(lengths[docs]) - lengths[docs]
        # Walk the concatenated shingles in blocks; within a block, the documents'
        # segments are reduced with one reduceat; a document cut by a block edge gets
        # the minimum of its parts.
        for c0 in range(0, len(flat), _BLOCK_ROWS):
            c1 = min(c0 + _BLOCK_ROWS, len(flat))
            first = np.searchsorted(starts, c0, side="right") - 1
            last = np.searchsorted(starts, c1, side="left")
            seg = np.maximum(starts[first:last], c0) - c0
            block_min = np.minimum.reduceat(self._permuted(flat[c0:c1]), seg, axis=1).T
            rows = docs[first:last]
            sig[rows] = np.minimum(sig[rows], block_min)
        return sig

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        return self.signatures_from_hashes(*self.batch_shingle_hashes(texts))


def signatures_or_errors(hasher: MinHasher, docs: Sequence[Document]) -> list[tuple[Document, object]]:
    """``(document, its signature)`` for each document, or ``(document, the exception)``
    for one whose text cannot be hashed: a failing batch is retried one document at a
    time, so one bad record costs only itself."""
    try:
        return list(zip(docs, hasher.signatures_from_hashes(*hasher.document_hashes(docs))))
    except Exception as e:
        if len(docs) == 1:
            return [(docs[0], e)]
        return [item for doc in docs for item in signatures_or_errors(hasher, [doc])]


def band_keys(sig: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(documents x bands) uint64 bucket keys, each a hash of one band's ``rows``
    values (polynomial over the rows, then splitmix64: numpy over the whole batch),
    and per document whether it has shingles. Two documents share a bucket when their
    band values are equal (up to a 64-bit hash collision)."""
    view = np.ascontiguousarray(sig).reshape(len(sig), bands, rows)
    keys = view[:, :, 0].copy()
    for j in range(1, rows):
        keys *= _COMBINE
        keys += view[:, :, j]
    return _splitmix64(keys), ~(sig == _EMPTY).all(axis=1)


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> list[Optional[list[int]]]:
    """Per document, the bucket key of each band (None for a document without shingles)."""
    keys, has_words = band_keys(sig, bands, rows)
    return [row if ok else None for row, ok in zip(keys.tolist(), has_words.tolist())]


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The fraction of signature positions that agree: an unbiased estimate of Jaccard."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def distinct_sorted(hashes: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` without its overhead (~3 us rather
    than ~20 us for a document's few hundred shingles)."""
    s = np.sort(hashes)
    keep = np.empty(len(s), bool)
    keep[:1] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def exact_jaccard(hashes_a: np.ndarray, hashes_b: np.ndarray) -> float:
    """Jaccard of the two documents' shingle sets (by hash)."""
    return set_jaccard(distinct_sorted(hashes_a), distinct_sorted(hashes_b))


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted arrays of distinct values."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def shingle_sets(flat: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Per document, its distinct shingle hashes, sorted (for exact verification)."""
    return [distinct_sorted(part) for part in np.split(flat, np.cumsum(lengths)[:-1])]


# --------------------------------------------------------------------------- which doc survives


def _descending_float_key(x: float) -> str:
    """A string that sorts ascending as ``x`` sorts descending (IEEE bit trick)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(x)))
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)  # ascending order
    return f"{0xFFFFFFFFFFFFFFFF - bits:016x}"


def node_key(doc: Document, keep: str, score_field: str = DEFAULT_SCORE_FIELD) -> tuple[str, str]:
    """``(rank, id)``: the smallest node of a cluster is the document kept. Strings
    only, so the key has a deterministic encoding in any shuffle."""
    if keep == "oldest":
        rank = str(doc.provenance.get("fetch_date") or "") or "\uffff"  # undated sorts last
    elif keep == "longest":
        rank = f"{(1 << 62) - len(doc.text):019d}"
    elif keep == "highest_score":
        score = field(doc.metadata, score_field)  # a dotted path walks nested dicts
        ok = isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score)
        rank = _descending_float_key(score) if ok else "\uffff"  # unscored sorts last
    else:
        rank = ""
    return (rank, doc.id)


# --------------------------------------------------------------------------- clustering


def star_edges(members: Iterable, verify_threshold: float = 0.0) -> list[tuple]:
    """Edges (smallest node -> each other node) of one LSH bucket.

    ``members`` are ``(node, signature)`` pairs; with ``verify_threshold > 0`` an edge is
    kept only if the two signatures' estimated Jaccard reaches it. O(k) per bucket of k.
    (A member that fails against the smallest node may still join through another band.)
    """
    members = sorted(dict(members).items())  # one entry per node; sorted: deterministic
    if len(members) < 2:
        return []
    center, csig = members[0]
    edges = []
    for node, sig in members[1:]:
        if verify_threshold <= 0 or estimated_jaccard(csig, sig) >= verify_threshold:
            edges.append((center, node))
    return edges


def union_find_components(edges: Iterable[tuple]) -> dict:
    """node -> smallest node of its connected component, for every node on an edge."""
    parent: dict = {}

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for u, v in edges:
        parent.setdefault(u, u)
        parent.setdefault(v, v)
        ru, rv = find(u), find(v)
        if ru != rv:
            if rv < ru:
                ru, rv = rv, ru
            parent[rv] = ru  # the smaller node stays root: the root is the component minimum
    return {x: find(x) for x in parent}


def large_star(node, neighbors: Iterable) -> list[tuple]:
    """Kiveris et al. 2014: link every larger neighbour to the smallest of the
    neighbourhood (node included)."""
    nbrs = set(neighbors)
    nbrs.discard(node)
    m = min(nbrs, default=node)
    m = min(m, node)
    return [(v, m) for v in sorted(nbrs) if v > node]


def small_star(node, smaller_neighbors: Iterable) -> list[tuple]:
    """Kiveris et al. 2014: link the node and its smaller neighbours to the smallest of them."""
    nbrs = set(smaller_neighbors)
    nbrs.discard(node)
    if not nbrs:
        return []
    m = min(nbrs)
    return [(v, m) for v in sorted(nbrs | {node}) if v != m]


def star_components(edges: Iterable[tuple], max_rounds: int = 16) -> dict:
    """The large-star/small-star algorithm in memory: the reference for the Beam rounds
    (which group by node instead of building these dicts)."""
    edges = sorted({(u, v) for u, v in edges if u != v})
    for _ in range(max_rounds):
        adj: dict = {}
        for u, v in edges:
            adj.setdefault(u, set()).add(v)
            adj.setdefault(v, set()).add(u)
        large = {e for u, nb in adj.items() for e in large_star(u, nb)}
        low: dict = {}
        for u, v in large:
            low.setdefault(max(u, v), set()).add(min(u, v))
        small = sorted({e for u, nb in low.items() for e in small_star(u, nb)})
        if small == edges:
            break
        edges = small
    else:
        if not is_star_forest(edges):
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    labels = {v: m for v, m in edges}
    labels.update({m: m for _, m in edges})
    return labels


def is_star_forest(edges: Iterable[tuple]) -> bool:
    """True when every edge points a node to its final label: each node has one target
    and no target points anywhere (the rounds have converged)."""
    targets: dict = {}
    for v, m in edges:
        if targets.setdefault(v, m) != m:
            return False
    return not any(m in targets for m in targets.values())


class HashFailed(NamedTuple):
    """The decision for a document whose text could not be hashed: an error record."""

    message: str


@dataclasses.dataclass
class ClusterLabel:
    """What a member of a cluster learns: who is kept, the cluster's id and size."""

    kept_id: str
    cluster_id: str  # the smallest document id in the cluster (independent of ``keep``)
    size: int


def label_cluster(root, nodes: Iterable) -> list[tuple[str, ClusterLabel]]:
    """(document id, label) for every node of the component whose smallest node is ``root``."""
    nodes = sorted(set(nodes) | {root})
    label = ClusterLabel(kept_id=root[1], cluster_id=min(n[1] for n in nodes), size=len(nodes))
    return [(n[1], label) for n in nodes]


def clusters(components: dict) -> dict:
    """component root -> its nodes, from node -> component root."""
    members: dict = {}
    for node, root in components.items():
        members.setdefault(root, []).append(node)
    return members


def cluster_labels(components: dict) -> dict[str, ClusterLabel]:
    """document id -> its cluster's label, from node -> component root."""
    return {
        doc_id: label for root, nodes in clusters(components).items() for doc_id, label in label_cluster(root, nodes)
    }


def apply_label(doc: Document, label: Optional[ClusterLabel]):
    """The document (kept, with its cluster on the metadata) or its Rejected record."""
    if label is None:
        return doc
    if label.kept_id == doc.id:
        doc.metadata[STAGE] = {"cluster_id": label.cluster_id, "cluster_size": label.size}
        return doc
    return Rejected(doc, STAGE, "near_duplicate", {"duplicate_of": label.kept_id, "cluster_id": label.cluster_id})


def apply_decision(doc: Document, decision):
    """:func:`apply_label` for a :class:`ClusterLabel` (or None: in no cluster), the
    document's error record for a :class:`HashFailed`."""
    if isinstance(decision, HashFailed):
        return ErrorRecord.for_document(doc, STAGE, decision.message)
    return apply_label(doc, decision)


@register_stage(STAGE, MinHashDedupConfig, transform="pipelines.dedup:MinHashDedup")
def dedup_documents(docs: Sequence[Document], config: MinHashDedupConfig) -> list:
    """The whole stage on one machine: each input document, in order, kept or Rejected.

    Same result as the Beam transform (tested); used by the benchmarks as "core alone".
    """
    hasher = MinHasher(config.ngram, config.num_perm, config.seed)
    in_bucket = config.verify_threshold if config.verify == "signature" else 0.0
    buckets: dict = {}
    sets: dict = {}
    for start in range(0, len(docs), config.batch_size):
        batch = docs[start : start + config.batch_size]
        flat, lengths = hasher.document_hashes(batch)
        sig = hasher.signatures_from_hashes(flat, lengths)
        nodes = [node_key(d, config.keep, config.score_field) for d in batch]
        if config.verify == "exact":
            sets.update(zip(nodes, shingle_sets(flat, lengths)))
        for node, row, bh in zip(nodes, sig, band_hashes(sig, config.bands, config.rows)):
            for i, h in enumerate(bh or ()):
                buckets.setdefault((i, h), []).append((node, row))
    edges = {e for members in buckets.values() if len(members) > 1 for e in star_edges(members, in_bucket)}
    if config.verify == "exact":
        edges = {(u, v) for u, v in edges if set_jaccard(sets[u], sets[v]) >= config.verify_threshold}
    labels = cluster_labels(union_find_components(sorted(edges)))
    return [apply_label(d, labels.get(d.id)) for d in docs]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Print the MinHash LSH threshold and detection curve.")
    ap.add_argument("--bands", type=int, default=MinHashDedupConfig.bands)
    ap.add_argument("--rows", type=int, default=MinHashDedupConfig.rows)
    ap.add_argument("--ngram", type=int, default=MinHashDedupConfig.ngram)
    args = ap.parse_args(argv)
    print(describe_lsh(args.bands, args.rows, args.ngram))


if __name__ == "__main__":
    main()
