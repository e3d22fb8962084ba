"""Books reader on fixtures built in code: every Gutenberg marker variant, BOM, CRLF,
paragraph rejoining, title/author, chapter and size splits, .gz and .zip, bad input."""

import gzip
import io
import zipfile

import pytest

from curate.config import ConfigError, build
from curate.document import Document, ErrorRecord, Rejected, make_id
from curate.readers.books import BooksConfig, heading_indices, read_file, rejoin, roman_value

PARA1 = (
    "It was a bright cold day in April, and the clocks were striking thirteen. The\n"
    "hall smelt of boiled cabbage and old rag mats. At one end of it a coloured\n"
    "poster, too large for indoor display, had been tacked to the wall.\n"
)
PARA2 = (
    "Outside, even through the shut window-pane, the world looked cold. Down in the\n"
    "street little eddies of wind were whirling dust and torn paper into spirals,\n"
    "and though the sun was shining and the sky a harsh blue, there seemed to be\n"
    "no colour in anything.\n"
)
VERSE = "  How doth the little crocodile\n    Improve his shining tail,\n  And pour the waters of the Nile\n"
BODY = f"{PARA1}\n{VERSE}\n{PARA2}"
JOINED1 = " ".join(line.strip() for line in PARA1.strip().split("\n"))
JOINED2 = " ".join(line.strip() for line in PARA2.strip().split("\n"))

MODERN_HEADER = (
    "The Project Gutenberg eBook of A Test Book, by Jane Q. Writer\n\n"
    "This eBook is for the use of anyone anywhere in the United States and\n"
    "most other parts of the world at no cost.\n\n"
    "Title: A Test Book\n       Being the Second Volume\n\nAuthor: Jane Q. Writer\n\n"
    "Release Date: May 1, 2020 [EBook #12345]\n\nLanguage: English\n\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***\n\n\n"
    "Produced by Some Volunteers and the Online Distributed Proofreading Team\n\n\n"
)
MODERN_FOOTER = (
    "\n\n*** END OF THE PROJECT GUTENBERG EBOOK A TEST BOOK ***\n\n"
    "Updated editions will replace the previous one--the old editions will\nbe renamed.\n"
)
THIS_HEADER = (
    "Project Gutenberg's A Test Book, by Jane Q. Writer\n\n"
    "Title: A Test Book\n\nAuthor: Jane Q. Writer\n\n"
    "*** START OF THIS PROJECT GUTENBERG EBOOK A TEST BOOK ***\n\n"
)
THIS_FOOTER = (
    "\n\nEnd of Project Gutenberg's A Test Book, by Jane Q. Writer\n\n"
    "*** END OF THIS PROJECT GUTENBERG EBOOK A TEST BOOK ***\n\nlicence text\n"
)
EBOOK_FOOTER = "\n\nEnd of the Project Gutenberg EBook of A Test Book, by Jane Q. Writer\n\nlicence text\n"
SMALL_PRINT_HEADER = (
    "**The Project Gutenberg Etext of A Test Book, by Jane Q. Writer**\n\n"
    "Please take a look at the important information in this header.\n\n"
    "**Welcome To The World of Free Plain Vanilla Electronic Texts**\n\n"
    "*****These Etexts Are Prepared By Thousands of Volunteers!*****\n\n"
    "**START**THE SMALL PRINT!**FOR PUBLIC DOMAIN ETEXTS**START***\n"
    'Why is this "Small Print!" statement here?  You know: lawyers.\n'
    "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n"
)
ETEXT_FOOTER = "\n\nEnd of The Project Gutenberg Etext of A Test Book\n"
NOSPACE_HEADER = (
    "Title: A Test Book\nAuthor: Jane Q. Writer\n\n***START OF THE PROJECT GUTENBERG EBOOK A TEST BOOK***\n\n"
)
NOSPACE_FOOTER = "\n\n***END OF THE PROJECT GUTENBERG EBOOK A TEST BOOK***\n\nlicence\n"


def read(data: bytes, path="book.txt", **cfg):
    return list(read_file(path, io.BytesIO(data), "books", BooksConfig(**cfg)))


def only_doc(items) -> Document:
    assert len(items) == 1 and isinstance(items[0], Document), items
    return items[0]


VERSE_KEPT = "How doth the little crocodile\n  Improve his shining tail,\nAnd pour the waters of the Nile"


def check_body(text: str):
    assert text == f"{JOINED1}\n\n{VERSE_KEPT}\n\n{JOINED2}"
    for marker in ("Gutenberg", "GUTENBERG", "licence", "SMALL PRINT", "Produced by", "Title:"):
        assert marker not in text


