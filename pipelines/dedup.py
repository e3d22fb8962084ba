"""Beam transform for ``minhash_dedup`` (document-level near-duplicates).

    docs -> batches -> signatures + band hashes (numpy, many docs per call)
         -> GroupByKey on (band, band hash) -> star edges per bucket
         -> verification: exact Jaccard of the shingle sets (two CoGroupByKeys: by the
            larger node, then by the smaller), or the signatures' estimate in the bucket
         -> connected components: union-find on one worker when the edge count is at
            most ``max_local_edges``, else ``max_rounds`` rounds of large-star/small-star
            (one GroupByKey each) and a final GroupByKey that checks convergence
         -> GroupByKey on the component root -> cluster labels
         -> CoGroupByKey with the documents -> kept (cluster on metadata) / Rejected.

The edge count is only known at run time, so both paths are in the graph and the
count (a side input) lets exactly one of them see the edges.
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np

from curate.dedup.minhash import (
    STAGE,
    MinHashDedupConfig,
    MinHasher,
    apply_label,
    band_hashes,
    label_cluster,
    large_star,
    node_key,
    set_jaccard,
    shingle_sets,
    small_star,
    star_edges,
    union_find_components,
)
from curate.document import Rejected
from pipelines.stages import ERRORS, GLOBAL_TRANSFORMS, REJECTED, StageResult, error_output, rejected_output

BANDS = "bands"
SHINGLES = "shingles"


class _Signatures(beam.DoFn):
    """A batch of documents -> (id, doc) for the final join, one bucket entry
    ((band, band hash), (node, signature bytes or b"")) per band of each document, and
    with exact verification (node, distinct shingle hashes as bytes)."""

    def __init__(self, config: MinHashDedupConfig):
        self.config = config
        self.hasher = None

    def setup(self):
        self.hasher = MinHasher(self.config.ngram, self.config.num_perm, self.config.seed)

    def _hash(self, batch):
        """[(doc, signature, shingle set) or (doc, exception, None)]"""
        try:
            flat, lengths = self.hasher.batch_shingle_hashes([d.text for d in batch])
            sig = self.hasher.signatures_from_hashes(flat, lengths)
            sets = shingle_sets(flat, lengths) if self.config.verify == "exact" else [None] * len(batch)
            return list(zip(batch, sig, sets))
        except Exception as e:  # find the document at fault, so one bad record costs only itself
            if len(batch) == 1:
                return [(batch[0], e, None)]
            return [item for doc in batch for item in self._hash([doc])]

    def process(self, batch):
        cfg = self.config
        for doc, sig, shingles in self._hash(batch):
            if isinstance(sig, Exception):
                yield error_output(doc, STAGE, sig)
                continue
            yield (doc.id, doc)
            (bands,) = band_hashes(sig[None, :], cfg.bands, cfg.rows)
            if bands is None:  # no words: never a near-duplicate
                continue
            node = node_key(doc, cfg.keep, cfg.score_field)
            value = (node, sig.tobytes() if cfg.verify == "signature" else b"")
            for i, h in enumerate(bands):
                yield beam.pvalue.TaggedOutput(BANDS, ((i, h), value))
            if shingles is not None:
                yield beam.pvalue.TaggedOutput(SHINGLES, (node, shingles.tobytes()))


def _bucket_edges(element, verify_threshold: float):
    _, members = element
    members = [(node, np.frombuffer(sig, np.uint64)) for node, sig in members]
    return star_edges(members, verify_threshold)


def _to_center(element):
    """Join 1, keyed by the larger node: attach its shingles to each edge."""
    member, grouped = element
    for sh in grouped["shingles"]:
        for center in sorted(set(grouped["center"])):
            yield (center, (member, sh))


def _verified(element, threshold: float):
    """Join 2, keyed by the smaller node: keep the edges whose exact Jaccard reaches the threshold."""
    center, grouped = element
    for csh in grouped["shingles"]:
        cset = np.frombuffer(csh, np.uint64)
        for member, msh in grouped["candidates"]:
            if set_jaccard(cset, np.frombuffer(msh, np.uint64)) >= threshold:
                yield (center, member)


class _ExactVerify(beam.PTransform):
    """Candidate edges -> the edges whose documents' shingle sets have Jaccard >= threshold."""

    def __init__(self, shingles, threshold: float):
        super().__init__()
        self.shingles = shingles
        self.threshold = threshold

    def expand(self, edges):
        by_member = edges | "by_member" >> beam.MapTuple(lambda center, member: (member, center))
        candidates = (
            {"center": by_member, "shingles": self.shingles}
            | "join_member" >> beam.CoGroupByKey()
            | "to_center" >> beam.FlatMap(_to_center)
        )
        return (
            {"candidates": candidates, "shingles": self.shingles}
            | "join_center" >> beam.CoGroupByKey()
            | "exact_jaccard" >> beam.FlatMap(_verified, self.threshold)
        )


def _both_directions(edge):
    u, v = edge
    return [(u, v), (v, u)]


def _large_star(element):
    """Its edges (v, m) have v > m: already keyed by the larger end, as small-star wants."""
    node, neighbors = element
    return large_star(node, neighbors)


