"""What an edit did to a text, found by diffing the output against the input: the
independent check that span dedup removes whole passages and nothing else.

:func:`audit_edit` aligns the two texts word by word (runs of non-whitespace, with
:mod:`difflib`), then character by character inside any word that changed, and
reports:

* every **removed chunk** (a maximal run of the input missing from the output), its
  size in words (:func:`curate.dedup.spans.span_words`) and characters, and whether it
  starts or ends **inside a word or number** (:func:`curate.segment.glued`: both
  neighbours non-whitespace), as "G.m.b.H." -> "G." or "21.10.2019 – 27.10.2019" ->
  "21. 2019" do; in scripts written without spaces, where words cannot be told
  apart here, a cut must start and end after a sentence's final punctuation;
* **seam faults**: whitespace the edit left wrong where text was joined (none where
  there was some, more spaces or newlines than either side had, or whitespace left
  at the start or end of the text);
* **altered** text: anything in the output that is not in the input (a cut never
  adds text).

When a removed chunk could be aligned at several places (a repeat beside its copy),
the alignment that starts and ends at word boundaries is taken if there is one, so a
clean cut is never reported as damage because of how the diff happened to align it.
Used by ``bench/bench_span_dedup.py`` on real pages and by the tests.
"""

from __future__ import annotations

import dataclasses
import difflib
import re

from curate.dedup.spans import seam_for, span_words
from curate.segment import glued
from curate.text import TERMINAL_PUNCTUATION

_WORD = re.compile(r"\S+")
_SENTENCE_END = frozenset(TERMINAL_PUNCTUATION) | frozenset("」』）〕】》〉”’\"')")


def inside_word(text: str, pos: int) -> bool:
    """Whether a cut edge at ``pos`` lies inside a word or number: :func:`glued`, or,
    beside a script written without spaces, anywhere but after a sentence end."""
    if glued(text, pos):
        return True
    if pos <= 0 or pos >= len(text):
        return False
    a, b = text[pos - 1], text[pos]
    return not (a.isspace() or b.isspace()) and a not in _SENTENCE_END


@dataclasses.dataclass
class Removal:
    start: int  # in the input, first and one-past-last non-whitespace character removed
    end: int
    words: int
    chars: int
    inside_word: bool  # starts or ends inside a word or number


@dataclasses.dataclass
class Audit:
    removals: list[Removal] = dataclasses.field(default_factory=list)
    seam_faults: int = 0
    altered: int = 0

    def below(self, min_words: int, min_chars: int) -> int:
        """Removed chunks smaller than the given minimum span."""
        return sum(r.words < min_words or r.chars < min_chars for r in self.removals)

    def inside_word(self) -> int:
        return sum(r.inside_word for r in self.removals)


def _removal(text: str, start: int, end: int) -> Removal:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    start, end = start + lead, start + lead + len(piece.strip())
    chunk = text[start:end]
    return Removal(start, end, span_words(chunk), len(chunk), inside_word(text, start) or inside_word(text, end))


def _slid_removal(text: str, lo: int, hi: int, start: int, end: int) -> Removal:
    """The removal ``text[start:end]`` (inside the changed region ``[lo, hi)``), slid to
    a clean position where the same characters could equally have been removed."""
    first = _removal(text, start, end)
    if not first.inside_word:
        return first
    s, e = start, end
    while s > lo and text[s - 1] == text[e - 1]:  # slide left
        s, e = s - 1, e - 1
        if not _removal(text, s, e).inside_word:
            return _removal(text, s, e)
    s, e = start, end
    while e < hi and text[s] == text[e]:  # slide right
        s, e = s + 1, e + 1
        if not _removal(text, s, e).inside_word:
            return _removal(text, s, e)
    return first


def _bad_seam(seam: str, before: str, after: str, removed: str) -> bool:
    """Whether the whitespace ``seam`` joining two kept words is wrong, given the
    whitespace ``before`` and ``after`` the removed text ``removed`` in the input."""
    if seam in (before, after):
        return False
    if not seam:
        return True  # two words glued together
    # the strongest break the removed region held (a paragraph break survives), with
    # the next line's indentation kept
    expected = seam_for(before + removed + after)
    indent = after.rsplit("\n", 1)[1] if "\n" in after else ""
    return seam not in (expected, expected + indent)


