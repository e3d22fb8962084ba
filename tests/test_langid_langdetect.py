"""The ``langdetect`` backend of the ``language_id`` stage."""

from __future__ import annotations

import pytest

from curate.config import ConfigError, build
from curate.document import Document, Drop
from curate.langid import LanguageId, LanguageIdConfig, langdetect_language

EN = "The quick brown fox jumps over the lazy dog and then runs back into the forest before dark."
DE = "Der schnelle braune Fuchs springt über den faulen Hund und läuft danach schnell in den Wald zurück."


def lid(**kw) -> LanguageId:
    stage = LanguageId(build(LanguageIdConfig, {"backend": "langdetect", **kw}, "stages.language_id"))
    stage.setup()
    return stage


def test_langdetect_backend_stores_language_and_keeps_configured_ones():
    stage = lid(languages=["en"], min_score=0.65)
    d = Document("a", EN, "web")
    assert stage.process(d) is d
    assert d.metadata["language"] == "en" and d.metadata["language_score"] > 0.65
    assert d.signals("language_id") == {"language": "en", "score": d.metadata["language_score"]}
    de = Document("b", DE, "web")
    out = stage.process(de)
    assert isinstance(out, Drop) and out.reason == "language_not_kept" and de.metadata["language"] == "de"


def test_langdetect_is_deterministic_on_ambiguous_text():
    # langdetect samples n-grams at random: unseeded, short mixed text can flip between
    # calls. Seeded, every call gives the same language and probability.
    text = "ok merci danke gracias thanks"
    first = langdetect_language(text, 10_000)
    assert all(langdetect_language(text, 10_000) == first for _ in range(20))


def test_langdetect_codes_match_lid176_and_no_letters_is_unknown():
    assert langdetect_language("这是一个用于测试语言识别的中文句子，内容很简单。", 10_000)[0] == "zh"
    assert langdetect_language("12345 !!! 678", 10_000) == ("unknown", 0.0)
    out = lid(languages=[], min_score=0.5).process(Document("c", "12345 !!!", "web"))
    assert isinstance(out, Drop) and out.reason == "low_score"


def test_langdetect_takes_no_model_file():
    with pytest.raises(ConfigError, match="stages.language_id.model: only the fasttext backend"):
        build(LanguageIdConfig, {"backend": "langdetect", "model": "x.ftz"}, "stages.language_id")
    with pytest.raises(ConfigError, match="backend: expected one of"):
        build(LanguageIdConfig, {"backend": "cld3"}, "stages.language_id")
