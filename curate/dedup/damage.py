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
from curate.segment import glued, unspaced
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


def audit_edit(before: str, after: str) -> Audit:
    """Diff ``after`` (an edited copy) against ``before`` (see the module docstring)."""
    audit = Audit()
    if before == after:
        return audit
    a = [m.span() for m in _WORD.finditer(before)]
    b = [m.span() for m in _WORD.finditer(after)]
    wa = [before[s:e] for s, e in a]
    wb = [after[s:e] for s, e in b]

    def gap(spans, text, i):  # whitespace before word i (or at the end, i == len)
        lo = spans[i - 1][1] if i > 0 else 0
        hi = spans[i][0] if i < len(spans) else len(text)
        return text[lo:hi]

    # whitespace at the very start and end must not be new
    if b and gap(b, after, 0) not in ("", gap(a, before, 0)):
        audit.seam_faults += 1
    if b and gap(b, after, len(b)) not in ("", gap(a, before, len(a))):
        audit.seam_faults += 1
    matcher = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(1, i2 - i1):  # whitespace between two kept neighbours
                if gap(a, before, i1 + k) != gap(b, after, j1 + k):
                    audit.seam_faults += 1
            continue
        if op == "insert":
            audit.altered += 1
            continue
        lo, hi = a[i1][0], a[i2 - 1][1]
        if op == "delete":
            audit.removals.append(_removal(before, lo, hi))
            if 0 < j1 < len(b) and _bad_seam(
                gap(b, after, j1), gap(a, before, i1), gap(a, before, i2), before[lo:hi]
            ):
                audit.seam_faults += 1
            continue
        # replace: some words lost characters; align those characters
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
    return audit