def _small_star_both_directions(element):
    """Small-star's edges, each in both directions, as the next large-star wants."""
    node, neighbors = element
    return [e for v, m in small_star(node, neighbors) for e in ((v, m), (m, v))]


def _marks(edge):
    """On undirected edges (both directions present): the larger end points to a label."""
    u, v = edge
    return [(u, ("target", v))] if v < u else [(u, ("label", None))]


def _final_label(element):
    """Converged means: each node points to one label and no label points anywhere."""
    node, marks = element
    targets = {m for kind, m in marks if kind == "target"}
    is_label = any(kind == "label" for kind, _ in marks)
    if len(targets) > 1 or (targets and is_label):
        raise RuntimeError(
            f"{STAGE}: connected components did not converge within max_rounds; raise max_rounds"
        )
    return (node, targets.pop() if targets else node)


class _StarComponents(beam.PTransform):
    """Large-star/small-star rounds (Kiveris et al. 2014), unrolled ``rounds`` times."""

    def __init__(self, rounds: int):
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        # Few steps per round: FnApiRunner pays a fixed cost per step and bundle.
        edges = edges | "both" >> beam.FlatMap(_both_directions)
        for i in range(self.rounds):
            edges = (
                edges
                | f"large{i}:group" >> beam.GroupByKey()
                | f"large{i}:star" >> beam.FlatMap(_large_star)
                | f"small{i}:group" >> beam.GroupByKey()
                | f"small{i}:star" >> beam.FlatMap(_small_star_both_directions)
            )
        marks = edges | "marks" >> beam.FlatMap(_marks) | "marks:group" >> beam.GroupByKey()
        return marks | "labels" >> beam.Map(_final_label)


class ConnectedComponents(beam.PTransform):
    """Edges between nodes -> (node, smallest node of its component).

    Union-find on one worker when there are at most ``max_local_edges`` edges, else
    ``max_rounds`` large-star/small-star rounds. ``max_rounds=0`` leaves the rounds out
    of the graph: always union-find (for runs known to fit one worker; on FnApiRunner
    each unrolled round costs a fixed ~50 ms even when it receives nothing).
    """

    def __init__(self, max_local_edges: int, max_rounds: int):
        super().__init__()
        self.max_local_edges = max_local_edges
        self.max_rounds = max_rounds

    def expand(self, edges):
        if self.max_rounds == 0:
            return edges | "local" >> _UnionFind()
        bound = self.max_local_edges
        count = beam.pvalue.AsSingleton(edges | "count" >> beam.combiners.Count.Globally())
        local = edges | "local:small" >> beam.Filter(lambda e, n: n <= bound, count) | "local" >> _UnionFind()
        distributed = (
            edges
            | "rounds:large" >> beam.Filter(lambda e, n: n > bound, count)
            | "rounds" >> _StarComponents(self.max_rounds)
        )
        return (local, distributed) | "components" >> beam.Flatten()


class _UnionFind(beam.PTransform):
    """All edges to one worker, union-find there."""

    def expand(self, edges):
        return (
            edges
            | "one_key" >> beam.Map(lambda e: (0, e))
            | "group" >> beam.GroupByKey()
            | "union_find" >> beam.FlatMap(lambda kv: sorted(union_find_components(kv[1]).items()))
        )


class _Decide(beam.DoFn):
    def process(self, element):
        _, grouped = element
        labels = list(grouped["label"])
        label = labels[0] if labels else None
        for doc in grouped["doc"]:
            out = apply_label(doc, label)
            if isinstance(out, Rejected):
                yield rejected_output(out)
            else:
                yield out


class MinHashDedup(beam.PTransform):
    def __init__(self, config: MinHashDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, docs):
        cfg = self.config
        sigs = (
            docs
            | "batch" >> beam.BatchElements(min_batch_size=cfg.batch_size, max_batch_size=cfg.batch_size)
            | "signatures" >> beam.ParDo(_Signatures(cfg)).with_outputs(BANDS, SHINGLES, ERRORS, main="docs")
        )
        in_bucket = cfg.verify_threshold if cfg.verify == "signature" else 0.0
        edges = (
            sigs[BANDS]
            | "buckets" >> beam.GroupByKey()
            | "star_edges" >> beam.FlatMap(_bucket_edges, in_bucket)
        )
        if cfg.verify == "exact":
            edges = edges | "verify" >> _ExactVerify(sigs[SHINGLES], cfg.verify_threshold)
        labels = (
            edges
            | "components" >> ConnectedComponents(cfg.max_local_edges, cfg.max_rounds)
            | "by_root" >> beam.Map(lambda nr: (nr[1], nr[0]))
            | "clusters" >> beam.GroupByKey()
            | "cluster_labels" >> beam.FlatMapTuple(label_cluster)
        )
        decided = (
            {"doc": sigs.docs, "label": labels}
            | "join" >> beam.CoGroupByKey()
            | "decide" >> beam.ParDo(_Decide()).with_outputs(REJECTED, main="kept")
        )
        return StageResult(decided.kept, decided[REJECTED], sigs[ERRORS])


GLOBAL_TRANSFORMS[STAGE] = MinHashDedup
