"""Sentence-level deduplication: spans of ``k`` consecutive sentences repeated across
the run are kept once and cut out of every other document (C4; datatrove's
``SentenceDedup`` with ``n_sentences=3``).

The core is three pure steps, which the Beam glue in ``pipelines/span_dedup.py``
runs around two shuffles, neither of which carries whole documents through the span
grouping:

1. :meth:`SentenceDedup.span_keys` — per document, the key and position of every
   window of ``k`` consecutive units. A unit is a sentence
   (:func:`curate.segment.split_sentences` in the document's language, which does
   not split inside abbreviations, initials, numbers, dates, URLs or quotes; lone
   newlines read as spaces when ``join_wrapped_lines``) for prose and conversation
   threads, or a non-empty line for code sources when ``code: lines``. Units whose
   normalised form (:func:`curate.text.normalize`) is empty ("* * *", "}") are skipped
   so they neither form nor break spans. The key is the 128-bit xxh3 hash of the
   ``k`` normalised units, so spans that differ only in case, punctuation, digits or
   spacing match; at 128 bits a false match needs ~2^64 spans, so groups are not
   re-verified.
2. :func:`curate.dedup.spans.find_duplicates` — per hash bucket of span keys, the
   keep rule (see :mod:`curate.dedup.spans`).
3. :meth:`SentenceDedup.apply` — per document, cut the units of its duplicate spans
   (overlapping spans merged; a merged run shorter than the minimum span worth
   cutting, ``min_span_words`` words and ``min_span_chars`` characters, stays), store
   signals, then re-check the length:
   ``all_duplicate`` when nothing is left, ``too_short_after_dedup`` under
   ``min_words`` words. Documents that lost nothing are never dropped here.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal, Union

import numpy as np
import xxhash

from curate import text as T
from curate.dedup.spans import (
    MIN_SPAN_CHARS,
    MIN_SPAN_WORDS,
    SpanStage,
    cut_and_check,
    digest_keys,
    line_ranges,
    worth_cutting,
)
from curate.document import Document, Drop
from curate.params import param
from curate.registry import register_stage
from curate.segment import DEFAULT_LANGUAGE, split_sentences

NAME = "sentence_dedup"


_NEWLINE_RUN = re.compile(r"\s*\n\s*")


def unwrap_lines(text: str) -> str:
    """``text`` with every lone newline (one inside a whitespace run) turned into a
    space; paragraph breaks stay. The length does not change."""
    return _NEWLINE_RUN.sub(lambda m: m.group().replace("\n", " ") if m.group().count("\n") == 1 else m.group(), text)


@dataclasses.dataclass
class SentenceDedupConfig:
    k: int = param(3, min=1)  # consecutive sentences per span (C4, datatrove)
    min_words: int = param(50, min=0)  # an edited document keeps at least this many words
    within_document: bool = True  # also cut a span's later repeats inside one document
    code: Literal["lines", "exclude"] = "lines"  # code sources: line spans, or leave untouched
    code_sources: list[str] = dataclasses.field(default_factory=lambda: ["code"])
    # A single newline inside a paragraph does not end a sentence (hard-wrapped books,
    # e-mail): two copies of a passage wrapped at different columns still match.
    join_wrapped_lines: bool = True
    # True: a removal never cuts into a span's kept first occurrence, so every repeated
    # span survives whole somewhere, at the cost of short residual repeats (up to k-1
    # units beside it). False (C4, datatrove): every later occurrence goes, whatever it
    # overlaps.
    keep_first_whole: bool = False
    hash_buckets: int = param(64, min=1)  # shuffle groups of span keys (see curate.dedup.spans.bucket_blocks)
    # The minimum span worth cutting: a run of duplicate units is removed only when it
    # holds this many words and characters (see docs/dedup-spans.md for how the
    # defaults were measured), across documents and within one alike.
    min_span_words: int = param(MIN_SPAN_WORDS, min=0)
    min_span_chars: int = param(MIN_SPAN_CHARS, min=0)
    # sentence rules (curate.segment) for documents without metadata.language
    language: str = param(DEFAULT_LANGUAGE, nonempty=True)

    @property
    def span_len(self) -> int:
        return self.k


@register_stage(NAME, SentenceDedupConfig, transform="pipelines.span_dedup:sentence_dedup")
class SentenceDedup(SpanStage):
    # signals :meth:`cut` stores that are also counted as statistics
    STATS = ("units_removed", "spans_below_floor", "chars_removed", "bytes_removed")

    def __init__(self, config: SentenceDedupConfig):
        self.config = config

    def unit_kind(self, doc: Document) -> str | None:
        """``"sentence"``, ``"line"`` (code with ``code: lines``), or ``None`` (excluded)."""
        if doc.source in self.config.code_sources:
            return "line" if self.config.code == "lines" else None
        return "sentence"

    def units(self, doc: Document) -> tuple[list[tuple[int, int]], list[str]]:
        """Character ranges and normalised forms of the units that can form spans."""
        kind = self.unit_kind(doc)
        if kind is None:
            return [], []
        text = doc.text
        if kind == "line":
            ranges = line_ranges(text)
        elif self.config.join_wrapped_lines:
            ranges = split_sentences(unwrap_lines(text), self.language(doc))  # same length
        else:  # every newline ends a sentence
            language = self.language(doc)
            ranges = [
                (ls + s, ls + e) for ls, le in line_ranges(text) for s, e in split_sentences(text[ls:le], language)
            ]
        offsets, norms = [], []
        for s, e in ranges:
            norm = T.normalize(text[s:e])
            if norm:
                offsets.append((s, e))
                norms.append(norm)
        return offsets, norms

    def language(self, doc: Document) -> str:
        return doc.metadata.get("language") or self.config.language

    def doc_span_keys(self, doc: Document) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The Beam layer's entry point (as for token_dedup): :meth:`span_keys`."""
        return self.span_keys(doc)

    def span_keys(self, doc: Document) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions, key_hi, key_lo)``: each ``k``-unit window's first unit and key."""
        k = self.config.k
        _, norms = self.units(doc)
        count = max(0, len(norms) - k + 1)
        hi, lo = digest_keys(
            [xxhash.xxh3_128_digest("\n".join(norms[i : i + k]).encode("utf-8")) for i in range(count)]
        )
        return np.arange(count, dtype=np.int64), hi, lo

    def cut(self, doc: Document, intervals) -> Union[Document, Drop]:
        """Cut the units of ``intervals`` (merged unit ranges; see :meth:`SpanStage.apply`)."""
        kind = self.unit_kind(doc)
        if kind is None:
            doc.set_signals(NAME, {"excluded": True})
            return doc
        if not intervals:
            return cut_and_check(doc, NAME, [], {"unit": kind, "units_removed": 0, "spans_below_floor": 0}, 0)
        offsets, _ = self.units(doc)
        if intervals[-1][1] > len(offsets):
            raise ValueError(f"duplicate span ends at unit {intervals[-1][1]} but the document has {len(offsets)}")
        c = self.config
        kept, units, below = [], 0, 0
        for s, e in intervals:
            start, end = offsets[s][0], offsets[e - 1][1]
            if worth_cutting(doc.text, start, end, c.min_span_words, c.min_span_chars, self.language(doc)):
                kept.append((start, end))
                units += e - s
            else:
                below += 1
        signals = {"unit": kind, "units_removed": units, "spans_below_floor": below}
        return cut_and_check(doc, NAME, kept, signals, c.min_words)
