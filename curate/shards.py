"""Deterministic Parquet shards.

Rows go to shard ``xxh64(id) % num_shards`` and are sorted by id inside a shard, so
the same documents give the same bytes whatever the runner, worker count or bundle
boundaries (Beam's ``WriteToParquet`` does not: see ../shared/NOTES.md). Files are
named ``part-SSSSS-of-NNNNN.parquet``: a retried worker rewrites the same name. With
``output.partition_by: language`` each language has its own folder of shards
(:func:`partition_dir`), sharded the same way within it. The shard
count is fixed or follows from the split's totals (:func:`shard_count`); token ids are
stored in the narrowest type the vocabulary allows (:func:`token_dtype`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from curate.document import Document, Rejected

ROW_GROUP_ROWS = 4096
ROW_GROUP_TOKENS = 1 << 20  # ~4 MB of uint32 ids before compression


def token_dtype(vocab_size: int) -> str:
    """The narrowest unsigned type for token ids below ``vocab_size``: uint16 when the
    vocabulary has at most 65,536 pieces (half the bytes), uint32 otherwise."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


def shard_schema(token_dtype: str) -> pa.Schema:
    """The schema of ``shards/`` and ``validation/`` files; ``tokens`` is ``list<token_dtype>``."""
    return pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("text", pa.string()),
            ("tokens", pa.list_(pa.from_numpy_dtype(token_dtype))),
            ("num_tokens", pa.int64()),
            ("input_file", pa.string()),
            ("record_id", pa.string()),
            ("url", pa.string()),
            ("fetch_date", pa.string()),
            ("language", pa.string()),
            ("language_score", pa.float64()),
            ("metadata", pa.string()),  # JSON: doc.metadata (filter signals, dedup info, ...)
            ("provenance", pa.string()),  # JSON: the full provenance
            ("copy_of", pa.string()),  # an upsampled copy (curate.mixture): the original's id
        ]
    )


REJECTED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("details", pa.string()),  # JSON
        ("text", pa.string()),
        ("input_file", pa.string()),
        ("record_id", pa.string()),
        ("url", pa.string()),
        ("metadata", pa.string()),
        ("provenance", pa.string()),
    ]
)


def to_json(obj) -> str:
    """Canonical JSON: sorted keys, so equal dicts give equal bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def shard_of(doc_id: str, num_shards: int) -> int:
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8")) % num_shards


# The validation split's hash is seeded apart from shard_of's, so that held-out documents
# are not all in a few shard indices.
VALIDATION_HASH_SEED = 0x5EED


def is_validation(doc_id: str, fraction: float) -> bool:
    """Whether a document (by the id of the original, for copies) is held out."""
    return (
        fraction > 0 and xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=VALIDATION_HASH_SEED) < fraction * 2.0**64
    )


def payload_bytes(row: dict, token_itemsize: int) -> int:
    """A row's text and token-id bytes before compression: what ``output.shard_bytes`` counts."""
    return len(row["text"].encode("utf-8")) + row["num_tokens"] * token_itemsize


