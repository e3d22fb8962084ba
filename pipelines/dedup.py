"""Beam transform for ``minhash_dedup`` (document-level near-duplicates).

    docs -> blocks of ~block_chars of text -> per block (numpy, batch_size docs per call):
            the documents as one pickled element, their shingle sets as one element,
            and the band keys as one element per bucket shard
         -> GroupByKey on the shard -> buckets (sort by (band, key)) -> star edges
         -> verification: exact Jaccard of the shingle sets (two joins on the block:
            the larger node's, then the smaller node's), or the signatures' estimate
            in the bucket
         -> connected components: union-find on one worker when the edge count is at
            most ``max_local_edges``, else ``max_rounds`` rounds of large-star/small-star
            (one GroupByKey each) and a final GroupByKey that checks convergence
         -> cluster labels, keyed by block -> a multimap side input of the step that
            unpacks each block of documents -> kept / Rejected.

Why blocks: FnApiRunner (and any runner) pays per shuffled element, and per-document
elements (14 bucket entries, a shingle set and the document itself) cost more than
the hashing. A node is ``(rank, id, block)``: the block routes a document's label and
shingle set, and never changes the order (ids are unique). Each step boundary costs
FnApiRunner ~20 ms even when empty, and a Flatten of two producers is a step of its
own, so the shingle sets travel the candidates' path (buckets -> join 1 -> join 2)
rather than being flattened in, and the labels reach the documents as a side input.

The edge count is only known at run time, so with rounds both paths are in the graph
and the count (a side input) lets exactly one of them see the edges.
"""

from __future__ import annotations

import pickle

import apache_beam as beam
import numpy as np
import xxhash

from curate.dedup.minhash import (
    STAGE,
    MinHashDedupConfig,
    MinHasher,
    apply_label,
    band_keys,
    clusters,
    distinct_sorted,
    label_cluster,
    large_star,
    node_key,
    set_jaccard,
    small_star,
    star_edges,
    union_find_components,
)
from curate.document import Rejected
from pipelines.stages import ERRORS, REJECTED, StageResult, error_output, rejected_output

BUCKETS = "buckets"
SHINGLES = "shingles"  # a block's shingle hashes, for exact verification
DOCS = "docs"
CANDIDATE = "candidate"
CENTER = "center"
# Rounds on a distributed runner when max_rounds is not set (see MinHashDedupConfig).
DEFAULT_ROUNDS = 16
# Runners that execute the whole pipeline in one process (or on one machine).
IN_PROCESS_RUNNERS = {"FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner", "PrismRunner"}


def _text_size(doc) -> int:
    return len(doc.text) + 1 if isinstance(doc.text, str) else 1


class _Signatures(beam.DoFn):
    """A block of documents -> (block, pickled documents); on the buckets output one
    (shard, bucket entries) per bucket shard the block touches and, with exact
    verification, (block, its shingle hashes); error records."""

    def __init__(self, config: MinHashDedupConfig):
        self.config = config
        self.hasher = None

    def setup(self):
        self.hasher = MinHasher(self.config.ngram, self.config.num_perm, self.config.seed)

    def _hash(self, batch):
        """[(doc, signature, shingle hashes with repeats) or (doc, exception, None)]"""
        try:
            flat, lengths = self.hasher.batch_shingle_hashes(
                [d.text for d in batch], [d.metadata.get("language") for d in batch]
            )
            sig = self.hasher.signatures_from_hashes(flat, lengths)
            return list(zip(batch, sig, np.split(flat, np.cumsum(lengths)[:-1])))
        except Exception as e:  # find the document at fault, so one bad record costs only itself
            if len(batch) == 1:
                return [(batch[0], e, None)]
            return [item for doc in batch for item in self._hash([doc])]

    def process(self, block):
        cfg = self.config
        hashed = [
            item for i in range(0, len(block), cfg.batch_size) for item in self._hash(block[i : i + cfg.batch_size])
        ]
        good = []
        for doc, sig, shingles in hashed:
            if isinstance(sig, Exception):
                yield error_output(doc, STAGE, sig)
            else:
                good.append((doc, sig, shingles))
        if not good:
            return
        docs = [doc for doc, _, _ in good]
        key = xxhash.xxh64_hexdigest("\n".join(d.id for d in docs).encode("utf-8", "surrogatepass"))
        yield (key, pickle.dumps(docs, protocol=5))  # main output: the documents of the block
        keys, has_words = band_keys(np.stack([sig for _, sig, _ in good]), cfg.bands, cfg.rows)
        rows = np.flatnonzero(has_words)
        if len(rows) == 0:  # no words anywhere: never a near-duplicate
            return
        nodes = [node_key(docs[i], cfg.keep, cfg.score_field) + (key,) for i in rows.tolist()]
        if cfg.verify == "exact":
            # the shingle hashes as computed (with repeats): the distinct sorted set is
            # made in the joins, only for the documents on a candidate edge
            hashes = [good[i][2] for i in rows.tolist()]
            lengths = np.array([len(h) for h in hashes], np.int64)
            blob = pickle.dumps(([n[1] for n in nodes], lengths, np.concatenate(hashes)), protocol=5)
            # with the bucket entries, keyed by the block (a str; shards are ints): the sets
            # travel the same path as the candidates, so no join needs a Flatten (which
            # FnApiRunner runs as a step of its own)
            yield beam.pvalue.TaggedOutput(BUCKETS, (key, (SHINGLES, blob)))
        sigs = np.stack([good[i][1] for i in rows.tolist()]) if cfg.verify == "signature" else None
        # one entry per (document, band): its bucket, the band key with the band index
        # mixed in (bands never share buckets); entries grouped by shard of the bucket
        buckets = _bucket_ids(keys[rows])
        member = np.repeat(np.arange(len(rows)), cfg.bands)
        shard = buckets % np.uint64(cfg.bucket_shards)
        order = np.argsort(shard, kind="stable")
        cuts = np.flatnonzero(np.diff(shard[order])) + 1
        for part in np.split(order, cuts):
            m = member[part]
            value = (
                buckets[part].tobytes(),
                [nodes[j] for j in m.tolist()],
                sigs[m].tobytes() if sigs is not None else None,
            )
            yield beam.pvalue.TaggedOutput(BUCKETS, (int(shard[part[0]]), value))


