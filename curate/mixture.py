"""Mixture of sources: per-source weights (``output.mixture``) applied to the kept
documents, deterministically by document id.

A document of a source with weight ``w`` is written ``floor(w)`` times, plus once more
when the hash of its id, as a fraction of the hash range, falls below ``w - floor(w)``:
``w = 2.0`` writes every book twice, ``w = 0.5`` keeps half of the web pages (the others
are dropped as ``mixture:downsampled``, counted and written to ``rejected/``), ``w = 1.3``
writes 30% of the documents twice. Sources not listed keep weight 1. The expected token
share of source ``s`` is ``w_s T_s / sum_j w_j T_j`` (``T``: its tokens before the
mixture); the achieved share differs by the luck of which documents the fractional part
picks, more so for sources of few, long documents.

The first copy keeps the document's id; the extra ones get ``<id>~<n>`` and carry the
original id in the ``copy_of`` column. The validation split is decided on the original
id, so all copies of a document are on the same side of the train/validation boundary.

Like the rest of curate's sampling, the decision uses xxh64 with its own seed (Python's
``hash()`` is salted per process), so the same input and config give the same copies.
"""

from __future__ import annotations

import math

import xxhash

MIXTURE_HASH_SEED = 0x313D
STAGE = "mixture"  # drops are mixture:downsampled; statistics mixture:tokens_in / tokens / copies


def copies(doc_id: str, weight: float) -> int:
    """How many times a document is written under ``weight``."""
    whole = math.floor(weight)
    frac = weight - whole
    if frac and xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=MIXTURE_HASH_SEED) < frac * 2.0**64:
        whole += 1
    return whole


def copy_id(doc_id: str, n: int) -> str:
    """The id of the ``n``-th copy (n >= 1); copy 0 is the document itself."""
    return f"{doc_id}~{n}"


def expand(row: dict, n: int) -> list[dict]:
    """A shard row and its ``n - 1`` extra copies."""
    return [row] + [dict(row, id=copy_id(row["id"], i), copy_of=row["id"]) for i in range(1, n)]


def shares(weights: dict[str, float], tokens_in: dict[str, int], tokens_out: dict[str, int]) -> dict:
    """The manifest's ``mixture`` section: per source its weight, tokens before and after
    the mixture, and the target and achieved token shares."""
    sources = sorted(set(tokens_in) | set(tokens_out))
    weighted = {s: weights.get(s, 1.0) * tokens_in.get(s, 0) for s in sources}
    total_w, total_out = sum(weighted.values()), sum(tokens_out.values())
    return {
        "weights": dict(sorted(weights.items())),
        "by_source": {
            s: {
                "weight": weights.get(s, 1.0),
                "tokens_in": tokens_in.get(s, 0),
                "tokens": tokens_out.get(s, 0),
                "target_share": round(weighted[s] / total_w, 6) if total_w else 0.0,
                "share": round(tokens_out.get(s, 0) / total_out, 6) if total_out else 0.0,
            }
            for s in sources
        },
    }
