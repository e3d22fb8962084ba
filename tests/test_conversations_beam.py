"""The Beam path for conversations: trees grouped across files (through work files per
tree bucket), counters that balance."""

from __future__ import annotations

import collections
import hashlib
import json
import pickle

import apache_beam as beam
import pytest
from apache_beam.metrics import MetricsFilter

from curate.config import InputConfig, build
from curate.counters import NAMESPACE, balanced, counts_from_counters
from curate.document import Document
from curate.readers.conversations import ConversationConfig, read_conversations
from pipelines.conversations import ReadConversations
from pipelines.stages import count_outcomes
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


def _threads(docs):
    """A run's threads, whatever their source name: (message ids, text), sorted."""
    return sorted((d.metadata["conversation"]["message_ids"], d.text) for d in docs)


def _fixture_inputs(tmp_path):
    """Tree t1 spans two files, children first; defects: orphan, cycle, duplicate, bad
    JSON, no tree id. Plus the real OpenAssistant sample, nested and flat, if present."""
    m = lambda mid, parent, **kw: {  # noqa: E731
        "message_id": mid,
        "parent_id": parent,
        "text": f"text {mid}",
        "role": kw.pop("role", "prompter"),
        "message_tree_id": kw.pop("tree", "t1"),
        **kw,
    }
    (tmp_path / "fixture").mkdir()
    _write(tmp_path / "fixture" / "a.jsonl", [m("c", "b"), m("o", "nowhere"), "{oops", m("x", "y"), m("y", "x")])
    _write(
        tmp_path / "fixture" / "b.jsonl",
        [m("b", "a", role="assistant"), m("a", None), m("b", "a", role="assistant"), m("n", None, tree=None)],
    )
    inputs = [
        InputConfig("messages", [str(tmp_path / "fixture" / "*.jsonl")], "fixture", build(ConversationConfig, {})),
    ]
    oasst = SHARED_DATA / "conversations"
    if (oasst / "oasst-en-100-flat.jsonl").exists():
        cfg = build(ConversationConfig, {})
        inputs += [
            InputConfig("messages", [str(oasst / "oasst-en-100-flat.jsonl")], "flat", cfg),
            InputConfig("oasst_trees", [str(oasst / "oasst-en-100-trees.jsonl")], "nested", cfg),
        ]
    return inputs


DELETED_OPTIONS = {
    "drop": {},
    "placeholder": {"deleted_parent": "keep_placeholder"},
    "splice": {"deleted_parent": "splice", "rank_order": "descending"},
}


@pytest.fixture(scope="module")
def beam_run(tmp_path_factory):
    """One pipeline for every test here: each input's kept, rejected and errors
    (``collected["name/part"]``), and the counts from the counters."""
    tmp_path = tmp_path_factory.mktemp("conversations")
    trees_path, flat_path, n_messages = _deleted_inputs(tmp_path)
    inputs = _fixture_inputs(tmp_path) + [
        InputConfig(kind, [path], f"{shape}_{label}", build(ConversationConfig, opts))
        for label, opts in DELETED_OPTIONS.items()
        for kind, path, shape in (("oasst_trees", trees_path, "nested"), ("messages", flat_path, "flat"))
    ]
    p = beam.Pipeline(runner="FnApiRunner")
    for inp in inputs:
        res = count_outcomes(p | f"read {inp.name}" >> ReadConversations(inp), f"read {inp.name}")
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
    return {
        "inputs": inputs,
        "collected": collected,
        "counts": counts_from_counters(values),
        "flat_path": flat_path,
        "n_messages": n_messages,
    }


