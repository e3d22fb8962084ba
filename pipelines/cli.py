"""The ``curate`` command.

    curate run CONFIG --output DIR [any Beam pipeline option ...]
    curate demo [--output DIR]        build the bundled sample WARC and run on it
    curate sample --output FILE       only write the bundled sample WARC
    curate refilter --input OUT --config NEW.yaml --output NEW_OUT
                                      new filter thresholds over stored signals
    curate train-classifier --positives ... --negatives ... --output DIR
                                      train a fastText quality classifier
    curate stats OUT [OUT2 ...]       funnel and statistics of runs, side by side
    curate report OUT [-o FILE]       a self-contained HTML report with plots
    curate inspect OUT_OR_SHARD       print documents (--id --source --reason --grep ...)

Beam options pass straight through (``--runner DataflowRunner --project ...``,
``--direct_num_workers 2``); without ``--runner`` the local FnApiRunner is used
(the DirectRunner would try to download the Prism runner first).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

DEFAULT_RUNNER = "FnApiRunner"
REPO_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

# What a run owns in its output directory; cleared at the start of a run so a
# rerun with fewer shards leaves no stale files behind.
OWNED_OUTPUTS = (
    "shards", "rejected", "errors", "tokenizer", "manifest.json", "_shard_index.json", "stats.json", "samples", "_stats.json",
)


def _die(msg: str, code: int = 2):
    print(f"curate: {msg}", file=sys.stderr)
    sys.exit(code)


def _beam_options(extra: list[str]):
    from apache_beam.options.pipeline_options import PipelineOptions

    if not any(a == "--runner" or a.startswith("--runner=") for a in extra):
        extra = [f"--runner={DEFAULT_RUNNER}", *extra]
    return PipelineOptions(extra)


def run_pipeline(cfg, out_dir: str, beam_args: list[str]) -> dict:
    """Run the configured pipeline to ``out_dir``; return the manifest."""
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    from curate import io as cio
    from curate import tokenize as tok
    from pipelines import build, manifest, stats
    from pipelines.counters import NAMESPACE

    build.check_stages(cfg)  # before anything is deleted or read: config errors first
    tokenizer_proto = tok.read_model(cfg.tokenizer.model) if cfg.tokenizer.model else None
    for name in OWNED_OUTPUTS:
        cio.remove_tree(cio.join(out_dir, name))
    options = _beam_options(beam_args)
    start = time.time()
    p = beam.Pipeline(options=options)
    build.build(p, cfg, out_dir, tokenizer_proto)
    result = p.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    values: dict[str, int] = {}
    for c in counters:
        values[c.key.metric.name] = values.get(c.key.metric.name, 0) + int(c.committed or 0)
    m = manifest.build_manifest(cfg, out_dir, values, tokenizer_proto, cfg.tokenizer.model)
    if cfg.output.stats:
        stats.finish(out_dir, cfg, m)
    manifest.write_manifest(out_dir, m)
    cio.remove_tree(cio.join(out_dir, "_shard_index.json"))
    m["_wall_time_s"] = time.time() - start
    m["_runner"] = options.get_all_options().get("runner")
    return m


def format_summary(m: dict, out_dir: str) -> str:
    c = m["counts"]
    dropped = sum(c["dropped"].values())
    lines = [
        f"curate: finished in {m.get('_wall_time_s', 0):.1f} s on {m.get('_runner')}",
        f"  records in   {c['input']:>10,}",
        f"  kept         {c['kept']:>10,}",
        f"  dropped      {dropped:>10,}",
    ]
    for key, n in sorted(c["dropped"].items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {key:<40} {n:>8,}")
    lines.append(f"  errors       {c['errors']:>10,}" + (f"   (see {os.path.join(out_dir, 'errors')})" if c["errors"] else ""))
    if len(c["by_source"]) > 1:
        lines.append("  by source (in / kept / dropped / errors):")
        for src, s in c["by_source"].items():
            lines.append(f"    {src:<20} {s['input']:>8,} {s['kept']:>8,} {sum(s['dropped'].values()):>8,} {s['errors']:>6,}")
    if c.get("stats"):
        lines.append("  stage statistics (not documents):")
        for key, n in c["stats"].items():
            lines.append(f"    {key:<40} {n:>8,}")
    if c.get("by_language"):
        langs = sorted(c["by_language"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("  languages    " + ", ".join(f"{lang} {n:,}" for lang, n in langs))
    t = m["totals"]
    lines.append(f"  tokens       {t['tokens']:>10,} in {t['shards']} shards ({t['bytes']:,} bytes) -> {os.path.join(out_dir, 'shards')}")
    lines.append(f"  tokenizer    {m['tokenizer']['path']} ({m['tokenizer']['vocab_size']:,} pieces)")
    lines.append(
        "  accounting   input == kept + dropped + errors: " + ("OK" if m["balanced"] else "MISMATCH")
    )
    return "\n".join(lines)


def _progress_env(beam_args: list[str], quiet: bool) -> None:
    """Progress lines (pipelines/progress.py) for in-process runners unless --quiet;
    worker processes inherit the variable."""
    from pipelines import progress
    from pipelines.dedup import IN_PROCESS_RUNNERS

    runner = _beam_options(beam_args).get_all_options().get("runner")
    if not quiet and runner in IN_PROCESS_RUNNERS:
        os.environ[progress.ENV] = "10"
    else:
        os.environ.pop(progress.ENV, None)


def cmd_run(args, beam_args) -> int:
    from curate import config

    try:
        cfg = config.load(args.config)
    except config.ConfigError as e:
        _die(f"config error: {e}")
    out_dir = args.output or cfg.output.path
    if not out_dir:
        _die("no output directory: pass --output DIR or set output.path in the config")
    _progress_env(beam_args, args.quiet)
    return _run_and_report(cfg, out_dir, beam_args)


def _run_and_report(cfg, out_dir, beam_args) -> int:
    from curate.config import ConfigError
    from curate.tokenize import TokenizerError

    try:
        m = run_pipeline(cfg, out_dir, beam_args)
    except (ConfigError, TokenizerError) as e:
        _die(str(e))
    print(format_summary(m, out_dir))
    if not m["balanced"]:
        print("curate: the accounting identity does not hold: this is a bug, please report it", file=sys.stderr)
        return 3
    return 0


def cmd_sample(args) -> int:
    from curate import sample

    n = sample.write_sample_warc(args.output)
    print(f"curate: wrote {n} WARC records to {args.output}")
    return 0


def cmd_demo(args, beam_args) -> int:
    from curate import config, sample

    out_dir = args.output
    warc_path = os.path.join(out_dir, "input", "sample.warc.gz")
    n = sample.write_sample_warc(warc_path)
    print(f"curate: bundled sample: {n} WARC records -> {warc_path}")
    raw = config.load(os.path.join(REPO_CONFIGS, "sample.yaml"), check_paths=False).raw
    raw["inputs"][0]["paths"] = [warc_path]
    try:
        cfg = config.parse(raw)
    except config.ConfigError as e:
        _die(f"config error: {e}")
    _progress_env(beam_args, args.quiet)
    return _run_and_report(cfg, out_dir, beam_args)


def cmd_refilter(args) -> int:
    import yaml

    from curate.config import ConfigError
    from curate.refilter import RefilterError
    from pipelines.refilter import refilter

    try:
        with open(args.config, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError:
        _die(f"config error: config file not found: {args.config}")
    except yaml.YAMLError as e:
        _die(f"config error: {args.config}: invalid YAML: {str(e).splitlines()[0]}")
    start = time.time()
    try:
        m = refilter(args.input, raw, args.output)
    except ConfigError as e:
        _die(f"config error: {e}")
    except RefilterError as e:
        _die(str(e))
    m["_wall_time_s"] = time.time() - start
    m["_runner"] = "refilter (no Beam)"
    print(format_summary(m, args.output))
    return 0 if m["balanced"] else 3


class _DropKnownNoise(logging.Filter):
    # Beam without [gcp] warns about apitools on import; it is not a problem here.
    def filter(self, record):
        return "apitools not found" not in record.getMessage()


def _quiet_logging() -> None:
    logging.basicConfig(level=logging.WARNING, force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropKnownNoise())
    # trafilatura logs a warning per page it discards; the drop is counted instead.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="curate", description="Pretraining data curation on Apache Beam.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a pipeline config (unknown options go to Beam)")
    p_run.add_argument("config")
    p_run.add_argument("--output", "-o", help="output directory (local or gs://)")
    p_demo = sub.add_parser("demo", help="build the bundled sample WARC and run the sample config on it")
    p_demo.add_argument("--output", "-o", default="out/demo")
    for p in (p_run, p_demo):
        p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    p_sample = sub.add_parser("sample", help="write the bundled sample WARC")
    p_sample.add_argument("--output", "-o", required=True)
    p_refilter = sub.add_parser("refilter", help="re-apply new filter thresholds to a run's stored signals")
    p_refilter.add_argument("--input", "-i", required=True, help="output directory of an earlier run")
    p_refilter.add_argument("--config", "-c", required=True, help="YAML with the new stages: (a run config works)")
    p_refilter.add_argument("--output", "-o", required=True, help="new output directory")
    p_train = sub.add_parser("train-classifier", help="train a fastText quality classifier and its model card")
    from classifiers import cli as classifier_cli
    from pipelines import stats_cli

    classifier_cli.add_arguments(p_train)
    stats_cli.add_commands(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command in ("sample", "refilter", "train-classifier", *stats_cli.COMMANDS) and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _quiet_logging()
    if args.command == "run":
        return cmd_run(args, rest)
    if args.command == "demo":
        return cmd_demo(args, rest)
    if args.command == "refilter":
        return cmd_refilter(args)
    if args.command == "train-classifier":
        return classifier_cli.run(args)
    if args.command in stats_cli.COMMANDS:
        return stats_cli.run(args)
    return cmd_sample(args)


if __name__ == "__main__":
    sys.exit(main())
