"""Scoring with a trained fastText quality classifier.

One text normalisation (:func:`preprocess`) is used both when the training file is
written and when a document is scored, so the model never sees text at scoring time
that is shaped differently from what it was trained on.

Models are cached per process (:func:`load_model`): every pipeline worker loads a
model file once however many stage instances or threads use it. This keeps the core
free of Beam; the Beam layer needs nothing more than calling the stage's ``setup()``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from curate.model_files import FastTextModelError, load_fasttext, shared

LABEL_PREFIX = "__label__"


def preprocess(text: str) -> str:
    """The fastText input for ``text``: lower-cased, whitespace runs (newlines too) to
    one space, stripped. Used at training and at scoring.

    fastText splits words on ASCII whitespace and ends an example at "\n" (its
    ``predict`` refuses text containing one). ``str.split()`` also splits on Unicode
    line and paragraph separators; NUL (fastText's end of string) goes too, and
    ``__label__`` inside a text is defused so a document cannot add a class. (``split``
    and ``join`` run ~2.5x faster than the equivalent regex substitution.)"""
    text = text.replace("\x00", " ").lower()
    if LABEL_PREFIX in text:  # a word starting with it would be read as a label
        text = text.replace(LABEL_PREFIX, "_label_")
    return " ".join(text.split())


def label_token(label: str) -> str:
    """``hq`` -> ``__label__hq`` (a label already prefixed is returned as is)."""
    return label if label.startswith(LABEL_PREFIX) else LABEL_PREFIX + label


# One error type for a model that cannot be used: missing, unreadable, not a model, or
# without the label asked for.
ModelError = FastTextModelError


class QualityModel:
    """A loaded fastText classifier that gives P(``label``) for texts.

    A class instance (not a dict), so it can also be held by Beam's ``Shared``.
    """

    def __init__(self, path: str, ft_model):
        self.path = path
        self.model = ft_model
        self.labels = list(ft_model.get_labels())

    def check_label(self, label: str) -> str:
        token = label_token(label)
        if token not in self.labels:
            known = ", ".join(lab[len(LABEL_PREFIX) :] for lab in self.labels)
            raise ModelError(f"{self.path}: the model has no label {label!r} (labels: {known})")
        return token

    def probabilities(self, texts: Sequence[str], label: str) -> np.ndarray:
        """P(``label``) for each text (raw text: :func:`preprocess` is applied here);
        0.0 for a text that is empty after preprocessing."""
        token = self.check_label(label)
        if not texts:
            return np.zeros(0, dtype=np.float64)
        lines = [preprocess(t) for t in texts]
        # k=-1 returns every label with its probability, so P(label) is read directly
        # rather than inferred from the top label.
        labels, probs = self.model.predict(lines, k=-1)
        out = np.empty(len(texts), dtype=np.float64)
        for i, (labs, ps) in enumerate(zip(labels, probs)):
            if not lines[i]:
                # fastText would answer with what it learned for the end-of-line token
                # alone, roughly the class prior: no text is no evidence of quality.
                out[i] = 0.0
                continue
            p = 0.0
            for lab, v in zip(labs, ps):
                if lab == token:
                    p = float(v)
                    break
            # fastText's softmax can exceed 1 by a rounding step (1.00001).
            out[i] = min(max(p, 0.0), 1.0)
        return out

    def probability(self, text: str, label: str) -> float:
        return float(self.probabilities([text], label)[0])


def load_model(path: str) -> QualityModel:
    """The quality model at ``path`` (local or ``gs://``), loaded once per process by
    :func:`curate.model_files.load_fasttext` (which reloads a model retrained in place)."""
    ft = load_fasttext(path)
    return shared(("quality_model", path, id(ft)), lambda: QualityModel(path, ft))
