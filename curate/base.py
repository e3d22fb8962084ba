"""Base classes for per-document stages.

A :class:`DocStage` maps one document to the (possibly edited) document, or to a
:class:`~curate.document.Drop`. Exceptions raised by ``process`` become error records
in the pipeline (the run goes on), so a stage raises only for a genuinely bad record.

A :class:`Filter` separates *scoring* from *deciding* (as NeMo Curator does):
``score`` computes the signals once and they are stored on the document with the
fingerprint of the scoring parameters (:mod:`curate.params`), so ``curate refilter``
can re-apply new thresholds with ``decide`` alone, and refuses a config whose scoring
parameters differ from the ones the signals were computed with.
"""

from __future__ import annotations

from typing import Optional, Union

from curate.document import Document, Drop
from curate.params import fingerprint, for_language


class StageStats:
    """Statistics a stage counts as it works on a document: the Beam layer takes them
    after each call (:meth:`take_stats`) and counts them as ``stat|<source>|<stage>|<name>``."""

    def add_stat(self, name: str, n: int = 1) -> None:
        """Count something this stage did to a document (redactions, lines removed).

        The pipeline reports it as the run statistic ``stat|<source>|<stage>|<name>``
        after each ``process`` call (see :meth:`take_stats`)."""
        if n:
            stats = self.__dict__.setdefault("_stats", {})
            stats[name] = stats.get(name, 0) + n

    def take_stats(self) -> dict:
        """The statistics added since the last call, and reset."""
        return self.__dict__.pop("_stats", None) or {}


class DocStage(StageStats):
    # The registered name; the pipeline sets an instance's full name (``base/label``)
    # on the object, so its signals never overwrite another instance's.
    name: str = ""

    def __init__(self, config):
        self.config = config

    def setup(self) -> None:
        """Load models and other heavy state. Called once per worker before processing."""

    def process(self, doc: Document) -> Union[Document, Drop]:
        raise NotImplementedError


class Filter(DocStage):
    """A keep/drop decision over signals stored in ``doc.metadata["signals"][name]``."""

    def __init__(self, config):
        super().__init__(config)
        # of the registered stage (``name`` on the class), whatever the instance is called
        self.fingerprint = fingerprint(type(self).name, config)

    def language_of(self, doc: Document) -> Optional[str]:
        """The document's language (``metadata.language``) when the config takes
        per-language settings and its ``per_language`` switch is on; else None."""
        if not getattr(self.config, "per_language", False):
            return None
        return doc.metadata.get("language")

    def config_for(self, language: Optional[str]):
        """The config with ``language``'s overrides (``languages:``) applied, made once."""
        if not language:
            return self.config
        cache = self.__dict__.setdefault("_by_language", {})
        config = cache.get(language)
        if config is None:
            config = cache[language] = for_language(self.config, language)
        return config

    def store(self, doc: Document, signals: dict) -> None:
        """Put the signals on the document, with their fingerprint."""
        doc.set_signals(self.name, signals, self.fingerprint)

    def score(self, doc: Document) -> dict:
        """Compute this filter's signals (numbers) for ``doc``."""
        raise NotImplementedError

    def decide(self, signals: dict) -> Optional[str]:
        """Return the drop reason for these signals, or ``None`` to keep."""
        raise NotImplementedError

    def thresholds(self) -> dict:
        """The bounds ``decide`` puts on numeric signals: ``{signal: (min, max)}``, a
        document is dropped below ``min`` or above ``max`` (None: no bound on that side).
        Flags (0/1 signals that drop when set) are not listed. For the run statistics'
        plots and for naming the signals that tripped a drop (:mod:`curate.stats`)."""
        return {}

    def process(self, doc: Document) -> Union[Document, Drop]:
        signals = self.score(doc)
        self.store(doc, signals)
        reason = self.decide(signals)
        if reason is None:
            return doc
        return Drop(reason, {"signals": signals})
