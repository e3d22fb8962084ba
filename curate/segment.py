"""Sentence segmentation: one entry point, :func:`split_sentences`, for every stage that
works on sentences (sentence-level dedup now, the per-language rules of issue 14 next).

The rules are Wikimedia's ``sentencex`` (PyPI, MIT; Rust, rule-based, ~300 languages
through fallback chains, per-language abbreviation lists for ~30 of them, quotes,
ellipses, numbers, list items, and scripts written without spaces split on their own
full stops 。！？). Its stated stance is ours: when a boundary is ambiguous it does not
split, because two sentences left together cost nothing while a sentence cut in the
middle corrupts the text that dedup keeps. It was chosen over ``pysbd`` (the reference
for the "Golden Rules") on speed: on the real web pages and books of ``../shared/data``
this function segments ~12,000 documents/s on one core (sentencex alone ~37,000) and
pysbd ~150, which would make segmentation by far the slowest step of sentence dedup
(``bench/bench_segment.py`` measures all three, and the Golden Rules pass rate).

On top of sentencex, five rules of ours, all of which only ever *remove* boundaries:

1. a blank line (a paragraph break) always ends a sentence, also one holding spaces;
2. a piece with no letter ("1.", "...", "2019.") is not a sentence: it joins the next
   piece of its paragraph (the previous one at the paragraph's end);
3. a single Latin, Greek or Cyrillic letter with a period ("M. Dupont", "J. Smith",
   "J.-P. Sartre", "S. 225", "z. B.") does not end a sentence (sentencex lets an initial end one when
   the word before it is lower case);
4. a boundary with no whitespace at it ("3.Arroz") is none, unless a character on
   either side belongs to a script written without spaces (:func:`unspaced`) or it
   follows a script's own full stop ("።", "؟", "।"; see :func:`glued`);
5. in languages that write ordinals with a period (German, the Nordic, Baltic and
   Slavic languages with Latin script, Hungarian, Turkish...) a number of up to three
   digits with a period followed by a word does not end a sentence ("am 12. Juni",
   "im 1. -3. Jahrhundert").

Sentences are returned as character offsets into the text, stripped of surrounding
whitespace, in order and non-overlapping; only whitespace lies between two of them,
or nothing where a script has no spaces. Nothing is loaded: the rules are compiled
into the extension and built once per process on first use.
"""

from __future__ import annotations

import re
import unicodedata

import sentencex

from curate.lang import UNSPACED_RANGES
from curate.text import TERMINAL_PUNCTUATION

DEFAULT_LANGUAGE = "en"

# A blank line: two newlines with only spaces or tabs between them.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SINGLE_LETTER_END = re.compile(r"(?:^|[\s(\[\"'“‘«„\-‐])(\w)\.[\"'”’»)\]]*$")
_ORDINAL_END = re.compile(r"(?:^|[\s(\[\-–])\d{1,3}\.$")
_STARTS_WITH_WORD = re.compile(r"[^\W\d_]|[-–]\s*\d")

# ISO 639-1/3 codes (as fastText's lid.176 reports them) of languages that mark
# ordinal numbers with a period.
ORDINAL_PERIOD_LANGUAGES = frozenset("de da nb nn no is fo fi et lv lt cs sk pl sl hr sr bs hu tr gsw bar lb".split())


def unspaced(ch: str) -> bool:
    """Whether ``ch`` belongs to a script written without spaces between words or
    sentences (:data:`curate.lang.UNSPACED_RANGES`): a sentence (or a cut) may begin or
    end beside these with no whitespace."""
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in UNSPACED_RANGES)


def glued(text: str, pos: int) -> bool:
    """Whether position ``pos`` of ``text`` lies inside a run of characters that
    belong together: both neighbours are non-whitespace, neither is of a script
    written without spaces, and the left one is no script's own full stop (Ethiopic
    "።", Arabic "؟", Devanagari "।"... are often written without a space after them;
    an ASCII "." is not: "3.Arroz", "G.m.b.H."). A sentence boundary, or the edge of
    a cut, must not be glued."""
    if pos <= 0 or pos >= len(text):
        return False
    a, b = text[pos - 1], text[pos]
    return not (a.isspace() or b.isspace() or unspaced(a) or unspaced(b) or a in _SCRIPT_FULL_STOPS)


_SCRIPT_FULL_STOPS = frozenset(TERMINAL_PUNCTUATION) - frozenset(".!?")


_LETTER = re.compile(r"[^\W\d_]")


def _has_letter(piece: str) -> bool:
    return _LETTER.search(piece) is not None


def _ends_with_single_letter(piece: str) -> bool:
    m = _SINGLE_LETTER_END.search(piece[-8:])  # the tail: the search is anchored at the end
    return m is not None and unicodedata.category(m.group(1)) in ("Lu", "Ll") and ord(m.group(1)) < 0x0530


def _keeps_going(piece: str, nxt: str, ordinal_periods: bool) -> bool:
    """True when the boundary between ``piece`` and ``nxt`` (stripped, consecutive,
    in one paragraph) is not a sentence end by rules 3 and 5."""
    if _ends_with_single_letter(piece):
        return True
    return ordinal_periods and bool(_ORDINAL_END.search(piece[-6:])) and bool(_STARTS_WITH_WORD.match(nxt))


def _paragraph_sentences(text: str, start: int, end: int, language: str, ordinal_periods: bool, out: list) -> None:
    pieces = []  # stripped (start, end) of sentencex's pieces
    pos = start
    for piece in sentencex.segment(language, text[start:end]):
        stripped = piece.strip()
        if stripped:
            s = pos + (len(piece) - len(piece.lstrip()))
            pieces.append([s, s + len(stripped)])
        pos += len(piece)
    merged: list[list[int]] = []
    for s, e in pieces:
        if merged:
            prev = text[merged[-1][0] : merged[-1][1]]
            if not _has_letter(prev) or glued(text, s) or _keeps_going(prev, text[s:e], ordinal_periods):
                merged[-1][1] = e
                continue
        merged.append([s, e])
    if len(merged) > 1 and not _has_letter(text[merged[-1][0] : merged[-1][1]]):
        last = merged.pop()
        merged[-1][1] = last[1]
    out.extend((s, e) for s, e in merged)


def split_sentences(text: str, language: str | None = DEFAULT_LANGUAGE) -> list[tuple[int, int]]:
    """Sentences of ``text`` as ``(start, end)`` character offsets (see the module
    docstring). ``language`` is an ISO 639 code (``metadata.language`` as
    ``language_id`` sets it); unknown or missing codes use sentencex's fallbacks,
    which end in English rules."""
    language = language or DEFAULT_LANGUAGE
    ordinal_periods = language in ORDINAL_PERIOD_LANGUAGES
    out: list[tuple[int, int]] = []
    start = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        _paragraph_sentences(text, start, m.start(), language, ordinal_periods, out)
        start = m.end()
    _paragraph_sentences(text, start, len(text), language, ordinal_periods, out)
    return out


def sentences(text: str, language: str | None = DEFAULT_LANGUAGE) -> list[str]:
    """The text of each sentence :func:`split_sentences` finds."""
    return [text[s:e] for s, e in split_sentences(text, language)]
