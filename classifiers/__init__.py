"""fastText quality classifiers: training (with a model card) and scoring.

Beam-free. ``curate train-classifier`` trains one; the ``quality_classifier`` pipeline
stage (``curate/filters/quality_classifier.py``) scores documents with it.
"""

from classifiers.data import DataError
from classifiers.train import TrainConfig, TrainingError, train
from curate.quality_model import ModelError, QualityModel, load_model, preprocess

__all__ = [
    "DataError",
    "ModelError",
    "QualityModel",
    "TrainConfig",
    "TrainingError",
    "load_model",
    "preprocess",
    "train",
]
