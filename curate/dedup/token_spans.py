"""Token-level deduplication: exact spans of at least ``min_tokens`` tokens (Lee et al.
2022, "ExactSubstr", used 50) that occur in more than one document are kept in one
document and cut out of the others.

Lee et al. find them with a suffix array of the whole corpus on one machine. Here a
span of ``L >= N`` repeated tokens shows up as ``L - N + 1`` repeated windows of exactly
``N`` token ids, so it is enough to hash every window and group equal hashes, which
distributes:

1. :meth:`TokenDedup.tokenize` encodes the text with the configured SentencePiece model
   (``encode(..., return_type="proto")``), which gives each piece's byte range in the
   original text. Unknown pieces (``<unk>``) are hashed by their surface text, so two
   different rare characters never make windows equal.
2. :func:`window_keys` hashes each window of ``N`` ids with xxh3-128 (two uint64
   halves). A false match needs about 2^64 windows, so groups are not re-verified.
3. :meth:`TokenDedup.bucketed_windows` splits a document's windows into
   ``hash_buckets`` buckets by hash; the Beam glue groups buckets across documents and
   applies :func:`curate.dedup.spans.find_duplicates` to a whole bucket with numpy.
   Grouping buckets rather than single hashes matters because there is one window per
   token: a GroupByKey element per window costs ~4 us (measured, see
   ``../shared/NOTES.md``), more than tokenizing. A bucket holds about
   ``total windows / hash_buckets`` entries of ~40 bytes in memory, so raise
   ``hash_buckets`` with the corpus (10^10 tokens -> 4096 buckets, ~100 MB each).
4. :meth:`TokenDedup.apply` re-tokenizes a document that lost windows (the same model
   gives the same pieces), merges the windows into token spans, maps them to
   character ranges through the piece offsets and cuts them
   (:func:`curate.dedup.spans.cut_and_check`). The text stays the source of truth:
   the run's final tokenization encodes the edited text afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
import xxhash

from curate.config import ConfigError
from curate.dedup.spans import cut_and_check, rank_doc_ids, removal_intervals
from curate.document import Document, Drop
from curate.registry import register_stage

NAME = "token_dedup"
_UNK_TAG = np.uint32(0x80000000)  # above any vocabulary id: marks a hashed <unk> surface


@dataclasses.dataclass
class TokenDedupConfig:
    model: Optional[str] = None  # SentencePiece .model path (the run's tokenizer)
    min_tokens: int = 50  # N: shortest repeated span removed (Lee et al. 2022)
    within_document: bool = False  # True: also cut repeats inside the keeper's document
    min_words: int = 50  # an edited document keeps at least this many words
    hash_buckets: int = 64  # shuffle groups of windows; raise with corpus size
    keep_first_whole: bool = False  # as for sentence_dedup: never cut a kept first occurrence

    def validate(self, key: str) -> None:
        if self.min_tokens < 2:
            raise ConfigError(f"{key}.min_tokens: must be >= 2, got {self.min_tokens}")
        if self.hash_buckets < 1:
            raise ConfigError(f"{key}.hash_buckets: must be >= 1, got {self.hash_buckets}")
        if self.min_words < 0:
            raise ConfigError(f"{key}.min_words: must be >= 0, got {self.min_words}")


class Tokens(NamedTuple):
    """One document's pieces: ids to hash, and each piece's byte range in the text."""

    hash_ids: np.ndarray  # uint32; <unk> replaced by _UNK_TAG | hash of its surface
    byte_begin: np.ndarray  # int64
    byte_end: np.ndarray  # int64


class WindowBlock(NamedTuple):
    """Windows of several documents that fell in one hash bucket, packed as bytes
    (cheap to shuffle: no pickled arrays). ``doc_index`` indexes ``doc_ids``."""

    doc_ids: list
    doc_index: bytes  # int32 per window
    positions: bytes  # int32 per window: the window's first token
    key_hi: bytes  # uint64 per window
    key_lo: bytes  # uint64 per window


def merge_blocks(blocks: Iterable[WindowBlock]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One bucket's blocks -> (sorted doc ids, doc rank, position, key_hi, key_lo) per window,
    ready for :func:`curate.dedup.spans.find_duplicates`."""
    blocks = list(blocks)
    names, block_ranks = rank_doc_ids([d for b in blocks for d in b.doc_ids])
    ranks, offset = [], 0
    for b in blocks:
        ranks.append(block_ranks[offset : offset + len(b.doc_ids)][np.frombuffer(b.doc_index, dtype="<i4")])
        offset += len(b.doc_ids)

    def cat(field, dtype):
        return np.concatenate([np.frombuffer(getattr(b, field), dtype=dtype) for b in blocks])

    return names, np.concatenate(ranks), cat("positions", "<i4"), cat("key_hi", "<u8"), cat("key_lo", "<u8")


