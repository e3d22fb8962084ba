"""Exact deduplication of normalised text across the whole run (stage ``exact_dedup``).

The Beam layer groups each document's :func:`dedup_key` and survivor rank (a
GroupByKey, so duplicates on different workers meet; the documents themselves wait in
work files), :func:`decide_copies` picks the survivor :func:`choose_survivor` would
choose, and :func:`apply_decision` applies it to each document.
"""

from __future__ import annotations

import dataclasses
import re
import typing
import unicodedata
from typing import Iterable, Literal, Optional

import xxhash

from curate import text as T
from curate.dedup.minhash import DEFAULT_SCORE_FIELD, node_key
from curate.document import Document, Rejected
from curate.registry import register_stage

_WS_RE = re.compile(r"\s+")
# On each survivor's metadata: how many copies of it were removed (0: it had none).
DUPLICATES_KEY = "exact_duplicates"


@dataclasses.dataclass
class ExactDedupConfig:
    # whitespace: NFC, lower-case, whitespace collapsed (copies that differ only in layout).
    # full: also drop punctuation and map digits to 0 (FineWeb's normalisation).
    normalize: Literal["whitespace", "full"] = "whitespace"
    # the same survivor rules (and ranking) as minhash_dedup
    keep: Literal["smallest_id", "oldest", "longest", "highest_score"] = "smallest_id"
    score_field: str = DEFAULT_SCORE_FIELD  # dotted path into metadata, for highest_score


def dedup_key(text: str, normalize: str = "whitespace") -> str:
    """A 128-bit hex digest of the normalised text (stable across processes and runs)."""
    if normalize == "full":
        norm = T.normalize(text)
    else:
        norm = _WS_RE.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()
    return xxhash.xxh128_hexdigest(norm.encode("utf-8", "surrogatepass"))


class Copy(typing.NamedTuple):
    """What the grouping step knows of one document: its text hash, its survivor rank
    (:func:`curate.dedup.minhash.node_key`, ending with the id) and where it is (the
    work file its decision goes to)."""

    rank: tuple
    location: str


class ExactDecision(typing.NamedTuple):
    """One document of a group of copies: ``duplicate_of`` is None for the survivor,
    which had ``copies`` removed; a duplicate carries the survivor's id."""

    text_hash: str
    duplicate_of: Optional[str]
    copies: int


@register_stage("exact_dedup", ExactDedupConfig, transform="pipelines.exact_dedup:ExactDedup")
def choose_survivor(
    docs: Iterable[Document], keep: str = "smallest_id", score_field: str = DEFAULT_SCORE_FIELD
) -> Document:
    """The copy kept: the smallest :func:`curate.dedup.minhash.node_key` (ties break on
    id, so the choice never depends on the order in which documents arrive)."""
    return min(docs, key=lambda d: node_key(d, keep, score_field))


def decide_copies(text_hash: str, copies: Iterable[Copy]) -> list[tuple[str, str, ExactDecision]]:
    """``(location, id, decision)`` for each document of a group of equal text hashes,
    the survivor chosen as :func:`choose_survivor` chooses (smallest rank). A group of
    one (no copies) needs no decision: nothing is returned for it."""
    copies = sorted(copies)
    if len(copies) < 2:
        return []
    survivor_id = copies[0].rank[-1]
    out = [(copies[0].location, survivor_id, ExactDecision(text_hash, None, len(copies) - 1))]
    out += [(c.location, c.rank[-1], ExactDecision(text_hash, survivor_id, 0)) for c in copies[1:]]
    return out


def apply_decision(doc: Document, decision: Optional[ExactDecision]):
    """The document (kept; ``exact_duplicates`` on its metadata says how many copies of
    it were removed) or its Rejected record."""
    if decision is None:
        doc.metadata[DUPLICATES_KEY] = 0
        return doc
    if decision.duplicate_of is not None:
        return Rejected(
            doc, "exact_dedup", "duplicate", {"duplicate_of": decision.duplicate_of, "text_hash": decision.text_hash}
        )
    doc.metadata[DUPLICATES_KEY] = decision.copies
    return doc
