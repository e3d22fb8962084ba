"""The byte-level ``normalize`` must give exactly what the per-character definition gives."""

import random
import re
import sys
import unicodedata

from curate import text as T


def reference_normalize(text: str) -> str:
    """FineWeb's normalisation, written one character at a time (the definition)."""
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text)
    text = re.sub(r"\d", "0", text)
    return re.sub(r"\s+", " ", text).strip()


def test_normalize_examples():
    assert T.normalize("Hello, World!  It's 2024.") == "hello world it s 0000"
    assert T.normalize("“Curly” quotes — and\u00a0nbsp\u2009thin") == "curly quotes and nbsp thin"
    assert T.normalize("Arabic-Indic ٣ and superscript ²") == "arabic indic 0 and superscript ²"  # ² is No, not Nd
    assert T.normalize("   ") == ""
    assert T.normalize_words("A b,c") == [b"a", b"b", b"c"]


def test_normalize_matches_definition_on_random_unicode():
    rng = random.Random(7)
    # Code points from every region, weighted toward ASCII, Latin-1, punctuation blocks,
    # digits of other scripts, separators and the control range \x1c-\x1f.
    pools = [
        range(0x00, 0x80),
        range(0x80, 0x250),
        range(0x2000, 0x2070),
        range(0x0660, 0x06F0),
        range(0x3000, 0x3100),
        range(0x1F300, 0x1F700),
        range(0xD800, 0xE000),
        range(0x0300, 0x0370),
        range(0, sys.maxunicode + 1),
    ]
    for _ in range(3000):
        n = rng.randint(0, 40)
        s = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(n))
        assert T.normalize(s) == reference_normalize(s), repr(s)


def test_normalize_matches_definition_on_real_text(shared_data):
    book = shared_data("books", "pg11-alice-in-wonderland.txt").read_text(encoding="utf-8")
    assert T.normalize(book) == reference_normalize(book)


def test_char_classes_follow_the_definition():
    table = T.normalize_char_classes()
    rng = random.Random(3)
    points = list(range(0x3000)) + [rng.randrange(sys.maxunicode + 1) for _ in range(20000)]
    for i in points:
        c = chr(i)
        cat = unicodedata.category(c)
        expected = T.SEPARATOR if cat[0] in "PS" or c.isspace() else T.DIGIT if cat == "Nd" else 0
        assert table[i] == expected, hex(i)


def test_char_classes_grow_from_the_basic_plane_on_demand(monkeypatch):
    full = T.normalize_char_classes()
    monkeypatch.setattr(T, "_CHAR_CLASSES", None)
    assert len(T.normalize_char_classes(0x41)) == 0x10000  # the Basic Multilingual Plane only
    grown = T.normalize_char_classes(0x1F600 + 1)  # an emoji needs the next plane
    assert len(grown) == 0x20000 and (grown == full[:0x20000]).all()
    assert (T.normalize_char_classes() == full).all()