def _bucket_ids(keys: np.ndarray) -> np.ndarray:
    """(documents x bands) band keys -> one uint64 per (document, band), row-major:
    a bijection of (band, key) for each band, so equal ids mean the same bucket (up to
    the 64-bit collisions the band keys already accept)."""
    bands = np.arange(keys.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (keys ^ bands).ravel()


def _shard_edges(element, num_perm: int, verify_threshold: float, by_member: bool):
    """One shard's entries -> star edges of its buckets with two or more members
    (with ``by_member``: keyed by the member's block, for exact verification); a
    block's shingle sets pass through to the first join."""
    key, parts = element
    if isinstance(key, str):
        return [(key, value) for value in parts]
    parts = list(parts)
    buckets = np.concatenate([np.frombuffer(p[0], np.uint64) for p in parts])
    order = np.argsort(buckets, kind="stable")
    ordered = buckets[order]
    same = ordered[1:] == ordered[:-1]  # entry i+1 is in entry i's bucket
    if not same.any():  # most shards of a small run: no bucket with two members
        return []
    nodes = [n for p in parts for n in p[1]]
    sigs = None
    if verify_threshold > 0:
        sigs = np.concatenate([np.frombuffer(p[2], np.uint64) for p in parts]).reshape(-1, num_perm)
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    ends = np.append(starts[1:], len(order))
    edges = []
    for s, e in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
        members = [(nodes[j], sigs[j] if sigs is not None else None) for j in order[s:e].tolist()]
        edges.extend(star_edges(members, verify_threshold))
    if by_member:  # and each center's block learns which of its sets join 2 needs
        return [(member[2], (CANDIDATE, (center, member))) for center, member in edges] + [
            (center[2], (CENTER, center[1])) for center, _ in edges
        ]
    return edges


def _unpack_hashes(blob):
    ids, lengths, flat = pickle.loads(blob)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return {doc_id: flat[offsets[i] : offsets[i + 1]] for i, doc_id in enumerate(ids)}


class _ShingleSets(dict):
    """id -> distinct sorted shingle hashes, made on first use from a block's raw hashes."""

    def __init__(self, blobs):
        super().__init__()
        self.raw = {}
        for blob in blobs:
            self.raw.update(_unpack_hashes(blob))

    def __missing__(self, doc_id):
        self[doc_id] = distinct_sorted(self.raw[doc_id])
        return self[doc_id]


def _attach_member(element):
    """Join 1, on a block: each candidate edge whose member is in the block takes the
    member's shingle set; the sets of the block's centers go on to join 2 (the other
    sets stop here)."""
    block, values = element
    candidates, centers, blobs = set(), set(), []
    for tag, value in values:
        (blobs.append if tag == SHINGLES else centers.add if tag == CENTER else candidates.add)(value)
    if not candidates and not centers:
        return
    sets = _ShingleSets(blobs)
    for doc_id in sorted(centers):
        yield (block, (CENTER, (doc_id, sets[doc_id].tobytes())))
    for center, member in sorted(candidates):  # an edge found in several bands: once
        yield (center[2], (CANDIDATE, (center, member, sets[member[1]].tobytes())))


def _verified(element, threshold: float):
    """Join 2, on the smaller node's block: keep the edges whose exact Jaccard reaches the threshold."""
    _, values = element
    values = list(values)
    center_sets = {value[0]: np.frombuffer(value[1], np.uint64) for tag, value in values if tag == CENTER}
    for tag, value in values:
        if tag == CANDIDATE:
            center, member, msh = value
            if set_jaccard(center_sets[center[1]], np.frombuffer(msh, np.uint64)) >= threshold:
                yield (center, member)


class _ExactVerify(beam.PTransform):
    """Candidates keyed by the member's block, with each block's shingle sets ->
    the edges whose documents' shingle sets have Jaccard >= threshold."""

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def expand(self, by_member):
        return (
            by_member
            | "join_member" >> beam.GroupByKey()
            | "attach_member" >> beam.FlatMap(_attach_member)
            | "join_center" >> beam.GroupByKey()
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
        raise RuntimeError(f"{STAGE}: connected components did not converge within max_rounds; raise max_rounds")
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


def _node_roots(components: dict):
    return sorted(components.items())


def _block_labels(components: dict):
    """(block, (id, label)) for every node, from node -> component root (nodes carry their block)."""
    return [kv for root, nodes in sorted(clusters(components).items()) for kv in _labelled(root, nodes)]


def _labelled(root, nodes):
    nodes = sorted(set(nodes) | {root})
    return [(n[2], (doc_id, label)) for n, (doc_id, label) in zip(nodes, label_cluster(root, nodes))]


class ConnectedComponents(beam.PTransform):
    """Edges between nodes -> (node, smallest node of its component); with
    ``labels=True`` (nodes ``(rank, id, block)``) -> (block, (id, ClusterLabel)) instead.

    Union-find on one worker when there are at most ``max_local_edges`` edges, else
    ``max_rounds`` large-star/small-star rounds. ``max_rounds=0`` leaves the rounds out
    of the graph: always union-find (on FnApiRunner each unrolled round costs a fixed
    ~35 ms even when it receives nothing).
    """

    def __init__(self, max_local_edges: int, max_rounds: int, labels: bool = False):
        super().__init__()
        self.max_local_edges = max_local_edges
        self.max_rounds = max_rounds
        self.labels = labels

    def expand(self, edges):
        local_out = _block_labels if self.labels else _node_roots
        if self.max_rounds == 0:
            return edges | "local" >> _UnionFind(local_out)
        bound = self.max_local_edges
        count = beam.pvalue.AsSingleton(edges | "count" >> beam.combiners.Count.Globally())
        local = edges | "local:small" >> beam.Filter(lambda e, n: n <= bound, count) | "local" >> _UnionFind(local_out)
        distributed = (
            edges
            | "rounds:large" >> beam.Filter(lambda e, n: n > bound, count)
            | "rounds" >> _StarComponents(self.max_rounds)
        )
        if self.labels:
            distributed = (
                distributed
                | "by_root" >> beam.Map(lambda nr: (nr[1], nr[0]))
                | "clusters" >> beam.GroupByKey()
                | "cluster_labels" >> beam.FlatMapTuple(_labelled)
            )
        return (local, distributed) | "components" >> beam.Flatten()


def _union_find(element, output):
    _, edges = element
    return output(union_find_components(edges))


class _UnionFind(beam.PTransform):
    """All edges to one worker, union-find there."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def expand(self, edges):
        return (
            edges
            | "one_key" >> beam.Map(lambda e: (0, e))
            | "group" >> beam.GroupByKey()
            | "union_find" >> beam.FlatMap(_union_find, self.output)
        )


class _Decide(beam.DoFn):
    """One block: its documents, each kept (cluster on the metadata) or Rejected.
    The labels are a multimap side input keyed by block: each block reads its own
    (a keyed lookup on a distributed runner, not the whole map per worker)."""

    def process(self, element, labels):
        block, blob = element
        labels = dict(labels[block])
        for doc in pickle.loads(blob):
            out = apply_label(doc, labels.get(doc.id))
            if isinstance(out, Rejected):
                yield rejected_output(out)
            else:
                yield out


def rounds_for(config: MinHashDedupConfig, pipeline) -> int:
    """``max_rounds``, or when unset: none on an in-process runner, DEFAULT_ROUNDS elsewhere."""
    if config.max_rounds is not None:
        return config.max_rounds
    return 0 if type(pipeline.runner).__name__ in IN_PROCESS_RUNNERS else DEFAULT_ROUNDS


class MinHashDedup(beam.PTransform):
    def __init__(self, config: MinHashDedupConfig, work_dir=None):
        super().__init__()
        self.config = config

    def expand(self, docs):
        cfg = self.config
        sigs = (
            docs
            | "blocks"
            >> beam.BatchElements(
                min_batch_size=cfg.block_chars, max_batch_size=cfg.block_chars, element_size_fn=_text_size
            )
            | "signatures" >> beam.ParDo(_Signatures(cfg)).with_outputs(BUCKETS, ERRORS, main=DOCS)
        )
        in_bucket = cfg.verify_threshold if cfg.verify == "signature" else 0.0
        edges = (
            sigs[BUCKETS]
            | "buckets" >> beam.GroupByKey()
            | "star_edges" >> beam.FlatMap(_shard_edges, cfg.num_perm, in_bucket, cfg.verify == "exact")
        )
        if cfg.verify == "exact":
            edges = edges | "verify" >> _ExactVerify(cfg.verify_threshold)
        labels = edges | "components" >> ConnectedComponents(
            cfg.max_local_edges, rounds_for(cfg, docs.pipeline), labels=True
        )
        decided = sigs[DOCS] | "decide" >> beam.ParDo(_Decide(), beam.pvalue.AsMultiMap(labels)).with_outputs(
            REJECTED, main="kept"
        )
        return StageResult(decided.kept, decided[REJECTED], sigs[ERRORS])
