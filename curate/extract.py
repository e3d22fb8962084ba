"""HTML to text with trafilatura (stage ``extract``)."""

from __future__ import annotations

import dataclasses
from typing import Union

from curate.base import DocStage
from curate.document import Document, Drop
from curate.registry import register_stage


@dataclasses.dataclass
class ExtractConfig:
    # FineWeb's settings: precision over recall, no comments.
    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    fast: bool = False  # skip trafilatura's fallback extractors (about 2x faster, less text)


@register_stage("extract", ExtractConfig)
class Extract(DocStage):
    """Replaces ``doc.html`` with the extracted main text. Documents without HTML
    (sources that are already text) pass through unchanged."""

    def setup(self) -> None:
        import trafilatura  # imported here: ~0.3 s, only workers that extract pay it

        self._extract = trafilatura.extract

    def process(self, doc: Document) -> Union[Document, Drop]:
        if doc.html is None:
            return doc
        c = self.config
        text = self._extract(
            doc.html,
            url=doc.provenance.get("url"),
            favor_precision=c.favor_precision,
            include_comments=c.include_comments,
            include_tables=c.include_tables,
            fast=c.fast,
            # trafilatura's deduplicate keeps a process-wide cache: output would depend
            # on which documents a worker saw before. Dedup is a pipeline stage instead.
            deduplicate=False,
        )
        html_chars = len(doc.html)
        doc.html = None
        text = (text or "").strip()
        if not text:
            return Drop("no_text", {"html_chars": html_chars})
        doc.text = text
        doc.metadata["html_chars"] = html_chars
        return doc
