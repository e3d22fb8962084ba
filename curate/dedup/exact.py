"""Exact deduplication of normalised text across the whole run (stage ``exact_dedup``).

The Beam layer groups documents by :func:`dedup_key` (a GroupByKey, so duplicates
on different workers meet) and keeps the survivor :func:`choose_survivor` would choose.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Iterable, Literal

import xxhash

from curate import text as T
from curate.dedup.minhash import DEFAULT_SCORE_FIELD, node_key
from curate.document import Document
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


@register_stage("exact_dedup", ExactDedupConfig, transform="pipelines.exact_dedup:ExactDedup")
def choose_survivor(
    docs: Iterable[Document], keep: str = "smallest_id", score_field: str = DEFAULT_SCORE_FIELD
) -> Document:
    """The copy kept: the smallest :func:`curate.dedup.minhash.node_key` (ties break on
    id, so the choice never depends on the order in which documents arrive)."""
    docs = list(docs)
    return docs[survivor_position(docs, keep, score_field)[0]]


def survivor_position(
    docs: Iterable[Document], keep: str = "smallest_id", score_field: str = DEFAULT_SCORE_FIELD
) -> tuple[int, str]:
    """(position in ``docs``, id) of the copy :func:`choose_survivor` keeps, in one pass
    that holds no document: the Beam layer makes a second pass over a group of copies
    too large for a list, and compares positions (a runner may deserialise the group
    afresh on each pass, so object identity would not do)."""
    best_pos, best_rank = 0, None
    for pos, doc in enumerate(docs):
        rank = node_key(doc, keep, score_field)
        if best_rank is None or rank < best_rank:
            best_pos, best_rank = pos, rank
    if best_rank is None:
        raise ValueError("no documents to choose from")
    return best_pos, best_rank[-1]
