"""``curate inspect OUT_OR_SHARD``: print documents of a run's shards (or of its
``rejected/`` files) that match filters, streaming one record batch at a time.

Filters (all must hold): ``doc_id`` (the id or a prefix of it), ``source``, ``reason``
(a rejected document's ``stage:reason``, its reason alone, or its stage alone),
``grep`` (a Python regular expression searched in the text). ``sample`` picks that many
of the matching documents by ``xxh64(seed:id)``, so the same seed gives the same
documents whatever the shard order; otherwise the first ``limit`` matches are shown.
"""

from __future__ import annotations

import dataclasses
import glob
import heapq
import json
import os
import re
from typing import Iterator, Optional

import pyarrow.parquet as pq
import xxhash

from curate import tokenize as tok


class InspectError(ValueError):
    """A one-line message for the user."""


@dataclasses.dataclass
class Query:
    doc_id: Optional[str] = None
    source: Optional[str] = None
    reason: Optional[str] = None
    grep: Optional[str] = None
    rejected: bool = False  # read rejected/ (implied by ``reason``)
    sample: Optional[int] = None
    seed: int = 0
    limit: int = 10


def _is_rejected_file(path: str) -> bool:
    return "reason" in pq.read_schema(path).names


def input_files(path: str, rejected: bool) -> tuple[list[str], Optional[str]]:
    """The Parquet files to read and the output directory (for the manifest), from an
    output directory or one shard file."""
    if os.path.isdir(path):
        subs = ["rejected"] if rejected else ["shards", "validation"]  # validation: held-out kept rows
        # "**": the shards of a partitioned output lie in language=xx/ folders
        files = [
            f for sub in subs for f in sorted(glob.glob(os.path.join(path, sub, "**", "*.parquet"), recursive=True))
        ]
        sub = subs[0]
        if not files:
            if rejected and os.path.isdir(os.path.join(path, "shards")):
                raise InspectError(f"{path}: no rejected/ files (the run had output.write_rejected: false)")
            raise InspectError(f"{path}: no {sub}/*.parquet (not the output of a curate run)")
        return files, path
    if not os.path.exists(path):
        raise InspectError(f"{path}: no such file or directory")
    if rejected and not _is_rejected_file(path):
        raise InspectError(f"{path}: a shard of kept documents; --reason and --rejected read a rejected/ file")
    parent = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return [path], parent if os.path.exists(os.path.join(parent, "manifest.json")) else None


def _reason_matches(row: dict, reason: str) -> bool:
    key = f"{row['stage']}:{row['reason']}"
    return reason in (key, row["reason"], row["stage"])


def matching_rows(files: list[str], q: Query) -> Iterator[dict]:
    pattern = re.compile(q.grep) if q.grep else None
    for path in files:
        f = pq.ParquetFile(path)
        for batch in f.iter_batches(batch_size=512):
            for row in batch.to_pylist():
                if q.doc_id and not row["id"].startswith(q.doc_id):
                    continue
                if q.source and row["source"] != q.source:
                    continue
                if q.reason and not _reason_matches(row, q.reason):
                    continue
                if pattern is not None and not pattern.search(row["text"] or ""):
                    continue
                yield row


def select(files: list[str], q: Query) -> list[dict]:
    rows = matching_rows(files, q)
    if q.sample is None:
        out = []
        for row in rows:
            out.append(row)
            if len(out) >= q.limit:
                break
        return out

    def rank(row):
        return xxhash.xxh64_intdigest(f"{q.seed}:{row['id']}".encode("utf-8", "surrogatepass")), row["id"]

    chosen = heapq.nsmallest(q.sample, ((rank(r), i, r) for i, r in enumerate(rows)))
    return [r for _, _, r in chosen]


def tokenizer_for(out_dir: Optional[str]):
    """The SentencePiece processor of the run (from its manifest), for ``--tokens``."""
    if out_dir is None:
        raise InspectError("--tokens needs the run's manifest.json (give the output directory or a shard inside it)")
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
        path = json.load(f)["tokenizer"]["path"]
    for candidate in (path, os.path.join(out_dir, path)):
        if os.path.exists(candidate):
            with open(candidate, "rb") as f:
                return tok.load_processor(f.read())
    raise InspectError(f"tokenizer model {path} not found (relative to the working directory or {out_dir})")


def _wrap(items: list[str], width: int = 100) -> list[str]:
    lines, line = [], ""
    for item in items:
        if line and len(line) + 1 + len(item) > width:
            lines.append(line)
            line = item
        else:
            line = f"{line} {item}" if line else item
    return lines + ([line] if line else [])


def format_row(row: dict, index: int, total: int, processor=None) -> str:
    head = [f"[{index}/{total}] id {row['id']}", f"source {row['source']}"]
    if row.get("language"):
        score = row.get("language_score")
        head.append(f"language {row['language']}" + (f" ({score:.2f})" if score is not None else ""))
    if row.get("num_tokens") is not None:
        head.append(f"{row['num_tokens']:,} tokens")
    head.append(f"{len(row['text'] or ''):,} chars")
    lines = ["=" * 100, "  ".join(head)]
    if row.get("url"):
        lines.append(f"url {row['url']}")
    lines.append(f"from {row.get('input_file')} {row.get('record_id') or ''}".rstrip())
    if "reason" in row:
        lines.append(f"dropped by {row['stage']}: {row['reason']}  {row['details']}")
    lines += ["-" * 100, row["text"] or ""]
    if processor is not None and row.get("tokens") is not None:
        pieces = [f"{t}:{processor.id_to_piece(t)}" for t in row["tokens"]]
        lines += ["-" * 100, f"tokens ({len(pieces):,}, id:piece)"] + _wrap(pieces)
    return "\n".join(lines)


def inspect(path: str, q: Query, show_tokens: bool = False) -> str:
    rejected = q.rejected or q.reason is not None
    if show_tokens and rejected:
        raise InspectError("--tokens: rejected documents were never tokenized")
    files, out_dir = input_files(path, rejected)
    processor = tokenizer_for(out_dir) if show_tokens else None
    rows = select(files, q)
    if not rows:
        return "curate inspect: no document matches"
    return "\n".join(format_row(r, i + 1, len(rows), processor) for i, r in enumerate(rows)) + "\n"
