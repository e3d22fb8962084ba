"""Exact deduplication of normalised text across the whole run (stage ``exact_dedup``).

The Beam layer groups documents by :func:`dedup_key` (a GroupByKey, so duplicates
on different workers meet) and keeps the survivor chosen by :func:`choose_survivor`.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Iterable, Literal

import xxhash

from curate import text as T
from curate.document import Document
from curate.registry import register_stage

_WS_RE = re.compile(r"\s+")


@dataclasses.dataclass
class ExactDedupConfig:
    # whitespace: NFC, lower-case, whitespace collapsed (copies that differ only in layout).
    # full: also drop punctuation and map digits to 0 (FineWeb's normalisation).
    normalize: Literal["whitespace", "full"] = "whitespace"
    keep: Literal["smallest_id", "oldest", "longest"] = "smallest_id"


def dedup_key(text: str, normalize: str = "whitespace") -> str:
    """A 128-bit hex digest of the normalised text (stable across processes and runs)."""
    if normalize == "full":
        norm = T.normalize(text)
    else:
        norm = _WS_RE.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()
    return xxhash.xxh128_hexdigest(norm.encode("utf-8", "surrogatepass"))


def survivor_rank(doc: Document, keep: str) -> tuple:
    """Sort key: the smallest value survives. Ties always break on id, so the choice
    never depends on the order in which documents arrive."""
    if keep == "oldest":
        return (doc.provenance.get("fetch_date") or "\uffff", doc.id)
    if keep == "longest":
        return (-len(doc.text), doc.id)
    return (doc.id,)


def choose_survivor(docs: Iterable[Document], keep: str = "smallest_id") -> Document:
    return min(docs, key=lambda d: survivor_rank(d, keep))


# A global stage: the Beam transform is in pipelines/exact_dedup.py.
register_stage("exact_dedup", ExactDedupConfig, per_document=False)(choose_survivor)
