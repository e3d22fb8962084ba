"""configs/decontaminate.yaml on the real data (web pages, books, conversations, a
scraped copy of GSM8K's test questions) with GSM8K and HumanEval as eval sets, plus
documents built here from real book text and real code with real eval items planted
in them: the report's counts equal the Beam counters, planted text is gone, real text
untouched. One run for all the checks."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from curate import config
from curate.model_files import model_path
from tests.conftest import REPO, shared_path
from tests.pipeline_helpers import check_output

GSM8K_PLANTED = (3, 141, 592, 653)  # record indexes
HUMANEVAL_PLANTED = ("HumanEval/0", "HumanEval/53")


def planted_documents() -> list[dict]:
    book = shared_path("books", "pg972-devils-dictionary.txt").read_text(encoding="utf-8")
    prose = [p.strip() for p in book.split("\n\n") if len(p.strip()) > 300]
    gsm = [json.loads(line) for line in open(shared_path("evals", "gsm8k-test.jsonl"), encoding="utf-8")]
    with gzip.open(model_path("HumanEval.jsonl.gz"), "rt", encoding="utf-8") as f:
        he = {r["task_id"]: r for r in map(json.loads, f)}
    code = open(os.path.join(REPO, "curate", "io.py"), encoding="utf-8").read()
    docs = []
    for k, i in enumerate(GSM8K_PLANTED):
        before, after = "\n\n".join(prose[6 * k : 6 * k + 3]), "\n\n".join(prose[6 * k + 3 : 6 * k + 6])
        docs.append({"id": f"gsm8k-{i}", "text": f"{before}\n\n{gsm[i]['question']}\n\n{after}"})
    half = code.index("\ndef ", len(code) // 2)
    for task in HUMANEVAL_PLANTED:
        item = he[task]["prompt"] + he[task]["canonical_solution"]
        docs.append({"id": task, "text": code[:half] + "\n" + item + code[half:]})
    return docs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from pipelines import cli

    shared_path("warc")
    base = tmp_path_factory.mktemp("decontam-real")
    planted = base / "planted.jsonl"
    docs = planted_documents()
    planted.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    raw = config.load(os.path.join(REPO, "configs", "decontaminate.yaml")).raw
    raw["inputs"].append({"kind": "jsonl", "name": "planted", "paths": [str(planted)], "options": {"id_field": "id"}})
    out = str(base / "out")
    manifest = cli.run_pipeline(config.parse(raw), out, [])
    return out, manifest, docs


def test_report_equals_counters(run):
    out, manifest, _ = run
    report = json.load(open(os.path.join(out, "decontamination.json")))
    stats = manifest["counts"]["stats"]
    dropped = manifest["counts"]["dropped"].get("decontaminate:contaminated", 0)
    sets = report["sets"]
    assert dropped == sum(s["docs_dropped"] for s in sets.values()) > 1000  # no document matched both sets
    assert stats["decontaminate:docs_cut"] == sum(s["docs_cut"] for s in sets.values())
    assert stats["decontaminate:chars_removed"] == sum(s["chars_removed"] for s in sets.values()) > 0
    for name, s in sets.items():
        for field in ("docs_cut", "docs_dropped", "chars_removed"):
            assert stats.get(f"decontaminate:{name}.{field}", 0) == s[field], (name, field)
        lines = [json.loads(x) for x in open(os.path.join(out, "contaminated-items", f"{name}.jsonl"))]
        assert [x["id"] for x in lines] == s["found_ids"] and len(lines) == s["items_found"]
    on_disk = json.load(open(os.path.join(out, "manifest.json")))
    assert on_disk["decontamination"]["sets"]["gsm8k"]["items_found"] == sets["gsm8k"]["items_found"]
    assert {"decontamination.json", "contaminated-items/gsm8k.jsonl", "contaminated-items/humaneval.jsonl"} <= set(
        on_disk["files"]
    )


def test_what_was_found_and_removed(run):
    out, manifest, docs = run
    sets = json.load(open(os.path.join(out, "decontamination.json")))["sets"]
    # every scraped test question is found (and, alone in its document, dropped whole)
    assert sets["gsm8k"]["items"] == sets["gsm8k"]["items_found"] == 1319
    # HumanEval/20's solution opens with HumanEval/0's double loop over enumerate(numbers):
    # their shared 13-grams make it found too (an n-gram overlap, as GPT-3 counts them)
    assert sets["humaneval"]["items"] == 164
    assert sets["humaneval"]["found_ids"] == ["HumanEval/0", "HumanEval/20", "HumanEval/53"]
    by_source = manifest["counts"]["by_source"]
    assert by_source["scraped_gsm8k"]["dropped"]["decontaminate:contaminated"] == 1319
    for src in ("web", "books", "conversations"):  # real text: nothing touched
        assert "decontaminate:contaminated" not in by_source[src]["dropped"]
        assert not any(k.startswith("decontaminate:") for k in by_source[src]["stats"])
    rows = {r["id"]: r for r in check_output(out, manifest)}
    planted = [r for r in rows.values() if r["source"] == "planted"]
    assert len(planted) == len(docs)  # cut, not dropped: the host text stays
    gsm = [json.loads(line) for line in open(shared_path("evals", "gsm8k-test.jsonl"), encoding="utf-8")]
    for row in planted:
        meta = json.loads(row["metadata"])["decontaminate"]
        assert meta["chars_removed"] > 0
        for i in GSM8K_PLANTED:
            assert gsm[i]["question"][:60] not in row["text"]
        assert "def has_close_elements" not in row["text"]


def test_summary_has_one_line_per_set(run):
    from pipelines.cli import format_summary

    out, manifest, _ = run
    text = format_summary(manifest, out)
    sets = json.load(open(os.path.join(out, "decontamination.json")))["sets"]
    s = sets["gsm8k"]
    assert (
        f"    gsm8k: 1,319 of 1,319 items found; {s['docs_cut']:,} docs cut, {s['docs_dropped']:,} dropped, "
        f"{s['chars_removed']:,} chars removed, {s['common_ngrams_ignored']:,} common n-grams ignored"
    ) in text.splitlines()
    assert any(line.startswith("    humaneval: 3 of 164 items found;") for line in text.splitlines())
