"""Beam transform for ``minhash_dedup`` (document-level near-duplicates; core:
:mod:`curate.dedup.minhash`)::

    docs -> work files (pipelines.spill: the documents wait on disk, never in memory)
         -> per work file, in chunks of ~block_chars of text (numpy, batch_size docs per
            call): signatures -> band keys -> one BucketPart per bucket shard and chunk
         -> GroupByKey on the shard -> buckets (sort by bucket id) -> star edges (Candidate)
         -> verification: exact Jaccard of the shingle sets (two joins on the work file:
            the member's, which reads the file and computes the sets of just the
            documents on a candidate edge, then the center's), or the signatures'
            estimate in the bucket
         -> connected components: union-find on one worker when the edge count is at
            most ``max_local_edges``, else ``max_rounds`` rounds of large-star/small-star
            (one GroupByKey each) and a final GroupByKey that checks convergence
         -> cluster labels (and HashFailed for a text that could not be hashed), keyed by
            work file -> each work file read again, each document through
            ``apply_decision`` -> kept / Rejected / errors.

A node is a :class:`Node` ``(rank, id, file)``: the work file routes a document's
label and its shingle set, and never changes the order (ids are unique).

Memory (FnApiRunner holds everything that crosses a shuffle or waits for a side input):
the documents are in work files; what crosses the bucket shuffle is per document 8
bytes and its rank and id per band (a :class:`BucketPart` packs a shard's entries into
byte strings, so the runner holds a few objects per part, not several per entry); only
documents on a candidate edge have their shingle set computed, in the join on their
file, and shipped once more. A work file is read for the signatures, by the first join
(when it holds a candidate) and for the decisions; the sets are recomputed from the text
rather than stored at signature time because 8 bytes per shingle is more than the text
they come from, and only the candidates' are needed. Measured (bench/minhash_bench.py
--before, bench/bench_memory.py --minhash; docs/dedup-minhash.md, "Memory"): peak RSS
1.09x from N to 8N documents (2.20x before), the same clusters, CPU time within 0.2 s.

Why chunks and packed parts: FnApiRunner (and any runner) pays per shuffled element,
and per-document elements (14 bucket entries) cost more than the hashing. Each step
boundary costs FnApiRunner ~20 ms even when empty, and a Flatten of two producers is a
step of its own. Numpy arrays cross steps as ``bytes`` inside the typed tuples: Beam's
coder writes bytes as they are, where it would pickle an array.

The edge count is only known at run time, so with rounds both paths are in the graph
and the count (a side input) lets exactly one of them see the edges.
"""

from __future__ import annotations

import bisect
import typing
from typing import Any, Optional

import apache_beam as beam
import numpy as np

from curate.dedup.minhash import (
    STAGE,
    HashFailed,
    MinHashDedupConfig,
    MinHasher,
    apply_decision,
    band_keys,
    clusters,
    label_cluster,
    large_star,
    node_key,
    set_jaccard,
    shingle_sets,
    signatures_or_errors,
    small_star,
    star_edges,
    union_find_components,
)
from curate.document import describe_exception
from curate.spill import default_work_dir, read_spill
from pipelines import spill

FAILED = "failed"  # the signatures' second output: (work file, (id, HashFailed))
# Rounds on a distributed runner when max_rounds is not set (see MinHashDedupConfig).
DEFAULT_ROUNDS = 16
# Runners that execute the whole pipeline in one process (or on one machine).
IN_PROCESS_RUNNERS = {"FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner", "PrismRunner"}


class Node(typing.NamedTuple):
    """A document in the clustering: ordered by (rank, id) (:func:`node_key`), so the
    smallest node of a component is the document kept; ``file`` is its work file."""

    rank: str
    doc_id: str
    file: str


