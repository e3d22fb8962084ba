"""The Beam path for conversations: GroupByKey across files, counters that balance."""

from __future__ import annotations

import collections
import json
import pickle

import apache_beam as beam
from apache_beam.metrics import MetricsFilter

from curate.config import InputConfig, build
from curate.document import Document
from curate.readers.conversations import ConversationConfig, read_conversations
from pipelines.conversations import ReadConversations
from pipelines.counters import NAMESPACE, balanced, counts_from_counters
from tests.conftest import SHARED_DATA


def _write(path, records):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return str(path)


class _Collect(beam.PTransform):
    """Writes a PCollection's elements, as one pickled list, to a file (DoFns run pickled
    copies, so they cannot fill a dict of the test)."""

    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def expand(self, pcoll):
        def write(xs, path=self.path):
            with open(path, "wb") as f:
                pickle.dump(sorted(xs, key=repr), f)

        return pcoll | beam.combiners.ToList() | beam.Map(write)


def test_beam_groups_trees_across_files_and_counts_every_unit(tmp_path):
    m = lambda mid, parent, **kw: {  # noqa: E731
        "message_id": mid, "parent_id": parent, "text": f"text {mid}",
        "role": kw.pop("role", "prompter"), "message_tree_id": kw.pop("tree", "t1"), **kw,
    }
    # tree t1 spans two files, children first; defects: orphan, cycle, duplicate, bad JSON, no tree id
    a = _write(tmp_path / "a.jsonl", [m("c", "b"), m("o", "nowhere"), "{oops", m("x", "y"), m("y", "x")])
    b = _write(tmp_path / "b.jsonl", [m("b", "a", role="assistant"), m("a", None), m("b", "a", role="assistant"),
                                      m("n", None, tree=None)])
    inputs = [
        InputConfig("messages", [str(tmp_path / "*.jsonl")], "fixture", build(ConversationConfig, {})),
    ]
    oasst = SHARED_DATA / "conversations"
    have_oasst = (oasst / "oasst-en-100-flat.jsonl").exists()
    if have_oasst:
        cfg = build(ConversationConfig, {})
        inputs += [
            InputConfig("messages", [str(oasst / "oasst-en-100-flat.jsonl")], "flat", cfg),
            InputConfig("oasst_trees", [str(oasst / "oasst-en-100-trees.jsonl")], "nested", cfg),
        ]
    p = beam.Pipeline(runner="FnApiRunner")
    for inp in inputs:
        res = p | f"read {inp.name}" >> ReadConversations(inp)
        for part in ("kept", "rejected", "errors"):
            getattr(res, part) | f"{inp.name} {part}" >> _Collect(tmp_path / f"{inp.name}.{part}.pickle")
    result = p.run()
    result.wait_until_finish()
    collected = {
        f"{inp.name}/{part}": pickle.loads((tmp_path / f"{inp.name}.{part}.pickle").read_bytes())
        for inp in inputs
        for part in ("kept", "rejected", "errors")
    }
    counters = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    values = collections.Counter()
    for c in counters:  # one counter name can be incremented in several steps
        values[c.key.metric.name] += c.committed
    counts = counts_from_counters(values)

    fx = counts["by_source"]["fixture"]
    assert fx["dropped"] == {
        "read:cycle": 2, "read:duplicate_message_id": 1, "read:missing_tree_id": 1, "read:orphan_message": 1,
    }
    assert fx["errors"] == 1 and len(collected["fixture/errors"]) == 1
    kept = collected["fixture/kept"]
    assert [d.text for d in kept] == ["User: text a\n\nAssistant: text b\n\nUser: text c"]
    assert fx["kept"] == 0  # 'kept' is counted by the shard writer, not by readers
    # input == threads + defective units, exactly
    assert fx["input"] == len(kept) + sum(fx["dropped"].values()) + fx["errors"]
    assert len(collected["fixture/rejected"]) == sum(fx["dropped"].values())

    if have_oasst:
        flat, nested = collected["flat/kept"], collected["nested/kept"]
        assert len(flat) == 626
        strip = lambda docs: sorted((d.metadata["conversation"]["message_ids"], d.text) for d in docs)  # noqa: E731
        assert strip(flat) == strip(nested)
        # the Beam path and the in-memory path agree
        with open(oasst / "oasst-en-100-flat.jsonl", "rb") as f:
            local = [d for d in read_conversations("messages", [("x", f)], "flat", ConversationConfig())
                     if isinstance(d, Document)]
        assert sorted((d.id, d.text) for d in local) == sorted((d.id, d.text) for d in flat)
        assert counts["by_source"]["flat"]["input"] == 626 == counts["by_source"]["nested"]["input"]
    # with kept added as the writer would, the identity holds over all sources
    counts["kept"] = sum(len(collected[f"{i.name}/kept"]) for i in inputs)
    assert balanced(counts)
