"""The job reaches Dataflow: a dry run of the DataflowRunner builds and translates the
whole graph (every input kind, every registered stage including the global ones) without
submitting it, and the CLI reports it without metrics or a manifest. Also: the Beam
version is pinned once, and the Dataflow counters become the manifest's values."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest

from curate import config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = "gs://curate-dry-run-bucket"
DATAFLOW_ARGS = [
    "--runner",
    "DataflowRunner",
    "--dry_run=True",
    "--project",
    "curate-dry-run",
    "--region",
    "us-central1",
    "--temp_location",
    f"{BUCKET}/tmp",
    "--staging_location",
    f"{BUCKET}/staging",
    "--no_auth",
]
# Stage parameters without a default (gs:// paths: nothing is read in a dry run).
REQUIRED_PARAMS = {
    "quality_classifier": {"model": f"{BUCKET}/models/quality.bin"},
    "decontaminate": {
        "eval_sets": [{"name": "gsm8k", "paths": [f"{BUCKET}/evals/gsm8k.jsonl"], "fields": ["question"]}]
    },
}


def _gcp_installed() -> bool:
    try:
        import apache_beam.runners.dataflow.internal.apiclient  # noqa: F401
    except ImportError:
        return False
    return True


needs_gcp = pytest.mark.skipif(
    not _gcp_installed(), reason="apache-beam[gcp] is not installed (pip install -e '.[dataflow]')"
)


def every_kind_config() -> dict:
    """One input of every registered kind and every registered stage, in gs:// paths."""
    from curate import registry

    registry.load()
    inputs = [
        {"kind": kind, "name": f"src_{kind}", "paths": [f"{BUCKET}/in/{kind}/*"]} for kind in sorted(registry.READERS)
    ]
    stages = [{name: dict(REQUIRED_PARAMS.get(name, {}))} for name in registry.STAGES]
    return {
        "inputs": inputs,
        "stages": stages,
        "tokenizer": {"model": os.path.join(REPO, "curate", "models", "mistral-tokenizer.model.v1")},
        "output": {"num_shards": 4, "write_rejected": True},
    }


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """``curate run CONFIG --output gs://... --runner DataflowRunner --dry_run=True ...``."""
    from curate.model_files import ModelNotFound, model_path
    from pipelines import cli

    try:
        model_path("mistral-tokenizer.model.v1")
    except ModelNotFound as e:
        pytest.skip(str(e))
    raw = every_kind_config()
    path = tmp_path_factory.mktemp("dataflow") / "config.yaml"
    path.write_text(json.dumps(raw))
    mp = pytest.MonkeyPatch()
    mp.setenv("NO_GCE_CHECK", "True")  # never probe a metadata server, whatever asks for credentials
    import contextlib
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = cli.main(["run", str(path), "--output", f"{BUCKET}/out", *DATAFLOW_ARGS])
    finally:
        mp.undo()
    return raw, code, out.getvalue()


@needs_gcp
def test_dry_run_translates_every_input_kind_and_stage(dry_run):
    raw, code, printed = dry_run
    assert code == 0, printed
    assert "dry run: DataflowRunner built and translated the job graph" in printed
    assert "nothing was submitted, no manifest written" in printed
    assert "every configured input and stage is in the graph" in printed
    assert "MISSING" not in printed
    n = int(re.search(r"\((\d+) transforms\)", printed).group(1))
    assert n > len(raw["inputs"]) + len(raw["stages"])


@needs_gcp
def test_dry_run_warns_of_paths_workers_cannot_read(dry_run):
    _, _, printed = dry_run
    # token_dedup takes the tokenizer's path, which is local here: a real job refuses it.
    assert "warning: stages.token_dedup.model:" in printed
    assert "warning: inputs" not in printed  # the inputs are gs:// paths


def test_graph_check_names_a_stage_missing_from_the_graph(tmp_path):
    from pipelines import launch

    cfg = config.parse(
        {
            "inputs": [{"kind": "jsonl", "name": "j", "paths": [f"{BUCKET}/a.jsonl"]}],
            "stages": ["exact_dedup", {"gopher_quality/books": {}}],
            "tokenizer": {"train": {}},
        }
    )
    present = {"input[0]:jsonl:j", "stage:exact_dedup", "tokenize", "shards:write"}
    assert launch.missing_from_graph(cfg, present) == ["stage:gopher_quality/books"]
    assert launch.missing_from_graph(cfg, present | {"stage:gopher_quality/books"}) == []


