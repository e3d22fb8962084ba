"""Issue 8, output handling: nothing the user owns is deleted, a run that will fail fails
before the compute, an interrupted run leaves the previous output intact, and a rerun
gives the same bytes. Built on the bundled sample WARC (made in code)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from curate import io as cio
from curate import outdir
from curate.demo import sample
from curate.outdir import JOURNAL, STAGING, OutputDir, OutputError
from pipelines import cli
from tests.pipeline_helpers import check_output, shard_hashes

MODEL = "curate/models/mistral-tokenizer.model.v1"


def _config(warc: str, num_shards: int = 2, **output) -> dict:
    return {
        "inputs": [{"kind": "warc", "name": "web", "paths": [warc]}],
        "stages": [{"extract": {}}, {"language_id": {"languages": ["en"]}}, {"exact_dedup": {}}],
        "tokenizer": {"model": MODEL},
        "output": {"num_shards": num_shards, "write_rejected": True, **output},
    }


def _write(path, raw: dict) -> str:
    with open(path, "w") as f:
        json.dump(raw, f)  # JSON is YAML
    return str(path)


def _run(argv, capsys):
    """``curate`` in process: (exit code, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def _snapshot(out: str) -> dict:
    """Every file under ``out`` (staging, lock and journal aside) with its bytes' hash."""
    import hashlib

    return {
        f: hashlib.sha256(open(os.path.join(out, f), "rb").read()).hexdigest()
        for f in cio.list_files(out)
        if not f.startswith(STAGING + "/") and f not in (outdir.LOCK, JOURNAL)
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The sample WARC, a config over it and one complete output of it."""
    base = tmp_path_factory.mktemp("outputs")
    warc = str(base / "input" / "sample.warc.gz")
    sample.write_sample_warc(warc)
    cfg = _write(base / "run.yaml", _config(warc))
    out = str(base / "out")
    assert cli.main(["run", cfg, "--output", out]) == 0
    return base, warc, cfg, out


def test_a_complete_output_lists_what_it_wrote(env):
    _, _, _, out = env
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    check_output(out, manifest)
    assert manifest["files"] == sorted(f for f in _snapshot(out) if f != "manifest.json")
    assert not os.path.exists(os.path.join(out, STAGING)) and not os.path.exists(os.path.join(out, JOURNAL))


def test_an_input_under_the_output_is_refused_and_untouched(env, tmp_path, capsys):
    base, _, _, out = env
    before = _snapshot(out)
    raw = _config(os.path.join(out, "shards", "*.parquet"))
    raw["inputs"][0]["kind"] = "parquet"
    code, err = _run(["run", _write(tmp_path / "c.yaml", raw), "--output", out, "--overwrite"], capsys)
    assert code == 2 and err.count("\n") == 1 and "lies under the output" in err
    assert _snapshot(out) == before


def test_a_complete_output_is_replaced_only_with_overwrite(env, tmp_path, capsys):
    base, warc, cfg, out = env
    before = _snapshot(out)
    code, err = _run(["run", cfg, "--output", out], capsys)
    assert code == 2 and "--overwrite" in err and err.count("\n") == 1
    assert _snapshot(out) == before


def test_files_the_run_did_not_write_are_never_deleted(env, tmp_path, capsys):
    _, warc, _, _ = env
    out = str(tmp_path / "out")
    cfg3 = _write(tmp_path / "three.yaml", _config(warc, num_shards=3))
    assert cli.main(["run", cfg3, "--output", out]) == 0
    notes = os.path.join(out, "notes.txt")
    open(notes, "w").write("mine")
    # A file of the user's where curate writes: refused before the run, by name.
    stray = os.path.join(out, "shards", "extra.parquet")
    open(stray, "w").write("mine too")
    before = _snapshot(out)
    cfg2 = _write(tmp_path / "two.yaml", _config(warc, num_shards=2))
    code, err = _run(["run", cfg2, "--output", out, "--overwrite"], capsys)
    assert code == 2 and "extra.parquet" in err and "never deletes" in err
    assert _snapshot(out) == before
    os.remove(stray)
    # Overwritten with fewer shards: the old run's shards go, the user's file stays.
    assert cli.main(["run", cfg2, "--output", out, "--overwrite"]) == 0
    files = _snapshot(out)
    assert open(notes).read() == "mine"
    assert sorted(f for f in files if f.startswith("shards/")) == [
        "shards/part-00000-of-00002.parquet",
        "shards/part-00001-of-00002.parquet",
    ]
    check_output(out, json.load(open(os.path.join(out, "manifest.json"))))


def test_an_unusable_output_fails_before_the_compute(env, tmp_path, capsys):
    _, _, cfg, _ = env
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for target, message in ((a_file, "is a file"), (a_file / "below", "cannot create")):
        code, err = _run(["run", cfg, "--output", str(target)], capsys)
        assert code == 2 and message in err and err.count("\n") == 1
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        code, err = _run(["run", cfg, "--output", str(ro)], capsys)
        assert code == 2 and "cannot write" in err


def test_a_file_matched_twice_is_read_once(env, tmp_path, capsys):
    _, warc, _, out = env
    raw = _config(warc)
    raw["inputs"][0]["paths"] = [warc, os.path.join(os.path.dirname(warc), "*.warc.gz")]
    code, err = _run(["run", _write(tmp_path / "twice.yaml", raw), "--output", str(tmp_path / "o")], capsys)
    assert code == 0 and "is read once" in err
    assert shard_hashes(str(tmp_path / "o")) == shard_hashes(out)
    # Two inputs claiming one file: which source would it be? A config error.
    raw["inputs"] = [{"kind": "warc", "name": "a", "paths": [warc]}, {"kind": "warc", "name": "b", "paths": [warc]}]
    code, err = _run(["run", _write(tmp_path / "two.yaml", raw), "--output", str(tmp_path / "o2")], capsys)
    assert code == 2 and "also an input of inputs[0]" in err


def test_failed_runs_exit_non_zero_and_keep_the_previous_output(env, tmp_path, capsys):
    _, warc, _, _ = env
    out = str(tmp_path / "out")
    assert cli.main(["run", _write(tmp_path / "good.yaml", _config(warc)), "--output", out]) == 0
    before = _snapshot(out)
    garbage = tmp_path / "bad" / "garbage.jsonl"
    garbage.parent.mkdir()
    garbage.write_text("{not json\n" * 3)
    bad = _config(warc)
    bad["inputs"] = [{"kind": "jsonl", "name": "notes", "paths": [str(garbage)]}]
    code, err = _run(["run", _write(tmp_path / "bad.yaml", bad), "--output", out, "--overwrite"], capsys)
    assert code == 4 and "every input record failed (3 errors)" in err and "unchanged" in err
    assert _snapshot(out) == before
    empty = tmp_path / "empty" / "empty.warc.gz"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    code, err = _run(
        ["run", _write(tmp_path / "empty.yaml", _config(str(empty))), "--output", out, "--overwrite"], capsys
    )
    assert code == 4 and "is empty (0 bytes)" in err and "no input records" in err
    assert _snapshot(out) == before
    # output.max_error_rate: 3 errors among 61 records
    mixed = _config(warc, max_error_rate=0.0)
    mixed["inputs"].append(bad["inputs"][0])
    code, err = _run(["run", _write(tmp_path / "rate.yaml", mixed), "--output", out, "--overwrite"], capsys)
    assert code == 4 and "3 of 61 input records failed" in err and "above output.max_error_rate" in err
    assert _snapshot(out) == before
    mixed["output"]["max_error_rate"] = 0.1
    code, _ = _run(["run", _write(tmp_path / "rate.yaml", mixed), "--output", out, "--overwrite"], capsys)
    assert code == 0 and _snapshot(out) != before


def test_usage_errors_are_one_line(env, tmp_path, capsys):
    _, _, cfg, _ = env
    code, err = _run(["run", cfg, "--output", str(tmp_path / "o"), "--no_such_option", "1"], capsys)
    assert code == 2 and "unknown option --no_such_option" in err and err.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs:\n  - kind: warc\n    paths: [a\n tokenizer: {}\n")
    code, err = _run(["run", str(bad), "--output", str(tmp_path / "o")], capsys)
    assert code == 2 and "invalid YAML at line" in err and "column" in err and err.count("\n") == 1
    assert not os.path.exists(tmp_path / "o")


def test_an_interrupted_commit_is_finished_by_the_next_run(tmp_path, monkeypatch):
    out = str(tmp_path / "out")
    first = OutputDir.prepare(out, [], overwrite=False)
    for rel in ("shards/a", "shards/b", "errors/e"):
        cio.write_bytes(cio.join(first.staging, rel), b"old " + rel.encode())
    first.commit({"run": 1})
    second = OutputDir.prepare(out, [], overwrite=True)
    for rel in ("shards/a", "shards/c"):
        cio.write_bytes(cio.join(second.staging, rel), b"new " + rel.encode())
    moves = []
    real_move = cio.move

    def move_once_then_die(src, dst):
        if moves:
            raise KeyboardInterrupt
        moves.append(dst)
        real_move(src, dst)

    monkeypatch.setattr(cio, "move", move_once_then_die)
    with pytest.raises(KeyboardInterrupt):
        second.commit({"run": 2})
    second.release()
    monkeypatch.setattr(cio, "move", real_move)
    # Mid-commit: no manifest at OUT, so no reader takes it for a complete output.
    assert not os.path.exists(os.path.join(out, "manifest.json"))
    third = OutputDir.prepare(out, [], overwrite=True)  # finishes the commit first
    assert third.previous["run"] == 2
    third.release()
    assert _snapshot(out) == {
        "manifest.json": _snapshot(out)["manifest.json"],
        "shards/a": _snapshot(out)["shards/a"],
        "shards/c": _snapshot(out)["shards/c"],
    }
    assert open(os.path.join(out, "shards/a"), "rb").read() == b"new shards/a"
    assert json.load(open(os.path.join(out, "manifest.json")))["files"] == ["shards/a", "shards/c"]


def test_a_killed_run_leaves_the_previous_output_and_a_rerun_is_identical(env, tmp_path):
    """Kills a real run (a subprocess) mid-compute: the earlier complete output is intact,
    and the run repeated to the end writes the same bytes as an uninterrupted run."""
    _, warc, cfg, reference = env
    out = str(tmp_path / "out")
    three = _write(tmp_path / "three.yaml", _config(warc, num_shards=3))
    assert cli.main(["run", three, "--output", out]) == 0
    before = _snapshot(out)
    for sig in (signal.SIGINT, signal.SIGKILL):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run", cfg, "--output", out, "--overwrite"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(out, STAGING)) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)  # the staging folder appears once the checks have passed
        time.sleep(0.3)  # into the compute (building and running the graph takes seconds)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            pytest.skip("the run finished before it could be interrupted")
        if sig == signal.SIGINT:
            assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("curate: interrupted")
        assert _snapshot(out) == before
    assert cli.main(["run", cfg, "--output", out, "--overwrite"]) == 0
    assert shard_hashes(out) == shard_hashes(reference)
    assert not os.path.exists(os.path.join(out, STAGING))


def test_pipelines_cli_runs_as_a_module():
    # The kill test starts `python -m pipelines.cli`; it must behave as the console script.
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--overwrite" in proc.stdout


def test_a_manifest_listing_paths_outside_the_output_is_never_followed(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "precious.txt"
    outside.write_text("the user's")
    first = OutputDir.prepare(str(out), [], overwrite=False)
    cio.write_bytes(cio.join(first.staging, "shards/a"), b"a")
    first.commit({"run": 1})
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].append("../precious.txt")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(OutputError, match="not a path inside the output"):
        OutputDir.prepare(str(out), [], overwrite=True)
    assert outside.read_text() == "the user's"
    # the lock was released with the refusal: a corrected manifest lets the next run in
    manifest["files"].remove("../precious.txt")
    (out / "manifest.json").write_text(json.dumps(manifest))
    OutputDir.prepare(str(out), [], overwrite=True).release()