def test_beam_groups_trees_across_files_and_counts_every_unit(beam_run):
    inputs = [i for i in beam_run["inputs"] if i.name in ("fixture", "flat", "nested")]
    collected, counts = beam_run["collected"], beam_run["counts"]
    have_oasst = len(inputs) == 3
    oasst = SHARED_DATA / "conversations"

    fx = counts["by_source"]["fixture"]
    assert fx["dropped"] == {
        "read:cycle": 2,
        "read:duplicate_message_id": 1,
        "read:missing_tree_id": 1,
        "read:orphan_message": 1,
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
        assert _threads(flat) == _threads(nested)
        # the Beam path and the in-memory path agree
        with open(oasst / "oasst-en-100-flat.jsonl", "rb") as f:
            local = [
                d
                for d in read_conversations("messages", [("x", f)], "flat", ConversationConfig())
                if isinstance(d, Document)
            ]
        assert sorted((d.id, d.text) for d in local) == sorted((d.id, d.text) for d in flat)
        assert counts["by_source"]["flat"]["input"] == 626 == counts["by_source"]["nested"]["input"]
    # with kept added as the writer would, the identity holds over all sources
    counts = dict(counts, kept=sum(len(collected[f"{i.name}/kept"]) for i in beam_run["inputs"]))
    assert balanced(counts)


def _plant_deletions(node_or_msg):
    """Deterministically (sha1 of the id) turns ~1 message in 4 into a Reddit-style
    ``[deleted]`` placeholder, so replies sit under deleted parents."""
    digest = hashlib.sha1(str(node_or_msg["message_id"]).encode()).digest()
    if digest[0] % 4 == 0:
        node_or_msg["text"] = "[deleted]"


def _deleted_inputs(tmp_path):
    """The same trees, nested and flat, with deleted parents: the real OpenAssistant
    sample when present, else a tree built here."""
    oasst = SHARED_DATA / "conversations"
    if (oasst / "oasst-en-100-trees.jsonl").exists():
        trees = [json.loads(line) for line in (oasst / "oasst-en-100-trees.jsonl").read_text().splitlines()]
        flat = [json.loads(line) for line in (oasst / "oasst-en-100-flat.jsonl").read_text().splitlines()]
    else:
        flat = [
            {
                "message_id": f"m{i}",
                "parent_id": f"m{(i - 1) // 2}" if i else None,
                "text": f"text {i}",
                "role": "assistant" if i % 2 else "prompter",
                "message_tree_id": "t",
                "rank": i % 3,
            }
            for i in range(40)
        ]
        nodes = {m["message_id"]: dict(m, replies=[]) for m in flat}
        for m in flat[1:]:
            nodes[m["parent_id"]]["replies"].append(nodes[m["message_id"]])
        trees = [{"message_tree_id": "t", "prompt": nodes["m0"]}]
    for m in flat:
        _plant_deletions(m)
    for tree in trees:
        stack = [tree["prompt"]]
        while stack:
            node = stack.pop()
            _plant_deletions(node)
            stack.extend(node.get("replies") or [])
    return _write(tmp_path / "trees.jsonl", trees), _write(tmp_path / "flat.jsonl", flat), len(flat)


def test_beam_deleted_parent_options_nested_equals_flat_and_every_message_counted(beam_run):
    option_sets = DELETED_OPTIONS
    counts, flat_path, n_messages = beam_run["counts"], beam_run["flat_path"], beam_run["n_messages"]
    got = {tuple(k.split("/")): v for k, v in beam_run["collected"].items()}

    kept_by_option = {}
    for label, opts in option_sets.items():
        nested, flat = f"nested_{label}", f"flat_{label}"
        # nested and flat give identical thread sets (the ids differ only by source name)
        assert _threads(got[nested, "kept"]) == _threads(got[flat, "kept"])
        assert counts["by_source"][nested]["dropped"] == counts["by_source"][flat]["dropped"]
        # the Beam path equals the core's in-memory path
        with open(flat_path, "rb") as f:
            local = [
                d
                for d in read_conversations("messages", [(flat_path, f)], flat, build(ConversationConfig, opts))
                if isinstance(d, Document)
            ]
        assert sorted((d.id, d.text) for d in local) == sorted((d.id, d.text) for d in got[flat, "kept"])
        for name in (nested, flat):
            assert not got[name, "errors"]
            # every message is on a produced thread (kept or dropped as a thread) or rejected once
            on_threads = {m for d in got[name, "kept"] for m in d.metadata["conversation"]["message_ids"]}
            rejected_messages = []
            for r in got[name, "rejected"]:
                conversation = r.doc.metadata["conversation"]
                if "message_id" in conversation:
                    rejected_messages.append(conversation["message_id"])
                else:
                    on_threads.update(conversation["message_ids"])
            assert len(rejected_messages) == len(set(rejected_messages))
            assert not on_threads & set(rejected_messages)
            assert len(on_threads) + len(rejected_messages) == n_messages, (name, opts)
            src = counts["by_source"][name]
            assert src["input"] == len(got[name, "kept"]) + sum(src["dropped"].values())
        kept_by_option[label] = got[flat, "kept"]
    dropped = {label: counts["by_source"][f"flat_{label}"]["dropped"] for label in option_sets}
    # dropping subtrees loses replies the other two options keep
    assert dropped["drop"]["read:ancestor_excluded"] > 0
    assert "read:ancestor_excluded" not in dropped["placeholder"] and "read:ancestor_excluded" not in dropped["splice"]
    assert len(kept_by_option["drop"]) < len(kept_by_option["splice"]) <= len(kept_by_option["placeholder"])
    assert any("placeholder_ids" in d.metadata["conversation"] for d in kept_by_option["placeholder"])
    assert all("[deleted]" not in d.text for d in kept_by_option["splice"])
