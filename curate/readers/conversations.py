"""Conversation trees -> one document per root-to-leaf thread.

Two input shapes, one core:

* kind ``oasst_trees``: nested trees, one JSON object per line (OpenAssistant's
  export: ``{"message_tree_id", "prompt": {..., "replies": [...]}}``); a reply's
  parent is the message it is nested in.
* kind ``messages``: flat messages, one per line, each with its own id, its parent's
  id and its tree id (Reddit-style dumps). Children may come before parents and a
  tree may span files, so the Beam glue (``pipelines/conversations.py``) groups the
  parsed messages with a GroupByKey on the tree id before calling the core.

Both shapes are parsed into :class:`Message` values keyed by tree id, and every tree
goes through :func:`threads_for_tree`. See docs/sources-conversations-formats.md for
the rendering and the accounting (which units count as input).
"""

from __future__ import annotations

import dataclasses
import json
import math
import zlib
from typing import Any, Iterable, Iterator, Literal, Optional, Union

from curate.document import Document, ErrorRecord, Rejected, document_id, file_name, make_id
from curate.params import ConfigError, param
from curate.readers.common import (
    decompressed,
    field,
    numbered_lines,
    optional_str,
    read_error,
    read_reject,
    unreadable,
)
from curate.registry import register_reader

TREES_KIND = "oasst_trees"
MESSAGES_KIND = "messages"
DEFAULT_SOURCE = "conversations"

# Drop reasons (stage "read"). Message-level reasons count the message as one unit;
# thread-level reasons count the produced thread as one unit.
DUPLICATE = "duplicate_message_id"
DELETED = "deleted_message"
EMPTY = "empty_message"
MISSING_ROLE = "missing_role"
ORPHAN = "orphan_message"
CYCLE = "cycle"
ANCESTOR_EXCLUDED = "ancestor_excluded"
MISSING_TREE_ID = "missing_tree_id"
NOT_BEST_BRANCH = "not_best_branch"
TOO_SHORT = "thread_too_short"
TOO_MANY = "too_many_threads"

# What becomes of the replies under a deleted message (``deleted_parent``).
DROP_SUBTREE = "drop_subtree"  # they are dropped as ancestor_excluded (their thread lost its context)
KEEP_PLACEHOLDER = "keep_placeholder"  # the deleted message stays on their threads as ``placeholder_text``
SPLICE = "splice"  # they attach to the deleted message's parent (its nearest kept ancestor)


@dataclasses.dataclass
class ConversationConfig:
    min_messages: int = param(2, min=1)  # a thread with fewer messages is dropped (a lone prompt is no conversation)
    best_branch_only: bool = False  # keep one thread per tree: the best rank at every level
    include_deleted: bool = False
    # Replies under a deleted message (see DROP_SUBTREE, KEEP_PLACEHOLDER, SPLICE above).
    deleted_parent: Literal["drop_subtree", "keep_placeholder", "splice"] = "drop_subtree"
    placeholder_text: str = "[deleted]"  # keep_placeholder: the text written for a deleted message
    # Which rank is best: ascending (lowest first: OpenAssistant's rank 0, 1, 2 ...) or
    # descending (highest first: a score such as Reddit's votes).
    rank_order: Literal["ascending", "descending"] = "ascending"
    max_threads_per_tree: Optional[int] = param(None, min=1)  # keep the best-ranked N threads of each tree
    # How each role is written before its message; a role not listed is written as is.
    role_names: dict[str, str] = dataclasses.field(
        default_factory=lambda: {
            "prompter": "User",
            "user": "User",
            "human": "User",
            "assistant": "Assistant",
            "system": "System",
        }
    )
    # Placeholder texts of deleted messages in dumps without a deleted flag (Reddit):
    # deleted, include_deleted or not, since the text is gone (deleted_parent decides their replies).
    deleted_texts: list[str] = dataclasses.field(default_factory=lambda: ["[deleted]", "[removed]"])
    # Field names (a dotted name reads a nested object, e.g. ``meta.rank``).
    tree_id_field: str = "message_tree_id"
    message_id_field: str = "message_id"
    parent_id_field: str = "parent_id"  # flat shape only; nested replies take their parent from nesting
    role_field: str = "role"
    text_field: str = "text"
    rank_field: str = "rank"  # lower is better under rank_order: ascending (OpenAssistant: 0 is the best reply)
    deleted_field: str = "deleted"
    lang_field: str = "lang"
    root_field: str = "prompt"  # nested shape: the tree's root message
    replies_field: str = "replies"  # nested shape: a message's children
    max_record_bytes: int = param(16_000_000, min=1)  # a longer line is dropped unparsed (read:too_large)

    def validate(self, key: str) -> None:
        if self.deleted_parent == KEEP_PLACEHOLDER and not self.placeholder_text.strip():
            raise ConfigError(f"{key}.placeholder_text: must not be empty under deleted_parent: keep_placeholder")


