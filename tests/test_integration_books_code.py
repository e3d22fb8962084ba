"""Books and code on real data: the Gutenberg books in ../shared/data (skipped when
absent) and the Python standard library on this machine, read directly and through one
end-to-end pipeline run (books + a code tree + a code archive built here)."""

import glob
import json
import os
import tarfile

import pytest

from curate import config
from curate.document import Document, Rejected
from curate.readers.books import BooksConfig
from curate.readers.books import read_file as read_book
from curate.readers.code import CodeConfig
from curate.readers.code import read_file as read_code
from pipelines import cli
from tests.conftest import REPO, shared_path
from tests.pipeline_helpers import check_output, run_config

STDLIB = os.path.dirname(os.__file__)
PACKAGES = ["json", "email", "http", "logging", "urllib", "concurrent/futures", "importlib"]
MODEL = REPO / "curate" / "models" / "mistral-tokenizer.model.v1"


def book(name, **cfg):
    path = shared_path("books", name)
    with open(path, "rb") as f:
        return list(read_book(str(path), f, "books", BooksConfig(**cfg)))


def test_alice_bom_crlf_header_and_footer_are_gone():
    (doc,) = book("pg11-alice-in-wonderland.txt")
    assert isinstance(doc, Document)
    assert doc.text.startswith(
        "ALICE’S ADVENTURES IN WONDERLAND\n\nLewis Carroll\n\nTHE MILLENNIUM FULCRUM EDITION 3.0\n\nCHAPTER I. Down the Rabbit-Hole\n\nAlice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do:"
    )
    assert doc.text.endswith("remembering her own child-life, and the happy summer days.\n\nTHE END")
    for gone in ("\r", "\ufeff", "Gutenberg", "GUTENBERG", "www.gutenberg.org", "Posting Date"):
        assert gone not in doc.text
    book_meta = doc.metadata["book"]
    assert book_meta["title"] == "Alice’s Adventures in Wonderland" and book_meta["author"] == "Lewis Carroll"
    assert book_meta["ebook_number"] == 11 and book_meta["gutenberg"] is True and book_meta["replacements"] == 0
    # the poems keep their lines; prose paragraphs are one line each
    assert "‘How doth the little crocodile\n Improve his shining tail," in doc.text
    assert "Alice was beginning to get very tired of sitting by her sister on the\nbank" not in doc.text


def test_alice_chapters():
    docs = book("pg11-alice-in-wonderland.txt", split="chapters")
    chapters = [d.metadata["book"]["chapter"] for d in docs]
    assert (
        len(docs) == 12
        and chapters[0] == "CHAPTER I. Down the Rabbit-Hole"
        and chapters[-1] == "CHAPTER XII. Alice’s Evidence"
    )
    assert docs[1].text.startswith("CHAPTER II. The Pool of Tears\n\n‘Curiouser and curiouser!’")
    (whole,) = book("pg11-alice-in-wonderland.txt")
    assert "\n\n".join(d.text for d in docs) == whole.text  # nothing lost or repeated at the cuts


def test_devils_dictionary_credits_and_letter_headings():
    (doc,) = book("pg972-devils-dictionary.txt")
    assert doc.text.startswith("THE DEVIL'S DICTIONARY\n\nby Ambrose Bierce\n\nAUTHOR'S PREFACE")
    assert doc.text.endswith("the domestic cow sheds its horn every two years.")
    assert "Produced by" not in doc.text and "Gutenberg" not in doc.text
    assert (
        doc.metadata["book"]["title"] == "The Devil's Dictionary" and doc.metadata["book"]["author"] == "Ambrose Bierce"
    )
    # its letter headings (C, D, I, L, M, V, X) are not roman-numeral chapters
    assert len(book("pg972-devils-dictionary.txt", split="chapters")) == 1
    sized = book("pg972-devils-dictionary.txt", split="size", max_words=5000)
    assert len(sized) > 10 and all(len(d.text.split()) <= 5000 for d in sized)


def stdlib_files():
    files = sorted(glob.glob(os.path.join(STDLIB, "*.py")))
    for pkg in PACKAGES:
        files += sorted(glob.glob(os.path.join(STDLIB, pkg, "*.py")))
    if len(files) < 200:
        pytest.skip(f"Python standard library not found at {STDLIB}")
    return files


def test_stdlib_tree_reads_as_python_with_few_skips():
    files = stdlib_files()
    cfg = CodeConfig(root=STDLIB, repository="cpython-lib")
    items = []
    for path in files:
        with open(path, "rb") as f:
            items.extend(read_code(path, f, "code", cfg))
    assert len(items) == len(files)  # one unit per file
    docs = [i for i in items if isinstance(i, Document)]
    skipped = {i.doc.metadata["code"]["path"]: i.reason for i in items if isinstance(i, Rejected)}
    assert {d.metadata["code"]["language"] for d in docs} == {"python"}
    # the generated modules of the standard library, and nothing else, are skipped
    assert set(skipped.values()) <= {"generated", "empty"} and skipped["keyword.py"] == "generated"
    assert len(skipped) <= 10  # empty __init__.py files and a few generated modules
    os_doc = next(d for d in docs if d.metadata["code"]["path"] == "os.py")
    assert os_doc.text == open(os.path.join(STDLIB, "os.py"), encoding="utf-8").read()


def build_archive(tmp_path, files, name="stdlib-pkgs.tar.gz"):
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname="cpython/Lib/" + os.path.relpath(path, STDLIB), recursive=False)
    return archive


