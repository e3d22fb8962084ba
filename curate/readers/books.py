"""Plain-text books, Project Gutenberg first.

One input file is one book (``.txt``, ``.txt.gz``), or a ``.zip`` whose ``.txt``
members are books. Directories are named with a glob, ``books/**/*.txt`` (the glue
matches the pattern and passes each file). Each book yields one document by default,
or several with ``split: chapters`` / ``split: size``; every document is an input unit.

What a book goes through (see docs/sources-books-code.md for the exact rules):

0. input: ``.zip`` members, or the file itself, gunzipped when it starts with gzip's magic.
1. decode: UTF-8 (BOM dropped), else the charset the Gutenberg header declares, else
   cp1252, else UTF-8 with replacement characters, counted; more than
   ``max_replacement_ratio`` of them -> rejected ``undecodable``. NUL bytes -> ``binary``.
2. CRLF / CR line ends -> LF.
3. Gutenberg licence header and footer stripped (every marker variant below), with the
   producer credits ("Produced by ...") that open the body; title, author, language and
   ebook number taken from the header into ``metadata["book"]``.
4. hard-wrapped lines rejoined into paragraphs; verse and other line-structured
   blocks keep their lines (:func:`rejoin`).
5. optional split into chapters (headings) and/or pieces of at most ``max_words``.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import textwrap
import zlib
from typing import IO, Iterator, Literal, Optional, Union

from curate.document import Document, ErrorRecord, Rejected, file_name, make_id
from curate.params import ConfigError, param
from curate.readers.archive import ArchiveDamaged, ArchiveLimits, archive_kind, iter_members, read_limited
from curate.readers.common import decompressed, read_error
from curate.registry import register_reader

Item = Union[Document, Rejected, ErrorRecord]


@dataclasses.dataclass
class BooksConfig:
    split: Literal["none", "chapters", "size"] = "none"
    max_words: Optional[int] = param(None, min=1)  # size split; with ``chapters``, long chapters are cut too
    min_chapter_words: int = param(100, min=0)  # a shorter chapter (a contents entry) joins the next one
    rejoin_lines: bool = True
    strip_gutenberg: bool = True
    min_words: int = param(1, min=0)  # fewer words left after stripping -> rejected ``no_text``
    max_bytes: int = param(100_000_000, min=1)  # per book, after decompression
    max_replacement_ratio: float = param(0.001, min=0, max=1)  # U+FFFD per character after the decoding fallbacks
    max_compression_ratio: float = param(200.0, min=1)  # zip members

    def validate(self, key: str) -> None:
        if self.split == "size" and not self.max_words:
            raise ConfigError(f"{key}.max_words: required (>= 1) when split is 'size'")


# --------------------------------------------------------------------------- decoding

_DECLARED_CHARSET_RE = re.compile(rb"Character set encoding:\s*([A-Za-z0-9_\-.:]+)", re.I)


def decode_book(data: bytes) -> tuple[str, str, int]:
    """Text, the encoding used, and how many bytes could not be decoded (U+FFFD)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    candidates = ["utf-8"]
    m = _DECLARED_CHARSET_RE.search(data[:20_000])
    if m:
        try:
            candidates.append(codecs.lookup(m.group(1).decode("ascii")).name)
        except LookupError:
            pass
    candidates.append("cp1252")
    for enc in candidates:
        try:
            return data.decode(enc), enc, 0
        except UnicodeDecodeError:
            continue
    text = data.decode("utf-8", errors="replace")
    return text, "utf-8-replace", text.count("\ufffd")


# --------------------------------------------------------------------------- Gutenberg

