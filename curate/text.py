"""Text utilities shared by filters and dedup: one definition of a word and a line
(sentences: :mod:`curate.segment`; words of languages written without spaces:
:mod:`curate.lang`, through the ``language`` argument of :func:`words`)."""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from curate.lang import spaced

# Words as spaCy's English tokenizer cuts them (datatrove, and so FineWeb, count
# spaCy tokens in the Gopher and FineWeb rules), with a regex instead of spaCy, which
# costs datatrove most of its time (see ../shared/NOTES.md): common abbreviations and
# single letters with their period ("Mr.", "n.", "U.S."), numbers with inner "." or ","
# ("1,000", "3.5"), English contractions cut off ("do" "n't", "it" "'s", "we" "'ll"),
# letter/digit runs (with their combining marks) and other inner apostrophes ("O'Brien");
# then "..." and "--" runs, and every other symbol as a token of its own (hyphens
# between words too).
_WORD_ALTERNATIVES = (
    r"\w+?(?=[nN]['’][tT](?!\w))|[nN]['’][tT](?!\w)"
    r"|\w+?(?=['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)(?!\w))|['’](?:[sSdDmM]|re|ve|ll|RE|VE|LL)(?!\w)|"
    # the lookahead lets most tokens skip the abbreviation alternatives at once
    r"(?=[A-Za-z]{1,4}\.)(?:(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Inc|Ltd|Co|vs|etc|Gov|Sen|Rep|Gen|Col|Lt|Prof|Rev"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.|(?<!\w)[A-Za-z]\.(?:[A-Za-z]\.)*)"
    r"|\d+(?:[.,]\d+)+"
    r"|\w[\w{marks}]*(?:['’][\w{marks}]+)*"
)


def _mark_ranges() -> str:
    """A regex class body of Unicode's combining marks (categories Mn, Mc, Me) below
    U+20000 (~50 ms once per process). Python's ``\\w`` leaves them out, which would cut
    "เป็น" (Thai), "हिंदी" (Devanagari) or a decomposed "é" at every vowel sign or accent;
    inside a word they belong to it."""
    out, start = [], None
    for cp in range(0x300, 0x20001):
        mark = cp < 0x20000 and unicodedata.category(chr(cp))[0] == "M"
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            out.append(f"\\U{start:08x}-\\U{cp - 1:08x}")
            start = None
    return "".join(out)


_WORD_RE = re.compile(_WORD_ALTERNATIVES.replace("{marks}", _mark_ranges()) + r"|\.{2,}|-{2,}|[^\w\s]")

# Unicode's Sentence_Terminal property (Unicode 16), as the `regex` module's
# \p{Sentence_Terminal} lists it; FineWeb's terminal-punctuation set is an older copy
# of the same property. Written out so the package needs no `regex` at run time.
TERMINAL_PUNCTUATION = tuple(
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e"
    "\u0964\u0965\u104a\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u1803\u1809"
    "\u1944\u1945\u1aa8\u1aa9\u1aaa\u1aab\u1b4e\u1b4f\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e"
    "\u1b7f\u1c3b\u1c3c\u1c7e\u1c7f\u2024\u203c\u203d\u2047\u2048\u2049\u2cf9\u2cfa\u2cfb"
    "\u2e2e\u2e3c\u2e53\u2e54\u2e60\u2e61\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877"
    "\ua8ce\ua8cf\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe12\ufe15\ufe16"
    "\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61"
    "\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86"
    "\U00010f87\U00010f88\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0"
    "\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6\U000111cd\U000111de"
    "\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U000113d4\U000113d5"
    "\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc"
    "\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4"
    "\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e"
    "\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42"
    "\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37"
    "\U00016b38\U00016b44\U00016d6e\U00016d6f\U00016e98\U0001bc9f\U0001da88"
)
_TERMINAL_SET = frozenset(TERMINAL_PUNCTUATION)
# Marks that the regex cuts off a word as a token of their own (see :func:`words`).
_CLOSING = frozenset(',.;:!?)"')


def words(text: str, language: Optional[str] = None) -> list[str]:
    """Words and symbol tokens, in order (the Gopher rules count both kinds).

    ``language`` (an ISO 639 code, ``metadata.language``) names the text's language:
    for Chinese, Japanese and Thai the text is cut into words by a segmenter first
    (:func:`curate.lang.spaced`); for any other language, or None, it changes nothing."""
    if language is not None:
        text = spaced(text, language)
    # No token spans whitespace, so cutting on whitespace first changes nothing; most
    # pieces are all letters, one token each, and skip the regex (about 2x faster). So do
    # the next most common, letters and one closing mark ("word," "word." "word)"): two
    # tokens, as the regex cuts them - except a period after 1-4 letters, which may end an
    # abbreviation ("Mr." "n."), so that case is left to the regex.
    out: list[str] = []
    append, extend = out.append, out.extend
    findall = _WORD_RE.findall
    for piece in text.split():
        if piece.isalpha():
            append(piece)
        elif piece[-1] in _CLOSING and piece[:-1].isalpha() and (piece[-1] != "." or len(piece) > 5):
            append(piece[:-1])
            append(piece[-1])
        else:
            extend(findall(piece))
    return out


def word_tokens(tokens: list[str]) -> list[str]:
    """The word tokens among :func:`words` output: each starts with a word character
    (``\\w`` is ``isalnum()`` or ``_``) or, for "'s" and the like, ends with a letter;
    no symbol token does either."""
    return [w for w in tokens if w[0].isalnum() or w[0] == "_" or w[-1].isalnum()]


def alnum_words(text: str, language: Optional[str] = None) -> list[str]:
    """Only the word tokens of :func:`words` (no symbol tokens)."""
    return word_tokens(words(text, language))


