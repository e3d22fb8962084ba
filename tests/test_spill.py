"""Work files (curate.spill, pipelines.spill): documents out to disk and back unchanged,
files rolling over at their size limit, damage reported, and decisions applied per file."""

from __future__ import annotations

import hashlib
import os

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curate import spill as S
from curate.base import StageStats
from curate.dedup.exact import ExactDedupConfig, choose_survivor, dedup_key
from curate.document import Document, Rejected
from pipelines import spill
from pipelines.exact_dedup import ExactDedup


def docs(n, text=lambda i: f"text {i} " * (i % 7 + 1)):
    return [
        Document(
            id=f"d{i:04d}",
            text=text(i),
            source="s",
            provenance={"i": i},
            metadata={"signals": {"x": {"v": i / 3}}},
            html="<p>é</p>" if i % 5 == 0 else None,
        )
        for i in range(n)
    ]


def as_tuples(ds):
    return sorted((d.id, d.text, d.source, d.provenance, d.metadata, d.html) for d in ds)


def test_documents_come_back_unchanged_across_frames_and_files(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "FRAME_BYTES", 200)
    monkeypatch.setattr(S, "FILE_BYTES", 1000)
    original = docs(300)
    paths = S.spill_all(original, str(tmp_path / "w"))
    assert len(paths) > 3 and len(set(paths)) == len(paths)
    assert all(os.path.getsize(p) < 1000 + 2 * 200 + 200 for p in paths)
    back = [d for p in paths for d in S.read_spill(p)]
    assert [d.id for d in back] == [d.id for d in original]  # in the order written
    assert as_tuples(back) == as_tuples(original)


def test_nothing_written_means_no_file(tmp_path):
    assert S.spill_all([], str(tmp_path / "w")) == []
    assert not (tmp_path / "w").exists()


def test_a_cut_work_file_is_an_error_not_fewer_documents(tmp_path):
    (path,) = S.spill_all(docs(50), str(tmp_path / "w"))
    data = open(path, "rb").read()
    for cut in (5, 16, len(data) - 3):
        open(path, "wb").write(data[:cut])
        with pytest.raises(OSError, match="cut short"):
            list(S.read_spill(path))


def test_a_file_appears_under_its_name_only_when_complete(tmp_path):
    w = S.SpillWriter(str(tmp_path / "w"))
    w.add(docs(1)[0])
    assert os.listdir(tmp_path / "w") == [os.path.basename(w.path) + f".tmp-{os.getpid()}"]
    path = w.close()
    assert os.listdir(tmp_path / "w") == [os.path.basename(path)]


def test_beam_spill_read_and_apply_decisions(tmp_path):
    original = docs(40)
    drop = {f"d{i:04d}" for i in range(0, 40, 3)}

    def apply(doc, decision):
        if decision == "drop":
            return Rejected(doc, "t", "dropped")
        if decision == "fail":
            raise ValueError("bad")
        doc.metadata["seen"] = True
        return doc

    with beam.Pipeline() as p:
        paths = spill.spill(p | beam.Create(original), str(tmp_path / "w"), "spill")
        decisions = (
            spill.read_located(paths, "read")
            | beam.Filter(lambda ld: ld.doc.id in drop or ld.doc.id == "d0001")
            | beam.Map(lambda ld: (ld.path, (ld.doc.id, "fail" if ld.doc.id == "d0001" else "drop")))
        )
        res = spill.apply_decisions(paths, decisions, apply, "t", "apply")
        kept_ids = res.kept | "kept" >> beam.Map(lambda d: (d.id, d.metadata.get("seen")))
        rej_ids = res.rejected | "rej" >> beam.Map(lambda r: r.doc.id)
        err_ids = res.errors | "err" >> beam.Map(lambda e: (e.doc_id, e.stage, e.message))
        assert_that(
            kept_ids,
            equal_to([(d.id, True) for d in original if d.id not in drop and d.id != "d0001"]),
            label="kept",
        )
        assert_that(rej_ids, equal_to(sorted(drop)), label="rejected")
        assert_that(err_ids, equal_to([("d0001", "t", "ValueError: bad")]), label="errors")


class _CountingCore(StageStats):
    """A stage core as apply_decisions takes one: set up once, statistics counted."""

    def __init__(self):
        self.ready = False

    def setup(self):
        self.ready = True

    def apply_decision(self, doc, decision):
        assert self.ready
        self.add_stat("seen")
        if decision == "skip":
            return None  # already accounted for by an earlier step
        if decision == "fail":
            self.add_stat("lost")  # a failed document's statistics are not counted
            raise ValueError("bad")
        self.add_stat("chars", len(doc.text))
        return doc


