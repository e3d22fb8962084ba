"""Training a fastText quality classifier and writing its model card.

Recipe (DCLM, Li et al. 2024): a supervised fastText model, positives = text we want
more of (books, curated articles, assistant answers), negatives = raw web text;
``wordNgrams=2`` and fastText's other supervised defaults. Reproducible where fastText
allows: one thread, a fixed seed, and a training file whose order is fixed by hashes
of the texts (not by input order or a global RNG).

The held-out split is decided by a hash of each text's group (when the source names
one: all passages of one page or book section go to the same side, so the held-out
score is not inflated by near-copies of training text) or else of its preprocessed
form; exact duplicates are removed first, so no text is both trained on and evaluated
on. Texts found in both sets are dropped from both.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from typing import Literal, Optional

import numpy as np

from classifiers import fasttext_worker, metrics
from classifiers.data import DataError, file_sha256, read_source
from curate.params import ConfigError, check_fields, param
from curate.quality_model import label_token, load_model, preprocess


class TrainingError(ValueError):
    """Training cannot proceed or failed: a one-line message for the user."""


@dataclasses.dataclass
class TrainConfig:
    positive_label: str = "hq"
    negative_label: str = "cc"
    holdout: float = param(0.1, gt=0, lt=1)  # share of (deduplicated) texts held out for evaluation
    keep_rate: float = param(0.1, gt=0, max=1)  # target share of documents kept (DCLM keeps the top ~10%)
    min_examples: int = param(10, min=1)  # per class, in the training part
    max_per_class: Optional[int] = param(None, min=2)  # cap each class (a hash-chosen sample)
    text_field: str = "text"  # JSONL field holding the text
    group_field: str = "group"  # JSONL field naming a text's group for the split
    quantize: bool = False  # write a quantized .ftz instead of .bin
    # fastText (supervised defaults, DCLM's wordNgrams=2; one thread for reproducibility)
    lr: float = param(0.1, gt=0)
    epoch: int = param(5, min=1)
    dim: int = param(100, min=1)
    word_ngrams: int = param(2, min=1)
    min_count: int = param(1, min=1)
    bucket: int = param(2_000_000, min=1)
    loss: Literal["softmax", "ns", "hs", "ova"] = "softmax"
    seed: int = 0
    thread: int = param(1, min=1)

    def validate(self) -> None:
        """The bounds declared on the fields (one wording with the pipeline's configs),
        then the checks across fields."""
        try:
            check_fields(self, "train")
        except ConfigError as e:
            raise TrainingError(str(e)) from None
        if self.loss not in ("softmax", "ns", "hs", "ova"):
            raise TrainingError(f"train.loss: expected one of 'softmax' | 'ns' | 'hs' | 'ova', got {self.loss!r}")
        if self.positive_label == self.negative_label:
            raise TrainingError("train.negative_label: must differ from positive_label")
        for name in ("positive_label", "negative_label"):
            label = getattr(self, name)
            if not label or any(c.isspace() for c in label):
                raise TrainingError(f"train.{name}: must be a non-empty word without spaces, got {label!r}")

    def fasttext_params(self) -> dict:
        return {
            "lr": self.lr,
            "epoch": self.epoch,
            "dim": self.dim,
            "wordNgrams": self.word_ngrams,
            "minCount": self.min_count,
            "bucket": self.bucket,
            "loss": self.loss,
            "seed": self.seed,
            "thread": self.thread,
        }


def _unit_hash(text: str, salt: bytes) -> float:
    """A number in [0, 1) fixed by the text (blake2b; never Python's salted ``hash``)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8, key=salt).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclasses.dataclass
class _ClassSet:
    label: str
    sources: list
    files: list = dataclasses.field(default_factory=list)
    # preprocessed text -> split key (its group, else the text itself)
    texts: dict = dataclasses.field(default_factory=dict)
    read: int = 0
    empty: int = 0
    duplicates: int = 0
    conflicts: int = 0
    capped: int = 0

    def card(self) -> dict:
        return {
            "label": self.label,
            "sources": self.sources,
            "files": [f.to_dict() for f in self.files],
            "read": self.read,
            "empty_after_preprocessing": self.empty,
            "duplicates_removed": self.duplicates,
            "in_both_sets_removed": self.conflicts,
            "over_cap_removed": self.capped,
            "used": len(self.texts),
        }


def _load_class(label: str, sources: list[str], cfg: TrainConfig) -> _ClassSet:
    if not sources:
        raise TrainingError(f"no {label} sources given")
    cs = _ClassSet(label=label, sources=list(sources))
    for i, source in enumerate(sources):
        try:
            examples, stats = read_source(source, cfg.text_field, cfg.group_field)
        except DataError as e:
            raise TrainingError(str(e)) from None
        cs.files.extend(stats)
        for raw, group in examples:
            cs.read += 1
            t = preprocess(raw)
            if not t:
                cs.empty += 1
            elif t in cs.texts:
                cs.duplicates += 1
            else:
                cs.texts[t] = t if group is None else f"{i}\x00{group}"
    return cs


def _cap(cs: _ClassSet, cap: Optional[int]) -> None:
    if cap is None or len(cs.texts) <= cap:
        return
    chosen = sorted(cs.texts, key=lambda t: _unit_hash(t, b"sample"))[:cap]
    cs.capped = len(cs.texts) - cap
    cs.texts = {t: cs.texts[t] for t in chosen}


def _split(cs: _ClassSet, holdout: float) -> tuple[list[str], list[str]]:
    train: list[str] = []
    held: list[str] = []
    for t, key in cs.texts.items():
        (held if _unit_hash(key, b"split") < holdout else train).append(t)
    return train, held


def _train_fasttext(train_path: str, model_path: str, cfg: TrainConfig) -> None:
    try:
        fasttext_worker.run_job(train_path, model_path, cfg.fasttext_params(), cfg.quantize)
    except RuntimeError as e:
        if "NaN" in str(e):
            raise TrainingError(
                "fastText diverged (Encountered NaN): the data is too small or degenerate "
                f"for lr={cfg.lr}; add examples or lower the learning rate (--lr)"
            ) from None
        raise TrainingError(f"fastText training failed: {e}") from None


def _fasttext_distribution() -> str:
    from importlib import metadata

    for dist in ("fasttext-numpy2-wheel", "fasttext"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def train(
    positives: list[str],
    negatives: list[str],
    output_dir: str,
    config: Optional[TrainConfig] = None,
    description: str = "",
) -> dict:
    """Train, evaluate on the held-out split, write the model and its card; return the card."""
    cfg = config or TrainConfig()
    cfg.validate()
    pos = _load_class(cfg.positive_label, positives, cfg)
    neg = _load_class(cfg.negative_label, negatives, cfg)
    for t in [t for t in pos.texts if t in neg.texts]:
        del pos.texts[t], neg.texts[t]
        pos.conflicts += 1
        neg.conflicts += 1
    _cap(pos, cfg.max_per_class)
    _cap(neg, cfg.max_per_class)

    pos_train, pos_held = _split(pos, cfg.holdout)
    neg_train, neg_held = _split(neg, cfg.holdout)
    for cs, tr, he in ((pos, pos_train, pos_held), (neg, neg_train, neg_held)):
        if not cs.texts:
            raise TrainingError(
                f"no usable {cs.label} examples (one class only): "
                f"{cs.read} read, {cs.empty} empty, {cs.duplicates} duplicates, "
                f"{cs.conflicts} also in the other set"
            )
        if len(tr) < cfg.min_examples:
            raise TrainingError(
                f"too few {cs.label} examples to train: {len(tr)} in the training split, "
                f"at least {cfg.min_examples} needed (min_examples)"
            )
        if not he:
            raise TrainingError(
                f"the held-out split has no {cs.label} example ({len(cs.texts)} texts, "
                f"holdout={cfg.holdout}): add data or raise holdout"
            )

    os.makedirs(output_dir, exist_ok=True)
    pos_tok, neg_tok = label_token(cfg.positive_label), label_token(cfg.negative_label)
    examples = [(pos_tok, t) for t in pos_train] + [(neg_tok, t) for t in neg_train]
    # A fixed shuffle: the order SGD sees depends only on the texts.
    examples.sort(key=lambda e: (_unit_hash(e[1], b"order"), e[0], e[1]))
    fd, train_path = tempfile.mkstemp(prefix=".train-", suffix=".txt", dir=output_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for lab, t in examples:
                f.write(f"{lab} {t}\n")
        model_name = "model.ftz" if cfg.quantize else "model.bin"
        model_path = os.path.join(output_dir, model_name)
        _train_fasttext(train_path, model_path, cfg)
    finally:
        os.unlink(train_path)

    # Evaluate the file as written (after quantization), through the scoring path.
    model = load_model(model_path)
    held = pos_held + neg_held
    is_pos = np.array([True] * len(pos_held) + [False] * len(neg_held))
    scores = model.probabilities(held, cfg.positive_label)
    thr_all = metrics.threshold_for_keep_rate(scores, cfg.keep_rate)
    thr_neg = metrics.threshold_for_keep_rate(scores[~is_pos], cfg.keep_rate)

    card = {
        "model": {
            "file": model_name,
            "format": "ftz (quantized)" if cfg.quantize else "bin",
            "size_bytes": os.path.getsize(model_path),
            "sha256": file_sha256(model_path),
            "positive_label": cfg.positive_label,
            "negative_label": cfg.negative_label,
            "labels": sorted(model.labels),
            "fasttext_module": _fasttext_distribution(),
        },
        "description": description,
        "preprocessing": "lower-case; every whitespace run (newlines included) to one space; "
        "stripped (curate.quality_model.preprocess, used at training and at scoring)",
        "parameters": {
            **cfg.fasttext_params(),
            "holdout": cfg.holdout,
            "max_per_class": cfg.max_per_class,
            "min_examples": cfg.min_examples,
        },
        "data": {
            "positives": pos.card(),
            "negatives": neg.card(),
            "split": {
                "method": "blake2b hash of the text's group (JSONL group field) or else of "
                "the preprocessed text, < holdout",
                "train": {"positives": len(pos_train), "negatives": len(neg_train)},
                "held_out": {"positives": len(pos_held), "negatives": len(neg_held)},
            },
        },
        "held_out_metrics": {
            "auc": metrics.auc(scores, is_pos),
            "auc_95ci_bootstrap": metrics.auc_confidence_interval(scores, is_pos),
            "at_0.5": metrics.precision_recall(scores, is_pos, 0.5),
            "mean_score_positives": float(scores[is_pos].mean()),
            "mean_score_negatives": float(scores[~is_pos].mean()),
        },
        "keep_rate": {
            "target": cfg.keep_rate,
            "threshold": thr_all,
            "threshold_computed_on": "all held-out texts (both classes)",
            # Ties at the threshold are all kept, so the share kept can exceed the target.
            "kept_share_at_threshold": float((scores >= thr_all).mean()),
            "at_threshold": metrics.precision_recall(scores, is_pos, thr_all),
            "threshold_on_negatives": thr_neg,
            "kept_share_of_negatives_at_that_threshold": float((scores[~is_pos] >= thr_neg).mean()),
            # What the pipeline's pareto mode would keep instead (GPT-3's alpha = 9).
            "pareto_alpha_9_expected_keep_rate": metrics.pareto_keep_rate(scores, 9.0),
            "pareto_alpha_9_expected_keep_rate_negatives": metrics.pareto_keep_rate(scores[~is_pos], 9.0),
            "threshold_on_negatives_computed_on": "held-out negatives only (raw web, the pool a pipeline filters)",
        },
    }
    write_card(card, output_dir)
    return card


def write_card(card: dict, output_dir: str) -> None:
    with open(os.path.join(output_dir, "model_card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(output_dir, "model_card.md"), "w", encoding="utf-8") as f:
        f.write(card_markdown(card))


def _source_lines(cs: dict) -> list[str]:
    out = [
        f"- label `{cs['label']}`: {cs['used']} texts used of {cs['read']} read "
        f"({cs['empty_after_preprocessing']} empty, {cs['duplicates_removed']} duplicates, "
        f"{cs['in_both_sets_removed']} in both sets, {cs['over_cap_removed']} over the cap)"
    ]
    for f in cs["files"]:
        bad = f", {f['blank']} blank, {f['bad']} unusable" if f["bad"] or f["blank"] else ""
        out.append(f"  - `{f['path']}` ({f['format']}): {f['read']} read{bad}; sha256 `{f['sha256'][:16]}…`")
    return out


def card_markdown(card: dict) -> str:
    m, d, h, k = card["model"], card["data"], card["held_out_metrics"], card["keep_rate"]
    sp = d["split"]
    lines = [
        "# Quality classifier model card",
        "",
        card["description"] or "(no description given)",
        "",
        "## Model",
        "",
        f"- file: `{m['file']}` ({m['format']}, {m['size_bytes']:,} bytes, sha256 `{m['sha256'][:16]}…`)",
        f"- labels: positive `{m['positive_label']}`, negative `{m['negative_label']}`; "
        f"the pipeline stage scores P(`{m['positive_label']}`)",
        f"- preprocessing: {card['preprocessing']}",
        "- fastText parameters: " + ", ".join(f"{key}={val}" for key, val in sorted(card["parameters"].items())),
        "",
        "## Data",
        "",
        "Positives:",
        *_source_lines(d["positives"]),
        "",
        "Negatives:",
        *_source_lines(d["negatives"]),
        "",
        f"Split ({sp['method']}): train {sp['train']['positives']} positives / "
        f"{sp['train']['negatives']} negatives; held out {sp['held_out']['positives']} / "
        f"{sp['held_out']['negatives']}.",
        "",
        "## Held-out metrics",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| AUC | {h['auc']:.4f} (95% bootstrap interval {h['auc_95ci_bootstrap'][0]:.3f}-"
        f"{h['auc_95ci_bootstrap'][1]:.3f}) |",
        f"| precision at 0.5 | {h['at_0.5']['precision']:.4f} |",
        f"| recall at 0.5 | {h['at_0.5']['recall']:.4f} |",
        f"| F1 at 0.5 | {h['at_0.5']['f1']:.4f} |",
        f"| mean score, positives | {h['mean_score_positives']:.4f} |",
        f"| mean score, negatives | {h['mean_score_negatives']:.4f} |",
        "",
        "## Threshold for a target keep rate",
        "",
        f"To keep the top {k['target']:.0%}: `threshold: {k['threshold']:.6g}` "
        f"({k['threshold_computed_on']}; it keeps {k['kept_share_at_threshold']:.1%} of them, "
        f"precision {k['at_threshold']['precision']:.4f}, "
        f"recall {k['at_threshold']['recall']:.4f}). "
        f"Computed on {k['threshold_on_negatives_computed_on']}: `{k['threshold_on_negatives']:.6g}`.",
        "",
        f"Pareto mode (GPT-3, alpha 9) would keep {k['pareto_alpha_9_expected_keep_rate']:.1%} of all "
        f"held-out texts and {k['pareto_alpha_9_expected_keep_rate_negatives']:.1%} of the negatives "
        "(expected shares).",
        "",
    ]
    return "\n".join(lines)
