"""Language identification with fastText ``lid.176.ftz`` (stage ``language_id``)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional

from curate.base import Filter
from curate.config import ConfigError
from curate.document import Document
from curate.registry import register_stage


@dataclasses.dataclass
class LanguageIdConfig:
    languages: list[str] = dataclasses.field(default_factory=lambda: ["en"])  # [] keeps any
    min_score: float = 0.65  # FineWeb: English with score >= 0.65
    model: Optional[str] = None  # default: the installed lid.176.ftz
    max_chars: int = 10_000  # score the first N chars: long texts cost time, not accuracy

    def validate(self, key: str) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"{key}.min_score: must be in [0, 1], got {self.min_score}")


@functools.lru_cache(maxsize=None)
def load_fasttext_model(path: str):
    """Load a fastText model once per process (every DoFn instance in a worker shares it)."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
    return fasttext.load_model(path)


def fasttext_language(model, text: str, max_chars: int) -> tuple[str, float]:
    """Top language and its probability. fastText predicts one line: newlines become spaces."""
    labels, probs = model.predict(text[:max_chars].replace("\n", " "), k=1)
    if not labels:
        return "unknown", 0.0
    return labels[0].replace("__label__", ""), float(min(probs[0], 1.0))


@register_stage("language_id", LanguageIdConfig)
class LanguageId(Filter):
    """Stores ``metadata.language`` and ``metadata.language_score`` on every document;
    keeps the configured languages at or above ``min_score``."""

    name = "language_id"

    def setup(self) -> None:
        from curate.models import lid_model_path

        self._model = load_fasttext_model(self.config.model or lid_model_path())

    def score(self, doc: Document) -> dict:
        if not hasattr(self, "_model"):
            self.setup()
        lang, score = fasttext_language(self._model, doc.text, self.config.max_chars)
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        return {"language": lang, "score": round(score, 4)}

    def decide(self, signals: dict) -> Optional[str]:
        c = self.config
        if c.languages and signals["language"] not in c.languages:
            return "language_not_kept"
        if signals["score"] < c.min_score:
            return "low_score"
        return None
