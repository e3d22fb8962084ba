"""The ``curate`` command.

    curate run CONFIG --output DIR [any Beam pipeline option ...]
    curate run CONFIG --output gs://... --runner DataflowRunner ... [--dry_run=True | --no_wait]
    curate manifest CONFIG --output gs://... --job_id ID --project P --region R
                                      the manifest of a finished job launched with --no_wait
    curate demo [--output DIR]        build the bundled sample WARC and run on it
    curate sample --output FILE       only write the bundled sample WARC
    curate refilter --input OUT --config NEW.yaml --output NEW_OUT
                                      new filter thresholds over stored signals
    curate train-classifier --positives ... --negatives ... --output DIR
                                      train a fastText quality classifier

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
OWNED_OUTPUTS = ("shards", "rejected", "errors", "tokenizer", "manifest.json", "_shard_index.json")


def _die(msg: str, code: int = 2):
    print(f"curate: {msg}", file=sys.stderr)
    sys.exit(code)


def _beam_options(extra: list[str]):
    from apache_beam.options.pipeline_options import PipelineOptions

    if not any(a == "--runner" or a.startswith("--runner=") for a in extra):
        extra = [f"--runner={DEFAULT_RUNNER}", *extra]
    return PipelineOptions(extra)


def run_pipeline(cfg, out_dir: str, beam_args: list[str], wait: bool = True) -> dict:
    """Run the configured pipeline to ``out_dir``; return the manifest. A dry run
    (``--dry_run=True``) returns ``{"dry_run": ...}`` and a job left running
    (``wait=False``) ``{"submitted": ...}`` instead: neither has counts yet."""
    import apache_beam as beam
    from curate import io as cio
    from curate import tokenize as tok
    from pipelines import build, launch

    build.check_stages(cfg)  # before anything is deleted or read: config errors first
    options = _beam_options(beam_args)
    dry_run = launch.is_dry_run(options)
    if launch.runs_remotely(options) and not dry_run:
        launch.check_remote_paths(cfg)
    tokenizer_proto = tok.read_model(cfg.tokenizer.model) if cfg.tokenizer.model else None
    if not dry_run:  # a dry run writes nothing, and deletes nothing
        for name in OWNED_OUTPUTS:
            cio.remove_tree(cio.join(out_dir, name))
    start = time.time()
    p = beam.Pipeline(options=options)
    build.build(p, cfg, out_dir, tokenizer_proto)
    result = p.run()
    if dry_run:
        return {"dry_run": launch.dry_run_report(cfg, result, options)}
    if not wait and launch.runs_remotely(options):
        return {"submitted": launch.submitted_report(result, options)}
    result.wait_until_finish()
    launch.check_succeeded(result)
    values = launch.run_counters(result, options)
    m = _write_manifest(cfg, out_dir, values, tokenizer_proto)
    m["_wall_time_s"] = time.time() - start
    m["_runner"] = options.get_all_options().get("runner")
    return m


def _write_manifest(cfg, out_dir: str, counter_values: dict, tokenizer_proto) -> dict:
    from curate import io as cio
    from pipelines import manifest

    m = manifest.build_manifest(cfg, out_dir, counter_values, tokenizer_proto, cfg.tokenizer.model)
    manifest.write_manifest(out_dir, m)
    cio.remove_tree(cio.join(out_dir, manifest.SHARD_INDEX_FILE))
    return m


def cmd_manifest(args, beam_args) -> int:
    """The manifest of a finished Dataflow job launched with ``--no_wait``."""
    from curate import config
    from curate import tokenize as tok
    from pipelines import launch

    try:
        cfg = config.load(args.config, check_paths=False)
        tokenizer_proto = tok.read_model(cfg.tokenizer.model) if cfg.tokenizer.model else None
    except (config.ConfigError, tok.TokenizerError) as e:
        _die(f"config error: {e}")
    options = _beam_options(["--runner=DataflowRunner", *beam_args])
    try:
        values = launch.finished_job_counters(options, args.job_id)
    except RuntimeError as e:
        _die(str(e), 1)
    m = _write_manifest(cfg, args.output, values, tokenizer_proto)
    m["_runner"] = f"DataflowRunner job {args.job_id}"
    return _report(m, args.output)


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


def cmd_run(args, beam_args) -> int:
    from curate import config

    try:
        cfg = config.load(args.config)
    except config.ConfigError as e:
        _die(f"config error: {e}")
    out_dir = args.output or cfg.output.path
    if not out_dir:
        _die("no output directory: pass --output DIR or set output.path in the config")
    return _run_and_report(cfg, out_dir, beam_args, wait=not args.no_wait, config_path=args.config)


def _run_and_report(cfg, out_dir, beam_args, wait: bool = True, config_path: str = "CONFIG") -> int:
    from curate.config import ConfigError
    from curate.tokenize import TokenizerError
    from pipelines import launch

    try:
        m = run_pipeline(cfg, out_dir, beam_args, wait=wait)
    except (ConfigError, TokenizerError) as e:
        _die(str(e))
    if "dry_run" in m:
        print(launch.format_dry_run(m["dry_run"]))
        return 3 if m["dry_run"]["missing"] else 0
    if "submitted" in m:
        print(launch.format_submitted(m["submitted"], config_path, out_dir))
        return 0
    return _report(m, out_dir)


def _report(m: dict, out_dir: str) -> int:
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
    p_run.add_argument(
        "--no_wait", action="store_true",
        help="submit a remote (Dataflow) job and return; `curate manifest` writes its manifest when it has finished",
    )
    p_manifest = sub.add_parser("manifest", help="write the manifest of a finished Dataflow job launched with --no_wait")
    p_manifest.add_argument("config")
    p_manifest.add_argument("--output", "-o", required=True, help="the job's output directory (gs://)")
    p_manifest.add_argument("--job_id", required=True)
    p_demo = sub.add_parser("demo", help="build the bundled sample WARC and run the sample config on it")
    p_demo.add_argument("--output", "-o", default="out/demo")
    p_sample = sub.add_parser("sample", help="write the bundled sample WARC")
    p_sample.add_argument("--output", "-o", required=True)
    p_refilter = sub.add_parser("refilter", help="re-apply new filter thresholds to a run's stored signals")
    p_refilter.add_argument("--input", "-i", required=True, help="output directory of an earlier run")
    p_refilter.add_argument("--config", "-c", required=True, help="YAML with the new stages: (a run config works)")
    p_refilter.add_argument("--output", "-o", required=True, help="new output directory")
    p_train = sub.add_parser("train-classifier", help="train a fastText quality classifier and its model card")
    from classifiers import cli as classifier_cli

    classifier_cli.add_arguments(p_train)
    args, rest = parser.parse_known_args(argv)
    if args.command in ("sample", "refilter", "train-classifier") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _quiet_logging()
    if args.command == "run":
        return cmd_run(args, rest)
    if args.command == "demo":
        return cmd_demo(args, rest)
    if args.command == "manifest":
        return cmd_manifest(args, rest)
    if args.command == "refilter":
        return cmd_refilter(args)
    if args.command == "train-classifier":
        return classifier_cli.run(args)
    return cmd_sample(args)


if __name__ == "__main__":
    sys.exit(main())
