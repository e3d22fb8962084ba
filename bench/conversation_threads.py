"""Threads from the real OpenAssistant sample, nested and flat, under each option:
kept and dropped by reason, and messages/s of the core (in-memory grouping); then the
same with ~1 message in 4 turned into ``[deleted]`` under each ``deleted_parent``. No peer:
datatrove and NeMo Curator have no conversation-tree reader to compare with.

    python bench/conversation_threads.py [../shared/data/conversations]
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curate.config import build  # noqa: E402
from curate.document import Document  # noqa: E402
from curate.readers.conversations import ConversationConfig, read_conversations  # noqa: E402

OPTIONS = [{}, {"best_branch_only": True}, {"max_threads_per_tree": 3}, {"min_messages": 3}]
# On the sample with ~1 message in 4 turned into "[deleted]" (tests/test_conversations_beam.py)
DELETED_OPTIONS = [
    {},
    {"deleted_parent": "keep_placeholder"},
    {"deleted_parent": "splice"},
    {"deleted_parent": "splice", "rank_order": "descending"},
]


def compare(inputs, options, n_messages) -> None:
    """Each option on the nested and the flat file: units by outcome, messages/s, and
    whether both shapes give the same threads."""
    for opts in options:
        results = []
        for kind, path in inputs:
            start = time.perf_counter()
            with open(path, "rb") as f:
                out = list(read_conversations(kind, [(path, f)], "conversations", build(ConversationConfig, opts)))
            secs = time.perf_counter() - start
            counts = collections.Counter("kept" if isinstance(o, Document) else f"read:{o.reason}" for o in out)
            texts = sorted((o.id, o.text) for o in out if isinstance(o, Document))
            results.append(texts)
            print(
                f"{kind:12s} {json.dumps(opts):32s} units {len(out):5d}  {dict(sorted(counts.items()))}  "
                f"{n_messages / secs:,.0f} messages/s"
            )
        print(f"{'':12s} nested and flat identical: {results[0] == results[1]}")


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/conversations"
    inputs = [
        ("oasst_trees", os.path.join(folder, "oasst-en-100-trees.jsonl")),
        ("messages", os.path.join(folder, "oasst-en-100-flat.jsonl")),
    ]
    with open(inputs[1][1], "rb") as f:
        n_messages = sum(1 for line in f if line.strip())
    compare(inputs, OPTIONS, n_messages)

    from tests.test_conversations_beam import _deleted_inputs

    with tempfile.TemporaryDirectory() as tmp:
        trees, flat, n = _deleted_inputs(pathlib.Path(tmp))
        print(f"\nwith deleted parents: {n} messages, ~1 in 4 turned into [deleted]")
        compare([("oasst_trees", trees), ("messages", flat)], DELETED_OPTIONS, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