def test_remote_runner_refuses_local_paths(tmp_path):
    from pipelines import launch

    local = tmp_path / "a.jsonl"
    local.write_text("{}\n")
    cfg = config.parse(
        {
            "inputs": [
                {"kind": "jsonl", "name": "remote", "paths": [f"{BUCKET}/a.jsonl"]},
                {"kind": "jsonl", "name": "local", "paths": [str(local)]},
            ],
            "stages": [{"url_filter": {"domains_path": str(local)}}],
            "tokenizer": {"train": {}},
        }
    )
    assert launch.local_paths(cfg) == [
        ("inputs[1].paths[0]", str(local)),
        ("stages.url_filter.domains_path", str(local)),
    ]

    @dataclasses.dataclass
    class EvalSet:
        name: str
        paths: list

    @dataclasses.dataclass
    class Nested:
        eval_sets: list
        model: str = "gs://b/m.bin"

    nested = Nested([EvalSet("a", ["gs://b/a.jsonl", str(local)])])
    assert list(launch._params_paths(nested, "stages.d")) == [
        ("stages.d.eval_sets[0].paths[0]", "gs://b/a.jsonl"),
        ("stages.d.eval_sets[0].paths[1]", str(local)),
        ("stages.d.model", "gs://b/m.bin"),
    ]
    with pytest.raises(config.ConfigError, match=r"inputs\[1\]\.paths\[0\]: .* is a local path, .*\(and 1 more\)"):
        launch.check_remote_paths(cfg)


@needs_gcp
def test_dataflow_job_counters_become_manifest_values():
    """Counters as the Dataflow service reports them (user metrics, committed and
    tentative, one entry per step) give the manifest's values: committed only, summed
    over the steps that count the same name."""
    from google.cloud import dataflow
    from google.protobuf import json_format

    from pipelines import launch

    def update(name, value, step, tentative=False, namespace="curate"):
        context = {"namespace": namespace, "step": step, **({"tentative": "true"} if tentative else {})}
        return {"name": {"context": context, "name": name, "origin": "user"}, "scalar": value}

    response = dataflow.JobMetrics()
    json_format.ParseDict(
        {
            "metrics": [
                update("input|web", 10, "s1"),
                update("input|web", 12, "s1", tentative=True),  # attempted, with a retried bundle
                update("kept|web", 3, "s9"),
                update("dropped|web|c4|too_few_sentences", 4, "s4"),
                update("dropped|web|c4|too_few_sentences", 2, "s5"),  # the same name in another step
                update("errors|web|read", 1, "s1"),
                update("elements", 99, "s1", namespace="other"),
            ]
        },
        response._pb,
    )
    assert launch.committed_counters(response) == {
        "input|web": 10,
        "kept|web": 3,
        "dropped|web|c4|too_few_sentences": 6,
        "errors|web|read": 1,
    }


def test_beam_version_is_pinned_once_and_the_image_follows_it():
    pyproject = open(os.path.join(REPO, "pyproject.toml")).read()
    pins = re.findall(r'"apache-beam(\[gcp\])?==([0-9.]+)"', pyproject)
    assert [extra for extra, _ in pins] == ["", "[gcp]"]  # dependencies, the dataflow extra
    (version,) = {v for _, v in pins}
    assert '"curate[dataflow]"' in pyproject  # the test extra takes the dataflow one, not a third pin
    assert len(re.findall(r"apache-beam", pyproject)) == 2
    assert "apache-beam" not in open(os.path.join(REPO, "setup.py")).read()
    dockerfile = open(os.path.join(REPO, "Dockerfile")).read()
    assert f"ARG BEAM_VERSION={version}\n" in dockerfile
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in dockerfile
    import apache_beam

    assert apache_beam.__version__ == version


def test_manifest_command_commits_a_job_that_finished_after_the_launcher(tmp_path, monkeypatch, capsys):
    """``curate run --no_wait`` leaves the job's output in OUT/.curate-staging; ``curate
    manifest`` later builds the manifest from the job's committed counters and commits.
    Here the "job" is the same graph run locally into the staging folder, and its
    counters stand in for the Dataflow service's."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from curate.outdir import STAGING
    from pipelines import build, cli, launch

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"text": f"Document number {i} says something."}) + "\n" for i in range(5)))
    raw = {
        "inputs": [{"kind": "jsonl", "name": "j", "paths": [str(docs)]}],
        "stages": ["exact_dedup"],
        "tokenizer": {"train": {"vocab_size": 400}},
        "output": {"num_shards": 2},
    }
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    cfg = config.load(str(cfg_path))
    build.check_stages(cfg)
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    build.build(p, cfg, str(out / STAGING), None)
    from apache_beam.metrics.metric import MetricsFilter

    result = p.run()
    result.wait_until_finish()
    counters = launch.counter_values(result.metrics().query(MetricsFilter().with_namespace("curate"))["counters"])
    assert not (out / "manifest.json").exists()

    asked = []
    monkeypatch.setattr(launch, "finished_job_counters", lambda options, job_id: asked.append(job_id) or counters)
    code = cli.main(
        ["manifest", str(cfg_path), "--output", str(out), "--job_id", "job-7", "--project", "p-123456", "--region", "r"]
    )
    assert code == 0 and asked == ["job-7"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["input"] == 5 and m["balanced"] is True
    assert all((out / f).exists() for f in m["files"]) and not (out / STAGING).exists()
    assert "DataflowRunner job job-7" in capsys.readouterr().out
