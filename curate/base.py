"""Base classes for per-document stages.

A :class:`DocStage` maps one document to the (possibly edited) document, or to a
:class:`~curate.document.Drop`. Exceptions raised by ``process`` become error records
in the pipeline (the run goes on), so a stage raises only for a genuinely bad record.

A :class:`Filter` separates *scoring* from *deciding* (as NeMo Curator does):
``score`` computes the signals once and they are stored on the document, so
``curate refilter`` can re-apply new thresholds with ``decide`` alone.
"""

from __future__ import annotations

from typing import Optional, Union

from curate.document import Document, Drop


class DocStage:
    name: str = ""

    def __init__(self, config):
        self.config = config

    def setup(self) -> None:
        """Load models and other heavy state. Called once per worker before processing."""

    def process(self, doc: Document) -> Union[Document, Drop]:
        raise NotImplementedError


class Filter(DocStage):
    """A keep/drop decision over signals stored in ``doc.metadata["signals"][name]``."""

    def score(self, doc: Document) -> dict:
        """Compute this filter's signals (numbers) for ``doc``."""
        raise NotImplementedError

    def decide(self, signals: dict) -> Optional[str]:
        """Return the drop reason for these signals, or ``None`` to keep."""
        raise NotImplementedError

    def process(self, doc: Document) -> Union[Document, Drop]:
        signals = self.score(doc)
        doc.set_signals(self.name, signals)
        reason = self.decide(signals)
        if reason is None:
            return doc
        return Drop(reason, {"signals": signals})
