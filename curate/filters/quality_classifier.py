"""Stage ``quality_classifier``: score documents with a trained fastText quality model.

Two keep rules over the stored score P(``label``):

- ``threshold`` (DCLM): keep when ``score >= threshold``; the model card gives the
  threshold for a target keep rate;
- ``pareto`` (GPT-3, Brown et al. 2020, appendix A): keep when
  ``np.random.pareto(alpha) > 1 - score``, which keeps most high scores and some low
  ones. The draw here is not from a global RNG: a uniform ``u`` in (0, 1] comes from a
  hash of (seed, document id), and ``u ** (-1 / alpha) - 1`` is a Pareto (Lomax) draw
  with numpy's distribution. The same document gets the same draw on any worker, in
  any run, so the output is deterministic.

The signals ``{score, pareto_u, seed}`` are stored, so ``curate refilter`` can change
the mode, threshold or alpha without loading the model (a new seed needs a re-run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from typing import Literal, Optional

from curate import params
from curate.base import Filter
from curate.document import Document
from curate.params import ConfigError, param
from curate.quality_model import ModelError, load_model
from curate.registry import register_stage


@dataclasses.dataclass
class QualityClassifierConfig:
    model: str  # a .bin/.ftz written by `curate train-classifier`
    label: str = param("hq", nonempty=True)  # the positive class; the score is P(label)
    mode: Literal["threshold", "pareto"] = params.threshold("threshold")
    # threshold mode: keep when score >= threshold (null keeps every document)
    threshold: Optional[float] = params.threshold(0.5, min=0, max=1)
    pareto_alpha: float = params.threshold(9.0, gt=0)  # pareto mode: GPT-3's alpha
    seed: int = 0  # pareto mode: the draws depend on (seed, document id) only (a scoring parameter)

    def validate(self, key: str) -> None:
        if "://" not in self.model and not os.path.exists(self.model):
            raise ConfigError(f"{key}.model: no such file {self.model!r} (train one with `curate train-classifier`)")


def pareto_uniform(seed: int, doc_id: str) -> float:
    """A uniform number in (0, 1] fixed by (seed, document id)."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode("utf-8"), digest_size=8).digest()
    return ((int.from_bytes(digest, "big") >> 11) + 1) / 2.0**53


def pareto_draw(u: float, alpha: float) -> float:
    """Inverse CDF of numpy's ``pareto(alpha)`` (Lomax): ``u ** (-1/alpha) - 1``."""
    return u ** (-1.0 / alpha) - 1.0


@register_stage("quality_classifier", QualityClassifierConfig)
class QualityClassifier(Filter):
    def setup(self) -> None:
        try:
            self._model = load_model(self.config.model)
            self._model.check_label(self.config.label)
        except ModelError as e:
            raise ConfigError(f"stages.{self.name}.model: {e}") from None

    def score(self, doc: Document) -> dict:
        return {
            "score": round(self._model.probability(doc.text, self.config.label), 6),
            "pareto_u": pareto_uniform(self.config.seed, doc.id),
            "seed": self.config.seed,
        }

    def thresholds(self) -> dict:
        # pareto mode keeps by a random draw per document: no fixed bound to draw
        return {"score": (self.config.threshold, None)} if self.config.mode == "threshold" else {}

    def decide(self, signals: dict) -> Optional[str]:
        c = self.config
        score = signals["score"]
        if c.mode == "threshold":
            return None if c.threshold is None or score >= c.threshold else "below_threshold"
        if signals["seed"] != c.seed:
            raise ValueError(
                f"pareto draws were stored with seed {signals['seed']}, the config asks for "
                f"seed {c.seed}: re-run the stage to draw with a new seed"
            )
        return None if pareto_draw(signals["pareto_u"], c.pareto_alpha) > 1.0 - score else "pareto_rejected"
