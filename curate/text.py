"""Text utilities shared by filters and dedup: one definition of a word, a line, a sentence."""

from __future__ import annotations

import re
import unicodedata

# A word is a run of letters/digits (with inner apostrophes or hyphens), or a single
# run of other non-space symbols. Regex-based: no spaCy, which costs datatrove most
# of its time (see ../shared/NOTES.md).
_WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]+")
_ALNUM_WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*")
_SENTENCE_RE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"'”’)\]]*|\n|$)")
_PUNCT_TABLE = None


def words(text: str) -> list[str]:
    """Words and punctuation runs, in order (the Gopher rules count both kinds)."""
    return _WORD_RE.findall(text)


def alnum_words(text: str) -> list[str]:
    """Only the words made of letters or digits (no punctuation runs)."""
    return _ALNUM_WORD_RE.findall(text)


def lines(text: str) -> list[str]:
    """Non-empty lines, stripped."""
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def paragraphs(text: str) -> list[str]:
    """Blocks separated by one or more blank lines, stripped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def sentences(text: str) -> list[str]:
    """Sentences split on terminal punctuation and newlines, stripped, non-empty."""
    return [s.strip() for s in _SENTENCE_RE.findall(text) if s.strip()]


def _punct_table() -> dict:
    global _PUNCT_TABLE
    if _PUNCT_TABLE is None:
        import sys

        _PUNCT_TABLE = {
            i: " "
            for i in range(sys.maxunicode + 1)
            if unicodedata.category(chr(i)).startswith(("P", "S"))
        }
    return _PUNCT_TABLE


_DIGITS_RE = re.compile(r"\d")
_SPACE_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Normalised form for duplicate detection (FineWeb's): NFC, lower-case,
    punctuation and symbols removed, every digit mapped to 0, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).lower()
    text = text.translate(_punct_table())
    text = _DIGITS_RE.sub("0", text)
    return _SPACE_RE.sub(" ", text).strip()
