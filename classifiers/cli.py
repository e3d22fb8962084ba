"""``curate train-classifier``: argument definitions and the command.

``pipelines/cli.py`` adds the subcommand with :func:`add_arguments` and runs
:func:`run`; ``python -m classifiers`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from classifiers.train import TrainConfig, TrainingError, train

_DEFAULTS = TrainConfig()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--positives",
        nargs="+",
        required=True,
        metavar="PATH",
        help="text we want more of: .txt (one doc per line), .jsonl (text field), "
        ".parquet, or a folder of Parquet shards (an earlier run's shards/ or rejected/)",
    )
    p.add_argument(
        "--negatives",
        nargs="+",
        required=True,
        metavar="PATH",
        help="text we want less of (raw web pages), same formats",
    )
    p.add_argument("--output", required=True, help="folder for the model and model_card.{json,md}")
    p.add_argument("--description", default="", help="what the model was trained on, for the card")
    p.add_argument("--positive-label", default=_DEFAULTS.positive_label)
    p.add_argument("--negative-label", default=_DEFAULTS.negative_label)
    p.add_argument("--text-field", default=_DEFAULTS.text_field, help="JSONL field with the text")
    p.add_argument(
        "--group-field",
        default=_DEFAULTS.group_field,
        help="JSONL field grouping texts that must share a side of the held-out split",
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=_DEFAULTS.holdout,
        help="share of texts held out for the metrics (by text hash)",
    )
    p.add_argument(
        "--keep-rate",
        type=float,
        default=_DEFAULTS.keep_rate,
        help="target share kept: the card gives the score threshold for it",
    )
    p.add_argument("--min-examples", type=int, default=_DEFAULTS.min_examples)
    p.add_argument(
        "--max-per-class",
        type=int,
        default=None,
        help="cap each class at N texts (a hash-chosen sample), e.g. to balance",
    )
    p.add_argument("--quantize", action="store_true", help="write a quantized model.ftz")
    for name, tp in (
        ("lr", float),
        ("epoch", int),
        ("dim", int),
        ("word-ngrams", int),
        ("min-count", int),
        ("bucket", int),
        ("seed", int),
        ("thread", int),
    ):
        attr = name.replace("-", "_")
        p.add_argument(
            f"--{name}",
            type=tp,
            default=getattr(_DEFAULTS, attr),
            help=f"fastText {attr} (default {getattr(_DEFAULTS, attr)})",
        )
    p.add_argument("--loss", default=_DEFAULTS.loss, choices=["softmax", "ns", "hs", "ova"])


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})


def run(args: argparse.Namespace) -> int:
    """Train; print a one-line summary, or a one-line error and return 1."""
    try:
        card = train(args.positives, args.negatives, args.output, config_from_args(args), description=args.description)
    except TrainingError as e:
        print(f"train-classifier: error: {e}", file=sys.stderr)
        return 1
    m, k = card["held_out_metrics"], card["keep_rate"]
    split = card["data"]["split"]["held_out"]
    print(
        f"wrote {args.output}/{card['model']['file']}: held-out AUC {m['auc']:.4f} "
        f"({split['positives']} positives, {split['negatives']} negatives); "
        f"threshold for keep rate {k['target']:g}: {k['threshold']:.6g}"
    )
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="curate train-classifier", description="Train a fastText quality classifier.")
    add_arguments(p)
    return run(p.parse_args(argv))