class _Alignment:
    """Word-level alignment of an edited text with its input: ``match[i]`` is the index
    of input word ``i`` in the output, or None where it was removed."""

    def __init__(self, before: str, after: str):
        self.before, self.after = before, after
        self.a = [m.span() for m in _WORD.finditer(before)]
        self.b = [m.span() for m in _WORD.finditer(after)]
        self.match: list = [None] * len(self.a)

    def word(self, i: int) -> str:
        return self.before[self.a[i][0] : self.a[i][1]]

    def gap_a(self, i: int) -> str:  # whitespace before input word i (i == len: at the end)
        return _gap(self.before, self.a, i)

    def gap_b(self, j: int) -> str:
        return _gap(self.after, self.b, j)

    def faults(self, lo: int, hi: int) -> int:
        """Seam faults of the alignment between input words ``lo`` and ``hi``: kept
        neighbours whose whitespace changed, and joins over removed words (a removed
        run starting at ``i`` in this range) with bad whitespace."""
        n = 0
        for i in range(max(lo, 0), min(hi, len(self.a) - 1)):
            j, k = self.match[i], self.match[i + 1]
            if j is not None and k == j + 1 and self.gap_a(i + 1) != self.gap_b(k):
                n += 1
            if j is not None and k is None:  # a removed run starts at i + 1
                end = i + 1
                while end < len(self.a) and self.match[end] is None:
                    end += 1
                if end < len(self.a) and self.match[end] == j + 1:
                    removed = self.before[self.a[i + 1][0] : self.a[end - 1][1]]
                    n += _bad_seam(self.gap_b(j + 1), self.gap_a(i + 1), self.gap_a(end), removed)
        return n

    def _can_shift(self, s: int, e: int, step: int) -> bool:
        if step < 0:
            return s > 0 and self.match[s - 1] is not None and self.word(s - 1) == self.word(e - 1)
        return e < len(self.a) and self.match[e] is not None and self.word(e) == self.word(s)

    def _shift(self, s: int, e: int, step: int) -> tuple[int, int]:
        """Move the removed run ``[s, e)`` one word left (-1) or right (+1): the same
        words are removed, the word that leaves the run takes the other's place."""
        if step < 0:
            self.match[e - 1], self.match[s - 1] = self.match[s - 1], None
            return s - 1, e - 1
        self.match[s], self.match[e] = self.match[e], None
        return s + 1, e + 1

    def slide(self, i1: int, i2: int, limit: int = 50) -> tuple[int, int]:
        """Move the removed run ``[i1, i2)`` to where its joins are cleanest, among the
        positions that remove the same words (a repeat beside its copy), and return it."""
        reach = {}
        for step in (-1, 1):
            s, e, n = i1, i2, 0
            while n < limit and self._can_shift(s, e, step):
                s, e = self._shift(s, e, step)
                n += 1
            reach[step] = n
            for _ in range(n):  # back to the start
                s, e = self._shift(s, e, -step)
        if not reach[-1] and not reach[1]:
            return i1, i2
        lo, hi = i1 - reach[-1] - 2, i2 + reach[1] + 2
        best_t, best = 0, self.faults(lo, hi)
        for step in (-1, 1):
            s, e = i1, i2
            for t in range(1, reach[step] + 1):
                s, e = self._shift(s, e, step)
                faults = self.faults(lo, hi)
                if faults < best:
                    best_t, best = step * t, faults
            for _ in range(reach[step]):
                s, e = self._shift(s, e, -step)
        s, e = i1, i2
        for _ in range(abs(best_t)):
            s, e = self._shift(s, e, 1 if best_t > 0 else -1)
        return s, e


def _gap(text: str, spans: list, i: int) -> str:
    lo = spans[i - 1][1] if i > 0 else 0
    hi = spans[i][0] if i < len(spans) else len(text)
    return text[lo:hi]


def audit_edit(before: str, after: str) -> Audit:
    """Diff ``after`` (an edited copy) against ``before`` (see the module docstring)."""
    audit = Audit()
    if before == after:
        return audit
    al = _Alignment(before, after)
    a, b = al.a, al.b
    wa = [before[s:e] for s, e in a]
    wb = [after[s:e] for s, e in b]
    # whitespace at the very start and end must not be new
    if b and al.gap_b(0) not in ("", al.gap_a(0)):
        audit.seam_faults += 1
    if b and al.gap_b(len(b)) not in ("", al.gap_a(len(a))):
        audit.seam_faults += 1
    ops = difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            al.match[i1:i2] = range(j1, j2)
    deletes = []
    for op, i1, i2, j1, j2 in ops:
        if op == "insert":
            audit.altered += 1
        elif op == "delete":
            deletes.append(al.slide(i1, i2))
        elif op == "replace":
            # some words lost characters: align those characters
            lo, hi = a[i1][0], a[i2 - 1][1]
            new = after[b[j1][0] : b[j2 - 1][1]]
            chars = difflib.SequenceMatcher(None, before[lo:hi], new, autojunk=False)
            for cop, c1, c2, d1, d2 in chars.get_opcodes():
                if cop in ("insert", "replace") and new[d1:d2].strip():
                    audit.altered += 1
                removed = before[lo + c1 : lo + c2]
                if cop in ("delete", "replace") and removed.strip():
                    audit.removals.append(_slid_removal(before, lo, hi, lo + c1, lo + c2))
                    if cop == "delete" and removed != removed.strip() and glued(new, d1):
                        audit.seam_faults += 1  # the whitespace went with it: words glued
    for s, e in deletes:
        audit.removals.append(_removal(before, a[s][0], a[e - 1][1]))
    audit.seam_faults += al.faults(0, len(a))
    audit.removals.sort(key=lambda r: r.start)
    return audit