@pytest.mark.parametrize(
    "header,footer",
    [
        (MODERN_HEADER, MODERN_FOOTER),
        (THIS_HEADER, THIS_FOOTER),
        (THIS_HEADER, EBOOK_FOOTER),
        (SMALL_PRINT_HEADER, ETEXT_FOOTER),
        (NOSPACE_HEADER, NOSPACE_FOOTER),
        (SMALL_PRINT_HEADER + "*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\n", THIS_FOOTER),
    ],
    ids=["the", "this", "ebook-footer", "small-print", "no-spaces", "small-print-then-start"],
)
def test_every_marker_variant_is_stripped(header, footer):
    d = only_doc(read((header + BODY + footer).encode()))
    check_body(d.text)
    assert d.metadata["book"]["gutenberg"] is True


def test_title_and_author_from_the_header_fields_and_first_line():
    d = only_doc(read((MODERN_HEADER + BODY + MODERN_FOOTER).encode()))
    book = d.metadata["book"]
    assert book["title"] == "A Test Book Being the Second Volume"  # wrapped field continues
    assert book["author"] == "Jane Q. Writer"
    assert book["language"] == "English" and book["ebook_number"] == 12345
    # the 1990s header has no fields: the first line names title and author
    d = only_doc(read((SMALL_PRINT_HEADER + BODY + ETEXT_FOOTER).encode()))
    assert d.metadata["book"]["title"] == "A Test Book"
    assert d.metadata["book"]["author"] == "Jane Q. Writer"


def test_bom_and_crlf_are_removed():
    raw = (THIS_HEADER + BODY + THIS_FOOTER).replace("\n", "\r\n").encode("utf-8")
    d = only_doc(read(b"\xef\xbb\xbf" + raw))
    check_body(d.text)
    assert "\r" not in d.text and "\ufeff" not in d.text
    assert d.metadata["book"]["encoding"] == "utf-8"


def test_rejoining_keeps_verse_lines_and_joins_prose():
    paras = rejoin(BODY)
    assert paras[0] == JOINED1 and paras[2] == JOINED2
    # indented verse keeps its lines, relative indentation and all
    assert paras[1] == VERSE_KEPT
    # unindented short lines (a poem, a contents list) keep their breaks too
    poem = "Twinkle, twinkle, little star,\nHow I wonder what you are!\nUp above the world so high,"
    assert rejoin(PARA1 + "\n" + poem)[1] == poem
    # a one-line paragraph is stripped
    assert rejoin("        THE END\n") == ["THE END"]


def test_rejoin_can_be_turned_off():
    d = only_doc(read((THIS_HEADER + BODY + THIS_FOOTER).encode(), rejoin_lines=False))
    assert d.text.startswith(PARA1.split("\n")[0] + "\n")


def test_plain_text_without_markers_is_one_book_whole():
    d = only_doc(read(BODY.encode()))
    assert d.metadata["book"] == {"gutenberg": False, "encoding": "utf-8", "replacements": 0, "part": 0, "parts": 1}
    assert d.text.startswith(JOINED1)


def test_ids_are_stable_and_made_of_source_path_part():
    data = (THIS_HEADER + BODY + THIS_FOOTER).encode()
    a, b = only_doc(read(data, path="dir/x.txt")), only_doc(read(data, path="dir/x.txt"))
    assert a.id == b.id == make_id("books", "x.txt", "0")  # the file's name, never its folder
    assert only_doc(read(data, path="gs://bucket/other/x.txt")).id == a.id
    assert a.provenance == {"input_file": "dir/x.txt", "record_id": "0"}


