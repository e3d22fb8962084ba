"""What sentence-level and token-level dedup share: the keep rule over the occurrences
of one repeated span, interval merging, and cutting spans out of a text.

Both stages find spans (k sentences, or N tokens) that occur more than once in the
run, keep one occurrence and remove the others. The keep rule is deterministic and
depends only on the occurrences themselves, never on run order:

* the **keeper** is the occurrence with the smallest document id, then the smallest
  position in that document (document ids are stable hashes of the record, see
  :func:`curate.document.make_id`, so "first" is arbitrary but reproducible);
* with ``within_document=True`` (C4's "all but one of any three-sentence span
  occurring more than once in the data set") every other occurrence is removed,
  except occurrences in the keeper's document that overlap the keeper itself (a run of
  one repeated sentence "A A A A" keeps its first span);
* with ``within_document=False`` (Lee et al.'s "occurs in more than one document")
  only occurrences in documents other than the keeper's are removed; a span repeated
  inside a single document is left alone.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
import xxhash

from curate import text as T
from curate.base import StageStats
from curate.document import Document, Drop, Rejected
from curate.lang import segmenter_name
from curate.segment import glued, unspaced

# Defaults of the minimum span worth cutting, shared by both span stages: a removal
# must hold this many words (:func:`span_words`) and characters. Measured, see
# docs/dedup-spans.md ("The minimum span worth cutting").
MIN_SPAN_WORDS = 8
MIN_SPAN_CHARS = 40


class SpanBlock(NamedTuple):
    """Span occurrences of several documents that fell in one hash bucket, packed as
    bytes (cheap to shuffle: no pickled arrays). ``doc_index`` indexes ``doc_ids``;
    ``doc_file`` gives each document's work file as an index into ``files`` (a batch
    comes from one or two files, so a path is carried once per block, not per document)."""

    doc_ids: list
    doc_index: bytes  # int32 per occurrence
    positions: bytes  # int32 per occurrence: the span's first unit or token
    key_hi: bytes  # uint64 per occurrence
    key_lo: bytes  # uint64 per occurrence
    files: tuple = ()  # the work files of the documents (empty: not known, in-memory use)
    doc_file: bytes = b""  # int32 per document: its index in ``files``


class DocCopy(NamedTuple):
    """One document as the duplicate-id check sees it: ``rank`` orders the copies of an
    id by content, (source, :func:`text_hash`); the smallest is kept."""

    doc_id: str
    file: str
    rank: tuple


class CopyBlock(NamedTuple):
    """The documents of a batch whose ids fell in one hash bucket (:func:`copy_blocks`)."""

    copies: list  # DocCopy


class SpanDecision(NamedTuple):
    """What one document loses, from the keep rule over every bucket (merged with
    :func:`merge_decisions`). Ranges are half-open, in units or tokens, merged."""

    occurrences: int = 0  # span occurrences removed
    cut: tuple = ()  # ranges covered by removed occurrences
    protect: tuple = ()  # ranges of kept first occurrences (kept only with keep_first_whole)
    # the id names several documents: only the copy whose text hash is ``copy`` is
    # deduplicated, the others are dropped (``""``: none in this work file)
    copy: Optional[str] = None
    errored: tuple = ()  # text hashes of copies whose span keys failed (their error is out)


def text_hash(text) -> str:
    """xxh3-128 hex digest of a document's text (any text, lone surrogates included;
    a text that is not a str, which the span keys reject, by its repr)."""
    data = text if isinstance(text, str) else repr(text)
    return xxhash.xxh3_128_hexdigest(data.encode("utf-8", "surrogatepass"))


def digest_keys(digests: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """16-byte digests (xxh3-128) as (high, low) uint64 arrays."""
    if not digests:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty
    halves = np.frombuffer(b"".join(digests), dtype="<u8").reshape(len(digests), 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


def bucket_blocks(
    batch: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    buckets: int,
    files: Optional[Sequence[str]] = None,
) -> Iterator[tuple[int, SpanBlock]]:
    """The span occurrences ``(doc_id, positions, key_hi, key_lo)`` of a batch of
    documents (``files[i]``: the work file of document ``i``), as one block per hash
    bucket (``key_hi % buckets``).

    Grouping buckets instead of single span keys keeps Beam's per-element cost (~4 us
    per element through a GroupByKey) off the hot path: one shuffle element per
    bucket and batch, and the keep rule runs on a whole bucket at once. A bucket holds
    about ``occurrences in the run / buckets`` entries of ~30 bytes, so ``buckets``
    grows with the corpus (10^10 tokens -> 4096 buckets of ~75 MB).
    """
    parts = [
        (np.full(len(pos), i, dtype=np.int32), pos, hi, lo) for i, (_, pos, hi, lo) in enumerate(batch) if len(pos)
    ]
    if not parts:
        return
    doc_index, pos, hi, lo = (np.concatenate(col) for col in zip(*parts))
    if files is not None:
        file_names = tuple(sorted(set(files)))
        file_of = np.fromiter((file_names.index(f) for f in files), dtype="<i4", count=len(files))
    bucket = hi % np.uint64(buckets)
    order = np.argsort(bucket, kind="stable")
    cuts = np.flatnonzero(np.diff(bucket[order])) + 1
    for idx in np.split(order, cuts):
        present, local = np.unique(doc_index[idx], return_inverse=True)
        block = SpanBlock(
            [batch[i][0] for i in present],
            local.astype("<i4").tobytes(),
            pos[idx].astype("<i4").tobytes(),
            hi[idx].astype("<u8").tobytes(),
            lo[idx].astype("<u8").tobytes(),
        )
        if files is not None:
            block = block._replace(files=file_names, doc_file=file_of[present].tobytes())
        yield int(bucket[idx[0]]), block


def copy_blocks(copies: Sequence[DocCopy], buckets: int) -> Iterator[tuple[int, CopyBlock]]:
    """The documents of a batch, one block per hash bucket of their ids, for the
    duplicate-id check (:func:`decide_bucket`)."""
    by_bucket: dict[int, list] = {}
    for c in copies:
        by_bucket.setdefault(xxhash.xxh3_64_intdigest(c.doc_id.encode("utf-8", "surrogatepass")) % buckets, []).append(
            c
        )
    for bucket in sorted(by_bucket):
        yield bucket, CopyBlock(by_bucket[bucket])


def merge_blocks(blocks: Iterable[SpanBlock]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One bucket's blocks -> (sorted doc ids, doc rank, position, key_hi, key_lo) per
    occurrence, ready for :func:`find_duplicates`."""
    blocks = list(blocks)
    names, block_ranks = rank_doc_ids([d for b in blocks for d in b.doc_ids])
    ranks, offset = [], 0
    for b in blocks:
        ranks.append(block_ranks[offset : offset + len(b.doc_ids)][np.frombuffer(b.doc_index, dtype="<i4")])
        offset += len(b.doc_ids)

    def cat(field, dtype):
        return np.concatenate([np.frombuffer(getattr(b, field), dtype=dtype) for b in blocks])

    return names, np.concatenate(ranks), cat("positions", "<i4"), cat("key_hi", "<u8"), cat("key_lo", "<u8")