def shard_count(cfg, total_tokens: int, total_bytes: int, validation: bool = False) -> int:
    """Shards of a split with these totals under ``output`` config ``cfg``: ceil(total /
    target) with ``shard_tokens`` or ``shard_bytes``; otherwise ``num_shards``, and for the
    validation split ``ceil(num_shards * validation_fraction)``. At least 1."""
    if cfg.shard_tokens is not None:
        return max(1, -(-total_tokens // cfg.shard_tokens))
    if cfg.shard_bytes is not None:
        return max(1, -(-total_bytes // cfg.shard_bytes))
    if validation:
        return max(1, math.ceil(cfg.num_shards * cfg.validation_fraction))
    return cfg.num_shards


def shard_name(prefix: str, index: int, num_shards: int, ext: str = "parquet") -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.{ext}"


# ``output.partition_by``: the columns an output may be split by, one folder per value
# (``shards/language=de/part-...``, as Hive and Arrow datasets name partitions).
PARTITION_COLUMNS = ("language",)
UNDETERMINED = "und"  # BCP 47's "undetermined": the folder of rows without a language
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def partition_value(row: dict, column: str) -> str:
    """The partition folder's value for ``row``: its ``column``, or ``und`` when empty,
    with any character unsafe in a path replaced by "_"."""
    value = row.get(column)
    return _UNSAFE.sub("_", str(value)) if value not in (None, "") else UNDETERMINED


def partition_dir(subdir: str, column: str, value: str) -> str:
    return f"{subdir}/{column}={value}"


def output_folder(row: dict, validation_fraction: float, partition_by) -> tuple:
    """The folder a kept row is written to, as ``(split, partition value or None)``:
    ``validation`` for held-out rows (copies go with their original: never on both sides
    of the boundary), else ``shards``; the value of ``partition_by`` when it is set."""
    split = "validation" if is_validation(row.get("copy_of") or row["id"], validation_fraction) else "shards"
    return split, None if partition_by is None else partition_value(row, partition_by)


REJECTED_FOLDER = ("rejected", None)


def folder_dir(folder: tuple, partition_by) -> str:
    """The path of a folder of :func:`output_folder` relative to the output."""
    split, value = folder
    return split if value is None else partition_dir(split, partition_by, value)


def folder_counts(totals: dict[tuple, tuple[int, int]], cfg, write_rejected: bool) -> dict:
    """Shards of each output folder (:func:`shard_count`) from ``{folder: (tokens,
    payload bytes)}`` of the kept rows: every folder that has rows, and ``shards`` (and
    ``validation`` with a ``validation_fraction``) without partitions even when empty;
    ``rejected`` (when written) gets the count of all training rows."""
    counts = {f: shard_count(cfg, *t, f[0] == "validation") for f, t in totals.items()}
    if cfg.partition_by is None:
        counts.setdefault(("shards", None), shard_count(cfg, 0, 0))
        if cfg.validation_fraction > 0:
            counts.setdefault(("validation", None), shard_count(cfg, 0, 0, validation=True))
    if write_rejected:
        train = [t for f, t in totals.items() if f[0] == "shards"]
        counts[REJECTED_FOLDER] = shard_count(cfg, sum(t[0] for t in train), sum(t[1] for t in train))
    return counts


def partition_of_path(path: str):
    """``(column, value)`` of a shard path under a partition folder, else None."""
    for segment in path.split("/")[1:-1]:
        column, sep, value = segment.partition("=")
        if sep and column in PARTITION_COLUMNS:
            return column, value
    return None


def _str(v):
    return None if v is None else str(v)


def doc_row(doc: Document, tokens: list[int]) -> dict:
    p = doc.provenance
    score = doc.metadata.get("language_score")
    return {
        "id": doc.id,
        "source": doc.source,
        "text": doc.text,
        "tokens": tokens,
        "num_tokens": len(tokens),
        "input_file": _str(p.get("input_file")),
        "record_id": _str(p.get("record_id")),
        "url": _str(p.get("url")),
        "fetch_date": _str(p.get("fetch_date")),
        "language": _str(doc.metadata.get("language")),
        "language_score": None if score is None else float(score),
        "metadata": to_json(doc.metadata),
        "provenance": to_json(p),
        "copy_of": None,
    }


def rejected_row(rej: Rejected) -> dict:
    doc, p = rej.doc, rej.doc.provenance
    return {
        "id": doc.id,
        "source": doc.source,
        "stage": rej.stage,
        "reason": rej.reason,
        "details": to_json(rej.details),
        "text": doc.text,
        "input_file": _str(p.get("input_file")),
        "record_id": _str(p.get("record_id")),
        "url": _str(p.get("url")),
        "metadata": to_json(doc.metadata),
        "provenance": to_json(p),
    }


def sort_rows(rows: Iterable[dict]) -> list[dict]:
    """Rows in file order: by id, then stage for rejected rows."""
    return sorted(rows, key=lambda r: (r["id"], r.get("stage", "")))


def iter_row_groups(
    items: Iterable,
    max_rows: int = ROW_GROUP_ROWS,
    max_tokens: int = ROW_GROUP_TOKENS,
    num_tokens: Callable = lambda r: r.get("num_tokens", 0),
) -> Iterator[list]:
    """Consecutive items cut into row groups of at most ``max_rows`` items and, past its
    first item, ``max_tokens`` tokens, as they come (nothing for no items): the one rule
    both :func:`parquet_bytes` and the bounded-memory writer (:mod:`curate.shard_runs`) cut by."""
    current: list = []
    tokens = 0
    for item in items:
        n = num_tokens(item)
        if current and (len(current) == max_rows or tokens + n > max_tokens):
            yield current
            current, tokens = [], 0
        current.append(item)
        tokens += n
    if current:
        yield current


def row_groups(
    rows: list[dict], max_rows: int = ROW_GROUP_ROWS, max_tokens: int = ROW_GROUP_TOKENS
) -> list[list[dict]]:
    """Consecutive rows cut into row groups of at most ``max_rows`` rows and, past its
    first row, ``max_tokens`` tokens: a few MB each, the unit a training loader streams.
    No rows: one empty group (an empty shard is still a valid Parquet file)."""
    return list(iter_row_groups(rows, max_rows, max_tokens)) or [[]]


class _HashingSink:
    """A write-only file object that passes bytes on to ``f`` and keeps their count and
    sha256, so a shard's manifest entry is computed while it is streamed out."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        self.f.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:  # the caller owns ``f``
        self.closed = True


def write_parquet(groups: Iterable[pa.Table], f, schema: pa.Schema, compression: str = "zstd") -> dict:
    """Write row groups (Arrow tables of ``schema``, in file order) to the binary file
    ``f`` as one Parquet file, one ``write_table`` per group (no group: one empty group);
    return its manifest fields: rows, tokens, bytes, sha256, row_groups (``[rows,
    tokens]`` pairs: the loader's work units) and copies. Only one group is in memory."""
    sink = _HashingSink(f)
    groups_info, copies = [], 0
    with pq.ParquetWriter(sink, schema, compression=None if compression == "none" else compression) as writer:
        for table in groups:
            writer.write_table(table, row_group_size=max(table.num_rows, 1))
            tokens = pc.sum(table["num_tokens"]).as_py() or 0 if "num_tokens" in schema.names else 0
            groups_info.append([table.num_rows, tokens])
            if "copy_of" in schema.names:
                copies += table.num_rows - table["copy_of"].null_count
        if not groups_info:
            writer.write_table(pa.Table.from_pylist([], schema=schema), row_group_size=1)
            groups_info.append([0, 0])
    return {
        "rows": sum(g[0] for g in groups_info),
        "tokens": sum(g[1] for g in groups_info),
        "bytes": sink.size,
        "sha256": sink.sha.hexdigest(),
        "row_groups": groups_info,
        "copies": copies,
    }


def parquet_bytes(
    rows: Iterable[dict], schema: pa.Schema, compression: str = "zstd", max_rows: int = ROW_GROUP_ROWS
) -> bytes:
    """Rows (sorted here, see :func:`sort_rows`) as Parquet file bytes, in the row groups
    of :func:`row_groups` (:func:`write_parquet` into memory)."""
    buf = io.BytesIO()
    groups = iter_row_groups(sort_rows(rows), max_rows)
    write_parquet((pa.Table.from_pylist(g, schema=schema) for g in groups), buf, schema, compression)
    return buf.getvalue()


def shard_info(rel_path: str, rows: Iterable[dict], data: bytes, max_rows: int = ROW_GROUP_ROWS) -> dict:
    """The manifest entry of a shard written by :func:`parquet_bytes` from ``rows``: counts,
    size, sha256, and ``row_groups`` as ``[rows, tokens]`` pairs (the loader's work units)."""
    groups = row_groups(sort_rows(rows), max_rows)
    return {
        "path": rel_path,
        "rows": sum(len(g) for g in groups),
        "tokens": sum(r.get("num_tokens", 0) for g in groups for r in g),
        "bytes": len(data),
        "sha256": sha256(data),
        "row_groups": [[len(g), sum(r.get("num_tokens", 0) for r in g)] for g in groups],
        "copies": sum(1 for g in groups for r in g if r.get("copy_of")),
    }


ERRORS_FILE = "errors/errors-00000-of-00001.jsonl"


def errors_jsonl(errors) -> bytes:
    """Error records as JSON lines, sorted, so the file does not depend on arrival order."""
    lines = sorted(to_json(e.to_dict()) for e in errors)
    return "".join(line + "\n" for line in lines).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
