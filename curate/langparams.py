"""Per-language parameters of the word-based filters, derived from reference text.

``python -m curate.langparams`` writes ``curate/data/language_params.json``, the
defaults of the ``languages:`` setting of ``gopher_quality`` and ``c4``
(:func:`curate.params.per_language`); ``--check`` only compares (a test runs it). How and
from what, in the spirit of FineWeb-2 (Penedo et al. 2025), which set each language's
stop words and thresholds from the distribution of each signal on reference text of
that language rather than reusing English numbers (docs/languages.md says more):

- **Stop words** (Gopher's ``>= 2`` of 8 very frequent English function words): for
  each language, the 8 most frequent words of a reference word-frequency distribution
  that the language's licensed stop-word list also holds, so the rule keeps its meaning
  (two of the eight commonest function words) in that language. Stop-word lists:
  ``stop-words`` (PyPI, BSD-3-Clause, its LICENSE in the wheel); Thai:
  ``pythainlp``'s ``stopwords_th.txt`` (CC0-1.0). Frequencies: ``wordfreq`` (PyPI;
  code Apache-2.0, data CC-BY-SA 4.0: Wikipedia, subtitles, news, books, web text,
  Twitter, Reddit, per language); Thai: ``pythainlp``'s ``tnc_freq.txt`` (Thai
  National Corpus, CC0-1.0).
- **Mean word length** (Gopher: 3 to 10 characters, set on English): each language's
  mean word length in running text (frequency-weighted, over its 50,000 most frequent
  words) relative to English's, times Gopher's bounds: Chinese words are ~1.6
  characters, Finnish ~5.9, English ~4.4 in the same source.
- **C4's terminal punctuation** (``. ? ! " '``): for every language but English, also
  Unicode's Sentence_Terminal characters (``curate.text.TERMINAL_PUNCTUATION``: "。",
  "！", "؟", "।", ...) and closing quotes, so a line ending in its script's full stop is a
  sentence. Thai writes no sentence punctuation at all: C4's line rules drop every Thai
  line (FineWeb-2 does not run C4 on other languages either).

Nothing else is derived: this machine has no reference *documents* for most languages
(the real WARCs hold 2 German, 9 Chinese, 1 Russian and 29 Japanese pages), so the
thresholds that need the distribution of a document-level signal (word counts,
repetition fractions, line punctuation...) keep the English values for every language.
A language whose stop-word list and frequency list do not meet in 8 words (Hebrew,
Greek: the lists spell words differently) gets no stop words, and the rule is off for
it (see ``GopherQualityConfig.stop_words_language``). Korean is left out: wordfreq counts
Korean morphemes (particles apart) while Korean words here are the space-separated
ones (particles attached), so neither its stop words nor its word lengths would mean
the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from curate.text import TERMINAL_PUNCTUATION

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "language_params.json")

# Languages with a stop-word list and a frequency list: 19 of the 20 largest of Common
# Crawl's after English (ru de ja zh es fr it pt pl nl vi id tr cs fa sv ro hu uk; not ko) and more.
LANGUAGES = tuple(
    "ar bg ca cs da de el es fa fi fr he hi hu id it ja ms nb nl pl pt ro ru sk sv th tr uk vi zh".split()
)
STOP_SET_SIZE = 8  # Gopher's list has 8 words, of which a document needs 2
STOP_CANDIDATES = 2000  # most frequent words searched for the stop set
LENGTH_WORDS = 50_000  # most frequent words in the mean word length
GOPHER_WORD_LENGTH = (3.0, 10.0)  # Gopher's bounds, set on English
C4_TERMINAL = [".", "?", "!", '"', "'"]  # C4's own
CLOSING_QUOTES = ["”", "’", "»", "」", "』", "）", "〕", "】"]


def stop_list(language: str) -> list[str]:
    """The language's stop-word list from its licensed source."""
    if language == "th":
        from pythainlp.corpus import thai_stopwords

        return sorted(thai_stopwords())
    import stop_words

    return stop_words.get_stop_words(language)


def frequencies(language: str) -> dict[str, float]:
    """Word -> frequency in the language's reference distribution (most frequent first)."""
    if language == "th":
        from pythainlp.corpus import get_corpus

        counts: dict[str, int] = {}
        for line in get_corpus("tnc_freq.txt"):
            word, _, n = line.rpartition("\t")
            if word and n.isdigit():
                counts[word] = counts.get(word, 0) + int(n)
        total = sum(counts.values())
        return {w: n / total for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    import wordfreq

    return dict(sorted(wordfreq.get_frequency_dict(language).items(), key=lambda kv: (-kv[1], kv[0])))


def mean_word_length(freqs: dict[str, float]) -> float:
    top = list(freqs.items())[:LENGTH_WORDS]
    return sum(f * len(w) for w, f in top) / sum(f for _, f in top)


def sources() -> dict:
    from importlib.metadata import version

    return {
        "stop_lists": f"stop-words {version('stop-words')} (BSD-3-Clause); th: pythainlp {version('pythainlp')} stopwords_th.txt (CC0-1.0)",
        "frequencies": f"wordfreq {version('wordfreq')} (data CC-BY-SA 4.0); th: pythainlp tnc_freq.txt, Thai National Corpus (CC0-1.0)",
    }


def derive(languages=LANGUAGES) -> dict:
    """The table ``curate/data/language_params.json`` holds (for ``languages``)."""
    english = mean_word_length(frequencies("en"))
    lo, hi = GOPHER_WORD_LENGTH
    reference, gopher, c4 = {}, {}, {}
    terminal = C4_TERMINAL + [p for p in TERMINAL_PUNCTUATION if p not in C4_TERMINAL] + CLOSING_QUOTES
    for language in languages:
        freqs = frequencies(language)
        listed = set(stop_list(language))
        stops = [w for w in list(freqs)[:STOP_CANDIDATES] if w in listed][:STOP_SET_SIZE]
        length = mean_word_length(freqs)
        ratio = length / english
        entry: dict[str, Any] = {
            "min_mean_word_length": round(lo * ratio, 2),
            "max_mean_word_length": round(hi * ratio, 2),
        }
        if len(stops) == STOP_SET_SIZE:
            entry["stop_words"] = stops
        gopher[language] = entry
        c4[language] = {"terminal_punctuation": terminal}
        reference[language] = {"mean_word_length": round(length, 3), "stop_words_found": len(stops)}
    return {
        "about": "Generated by `python -m curate.langparams` (docs/languages.md): do not edit by hand.",
        "sources": sources(),
        "reference": {"en": {"mean_word_length": round(english, 3)}, **reference},
        "gopher_quality": gopher,
        "c4": c4,
    }


def dumps(table: dict) -> str:
    """JSON with one line per language (sorted keys: the same table, the same bytes)."""

    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    parts = []
    for key, value in sorted(table.items()):
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            inner = ",\n".join(f"  {one(k)}: {one(v)}" for k, v in sorted(value.items()))
            parts.append(f" {one(key)}: {{\n{inner}\n }}")
        else:
            parts.append(f" {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing it")
    args = ap.parse_args(argv)
    text = dumps(derive())
    if args.check:
        with open(PATH, encoding="utf-8") as f:
            same = f.read() == text
        print(f"{PATH}: {'up to date' if same else 'differs from the derivation'}")
        return 0 if same else 1
    with open(PATH, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