@dataclasses.dataclass(frozen=True)
class Message:
    message_id: str
    parent_id: Optional[str]
    role: Optional[str]
    text: str
    rank: Optional[float]
    deleted: bool
    lang: Optional[str]
    input_file: str
    line: int
    position: int  # order within the line (nested shape: pre-order index), for stable sorting
    placeholder: bool = False  # a deleted message kept on its replies' threads (keep_placeholder)

    @property
    def order(self) -> tuple:
        return (self.input_file, self.line, self.position)

    def rank_key(self, descending: bool = False) -> tuple:
        """Best first: lowest rank (highest if ``descending``), unranked last, ties
        broken by message id."""
        if self.rank is None:
            return (math.inf, self.message_id)
        return (-self.rank if descending else self.rank, self.message_id)


Parsed = Union[tuple[str, Message], Rejected, ErrorRecord]


# ----------------------------------------------------------------------------- parsing


def _message(obj, parent_id, path, line, position, source, cfg) -> Union[Message, ErrorRecord]:
    locator = f"line {line}" if position == 0 else f"line {line} message {position}"
    if not isinstance(obj, dict):
        return read_error(path, locator, source, f"message is a {type(obj).__name__}, not an object")
    message_id = optional_str(field(obj, cfg.message_id_field))
    if message_id is None:
        return read_error(path, locator, source, f"missing or invalid {cfg.message_id_field!r}")
    text = field(obj, cfg.text_field)
    if text is None:
        text = ""
    elif not isinstance(text, str):
        return read_error(path, locator, source, f"{cfg.text_field!r} is a {type(text).__name__}, not a string")
    role = field(obj, cfg.role_field)
    rank = field(obj, cfg.rank_field)
    lang = field(obj, cfg.lang_field)
    return Message(
        message_id=message_id,
        parent_id=parent_id,
        role=role if isinstance(role, str) and role else None,
        text=text,
        rank=float(rank) if isinstance(rank, (int, float)) and not isinstance(rank, bool) else None,
        deleted=field(obj, cfg.deleted_field) is True,
        lang=lang if isinstance(lang, str) else None,
        input_file=path,
        line=line,
        position=position,
    )


def _rejected_message(m: Message, tree_id: str, source: str, reason: str, **details) -> Rejected:
    doc = Document(
        id=make_id(source, "message", file_name(m.input_file), m.line, m.position),
        text=m.text,
        source=source,
        provenance={"input_file": m.input_file, "record_id": m.message_id, "line": m.line},
        metadata={"conversation": {"tree_id": tree_id, "message_id": m.message_id, "role": m.role}},
    )
    return read_reject(doc, reason, **details)


