"""Sentence segmentation (curate.segment) and what sentence dedup does with it: exact
sentences for hand-made text of every tricky kind in English, German and French, and
sentence dedup that never cuts inside them (checked with curate.dedup.damage)."""

from __future__ import annotations

import pytest

from curate.dedup.damage import audit_edit
from curate.document import Document
from curate.segment import glued, sentences, split_sentences
from tests.test_span_dedup import run_sentences

# The two cases of issue 15 (real pages, damaged by the old splitter), then one case
# per kind and language: (language, kind, sentences); the text is them joined by spaces.
CASES = [
    (
        "de",
        "issue",
        [
            "Die Deutsche Automobilfabriken G.m.b.H.“ (G.D.A.) wurde 1926 in Berlin gegründet.",
            "Sie baute vor allem Lastwagen.",
            "Später kamen Busse dazu.",
        ],
    ),
    (
        "de",
        "issue",
        [
            "Aktionszeitraum: 21.10.2019 – 27.10.2019.",
            "Alle Preise verstehen sich inklusive Mehrwertsteuer.",
            "Solange der Vorrat reicht.",
        ],
    ),
    (
        "en",
        "abbreviations",
        [
            "Dr. Smith met Mrs. Jones at the U.S. embassy, i.e. the old one.",
            "They talked for hours.",
            "Nobody else came.",
        ],
    ),
    ("en", "initials", ["J. R. R. Tolkien wrote it in Oxford.", "George W. Bush read it, too.", "Both liked it."]),
    ("en", "dates", ["On Jan. 5, 2019 we left for Boston.", "We came back on 12/03/2020.", "It snowed."]),
    ("en", "times", ["We met at 10:30 a.m. and left at 5 p.m. sharp.", "Then it rained.", "We stayed inside."]),
    ("en", "decimals", ["It costs $3.50 or 2.5 percent more.", "Pi is about 3.14159.", "Round it."]),
    ("en", "versions", ["Python 3.11.4 replaced v2.7.18 on the server.", "Upgrade now.", "It is safer."]),
    (
        "en",
        "urls",
        [
            "See https://example.com/docs/v1.2/index.html?lang=en for details.",
            "Visit www.example.org.",
            "It has more.",
        ],
    ),
    ("en", "emails", ["Write to jane.doe@mail.example.com today.", "She answers fast.", "Really fast."]),
    ("en", "quotes", ['He said "Stop. Now." and left.', '"Stop!" he shouted.', "Nobody moved."]),
    ("en", "ellipses", ["I waited... and waited.", "Nothing happened.", "He paused… then went on."]),
    (
        "de",
        "abbreviations",
        [
            "Wir brauchen Getränke, z. B. Wasser und Saft.",
            "Frau Prof. Schulze ist z. Z. nicht da.",
            "Ich kann u.a. Spanisch sprechen, Dr. med. Meyer auch.",
        ],
    ),
    ("de", "initials", ["Das hat Hr. J. Müller entschieden.", "Fr. Schmidt war dagegen.", "Sie blieben."]),
    (
        "de",
        "dates",
        [
            "Am 3. Oktober 2020 war Feiertag.",
            "Er wurde im 19. Jahrhundert geboren.",
            "Vom 21.10.2019 bis 27.10.2019 gilt das Angebot.",
        ],
    ),
    ("de", "times", ["Wir öffnen um 9.30 Uhr.", "Um 18:00 Uhr schließen wir.", "Sonntags ist zu."]),
    ("de", "decimals", ["Sie bekommen 3,50 Euro zurück.", "Das sind 1.000.000 Euro.", "Auf S. 23 steht mehr."]),
    ("de", "versions", ["Version 2.4.1 ist da.", "Sie behebt 12 Fehler.", "Bitte aktualisieren."]),
    (
        "de",
        "urls_emails",
        [
            "Mehr unter www.beispiel.de/info.html oder per E-Mail an info@beispiel.de.",
            "Danke.",
            "Bis bald.",
        ],
    ),
    (
        "de",
        "quotes",
        [
            "„Lass uns jetzt essen gehen!“, sagte die Mutter zu ihrer Freundin.",
            "Sie gingen los.",
            "Es regnete.",
        ],
    ),
    ("de", "ellipses", ["Er zögerte… und ging dann.", "Sie wartete...", "Dann kam der Bus."]),
    (
        "fr",
        "abbreviations",
        [
            "M. Dupont et Mme Durand sont arrivés à 14 h 30.",
            "Il lit des romans, des essais, etc. depuis 1905, cf. la biographie.",
            "Mlle Dubois l'a confirmé.",
        ],
    ),
    ("fr", "initials", ["J.-P. Sartre l'a lu.", "Simone l'a relu.", "Ils en ont parlé."]),
    ("fr", "dates_times", ["Le 14.07.2021, il a plu.", "Le 1er janvier, il a neigé.", "Ils sont repartis à 18h."]),
    (
        "fr",
        "decimals_versions",
        [
            "Le prix est de 3,50 € au lieu de 4,99 €.",
            "La version 3.2.1 est sortie.",
            "Voir p. 12 pour les détails.",
        ],
    ),
    (
        "fr",
        "urls_emails",
        [
            "Rendez-vous sur https://www.exemple.fr/page.html.",
            "Écrivez à jean.dupont@exemple.fr pour en savoir plus.",
            "Nous répondrons.",
        ],
    ),
    ("fr", "quotes_ellipses", ["Il a dit : « Bonjour. »", "Puis il est parti.", "Il hésita… puis il partit."]),
]
IDS = [f"{lang}-{kind}-{i}" for i, (lang, kind, _) in enumerate(CASES)]


