"""The ``latex`` reader (issue 14): a paper built in code with ``\\input``, macros,
comments and a bibliography gives the exact expected text, as a folder, a .tar.gz and
arXiv's gzipped single file; real papers (kept outside the repository) when present."""

from __future__ import annotations

import gzip
import io
import pathlib
import re
import tarfile

from curate.readers import latex
from curate.readers.latex import LatexConfig, read_file
from tests.conftest import extra_path

REPO = pathlib.Path(__file__).resolve().parents[1]

MAIN = r"""\documentclass{article}
% preamble comment
\newcommand{\method}{FastCurate}
\def\dataset{CommonCrawl}
\newcommand{\loopy}{\loopy x}
\newcommand{\withargs}[1]{#1!}
\title{A Study of \method}
\author{Ada Lovelace \and Alan Turing\thanks{Equal contribution.}}
\begin{document}
\maketitle
\begin{abstract}
We present \method{} on \dataset. % trailing comment
\end{abstract}
\input{sections/intro}
\include{missing}
\section{Math}
Energy is $E = mc^2$ and 50\% of \withargs{x}.
\begin{verbatim}
% kept inside verbatim
\end{verbatim}
\begin{thebibliography}{9}
\bibitem{x} A reference.
\end{thebibliography}
\bibliographystyle{plain}
\bibliography{refs}
\end{document}
"""
INTRO = r"""\section{Introduction}
% a comment line
\method\ improves \loopy.
"""
EXPECTED = (
    "\\begin{abstract}\nWe present FastCurate on CommonCrawl.\n\\end{abstract}\n"
    "\\section{Introduction}\nFastCurate\\ improves \\loopy.\n\n"
    "\\section{Math}\nEnergy is $E = mc^2$ and 50\\% of \\withargs{x}.\n"
    "\\begin{verbatim}\n% kept inside verbatim\n\\end{verbatim}"
)
META = {"title": "A Study of FastCurate", "authors": ["Ada Lovelace", "Alan Turing"]}


def _read(path, data: bytes, **cfg):
    return list(read_file(str(path), io.BytesIO(data), "papers", LatexConfig(**cfg)))


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_folder_paper_gives_the_exact_text(tmp_path):
    (tmp_path / "sections").mkdir()
    (tmp_path / "main.tex").write_text(MAIN)
    (tmp_path / "sections" / "intro.tex").write_text(INTRO)
    (doc,) = _read(tmp_path / "main.tex", MAIN.encode())
    assert doc.text == EXPECTED
    paper = doc.metadata["paper"]
    assert {k: paper[k] for k in META} == META
    assert paper["members"] == {"macro_loop": 1, "missing_include": 1}
    # the included file, listed by a folder glob, is one input unit of its own: rejected
    (rej,) = _read(tmp_path / "sections" / "intro.tex", INTRO.encode())
    assert rej.reason == "not_main_file" and rej.stage == "read"


def test_an_arxiv_tarball_gives_the_same_text_and_counts_unused_members():
    data = _tar(
        {
            "./2101.00001v2.tex": MAIN.encode(),
            "sections/intro.tex": INTRO.encode(),
            "sections/unused.tex": b"\\section{Old}",
            "fig/plot.png": b"\x89PNG\r\n\x1a\n",
            "refs.bib": b"@article{x, title={A}}",
            "../escape.tex": b"evil",
        }
    )
    (doc,) = _read("/arxiv/2101.00001v2.tar.gz", data)
    assert doc.text == EXPECTED
    paper = doc.metadata["paper"]
    assert paper["arxiv_id"] == "2101.00001v2" and paper["main_file"] == "2101.00001v2.tex"
    assert paper["members"] == {
        "bibliography_file": 1,
        "figure": 1,
        "macro_loop": 1,
        "missing_include": 1,
        "parent_path": 1,
        "unused_tex": 1,
    }
    # arXiv's one-file submissions: a gzipped .tex with no tar inside
    (single,) = _read("/arxiv/hep-th9901001.gz", gzip.compress(MAIN.replace("\\input{sections/intro}\n", "").encode()))
    assert single.metadata["paper"]["arxiv_id"] == "hep-th/9901001"
    assert "Introduction" not in single.text and "We present FastCurate" in single.text


