"""Unit tests of the per-document stages: extraction, language ID, Gopher quality."""

import pytest

from curate.document import Document, Drop
from curate.extract import Extract, ExtractConfig
from curate.filters.gopher import GopherQuality, GopherQualityConfig
from curate.langid import LanguageId, LanguageIdConfig

PROSE = (
    "The history of the town is closely tied to the river that runs through it. "
    "For centuries the river carried goods to the sea, and the merchants who lived here "
    "grew rich from the trade. Today the old warehouses have been turned into homes and "
    "studios, and visitors come to walk along the water and to see the boats that still "
    "use the harbour in the summer months. The museum tells the story of the trade with "
    "maps, letters and objects that were found when the quay was rebuilt."
)


def doc(text, **kw):
    return Document("id1", text, "web", **kw)


def gopher(text, **cfg):
    f = GopherQuality(GopherQualityConfig(**cfg))
    d = doc(text)
    return f.process(d), d


def test_gopher_keeps_prose_and_stores_signals():
    out, d = gopher(PROSE)
    assert out is d
    s = d.signals("gopher_quality")
    assert s["n_words"] > 50 and 3 <= s["mean_word_length"] <= 10 and s["stop_words"] >= 2


@pytest.mark.parametrize(
    "text,cfg,reason",
    [
        ("Short text with the words.", {}, "too_few_words"),
        (PROSE, {"max_words": 20}, "too_many_words"),
        (" ".join(["a of to it is an"] * 20), {}, "mean_word_length_too_short"),
        (" ".join(["internationalization responsibilities the of"] * 20), {}, "mean_word_length_too_long"),
        (PROSE + " #tag" * 15, {}, "too_many_hashes"),
        (PROSE + " and so on..." * 25, {}, "too_many_ellipses"),
        ("\n".join(["- the item of value and the price"] * 12), {}, "too_many_bullet_lines"),
        (
            "\n".join(["the story goes on and on and then ...", "the end of the line"] * 8),
            {},
            "too_many_ellipsis_lines",
        ),
        (PROSE + " 12 34 56 78 90 11 22 33 44 55 66 77 88 99" * 3 + " %% $$ @@ ^^ ~~" * 6, {}, "too_few_alpha_words"),
        (
            " ".join(["cheap pills casino bonus free spins online discount replica watches"] * 8),
            {},
            "too_few_stop_words",
        ),
    ],
)
def test_gopher_each_rule_trips_with_its_reason(text, cfg, reason):
    out, _ = gopher(text, **cfg)
    assert isinstance(out, Drop) and out.reason == reason


def test_gopher_decide_reapplies_new_thresholds_without_rescoring():
    _, d = gopher(PROSE)
    signals = d.signals("gopher_quality")
    strict = GopherQuality(GopherQualityConfig(min_words=500))
    assert strict.decide(signals) == "too_few_words"
    assert GopherQuality(GopherQualityConfig()).decide(signals) is None


def made(stage):
    """The stage after its setup (the pipeline calls it once per worker)."""
    stage.setup()
    return stage


def test_language_id_stores_language_and_keeps_configured_ones():
    lid = made(LanguageId(LanguageIdConfig(languages=["en"], min_score=0.65)))
    d = doc(PROSE)
    assert lid.process(d) is d
    assert d.metadata["language"] == "en" and d.metadata["language_score"] > 0.65
    de = doc("Der schnelle braune Fuchs springt über den faulen Hund und läuft danach schnell in den Wald zurück.")
    out = lid.process(de)
    assert isinstance(out, Drop) and out.reason == "language_not_kept" and de.metadata["language"] == "de"
    low = made(LanguageId(LanguageIdConfig(languages=[], min_score=0.99))).process(doc("ok ok 123"))
    assert isinstance(low, Drop) and low.reason == "low_score"
    assert (
        made(LanguageId(LanguageIdConfig(languages=[], min_score=0.0)))
        .process(doc("Der Hund läuft."))
        .metadata["language"]
        == "de"
    )


def test_extract_turns_html_into_main_text_and_drops_empty_pages():
    ex = made(Extract(ExtractConfig()))
    page = (
        "<html><body><nav><a href='/'>Home</a><a href='/news'>News</a></nav><article><h1>River town</h1>"
        + "".join(f"<p>{s}.</p>" for s in PROSE.split(". "))
        + "</article><footer>© 2026 All rights reserved</footer></body></html>"
    )
    d = doc("", html=page)
    out = ex.process(d)
    assert out is d and d.html is None
    assert "merchants who lived here" in d.text and "All rights reserved" not in d.text
    empty = ex.process(
        doc("", html="<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>")
    )
    assert isinstance(empty, Drop) and empty.reason == "no_text"
    already_text = doc("plain text")
    assert ex.process(already_text) is already_text


def test_per_document_stages_run_without_importing_beam():
    """The core is Beam-free: the web chain's stages, built from the registry with their
    defaults and run on a document, must not import apache_beam (its import costs ~120 MB
    and ~1.7 s in every worker process; a local word list once pulled it in through
    curate.io). A fresh interpreter, since this one has Beam loaded."""
    import subprocess
    import sys

    script = f"""
import sys
from curate import registry
from curate.config import build
from curate.document import Document
for name in ("extract", "language_id", "gopher_repetition", "gopher_quality", "c4", "fineweb"):
    spec = registry.stage(name)
    stage = spec.make(build(spec.config_cls, {{}}))
    stage.process(Document("id1", {PROSE!r}, "web"))
assert "apache_beam" not in sys.modules, "a per-document stage imported apache_beam"
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
