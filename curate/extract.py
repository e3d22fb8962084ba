"""HTML to text (stage ``extract``), with one of two engines:

- ``trafilatura`` (the default): FineWeb's extractor and settings (``favor_precision``,
  no comments); datatrove's ``Trafilatura`` extractor runs the same call.
- ``resiliparse``: ``resiliparse.extract.html2text.extract_plain_text(html,
  main_content=True, ...)``, the call DCLM extracts Common Crawl with, but with three of
  resiliparse's switches off by default that DCLM leaves on: image alt texts, comment
  sections and post meta data (author, date lines). Chosen on one half of the
  ground-truth pages and checked on the other (word F1 0.906 -> 0.939 on the held-out
  half); ``{alt_texts: true, comments: true, post_meta: true}`` gives DCLM's exact call.
  Over ten times faster than trafilatura, F1 about 0.03 below it: see docs/extraction.md
  for both engines' word precision, recall and F1 against hand-made reference texts
  (``bench/bench_extraction.py``).

Bounds on one page: an HTML over ``max_html_chars`` is dropped (``too_large``)
before it is parsed; with ``timeout_seconds`` set (the default), the engine runs in a
child process (:mod:`curate.sandbox`) that is stopped when a page takes longer, and
whose memory is capped at ``max_memory_mb``: such a page becomes an error record naming
its URL, and the run goes on. ``timeout_seconds: null`` extracts in the worker itself
(no bounds beyond ``max_html_chars``).
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Literal, Optional, Union

from curate.base import DocStage
from curate.document import Document, Drop
from curate.params import ConfigError, param
from curate.registry import register_stage


@dataclasses.dataclass
class ExtractConfig:
    engine: Literal["trafilatura", "resiliparse"] = "trafilatura"
    # trafilatura, FineWeb's settings: precision over recall, no comments.
    favor_precision: bool = True
    include_comments: bool = False
    include_tables: bool = True
    fast: bool = False  # skip trafilatura's fallback extractors (about 2x faster, less text)
    # resiliparse: extract_plain_text's switches (docs/extraction.md). DCLM calls it with
    # main_content and resiliparse's defaults, which differ here for alt_texts, comments
    # and post_meta (true there).
    main_content: bool = True  # resiliparse's main-content heuristics (false: all visible text)
    preserve_formatting: bool = True  # line breaks and blocks kept (C4's and FineWeb's line rules need them)
    list_bullets: bool = True
    alt_texts: bool = False  # image alt texts
    comments: bool = False  # comment sections count as main content
    post_meta: bool = False  # blog post / article meta data (author, date) kept in the main content
    links: bool = False  # link targets written after the link text
    form_fields: bool = False
    noscript: bool = False  # the content of <noscript> elements
    hidden_elements: bool = False  # keep elements with hidden class names in main-content extraction
    skip_elements: list[str] = param(factory=list, nonempty=True)  # CSS selectors of elements left out
    # bounds on one page (see the module docstring)
    max_html_chars: Optional[int] = param(10_000_000, min=1)  # a longer page is dropped unparsed
    timeout_seconds: Optional[float] = param(10.0, gt=0)  # per page; null: no limit, no child process
    max_memory_mb: Optional[int] = param(2048, min=256)  # the extraction process's address space

    def validate(self, key: str) -> None:
        if self.engine == "resiliparse" and self.skip_elements:
            from resiliparse.extract.html2text import extract_plain_text

            for selector in self.skip_elements:  # a bad selector would fail every page
                try:
                    extract_plain_text("<p>x</p>", skip_elements=[selector])
                except Exception as e:  # noqa: BLE001 - resiliparse's CSSParserException
                    raise ConfigError(f"{key}.skip_elements: not a CSS selector: {selector!r} ({e})") from None


class ExtractionFailed(Exception):
    """A page that could not be extracted within the limits; the message names its URL."""


def extract_text(html: str, url: Optional[str], c: ExtractConfig) -> Optional[str]:
    """The page's text by the configured engine (imported here, trafilatura ~0.3 s: only
    the processes that extract pay it)."""
    if c.engine == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(
            html,
            preserve_formatting=c.preserve_formatting,
            main_content=c.main_content,
            list_bullets=c.list_bullets,
            alt_texts=c.alt_texts,
            links=c.links,
            form_fields=c.form_fields,
            noscript=c.noscript,
            comments=c.comments,
            post_meta=c.post_meta,
            hidden_elements=c.hidden_elements,
            skip_elements=c.skip_elements or None,
        )
    import trafilatura

    return trafilatura.extract(
        html,
        url=url,
        favor_precision=c.favor_precision,
        include_comments=c.include_comments,
        include_tables=c.include_tables,
        fast=c.fast,
        # trafilatura's deduplicate keeps a process-wide cache: output would depend
        # on which documents a worker saw before. Dedup is a pipeline stage instead.
        deduplicate=False,
    )


_WORD = re.compile(r"\w+")


def word_scores(extracted: str, reference: str) -> dict:
    """Precision, recall and F1 of the extracted words against a reference text, as bags
    of lower-cased words (a word counts as many times as it occurs in both), the
    measure of the article-extraction benchmark. Nothing extracted scores 0."""
    got = collections.Counter(_WORD.findall(extracted.lower()))
    want = collections.Counter(_WORD.findall(reference.lower()))
    common = sum((got & want).values())
    precision = common / sum(got.values()) if got else 0.0
    recall = common / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


@register_stage("extract", ExtractConfig)
class Extract(DocStage):
    """Replaces ``doc.html`` with the extracted main text. Documents without HTML
    (sources that are already text) pass through unchanged."""

    def setup(self) -> None:
        from curate.sandbox import Sandbox

        c = self.config
        if c.timeout_seconds is None:
            self._extract = extract_text
        else:
            self._sandbox = Sandbox("curate.extract:extract_text", c.timeout_seconds, c.max_memory_mb)
            self._extract = self._sandbox.call

    def process(self, doc: Document) -> Union[Document, Drop]:
        if doc.html is None:
            return doc
        c = self.config
        html_chars = len(doc.html)
        if c.max_html_chars is not None and html_chars > c.max_html_chars:
            doc.html = None
            return Drop("too_large", {"html_chars": html_chars, "max_html_chars": c.max_html_chars})
        url = doc.provenance.get("url")
        try:
            text = self._extract(doc.html, url, c)
        except Exception as e:
            from curate.sandbox import CallTimeout, ChildFailed

            if isinstance(e, (CallTimeout, ChildFailed)):
                raise ExtractionFailed(f"{url or doc.id} ({html_chars} characters of HTML): {e}") from None
            raise
        doc.html = None
        text = (text or "").strip()
        if not text:
            return Drop("no_text", {"html_chars": html_chars})
        doc.text = text
        doc.metadata["html_chars"] = html_chars
        return doc
