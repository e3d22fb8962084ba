"""The whole pipeline on the bundled sample (built in code): CLI, accounting, shards,
tokens, rejected output, determinism. Two Beam runs, shared by all assertions."""

import json
import os

import pyarrow.parquet as pq
import pytest

from curate import config
from curate.demo import sample
from pipelines import cli
from tests.pipeline_helpers import check_output, shard_hashes


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("sample")
    warc = str(base / "sample.warc.gz")
    sample.write_sample_warc(warc)
    raw = config.load("configs/sample.yaml", check_paths=False).raw
    raw["inputs"][0]["paths"] = [warc]
    cfg_path = base / "sample.yaml"
    cfg_path.write_text(json.dumps(raw))  # JSON is YAML
    out1, out2 = str(base / "out1"), str(base / "out2")
    code = cli.main(["run", str(cfg_path), "--output", out1])
    m2 = cli.run_pipeline(config.load(str(cfg_path)), out2, [])
    return out1, out2, code, m2


def test_cli_run_succeeds(sample_runs):
    _, _, code, _ = sample_runs
    assert code == 0


def test_accounting_and_reasons_on_the_sample(sample_runs):
    out1, _, _, m = sample_runs
    rows = check_output(out1, m)
    c = m["counts"]
    assert c["input"] == 58 and c["errors"] == 0
    assert c["dropped"] == {
        "exact_dedup:duplicate": 2,
        # "!!!" is three tokens (as spaCy cuts it for datatrove): the spam's
        # alphabetic-word ratio falls under 0.8 before the stop-word rule is reached.
        "gopher_quality:too_few_alpha_words": 2,
        # the two pages of navigation, cookie banner and footer around one sentence
        "gopher_repetition:top_2_gram": 2,
        "language_id:language_not_kept": 3,
        # the windows-1252 archive copy of the library article and the tides copy with
        # bad bytes: near, not exact, duplicates
        "minhash_dedup:near_duplicate": 2,
        "read:http_status": 1,
        "read:not_html": 1,
        "read:record_metadata": 19,
        "read:record_request": 19,
        "read:record_warcinfo": 1,
    }
    urls = sorted(r["url"] for r in rows)
    assert urls == sorted(
        f"https://news.example.org/{t}" for t in ("bees", "bread", "rail", "sleep", "tides", "libraries")
    )
    by_url = {r["url"]: r for r in rows}
    meta = json.loads(by_url["https://news.example.org/bees"]["metadata"])
    assert meta["language"] == "en" and "gopher_quality" in meta["signals"] and "c4" in meta["signals"]
    assert meta["exact_duplicates"] == 1


def test_rejected_output_explains_each_drop(sample_runs):
    out1, _, _, m = sample_runs
    rej = pq.read_table(os.path.join(out1, "rejected")).to_pylist()
    assert len(rej) == sum(m["counts"]["dropped"].values())
    dup = [r for r in rej if r["stage"] == "exact_dedup"]
    kept_ids = {r["id"] for r in pq.read_table(os.path.join(out1, "shards")).to_pylist()}
    assert all(json.loads(r["details"])["duplicate_of"] in kept_ids for r in dup)
    near = {r["url"]: r for r in rej if r["stage"] == "minhash_dedup"}
    assert sorted(near) == ["https://broken.example.org/tides", "https://old.example.org/library.html"]
    assert all(json.loads(r["details"])["duplicate_of"] in kept_ids for r in near.values())
    # windows-1252 declared only in <meta>: decoded right (the text is kept in rejected/)
    assert "\u201cA library is a caf\u00e9 for the mind,\u201d" in near["https://old.example.org/library.html"]["text"]
    spam = [r for r in rej if r["url"] and "spam0" in r["url"]][0]
    assert spam["reason"] == "too_few_alpha_words" and json.loads(spam["details"])["signals"]["alpha_words_ratio"] < 0.8


def test_same_input_and_config_give_identical_bytes(sample_runs):
    out1, out2, _, _ = sample_runs
    h1, h2 = shard_hashes(out1), shard_hashes(out2)
    assert h1 == h2 and len(h1) == 4
    assert (
        open(os.path.join(out1, "tokenizer/spm.model"), "rb").read()
        == open(os.path.join(out2, "tokenizer/spm.model"), "rb").read()
    )


def test_config_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: [{kind: warc, paths: [nowhere/*.warc.gz]}]\ntokenizer: {train: {}}\n")
    with pytest.raises(SystemExit) as e:
        cli.main(["run", str(bad), "--output", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "curate: config error: inputs[0].paths[0]: no file matches 'nowhere/*.warc.gz'"


def test_a_smaller_trained_vocabulary_is_reported_with_its_reason(sample_runs, tmp_path, capsys):
    """The bundled sample asks for 2,000 pieces and its few kept pages give fewer."""
    out1, _, _, m2 = sample_runs
    got, asked = m2["tokenizer"]["vocab_size"], m2["tokenizer"]["vocab_size_asked"]
    assert asked == 2000 and got < asked
    assert f"{asked:,} pieces were asked" in cli.format_summary(m2, out1)
    capsys.readouterr()
    assert (
        cli.main(["train-tokenizer", "--input", out1, "--output", str(tmp_path / "tok"), "--vocab-size", "2000"]) == 0
    )
    printed = capsys.readouterr().out
    assert f"{got:,} pieces (2,000 asked)" in printed  # the same sample rule gives the same model
    assert "candidate pieces" in printed and "fewer than asked" in printed


def test_work_files_are_removed_and_never_committed(sample_runs):
    # exact_dedup and minhash_dedup keep their documents in OUT/.curate-staging/_work
    # while they decide; the committed output holds none of them
    for out in sample_runs[:2]:
        assert not os.path.exists(os.path.join(out, ".curate-staging"))
        assert not any("_work" in dirs for _, dirs, _ in os.walk(out))
        with open(os.path.join(out, "manifest.json")) as f:
            assert not any("_work" in rel for rel in json.load(f)["files"])
