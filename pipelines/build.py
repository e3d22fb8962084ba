"""Builds the Beam pipeline from a validated config: inputs -> stages in config order
-> tokenization -> shards, with every stage's drops and errors collected."""

from __future__ import annotations

import apache_beam as beam

from curate.config import ConfigError, PipelineConfig
from curate.spill import work_dir
from curate.tokenize import id_dtype
from pipelines import output, spill
from pipelines.apply import apply_stage
from pipelines.readers import read_input
from pipelines.stats import add_stats

# Input kinds whose documents hold HTML until the ``extract`` stage runs.
HTML_KINDS = {"warc", "arc"}


def check_stages(cfg: PipelineConfig) -> None:
    """Checks that need the whole config (each part was validated on its own)."""
    bases = [s.base for s in cfg.stages]
    if any(i.kind in HTML_KINDS for i in cfg.inputs) and "extract" not in bases:
        raise ConfigError("stages: inputs of kind warc/arc need the 'extract' stage")
    sources = {i.name for i in cfg.inputs if i.name}  # every input is named once parsed
    for s in cfg.stages:
        unknown = [src for src in (s.applies_to or []) if src not in sources]
        if unknown:
            raise ConfigError(
                f"stages.{s.name}.applies_to: no input has source {unknown[0]!r} (inputs: {', '.join(sorted(sources))})"
            )
        if s.base == "token_dedup" and s.params.model is None:
            # Token spans are found with the run's own tokenizer unless told otherwise.
            if cfg.tokenizer.model is None:
                raise ConfigError(
                    f"stages.{s.name}.model: required when the tokenizer is trained in the run "
                    "(the trained model does not exist yet when token_dedup runs)"
                )
            s.params.model = cfg.tokenizer.model
    unknown = [src for src in cfg.output.mixture if src not in sources]
    if unknown:
        raise ConfigError(
            f"output.mixture.{unknown[0]}: no input has this source (inputs: {', '.join(sorted(sources))})"
        )


def check_stage_files(cfg: PipelineConfig) -> None:
    """Read the stages' own input files (a decontaminate stage's eval sets) before the run,
    so a bad one is a config error naming its line, not a failed job. A stage's config
    declares it with a ``check_files(key)`` method. (Not in a dry run: it reads nothing.)"""
    for s in cfg.stages:
        check_files = getattr(s.params, "check_files", None)
        if check_files is not None:
            check_files(f"stages.{s.name}")


def _flatten(pcolls, label):
    return tuple(pcolls) | label >> beam.Flatten()


def build(p: beam.Pipeline, cfg: PipelineConfig, out_dir: str, tokenizer_proto) -> None:
    """Add the pipeline's steps to ``p``; ``cfg`` must have passed :func:`check_stages`."""
    reads = [read_input(p, i, inp, work_dir(out_dir, "input", str(i))) for i, inp in enumerate(cfg.inputs)]
    # through work files: a Flatten of documents would hold them all on a local runner
    docs = spill.join([r.kept for r in reads], work_dir(out_dir, "inputs"), "inputs:docs")
    rejected = [r.rejected for r in reads]
    errors = [r.errors for r in reads]
    files = []
    for stage in cfg.stages:
        res = apply_stage(docs, stage.name, stage.params, stage.applies_to, work_dir(out_dir, "stage", stage.name))
        docs = res.kept
        rejected.append(res.rejected)
        errors.append(res.errors)
        if res.files is not None:
            files.append(res.files)
    if files:
        output.write_stage_files(_flatten(files, "all:stage_files"), out_dir)
    tok = output.tokenize(docs, cfg.tokenizer, tokenizer_proto, out_dir, cfg.output.mixture)
    rejected.append(tok.rejected)
    errors.append(tok.errors)
    # Drops and errors stay one PCollection per stage: the writers and the statistics take
    # each where it is produced (Beam's local runner holds a flatten of several whole).
    output.write_outputs(tok.kept, rejected, errors, out_dir, cfg.output, id_dtype(cfg.tokenizer, tokenizer_proto))
    if cfg.output.stats:
        add_stats([tok.kept], rejected, errors, out_dir)