class BucketPart(typing.NamedTuple):
    """The bucket entries of one chunk of one work file that fall in one bucket shard.
    Entry i is in bucket ``buckets[i]`` (uint64); its node is ``(rank, id, file)``
    with rank and id the strings 2i and 2i+1 of ``nodes`` (UTF-8), cut at ``ends``
    (int32 offsets); ``signatures`` (uint64, num_perm per entry) only with
    ``verify: signature``. Bytes rather than a str: a str holding one non-Latin-1
    character (the rank of an undated document is U+FFFF) takes 2 bytes per character."""

    file: str
    buckets: bytes
    nodes: bytes
    ends: bytes
    signatures: Optional[bytes]

    def entries(self) -> int:
        return len(self.buckets) // 8

    def node(self, i: int, ends: list) -> Node:
        """Entry ``i``'s node (``ends``: this part's offsets as a list)."""
        r0, r1, i1 = ends[2 * i - 1] if i else 0, ends[2 * i], ends[2 * i + 1]
        return Node(_decode(self.nodes[r0:r1]), _decode(self.nodes[r1:i1]), self.file)


def _encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")  # ids read from damaged bytes may hold lone surrogates


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogatepass")


class _ChunkKeys:
    """A chunk's node keys ``(rank, id)``, to pack the entries of each shard's part."""

    def __init__(self, keys: list):
        encoded = [(_encode(rank), _encode(doc_id)) for rank, doc_id in keys]
        self.joined = [rank + doc_id for rank, doc_id in encoded]
        self.lengths = np.array([(len(rank), len(doc_id)) for rank, doc_id in encoded], np.int32).reshape(-1, 2)

    def part(self, file: str, buckets: np.ndarray, members: np.ndarray, sigs: Optional[np.ndarray]) -> BucketPart:
        """The part of the entries ``members`` (indices of the chunk's keys), in bucket ``buckets``."""
        ends = np.cumsum(self.lengths[members].ravel(), dtype=np.int32)
        text = b"".join([self.joined[j] for j in members.tolist()])
        return BucketPart(file, buckets.tobytes(), text, ends.tobytes(), sigs.tobytes() if sigs is not None else None)


class _ShardNodes:
    """The nodes of a shard's parts by entry index (all parts' entries in order),
    decoded on first use: most entries are in a bucket of one and never are."""

    def __init__(self, parts: list):
        self.parts = parts
        self.first = np.cumsum([0] + [p.entries() for p in parts]).tolist()
        self.ends: dict = {}

    def __getitem__(self, j: int) -> Node:
        k = bisect.bisect_right(self.first, j) - 1
        ends = self.ends.get(k)
        if ends is None:
            ends = self.ends[k] = np.frombuffer(self.parts[k].ends, np.int32).tolist()
        return self.parts[k].node(j - self.first[k], ends)


class Candidate(typing.NamedTuple):
    """A star edge from a bucket, before exact verification (join 1, keyed by the member's file)."""

    center: Node
    member: Node


class CenterWanted(typing.NamedTuple):
    """Join 1, keyed by the center's file: join 2 needs this center's shingle set."""

    doc_id: str


class MemberSet(typing.NamedTuple):
    """Join 2, keyed by the center's file: a candidate edge with the member's shingle set."""

    center: Node
    member: Node
    shingles: bytes  # distinct sorted uint64


class CenterSet(typing.NamedTuple):
    """Join 2, keyed by the center's file: a center's shingle set."""

    doc_id: str
    shingles: bytes  # distinct sorted uint64


def _text_size(doc) -> int:
    return len(doc.text) + 1 if isinstance(doc.text, str) else 1


def _batches(docs, size: int):
    batch = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Hashing(beam.DoFn):
    """A DoFn with the stage's MinHasher (made once per worker)."""

    def __init__(self, config: MinHashDedupConfig):
        self.config = config
        self.hasher: Any = None  # made in setup

    def setup(self):
        self.hasher = MinHasher(self.config.ngram, self.config.num_perm, self.config.seed)

    def finish_bundle(self):
        self.hasher.release()