def chapter(n: str, words: int) -> str:
    sentence = "The rain kept falling on the old grey roofs of the town all night long.\n"
    lines = sentence * (words // 15 + 1)
    return f"CHAPTER {n}. A Title\n\n{lines}\n"


def test_chapter_split_on_headings_with_contents_list_merged():
    contents = "CONTENTS\n\nCHAPTER I. A Title\n\nCHAPTER II. A Title\n\nCHAPTER III. A Title\n\n"
    body = "MY BOOK\n\n" + contents + chapter("I", 200) + chapter("II", 200) + chapter("III", 200)
    docs = read((THIS_HEADER + body + THIS_FOOTER).encode(), split="chapters")
    assert all(isinstance(d, Document) for d in docs)
    assert len(docs) == 3
    assert [d.metadata["book"]["chapter"] for d in docs] == [
        "CHAPTER I. A Title",
        "CHAPTER II. A Title",
        "CHAPTER III. A Title",
    ]
    assert docs[0].text.startswith("MY BOOK")  # the front matter and the contents join chapter I
    assert [d.metadata["book"]["part"] for d in docs] == [0, 1, 2]
    assert {d.metadata["book"]["parts"] for d in docs} == {3}
    assert len({d.id for d in docs}) == 3
    assert docs[2].id == make_id("books", "book.txt", "2")


def test_chapter_headings_variants_and_roman_numeral_sequence():
    paras = ["Chapter 1", "x " * 5, "BOOK TWO", "Part First", "CHAP. IV.", "I.", "text", "II", "text", "III."]
    assert heading_indices(paras) == [0, 2, 3, 4, 5, 7, 9]
    # dictionary letter headings are roman numerals out of sequence: not chapters
    assert heading_indices(["C", "text", "D", "text", "I", "text", "L", "text", "M"]) == []
    assert roman_value("XIV") == 14 and roman_value("MCMXC") == 1990


def test_size_split_cuts_at_paragraph_boundaries():
    paras = [f"Paragraph {i} " + "word " * 48 for i in range(10)]  # 50 words each
    text = "\n\n".join(paras)
    docs = read(text.encode(), split="size", max_words=120)
    assert [len(d.text.split()) for d in docs] == [100, 100, 100, 100, 100]
    assert "\n\n".join(d.text for d in docs) == "\n\n".join(p.strip() for p in paras)
    # a paragraph longer than the limit stays whole
    docs = read(text.encode(), split="size", max_words=30)
    assert len(docs) == 10


def test_chapters_with_max_words_cut_long_chapters():
    body = chapter("I", 200) + chapter("II", 600)
    docs = read(body.encode(), split="chapters", max_words=100, rejoin_lines=False)
    assert len(docs) > 2
    assert docs[-1].metadata["book"]["chapter"] == "CHAPTER II. A Title"


def test_size_split_requires_max_words():
    with pytest.raises(ConfigError, match="max_words"):
        build(BooksConfig, {"split": "size"})


def test_gz_book():
    data = gzip.compress((THIS_HEADER + BODY + THIS_FOOTER).encode())
    d = only_doc(read(data, path="a/b.txt.gz"))
    check_body(d.text)
    check_body(only_doc(read(data, path="a/gzipped-but-named.txt")).text)  # by magic bytes
    (err,) = read(data[:-30], path="a/cut.txt.gz")
    assert isinstance(err, ErrorRecord) and "truncated" in err.message


def test_zip_members_are_books_and_others_are_counted():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("one.txt", THIS_HEADER + BODY + THIS_FOOTER)
        z.writestr("two/TWO.TXT", BODY)
        z.writestr("cover.jpg", b"\xff\xd8\xff\xe0binary")
        z.writestr("empty.txt", "")
    items = read(buf.getvalue(), path="books.zip")
    docs = [i for i in items if isinstance(i, Document)]
    rej = {i.doc.provenance["record_id"]: i.reason for i in items if isinstance(i, Rejected)}
    assert len(items) == 4 and len(docs) == 2
    assert rej == {"cover.jpg": "not_text_member", "empty.txt": "empty_file"}
    assert {d.provenance["record_id"] for d in docs} == {"one.txt#0", "two/TWO.TXT#0"}
    assert docs[0].id == make_id("books", "books.zip!one.txt", "0")


def test_bad_inputs_are_counted_never_raised():
    assert only_rejected(read(b""), "empty_file")
    assert only_rejected(read(b"  \r\n\r\n"), "empty_file")
    assert only_rejected(read(b"\x00\x01\x02binary data"), "binary")
    assert only_rejected(read((THIS_HEADER + "\n\n" + THIS_FOOTER).encode()), "no_text")
    assert only_rejected(read(b"--- *** ---\n\n...\n"), "no_text")
    # bytes that are neither UTF-8 nor cp1252 (0x81, 0x8d... are undefined in cp1252)
    assert only_rejected(read(b"Text \x81\x8d\x8f\x90\x9d" * 50), "undecodable")
    (err,) = read(b"\x1f\x8b\x08\x00 not really gzip", path="x.txt.gz")
    assert isinstance(err, ErrorRecord) and err.stage == "read"
    (err,) = read(b"PK\x03\x04 corrupt zip", path="x.zip")
    assert isinstance(err, ErrorRecord) and "zip" in err.message
    assert only_rejected(read(b"word " * 100, max_bytes=100), "too_large")


def only_rejected(items, reason):
    assert len(items) == 1 and isinstance(items[0], Rejected), items
    assert items[0].reason == reason and items[0].stage == "read"
    return True


def test_legacy_encodings_decode_through_the_fallbacks():
    latin = (
        "Title: Caf\xe9\n\nCharacter set encoding: ISO-8859-1\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK CAFE ***\n\nUn caf\xe9 cr\xe8me.\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK CAFE ***\n"
    ).encode("latin-1")
    d = only_doc(read(latin))
    assert d.text == "Un café crème." and d.metadata["book"]["encoding"] == "iso8859-1"
    assert d.metadata["book"]["title"] == "Café"
    # a few stray bytes under the threshold: decoded with replacements, counted
    mostly = ("word " * 2000).encode() + b"\x81\x8d"
    d = only_doc(read(mostly))
    assert d.metadata["book"]["replacements"] == 2 and d.metadata["book"]["encoding"] == "utf-8-replace"


def test_footer_without_start_marker_still_cuts_the_licence():
    d = only_doc(read((BODY + THIS_FOOTER).encode()))
    check_body(d.text)
    assert d.metadata["book"]["gutenberg"] is True