def test_stdlib_archive_matches_the_tree(tmp_path):
    files = [f for f in stdlib_files() if os.path.dirname(f) != STDLIB]
    archive = build_archive(tmp_path, files)
    with open(archive, "rb") as f:
        items = list(read_code(str(archive), f, "code", CodeConfig()))
    assert len(items) == len(files)
    docs = {d.metadata["code"]["path"]: d for d in items if isinstance(d, Document)}
    assert {d.metadata["code"]["repository"] for d in docs.values()} == {"stdlib-pkgs"}
    text = docs["cpython/Lib/json/decoder.py"].text
    assert text == open(os.path.join(STDLIB, "json", "decoder.py"), encoding="utf-8").read()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not MODEL.exists():
        pytest.skip(f"tokenizer model {MODEL} not installed (run python -m curate.model_files)")
    books = str(shared_path("books"))
    base = tmp_path_factory.mktemp("books_code")
    files = stdlib_files()
    archive = build_archive(base, [f for f in files if f.startswith(os.path.join(STDLIB, "email"))], "email-pkg.tgz")
    raw = {
        "inputs": [
            {"kind": "books", "paths": [books + "/*.txt"], "options": {"split": "chapters"}},
            {
                "kind": "code",
                "paths": [os.path.join(STDLIB, "json", "**"), os.path.join(STDLIB, "http", "*")],
                "options": {"root": STDLIB, "repository": "cpython-lib"},
            },
            {"kind": "code", "name": "code_archives", "paths": [str(archive)]},
        ],
        "stages": [
            {"gopher_quality": {"applies_to": ["books"]}},
            {"code_redact": {"applies_to": ["code", "code_archives"]}},
            {"exact_dedup": {}},
        ],
        "tokenizer": {"model": str(MODEL)},
        "output": {"num_shards": 2, "write_rejected": True},
    }
    return run_config(raw, base)


def test_end_to_end_books_and_code(run):
    out, manifest = run
    rows = check_output(out, manifest)
    by_source = manifest["counts"]["by_source"]
    assert by_source["books"]["input"] == 12 + 1  # Alice's chapters + the dictionary
    # Gopher's prose rules run on the books only (some dialogue-heavy chapters fall
    # under its 80% alphabetic-word ratio: the filters' business, not the reader's)
    assert all(k.startswith("gopher_quality:") for k in by_source["books"]["dropped"])
    # (punctuation tokens count as words there, as in datatrove, whose GopherQualityFilter
    # keeps 6 of these 13 documents; ours keeps 5 or more)
    assert by_source["books"]["kept"] >= 5 and by_source["books"]["errors"] == 0
    code = by_source["code"]
    # json/** also matches the compiled files in __pycache__: counted as binary, not lost
    n_json = len(glob.glob(os.path.join(STDLIB, "json", "**"), recursive=False))
    assert code["input"] >= n_json and code["dropped"].get("read:binary", 0) >= 1
    assert "code_redact:email" in by_source["code_archives"]["stats"]  # email/ credits its authors
    assert by_source["code_archives"]["kept"] == by_source["code_archives"]["input"] > 10
    assert not any("@python.org" in r["text"] for r in rows if r["source"] != "books")
    assert any("<EMAIL>" in r["text"] for r in rows if r["source"] == "code_archives")
    meta = json.loads(next(r for r in rows if r["source"] == "code")["metadata"])
    assert meta["code"]["repository"] == "cpython-lib" and "signals" not in meta  # gopher skipped code
    prov = json.loads(next(r for r in rows if r["source"] == "code_archives")["provenance"])
    assert prov["path"].startswith("cpython/Lib/email/")


def test_all_sources_config_end_to_end(tmp_path, monkeypatch):
    """configs/all-sources.yaml: every reader kind in one run, stages chosen by source."""
    shared_path("warc")
    shared_path("conversations")
    if not MODEL.exists():
        pytest.skip(f"tokenizer model {MODEL} not installed (run python -m curate.model_files)")
    monkeypatch.chdir(REPO)  # the config's paths are relative to the repository root
    out = str(tmp_path / "out")
    manifest = cli.run_pipeline(config.load("configs/all-sources.yaml"), out, [])
    rows = check_output(out, manifest)
    by_source = manifest["counts"]["by_source"]
    assert set(by_source) == {"web", "web_wet", "books", "conversations", "conversations_flat", "code"}
    assert all(s["input"] > 0 for s in by_source.values())
    n_code = len(glob.glob("curate/*.py") + glob.glob("curate/*/*.py") + glob.glob("pipelines/*.py"))
    assert by_source["code"]["input"] == n_code
    # no prose rule or language ID touched the code; gopher never saw the conversations
    assert not any(k.startswith(("gopher_quality:", "language_id:")) for k in by_source["code"]["dropped"])
    assert not any(k.startswith("gopher_quality:") for k in by_source["conversations"]["dropped"])
    assert by_source["books"]["input"] == 13
    # Books have their own gopher_quality instance (alpha-word ratio 0.7, not the web's 0.8):
    # its signals are stored under its own name, and the Gutenberg chapters pass it.
    assert not any(k.startswith("gopher_quality") for k in by_source["books"]["dropped"])
    book_signals = [json.loads(r["metadata"])["signals"] for r in rows if r["source"] == "books"]
    assert book_signals and all("gopher_quality/books" in s and "gopher_quality" not in s for s in book_signals)