def parse_message_line(path: str, line: int, raw: bytes, source: str, cfg: ConversationConfig) -> Parsed:
    """One flat message line -> (tree id, Message), or a Rejected/ErrorRecord."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as e:
        return read_error(path, f"line {line}", source, f"invalid JSON: {e}")
    parent_id = optional_str(field(obj, cfg.parent_id_field)) if isinstance(obj, dict) else None
    m = _message(obj, parent_id, path, line, 0, source, cfg)
    if isinstance(m, ErrorRecord):
        return m
    tree_id = optional_str(field(obj, cfg.tree_id_field))
    if tree_id is None:
        return _rejected_message(m, "", source, MISSING_TREE_ID)
    return tree_id, m


def parse_tree_line(path: str, line: int, raw: bytes, source: str, cfg: ConversationConfig) -> Iterator[Parsed]:
    """One nested tree line -> (tree id, Message) for every message in it, or errors.

    The tree id is the line's ``tree_id_field``, else the root's message id (the
    OpenAssistant convention). Walks with an explicit stack: no recursion limit.
    """
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as e:
        yield read_error(path, f"line {line}", source, f"invalid JSON: {e}")
        return
    root = field(obj, cfg.root_field) if isinstance(obj, dict) else None
    if not isinstance(root, dict):
        yield read_error(path, f"line {line}", source, f"no {cfg.root_field!r} object (not a nested tree)")
        return
    # Never None past the root: a root without a message id is an error that ends the walk.
    tree_id = optional_str(field(obj, cfg.tree_id_field)) or optional_str(field(root, cfg.message_id_field))
    position = 0
    stack: list[tuple[Any, Optional[str]]] = [(root, None)]
    while stack:
        node, parent_id = stack.pop()
        position += 1
        m = _message(node, parent_id, path, line, position, source, cfg)
        if isinstance(m, ErrorRecord):
            # its replies cannot be placed without its id: the error stands for the subtree
            yield m
            continue
        replies = field(node, cfg.replies_field)
        if replies is None:
            replies = []
        if not isinstance(replies, list):
            yield read_error(
                path,
                f"line {line} message {position}",
                source,
                f"{cfg.replies_field!r} of message {m.message_id} is not a list",
            )
            continue
        assert tree_id is not None  # never None past the root (above)
        yield tree_id, m
        for reply in reversed(replies):  # reversed: pop() then visits them in file order
            stack.append((reply, m.message_id))


# Both kinds group messages across lines and files (a GroupByKey on the tree id), so
# their Beam transform reads the files: parse_file per file, threads_for_tree per tree.
@register_reader(TREES_KIND, ConversationConfig, DEFAULT_SOURCE, transform="pipelines.conversations:ReadConversations")
@register_reader(
    MESSAGES_KIND, ConversationConfig, DEFAULT_SOURCE, transform="pipelines.conversations:ReadConversations"
)
def parse_file(kind: str, path: str, fileobj, source: str, cfg: ConversationConfig) -> Iterator[Parsed]:
    """Every message of one file (gzip recognised), blank lines skipped. Input that
    breaks off (a cut or corrupt gzip stream) ends the file with one error."""
    line = 0
    try:
        for line, raw in numbered_lines(decompressed(fileobj, path), cfg.max_record_bytes):
            if raw is None:  # never parsed: one drop for the line, whatever it holds
                doc = Document(
                    document_id(source, path, f"line {line}"),
                    "",
                    source,
                    {"input_file": path, "record_id": f"line {line}"},
                )
                yield read_reject(doc, "too_large", max_record_bytes=cfg.max_record_bytes)
                continue
            if not raw.strip():
                continue
            if kind == TREES_KIND:
                yield from parse_tree_line(path, line, raw, source, cfg)
            else:
                yield parse_message_line(path, line, raw, source, cfg)
    except (OSError, EOFError, zlib.error) as e:
        yield unreadable(path, f"after line {line}", source, e)


# ----------------------------------------------------------------------------- core


def _statuses(tree_id: str, by_id: dict[str, Message], excluded: dict[str, str]) -> dict[str, str]:
    """Each message's status: "ok" (reaches a root), its own exclusion reason, or
    orphan / cycle / ancestor_excluded. Iterative, every message walked once."""
    status: dict[str, str] = dict(excluded)

    def is_root(m: Message) -> bool:
        # A parent equal to the tree id that is not itself a message is the tree's
        # (absent) head, as in Reddit dumps where top-level comments point at the post.
        return m.parent_id is None or (m.parent_id == tree_id and tree_id not in by_id)

    for mid in sorted(by_id):
        if mid in status:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        cur = mid
        while True:
            if cur in status:
                base = status[cur]
                break
            m = by_id[cur]
            if is_root(m):
                status[cur] = base = "ok"
                break
            if m.parent_id not in by_id:
                status[cur] = base = ORPHAN
                break
            if cur in on_path:
                for member in path[on_path[cur] :]:
                    status[member] = CYCLE
                del path[on_path[cur] :]
                base = CYCLE
                break
            on_path[cur] = len(path)
            path.append(cur)
            cur = m.parent_id
        for node in path:
            if node not in status:
                status[node] = "ok" if base == "ok" else ANCESTOR_EXCLUDED
    return status


def _paths(roots: list[Message], children: dict[str, list[Message]]) -> Iterator[list[Message]]:
    """Root-to-leaf paths, best-ranked first (depth-first over rank-sorted children)."""
    stack = [[r] for r in reversed(roots)]
    while stack:
        path = stack.pop()
        kids = children.get(path[-1].message_id)
        if not kids:
            yield path
            continue
        for kid in reversed(kids):
            stack.append(path + [kid])


def render_thread(path: list[Message], cfg: ConversationConfig) -> str:
    """``Role: text`` per message, separated by a blank line (a placeholder without a
    role is written bare)."""
    return "\n\n".join(
        f"{cfg.role_names.get(m.role, m.role)}: {m.text.strip()}" if m.role is not None else m.text.strip()
        for m in path
    )


def _exclusions(by_id: dict[str, Message], cfg: ConversationConfig) -> dict[str, str]:
    """Each defective message's own reason (deleted, empty, no role)."""
    excluded = {}
    for mid, m in by_id.items():
        if m.deleted and not cfg.include_deleted:
            excluded[mid] = DELETED
        elif m.text.strip() in cfg.deleted_texts:  # the text is gone: nothing to include
            excluded[mid] = DELETED
        elif not m.text.strip():
            excluded[mid] = EMPTY
        elif m.role is None:
            excluded[mid] = MISSING_ROLE
    return excluded


