"""Launching a run on a runner other than the local one (Google Cloud Dataflow): what
the workers can read, a dry run that translates the job without submitting it, and the
manifest from a job's committed counters (after waiting, or later for a job launched
with ``--no_wait``)."""

from __future__ import annotations

import dataclasses

from curate.config import ConfigError, PipelineConfig
from curate.counters import NAMESPACE

# Runners whose workers are processes on this machine (they read the launcher's files).
LOCAL_RUNNERS = frozenset(
    {"FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "PrismRunner"}
)


def runner_name(options) -> str:
    from apache_beam.options.pipeline_options import StandardOptions

    runner = options.view_as(StandardOptions).runner or ""
    return runner if isinstance(runner, str) else type(runner).__name__


def runs_remotely(options) -> bool:
    """The workers are other machines: they see none of the launcher's local files."""
    return runner_name(options) not in LOCAL_RUNNERS


def is_dry_run(options) -> bool:
    """``--dry_run=True``: the DataflowRunner builds and translates the job, submits nothing."""
    from apache_beam.options.pipeline_options import TestOptions

    # Only the DataflowRunner honours the option; the local runners run the job anyway.
    return bool(options.view_as(TestOptions).dry_run) and runner_name(options) == "DataflowRunner"


def _params_paths(params, key: str):
    """``(key, path)`` of the file paths in a stage's parameters: fields named ``model``,
    ``*_path`` (a path) or ``paths``, ``*_paths`` (a list of paths), also inside nested
    parameter dataclasses and lists of them (e.g. ``decontaminate.eval_sets[0].paths``)."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        name = f"{key}.{f.name}"
        if isinstance(value, str) and (f.name == "model" or f.name.endswith("_path")):
            yield name, value
        elif isinstance(value, list) and (f.name == "paths" or f.name.endswith("_paths")):
            yield from ((f"{name}[{j}]", v) for j, v in enumerate(value) if isinstance(v, str))
        elif dataclasses.is_dataclass(value):
            yield from _params_paths(value, name)
        elif isinstance(value, list):
            for j, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    yield from _params_paths(item, f"{name}[{j}]")


def worker_paths(cfg: PipelineConfig) -> list[tuple[str, str]]:
    """``(config key, path)`` of every file the workers would open: input paths and the
    stages' model, list and other data files. ``tokenizer.model`` is not among them: it
    is read by the launcher and travels inside the job. Unset paths (the models and
    lists inside the installed package) are not either."""
    found = []
    for i, inp in enumerate(cfg.inputs):
        found += [(f"inputs[{i}].paths[{j}]", p) for j, p in enumerate(inp.paths)]
    for s in cfg.stages:
        if dataclasses.is_dataclass(s.params):
            found += list(_params_paths(s.params, f"stages.{s.name}"))
    return found


def local_paths(cfg: PipelineConfig) -> list[tuple[str, str]]:
    """The local ones of :func:`worker_paths`."""
    return [(key, path) for key, path in worker_paths(cfg) if "://" not in path]


def check_remote_paths(cfg: PipelineConfig) -> None:
    """On a remote runner every file the workers open must be remote (gs://): a local
    input path there matches nothing and the run would be silently empty."""
    paths = local_paths(cfg)
    if paths:
        key, path = paths[0]
        more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
        raise ConfigError(
            f"{key}: {path!r} is a local path, which the remote runner's workers cannot read{more}: "
            "copy the files to gs:// and name those paths (a dry run only warns)"
        )


def graph_names(result) -> set[str]:
    """The transform names of the job a DataflowRunner translated."""
    return {t.unique_name for t in result.job.proto_pipeline.components.transforms.values()}


def missing_from_graph(cfg: PipelineConfig, names: set[str]) -> list[str]:
    """Configured inputs and stages with no transform of their name in the job graph."""
    wanted = [f"input[{i}]:{inp.kind}:{inp.name}" for i, inp in enumerate(cfg.inputs)]
    wanted += [f"stage:{s.name}" for s in cfg.stages]
    wanted += ["tokenize", "shards:write"]
    return [w for w in wanted if w not in names]


def counter_values(metric_results) -> dict[str, int]:
    """``{counter name: committed value}`` of the ``curate`` counters, summed over the steps
    that report the same name (a Beam ``MetricResults`` query's counters)."""
    values: dict[str, int] = {}
    for c in metric_results:
        if c.key.metric.namespace == NAMESPACE:
            values[c.key.metric.name] = values.get(c.key.metric.name, 0) + int(c.committed or 0)
    return values


def committed_counters(job_metrics) -> dict[str, int]:
    """``{counter name: committed value}`` of the ``curate`` counters in a Dataflow
    ``JobMetrics`` response, summed over steps. (Beam's DataflowMetrics keys results by
    step name, and without the job graph every step is "": counters of one name in two
    steps would overwrite each other there.)"""
    values: dict[str, int] = {}
    for m in job_metrics.metrics:
        context = m.name.context
        if m.name.origin != "user" or context.get("namespace") != NAMESPACE or context.get("tentative") == "true":
            continue
        if m.scalar is not None:
            values[m.name.name] = values.get(m.name.name, 0) + int(m.scalar)
    return values


def finished_job_counters(options, job_id: str) -> dict[str, int]:
    """The committed ``curate`` counters of a finished Dataflow job (``--project``,
    ``--region`` in ``options``); raises RuntimeError if the job did not succeed."""
    from apache_beam.runners.dataflow.internal import apiclient

    client = apiclient.DataflowApplicationClient(options)
    state = client.get_job(job_id).current_state
    state = getattr(state, "name", str(state))
    if state != "JOB_STATE_DONE":
        raise RuntimeError(f"Dataflow job {job_id} is {state}, not done: no manifest until it has succeeded")
    return committed_counters(client.get_job_metrics(job_id))


def run_counters(result, options) -> dict[str, int]:
    """The committed ``curate`` counters of a run that has finished."""
    from apache_beam.metrics.metric import MetricsFilter

    if runner_name(options) == "DataflowRunner":
        return finished_job_counters(options, result.job_id())
    return counter_values(result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"])


def dry_run_report(cfg: PipelineConfig, result, options) -> dict:
    """What a dry run built: the job's transform count, the configured inputs and stages
    missing from it (none, unless the graph lost one), and the local paths the workers
    could not read (an error on a real submission)."""
    names = graph_names(result)
    return {
        "runner": runner_name(options),
        "transforms": len(names),
        "missing": missing_from_graph(cfg, names),
        "local_paths": local_paths(cfg) if runs_remotely(options) else [],
    }


def format_dry_run(report: dict) -> str:
    lines = [
        f"curate: dry run: {report['runner']} built and translated the job graph "
        f"({report['transforms']} transforms); nothing was submitted, no manifest written"
    ]
    if report["missing"]:
        lines.append("  MISSING from the graph: " + ", ".join(report["missing"]))
    else:
        lines.append("  every configured input and stage is in the graph")
    for key, path in report["local_paths"]:
        lines.append(f"  warning: {key}: {path!r} is local: a submitted job's workers cannot read it")
    return "\n".join(lines)


def submitted_report(result, options) -> dict:
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    gc = options.view_as(GoogleCloudOptions)
    job_id = result.job_id() if hasattr(result, "job_id") else None
    return {"runner": runner_name(options), "job_id": job_id, "project": gc.project, "region": gc.region}


def format_submitted(report: dict, config_path: str, out_dir: str) -> str:
    """What to run once the job has finished, to write its manifest."""
    where = " ".join(f"--{k} {report[k]}" for k in ("project", "region") if report.get(k))
    return (
        f"curate: submitted to {report['runner']} as job {report['job_id']} (not waiting for it).\n"
        "  When it has finished, write the manifest from its committed counters with:\n"
        f"  curate manifest {config_path} --output {out_dir} --job_id {report['job_id']} {where}"
    ).rstrip()


def check_succeeded(result) -> None:
    """A job that ended in any state but DONE has no complete output to account for."""
    from apache_beam.runners.runner import PipelineState

    state = result.state
    if state not in (PipelineState.DONE, None):
        raise RuntimeError(f"the pipeline ended in state {state}: no manifest written")
