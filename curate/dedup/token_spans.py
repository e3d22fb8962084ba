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
3. The windows of a batch of documents are packed per hash bucket
   (:func:`curate.dedup.spans.bucket_blocks`), grouped by bucket across the run and
   judged a whole bucket at a time with numpy
   (:func:`curate.dedup.spans.find_duplicates`). There is one window per token, so a
   shuffle element per window (~4 us each in Beam) would cost more than tokenizing.
4. :meth:`TokenDedup.apply` re-tokenizes a document that lost windows (the same model
   gives the same pieces), merges the windows into token spans, maps them to
   character ranges through the piece offsets, widens each to word boundaries (a
   piece can start inside a word or a number: the cut takes the whole word,
   :func:`curate.dedup.spans.widen_to_words`), keeps those that hold the minimum span
   worth cutting (``min_span_words``, ``min_span_chars``) and cuts them
   (:func:`curate.dedup.spans.cut_and_check`). The text stays the source of truth:
   the run's final tokenization encodes the edited text afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional, Union

import numpy as np
import xxhash

from curate.dedup.spans import (
    MIN_SPAN_CHARS,
    MIN_SPAN_WORDS,
    SpanStage,
    cut_and_check,
    digest_keys,
    widen_to_words,
    worth_cutting,
)
from curate.document import Document, Drop
from curate.params import ConfigError, param
from curate.registry import register_stage

NAME = "token_dedup"
_UNK_TAG = np.uint32(0x80000000)  # above any vocabulary id: marks a hashed <unk> surface


@dataclasses.dataclass
class TokenDedupConfig:
    model: Optional[str] = None  # SentencePiece .model path (the run's tokenizer)
    min_tokens: int = param(50, min=2)  # N: shortest repeated span removed (Lee et al. 2022)
    within_document: bool = False  # True: also cut repeats inside the keeper's document
    min_words: int = param(50, min=0)  # an edited document keeps at least this many words
    hash_buckets: int = param(64, min=1)  # shuffle groups of windows; raise with corpus size
    keep_first_whole: bool = False  # as for sentence_dedup: never cut a kept first occurrence
    # as for sentence_dedup: a cut (widened to word boundaries) must hold this much
    min_span_words: int = param(MIN_SPAN_WORDS, min=0)
    min_span_chars: int = param(MIN_SPAN_CHARS, min=0)

    @property
    def span_len(self) -> int:
        return self.min_tokens


class Tokens(NamedTuple):
    """One document's pieces: ids to hash, and each piece's byte range in the text."""

    hash_ids: np.ndarray  # uint32; <unk> replaced by _UNK_TAG | hash of its surface
    byte_begin: Optional[np.ndarray]  # int64
    byte_end: Optional[np.ndarray]  # int64


def window_keys(hash_ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """xxh3-128 of every window of ``n`` consecutive ids, as (high, low) uint64 arrays;
    entry ``i`` is the window starting at token ``i``."""
    count = len(hash_ids) - n + 1
    if count <= 0:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty
    buf = memoryview(np.ascontiguousarray(hash_ids, dtype="<u4").tobytes())
    return digest_keys([xxhash.xxh3_128_digest(buf[4 * i : 4 * (i + n)]) for i in range(count)])


def byte_to_char_offsets(text: str, byte_offsets: np.ndarray) -> np.ndarray:
    """Character offsets in ``text`` of UTF-8 byte offsets (which fall on character starts)."""
    data = text.encode("utf-8")
    if len(data) == len(text):  # ASCII: the same
        return np.asarray(byte_offsets, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])  # chars begun before byte i
    return starts[np.asarray(byte_offsets, dtype=np.int64)]


@register_stage(NAME, TokenDedupConfig, transform="pipelines.span_dedup:token_dedup")
class TokenDedup(SpanStage):
    # signals :meth:`cut` stores that are also counted as statistics
    STATS = ("tokens_removed", "spans_removed", "spans_below_floor", "chars_removed", "bytes_removed")

    name: str  # set by register_stage

    def __init__(self, config: TokenDedupConfig, processor=None):
        """``processor`` is a loaded ``SentencePieceProcessor``; without one,
        :meth:`setup` loads ``config.model``."""
        self.config = config
        self.sp = processor

    def setup(self) -> None:
        if self.sp is None:
            from curate.tokenize import load_processor, read_model

            if not self.config.model:
                raise ConfigError(f"stages.{self.name}.model: a SentencePiece model path is required")
            self.sp = load_processor(read_model(self.config.model))

    def tokenize(self, text: str, offsets: bool = True) -> Tokens:
        """Pieces of ``text``. Without ``offsets`` (the hashing pass) the plain id
        encoding is enough, ~5x cheaper than the proto, unless the text has ``<unk>``
        pieces, whose surfaces are needed; then ``byte_begin``/``byte_end`` are None."""
        if not offsets:
            ids = np.asarray(self.sp.encode(text), dtype=np.uint32)
            if not (ids == self.sp.unk_id()).any():
                return Tokens(ids, None, None)
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

    def span_keys(self, tokens: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions, key_hi, key_lo)`` of every window of ``min_tokens`` tokens."""
        hi, lo = window_keys(tokens.hash_ids, self.config.min_tokens)
        return np.arange(len(hi), dtype=np.int64), hi, lo

    def doc_span_keys(self, doc: Document) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`span_keys` of the document's text (the Beam layer's entry point)."""
        return self.span_keys(self.tokenize(doc.text, offsets=False))

    def cut(self, doc: Document, intervals) -> Union[Document, Drop]:
        """Cut the tokens of ``intervals`` (merged token ranges; see :meth:`SpanStage.apply`)."""
        if not intervals:
            return cut_and_check(doc, NAME, [], {"tokens_removed": 0, "spans_removed": 0, "spans_below_floor": 0}, 0)
        tokens = self.tokenize(doc.text)
        if intervals[-1][1] > len(tokens.hash_ids):
            raise ValueError(
                f"duplicate window ends at token {intervals[-1][1]} but the document has "
                f"{len(tokens.hash_ids)} tokens (tokenizer changed between passes?)"
            )
        assert tokens.byte_begin is not None and tokens.byte_end is not None  # tokenized with offsets
        starts = np.array([tokens.byte_begin[s] for s, _ in intervals])
        ends = np.array([tokens.byte_end[e - 1] for _, e in intervals])
        char_starts = byte_to_char_offsets(doc.text, starts).tolist()
        char_ends = byte_to_char_offsets(doc.text, ends).tolist()
        cuts = widen_to_words(doc.text, list(zip(char_starts, char_ends)))
        c = self.config
        language = doc.metadata.get("language")
        worth = [worth_cutting(doc.text, s, e, c.min_span_words, c.min_span_chars, language) for s, e in cuts]
        # each token interval lies inside exactly one widened cut
        cut_of = np.searchsorted([s for s, _ in cuts], char_starts, side="right") - 1
        signals = {
            "tokens_removed": sum(e - s for (s, e), i in zip(intervals, cut_of) if worth[i]),
            "spans_removed": sum(worth),
            "spans_below_floor": len(worth) - sum(worth),
        }
        return cut_and_check(doc, NAME, [cut for cut, w in zip(cuts, worth) if w], signals, c.min_words)