def _needed(by_id: dict[str, Message], deleted: set[str], on_tree: set[str]) -> set[str]:
    """The deleted messages (of ``on_tree``) with a non-deleted descendant on the tree:
    the ones a placeholder keeps. Each message is walked up at most once."""
    needed: set[str] = set()
    for mid in sorted(on_tree - deleted):
        cur = by_id[mid].parent_id
        while cur in deleted and cur not in needed:
            needed.add(cur)
            cur = by_id[cur].parent_id
    return needed


def _spliced_parent(mid: str, by_id: dict[str, Message], deleted: set[str], memo: dict) -> Optional[str]:
    """The nearest ancestor of ``mid`` that is not deleted (splice), or the id above the
    tree's roots. ``memo`` maps each deleted message to its answer (path compression)."""
    path, cur = [], by_id[mid].parent_id
    while cur in deleted and cur not in memo:
        path.append(cur)
        cur = by_id[cur].parent_id
    if cur in memo:
        cur = memo[cur]
    for d in path:
        memo[d] = cur
    return cur


def threads_for_tree(
    tree_id: str, messages: Iterable[Message], source: str, cfg: ConversationConfig
) -> Iterator[Union[Document, Rejected]]:
    """All messages of one tree -> one Document per kept root-to-leaf thread, and one
    Rejected per dropped thread and per defective message (see the module doc)."""
    by_id: dict[str, Message] = {}
    for m in sorted(messages, key=lambda m: m.order):  # group order is not deterministic
        if m.message_id in by_id:
            yield _rejected_message(m, tree_id, source, DUPLICATE, first=by_id[m.message_id].order)
        else:
            by_id[m.message_id] = m

    excluded = _exclusions(by_id, cfg)
    # Unless their subtrees go with them, deleted messages are walked through like any
    # other: their replies reach a root through them.
    deleted: set[str] = set()
    if cfg.deleted_parent != DROP_SUBTREE:
        deleted = {mid for mid, reason in excluded.items() if reason == DELETED}
        excluded = {mid: reason for mid, reason in excluded.items() if mid not in deleted}
    status = _statuses(tree_id, by_id, excluded)
    on_tree = {mid for mid, st in status.items() if st == "ok"}
    # A deleted message itself is never on a thread but as a placeholder above a kept
    # reply; otherwise it counts as deleted (also when its own branch is broken).
    keep = _needed(by_id, deleted, on_tree) if cfg.deleted_parent == KEEP_PLACEHOLDER else set()
    for mid in deleted:
        if mid not in keep:
            status[mid] = DELETED
            on_tree.discard(mid)

    descending = cfg.rank_order == "descending"
    roots: list[Message] = []
    children: dict[str, list[Message]] = {}
    memo: dict = {}
    for mid in sorted(by_id):
        m = by_id[mid]
        if mid not in on_tree:
            yield _rejected_message(m, tree_id, source, status[mid])
            continue
        if mid in keep:
            m = dataclasses.replace(m, text=cfg.placeholder_text, placeholder=True)
        parent = _spliced_parent(mid, by_id, deleted, memo) if cfg.deleted_parent == SPLICE else m.parent_id
        if parent in on_tree:
            children.setdefault(parent, []).append(m)
        else:
            roots.append(m)
    roots.sort(key=lambda m: m.rank_key(descending))
    for kids in children.values():
        kids.sort(key=lambda m: m.rank_key(descending))

    kept = 0
    for i, path in enumerate(_paths(roots, children)):
        leaf = path[-1]
        conversation = {
            "tree_id": tree_id,
            "message_ids": [m.message_id for m in path],
            "roles": [m.role for m in path],
            "lang": path[0].lang,
        }
        placeholders = [m.message_id for m in path if m.placeholder]
        if placeholders:
            conversation["placeholder_ids"] = placeholders
        doc = Document(
            id=make_id(source, tree_id, leaf.message_id),
            text=render_thread(path, cfg),
            source=source,
            provenance={"input_file": leaf.input_file, "record_id": leaf.message_id, "line": leaf.line},
            metadata={"conversation": conversation},
        )
        num_messages = len(path) - len(placeholders)  # a placeholder is no message of the conversation
        if cfg.best_branch_only and i > 0:
            yield read_reject(doc, NOT_BEST_BRANCH)
        elif num_messages < cfg.min_messages:
            yield read_reject(doc, TOO_SHORT, num_messages=num_messages)
        elif cfg.max_threads_per_tree is not None and kept >= cfg.max_threads_per_tree:
            yield read_reject(doc, TOO_MANY, max_threads_per_tree=cfg.max_threads_per_tree)
        else:
            kept += 1
            yield doc


def read_conversations(
    kind: str, files: Iterable[tuple[str, object]], source: str, cfg: ConversationConfig
) -> Iterator[Union[Document, Rejected, ErrorRecord]]:
    """In-memory grouping of whole inputs, for tests and small local runs; the
    pipeline groups with a GroupByKey instead (``pipelines/conversations.py``)."""
    trees: dict[str, list[Message]] = {}
    for path, fileobj in files:
        for item in parse_file(kind, path, fileobj, source, cfg):
            if isinstance(item, tuple):
                trees.setdefault(item[0], []).append(item[1])
            else:
                yield item
    for tree_id in sorted(trees):
        yield from threads_for_tree(tree_id, trees[tree_id], source, cfg)
