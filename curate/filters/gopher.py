"""Gopher quality rules (Rae et al. 2021, appendix A), with datatrove's definitions.

Words are ``curate.text.words`` tokens (letter/digit words and punctuation runs, as
spaCy's tokens are in datatrove); a *symbol word* is a punctuation run. As in
datatrove: the word-count and mean-length rules use the non-symbol words; the '#' and
ellipsis ratios and the alphabetic-word ratio divide by all tokens; the bullet and
ellipsis line ratios run over ``str.splitlines()`` (blank lines included); the stop-word
rule counts *distinct* stop words present (case-sensitive).

Signals are computed once per document and stored; ``decide`` compares them with
the thresholds in the config, so thresholds can change without rescoring.

Languages (docs/languages.md): words are cut per the document's language
(:mod:`curate.lang`), and ``languages: {de: {...}, zh: {...}}`` sets any field anew for
that language's documents, over defaults derived from reference text
(``curate/data/language_params.json``: per-language stop words and mean-word-length
bounds). The default stop words are English: a document in another language that has
no stop words of its own is not held to the stop-word rule (``stop_words: null`` in
its signals). ``per_language: false`` scores and decides every document as English,
as before these settings existed.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Optional

from curate.base import Filter
from curate.filters.common import below, cached_alnum_words, cached_words, exceeds
from curate.params import ConfigError, language_overrides, param, threshold
from curate.registry import register_stage

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
ELLIPSES = ("...", "…")


@dataclasses.dataclass
class GopherQualityConfig:
    min_words: Optional[int] = threshold(50, min=0)
    max_words: Optional[int] = threshold(100_000, min=0)
    min_mean_word_length: Optional[float] = threshold(3.0, min=0)
    max_mean_word_length: Optional[float] = threshold(10.0, min=0)
    max_symbol_word_ratio: Optional[float] = threshold(0.1, min=0)  # '#' and ellipses, each, per token
    max_bullet_lines_ratio: Optional[float] = threshold(0.9, min=0, max=1)
    max_ellipsis_lines_ratio: Optional[float] = threshold(0.3, min=0, max=1)
    min_alpha_words_ratio: Optional[float] = threshold(0.8, min=0, max=1)
    min_stop_words: Optional[int] = threshold(2, min=0)
    # scoring parameters: the signals count these
    stop_words: list[str] = param(factory=lambda: list(STOP_WORDS))
    bullets: list[str] = param(factory=lambda: ["•", "-"], nonempty=True)
    # the language ``stop_words`` are of (null: they apply to every document, as before)
    stop_words_language: Optional[str] = param("en", nonempty=True)
    per_language: bool = True  # false: every document is scored and decided as English
    languages: dict[str, dict] = language_overrides("gopher_quality")

    def validate(self, key: str) -> None:
        if self.min_words is not None and self.max_words is not None and self.min_words > self.max_words:
            raise ConfigError(f"{key}.min_words: greater than max_words ({self.min_words} > {self.max_words})")
        if not self.bullets:
            raise ConfigError(f"{key}.bullets: expected a list of non-empty strings")


def count_alpha_words(words: list[str]) -> int:
    """Words with at least one letter. Most words are all letters (a C-level test);
    only the others ("don't", "3rd", "1,000") are looked at character by character."""
    mixed = list(itertools.filterfalse(str.isalpha, words))
    return len(words) - len(mixed) + sum(1 for w in mixed if any(c.isalpha() for c in w))


@register_stage("gopher_quality", GopherQualityConfig)
class GopherQuality(Filter):
    name = "gopher_quality"

    def __init__(self, config):
        super().__init__(config)
        self._bullets = tuple(config.bullets)
        self._stop_sets: dict = {}

    def stop_words_for(self, language: Optional[str]) -> Optional[frozenset]:
        """The stop words a document in ``language`` is held to, or None (the rule does
        not apply: the default list is another language's and this one has none)."""
        if language not in self._stop_sets:
            c = self.config
            own = "stop_words" in c.languages.get(language, {}) if language else False
            foreign = language and c.stop_words_language is not None and language != c.stop_words_language
            words = None if foreign and not own else frozenset(self.config_for(language).stop_words)
            self._stop_sets[language] = words
        return self._stop_sets[language]

    def score(self, doc) -> dict:
        text = doc.text
        language = self.language_of(doc)  # Chinese, Japanese, Thai: cut into words first
        stop_words = self.stop_words_for(language)
        toks = cached_words(text, language)
        wrds = cached_alnum_words(text, language)  # the non-symbol tokens, in the same tokenisation
        n_words = len(wrds)
        n_toks = max(len(toks), 1)
        lines = text.splitlines()
        n_lines = max(len(lines), 1)
        bullets = self._bullets
        signals = {
            "n_words": n_words,
            "mean_word_length": (sum(map(len, wrds)) / n_words) if n_words else 0.0,
            "hash_ratio": text.count("#") / n_toks,
            "ellipsis_ratio": (text.count("...") + text.count("…")) / n_toks,
            "bullet_lines_ratio": sum(1 for ln in lines if ln.lstrip().startswith(bullets)) / n_lines,
            "ellipsis_lines_ratio": sum(1 for ln in lines if ln.rstrip().endswith(ELLIPSES)) / n_lines,
            "alpha_words_ratio": count_alpha_words(wrds) / n_toks,
            "stop_words": None if stop_words is None else len(stop_words.intersection(wrds)),
        }
        if language:
            signals["language"] = language  # decide() applies that language's thresholds
        return signals

    def thresholds(self) -> dict:
        c = self.config
        return {
            "n_words": (c.min_words, c.max_words),
            "mean_word_length": (c.min_mean_word_length, c.max_mean_word_length),
            "hash_ratio": (None, c.max_symbol_word_ratio),
            "ellipsis_ratio": (None, c.max_symbol_word_ratio),
            "bullet_lines_ratio": (None, c.max_bullet_lines_ratio),
            "ellipsis_lines_ratio": (None, c.max_ellipsis_lines_ratio),
            "alpha_words_ratio": (c.min_alpha_words_ratio, None),
            "stop_words": (c.min_stop_words, None),
        }

    def decide(self, s: dict) -> Optional[str]:
        c = self.config_for(s.get("language"))
        if below(s["n_words"], c.min_words):
            return "too_few_words"
        if exceeds(s["n_words"], c.max_words):
            return "too_many_words"
        if below(s["mean_word_length"], c.min_mean_word_length):
            return "mean_word_length_too_short"
        if exceeds(s["mean_word_length"], c.max_mean_word_length):
            return "mean_word_length_too_long"
        if exceeds(s["hash_ratio"], c.max_symbol_word_ratio):
            return "too_many_hashes"
        if exceeds(s["ellipsis_ratio"], c.max_symbol_word_ratio):
            return "too_many_ellipses"
        if exceeds(s["bullet_lines_ratio"], c.max_bullet_lines_ratio):
            return "too_many_bullet_lines"
        if exceeds(s["ellipsis_lines_ratio"], c.max_ellipsis_lines_ratio):
            return "too_many_ellipsis_lines"
        if below(s["alpha_words_ratio"], c.min_alpha_words_ratio):
            return "too_few_alpha_words"
        if s["stop_words"] is not None and below(s["stop_words"], c.min_stop_words):
            return "too_few_stop_words"
        return None