def rank_doc_ids(doc_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Sorted distinct ids, and each input id's index in that list (its rank)."""
    names = sorted(set(doc_ids))
    index = {name: i for i, name in enumerate(names)}
    return names, np.fromiter((index[d] for d in doc_ids), dtype=np.int64, count=len(doc_ids))


class Decisions(NamedTuple):
    """What the keep rule decided for one document: the positions of its span
    occurrences to remove, and of those it keeps as the first occurrence of a
    repeated span (which no overlapping removal may cut)."""

    remove: np.ndarray
    keep: np.ndarray


def find_duplicates(
    doc_rank: np.ndarray,
    positions: np.ndarray,
    key_hi: np.ndarray,
    key_lo: np.ndarray,
    span_len: int,
    within_document: bool,
) -> dict[int, Decisions]:
    """Apply the keep rule to many occurrences at once (numpy, no per-span Python).

    Occurrence ``i`` is span key ``(key_hi[i], key_lo[i])`` found at ``positions[i]``
    in the document of rank ``doc_rank[i]`` (ranks order documents as their ids do,
    see :func:`rank_doc_ids`). Returns, for each document concerned, the sorted
    positions to remove and the keeper positions of the spans that lose a copy.
    """
    n = len(doc_rank)
    if n < 2:
        return {}
    d = np.asarray(doc_rank, dtype=np.int64)
    p = np.asarray(positions, dtype=np.int64)
    hi = np.asarray(key_hi, dtype=np.uint64)
    lo = np.asarray(key_lo, dtype=np.uint64)
    order = np.lexsort((p, d, lo, hi))
    hi, lo, d, p = hi[order], lo[order], d[order], p[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    group_start = np.flatnonzero(new_group)
    first = group_start[np.cumsum(new_group) - 1]  # each occurrence's keeper
    keeper_doc, keeper_pos = d[first], p[first]
    if within_document:
        dup = ~new_group & ~((d == keeper_doc) & (p - keeper_pos < span_len))
    else:
        dup = d != keeper_doc
    if not dup.any():
        return {}
    kept = group_start[np.add.reduceat(dup.astype(np.int64), group_start) > 0]
    out: dict[int, Decisions] = {}
    empty = np.zeros(0, dtype=np.int64)
    for field, (dd, pp) in (("remove", (d[dup], p[dup])), ("keep", (d[kept], p[kept]))):
        by_doc = np.lexsort((pp, dd))
        dd, pp = dd[by_doc], pp[by_doc]
        cuts = np.flatnonzero(np.diff(dd)) + 1
        for dc, pc in zip(np.split(dd, cuts), np.split(pp, cuts)):
            rank = int(dc[0])
            prev = out.get(rank, Decisions(empty, empty))
            out[rank] = prev._replace(**{field: np.unique(pc)})
    return out


def decide_bucket(
    blocks: Iterable[Union[SpanBlock, CopyBlock]], span_len: int, within_document: bool, keep_first_whole: bool
) -> list[tuple[str, str, SpanDecision]]:
    """One bucket's blocks -> ``(work file, doc id, decision)`` for each document that
    loses span occurrences here, and for each copy of an id that names several
    documents (the copy with the smallest :class:`DocCopy` rank is deduplicated, the
    others dropped). A document's decisions from several buckets are merged with
    :func:`merge_decisions`; a document with none is left as it is."""
    blocks = list(blocks)
    spans = [b for b in blocks if isinstance(b, SpanBlock)]
    out = []
    if spans:
        names, ranks, pos, hi, lo = merge_blocks(spans)
        found = (
            find_duplicates(ranks, pos, hi, lo, span_len, within_document) if len(names) > 1 or within_document else {}
        )
        if found:
            files_of = _rank_files(spans, names, found)
            for rank, d in found.items():
                decision = SpanDecision(
                    len(d.remove),
                    tuple(merge_starts(d.remove, span_len)),
                    tuple(merge_starts(d.keep, span_len)) if keep_first_whole else (),
                )
                out += [(f, names[rank], decision) for f in files_of[rank]]
    copies: dict[str, list[DocCopy]] = {}
    for b in blocks:
        if isinstance(b, CopyBlock):
            for c in b.copies:
                copies.setdefault(c.doc_id, []).append(c)
    for doc_id, group in copies.items():
        if len(group) > 1:
            kept = min(group, key=lambda c: c.rank)
            out += [
                (f, doc_id, SpanDecision(copy=kept.rank[-1] if f == kept.file else "")) for f in {c.file for c in group}
            ]
    return out


def _rank_files(blocks: Sequence[SpanBlock], names: list, ranks: Iterable[int]) -> dict[int, set]:
    """The work files the documents of ``ranks`` are in (one, unless an id names several documents)."""
    index = {names[r]: r for r in ranks}
    out: dict[int, set] = {r: set() for r in ranks}
    for b in blocks:
        doc_file = np.frombuffer(b.doc_file, dtype="<i4")
        for i, doc_id in enumerate(b.doc_ids):
            r = index.get(doc_id)
            if r is not None:
                out[r].add(b.files[doc_file[i]])
    return out


def merge_decisions(decisions: Iterable[SpanDecision]) -> SpanDecision:
    """One document's decisions from several buckets as one (order does not matter)."""
    decisions = list(decisions)
    copies = {d.copy for d in decisions if d.copy is not None}
    return SpanDecision(
        sum(d.occurrences for d in decisions),
        tuple(merge_ranges(r for d in decisions for r in d.cut)),
        tuple(merge_ranges(r for d in decisions for r in d.protect)),
        min(copies) if copies else None,  # one copy check per id: at most one value
        tuple(sorted({h for d in decisions for h in d.errored})),
    )


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ranges sorted and merged where they overlap or touch."""
    merged: list[list[int]] = []
    for s, e in sorted(ranges):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def merge_starts(starts: Iterable[int], span_len: int) -> list[tuple[int, int]]:
    """Half-open intervals ``[s, s + span_len)`` merged where they overlap or touch."""
    return merge_ranges((int(s), int(s) + span_len) for s in set(int(x) for x in starts))


def removal_intervals(remove: Iterable[int], keep: Iterable[int], span_len: int) -> list[tuple[int, int]]:
    """The units (or tokens) to cut: those covered by a removed span occurrence and
    by no kept first occurrence. Without the protection, a span's first occurrence
    could lose its head to an overlapping span first seen in another document, and
    then survive nowhere in one piece."""
    return subtract_ranges(merge_starts(remove, span_len), merge_starts(keep, span_len))


def subtract_ranges(cut: Sequence[tuple[int, int]], protected: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the merged ranges ``cut`` outside the merged ranges ``protected``."""
    out, j = [], 0
    for s, e in cut:
        while j < len(protected) and protected[j][1] <= s:
            j += 1
        k = j
        while s < e:
            if k < len(protected) and protected[k][0] < e:
                ps, pe = protected[k]
                if ps > s:
                    out.append((s, ps))
                s = max(s, pe)
                k += 1
            else:
                out.append((s, e))
                break
    return out


_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


def seam_for(removed: str) -> str:
    """The whitespace that replaces a cut: the strongest break the cut region held,
    so a paragraph break inside or around removed sentences survives."""
    if _PARAGRAPH_BREAK.search(removed):
        return "\n\n"
    if "\n" in removed:
        return "\n"
    if any(c.isspace() for c in removed):
        return " "
    return ""


def line_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges of the non-empty lines of ``text``, stripped (the units of
    :func:`curate.text.lines`)."""
    out = []
    for m in _LINE.finditer(text):
        s, e = m.span()
        while text[s].isspace():
            s += 1
        while text[e - 1].isspace():
            e -= 1
        out.append((s, e))
    return out


_LINE = re.compile(r"[^\n]*\S[^\n]*")


def span_words(text: str, language: Optional[str] = None) -> int:
    """Words in ``text`` for the minimum span worth cutting: :func:`curate.text.alnum_words`
    in ``language`` (Chinese, Japanese and Thai cut by their segmenter, :mod:`curate.lang`).
    In other text, a run of a script written without spaces (Lao, Khmer, Myanmar, or
    Chinese in a document of another language; see :func:`curate.segment.unspaced`)
    counts one word per character, since no segmenter applies to it."""
    if segmenter_name(language):
        return len(T.alnum_words(text, language))
    n = 0
    for w in T.alnum_words(text):
        if w.isascii():
            n += 1
        else:
            cjk = sum(map(unspaced, w))
            n += cjk + (1 if cjk < len(w) else 0)
    return n


def worth_cutting(
    text: str, start: int, end: int, min_words: int, min_chars: int, language: Optional[str] = None
) -> bool:
    """Whether ``text[start:end]`` is at least the minimum span worth cutting:
    ``min_chars`` characters (surrounding whitespace not counted) and ``min_words``
    words (:func:`span_words` in ``language``)."""
    piece = text[start:end].strip()
    return len(piece) >= min_chars and span_words(piece, language) >= min_words


def widen_to_words(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each range grown until neither edge lies inside a word or number
    (:func:`curate.segment.glued`), then sorted and merged where they overlap or
    touch: a token window that starts in the middle of "21.10.2019" takes the whole
    date, never leaves "21." behind."""
    grown = []
    for s, e in spans:
        while glued(text, s):
            s -= 1
        while glued(text, e):
            e += 1
        grown.append((s, e))
    return merge_ranges(grown)


def remove_char_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Cut the half-open character ranges ``spans`` (sorted, disjoint) out of ``text``.

    Each cut is widened over the whitespace on both sides (up to the start of the
    next line, whose indentation stays) and replaced by one separator
    (:func:`seam_for`), or by nothing at the very start or end (where no whitespace
    is left either), so the kept text reads normally.
    """
    out = []
    cursor = 0
    kept_any = False  # has non-space text been kept before this cut?
    n = len(text)
    for s, e in spans:
        s, e = max(s, cursor), min(e, n)
        if e <= s:
            continue
        ws_start = s
        while ws_start > cursor and text[ws_start - 1].isspace():
            ws_start -= 1
        ws_end = e
        while ws_end < n and text[ws_end].isspace():
            ws_end += 1
        before = text[cursor:ws_start]
        kept_any = kept_any or bool(before.strip())
        last_newline = text.rfind("\n", e, ws_end)
        if last_newline >= 0 and ws_end < n and kept_any:
            ws_end = last_newline + 1  # the next line keeps its indentation (code)
        out.append(before)
        out.append(seam_for(text[ws_start:ws_end]) if kept_any and ws_end < n else "")
        cursor = ws_end
    out.append(text[cursor:])
    return "".join(out)


def cut_and_check(
    doc: Document, stage: str, char_spans: Sequence[tuple[int, int]], signals: dict, min_words: int
) -> Union[Document, Drop]:
    """Cut ``char_spans`` out of ``doc.text``, store ``signals`` (plus ``chars_removed``
    and ``bytes_removed``) under ``stage``, then re-check the length: ``all_duplicate``
    when nothing is left, ``too_short_after_dedup`` under ``min_words`` words (in the document's language). With no
    span to cut the document is returned as it is, never dropped.

    A dropped document keeps its original text, so ``rejected/`` shows what was there.
    """
    new_text = remove_char_spans(doc.text, char_spans) if char_spans else doc.text
    signals = dict(
        signals,
        chars_removed=len(doc.text) - len(new_text),
        bytes_removed=len(doc.text.encode("utf-8")) - len(new_text.encode("utf-8")),
    )
    doc.set_signals(stage, signals)
    if not char_spans:
        return doc
    if not new_text.strip():
        return Drop("all_duplicate", {"signals": signals})
    if len(T.alnum_words(new_text, doc.metadata.get("language"))) < min_words:
        return Drop("too_short_after_dedup", {"signals": signals})
    doc.text = new_text
    return doc


class SpanStage(StageStats):
    """What the cores of ``sentence_dedup`` and ``token_dedup`` share: applying the keep
    rule's decisions to one document. A core implements :meth:`cut` (cut the given
    unit or token ranges out of a document) and names in ``STATS`` the signals it
    stores that are also counted as statistics."""

    name: str = ""
    STATS: tuple = ()
    config: Any  # the stage's config (SentenceDedupConfig or TokenDedupConfig)

    def setup(self) -> None:
        """Load what the core needs (the setup contract of every stage core)."""

    def cut(self, doc: Document, intervals: Sequence[tuple[int, int]]) -> Union[Document, Drop]:
        raise NotImplementedError

    def apply(self, doc: Document, remove: Iterable[int], keep: Iterable[int] = ()) -> Union[Document, Drop]:
        """Cut the spans starting at ``remove``, except the parts of the first
        occurrences starting at ``keep`` (with ``keep_first_whole``; see :func:`removal_intervals`)."""
        c = self.config
        return self.cut(doc, removal_intervals(remove, keep if c.keep_first_whole else (), c.span_len))

    def apply_decision(self, doc: Document, decision: Optional[SpanDecision]) -> Union[Document, Rejected, None]:
        """One document with its merged decision (None: it loses nothing) -> the document,
        edited or not; its Rejected record; or None for a copy whose error record the
        span-key step already emitted. Statistics (:meth:`take_stats`): occurrences
        removed, documents edited, and the ``STATS`` signals."""
        d = decision or SpanDecision()
        if d.errored or d.copy is not None:
            h = text_hash(doc.text)
            if h in d.errored:
                return None
            if d.copy is not None and h != d.copy:
                # Ids are unique unless a reader produced the same record twice; then one
                # copy (chosen by content, not arrival order) is deduplicated.
                return Rejected(doc, self.name, "duplicate_id", {"kept_copy_of": doc.id})
        out = self.cut(doc, subtract_ranges(d.cut, d.protect if self.config.keep_first_whole else ()))
        signals = doc.signals(self.name) or {}
        self.add_stat("occurrences_removed", d.occurrences)
        if signals.get("chars_removed"):
            self.add_stat("docs_edited")
        for name in self.STATS:
            self.add_stat(name, signals.get(name) or 0)
        if isinstance(out, Drop):
            return Rejected(doc, self.name, out.reason, out.details)
        return out