# Where the licence header ends (the body starts on the next line). Modern and 2000s
# files: "*** START OF THE/THIS PROJECT GUTENBERG EBOOK <TITLE> ***" (also ETEXT,
# E-BOOK, missing spaces); 1990s files end the licence with
# "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*".
_START_RES = [
    re.compile(r"^\W*\*+\s*START\s*OF\s*(?:THE|THIS)?\s*PROJECT\s*GUTENBERG", re.I),
    re.compile(r"^\W*\*?\s*END\s*\*?\s*THE\s*SMALL\s*PRINT", re.I),
]
# Where the licence footer starts (the body ends before it): "*** END OF THE/THIS
# PROJECT GUTENBERG EBOOK ...", "End of the Project Gutenberg EBook of ...",
# "End of Project Gutenberg's ...", "End of The Project Gutenberg Etext ...".
_END_RES = [
    re.compile(r"^\W*END\s*OF\s*(?:THE\s*|THIS\s*)?PROJECT\s*GUTENBERG", re.I),
]
# Producer credits that open many bodies; dropped when among the first paragraphs.
_CREDIT_RE = re.compile(
    r"^(?:produced\s+by|e-?text\s+prepared\s+by|prepared\s+by|transcribed\s+(?:from|by)|"
    r"this\s+(?:e-?text|e-?book)\s+was\s+(?:produced|prepared|transcribed)|scanned\s+by|"
    r"digitized\s+by|html\s+version\s+by)\b",
    re.I,
)
_FIELD_RE = re.compile(r"^(Title|Author|Language|Release Date|Posting Date|Translator|Editor)\s*:\s*(.*)$", re.I)
_EBOOK_NO_RE = re.compile(r"\[\s*E-?(?:Book|Text)\s*#\s*(\d+)\s*\]", re.I)
_FIRST_LINE_RE = re.compile(
    r"Project Gutenberg(?:['’]s|\s+E-?(?:Book|Text)\s+of|\s+Etext\s+of)\s+(.+?)(?:,?\s+by\s+(.+?))?\s*$", re.I
)


def _find(lines: list[str], regexes: list, lo: int, hi: int) -> list[int]:
    return [i for i in range(lo, hi) if any(r.match(lines[i]) for r in regexes)]


