"""Gopher repetition rules (Rae et al. 2021, appendix A, table A1), with datatrove's
definitions of each quantity, computed with numpy instead of Python n-gram strings.

Quantities (all divided by the document's length in characters, except the two
element fractions):

- duplicate line / paragraph fraction: lines (split on runs of ``\\n``) or paragraphs
  (split on two or more ``\\n``) that repeat an earlier one, over all lines/paragraphs;
- duplicate line / paragraph character fraction: the characters of those repeats;
- top n-gram character fraction (n = 2, 3, 4): the most frequent word n-gram's
  length (words joined by one space) times its count; ties go to the n-gram seen first;
- duplicated n-gram character fraction (n = 5..10): scanning left to right, an n-gram
  already seen adds its characters (words without spaces) and the scan jumps n words,
  so overlapping repeats are not counted twice (datatrove's ``find_all_duplicate``).

Speed: each distinct word gets a small integer id once (a dict, so ids are exact),
and the id of an n-gram is derived from the id of its (n-1)-gram prefix and its last
word with ``np.unique`` - collision-free, no hashing of joined strings. Only positions
whose (n-1)-gram repeats are numbered for size n (no other n-gram can repeat), only those
whose n-gram repeats enter the sequential duplicate scan, and once all n-grams of some
size are distinct the longer ones need no work at all.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

import numpy as np

from curate.base import Filter
from curate.filters.common import cached_words, count_duplicates, exceeds
from curate.params import language_overrides, threshold
from curate.registry import register_stage

_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")


@dataclasses.dataclass
class GopherRepetitionConfig:
    dup_line_frac: Optional[float] = threshold(0.30, min=0, max=1)
    dup_para_frac: Optional[float] = threshold(0.30, min=0, max=1)
    dup_line_char_frac: Optional[float] = threshold(0.20, min=0, max=1)
    dup_para_char_frac: Optional[float] = threshold(0.20, min=0, max=1)
    # n -> maximum character fraction of the most frequent n-gram (null: that n is not
    # limited). Which sizes are measured is a scoring parameter; each limit a threshold.
    top_ngram_char_frac: dict[int, Optional[float]] = threshold(
        factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16}, min=0, max=1, key_min=1, key_max=50, scored_keys=True
    )
    # n -> maximum character fraction in duplicated n-grams
    dup_ngram_char_frac: dict[int, Optional[float]] = threshold(
        factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        min=0,
        max=1,
        key_min=1,
        key_max=50,
        scored_keys=True,
    )
    per_language: bool = True  # false: words of every document cut as in English
    languages: dict[str, dict] = language_overrides("gopher_repetition")  # {de: {dup_line_frac: 0.25}}


def _top_key(n: int) -> str:
    return f"top_{n}_gram_char_frac"


def _dup_key(n: int) -> str:
    return f"dup_{n}_gram_char_frac"


def word_ids(words: list[str]) -> np.ndarray:
    """Exact integer ids of the words (the first distinct word gets 0, the next 1, ...)."""
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}  # a loop over distinct words only
    return np.fromiter(map(vocab.__getitem__, words), dtype=np.int64, count=len(words))


def top_ngram_chars(pos: np.ndarray, first: np.ndarray, counts: np.ndarray, cum: np.ndarray, n: int) -> int:
    """Characters of the most frequent n-gram (words joined with spaces) times its count,
    over the repeated n-grams (``first``: an index into ``pos`` of each one's first
    occurrence). When none repeats, every n-gram occurs once and the first one counts."""
    if counts.size == 0 or counts.max() == 1:
        return int(cum[n] - cum[0]) + n - 1
    best = counts.max()
    start = int(pos[first[counts == best]].min())  # a tie goes to the n-gram that occurs first
    return (int(cum[start + n] - cum[start]) + n - 1) * int(best)


def duplicated_ngram_chars(pos: np.ndarray, gram: np.ndarray, counts: np.ndarray, cum: np.ndarray, n: int) -> int:
    """datatrove's greedy left-to-right scan, visiting only positions whose n-gram repeats
    (an n-gram seen once can never be a duplicate, so skipping it changes nothing)."""
    repeated = np.flatnonzero(counts[gram] > 1)
    if repeated.size == 0:
        return 0
    seen: set = set()
    skip_until = 0
    chars = 0
    for p, gid in zip(pos[repeated].tolist(), gram[repeated].tolist()):
        if p < skip_until:
            continue  # inside a window already counted: the scan jumped over it
        if gid in seen:
            chars += int(cum[p + n] - cum[p])
            skip_until = p + n
        else:
            seen.add(gid)
    return chars


def ngram_char_counts(words: list[str], top_ns, dup_ns) -> tuple[dict, dict]:
    """({n: top n-gram chars}, {n: duplicated n-gram chars}) for the given sizes.

    An n-gram can only repeat where its first n-1 words repeat, so each round keeps only
    the start positions (``pos``, ascending) of the (n-1)-grams that occur more than once
    and numbers the n-grams there: the arrays to sort shrink as n grows. Every n-gram
    left out occurs once, which is all the top and duplicate counts need to know of it."""
    top: dict = {}
    dup: dict = {}
    wanted = set(top_ns) | set(dup_ns)
    if not wanted:
        return top, dup
    largest = max(wanted)
    n_words = len(words)
    ids = word_ids(words)
    cum = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=n_words), out=cum[1:])
    base = max(n_words, 1)
    pos = np.arange(n_words)
    gram = ids  # dense ids (< base) of the n-grams starting at ``pos``, for the current n
    counts = first = np.empty(0, dtype=np.int64)  # of the current n-grams, and where each first occurs
    for n in range(1, largest + 1):
        if n > 1:
            keep = counts[gram] > 1
            keep &= pos <= n_words - n  # room for n words
            pos = pos[keep]
            # (prefix id, last word id) -> one key; both are < base, so the key is exact.
            gram = gram[keep] * base + ids[pos + n - 1]
        if n in top_ns or n > 1:
            _, first, gram, counts = np.unique(gram, return_index=True, return_inverse=True, return_counts=True)
        else:  # word ids are dense already
            counts = np.bincount(gram)
        if n > n_words:  # fewer than n words: no n-grams, nothing repeats
            top.update({m: 0 for m in range(n, largest + 1) if m in top_ns})
            dup.update({m: 0 for m in range(n, largest + 1) if m in dup_ns})
            break
        if n in top_ns:
            top[n] = top_ngram_chars(pos, first, counts, cum, n)
        if n in dup_ns:
            dup[n] = duplicated_ngram_chars(pos, gram, counts, cum, n)
        if counts.size == 0 or counts.max() == 1:
            # Every longer n-gram extends a distinct one, so it is distinct too: the top
            # n-gram is the first one (count 1, ties go first) and nothing is duplicated.
            for m in range(n + 1, largest + 1):
                if m in top_ns:
                    top[m] = int(cum[m] - cum[0]) + m - 1 if m <= n_words else 0
                if m in dup_ns:
                    dup[m] = 0
            break
    return top, dup


@register_stage("gopher_repetition", GopherRepetitionConfig)
class GopherRepetition(Filter):
    def score(self, doc) -> dict:
        text = doc.text
        n_chars = len(text)
        denom = max(n_chars, 1)
        paragraphs = _PARAGRAPH_SPLIT.split(text.strip())
        para_dups, para_dup_chars = count_duplicates(paragraphs)
        lines = _LINE_SPLIT.split(text)
        line_dups, line_dup_chars = count_duplicates(lines)
        language = self.language_of(doc)
        c = self.config_for(language)
        top, dup = ngram_char_counts(cached_words(text, language), c.top_ngram_char_frac, c.dup_ngram_char_frac)
        signals: dict[str, Any] = {
            "n_chars": n_chars,
            "dup_para_frac": para_dups / len(paragraphs),
            "dup_para_char_frac": para_dup_chars / denom,
            "dup_line_frac": line_dups / len(lines),
            "dup_line_char_frac": line_dup_chars / denom,
        }
        for n in sorted(top):
            signals[_top_key(n)] = top[n] / denom
        for n in sorted(dup):
            signals[_dup_key(n)] = dup[n] / denom
        if language:
            signals["language"] = language  # decide() applies that language's thresholds
        return signals

    def thresholds(self) -> dict:
        c = self.config
        return {
            "n_chars": (1, None),
            "dup_para_frac": (None, c.dup_para_frac),
            "dup_para_char_frac": (None, c.dup_para_char_frac),
            "dup_line_frac": (None, c.dup_line_frac),
            "dup_line_char_frac": (None, c.dup_line_char_frac),
            **{_top_key(n): (None, f) for n, f in c.top_ngram_char_frac.items()},
            **{_dup_key(n): (None, f) for n, f in c.dup_ngram_char_frac.items()},
        }

    def decide(self, s: dict) -> Optional[str]:
        c = self.config_for(s.get("language"))
        if s["n_chars"] == 0:
            return "empty"
        if exceeds(s["dup_para_frac"], c.dup_para_frac):
            return "duplicate_paragraphs"
        if exceeds(s["dup_para_char_frac"], c.dup_para_char_frac):
            return "duplicate_paragraph_chars"
        if exceeds(s["dup_line_frac"], c.dup_line_frac):
            return "duplicate_lines"
        if exceeds(s["dup_line_char_frac"], c.dup_line_char_frac):
            return "duplicate_line_chars"
        for n in sorted(c.top_ngram_char_frac):
            if exceeds(s[_top_key(n)], c.top_ngram_char_frac[n]):
                return f"top_{n}_gram"
        for n in sorted(c.dup_ngram_char_frac):
            if exceeds(s[_dup_key(n)], c.dup_ngram_char_frac[n]):
                return f"duplicated_{n}_grams"
        return None
