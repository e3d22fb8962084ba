"""Word segmentation for languages written without spaces, behind :func:`curate.text.words`.

Chinese, Japanese and Thai put no space between words, so splitting on whitespace and
punctuation (:func:`curate.text.words`, right for most languages) makes a whole clause
one "word": every word-count, mean-word-length, n-gram and stop-word rule, the MinHash
shingles and the span dedups' minimum span size are then meaningless for them. For a
document whose ``metadata.language`` (set by ``language_id``) is one of these, the text
is first cut into words by a real segmenter, and the words are joined with spaces
(:func:`spaced`); every stage then tokenises that as it tokenises any other text. Only
runs of the unspaced scripts go through the segmenter, so punctuation, numbers and
Latin words inside the text come out exactly as in other languages.

Segmenters (PyPI wheels or pure-Python sdists with their dictionaries inside; nothing
downloads at run time):

- ``zh`` (and ``wuu``, ``yue``, which lid.176 also reports): ``jieba`` (MIT), its
  default dictionary and HMM for unknown words, as spaCy's Chinese tokenizer uses it
  with ``segmenter: jieba`` (and so datatrove and FineWeb-2);
- ``ja``: ``fugashi`` (MeCab, MIT/BSD) with the ``unidic-lite`` dictionary (BSD), in
  wakati (word-split) mode. Measured on the 29 Japanese ClueWeb09 pages of
  ``../shared/data``: ~1.1M characters/s against SudachiPy's (mode C, core dictionary)
  ~0.56M, with near-identical cuts (SudachiPy's mode C keeps some compounds whole,
  "長財布"); datatrove uses SudachiPy through spaCy;
- ``th``: ``pythainlp``'s ``newmm-safe`` engine (Apache-2.0; dictionary in the wheel),
  as datatrove's ``ThaiTokenizer``.

Each segmenter is loaded once per process on first use (:func:`curate.model_files.shared`),
shared by every stage and thread; a document in any other language costs one dict
lookup. Lao, Khmer, Myanmar and Tibetan have no segmenter here: their text stays as
it is (one "word" per run) and the stages that count words say what they do for them.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Callable, Optional

from curate.model_files import shared

# Scripts written without spaces between words or sentences: Thai, Lao, Tibetan,
# Myanmar, Khmer, CJK punctuation, kana, CJK ideographs, Hangul syllables, fullwidth
# forms (code point ranges, inclusive).
UNSPACED_RANGES = (
    (0x0E00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3100, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)
# a run of such characters (combining marks of those scripts lie inside the ranges)
_UNSPACED_RUN = re.compile("[%s]+" % "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in UNSPACED_RANGES))

# language code (as lid.176 reports it) -> segmenter name
SEGMENTED_LANGUAGES = {"zh": "jieba", "wuu": "jieba", "yue": "jieba", "ja": "fugashi", "th": "pythainlp"}


def segmenter_name(language: Optional[str]) -> Optional[str]:
    """The segmenter that cuts ``language``'s text into words, or None (whitespace and
    punctuation are enough)."""
    return SEGMENTED_LANGUAGES.get(language) if language else None


def _jieba() -> Callable[[str], list[str]]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # "Building prefix dict..." on every load
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer.lcut


def _fugashi() -> Callable[[str], list[str]]:
    import fugashi
    import unidic_lite

    dicdir = unidic_lite.DICDIR
    tagger = fugashi.GenericTagger(f'-Owakati -r "{os.path.join(dicdir, "mecabrc")}" -d "{dicdir}"')
    lock = threading.Lock()  # a MeCab tagger holds one lattice: one parse at a time

    def cut(text: str) -> list[str]:
        with lock:
            return tagger.parse(text).split()

    return cut


def _pythainlp() -> Callable[[str], list[str]]:
    from pythainlp.tokenize import word_tokenize

    return lambda text: word_tokenize(text, engine="newmm-safe", keep_whitespace=False)


_LOADERS = {"jieba": _jieba, "fugashi": _fugashi, "pythainlp": _pythainlp}


def segmenter(name: str) -> Callable[[str], list[str]]:
    """The word cutter ``name`` (a key of :data:`SEGMENTED_LANGUAGES`' values), loaded
    once per process."""
    return shared(("segmenter", name), _LOADERS[name])


def spaced(text: str, language: Optional[str]) -> str:
    """``text`` with its words separated by spaces: each run of characters of a script
    written without spaces (:data:`UNSPACED_RANGES`) cut by ``language``'s segmenter,
    everything else (Latin words, numbers such as "1,000", whitespace) left as it is; or
    ``text`` itself (the same object) for a language that writes spaces."""
    name = segmenter_name(language)
    if name is None:
        return text
    cut = segmenter(name)
    return _UNSPACED_RUN.sub(lambda m: " " + " ".join(cut(m.group())) + " ", text)