def strip_gutenberg(text: str) -> tuple[str, dict]:
    """The body between the licence header and footer, and what the header says.

    The body starts after the last start marker in the first half of the file (or its
    first 400 lines; some files carry both the 1990s small print and a START line,
    and some put the small print at the end) and ends before the first
    footer marker after that. A file without markers is returned whole.
    """
    lines = text.split("\n")
    info: dict = {"gutenberg": False}
    starts = _find(lines, _START_RES, 0, min(len(lines), max(400, len(lines) // 2)))
    lo = starts[-1] + 1 if starts else 0
    ends = _find(lines, _END_RES, lo, len(lines))
    hi = ends[0] if ends else len(lines)
    if not starts and not ends:
        return text, info
    info["gutenberg"] = True
    # without a start marker (only a footer), the fields are looked for at the top
    info.update(_header_fields(lines[: starts[-1]] if starts else lines[:40]))
    body = "\n".join(lines[lo:hi])
    return _drop_credits(body), info


def _header_fields(header: list[str]) -> dict:
    out: dict = {}
    current = None
    for line in header:
        m = _FIELD_RE.match(line.strip())
        if m:
            current = m.group(1).lower().replace(" ", "_")
            out[current] = m.group(2).strip()
            continue
        if current in ("title", "author") and line[:1].isspace() and line.strip():
            out[current] += " " + line.strip()  # a wrapped field continues indented
            continue
        current = None
    for line in header:
        m = _EBOOK_NO_RE.search(line)
        if m:
            out["ebook_number"] = int(m.group(1))
            break
    first = next((ln.strip(" \t*") for ln in header if ln.strip(" \t*")), "")
    m = _FIRST_LINE_RE.search(first)
    if m:
        out.setdefault("title", m.group(1).strip())
        if m.group(2):
            out.setdefault("author", m.group(2).strip())
    return {k: v for k, v in out.items() if v not in ("", None)}


def _drop_credits(body: str) -> str:
    blocks = [b for b in re.split(r"\n[ \t]*\n", body.strip("\n")) if b.strip()]
    head = [b for b in blocks[:4] if not _CREDIT_RE.match(b.strip())]
    return "\n\n".join(head + blocks[4:])


# --------------------------------------------------------------------------- paragraphs


def wrap_width(lines: list[str]) -> int:
    """The book's hard-wrap width: the 95th percentile of non-blank line lengths (>= 40)."""
    lengths = sorted(len(ln.rstrip()) for ln in lines if ln.strip())
    if not lengths:
        return 40
    return max(40, lengths[int(0.95 * (len(lengths) - 1))])


def rejoin(body: str) -> list[str]:
    """Paragraphs of the body. A blank line is a paragraph break.

    A block (lines between blank lines) is prose, rejoined into one line with single
    spaces, when no line after the first is indented and every line but the last is at
    least 60% of the book's wrap width (so the block was filled to the margin). Any
    other block (verse, tables, letters' address lines, contents) keeps its line
    breaks, with trailing spaces and the block's common indentation removed.
    """
    lines = body.split("\n")
    short = 0.6 * wrap_width(lines)
    paras = []
    for block in re.split(r"\n[ \t]*\n", body):
        blines = [ln.rstrip() for ln in block.split("\n") if ln.strip()]
        if not blines:
            continue
        prose = all(not ln[:1].isspace() for ln in blines[1:]) and all(len(ln) >= short for ln in blines[:-1])
        if prose:
            paras.append(" ".join(ln.strip() for ln in blines))
        else:
            paras.append(textwrap.dedent("\n".join(blines)).strip("\n"))
    return paras


# --------------------------------------------------------------------------- splitting

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|first|second|third|fourth|fifth|sixth|seventh|"
    "eighth|ninth|tenth|eleventh|twelfth|last"
)
_HEADING_RE = re.compile(
    rf"^(?:CHAPTER|Chapter|CHAP\.|Chap\.|BOOK|Book|PART|Part)\s+(?:[IVXLCDM]+|\d+|(?i:{_NUMBER_WORDS}))\b"
)
_ROMAN_RE = re.compile(r"^([IVXLCDM]+)\.?$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(s: str) -> int:
    total = 0
    for a, b in zip(s, s[1:] + " "):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total


def heading_indices(paras: list[str]) -> list[int]:
    """Paragraphs that open a chapter: "CHAPTER I ...", "Chapter 3", "BOOK TWO", "Part
    First", or a bare roman numeral ("XII."). Bare numerals count only when they run
    in sequence from I (restarting at I is allowed), and at least two of them do, so
    a dictionary's letter headings "C", "D", "I" are not chapters."""
    named, roman = [], []
    expected = 1
    for i, p in enumerate(paras):
        if "\n" in p or len(p) > 100:
            continue
        if _HEADING_RE.match(p):
            named.append(i)
            continue
        m = _ROMAN_RE.match(p)
        if m:
            v = roman_value(m.group(1))
            if v in (expected, 1):
                roman.append(i)
                expected = v + 1
    if len(roman) < 2:
        roman = []
    return sorted(named + roman)


def _nwords(s: str) -> int:
    return len(s.split())


def split_chapters(paras: list[str], min_words: int) -> list[tuple[Optional[str], list[str]]]:
    """(heading, paragraphs) sections; text before the first heading is its own section.
    A section whose body has fewer than ``min_words`` words joins the next section
    (the last one joins the previous), so contents lists do not become chapters."""
    heads = heading_indices(paras)
    bounds = [0] + heads + [len(paras)]
    sections: list[tuple[Optional[str], list[str]]] = []
    for a, b in zip(bounds, bounds[1:]):
        if a == b:
            continue
        title = paras[a] if a in heads else None
        sections.append((title, paras[a:b]))
    merged: list = []
    carry: list = []
    carry_title: Optional[str] = None
    for title, ps in sections:
        ps = carry + ps
        title = title if title is not None else carry_title
        body_words = sum(_nwords(p) for p in ps) - (_nwords(title) if title else 0)
        if body_words < min_words:
            carry, carry_title = ps, title
            continue
        merged.append((title, ps))
        carry, carry_title = [], None
    if carry:
        if merged:
            t, ps = merged[-1]
            merged[-1] = (t, ps + carry)
        else:
            merged.append((carry_title, carry))
    return merged


def split_size(paras: list[str], max_words: int) -> list[list[str]]:
    """Consecutive paragraphs, at most ``max_words`` whitespace words each; a single
    paragraph longer than that stays whole (never cut mid-paragraph)."""
    pieces: list[list[str]] = []
    cur: list[str] = []
    n = 0
    for p in paras:
        w = _nwords(p)
        if cur and n + w > max_words:
            pieces.append(cur)
            cur, n = [], 0
        cur.append(p)
        n += w
    if cur:
        pieces.append(cur)
    return pieces


# --------------------------------------------------------------------------- reader


def _rejected(source: str, key: str, path: str, member: Optional[str], reason: str, details: dict) -> Rejected:
    prov = {"input_file": path, "record_id": member or ""}
    return Rejected(Document(make_id(source, key, "0"), "", source, prov), "read", reason, details)


def book_documents(data: bytes, path: str, member: Optional[str], source: str, config: BooksConfig) -> Iterator[Item]:
    """The documents (or one Rejected) of one book's bytes."""
    key = f"{file_name(path)}!{member}" if member else file_name(path)  # ids: documents.document_id's recipe
    if not data.strip():
        yield _rejected(source, key, path, member, "empty_file", {})
        return
    if b"\x00" in data[:65536]:
        yield _rejected(source, key, path, member, "binary", {})
        return
    text, encoding, replaced = decode_book(data)
    if replaced > config.max_replacement_ratio * max(len(text), 1):
        yield _rejected(source, key, path, member, "undecodable", {"replacements": replaced, "chars": len(text)})
        return
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    info: dict = {"gutenberg": False}
    if config.strip_gutenberg:
        text, info = strip_gutenberg(text)
    if config.rejoin_lines:
        paras = rejoin(text)
    else:
        paras = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if sum(_nwords(p) for p in paras) < config.min_words or not any(c.isalnum() for p in paras for c in p):
        yield _rejected(source, key, path, member, "no_text", {"gutenberg": info["gutenberg"]})
        return
    info["encoding"] = encoding
    info["replacements"] = replaced

    if config.split == "chapters":
        sections = split_chapters(paras, config.min_chapter_words)
    else:
        sections = [(None, paras)]
    parts: list[tuple[Optional[str], list[str]]] = []
    for title, ps in sections:
        if config.max_words:
            parts.extend((title, piece) for piece in split_size(ps, config.max_words))
        else:
            parts.append((title, ps))
    for i, (title, ps) in enumerate(parts):
        meta = dict(info, part=i, parts=len(parts))
        if title is not None:
            meta["chapter"] = title
        prov = {"input_file": path, "record_id": f"{member}#{i}" if member else str(i)}
        yield Document(make_id(source, key, str(i)), "\n\n".join(ps), source, prov, {"book": meta})


@register_reader("books", BooksConfig, "books")
def read_file(path: str, fileobj: IO[bytes], source: str, config: BooksConfig) -> Iterator[Item]:
    if archive_kind(path) == "zip":
        limits = ArchiveLimits(config.max_bytes, 10 * config.max_bytes, config.max_compression_ratio)
        try:
            for m in iter_members(fileobj, "zip", limits):
                if m.refused is None and not m.name.lower().endswith(".txt"):
                    # images and HTML beside the text in Gutenberg zips are not books
                    m.refused, m.data = "not_text_member", None
                if m.refused:
                    yield _rejected(source, f"{path}!{m.name}", path, m.name, m.refused, {"detail": m.detail})
                else:
                    assert m.data is not None  # a member not refused was read
                    yield from book_documents(m.data, path, m.name, source, config)
        except ArchiveDamaged as e:
            yield read_error(path, "archive", source, str(e))
        return
    try:  # gzip is recognised by its magic bytes, whatever the name
        data = read_limited(decompressed(fileobj, path), config.max_bytes)
    except (OSError, EOFError, zlib.error) as e:
        yield read_error(path, "gzip", source, f"{type(e).__name__}: {e}")
        return
    if data is None:
        yield _rejected(source, path, path, None, "too_large", {"max_bytes": config.max_bytes})
        return
    yield from book_documents(data, path, None, source, config)