def whitespace_words(text: str, language: Optional[str] = None) -> list[str]:
    """The whitespace-separated pieces of ``text`` (C4's words, punctuation attached),
    after cutting a language written without spaces into words (:func:`curate.lang.spaced`)."""
    return (spaced(text, language) if language is not None else text).split()


def lines(text: str) -> list[str]:
    """Non-empty lines, stripped."""
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def paragraphs(text: str) -> list[str]:
    """Blocks separated by one or more blank lines, stripped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def count_sentences(text: str) -> int:
    """Sentences as spaCy's rule-based sentencizer counts them over :func:`words`
    tokens (datatrove's C4 filter counts with it): a sentence ends at a terminal
    punctuation token, and the next one starts at the first later token that is not
    punctuation, so "Mr.", "3.5", "U.S." and '."' do not split sentences."""
    return sentences_in(words(text))


def sentences_in(tokens: list[str]) -> int:
    """:func:`count_sentences` over the :func:`words` tokens of a text."""
    n = 0
    seen_end = False
    for tok in tokens:
        if tok in _TERMINAL_SET:
            seen_end = True
        elif seen_end and not all(unicodedata.category(c).startswith("P") for c in tok):
            n += 1
            seen_end = False
    return n + 1 if tokens else 0


_DIGITS_RE = re.compile(r"\d")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")

# ASCII part of the normalisation as one bytes.translate table: punctuation and symbols
# (Unicode categories P*, S*) -> space, digits -> "0", and the separators \x1c-\x1f
# (whitespace for str.split but not for bytes.split) -> space.
_ASCII_TABLE = bytes(
    i
    if i > 0x7F  # UTF-8 lead and continuation bytes: handled per character below
    else ord(" ")
    if unicodedata.category(chr(i)).startswith(("P", "S")) or 0x1C <= i <= 0x1F
    else ord("0")
    if chr(i).isdigit()
    else i
    for i in range(256)
)
# Non-ASCII characters seen so far -> their replacement (None: kept as is).
_NON_ASCII_MAP: dict = {}


def _non_ascii_replacement(ch: str):
    rep = _NON_ASCII_MAP.get(ch, False)
    if rep is False:
        if unicodedata.category(ch).startswith(("P", "S")) or ch.isspace():
            rep = b" "
        elif _DIGITS_RE.match(ch):
            rep = b"0"
        else:
            rep = None
        _NON_ASCII_MAP[ch] = rep
    return rep


def normalize_words(text: str) -> list[bytes]:
    """The words of :func:`normalize`'s output, as UTF-8 bytes (what dedup hashes).

    Works on bytes: one ``bytes.translate`` for ASCII, and one ``bytes.replace`` per
    distinct non-ASCII punctuation, symbol, digit or space character present. That is
    ~5x faster than a per-character ``str.translate`` over a full Unicode table, which
    leaves CPython's ASCII fast path at the first curly quote.
    """
    text = unicodedata.normalize("NFC", text).lower()
    data = text.encode("utf-8", "surrogatepass")
    if len(data) != len(text):  # some non-ASCII characters
        distinct = set(_NON_ASCII_RE.findall(text)) if len(data) < 2 * len(text) else set(text)
        for ch in distinct:
            if ord(ch) > 0x7F:
                rep = _non_ascii_replacement(ch)
                if rep is not None:
                    data = data.replace(ch.encode("utf-8", "surrogatepass"), rep)
    return data.translate(_ASCII_TABLE).split()


def normalize(text: str) -> str:
    """Normalised form for duplicate detection (FineWeb's): NFC, lower-case,
    punctuation and symbols removed, every digit mapped to 0, whitespace collapsed."""
    return b" ".join(normalize_words(text)).decode("utf-8", "surrogatepass")


SEPARATOR, DIGIT = 1, 2
_CHAR_CLASSES = None


def _char_classes(lo: int, hi: int):
    import numpy as np

    # the code points in one string, without a million str objects at once
    chars = np.arange(lo, hi, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    cat_class = {c: 0 for c in ("Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Zs Zl Zp Cc Cf Cs Co Cn").split()}
    cat_class.update({c: SEPARATOR for c in "Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So".split()})
    cat_class["Nd"] = DIGIT
    # C-level loops (map, fromiter, a regex scan): ~0.2 s rather than ~0.6 s in Python.
    table = np.fromiter(map(cat_class.__getitem__, map(unicodedata.category, chars)), np.uint8, count=len(chars))
    table[[m.start() for m in re.finditer(r"\s", chars)]] = SEPARATOR  # str.isspace()
    return table


_BMP = 0x10000


def normalize_char_classes(upto: Optional[int] = None):
    """A numpy uint8 table over the code points below ``upto`` (default: all), the
    per-character view of :func:`normalize` (after NFC and lower-casing): ``SEPARATOR``
    for punctuation, symbols and whitespace, ``DIGIT`` for decimal digits (which become
    "0"), 0 for the characters kept. Lets dedup find and hash words over a whole batch
    with numpy. Built once per process, a plane of 65,536 code points at a time (~7 ms
    each; all 17 take ~0.1 s) as far as the callers need."""
    global _CHAR_CLASSES
    import sys

    import numpy as np

    upto = sys.maxunicode + 1 if upto is None else upto
    have = 0 if _CHAR_CLASSES is None else len(_CHAR_CLASSES)
    if have < upto:
        need = min(-(-upto // _BMP) * _BMP, sys.maxunicode + 1)  # whole planes
        part = _char_classes(have, need)
        _CHAR_CLASSES = part if _CHAR_CLASSES is None else np.concatenate([_CHAR_CLASSES, part])
    return _CHAR_CLASSES
