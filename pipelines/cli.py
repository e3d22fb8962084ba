"""The ``curate`` command.

    curate run CONFIG --output DIR [any Beam pipeline option ...]
    curate run CONFIG --output gs://... --runner DataflowRunner ... [--dry_run=True | --no_wait]
    curate manifest CONFIG --output gs://... --job_id ID --project P --region R
                                      commit the output of a finished job launched with --no_wait
    curate demo [--output DIR]        build the bundled sample WARC and run on it
    curate sample --output FILE       only write the bundled sample WARC
    curate refilter --input OUT --config NEW.yaml --output NEW_OUT
                                      new filter thresholds over stored signals
    curate train-classifier --positives ... --negatives ... --output DIR
                                      train a fastText quality classifier
    curate stats OUT [OUT2 ...]       funnel and statistics of runs, side by side
    curate report OUT [-o FILE]       a self-contained HTML report with plots
    curate inspect OUT_OR_SHARD       print documents (--id --source --reason --grep ...)
    curate verify OUT [--sample N]    check shards against the manifest (exit 1 on a mismatch)
    curate train-tokenizer (--input OUT | --text GLOB ...) --output DIR
                                      train a SentencePiece model on a sample, with its card

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
from typing import NoReturn

DEFAULT_RUNNER = "FnApiRunner"
REPO_CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

# Exit codes: 1 `curate verify` found a mismatch, 2 a configuration or usage error (nothing
# ran), 3 the accounting identity failed (a bug), 4 the run finished but failed its error
# policy (output not committed), 130 interrupted.
EXIT_VERIFY, EXIT_CONFIG, EXIT_ACCOUNTING, EXIT_RUN_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


class RunFailed(Exception):
    """The run finished, but too many of its records failed: its output is not committed."""

    def __init__(self, message: str, manifest: dict):
        super().__init__(message)
        self.manifest = manifest


def _die(msg: str, code: int = EXIT_CONFIG) -> NoReturn:
    print(f"curate: {msg}", file=sys.stderr)
    sys.exit(code)


def _beam_options(extra: list[str]):
    """Beam's options from the arguments ``curate`` does not know; one Beam does not know
    either is an error (Beam itself would only log that it discarded it)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    from curate.config import ConfigError

    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in {str(c): c for c in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(extra)
    flags = [a for a in unknown if a.startswith("-")]
    if flags or unknown:
        raise ConfigError(
            f"unknown option {(flags or unknown)[0]} (neither a curate option nor a Beam pipeline option)"
        )
    if not any(a == "--runner" or a.startswith("--runner=") for a in extra):
        extra = [f"--runner={DEFAULT_RUNNER}", *extra]
    return PipelineOptions(extra)


def error_policy(counts: dict, max_error_rate) -> str | None:
    """Why a finished run counts as failed, or None: no record read, every record an
    error, or more errors than ``output.max_error_rate`` of the input allows."""
    n, errors = counts["input"], counts["errors"]
    if n == 0:
        return "no input records were read (are the input files empty?)"
    if errors == n:
        return f"every input record failed ({errors:,} error{'s' if errors != 1 else ''})"
    if max_error_rate is not None and errors > max_error_rate * n:
        return f"{errors:,} of {n:,} input records failed ({errors / n:.1%}), above output.max_error_rate {max_error_rate:.1%}"
    return None


def run_pipeline(cfg, out_dir: str, beam_args: list[str], overwrite: bool = False, wait: bool = True) -> dict:
    """Run the configured pipeline to ``out_dir``; return the manifest.

    Everything that can fail before the compute does so first (config, Beam options,
    input files, the output location); the run writes into ``OUT/.curate-staging`` and
    replaces the previous output only once it is complete (:mod:`curate.outdir`).

    A Dataflow dry run (``--dry_run=True``) returns ``{"dry_run": ...}`` and reads, writes
    and deletes nothing; a remote job left running (``wait=False``) returns
    ``{"submitted": ...}``: ``curate manifest`` commits it when it has finished."""
    import apache_beam as beam

    from curate import io as cio
    from curate import tokenize as tok
    from curate.inputs import check_input_files
    from curate.outdir import STAGING, OutputDir
    from pipelines import beam_memory, build, launch

    build.check_stages(cfg)  # config errors first, before anything is read or written
    tokenizer_proto = tok.read_model(cfg.tokenizer.model) if cfg.tokenizer.model else None
    options = _beam_options(beam_args)
    if launch.is_dry_run(options):
        p = beam.Pipeline(options=options)
        build.build(p, cfg, cio.join(out_dir, STAGING), tokenizer_proto)
        return {"dry_run": launch.dry_run_report(cfg, p.run(), options)}
    if launch.runs_remotely(options):
        launch.check_remote_paths(cfg)
    else:
        beam_memory.release_output_streams()
    for warning in check_input_files(cfg.inputs):
        print(f"curate: warning: {warning}", file=sys.stderr)
    build.check_stage_files(cfg)
    out = OutputDir.prepare(out_dir, [p for i in cfg.inputs for p in i.paths], overwrite)
    try:
        start = time.time()
        p = beam.Pipeline(options=options)
        build.build(p, cfg, out.staging, tokenizer_proto)
        result = p.run()
        if not wait and launch.runs_remotely(options):
            return {"submitted": launch.submitted_report(result, options)}
        result.wait_until_finish()
        launch.check_succeeded(result)
        info = {"_wall_time_s": time.time() - start, "_runner": options.get_all_options().get("runner")}
        return commit_run(cfg, out, launch.run_counters(result, options), tokenizer_proto, info)
    finally:
        out.release()


def commit_run(cfg, out, counter_values: dict, tokenizer_proto, info: dict) -> dict:
    """The manifest of a finished run from its counters; the staged output is committed
    unless the run fails its error policy (:class:`RunFailed`)."""
    from curate import manifest
    from pipelines import stats

    m = manifest.build_manifest(cfg, out.staging, counter_values, tokenizer_proto, cfg.tokenizer.model)
    if cfg.output.stats:
        stats.finish(out.staging, cfg, m)
    m.update(info)
    failure = error_policy(m["counts"], cfg.output.max_error_rate)
    if failure is not None:
        raise RunFailed(failure, m)
    out.commit({k: v for k, v in m.items() if not k.startswith("_")})
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
    lines.append(
        f"  errors       {c['errors']:>10,}" + (f"   (see {os.path.join(out_dir, 'errors')})" if c["errors"] else "")
    )
    if len(c["by_source"]) > 1:
        lines.append("  by source (in / kept / dropped / errors):")
        for src, s in c["by_source"].items():
            lines.append(
                f"    {src:<20} {s['input']:>8,} {s['kept']:>8,} {sum(s['dropped'].values()):>8,} {s['errors']:>6,}"
            )
    if c.get("stats"):
        lines.append("  stage statistics (not documents):")
        for key, n in c["stats"].items():
            lines.append(f"    {key:<40} {n:>8,}")
    if m.get("decontamination"):
        from curate.decontam import summary_lines

        lines.append(f"  decontamination (per eval set; {os.path.join(out_dir, m['decontamination']['report'])}):")
        lines.extend(f"    {line}" for line in summary_lines(m["decontamination"]))
    if c.get("by_language"):
        langs = sorted(c["by_language"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("  languages    " + ", ".join(f"{lang} {n:,}" for lang, n in langs))
    t = m["totals"]
    lines.append(
        f"  tokens       {t['tokens']:>10,} in {t['shards']} shards ({t['bytes']:,} bytes) -> {os.path.join(out_dir, 'shards')}"
    )
    if "mixture" in m:
        lines.append("  mixture      token share by source, target / achieved (weight):")
        for src, x in m["mixture"]["by_source"].items():
            lines.append(
                f"    {src:<20} {x['target_share']:>7.1%} / {x['share']:>6.1%}   (x{x['weight']:g}, {x['tokens_in']:,} -> {x['tokens']:,} tokens)"
            )
    if "validation_totals" in m:
        v = m["validation_totals"]
        lines.append(
            f"  validation   {v['tokens']:>10,} in {v['shards']} shards ({v['rows']:,} documents) -> {os.path.join(out_dir, 'validation')}"
        )
    dtype = f", ids stored as {m['token_dtype']}" if "token_dtype" in m else ""
    lines.append(f"  tokenizer    {m['tokenizer']['path']} ({m['tokenizer']['vocab_size']:,} pieces{dtype})")
    asked = m["tokenizer"].get("vocab_size_asked")
    if asked and asked > m["tokenizer"]["vocab_size"]:
        lines.append(
            f"               {asked:,} pieces were asked: the kept text is too small a sample for more "
            f"(`curate train-tokenizer --input {out_dir} --vocab-size {asked}` writes a card saying why)"
        )
    lines.append("  accounting   input == kept + dropped + errors: " + ("OK" if m["balanced"] else "MISMATCH"))
    return "\n".join(lines)


def _runner_arg(beam_args: list[str]) -> str:
    """The runner named in the arguments, read without Beam's parser (a bad option is
    reported by the run)."""
    runner = DEFAULT_RUNNER
    for i, arg in enumerate(beam_args):
        if arg.startswith("--runner="):
            runner = arg.split("=", 1)[1]
        elif arg == "--runner" and i + 1 < len(beam_args):
            runner = beam_args[i + 1]
    return runner


# Modules ``import apache_beam`` loads only to offer remote services, each import guarded
# by Beam (skipped when it fails), with the logger that reports the skip.
_LOCAL_RUN_SKIPS = {
    "apache_beam.io.gcp": "apache_beam.io.filesystems",  # BigQuery, Pub/Sub, GCS clients
    "google.cloud.dataflow": None,  # the Dataflow API client (the runner module imports it)
    "bson": "apache_beam.io.mongodbio",  # MongoDB IO: bson, then pymongo
    "pymongo": "apache_beam.io.mongodbio",
}


def _import_beam_for_local_run(cfg, out_dir: str, beam_args: list[str]) -> None:
    """Import Beam without the clients of remote services when this process runs the
    pipeline itself on local files only (an in-process runner, no ``scheme://`` path in
    the config or the output). With ``apache-beam[gcp]`` installed (the ``dataflow``
    extra), ``import apache_beam`` loads the BigQuery, Pub/Sub, GCS and Dataflow clients
    and MongoDB IO whether the run uses them or not: ~670 modules and 44 MB of RSS (the
    import alone: 172 vs 128 MB with numpy and pyarrow), in a process whose peak memory
    is the issue (``bench/bench_memory.py --minhash``, docs/scale.md). Beam guards these
    imports and goes on without them, so they are made to fail for the length of the
    import only (their "could not import" warnings silenced); a later import of one of
    them loads it as usual."""
    import importlib.abc

    from curate import io as cio
    from pipelines import launch

    if "apache_beam" in sys.modules or _runner_arg(beam_args) not in launch.LOCAL_RUNNERS:
        return
    paths = [out_dir, cfg.tokenizer.model or ""] + [p for _, p in launch.worker_paths(cfg)]
    if any(cio.is_remote(p) for p in paths):
        return

    class _Skip(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if any(name == m or name.startswith(m + ".") for m in _LOCAL_RUN_SKIPS):
                raise ImportError(f"{name}: not loaded for a local run")
            return None

    finder = _Skip()
    loggers = {logging.getLogger(n) for n in _LOCAL_RUN_SKIPS.values() if n}
    levels = {log: log.level for log in loggers}
    sys.meta_path.insert(0, finder)
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        import apache_beam  # noqa: F401
    finally:
        sys.meta_path.remove(finder)
        for log, level in levels.items():
            log.setLevel(level)


def _progress_env(beam_args: list[str], quiet: bool) -> None:
    """Progress lines (pipelines/progress.py) for in-process runners unless --quiet;
    worker processes inherit the variable."""
    from pipelines import progress
    from pipelines.dedup import IN_PROCESS_RUNNERS

    runner = _runner_arg(beam_args)
    if not quiet and runner in IN_PROCESS_RUNNERS:
        os.environ[progress.ENV] = "10"
    else:
        os.environ.pop(progress.ENV, None)


def cmd_run(args, beam_args, own_process: bool = False) -> int:
    """``curate run``; ``own_process``: the command is the process (not a call from
    other Python code, such as a test, that may want Beam's GCP modules later)."""
    from curate import config

    try:
        cfg = config.load(args.config)
    except config.ConfigError as e:
        _die(f"config error: {e}")
    out_dir = args.output or cfg.output.path
    if not out_dir:
        _die("no output directory: pass --output DIR or set output.path in the config")
    if own_process:
        _import_beam_for_local_run(cfg, out_dir, beam_args)
    _progress_env(beam_args, args.quiet)
    return _run_and_report(cfg, out_dir, beam_args, args.overwrite, wait=not args.no_wait, config_path=args.config)


def _run_and_report(cfg, out_dir, beam_args, overwrite: bool, wait: bool = True, config_path: str = "CONFIG") -> int:
    from pipelines import launch

    m = _reporting_errors(out_dir, run_pipeline, cfg, out_dir, beam_args, overwrite, wait)
    if "dry_run" in m:
        print(launch.format_dry_run(m["dry_run"]))
        return EXIT_ACCOUNTING if m["dry_run"]["missing"] else 0
    if "submitted" in m:
        print(launch.format_submitted(m["submitted"], config_path, out_dir))
        return 0
    return _report(m, out_dir)


def _reporting_errors(out_dir: str, fn, *args):
    """``fn(*args)``, with a configuration, output or tokenizer error or a failed run
    reported as one line and its exit code."""
    from curate.config import ConfigError
    from curate.outdir import STAGING, OutputError
    from curate.tokenize import TokenizerError

    try:
        return fn(*args)
    except ConfigError as e:
        _die(f"config error: {e}")
    except (OutputError, TokenizerError) as e:
        _die(str(e))
    except RunFailed as e:
        print(format_summary(e.manifest, os.path.join(out_dir, STAGING)))
        _die(
            f"run failed: {e}; the previous output in {out_dir} is unchanged, this run's files are in "
            f"{os.path.join(out_dir, STAGING)}",
            EXIT_RUN_FAILED,
        )


def _report(m: dict, out_dir: str) -> int:
    print(format_summary(m, out_dir))
    if not m["balanced"]:
        print("curate: the accounting identity does not hold: this is a bug, please report it", file=sys.stderr)
        return EXIT_ACCOUNTING
    return 0


def cmd_manifest(args, beam_args) -> int:
    """Commit the output of a Dataflow job launched with ``--no_wait`` once it has
    finished: its manifest from the job's committed counters."""
    from curate import config
    from curate import tokenize as tok
    from curate.outdir import OutputDir
    from pipelines import launch

    try:
        cfg = config.load(args.config, check_paths=False)
    except config.ConfigError as e:
        _die(f"config error: {e}")

    def finish():
        tokenizer_proto = tok.read_model(cfg.tokenizer.model) if cfg.tokenizer.model else None
        options = _beam_options(["--runner=DataflowRunner", *beam_args])
        try:
            values = launch.finished_job_counters(options, args.job_id)
        except RuntimeError as e:
            _die(str(e), EXIT_RUN_FAILED)
        out = OutputDir.staged(args.output)
        try:
            return commit_run(cfg, out, values, tokenizer_proto, {"_runner": f"DataflowRunner job {args.job_id}"})
        finally:
            out.release()

    return _report(_reporting_errors(args.output, finish), args.output)


def cmd_sample(args) -> int:
    from curate.demo import sample

    n = sample.write_sample_warc(args.output)
    print(f"curate: wrote {n} WARC records to {args.output}")
    return 0


def cmd_demo(args, beam_args) -> int:
    from curate import config
    from curate.demo import sample

    warc_path = os.path.join(args.output, "input", "sample.warc.gz")
    out_dir = os.path.join(args.output, "output")
    n = sample.write_sample_warc(warc_path)
    print(f"curate: bundled sample: {n} WARC records -> {warc_path}")
    raw = config.load(os.path.join(REPO_CONFIGS, "sample.yaml"), check_paths=False).raw
    raw["inputs"][0]["paths"] = [warc_path]
    try:
        cfg = config.parse(raw)
    except config.ConfigError as e:
        _die(f"config error: {e}")
    # The demo's output folder is its own (never the user's): a rerun replaces it.
    _progress_env(beam_args, args.quiet)
    return _run_and_report(cfg, out_dir, beam_args, overwrite=True)


def cmd_refilter(args) -> int:
    from curate.config import ConfigError, read_yaml
    from curate.outdir import OutputError
    from curate.refilter import RefilterError, refilter

    start = time.time()
    try:
        m = refilter(args.input, read_yaml(args.config), args.output, args.overwrite)
    except ConfigError as e:
        _die(f"config error: {e}")
    except (RefilterError, OutputError) as e:
        _die(str(e))
    m["_wall_time_s"] = time.time() - start
    m["_runner"] = "refilter (no Beam)"
    print(format_summary(m, args.output))
    return 0 if m["balanced"] else EXIT_ACCOUNTING


def cmd_verify(args) -> int:
    from curate.verify import verify

    def report(check):
        status = "FAIL" if check.problems else "ok"
        print(f"{status:<4} {check.path}: {check.rows:,} rows, {check.tokens:,} tokens, {check.decoded} decoded")
        for problem in check.problems:
            print(f"  {problem}")

    checks, general = verify(args.output_dir, args.sample, args.tokenizer, report)
    for problem in general:
        print(f"FAIL {problem}")
    failed = [c.path for c in checks if c.problems]
    if failed or general:
        print(
            f"curate verify: {len(failed)} of {len(checks)} shards failed"
            + (f": {', '.join(failed)}" if failed else ""),
            file=sys.stderr,
        )
        return EXIT_VERIFY
    print(f"curate verify: {len(checks)} shards match the manifest")
    return 0


def cmd_train_tokenizer(args) -> int:
    from curate import io as cio
    from curate import tokenizer_train as tt
    from curate.tokenize import TokenizerError

    if bool(args.input) == bool(args.text):
        _die("train-tokenizer: give either --input OUT (an output's shards) or --text GLOB ...")
    if args.vocab_size < 16 or args.sample_docs < 1:
        _die("train-tokenizer: --vocab-size must be >= 16 and --sample-docs >= 1")
    written = [cio.join(args.output, f) for f in (tt.MODEL_FILE, tt.CARD_FILE, tt.CARD_MD)]
    if not args.overwrite and any(cio.exists(p) for p in written):
        _die(f"train-tokenizer: {args.output} already holds a tokenizer; pass --overwrite to replace it")
    if args.input:
        documents, source = tt.output_documents(args.input), {"kind": "output", "path": args.input}
    else:
        documents, source = tt.file_documents(args.text), {"kind": "text files", "path": " ".join(args.text)}
    opts = tt.TrainOptions(
        vocab_size=args.vocab_size,
        model_type=args.model_type,
        sample_docs=args.sample_docs,
        byte_fallback=not args.no_byte_fallback,
        special_tokens=tuple(args.special_tokens),
    )
    try:
        card = tt.train_tokenizer(documents, source, opts, args.output)
    except (TokenizerError, OSError, KeyError) as e:
        _die(f"train-tokenizer: {e}")
    v, s = card["vocabulary"], card["sample"]
    print(
        f"curate: wrote {cio.join(args.output, tt.MODEL_FILE)}: {v['got']:,} pieces ({v['asked']:,} asked), "
        f"trained on {s['documents_used']:,} of {s['documents_seen']:,} documents; card in {cio.join(args.output, tt.CARD_MD)}"
    )
    if v["why_smaller"]:
        print(f"curate: note: {v['why_smaller']}")
    return 0


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
    p_run.add_argument("--overwrite", action="store_true", help="replace a complete earlier output in --output")
    p_run.add_argument(
        "--no_wait",
        action="store_true",
        help="submit a remote (Dataflow) job and return; `curate manifest` commits its output when it has finished",
    )
    p_manifest = sub.add_parser("manifest", help="commit the output of a finished Dataflow job launched with --no_wait")
    p_manifest.add_argument("config")
    p_manifest.add_argument("--output", "-o", required=True, help="the job's output directory (gs://)")
    p_manifest.add_argument("--job_id", required=True)
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
    p_refilter.add_argument("--overwrite", action="store_true", help="replace a complete earlier output in --output")
    p_verify = sub.add_parser("verify", help="check an output's shards against its manifest")
    p_verify.add_argument("output_dir", metavar="OUT")
    p_verify.add_argument(
        "--sample", type=int, default=50, help="rows per shard to decode and compare with their text (0: none)"
    )
    p_verify.add_argument("--tokenizer", help="the tokenizer model, when the manifest's path does not reach it")
    p_tt = sub.add_parser("train-tokenizer", help="train a SentencePiece tokenizer on an output or text files")
    p_tt.add_argument("--input", "-i", help="an output directory: its shards' text")
    p_tt.add_argument("--text", nargs="+", help="text files (globs), one document each")
    p_tt.add_argument("--output", "-o", required=True, help="folder for spm.model and tokenizer_card.{json,md}")
    p_tt.add_argument("--vocab-size", type=int, default=8000)
    p_tt.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram")
    p_tt.add_argument("--sample-docs", type=int, default=20000, help="documents in the sample (smallest id hashes)")
    p_tt.add_argument(
        "--no-byte-fallback", action="store_true", help="unknown characters become <unk> instead of bytes"
    )
    p_tt.add_argument("--special-tokens", nargs="*", default=[], help="pieces never split, e.g. '<|im_start|>'")
    p_tt.add_argument("--overwrite", action="store_true", help="replace a tokenizer already in --output")
    p_train = sub.add_parser("train-classifier", help="train a fastText quality classifier and its model card")
    from classifiers import cli as classifier_cli
    from pipelines import stats_cli

    classifier_cli.add_arguments(p_train)
    stats_cli.add_commands(sub)
    args, rest = parser.parse_known_args(argv)
    if (
        args.command in ("sample", "refilter", "train-classifier", "verify", "train-tokenizer", *stats_cli.COMMANDS)
        and rest
    ):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _quiet_logging()
    try:
        if args.command == "run":
            return cmd_run(args, rest, own_process=argv is None)
        if args.command == "demo":
            return cmd_demo(args, rest)
        if args.command == "manifest":
            return cmd_manifest(args, rest)
        if args.command == "refilter":
            return cmd_refilter(args)
        if args.command == "train-classifier":
            return classifier_cli.run(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "train-tokenizer":
            return cmd_train_tokenizer(args)
        if args.command in stats_cli.COMMANDS:
            return stats_cli.run(args)
        return cmd_sample(args)
    except KeyboardInterrupt:
        print("curate: interrupted; an earlier complete output is left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
