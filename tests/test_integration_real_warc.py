"""The whole pipeline on the real Common Crawl / wget / ClueWeb WARCs in ../shared/data
(skipped with a reason when that folder is absent)."""

import json
import os

import pytest

from curate import config
from pipelines import cli
from tests.conftest import shared_path
from tests.pipeline_helpers import check_output, shard_hashes


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    warc_dir = shared_path("warc")
    base = tmp_path_factory.mktemp("real")
    raw = config.load("configs/web.yaml", check_paths=False).raw
    raw["inputs"][0]["paths"] = [os.path.join(str(warc_dir), "*.warc.gz")]
    raw["output"]["num_shards"] = 2
    cfg = config.parse(raw)
    out1, out2 = str(base / "a"), str(base / "b")
    return out1, out2, cli.run_pipeline(cfg, out1, []), cli.run_pipeline(cfg, out2, [])


@pytest.fixture(scope="module")
def split_run(real_runs, tmp_path_factory):
    """The same run with every per-record-gzipped WARC read in 8 KB ranges (many per file)."""
    raw = config.load("configs/web.yaml", check_paths=False).raw
    raw["inputs"][0]["paths"] = [os.path.join(str(shared_path("warc")), "*.warc.gz")]
    raw["inputs"][0].setdefault("options", {})["split_bytes"] = 8192
    raw["output"]["num_shards"] = 2
    out = str(tmp_path_factory.mktemp("split") / "out")
    return out, cli.run_pipeline(config.parse(raw), out, [])


def test_real_warcs_accounting_and_round_trip(real_runs):
    out1, _, m, _ = real_runs
    rows = check_output(out1, m)
    c = m["counts"]
    assert c["kept"] > 10 and len(rows) == c["kept"]
    assert c["dropped"]["read:record_request"] > 0
    assert c["dropped"]["language_id:language_not_kept"] > 0  # Chinese, Japanese, Russian pages
    urls = {r["url"] for r in rows}
    assert not any(u.startswith("<") for u in urls)  # wget's <...> target URIs cleaned


def test_clipped_file_gives_one_error_record_not_a_crash(real_runs):
    out1, _, m, _ = real_runs
    assert m["counts"]["errors"] == 1
    (line,) = open(os.path.join(out1, "errors", "errors-00000-of-00001.jsonl")).read().splitlines()
    err = json.loads(line)
    assert err["input_file"].endswith("clipped-record.warc.gz") and err["stage"] == "read"
    assert err["locator"].startswith("<urn:uuid:")


def test_real_run_is_deterministic(real_runs):
    out1, out2, m1, m2 = real_runs
    assert shard_hashes(out1) == shard_hashes(out2)
    assert m1["counts"] == m2["counts"]


def test_split_reading_gives_the_same_output_as_whole_files(real_runs, split_run):
    out1, _, m1, _ = real_runs
    out, m = split_run
    check_output(out, m)
    assert m["counts"] == m1["counts"]
    assert shard_hashes(out) == shard_hashes(out1)
    errors = [open(os.path.join(o, "errors", "errors-00000-of-00001.jsonl")).read() for o in (out1, out)]
    assert errors[0] == errors[1]
