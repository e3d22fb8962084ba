"""The Beam transform for ``minhash_dedup``: same outcome as the core, on both
connected-components paths (one worker's union-find, large-star/small-star rounds)."""

import copy
import random

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from curate import spill as spill_core
from curate.counters import NAMESPACE, dropped_name
from curate.dedup import minhash as M
from curate.document import Document, Rejected
from pipelines.dedup import (
    DEFAULT_ROUNDS,
    ConnectedComponents,
    Mark,
    MinHashDedup,
    Node,
    _ChunkKeys,
    _final_label,
    _ShardNodes,
    rounds_for,
)
from pipelines.stages import count_outcomes
from tests.test_minhash import check_outcome, make_corpus


def _outcome(result, label):
    """(id, kept metadata or (duplicate_of, cluster_id)) for every document, sorted."""
    kept = result.kept | f"kept_ids_{label}" >> beam.Map(lambda d: (d.id, d.metadata.get("minhash_dedup")))
    rejected = result.rejected | f"rejected_ids_{label}" >> beam.Map(
        lambda r: (r.doc.id, (r.stage, r.reason, r.details["duplicate_of"], r.details["cluster_id"]))
    )
    return kept, rejected


def _graph():
    rng = random.Random(9)
    nodes = [("", f"n{i:03d}") for i in range(120)]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(90)]
    edges += [(("", f"p{i:03d}"), ("", f"p{i + 1:03d}")) for i in range(40)]  # a long path
    edges = [e for e in edges if e[0] != e[1]]
    return edges, sorted(M.union_find_components(edges).items())


def test_beam_transform_matches_core_on_both_paths(tmp_path, monkeypatch):
    # work files of a few documents each: near-duplicates land in different files, so
    # the joins on the member's and the center's file meet documents of other files
    monkeypatch.setattr(spill_core, "FRAME_BYTES", 1)
    monkeypatch.setattr(spill_core, "FILE_BYTES", 1500)
    corpus = make_corpus()
    core = M.dedup_documents(copy.deepcopy(corpus), M.MinHashDedupConfig())
    check_outcome(core)
    expected_kept = sorted((d.id, d.metadata.get("minhash_dedup")) for d in core if isinstance(d, Document))
    expected_rej = sorted(
        (r.doc.id, (r.stage, r.reason, r.details["duplicate_of"], r.details["cluster_id"]))
        for r in core
        if isinstance(r, Rejected)
    )
    edges, components = _graph()

    p = BeamTestPipeline(runner="FnApiRunner")
    bad = Document("bad", None, "test", provenance={"input_file": "x.warc", "record_id": "r9"})
    docs = p | beam.Create(corpus + [bad])  # a text that is not a str: an error record, not a crash
    # local-only graph (max_rounds 0), the rounds chosen at run time (edges > 0), and
    # blocks of ~2 documents in 3 bucket shards with the signatures' check
    variants = (
        ("local", dict(max_local_edges=10**6, max_rounds=0)),
        ("rounds", dict(max_local_edges=0, max_rounds=4)),
        ("blocks", dict(max_local_edges=10**6, max_rounds=0, block_chars=3000, bucket_shards=3, verify="signature")),
    )
    for label, options in variants:
        # batch_size 4: several batches, so documents meet only through the shuffle
        cfg = M.MinHashDedupConfig(batch_size=4, **options)
        work = tmp_path / label
        res = count_outcomes(docs | f"dedup_{label}" >> MinHashDedup(cfg, str(work)), f"dedup_{label}")
        kept, rejected = _outcome(res, label)
        assert_that(kept, equal_to(expected_kept), label=f"kept_{label}")
        assert_that(rejected, equal_to(expected_rej), label=f"rejected_{label}")
        errors = res.errors | f"error_ids_{label}" >> beam.Map(lambda e: (e.doc_id, e.stage, e.locator))
        assert_that(errors, equal_to([("bad", "minhash_dedup", "r9")]), label=f"errors_{label}")
    # a long path needs many rounds (the corpus's clusters are stars); the same graph
    # with a high bound takes the union-find path at run time
    path_edges = p | "edges" >> beam.Create(edges)
    for label, max_local in (("rounds", 0), ("local", 10**6)):
        comps = path_edges | f"cc_{label}" >> ConnectedComponents(max_local, 10)
        assert_that(comps, equal_to(components), label=f"components_{label}")
    result = p.run()
    result.wait_until_finish()
    for label, _ in variants:
        assert len(list((tmp_path / label).glob("*.docs"))) >= 4, label
    drops = sum(
        c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
        if c.key.metric.name == dropped_name("test", "minhash_dedup", "near_duplicate")
    )
    assert drops == len(variants) * len(expected_rej)  # each transform counted its drops


def test_rounds_only_on_distributed_runners_unless_set():
    class DataflowRunner:  # stands for any runner that spreads work over machines
        pass

    local = BeamTestPipeline(runner="FnApiRunner")
    distributed = type("Pipeline", (), {"runner": DataflowRunner()})()
    assert rounds_for(M.MinHashDedupConfig(), local) == 0
    assert rounds_for(M.MinHashDedupConfig(), distributed) == DEFAULT_ROUNDS == 16
    assert rounds_for(M.MinHashDedupConfig(max_rounds=5), local) == 5
    assert rounds_for(M.MinHashDedupConfig(max_rounds=0), distributed) == 0


def test_final_label_refuses_unconverged_edges():
    a, b, c = ("", "a"), ("", "b"), ("", "c")
    assert _final_label((c, [Mark(a)])) == (c, a)
    assert _final_label((a, [Mark(None), Mark(None)])) == (a, a)
    with pytest.raises(RuntimeError, match="did not converge"):
        _final_label((c, [Mark(a), Mark(b)]))  # two labels
    with pytest.raises(RuntimeError, match="did not converge"):
        _final_label((b, [Mark(a), Mark(None)]))  # a label that points on


def test_bucket_part_carries_any_rank_and_id():
    """Nodes packed into a shard's part come back exactly: non-ASCII ranks and ids, a
    lone surrogate (an id read from damaged bytes), an empty rank."""
    keys = [("\uffff", "doc-é"), ("", "plain"), ("2024-01-01", "bad\udcff"), ("x", "")]
    chunk = _ChunkKeys(keys)
    members = np.array([2, 0, 3, 1, 2])
    part = chunk.part("f1", np.arange(5, dtype=np.uint64), members, None)
    other = chunk.part("f2", np.arange(2, dtype=np.uint64), np.array([1, 0]), None)
    nodes = _ShardNodes([part, other])
    expected = [Node(*keys[j], "f1") for j in members] + [Node(*keys[1], "f2"), Node(*keys[0], "f2")]
    assert [nodes[j] for j in range(7)] == expected
