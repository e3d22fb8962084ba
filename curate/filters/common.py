"""Pieces shared by the heuristic filters: one cached tokenisation per text and language, the
terminal-punctuation set, duplicate counting over lines or paragraphs, and config checks.
"""

from __future__ import annotations

import functools
import threading
from typing import Optional

from curate import text as T
from curate.lang import segmenter_name


def cached_words(text: str, language: Optional[str] = None) -> list[str]:
    """``curate.text.words(text, language)``, computed once for the filters that run
    one after another on the same text (Gopher repetition, Gopher quality, FineWeb).
    Callers must not mutate the returned list."""
    key = (text, _cache_language(language))
    with _WORDS_LOCK:
        tokens = _WORDS.get(key)
    if tokens is None:
        tokens = T.words(text, key[1])
        remember_words(text, key[1], tokens)
    return tokens


def remember_words(text: str, language: Optional[str], tokens: list[str]) -> None:
    """Give :func:`cached_words` the tokens of ``text`` when a filter has them already:
    C4 tokenizes each line it keeps to count sentences, and its cleaned text is those
    lines joined, whose tokens FineWeb counts next. ``tokens`` must equal
    ``curate.text.words(text, language)`` (tests/test_filters.py checks C4's)."""
    key = (text, _cache_language(language))
    with _WORDS_LOCK:
        _WORDS[key] = tokens
        while len(_WORDS) > _WORDS_CACHED:  # the oldest texts go first
            del _WORDS[next(iter(_WORDS))]


def _cache_language(language: Optional[str]) -> Optional[str]:
    # languages that need no segmenter share one cache entry per text
    return language if segmenter_name(language) else None


# A few texts: one document's, before and after C4 edits it (Beam's threads may each hold one).
_WORDS_CACHED = 8
_WORDS: dict = {}
_WORDS_LOCK = threading.Lock()


def cached_alnum_words(text: str, language: Optional[str] = None) -> list[str]:
    """``curate.text.alnum_words(text, language)`` from the cached tokens, cached likewise."""
    return _cached_alnum_words(text, _cache_language(language))


@functools.lru_cache(maxsize=8)
def _cached_alnum_words(text: str, language: Optional[str]) -> list[str]:
    return T.word_tokens(cached_words(text, language))


def count_duplicates(elements: list[str]) -> tuple[int, int]:
    """How many elements repeat an earlier one, and their total characters.

    The first occurrence is not counted (Gopher's and FineWeb's definition).
    """
    seen: set = set()
    n_dup = 0
    dup_chars = 0
    for el in elements:
        if el in seen:
            n_dup += 1
            dup_chars += len(el)
        else:
            seen.add(el)
    return n_dup, dup_chars


def exceeds(value: float, limit: Optional[float]) -> bool:
    """True when a maximum is set and ``value`` is above it."""
    return limit is not None and value > limit


def below(value: float, limit: Optional[float]) -> bool:
    """True when a minimum is set and ``value`` is under it."""
    return limit is not None and value < limit


def read_list(path: Optional[str]) -> list[str]:
    """A list file (local or gs://): one entry per line, stripped; blank lines and '#'
    comment lines skipped."""
    if path is None:
        return []
    from curate.io import read_bytes

    lines = read_bytes(path).decode("utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