def test_apply_decisions_sets_up_a_stage_core_and_counts_its_statistics(tmp_path):
    original = docs(12)
    decided = {"d0002": "skip", "d0005": "fail"}
    p = beam.Pipeline()
    paths = spill.spill(p | beam.Create(original), str(tmp_path / "w"), "spill")
    decisions = (
        spill.read_located(paths, "read")
        | beam.Filter(lambda ld: ld.doc.id in decided)
        | beam.Map(lambda ld: (ld.path, (ld.doc.id, decided[ld.doc.id])))
    )
    res = spill.apply_decisions(paths, decisions, _CountingCore(), "t", "apply")
    kept = [d.id for d in original if d.id not in decided]
    assert_that(res.kept | "kept" >> beam.Map(lambda d: d.id), equal_to(kept), label="kept")
    assert_that(res.errors | "err" >> beam.Map(lambda e: e.doc_id), equal_to(["d0005"]), label="errors")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]}
    assert counters["stat|s|t|seen"] == 11
    assert counters["stat|s|t|chars"] == sum(len(d.text) for d in original if d.id not in decided)
    assert "stat|s|t|lost" not in counters


def test_exact_dedup_through_work_files_keeps_the_core_survivor(tmp_path):
    texts = ["alpha beta", "Alpha  beta", "gamma", "alpha beta", "delta", "GAMMA"]
    ds = [
        Document(id=f"id{9 - i}", text=t, source="s", provenance={"fetch_date": f"2020-0{i + 1}"})
        for i, t in enumerate(texts)
    ]
    for keep in ("smallest_id", "oldest"):
        cfg = ExactDedupConfig(keep=keep)
        groups = {}
        for d in ds:
            groups.setdefault(dedup_key(d.text), []).append(d)
        survivors = {choose_survivor(g, keep).id: len(g) - 1 for g in groups.values()}
        with beam.Pipeline() as p:
            res = p | f"create:{keep}" >> beam.Create(ds) | ExactDedup(cfg, str(tmp_path / keep))
            kept = res.kept | "kept" >> beam.Map(lambda d: (d.id, d.metadata["exact_duplicates"]))
            assert_that(kept, equal_to(sorted(survivors.items())), label="kept")
            dups = res.rejected | "rej" >> beam.Map(lambda r: (r.doc.id, r.reason, r.details["duplicate_of"]))
            expected = [
                (d.id, "duplicate", choose_survivor(groups[dedup_key(d.text)], keep).id)
                for d in ds
                if d.id not in survivors
            ]
            assert_that(dups, equal_to(expected), label="rejected")


def test_keyed_writer_keeps_each_key_in_files_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "FILE_BYTES", 300)
    w = S.KeyedSpillWriter(str(tmp_path / "k"), size_of=len, frame_bytes=100)
    # incompressible items, so files roll over at FILE_BYTES (compressed bytes)
    items = [(i % 3, hashlib.sha256(str(i).encode()).digest() * (i % 2 + 1)) for i in range(60)]
    done = [d for d in (w.add(k, v) for k, v in items) if d is not None] + w.close()
    assert len(done) > 3 and len({p for _, p in done}) == len(done)
    back = {k: [v for key, p in done if key == k for v in S.read_spill(p)] for k in range(3)}
    assert back == {k: [v for key, v in items if key == k] for k in range(3)}


def test_several_decisions_for_a_document_are_merged_from_their_files(tmp_path):
    original = docs(30)

    def apply(doc, decision):
        doc.metadata["total"] = decision
        return doc

    with beam.Pipeline() as p:
        paths = spill.spill(p | beam.Create(original), str(tmp_path / "w"), "spill")
        located = spill.read_located(paths, "read")
        # two producers, and the first names every document twice: three decisions each
        first = located | "twice" >> beam.FlatMap(lambda ld: [(ld.path, (ld.doc.id, 1)), (ld.path, (ld.doc.id, 10))])
        second = located | "once" >> beam.Map(lambda ld: (ld.path, (ld.doc.id, 100)))
        res = spill.apply_decisions(paths, [first, second], apply, "t", "apply", merge=sum)
        got = res.kept | beam.Map(lambda d: (d.id, d.metadata["total"]))
        assert_that(got, equal_to([(d.id, 111) for d in original]))


def test_several_decisions_without_a_merge_function_are_an_error(tmp_path):
    writer = S.SpillWriter(str(tmp_path / "d"), size_of=lambda entry: 16)
    for entry in [("d0001", 1), ("d0001", 2), ("d0002", 3)]:
        writer.add(entry)
    files = [writer.close()]
    assert spill.decisions_by_id(files, merge=max) == {"d0001": 2, "d0002": 3}
    with pytest.raises(ValueError, match="d0001: several decisions"):
        spill.decisions_by_id(files)
