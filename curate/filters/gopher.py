"""Gopher quality rules (Rae et al. 2021, appendix A; datatrove's defaults).

Signals are computed once per document and stored; ``decide`` compares them with
the thresholds in the config, so thresholds can change without rescoring.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from curate import text as T
from curate.base import Filter
from curate.config import ConfigError
from curate.registry import register_stage

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "–", "-", "*", "·", "‣", "⁃")
ELLIPSES = ("...", "…")


@dataclasses.dataclass
class GopherQualityConfig:
    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1  # '#' and ellipses, each, per word
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2

    def validate(self, key: str) -> None:
        if self.min_words > self.max_words:
            raise ConfigError(f"{key}.min_words: greater than max_words")


@register_stage("gopher_quality", GopherQualityConfig)
class GopherQuality(Filter):
    name = "gopher_quality"

    def score(self, doc) -> dict:
        text = doc.text
        toks = T.words(text)
        wrds = [w for w in toks if any(c.isalnum() for c in w)]
        n_words = len(wrds)
        lines = T.lines(text) or [""]
        n_lines = len(lines)
        n_stop = 0
        for w in wrds:
            if w.lower() in STOP_WORDS:
                n_stop += 1
                if n_stop >= 8:  # enough to decide; saves time on long texts
                    break
        denom = max(n_words, 1)
        return {
            "n_words": n_words,
            "mean_word_length": (sum(len(w) for w in wrds) / n_words) if n_words else 0.0,
            "hash_ratio": text.count("#") / denom,
            "ellipsis_ratio": (text.count("...") + text.count("…")) / denom,
            "bullet_lines_ratio": sum(ln.startswith(BULLETS) for ln in lines) / n_lines,
            "ellipsis_lines_ratio": sum(ln.endswith(ELLIPSES) for ln in lines) / n_lines,
            "alpha_words_ratio": (
                sum(any(c.isalpha() for c in w) for w in toks) / len(toks) if toks else 0.0
            ),
            "stop_words": n_stop,
        }

    def decide(self, s: dict) -> Optional[str]:
        c = self.config
        if s["n_words"] < c.min_words:
            return "too_few_words"
        if s["n_words"] > c.max_words:
            return "too_many_words"
        if s["mean_word_length"] < c.min_mean_word_length:
            return "mean_word_length_too_short"
        if s["mean_word_length"] > c.max_mean_word_length:
            return "mean_word_length_too_long"
        if s["hash_ratio"] > c.max_symbol_word_ratio:
            return "too_many_hashes"
        if s["ellipsis_ratio"] > c.max_symbol_word_ratio:
            return "too_many_ellipses"
        if s["bullet_lines_ratio"] > c.max_bullet_lines_ratio:
            return "too_many_bullet_lines"
        if s["ellipsis_lines_ratio"] > c.max_ellipsis_lines_ratio:
            return "too_many_ellipsis_lines"
        if s["alpha_words_ratio"] < c.min_alpha_words_ratio:
            return "too_few_alpha_words"
        if s["stop_words"] < c.min_stop_words:
            return "too_few_stop_words"
        return None
