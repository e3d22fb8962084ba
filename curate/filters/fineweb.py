"""FineWeb's own quality rules (Penedo et al. 2024), with datatrove's definitions.

Over the non-blank lines (split on ``\\n``, not stripped): the fraction ending in
terminal punctuation (Unicode Sentence_Terminal), the fraction of at most 30 characters,
and the characters of lines repeating an earlier line over the text's length without
newlines; and newlines per word (``curate.text.words`` tokens).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from curate.base import Filter
from curate.filters.common import below, cached_words, count_duplicates, exceeds
from curate.params import language_overrides, param, threshold
from curate.registry import register_stage
from curate.text import TERMINAL_PUNCTUATION


@dataclasses.dataclass
class FineWebConfig:
    min_punct_line_frac: Optional[float] = threshold(0.12, min=0, max=1)
    max_short_line_frac: Optional[float] = threshold(0.67, min=0, max=1)
    short_line_length: int = param(30, min=0)  # a line of at most this many characters is short
    max_dup_line_char_frac: Optional[float] = threshold(0.01, min=0, max=1)
    max_newlines_per_word: Optional[float] = threshold(0.3, min=0)
    per_language: bool = True  # false: words of every document cut as in English
    languages: dict[str, dict] = language_overrides("fineweb")  # {th: {min_punct_line_frac: null}}


@register_stage("fineweb", FineWebConfig)
class FineWeb(Filter):
    name = "fineweb"

    def score(self, doc) -> dict:
        text = doc.text
        language = self.language_of(doc)
        lines = [ln for ln in text.split("\n") if ln.strip()]
        n_lines = len(lines)
        denom = max(n_lines, 1)
        short = self.config_for(language).short_line_length
        n_words = len(cached_words(text, language))
        chars_no_newlines = len(text) - text.count("\n")
        signals = {
            "n_lines": n_lines,
            "punct_line_frac": sum(1 for ln in lines if ln.endswith(TERMINAL_PUNCTUATION)) / denom,
            "short_line_frac": sum(1 for ln in lines if len(ln) <= short) / denom,
            "dup_line_char_frac": count_duplicates(lines)[1] / max(chars_no_newlines, 1),
            "newlines_per_word": text.count("\n") / max(n_words, 1),
        }
        if language:
            signals["language"] = language  # decide() applies that language's thresholds
        return signals

    def thresholds(self) -> dict:
        c = self.config
        return {
            "n_lines": (1, None),
            "punct_line_frac": (c.min_punct_line_frac, None),
            "short_line_frac": (None, c.max_short_line_frac),
            "dup_line_char_frac": (None, c.max_dup_line_char_frac),
            "newlines_per_word": (None, c.max_newlines_per_word),
        }

    def decide(self, s: dict) -> Optional[str]:
        c = self.config_for(s.get("language"))
        if s["n_lines"] == 0:
            return "empty"
        if below(s["punct_line_frac"], c.min_punct_line_frac):
            return "too_few_punctuated_lines"
        if exceeds(s["short_line_frac"], c.max_short_line_frac):
            return "too_many_short_lines"
        if exceeds(s["dup_line_char_frac"], c.max_dup_line_char_frac):
            return "duplicated_line_chars"
        if exceeds(s["newlines_per_word"], c.max_newlines_per_word):
            return "too_many_newlines"
        return None
