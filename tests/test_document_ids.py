"""The one id recipe (curate.document.document_id): the same input files read from another
folder (or a gs:// prefix) give every reader's documents the same ids."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from curate import config, registry
from curate.config import build
from tests.warc_fixtures import html_page, response, warc_bytes

BOOK = ("Chapter one. " + "The river ran past the old mill and the town grew beside it. " * 30).encode()


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


INPUTS = {
    "warc": (
        "crawl.warc.gz",
        lambda: warc_bytes([response("https://a.example/", html_page("A", ["One paragraph here."]).encode())]),
    ),
    "jsonl": ("docs.jsonl.gz", lambda: gzip.compress(b'{"text": "first"}\n{"text": "second"}\n')),
    "books": ("alice.txt", lambda: BOOK),
    "code": ("repo.zip", lambda: _zip({"repo/pkg/mod.py": "def f():\n    return 1\n", "repo/README.md": "# repo\n"})),
}


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_ids_do_not_depend_on_the_folder(kind):
    name, data = INPUTS[kind]
    spec = registry.reader(kind)
    cfg = build(spec.config_cls, {})
    ids = []
    for folder in ("/data/run1", "moved/elsewhere", "gs://bucket/prefix"):
        items = list(spec.read_file(f"{folder}/{name}", io.BytesIO(data()), spec.default_source, cfg))
        ids.append([getattr(item, "doc", item).id for item in items if hasattr(getattr(item, "doc", item), "id")])
    assert ids[0] and ids[0] == ids[1] == ids[2], json.dumps(ids)


TREE = {"pkg/util.py": b"def f():\n    return 1\n", "tests/util.py": b"def g():\n    return 2\n"}


@pytest.mark.parametrize("options", [{}, {"repository": "named"}])
def test_code_tree_ids_do_not_depend_on_the_folder(options):
    """A tree read without ``root`` takes it from the input's paths (``repo`` for
    ``repo/**``): ids and paths are those within the tree, wherever it sits, and two
    files of one base name in two of its folders keep two ids."""
    spec = registry.reader("code")
    ids, paths = [], []
    for folder in ("/data/run1", "moved/elsewhere", "gs://bucket/prefix"):
        raw = {
            "inputs": [{"kind": "code", "paths": [f"{folder}/repo/**"], "options": options}],
            "tokenizer": {"model": "m.model"},
        }
        (inp,) = config.parse(raw, check_paths=False).inputs
        docs = [
            next(spec.read_file(f"{folder}/repo/{rel}", io.BytesIO(data), inp.name, inp.options))
            for rel, data in TREE.items()
        ]
        ids.append([d.id for d in docs])
        paths.append([(d.metadata["code"]["repository"], d.metadata["code"]["path"]) for d in docs])
    assert len(set(ids[0])) == len(TREE) and ids[0] == ids[1] == ids[2], json.dumps(ids)
    assert paths[0] == paths[1] == paths[2] == [(options.get("repository", "repo"), rel) for rel in TREE]