class _Signatures(_Hashing):
    """A work file -> (shard, BucketPart) for each bucket shard each chunk of ~block_chars
    touches; on the FAILED output (work file, (id, HashFailed)) for a text that could
    not be hashed. Only a chunk's nodes and signatures are held, never its documents."""

    def process(self, path):
        cfg = self.config
        keys, sigs, chars = [], [], 0
        for batch in _batches(read_spill(path), cfg.batch_size):
            for doc, sig in signatures_or_errors(self.hasher, batch):
                if isinstance(sig, Exception):
                    yield beam.pvalue.TaggedOutput(FAILED, (path, (doc.id, HashFailed(describe_exception(sig)))))
                else:
                    keys.append(node_key(doc, cfg.keep, cfg.score_field))
                    sigs.append(sig)
                    chars += _text_size(doc)
            if chars >= cfg.block_chars:
                yield from self._parts(path, keys, sigs)
                keys, sigs, chars = [], [], 0
        if keys:
            yield from self._parts(path, keys, sigs)

    def _parts(self, path, keys, sigs):
        cfg = self.config
        sigs = np.stack(sigs)
        band, has_words = band_keys(sigs, cfg.bands, cfg.rows)
        rows = np.flatnonzero(has_words)
        if len(rows) == 0:  # no words anywhere: never a near-duplicate
            return
        keys = _ChunkKeys([keys[i] for i in rows.tolist()])
        sigs = sigs[rows] if cfg.verify == "signature" else None
        # one entry per (document, band): its bucket, the band key with the band index
        # mixed in (bands never share buckets); entries grouped by shard of the bucket
        buckets = _bucket_ids(band[rows])
        member = np.repeat(np.arange(len(rows)), cfg.bands)
        shard = buckets % np.uint64(cfg.bucket_shards)
        order = np.argsort(shard, kind="stable")
        cuts = np.flatnonzero(np.diff(shard[order])) + 1
        for part in np.split(order, cuts):
            m = member[part]
            yield (int(shard[part[0]]), keys.part(path, buckets[part], m, sigs[m] if sigs is not None else None))


def _bucket_ids(keys: np.ndarray) -> np.ndarray:
    """(documents x bands) band keys -> one uint64 per (document, band), row-major:
    a bijection of (band, key) for each band, so equal ids mean the same bucket (up to
    the 64-bit collisions the band keys already accept)."""
    bands = np.arange(keys.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (keys ^ bands).ravel()


def _bucket_edges(element, num_perm: int, verify_threshold: float) -> list[Candidate]:
    """One shard's parts -> star edges of its buckets with two or more members (with
    ``verify_threshold > 0``: those whose signatures' estimate reaches it)."""
    _, parts = element
    parts = list(parts)
    buckets = np.concatenate([np.frombuffer(p.buckets, np.uint64) for p in parts])
    order = np.argsort(buckets, kind="stable")
    ordered = buckets[order]
    same = ordered[1:] == ordered[:-1]  # entry i+1 is in entry i's bucket
    if not same.any():  # most shards of a small run: no bucket with two members
        return []
    nodes = _ShardNodes(parts)
    sigs = None
    if verify_threshold > 0:
        sigs = np.concatenate([np.frombuffer(p.signatures, np.uint64) for p in parts]).reshape(-1, num_perm)
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    ends = np.append(starts[1:], len(order))
    edges: list[Candidate] = []
    for s, e in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist()):
        members = [(nodes[j], sigs[j] if sigs is not None else None) for j in order[s:e].tolist()]
        edges.extend(Candidate(*edge) for edge in star_edges(members, verify_threshold))
    return edges


def _route_candidate(edge: Candidate):
    """To join 1: the candidate on its member's file; its center's file learns that
    join 2 needs the center's set."""
    return [(edge.member.file, edge), (edge.center.file, CenterWanted(edge.center.doc_id))]


class _AttachMember(_Hashing):
    """Join 1, on a work file: reads it and computes the shingle sets of just the
    documents named by the messages; each candidate whose member is in the file takes
    the member's set to its center's file, each center's set goes there too."""

    def process(self, element):
        path, messages = element
        candidates, centers = set(), set()
        for message in messages:
            if isinstance(message, Candidate):
                candidates.add(message)  # an edge found in several bands: once
            else:
                centers.add(message.doc_id)
        sets = self._sets(path, centers | {c.member.doc_id for c in candidates})
        for doc_id in sorted(centers):
            yield (path, CenterSet(doc_id, sets[doc_id].tobytes()))
        for c in sorted(candidates):
            yield (c.center.file, MemberSet(c.center, c.member, sets[c.member.doc_id].tobytes()))

    def _sets(self, path: str, wanted: set) -> dict:
        """id -> distinct sorted shingle hashes, for the documents of ``path`` in ``wanted``."""
        sets: dict = {}
        for batch in _batches((d for d in read_spill(path) if d.id in wanted), self.config.batch_size):
            sets.update(zip((d.id for d in batch), shingle_sets(*self.hasher.document_hashes(batch))))
        return sets


