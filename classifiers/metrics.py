"""Held-out metrics for a binary scorer, in numpy (no scikit-learn)."""

from __future__ import annotations

import math

import numpy as np


def auc(scores, is_positive) -> float:
    """ROC AUC as the Mann-Whitney statistic: the probability that a random positive
    scores above a random negative, ties counting one half."""
    scores = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(is_positive, dtype=bool)
    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative example")
    # Average ranks (1-based) with ties sharing the mean of their rank range.
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    ranks = mean_rank[inverse]
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc_confidence_interval(scores, is_positive, n_boot: int = 1000, seed: int = 0) -> list[float]:
    """A 95% bootstrap interval for the AUC (each class resampled with replacement,
    a seeded generator): small held-out sets give wide intervals, and the card says so."""
    scores = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(is_positive, dtype=bool)
    p, n = scores[pos], scores[~pos]
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(len(p), bool), np.zeros(len(n), bool)]
    aucs = [auc(np.r_[rng.choice(p, len(p)), rng.choice(n, len(n))], labels) for _ in range(n_boot)]
    lo, hi = np.quantile(aucs, [0.025, 0.975])
    return [float(lo), float(hi)]


def precision_recall(scores, is_positive, threshold: float) -> dict:
    """Precision, recall and F1 of "positive when score >= threshold"."""
    scores = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(is_positive, dtype=bool)
    pred = scores >= threshold
    tp = int((pred & pos).sum())
    fp = int((pred & ~pos).sum())
    fn = int((~pred & pos).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "predicted_positive": tp + fp,
    }


def threshold_for_keep_rate(scores, keep_rate: float) -> float:
    """The score threshold that keeps (score >= threshold) the top ``keep_rate`` share:
    the ceil(keep_rate * n)-th highest score. With ties at that score, more are kept."""
    scores = np.asarray(scores, dtype=np.float64)
    if not 0.0 < keep_rate <= 1.0:
        raise ValueError(f"keep_rate must be in (0, 1], got {keep_rate}")
    if len(scores) == 0:
        raise ValueError("no scores to compute a threshold from")
    k = max(1, math.ceil(keep_rate * len(scores)))
    return float(np.sort(scores)[::-1][k - 1])


def pareto_keep_rate(scores, alpha: float) -> float:
    """Expected share kept by GPT-3's rule ``pareto(alpha) > 1 - score``: numpy's
    Pareto is Lomax, P(X > x) = (1 + x) ** -alpha, so each document is kept with
    probability (2 - score) ** -alpha."""
    scores = np.asarray(scores, dtype=np.float64)
    return float(np.mean((2.0 - scores) ** -alpha))
