"""Conversation trees -> threads: both input shapes, every defect, the options."""

from __future__ import annotations

import collections
import gzip
import io
import json

import pytest

from curate.config import ConfigError, build
from curate.document import Document, ErrorRecord, Rejected, make_id
from curate.readers.conversations import (
    ConversationConfig,
    read_conversations,
)
from tests.conftest import shared_path

SRC = "conversations"


def msg(mid, parent, text="hi", role="prompter", tree="t1", **extra):
    m = {"message_id": mid, "parent_id": parent, "text": text, "role": role, "message_tree_id": tree}
    m.update(extra)
    return m


def flat_file(*records, name="flat.jsonl"):
    """A flat file: dicts become JSON lines, strings are written as they are (bad lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return name, io.BytesIO(("\n".join(lines) + "\n").encode())


def run(kind, *files, **options):
    cfg = build(ConversationConfig, options)
    return list(read_conversations(kind, list(files), SRC, cfg))


def summary(items):
    return collections.Counter(
        "doc" if isinstance(i, Document) else f"drop:{i.reason}" if isinstance(i, Rejected) else "error" for i in items
    )


def docs(items):
    return {d.id: d.text for d in items if isinstance(d, Document)}


# A small tree: root a (user) with replies b (rank 1) and c (rank 0); c has reply d.
TREE = [
    msg("a", None, "Question?"),
    msg("b", "a", "Second best.", role="assistant", rank=1),
    msg("c", "a", "Best answer.", role="assistant", rank=0),
    msg("d", "c", "Thanks!", role="prompter"),
]


def nested(records, tree="t1"):
    """The nested shape of a list of flat messages (first one is the root)."""
    nodes = {r["message_id"]: {k: v for k, v in r.items() if k not in ("message_tree_id",)} for r in records}
    for n in nodes.values():
        n["replies"] = []
    for r in records[1:]:
        nodes[r["parent_id"]]["replies"].append(nodes[r["message_id"]])
    return {"message_tree_id": tree, "prompt": nodes[records[0]["message_id"]]}


def test_threads_rendered_with_roles_and_stable_ids():
    out = run("messages", flat_file(*reversed(TREE)))  # children before parents
    assert summary(out) == {"doc": 2}
    by_leaf = {d.metadata["conversation"]["message_ids"][-1]: d for d in out}
    assert by_leaf["d"].text == "User: Question?\n\nAssistant: Best answer.\n\nUser: Thanks!"
    assert by_leaf["d"].id == make_id(SRC, "t1", "d")
    assert by_leaf["b"].text == "User: Question?\n\nAssistant: Second best."
    assert by_leaf["d"].metadata["conversation"]["message_ids"] == ["a", "c", "d"]
    assert by_leaf["d"].provenance == {"input_file": "flat.jsonl", "record_id": "d", "line": 1}
    # best-ranked thread comes first
    assert [d.metadata["conversation"]["message_ids"][-1] for d in out] == ["d", "b"]


def test_nested_and_flat_give_the_same_threads_and_gzip_is_read():
    flat = run("messages", flat_file(TREE[2], TREE[0], TREE[3], TREE[1]))
    gz = gzip.compress((json.dumps(nested(TREE)) + "\n").encode())
    trees = run("oasst_trees", ("trees.jsonl.gz", io.BytesIO(gz)))
    assert docs(trees) == docs(flat) and len(docs(flat)) == 2


def test_tree_spanning_files():
    out = run("messages", flat_file(TREE[3], TREE[1], name="a.jsonl"), flat_file(TREE[0], TREE[2], name="b.jsonl"))
    assert summary(out) == {"doc": 2}


def test_best_branch_only_and_deterministic_ties():
    out = run("messages", flat_file(*TREE), best_branch_only=True)
    assert summary(out) == {"doc": 1, "drop:not_best_branch": 1}
    assert [d.text for d in out if isinstance(d, Document)] == [
        "User: Question?\n\nAssistant: Best answer.\n\nUser: Thanks!"
    ]
    # equal (or missing) ranks: the smaller message id wins, whatever the input order
    tied = [msg("a", None, "Q"), msg("z", "a", "Z", role="assistant"), msg("m", "a", "M", role="assistant")]
    for order in (tied, list(reversed(tied))):
        kept = [d for d in run("messages", flat_file(*order), best_branch_only=True) if isinstance(d, Document)]
        assert [d.text for d in kept] == ["User: Q\n\nAssistant: M"]


def test_min_messages_and_max_threads():
    out = run("messages", flat_file(*TREE), min_messages=3)
    assert summary(out) == {"doc": 1, "drop:thread_too_short": 1}
    out = run("messages", flat_file(*TREE), max_threads_per_tree=1)
    assert summary(out) == {"doc": 1, "drop:too_many_threads": 1}
    assert docs(out) == {make_id(SRC, "t1", "d"): "User: Question?\n\nAssistant: Best answer.\n\nUser: Thanks!"}
    # a lone prompt is no conversation under the default minimum of 2
    assert summary(run("messages", flat_file(msg("x", None, tree="t9")))) == {"drop:thread_too_short": 1}


def test_deleted_and_empty_messages_and_their_subtrees():
    records = [
        msg("a", None, "Q"),
        msg("b", "a", "gone", role="assistant", deleted=True),
        msg("b2", "b", "reply to deleted"),
        msg("c", "a", "   ", role="assistant"),
        msg("e", "a", "[deleted]", role="assistant"),
        msg("f", "a", "fine", role="assistant"),
        msg("g", "a", None, role="assistant"),
    ]
    out = run("messages", flat_file(*records))
    assert summary(out) == {
        "doc": 1,
        "drop:deleted_message": 2,  # the flag and the "[deleted]" text
        "drop:ancestor_excluded": 1,
        "drop:empty_message": 2,  # whitespace and null text
    }
    # including deleted messages keeps them (and their replies) in threads
    out = run("messages", flat_file(*records), include_deleted=True)
    assert summary(out) == {"doc": 2, "drop:empty_message": 2, "drop:deleted_message": 1}
    assert "User: Q\n\nAssistant: gone\n\nUser: reply to deleted" in docs(out).values()


# A Reddit-like tree with deleted parents: a <- b (flag deleted) <- b2 <- b3, a <- e
# ("[deleted]" leaf), a <- f, a <- d1 ("[removed]") <- d2 ("[deleted]") <- r, and a
# deleted root z ("[deleted]") <- z1 <- z2; o ("[deleted]") is an orphan with reply o1.
DELETED_TREE = [
    msg("a", None, "Q"),
    msg("b", "a", "gone", role="assistant", deleted=True),
    msg("b2", "b", "reply to deleted"),
    msg("b3", "b2", "and its answer", role="assistant"),
    msg("e", "a", "[deleted]", role="assistant"),
    msg("f", "a", "fine", role="assistant"),
    msg("d1", "a", "[removed]", role="assistant"),
    msg("d2", "d1", "[deleted]"),
    msg("r", "d2", "under two deleted", role="assistant"),
    msg("z", None, "[deleted]", role=None),
    msg("z1", "z", "top reply", role="assistant"),
    msg("z2", "z1", "thanks"),
    msg("o", "nowhere", "[deleted]"),
    msg("o1", "o", "orphaned reply", role="assistant"),
]


def thread_texts(items):
    return {tuple(d.metadata["conversation"]["message_ids"]): d.text for d in items if isinstance(d, Document)}


def test_deleted_parent_drop_subtree_is_the_default():
    out = run("messages", flat_file(*DELETED_TREE))
    assert out == run("messages", flat_file(*DELETED_TREE), deleted_parent="drop_subtree")
    assert thread_texts(out) == {("a", "f"): "User: Q\n\nAssistant: fine"}
    assert summary(out) == {"doc": 1, "drop:deleted_message": 6, "drop:ancestor_excluded": 6}


def test_deleted_parent_keep_placeholder():
    out = run("messages", flat_file(*DELETED_TREE), deleted_parent="keep_placeholder")
    assert thread_texts(out) == {
        (
            "a",
            "b",
            "b2",
            "b3",
        ): "User: Q\n\nAssistant: [deleted]\n\nUser: reply to deleted\n\nAssistant: and its answer",
        ("a", "f"): "User: Q\n\nAssistant: fine",
        ("a", "d1", "d2", "r"): "User: Q\n\nAssistant: [deleted]\n\nUser: [deleted]\n\nAssistant: under two deleted",
        ("z", "z1", "z2"): "[deleted]\n\nAssistant: top reply\n\nUser: thanks",  # no role: written bare
    }
    by_leaf = {d.metadata["conversation"]["message_ids"][-1]: d for d in out if isinstance(d, Document)}
    assert by_leaf["r"].metadata["conversation"]["placeholder_ids"] == ["d1", "d2"]
    assert "placeholder_ids" not in by_leaf["f"].metadata["conversation"]
    # the deleted leaf e and the orphan o are deleted messages; o's reply cannot reach a root
    assert summary(out) == {"doc": 4, "drop:deleted_message": 2, "drop:ancestor_excluded": 1}
    rejected = {i.doc.metadata["conversation"]["message_id"]: i.reason for i in out if isinstance(i, Rejected)}
    assert rejected == {"e": "deleted_message", "o": "deleted_message", "o1": "ancestor_excluded"}
    # a placeholder is not a message of the conversation: [deleted] + one reply is too short
    short = run(
        "messages",
        flat_file(msg("p", None, "[deleted]"), msg("q", "p", "lone", role="assistant")),
        deleted_parent="keep_placeholder",
    )
    assert summary(short) == {"drop:thread_too_short": 1}
    assert short[0].details == {"num_messages": 1}
    custom = run(
        "messages",
        flat_file(*DELETED_TREE[:4]),
        deleted_parent="keep_placeholder",
        placeholder_text="(message deleted)",
    )
    assert list(thread_texts(custom).values()) == [
        "User: Q\n\nAssistant: (message deleted)\n\nUser: reply to deleted\n\nAssistant: and its answer"
    ]


def test_deleted_parent_splice():
    out = run("messages", flat_file(*DELETED_TREE), deleted_parent="splice")
    assert thread_texts(out) == {
        ("a", "b2", "b3"): "User: Q\n\nUser: reply to deleted\n\nAssistant: and its answer",
        ("a", "f"): "User: Q\n\nAssistant: fine",
        ("a", "r"): "User: Q\n\nAssistant: under two deleted",
        ("z1", "z2"): "Assistant: top reply\n\nUser: thanks",  # the deleted root's reply is a root
    }
    rejected = {i.doc.metadata["conversation"]["message_id"]: i.reason for i in out if isinstance(i, Rejected)}
    assert rejected == {**{m: "deleted_message" for m in ("b", "e", "d1", "d2", "z", "o")}, "o1": "ancestor_excluded"}
    # spliced replies join their new parent's children, ranked with them
    ranked = [
        msg("a", None, "Q"),
        msg("x", "a", "[deleted]", role="assistant", rank=0),
        msg("y", "x", "second", role="assistant", rank=2),
        msg("w", "a", "first", role="assistant", rank=1),
    ]
    kept = [d.text for d in run("messages", flat_file(*ranked), deleted_parent="splice") if isinstance(d, Document)]
    assert kept == ["User: Q\n\nAssistant: first", "User: Q\n\nAssistant: second"]


def test_rank_order_descending_ranks_by_score():
    scored = [
        msg("a", None, "Q"),
        msg("lo", "a", "low", role="assistant", score=-3),
        msg("hi", "a", "high", role="assistant", score=42),
        msg("mid", "a", "mid", role="assistant", score=7),
        msg("none", "a", "unscored", role="assistant"),
    ]

    def order(**o):
        return [
            d.metadata["conversation"]["message_ids"][-1]
            for d in run("messages", flat_file(*scored), rank_field="score", **o)
            if isinstance(d, Document)
        ]

    assert order() == ["lo", "mid", "hi", "none"]  # ascending: lowest first, unranked last
    assert order(rank_order="descending") == ["hi", "mid", "lo", "none"]
    assert order(rank_order="descending", best_branch_only=True) == ["hi"]
    assert order(rank_order="descending", max_threads_per_tree=2) == ["hi", "mid"]


@pytest.mark.parametrize(
    "options",
    [
        {"deleted_parent": "keep_placeholder"},
        {"deleted_parent": "splice"},
        {"deleted_parent": "splice", "rank_order": "descending", "best_branch_only": True},
    ],
)
def test_deleted_parent_nested_and_flat_agree(options):
    tree = [dict(m, message_tree_id="t1") for m in DELETED_TREE if m["message_id"] not in ("z", "z1", "z2", "o", "o1")]
    flat = run("messages", flat_file(*reversed(tree)), **options)
    trees = run("oasst_trees", flat_file(nested(tree), name="trees.jsonl"), **options)
    assert docs(flat) == docs(trees) and summary(flat) == summary(trees) and docs(flat)


def test_orphans_cycles_duplicates_missing_fields():
    records = [
        msg("a", None, "Q"),
        msg("b", "a", "A", role="assistant"),
        msg("o", "nowhere", "orphan"),
        msg("o2", "o", "child of orphan", role="assistant"),
        msg("x", "y", "cycle 1"),
        msg("y", "x", "cycle 2"),
        msg("x2", "x", "hangs off the cycle"),
        msg("s", "s", "self parent"),
        msg("b", "a", "duplicate of b", role="assistant"),
        msg("r", "a", "no role", role=None),
        msg("n", "a", "no tree", tree=None),
    ]
    out = run("messages", flat_file(*records))
    assert summary(out) == {
        "doc": 1,
        "drop:orphan_message": 1,
        "drop:ancestor_excluded": 2,  # o2 under the orphan, x2 under the cycle
        "drop:cycle": 3,  # x, y and the self-parented s
        "drop:duplicate_message_id": 1,
        "drop:missing_role": 1,
        "drop:missing_tree_id": 1,
    }
    dup = next(i for i in out if isinstance(i, Rejected) and i.reason == "duplicate_message_id")
    assert dup.doc.text == "duplicate of b" and dup.doc.provenance["line"] == 9  # the later copy goes
    assert all(i.stage == "read" for i in out if isinstance(i, Rejected))
    # rejected-message ids never collide with thread ids or each other
    ids = [i.doc.id if isinstance(i, Rejected) else i.id for i in out]
    assert len(ids) == len(set(ids))


def test_malformed_lines_become_error_records():
    out = run(
        "messages",
        flat_file(
            TREE[0],
            "{not json",
            "[1, 2]",
            json.dumps({"text": "no id", "message_tree_id": "t1"}),
            json.dumps(msg("q", "a", text=["not", "a", "string"])),
            "",
            TREE[1],
        ),
    )
    errors = [i for i in out if isinstance(i, ErrorRecord)]
    assert [e.locator for e in errors] == ["line 2", "line 3", "line 4", "line 5"]
    assert all(e.stage == "read" and e.input_file == "flat.jsonl" for e in errors)
    assert summary(out) == {"doc": 1, "error": 4}  # the blank line is not a record


def test_nested_defects():
    tree = nested(TREE)
    tree["prompt"]["replies"].append("not an object")
    tree["prompt"]["replies"][0]["replies"] = "not a list"
    no_tree_id = {
        "prompt": {
            "message_id": "r",
            "text": "Hi",
            "role": "prompter",
            "replies": [{"message_id": "s", "text": "Yo", "role": "assistant"}],
        }
    }
    out = run(
        "oasst_trees",
        flat_file(tree, "{bad", json.dumps({"no_prompt": 1}), no_tree_id, name="trees.jsonl"),
    )
    errors = [i for i in out if isinstance(i, ErrorRecord)]
    assert sorted(e.locator for e in errors) == ["line 1 message 2", "line 1 message 5", "line 2", "line 3"]
    # b (replies not a list) is lost with its subtree; c->d and the id-less tree remain
    assert sorted(docs(out).values()) == [
        "User: Hi\n\nAssistant: Yo",
        "User: Question?\n\nAssistant: Best answer.\n\nUser: Thanks!",
    ]
    assert make_id(SRC, "r", "s") in docs(out)  # tree id falls back to the root's id


def test_deep_tree_needs_no_recursion():
    chain = [msg("m0", None, "start")] + [
        msg(f"m{i}", f"m{i - 1}", f"turn {i}", role="assistant" if i % 2 else "prompter") for i in range(1, 3000)
    ]
    out = run("messages", flat_file(*chain))
    assert summary(out) == {"doc": 1}
    assert len(out[0].metadata["conversation"]["message_ids"]) == 3000


def test_config_validation():
    with pytest.raises(ConfigError, match="min_messages"):
        build(ConversationConfig, {"min_messages": 0})
    with pytest.raises(ConfigError, match="max_threads_per_tree"):
        build(ConversationConfig, {"max_threads_per_tree": 0})
    with pytest.raises(ConfigError, match="unknown key"):
        build(ConversationConfig, {"best_branch": True})
    with pytest.raises(ConfigError, match="deleted_parent: expected one of"):
        build(ConversationConfig, {"deleted_parent": "keep"})
    with pytest.raises(ConfigError, match="rank_order: expected one of"):
        build(ConversationConfig, {"rank_order": "desc"})
    with pytest.raises(ConfigError, match="placeholder_text"):
        build(ConversationConfig, {"deleted_parent": "keep_placeholder", "placeholder_text": " "})


def test_custom_field_names_reddit_style():
    # Reddit: the tree is the post (not a message), top-level comments point at it.
    records = [
        {"id": "c1", "parent": "t3_post", "link": "t3_post", "body": "First!", "who": "user"},
        {
            "id": "c2",
            "parent": "c1",
            "link": "t3_post",
            "body": "Second.",
            "who": "assistant",
            "meta": {"score_rank": 0},
        },
    ]
    out = run(
        "messages",
        flat_file(*records),
        message_id_field="id",
        parent_id_field="parent",
        tree_id_field="link",
        text_field="body",
        role_field="who",
        rank_field="meta.score_rank",
    )
    assert docs(out) == {make_id(SRC, "t3_post", "c2"): "User: First!\n\nAssistant: Second."}


def test_openassistant_nested_and_flat_files_give_identical_threads():
    trees = shared_path("conversations", "oasst-en-100-trees.jsonl")
    flat = shared_path("conversations", "oasst-en-100-flat.jsonl")
    for options, kept in (({}, 626), ({"best_branch_only": True}, 100), ({"max_threads_per_tree": 3}, 299)):
        with open(trees, "rb") as t, open(flat, "rb") as f:
            a = run("oasst_trees", (str(trees), t), **options)
            b = run("messages", (str(flat), f), **options)
        assert summary(a) == summary(b) and len(a) == 626  # one unit per root-to-leaf path
        assert docs(a) == docs(b) and len(docs(a)) == kept
    with open(trees, "rb") as t:
        a = run("oasst_trees", (str(trees), t))
    # every one of the 1,167 messages is in a thread (no defects in this sample)
    in_threads = {m for d in a for m in d.metadata["conversation"]["message_ids"]}
    assert len(in_threads) == 1167 and len(docs(a)) == summary(a)["doc"]


def test_random_broken_trees_account_for_every_message():
    """Seeded random trees with every defect mixed in: no crash, and every message is
    either on a produced thread or rejected exactly once under its own reason."""
    import random

    rng = random.Random(7)
    for trial in range(120):
        n = rng.randint(1, 40)
        ids = [f"m{i}" for i in range(n)]
        records = []
        for i, mid in enumerate(ids):
            r = rng.random()
            parent = (
                None
                if i == 0 or r < 0.05
                else rng.choice(ids[:i])
                if r < 0.8
                else rng.choice(ids)
                if r < 0.93
                else "missing"
            )  # later ids make cycles
            text = rng.choice(["text", "", "more text", "[deleted]"]) if rng.random() < 0.15 else "t"
            records.append(
                msg(
                    mid,
                    parent,
                    text,
                    role=rng.choice(["prompter", "assistant"]),
                    rank=rng.choice([None, 0, 1, 2]),
                    deleted=rng.random() < 0.05,
                )
            )
        records += [dict(rng.choice(records)) for _ in range(rng.randint(0, 3))]  # duplicates
        rng.shuffle(records)
        options = rng.choice([{}, {"best_branch_only": True}, {"max_threads_per_tree": 2}, {"min_messages": 1}])
        options = dict(
            options,
            deleted_parent=rng.choice(["drop_subtree", "keep_placeholder", "splice"]),
            rank_order=rng.choice(["ascending", "descending"]),
        )
        out = run("messages", flat_file(*records), **options)
        rejected_messages = collections.Counter(
            i.doc.metadata["conversation"]["message_id"]
            for i in out
            if isinstance(i, Rejected) and "message_id" in i.doc.metadata["conversation"]
        )
        on_threads = {
            m
            for i in out
            for m in (i.doc if isinstance(i, Rejected) else i).metadata["conversation"].get("message_ids", [])
        }
        duplicates = len(records) - n
        assert sum(rejected_messages.values()) + len(on_threads) == n + duplicates, (trial, options)
        copied = {r["message_id"] for r in records if records.count(r) > 1}
        assert not (on_threads & set(rejected_messages)) - copied  # only a duplicate's copy is both
        for i in out:  # a placeholder stands above a reply, never at a thread's end
            conversation = (i.doc if isinstance(i, Rejected) else i).metadata["conversation"]
            assert conversation.get("message_ids", ["-"])[-1] not in conversation.get("placeholder_ids", [])
