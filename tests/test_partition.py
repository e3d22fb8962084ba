"""output.partition_by: language: one folder of shards per language, per-language totals
in the manifest, the same bytes on every run; verify, the loader, refilter and inspect
read it."""

import glob
import hashlib
import json
import os

import pyarrow.parquet as pq
import pytest

from curate import config as C
from curate import shards as S
from curate.inspect import input_files
from curate.loader import PackedSequences
from pipelines import cli
from tests.pipeline_helpers import check_output, run_config

TEXTS = {
    "en": "The museum by the river tells the story of the old harbour and the ships that sailed from it.",
    "de": "Das Museum am Fluss erzählt die Geschichte des alten Hafens und der Schiffe, die von dort fuhren.",
    "fr": "Le musée près de la rivière raconte l'histoire du vieux port et des navires qui en partaient.",
    "es": "El museo junto al río cuenta la historia del viejo puerto y de los barcos que salían de allí.",
}


def partitioned_config(tmp_path, **output) -> dict:
    path = tmp_path / "docs.jsonl"
    with open(path, "w", encoding="utf-8") as f:  # rewritten alike: same content, same path
        for lang, text in TEXTS.items():
            for i in range(3):
                f.write(json.dumps({"id": f"{lang}{i}", "text": f"{text} ({i})"}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"id": "nolang", "text": "12345 67890"}) + "\n")
    return {
        "inputs": [{"kind": "jsonl", "name": "web", "paths": [str(path)], "options": {"id_field": "id"}}],
        "stages": [{"language_id": {"languages": ["en", "de", "fr"], "min_score": 0.5}}],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1", "add_eos": True},
        "output": {"num_shards": 2, "partition_by": "language", "write_rejected": True, **output},
    }


def file_hashes(out: str) -> dict:
    files = sorted(glob.glob(os.path.join(out, "**", "*.parquet"), recursive=True))
    return {os.path.relpath(f, out): hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files}


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("input")


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory, input_dir):
    return run_config(partitioned_config(input_dir), tmp_path_factory.mktemp("partitioned"))


def test_one_folder_per_language_with_its_rows(partitioned):
    out, m = partitioned
    rows = check_output(out, m)  # the identity, and the shards' rows against the counters
    assert m["partition_by"] == "language"
    folders = sorted({os.path.dirname(s["path"]) for s in m["shards"]})
    assert folders == ["shards/language=de", "shards/language=en", "shards/language=fr"]
    for s in m["shards"]:
        language = S.partition_of_path(s["path"])[1]
        table = pq.read_table(os.path.join(out, s["path"]))
        assert set(table.column("language").to_pylist()) <= {language}
    assert len(m["shards"]) == 3 * 2  # num_shards per language, empty shards written too
    assert len(rows) == m["counts"]["kept"] == 9


def test_manifest_gives_each_languages_documents_and_tokens(partitioned):
    out, m = partitioned
    parts = m["partitions"]
    assert sorted(parts) == ["de", "en", "fr"]
    assert {k: v["rows"] for k, v in parts.items()} == {"de": 3, "en": 3, "fr": 3}
    assert sum(v["tokens"] for v in parts.values()) == m["totals"]["tokens"]
    assert {k: v["rows"] for k, v in parts.items()} == m["counts"]["by_language"]


def test_same_bytes_on_a_second_run(partitioned, input_dir, tmp_path):
    out, _ = partitioned
    again, _ = run_config(partitioned_config(input_dir), tmp_path)
    assert file_hashes(again) == file_hashes(out) and file_hashes(out)


def test_verify_the_loader_and_inspect_read_a_partitioned_output(partitioned, capsys):
    out, m = partitioned
    assert cli.main(["verify", out]) == 0, capsys.readouterr().out
    files, _ = input_files(out, rejected=False)
    assert len(files) == len(m["shards"])
    items = list(PackedSequences(out, 64, remainder="pad", shuffle=False))
    assert sum(int((it["segment_ids"] >= 0).sum()) for it in items) == m["totals"]["tokens"]


def test_refilter_keeps_the_folders_and_the_partition_totals(partitioned, tmp_path):
    out, m = partitioned
    new_out = str(tmp_path / "refiltered")
    cfg = tmp_path / "refilter.yaml"
    cfg.write_text(json.dumps({"stages": [{"language_id": {"languages": ["en", "de"], "min_score": 0.5}}]}))
    assert cli.main(["refilter", "--input", out, "--config", str(cfg), "--output", new_out]) == 0
    new = json.load(open(os.path.join(new_out, "manifest.json")))
    assert new["partition_by"] == "language"
    assert {k: v["rows"] for k, v in new["partitions"].items()} == {"de": 3, "en": 3, "fr": 0}
    assert all(os.path.exists(os.path.join(new_out, s["path"])) for s in new["shards"])


def test_partition_by_takes_only_known_columns():
    with pytest.raises(C.ConfigError, match="output.partition_by: expected 'language' | null, got str 'source'"):
        C.build(C.OutputConfig, {"partition_by": "source"}, "output")
