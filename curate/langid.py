"""Language identification (stage ``language_id``): fastText ``lid.176.ftz`` by default,
or ``langdetect`` (a port of Google's language-detection; slower, ~5 ms per 1 KB, and no
model file) with ``backend: langdetect``. Both give ISO 639-1 codes (langdetect's
``zh-cn``/``zh-tw`` are reported as ``zh``, as lid.176 does), so ``languages:`` reads
the same with either backend."""

from __future__ import annotations

import dataclasses
from typing import Literal, Optional

from curate.base import Filter
from curate.document import Document
from curate.filters.common import below
from curate.params import ConfigError, param, threshold
from curate.registry import register_stage


@dataclasses.dataclass
class LanguageIdConfig:
    languages: list[str] = threshold(factory=lambda: ["en"])  # [] keeps any
    min_score: Optional[float] = threshold(0.65, min=0, max=1)  # FineWeb: English with score >= 0.65
    model: Optional[str] = None  # default: the installed lid.176.ftz
    max_chars: int = param(10_000, min=1)  # score the first N chars: long texts cost time, not accuracy
    backend: Literal["fasttext", "langdetect"] = "fasttext"

    def validate(self, key: str) -> None:
        if self.backend == "langdetect" and self.model is not None:
            raise ConfigError(f"{key}.model: only the fasttext backend takes a model file")


def fasttext_language(model, text: str, max_chars: int) -> tuple[str, float]:
    """Top language and its probability. fastText predicts one line: newlines become spaces."""
    labels, probs = model.predict(text[:max_chars].replace("\n", " "), k=1)
    if not labels:
        return "unknown", 0.0
    return labels[0].replace("__label__", ""), float(min(probs[0], 1.0))


# langdetect's codes that differ from lid.176's
_LANGDETECT_CODES = {"zh-cn": "zh", "zh-tw": "zh"}


def langdetect_language(text: str, max_chars: int) -> tuple[str, float]:
    """Top language and its probability with langdetect, seeded so that a text always
    gets the same answer (langdetect samples n-grams at random)."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        langs = detect_langs(text[:max_chars])
    except LangDetectException:  # no letters at all ("No features in text.")
        return "unknown", 0.0
    if not langs:
        return "unknown", 0.0
    return _LANGDETECT_CODES.get(langs[0].lang, langs[0].lang), float(min(langs[0].prob, 1.0))


@register_stage("language_id", LanguageIdConfig)
class LanguageId(Filter):
    """Stores ``metadata.language`` and ``metadata.language_score`` on every document;
    keeps the configured languages at or above ``min_score``."""

    def setup(self) -> None:
        if self.config.backend == "langdetect":
            from langdetect.detector_factory import init_factory

            init_factory()  # loads the language profiles once per process
            self._model = None
            return
        from curate.model_files import lid_model_path, load_fasttext

        self._model = load_fasttext(self.config.model or lid_model_path())

    def score(self, doc: Document) -> dict:
        if self._model is None:
            lang, score = langdetect_language(doc.text, self.config.max_chars)
        else:
            lang, score = fasttext_language(self._model, doc.text, self.config.max_chars)
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        return {"language": lang, "score": round(score, 4)}

    def thresholds(self) -> dict:
        return {"score": (self.config.min_score, None)}

    def decide(self, signals: dict) -> Optional[str]:
        c = self.config
        if c.languages and signals["language"] not in c.languages:
            return "language_not_kept"
        if below(signals["score"], c.min_score):
            return "low_score"
        return None
