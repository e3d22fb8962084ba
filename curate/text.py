"""Text utilities shared by filters and dedup: one definition of a word, a line, a sentence."""

from __future__ import annotations

import re
import unicodedata

# Words as spaCy's English tokenizer cuts them (datatrove, and so FineWeb, count
# spaCy tokens in the Gopher and FineWeb rules), with a regex instead of spaCy, which
# costs datatrove most of its time (see ../shared/NOTES.md): common abbreviations and
# single letters with their period ("Mr.", "n.", "U.S."), numbers with inner "." or ","
# ("1,000", "3.5"), English contractions cut off ("do" "n't", "it" "'s", "we" "'ll"),
# letter/digit runs with other inner apostrophes ("O'Brien"); then "..." and "--" runs,
# and every other symbol as a token of its own (hyphens between words too).
_WORD_ALTERNATIVES = (
    r"\w+?(?=[nN]['’][tT](?!\w))|[nN]['’][tT](?!\w)"
    r"|\w+?(?=['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)(?!\w))|['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)(?!\w)|"
    # the lookahead lets most tokens skip the abbreviation alternatives at once
    r"(?=[A-Za-z]{1,4}\.)(?:(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Inc|Ltd|Co|vs|etc|Gov|Sen|Rep|Gen|Col|Lt|Prof|Rev"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.|(?<!\w)[A-Za-z]\.(?:[A-Za-z]\.)*)"
    r"|\d+(?:[.,]\d+)+"
    r"|\w+(?:['’]\w+)*"
)
_WORD_RE = re.compile(_WORD_ALTERNATIVES + r"|\.{2,}|-{2,}|[^\w\s]")
_SENTENCE_RE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"'”’)\]]*|\n|$)")
_PUNCT_TABLE = None


def words(text: str) -> list[str]:
    """Words and symbol tokens, in order (the Gopher rules count both kinds)."""
    # No token spans whitespace, so cutting on whitespace first changes nothing; most
    # pieces are all letters, one token each, and skip the regex (about 2x faster).
    out: list[str] = []
    append, extend = out.append, out.extend
    findall = _WORD_RE.findall
    for piece in text.split():
        if piece.isalpha():
            append(piece)
        else:
            extend(findall(piece))
    return out


def word_tokens(tokens: list[str]) -> list[str]:
    """The word tokens among :func:`words` output: each starts with a word character
    (``\\w`` is ``isalnum()`` or ``_``) or, for "'s" and the like, ends with a letter;
    no symbol token does either."""
    return [w for w in tokens if w[0].isalnum() or w[0] == "_" or w[-1].isalnum()]


def alnum_words(text: str) -> list[str]:
    """Only the word tokens of :func:`words` (no symbol tokens)."""
    return word_tokens(words(text))


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