def test_loops_and_bad_archives_are_counted_not_fatal():
    looped = _tar(
        {
            "main.tex": b"\\documentclass{article}\\begin{document}\\input{a}\\end{document}",
            "a.tex": b"A \\input{b}",
            "b.tex": b"B \\input{a}",
        }
    )
    (doc,) = _read("p.tar.gz", looped)
    assert doc.text == "A B" and doc.metadata["paper"]["members"] == {"include_loop": 1}
    (rej,) = _read("p.tar.gz", _tar({"notes.tex": b"no document here"}))
    assert rej.reason == "no_main_file"
    (rej,) = _read("p.tar.gz", _tar({"main.tex": b"\\documentclass{article}\\begin{document}\\end{document}"}))
    assert rej.reason == "no_text"
    (err,) = _read("p.tar.gz", _tar({"main.tex": MAIN.encode()})[:60])
    assert err.stage == "read" and "p.tar.gz" in err.message
    (rej,) = _read("big.tar.gz", _tar({"main.tex": MAIN.encode()}), max_bytes=100)
    assert rej.reason == "too_large"


def test_choose_main_prefers_the_file_no_other_includes():
    doc = "\\documentclass{x}\\begin{document}%s\\end{document}"
    tex = {"appendix.tex": doc % "A", "paper.tex": doc % "\\input{appendix}", "old/draft.tex": doc % "D" * 3}
    assert latex.choose_main(tex) == ("paper.tex", ["old/draft.tex"])


def test_real_papers_when_present():
    """Real multi-file papers from public repositories (see docs/sources-latex.md)."""
    tarball = extra_path("latex", "crocus-paper.tar.gz")
    (doc,) = _read(tarball, tarball.read_bytes())
    paper = doc.metadata["paper"]
    assert paper["title"] == "CROCUS: CROwd Counting Using Smartphones"
    assert paper["authors"] == ["Daniel Bosk", "Simon Bouget", "Sonja Buchegger", "Sebastien Gambs"]
    assert doc.text.startswith("\\begin{abstract}") and "\\section{" in doc.text
    assert "%" not in doc.text.replace("\\%", "") and "\\printbibliography" not in doc.text
    assert not re.search(r"\\CROCUS(?![A-Za-z])", doc.text)  # an xparse macro with no arguments, expanded
    # The same paper as a folder (main.tex read with its \include files beside it)
    main = extra_path("latex", "crocus", "paper", "main.tex")
    (same,) = _read(main, main.read_bytes())
    assert same.text == doc.text


def test_papers_through_the_pipeline(tmp_path):
    from tests.pipeline_helpers import check_output, run_config

    (tmp_path / "papers" / "sections").mkdir(parents=True)
    (tmp_path / "papers" / "main.tex").write_text(MAIN)
    (tmp_path / "papers" / "sections" / "intro.tex").write_text(INTRO)
    (tmp_path / "2101.00001.tar.gz").write_bytes(_tar({"ms.tex": MAIN.encode(), "sections/intro.tex": INTRO.encode()}))
    raw = {
        "inputs": [{"kind": "latex", "paths": [str(tmp_path / "papers" / "**.tex"), str(tmp_path / "*.tar.gz")]}],
        "tokenizer": {"model": str(REPO / "curate" / "models" / "mistral-tokenizer.model.v1")},
        "output": {"num_shards": 1},
    }
    out, manifest = run_config(raw, tmp_path)
    rows = check_output(out, manifest)
    assert manifest["counts"]["input"] == 3
    assert manifest["counts"]["dropped"] == {"read:not_main_file": 1}
    assert [r["text"] for r in rows] == [EXPECTED, EXPECTED] and {r["source"] for r in rows} == {"papers"}