def _verified(element, threshold: float):
    """Join 2, on the center's work file: the edges whose exact Jaccard reaches the threshold."""
    _, messages = element
    messages = list(messages)
    center_sets = {m.doc_id: np.frombuffer(m.shingles, np.uint64) for m in messages if isinstance(m, CenterSet)}
    for m in messages:
        if isinstance(m, MemberSet):
            if set_jaccard(center_sets[m.center.doc_id], np.frombuffer(m.shingles, np.uint64)) >= threshold:
                yield (m.center, m.member)


class _ExactVerify(beam.PTransform):
    """Candidates -> the edges whose documents' shingle sets have Jaccard >= threshold."""

    def __init__(self, config: MinHashDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, candidates):
        return (
            candidates
            | "route" >> beam.FlatMap(_route_candidate)
            | "join_member" >> beam.GroupByKey()
            | "attach_member" >> beam.ParDo(_AttachMember(self.config))
            | "join_center" >> beam.GroupByKey()
            | "exact_jaccard" >> beam.FlatMap(_verified, self.config.verify_threshold)
        )


class Mark(typing.NamedTuple):
    """Convergence check, one per edge end: the node points to ``target`` (None: the
    node is the target of a larger one, i.e. a label)."""

    target: Optional[tuple]


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
    return [(u, Mark(v if v < u else None))]


def _final_label(element):
    """Converged means: each node points to one label and no label points anywhere."""
    node, marks = element
    targets = {m.target for m in marks if m.target is not None}
    is_label = any(m.target is None for m in marks)
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


def _file_labels(components: dict):
    """(work file, (id, label)) for every node, from node -> component root."""
    return [kv for root, nodes in sorted(clusters(components).items()) for kv in _labelled(root, nodes)]


def _labelled(root, nodes):
    nodes = sorted(set(nodes) | {root})
    return [(n.file, (doc_id, label)) for n, (doc_id, label) in zip(nodes, label_cluster(root, nodes))]


class ConnectedComponents(beam.PTransform):
    """Edges between nodes -> (node, smallest node of its component); with
    ``labels=True`` (nodes :class:`Node`) -> (work file, (id, ClusterLabel)) instead.

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
        local_out = _file_labels if self.labels else _node_roots
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


def rounds_for(config: MinHashDedupConfig, pipeline) -> int:
    """``max_rounds``, or when unset: none on an in-process runner, DEFAULT_ROUNDS elsewhere."""
    if config.max_rounds is not None:
        return config.max_rounds
    return 0 if type(pipeline.runner).__name__ in IN_PROCESS_RUNNERS else DEFAULT_ROUNDS


class MinHashDedup(beam.PTransform):
    def __init__(self, config: MinHashDedupConfig, work_dir: str | None = None):
        super().__init__()
        self.config = config
        self.work_dir = work_dir or default_work_dir()

    def expand(self, docs):
        cfg = self.config
        paths = spill.spill(docs, self.work_dir, "spill")
        sigs = paths | "signatures" >> beam.ParDo(_Signatures(cfg)).with_outputs(FAILED, main="buckets")
        in_bucket = cfg.verify_threshold if cfg.verify == "signature" else 0.0
        edges = (
            sigs.buckets
            | "buckets" >> beam.GroupByKey()
            | "star_edges" >> beam.FlatMap(_bucket_edges, cfg.num_perm, in_bucket)
        )
        if cfg.verify == "exact":
            edges = edges | "verify" >> _ExactVerify(cfg)
        labels = edges | "components" >> ConnectedComponents(
            cfg.max_local_edges, rounds_for(cfg, docs.pipeline), labels=True
        )
        decisions = (labels, sigs[FAILED]) | "decisions" >> beam.Flatten()
        return spill.apply_decisions(paths, decisions, apply_decision, STAGE, "apply")