@pytest.mark.parametrize("lang,kind,expected", CASES, ids=IDS)
def test_exact_sentences(lang, kind, expected):
    text = " ".join(expected)
    assert sentences(text, lang) == expected
    # every boundary falls between sentences: never inside a word or a number
    assert all(not glued(text, s) and not glued(text, e) for s, e in split_sentences(text, lang))


def test_offsets_are_stripped_ordered_and_only_whitespace_lies_between():
    text = "  Erster Satz, z. B. hier.\n \n Zweiter Satz!  Dritter?\n\n\n"
    spans = split_sentences(text, "de")
    assert [text[s:e] for s, e in spans] == ["Erster Satz, z. B. hier.", "Zweiter Satz!", "Dritter?"]
    cursor = 0
    for s, e in spans:
        assert s >= cursor and not text[cursor:s].strip()
        cursor = e
    assert not text[cursor:].strip()


def test_paragraph_breaks_end_sentences_and_lone_newlines_do_not():
    text = "A heading without a stop\n\nIt starts here and goes\non over a wrapped line. Done."
    assert sentences(text) == [
        "A heading without a stop",
        "It starts here and goes\non over a wrapped line.",
        "Done.",
    ]


def test_scripts_without_spaces_split_on_their_own_full_stops():
    assert sentences("我们今天去公园。天气很好！你来吗？好的", "zh") == [
        "我们今天去公园。",
        "天气很好！",
        "你来吗？",
        "好的",
    ]
    assert sentences("今日は晴れです。明日は雨でしょう！本当？", "ja") == [
        "今日は晴れです。",
        "明日は雨でしょう！",
        "本当？",
    ]


def test_pieces_without_letters_and_glued_boundaries_are_not_sentences():
    assert sentences("1. The first item. 2. The second item.") == ["1. The first item.", "2. The second item."]
    assert sentences("Compra: 1.Helado, 2.Carne, 3.Arroz. ¿Cuánto?", "es") == [
        "Compra: 1.Helado, 2.Carne, 3.Arroz.",
        "¿Cuánto?",
    ]
    assert sentences("") == [] and sentences(" \n\n ") == []


def test_unknown_or_missing_language_uses_fallback_rules():
    text = "Dr. Smith came at 5 p.m. today. He left."
    assert sentences(text, None) == sentences(text, "xx") == ["Dr. Smith came at 5 p.m. today.", "He left."]


# ----------------------------------------------------------------------------- dedup


def doc(i: str, text: str, lang: str) -> Document:
    return Document(i, text, "web", metadata={"language": lang})


@pytest.mark.parametrize("floor", [{}, {"min_span_words": 0, "min_span_chars": 0}], ids=["floor", "no-floor"])
def test_repeated_fragments_inside_different_sentences_are_never_cut(floor):
    """The issue's pages: abbreviations, dates and initials that recur across
    documents inside sentences that differ. The old splitter made "G.", "m.", "b."
    units of one token, three in a row formed a span, and the cut removed "m.b.H."
    from the middle of a name. Now no unit is shorter than a sentence: nothing to cut,
    with or without the minimum span."""
    texts = {
        "a": "Die Deutsche Automobilfabriken G.m.b.H.“ (G.D.A.) wurde 1926 gegründet. Sie baute Lastwagen.",
        "b": "Ein Wagen der Automobilfabriken G.m.b.H.“ (G.D.A.) steht im Museum. Er ist rot.",
        "c": "Aktionszeitraum: 21.10.2019 – 27.10.2019. Alle Preise inklusive Mehrwertsteuer.",
        "d": "Aktionszeitraum: 21.10.2019 – 27.10.2019, solange der Vorrat reicht. Nur online.",
        "e": "Dr. J. R. R. Tolkien u. a. lasen es am 3. 10. 2019 um 10.30 Uhr vor.",
        "f": "Prof. J. R. R. Tolkien u. a. lasen es am 3. 10. 2019 um 10.30 Uhr nicht vor.",
    }
    out, _ = run_sentences({i: doc(i, t, "de") for i, t in texts.items()}, **floor)
    assert out == texts


@pytest.mark.parametrize("lang,kind,passage", CASES, ids=IDS)
def test_a_repeated_passage_is_cut_whole_and_rejoined_cleanly(lang, kind, passage):
    """The same three sentences in two documents: the larger id loses exactly them,
    and the diff of its text finds one removal, at word boundaries, clean seams."""
    text = " ".join(passage)
    docs = {
        "a": doc("a", f"Erstens ist das hier anders.\n\n{text} Zum Schluss etwas Eigenes.", lang),
        "b": doc("b", f"Something else opens this one. {text}\n\nAnd it closes differently.", lang),
    }
    before = docs["b"].text
    out, _ = run_sentences(docs)
    assert out["a"] == docs["a"].text
    assert out["b"] == "Something else opens this one.\n\nAnd it closes differently."
    audit = audit_edit(before, out["b"])
    assert [before[r.start : r.end] for r in audit.removals] == [text]
    assert audit.inside_word() == 0 and audit.seam_faults == 0 and audit.altered == 0
