"""Scientific papers from LaTeX source, prepared the way RedPajama prepared arXiv.

One input file is one paper: the ``.tar.gz`` arXiv serves (often without a suffix), a
gzipped single ``.tex`` (arXiv's form for one-file submissions), a ``.zip`` or ``.tar``,
or a main ``.tex`` file (a folder is named with a glob, ``paper/*.tex``; its ``\\input``
files are then read beside the main file, and the included files listed by the glob are
rejected as ``not_main_file``, so every input file is one unit).

What a paper goes through (the exact rules are the functions below; tests build each case):

1. the main file: the ``.tex`` member with ``\\documentclass`` and ``\\begin{document}``
   that no other file includes; among several, ``main``/``ms``/``paper`` names first, then
   the largest (the others are counted as ``other_main_file``);
2. comments removed (``%`` to the end of the line unless escaped; ``comment``
   environments), except inside ``verbatim``-like environments;
3. ``\\input``/``\\include``/``\\subfile`` inlined, recursively (a missing file and an
   include loop are counted and left out);
4. simple macros expanded: ``\\newcommand``/``\\renewcommand``/``\\providecommand``/``\\def`` and
   xparse's ``\\NewDocumentCommand`` family with an empty argument list,
   without arguments (RedPajama's rule); definitions taken out of the text; an expansion
   that does not settle (a macro loop) is counted and stopped;
5. preamble dropped (text between ``\\begin{document}`` and ``\\end{document}`` kept);
   title, authors and the arXiv id (from the file name) go to ``metadata["paper"]``;
   ``\\maketitle``, ``\\title``, ``\\author``, ``\\affil``, ``\\date`` and the bibliography
   (``thebibliography``, ``\\bibliography``, ``\\printbibliography``) are taken out;
6. sections and math stay as LaTeX.

Members that are not used (figures, bibliography databases, style files, unused ``.tex``)
are counted by reason in ``metadata["paper"]["members"]``.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import zlib
from typing import IO, Iterator, Optional, Union

from curate import io as cio
from curate.document import Document, ErrorRecord, Rejected, make_id
from curate.params import param
from curate.readers.archive import ArchiveDamaged, ArchiveLimits, archive_stem, iter_members, read_limited
from curate.readers.common import decompressed, read_error
from curate.registry import register_reader

Item = Union[Document, Rejected, ErrorRecord]


@dataclasses.dataclass
class LatexConfig:
    max_bytes: int = param(50_000_000, min=1)  # per paper, after decompression
    max_compression_ratio: float = param(200.0, gt=0)  # zip members
    max_include_depth: int = param(20, min=1)
    max_expansion_rounds: int = param(50, min=1)  # macro expansion passes before a loop is declared
    keep_bibliography: bool = False
    min_words: int = param(1, min=0)  # fewer words in the body -> rejected ``no_text``


FIGURE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".pdf", ".eps", ".ps", ".svg", ".tif", ".tiff", ".bmp", ".xcf")
BIB_EXT = (".bib", ".bbl", ".bst")
STYLE_EXT = (".sty", ".cls", ".clo", ".def", ".cfg")
_MAIN_NAMES = ("main", "ms", "paper", "article", "manuscript")
_VERBATIM = ("verbatim", "verbatim*", "lstlisting", "minted", "Verbatim", "comment")

_ARXIV_NEW = re.compile(r"(?<!\d)(\d{4}\.\d{4,5})(v\d+)?(?!\d)")
_ARXIV_OLD = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?)[/_]?(\d{7})(v\d+)?\b")


# ------------------------------------------------------------------ LaTeX text, pure functions


def strip_comments(text: str) -> str:
    """Remove ``%`` comments (an escaped ``\\%`` stays) and ``comment`` environments;
    verbatim-like environments are left as they are. A line that was only a comment goes
    whole (as TeX reads it: no paragraph break appears where it was)."""
    out = []
    pos = 0
    env = re.compile(r"\\begin\{(" + "|".join(re.escape(e) for e in _VERBATIM) + r")\}")
    while True:
        m = env.search(text, pos)
        chunk = text[pos : m.start() if m else len(text)]
        out.append(_strip_comment_lines(chunk))
        if not m:
            break
        end = text.find(f"\\end{{{m.group(1)}}}", m.end())
        stop = len(text) if end < 0 else end + len(m.group(1)) + 6
        if m.group(1) != "comment":
            out.append(text[m.start() : stop])
        pos = stop
    return "".join(out)


_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*")


def _strip_comment_lines(chunk: str) -> str:
    lines = []
    for line in chunk.split("\n"):
        stripped = _COMMENT.sub(r"\1", line)
        if stripped != line and not stripped.strip():
            continue  # a comment-only line
        lines.append(stripped)
    return "\n".join(lines)


def braced(text: str, start: int) -> Optional[tuple[str, int]]:
    """The balanced ``{...}`` group starting at ``text[start]`` (after spaces), as
    (content, index after the closing brace); None when there is none."""
    i = start
    while i < len(text) and text[i] in " \t\n":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j], j + 1
        j += 1
    return None


_INCLUDE = re.compile(r"\\(input|include|subfile)(?![A-Za-z@])\*?\s*(?:\{([^}]*)\}|([^\s{}\\]+))")


def inline_includes(
    text: str, read, name: str, counts: dict, depth: int = 0, stack: tuple = (), max_depth: int = 20
) -> str:
    """``text`` (of file ``name``) with every ``\\input``/``\\include``/``\\subfile``
    replaced by the included file's text, comments stripped, recursively. ``read(path)``
    gives a file's text or None; paths resolve from the main file's folder, ``.tex``
    added when missing. Missing files and loops are counted and left out."""

    def replace(m):
        target = (m.group(2) or m.group(3) or "").strip()
        if not target:
            return ""
        candidates = [target] if target.endswith(".tex") else [target + ".tex", target]
        for cand in candidates:
            path = posixpath.normpath(cand)
            if path in stack or path == name:
                counts["include_loop"] = counts.get("include_loop", 0) + 1
                return ""
            sub = read(path)
            if sub is not None:
                if depth + 1 > max_depth:
                    counts["include_too_deep"] = counts.get("include_too_deep", 0) + 1
                    return ""
                counts.setdefault("_used", set()).add(path)
                body = inline_includes(strip_comments(sub), read, path, counts, depth + 1, stack + (name,), max_depth)
                return body + ("\n\\clearpage\n" if m.group(1) == "include" else "")
        counts["missing_include"] = counts.get("missing_include", 0) + 1
        return ""

    return _INCLUDE.sub(replace, text)


_DEFINE = re.compile(
    r"\\(newcommand|renewcommand|providecommand|def|(?:New|Renew|Provide|Declare)DocumentCommand)\*?\s*"
)


def take_macros(text: str) -> tuple[str, dict[str, str]]:
    """Remove the argument-less macro definitions from ``text``; return the text and
    ``{name: replacement}``. Definitions with arguments stay in the text, untouched."""
    macros: dict[str, str] = {}
    out = []
    pos = 0
    for m in _DEFINE.finditer(text):
        if m.start() < pos:
            continue
        i = m.end()
        name_group = braced(text, i)
        if name_group is not None:
            name, i = name_group[0].strip(), name_group[1]
        else:
            nm = re.match(r"\\[A-Za-z@]+|\\.", text[i:])
            if not nm:
                continue
            name, i = nm.group(0), i + nm.end()
        if not re.fullmatch(r"\\[A-Za-z@]+", name):
            continue
        rest = text[i:]
        if m.group(1) == "def":
            if not rest.lstrip(" \t").startswith("{"):
                continue  # \def\x#1{...}: has parameters
        elif m.group(1).endswith("DocumentCommand"):
            spec = braced(text, i)  # xparse: an empty argument specification, or skip
            if spec is None or spec[0].strip():
                continue
            i = spec[1]
        elif rest.lstrip(" \t\n").startswith("["):
            continue  # \newcommand{\x}[1]{...}: has arguments
        body = braced(text, i)
        if body is None:
            continue
        out.append(text[pos : m.start()])
        if not m.group(1).lower().startswith("provide") or name not in macros:
            macros[name] = body[0]
        pos = body[1]
    out.append(text[pos:])
    return "".join(out), macros


def _looping(macros: dict[str, str]) -> set[str]:
    """The macros whose expansion reaches themselves (directly or through others)."""
    pattern = re.compile(r"\\[A-Za-z@]+")
    uses = {n: {u for u in pattern.findall(body) if u in macros} for n, body in macros.items()}
    looping = set()
    for start in macros:
        seen, todo = set(), list(uses[start])
        while todo:
            n = todo.pop()
            if n == start:
                looping.add(start)
                break
            if n not in seen:
                seen.add(n)
                todo.extend(uses[n])
    return looping


def expand_macros(text: str, macros: dict[str, str], max_rounds: int, counts: dict) -> str:
    """Replace each macro by its text until nothing changes. A macro whose expansion
    reaches itself (a loop) is counted and left as written; ``max_rounds`` bounds the
    passes for what remains (deep chains)."""
    looping = _looping(macros)
    if looping:
        counts["macro_loop"] = counts.get("macro_loop", 0) + len(looping)
        macros = {n: b for n, b in macros.items() if n not in looping}
    if not macros:
        return text
    names = sorted(macros, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z@])(\s*\{\})?")
    for _ in range(max_rounds):
        new = pattern.sub(lambda m: macros[m.group(1)], text)
        if new == text:
            return text
        text = new
    counts["macro_too_deep"] = counts.get("macro_too_deep", 0) + 1
    return text


def _command_args(text: str, command: str) -> list[tuple[int, int, str]]:
    """Every ``\\command[opt]{arg}`` as (start, end, arg)."""
    found = []
    for m in re.finditer(r"\\" + command + r"\*?(?![A-Za-z])\s*(\[[^\]]*\])?", text):
        group = braced(text, m.end())
        if group is not None:
            found.append((m.start(), group[1], group[0]))
    return found


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def plain(latex: str) -> str:
    """A title or author in plain words: footnotes and affiliation marks out, line breaks
    to commas, accents and braces folded."""
    s = _remove_spans(latex, [(a, b) for cmd in ("thanks", "footnote") for a, b, _ in _command_args(latex, cmd)])
    s = re.sub(r"\\\\(\[[^\]]*\])?", ", ", s)
    s = re.sub(r"\\(?:and|AND)\b", ", ", s)
    s = re.sub(r"\\texttt\{[^}]*\}", "", s)
    s = re.sub(r"\\[`'^\"~=.]\{?([A-Za-z])\}?", r"\1", s)
    s = re.sub(r"\\[A-Za-z]+\*?", " ", s)
    s = s.replace("{", "").replace("}", "").replace("~", " ")
    s = re.sub(r"\s*,\s*(,\s*)*", ", ", s)
    return re.sub(r"\s+", " ", s).strip(" ,")


def arxiv_id(path: str) -> Optional[str]:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    m = _ARXIV_NEW.search(base)
    if m:
        return m.group(1) + (m.group(2) or "")
    m = _ARXIV_OLD.search(base)
    if m and m.group(1) not in ("tar", "tex"):
        return f"{m.group(1)}/{m.group(2)}" + (m.group(3) or "")
    return None


def paper_text(main: str, read, name: str, config: LatexConfig, counts: dict) -> tuple[str, dict]:
    """The cleaned body of a paper and its metadata, from the main file's text."""
    text = strip_comments(main)
    text = inline_includes(text, read, name, counts, max_depth=config.max_include_depth)
    text, macros = take_macros(text)
    begin = text.find("\\begin{document}")
    end = text.find("\\end{document}")
    preamble = text[:begin] if begin >= 0 else ""
    body = text[begin + len("\\begin{document}") : end if end > begin else len(text)] if begin >= 0 else text
    meta: dict = {}
    front = preamble + "\n" + body
    titles = _command_args(front, "title")
    if titles:
        meta["title"] = plain(expand_macros(titles[0][2], macros, config.max_expansion_rounds, {}))
    authors = []
    for _, _, group in _command_args(front, "author"):
        for name in re.split(
            r"\\(?:and|AND)(?![A-Za-z])", expand_macros(group, macros, config.max_expansion_rounds, {})
        ):
            if plain(name):
                authors.append(plain(name))
    if authors:
        meta["authors"] = authors
    spans = [(a, b) for cmd in ("title", "author", "affil", "date") for a, b, _ in _command_args(body, cmd)]
    spans += [(m.start(), m.end()) for m in re.finditer(r"\\maketitle\b", body)]
    if not config.keep_bibliography:
        spans += [
            (m.start(), m.end())
            for m in re.finditer(r"\\begin\{thebibliography\}.*?\\end\{thebibliography\}", body, re.S)
        ]
        for cmd in ("bibliography", "bibliographystyle", "addbibresource"):
            spans += [(a, b) for a, b, _ in _command_args(body, cmd)]
        spans += [(m.start(), m.end()) for m in re.finditer(r"\\printbibliography(\[[^\]]*\])?(\{\})?", body)]
    body = _remove_spans(body, spans)
    body = expand_macros(body, macros, config.max_expansion_rounds, counts)
    body = re.sub(r"[ \t]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    return body, meta


# ------------------------------------------------------------------ files and archives


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older TeX sources: every byte is a character


def _is_main(text: str) -> bool:
    body = strip_comments(text)
    return "\\documentclass" in body and "\\begin{document}" in body


def choose_main(tex: dict[str, str]) -> tuple[Optional[str], list[str]]:
    """The main file among ``{name: text}`` and the other candidates passed over."""
    mains = [n for n, t in tex.items() if _is_main(t)]
    included = set()
    for n in mains:
        for m in _INCLUDE.finditer(strip_comments(tex[n])):
            target = posixpath.normpath((m.group(2) or m.group(3) or "").strip())
            included.update({target, target + ".tex"})
    mains = [n for n in mains if n not in included] or mains
    if not mains:
        return None, []

    def rank(n):
        stem = posixpath.basename(n).rsplit(".", 1)[0].lower()
        return (stem not in _MAIN_NAMES, n.count("/"), -len(tex[n]), n)

    mains.sort(key=rank)
    return mains[0], mains[1:]


def _member_reason(name: str) -> str:
    low = name.lower()
    if low.endswith(FIGURE_EXT):
        return "figure"
    if low.endswith(BIB_EXT):
        return "bibliography_file"
    if low.endswith(STYLE_EXT):
        return "style_file"
    if low.endswith(".tex"):
        return "unused_tex"
    return "other_file"


def _rejected(source: str, path: str, reason: str, details: dict) -> Rejected:
    prov = {"input_file": path, "record_id": ""}
    return Rejected(Document(make_id(source, archive_stem(path)), "", source, prov), "read", reason, details)


def _document(source, path, body, meta, counts, main_name) -> Document:
    members = {k: v for k, v in sorted(counts.items()) if not k.startswith("_")}
    paper = dict(meta, main_file=main_name, members=members)
    ident = arxiv_id(path)
    if ident:
        paper["arxiv_id"] = ident
    prov = {"input_file": path, "record_id": main_name}
    return Document(make_id(source, archive_stem(path)), body, source, prov, {"paper": paper})


def paper_from_files(
    files: dict[str, bytes], refused: dict[str, int], path: str, source: str, config: LatexConfig
) -> Item:
    """One paper from the files of an archive (names relative to its root)."""
    tex = {n: _decode(d) for n, d in files.items() if n.lower().endswith((".tex", ".ltx"))}
    main, others = choose_main(tex)
    if main is None:
        return _rejected(source, path, "no_main_file", {"tex_files": len(tex), "files": len(files)})
    counts: dict = dict(refused)
    folder = posixpath.dirname(main)

    def read(rel):
        for cand in (posixpath.normpath(posixpath.join(folder, rel)), posixpath.normpath(rel)):
            if cand in tex:
                return tex[cand]
        return None

    body, meta = paper_text(tex[main], read, main, config, counts)
    used = {posixpath.normpath(posixpath.join(folder, u)) for u in counts.pop("_used", set())}
    for other in others:
        counts["other_main_file"] = counts.get("other_main_file", 0) + 1
        used.add(other)
    for name in files:
        if name != main and name not in used and posixpath.normpath(name) not in used:
            reason = _member_reason(name)
            counts[reason] = counts.get(reason, 0) + 1
    if len(body.split()) < config.min_words:
        return _rejected(source, path, "no_text", {"main_file": main})
    return _document(source, path, body, meta, counts, main)


def _looks_like_tar(data: bytes) -> bool:
    return data[257:262] == b"ustar"


@register_reader("latex", LatexConfig, "papers")
def read_file(path: str, fileobj: IO[bytes], source: str, config: LatexConfig) -> Iterator[Item]:
    limits = ArchiveLimits(config.max_bytes, config.max_bytes, config.max_compression_ratio)
    try:
        data = read_limited(decompressed(fileobj, path), config.max_bytes)
    except (OSError, EOFError, zlib.error) as e:
        yield read_error(path, "gzip", source, f"{path}: the gzip data is damaged ({type(e).__name__}: {e})")
        return
    if data is None:
        yield _rejected(source, path, "too_large", {"max_bytes": config.max_bytes})
        return
    kind = "tar" if _looks_like_tar(data) else "zip" if data[:4] == b"PK\x03\x04" else None
    if kind is None:  # one .tex file (or arXiv's gzipped single-file submission)
        text = _decode(data)
        if not _is_main(text):
            yield _rejected(source, path, "not_main_file", {"reason": "no \\documentclass and \\begin{document}"})
            return
        folder = posixpath.dirname(path)
        name = posixpath.basename(path)
        if name.lower().endswith(".gz"):
            name = name[:-3]

        def read(rel):  # beside the main file, local or gs://
            target = cio.join(folder, rel) if folder else rel
            try:
                return _decode(cio.read_bytes(target))
            except (OSError, ValueError):
                return None

        counts: dict = {}
        body, meta = paper_text(text, read, name, config, counts)
        counts.pop("_used", None)
        if len(body.split()) < config.min_words:
            yield _rejected(source, path, "no_text", {"main_file": name})
            return
        yield _document(source, path, body, meta, counts, name)
        return
    files: dict[str, bytes] = {}
    refused: dict[str, int] = {}
    try:
        for m in iter_members(io.BytesIO(data), kind, limits):
            if m.refused:
                refused[m.refused] = refused.get(m.refused, 0) + 1
            else:
                assert m.data is not None  # a member not refused was read
                files[posixpath.normpath(m.name)] = m.data
    except ArchiveDamaged as e:
        yield read_error(path, "archive", source, f"{path}: {e}")
        return
    yield paper_from_files(files, refused, path, source, config)