def window_keys(hash_ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """xxh3-128 of every window of ``n`` consecutive ids, as (high, low) uint64 arrays;
    entry ``i`` is the window starting at token ``i``."""
    count = len(hash_ids) - n + 1
    if count <= 0:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty
    buf = memoryview(np.ascontiguousarray(hash_ids, dtype="<u4").tobytes())
    digests = b"".join(xxhash.xxh3_128_digest(buf[4 * i : 4 * (i + n)]) for i in range(count))
    halves = np.frombuffer(digests, dtype="<u8").reshape(count, 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


def byte_to_char_offsets(text: str, byte_offsets: np.ndarray) -> np.ndarray:
    """Character offsets in ``text`` of UTF-8 byte offsets (which fall on character starts)."""
    data = text.encode("utf-8")
    if len(data) == len(text):  # ASCII: the same
        return np.asarray(byte_offsets, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])  # chars begun before byte i
    return starts[np.asarray(byte_offsets, dtype=np.int64)]


@register_stage(NAME, TokenDedupConfig, per_document=False)
class TokenDedup:
    def __init__(self, config: TokenDedupConfig, processor=None):
        """``processor`` is a loaded ``SentencePieceProcessor``; without one,
        :meth:`setup` loads ``config.model``."""
        self.config = config
        self.sp = processor

    def setup(self) -> None:
        if self.sp is None:
            import sentencepiece as spm

            if not self.config.model:
                raise ConfigError(f"stages.{NAME}.model: a SentencePiece model path is required")
            self.sp = spm.SentencePieceProcessor(model_file=self.config.model)

    def tokenize(self, text: str) -> Tokens:
        proto = self.sp.encode(text, return_type="proto")
        pieces = proto.pieces
        ids = np.fromiter((p.id for p in pieces), dtype=np.uint32, count=len(pieces))
        begin = np.fromiter((p.begin for p in pieces), dtype=np.int64, count=len(pieces))
        end = np.fromiter((p.end for p in pieces), dtype=np.int64, count=len(pieces))
        unk = np.flatnonzero(ids == self.sp.unk_id())
        if len(unk):
            data = text.encode("utf-8")
            for i in unk:
                ids[i] = _UNK_TAG | np.uint32(xxhash.xxh32_intdigest(data[begin[i] : end[i]]) >> 1)
        return Tokens(ids, begin, end)

    def bucketed_windows(self, batch: Sequence[tuple[str, Tokens]]) -> Iterator[tuple[int, WindowBlock]]:
        """The windows of a batch of ``(doc_id, tokens)``, as one block per hash bucket.

        One shuffle element per bucket and batch (not per window, nor per document
        and bucket) keeps Beam's per-element cost off the hot path.
        """
        n = self.config.min_tokens
        parts = []
        for index, (_, tokens) in enumerate(batch):
            hi, lo = window_keys(tokens.hash_ids, n)
            if len(hi):
                parts.append((np.full(len(hi), index, dtype=np.int32), np.arange(len(hi), dtype=np.int32), hi, lo))
        if not parts:
            return
        doc_index, pos, hi, lo = (np.concatenate(col) for col in zip(*parts))
        bucket = hi % np.uint64(self.config.hash_buckets)
        order = np.argsort(bucket, kind="stable")
        cuts = np.flatnonzero(np.diff(bucket[order])) + 1
        for idx in np.split(order, cuts):
            present, local = np.unique(doc_index[idx], return_inverse=True)
            yield int(bucket[idx[0]]), WindowBlock(
                [batch[i][0] for i in present], local.astype("<i4").tobytes(),
                pos[idx].astype("<i4").tobytes(), hi[idx].tobytes(), lo[idx].tobytes(),
            )

    def apply(
        self, doc: Document, remove: Iterable[int], keep: Iterable[int] = ()
    ) -> Union[Document, Drop]:
        """Cut the tokens of the duplicate windows starting at ``remove``, except tokens
        of first occurrences starting at ``keep`` (see :func:`removal_intervals`)."""
        intervals = removal_intervals(
            remove, keep if self.config.keep_first_whole else (), self.config.min_tokens
        )
        if not intervals:
            doc.set_signals(
                NAME, {"tokens_removed": 0, "spans_removed": 0, "chars_removed": 0, "bytes_removed": 0}
            )
            return doc
        tokens = self.tokenize(doc.text)
        if intervals[-1][1] > len(tokens.hash_ids):
            raise ValueError(
                f"duplicate window ends at token {intervals[-1][1]} but the document has "
                f"{len(tokens.hash_ids)} tokens (tokenizer changed between passes?)"
            )
        starts = np.array([tokens.byte_begin[s] for s, _ in intervals])
        ends = np.array([tokens.byte_end[e - 1] for _, e in intervals])
        char_starts = byte_to_char_offsets(doc.text, starts)
        char_ends = byte_to_char_offsets(doc.text, ends)
        signals = {
            "tokens_removed": sum(e - s for s, e in intervals),
            "spans_removed": len(intervals),
        }
        return cut_and_check(
            doc, NAME, list(zip(char_starts.tolist(), char_ends.tolist())), signals, self.config.min_words
        )
