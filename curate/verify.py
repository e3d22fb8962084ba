"""``curate verify OUT``: check an output against its manifest before training on it.

For every shard the manifest lists (``shards`` and, when present, ``validation_shards``):
the file's sha256 and size, its row count, its token count (from the ``tokens`` lists
themselves, and the ``num_tokens`` column agreeing with them), its row groups when the
manifest lists them, and the token dtype the manifest states. On a sample of each shard's
rows (the ``sample`` rows with the smallest xxh64 of their id, so the same rows every
time) ``decode(tokens) == text`` with the run's tokenizer, whose sha256 must match the
manifest's. Every other file the manifest lists must exist.

Each problem is one line naming the file; :func:`verify` returns them (empty: all good).
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from curate import io as cio
from curate import tokenize as tok
from curate.loader import SPLITS
from curate.shards import sha256


@dataclasses.dataclass
class ShardCheck:
    path: str
    rows: int = 0
    tokens: int = 0
    decoded: int = 0  # rows whose decode(tokens) == text was checked
    problems: list = dataclasses.field(default_factory=list)


def _tokenizer(out_dir: str, manifest: dict, override: Optional[str]) -> tuple[Optional[object], Optional[str]]:
    """The run's tokenizer processor, or None and why not."""
    desc = manifest.get("tokenizer") or {}
    path: Optional[str]
    if override:
        path = override
    elif desc.get("trained"):
        path = cio.join(out_dir, desc["path"])
    else:
        path = desc.get("path")
    if not path:
        return None, "the manifest names no tokenizer"
    try:
        proto = cio.read_bytes(path)
    except OSError as e:
        return None, f"cannot read tokenizer {path} ({e.__class__.__name__}); pass --tokenizer PATH"
    if desc.get("sha256") and tok.model_sha256(proto) != desc["sha256"]:
        return None, f"tokenizer {path}: sha256 differs from the manifest's (not the model the run used)"
    return tok.load_processor(proto), None


def check_shard(out_dir: str, entry: dict, processor, sample: int, token_dtype: Optional[str]) -> ShardCheck:
    """Every check of one shard against its manifest entry."""
    rel = entry["path"]
    check = ShardCheck(rel)
    bad = check.problems.append
    try:
        data = cio.read_bytes(cio.join(out_dir, rel))
    except OSError as e:
        bad(f"{rel}: cannot read ({e.__class__.__name__}: {e})")
        return check
    if "sha256" in entry and sha256(data) != entry["sha256"]:
        bad(f"{rel}: sha256 {sha256(data)[:16]}... differs from the manifest's {entry['sha256'][:16]}...")
    if "bytes" in entry and len(data) != entry["bytes"]:
        bad(f"{rel}: {len(data):,} bytes, the manifest says {entry['bytes']:,}")
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        columns = ["id", "text", "tokens", "num_tokens"] + (["copy_of"] if "copy_of" in pf.schema_arrow.names else [])
        table = pf.read(columns=columns)
    except (OSError, pa.ArrowException, KeyError) as e:
        bad(f"{rel}: not a readable shard ({e.__class__.__name__}: {e})")
        return check
    check.rows = table.num_rows
    lengths = pc.list_value_length(table.column("tokens")).to_numpy(zero_copy_only=False)
    check.tokens = int(lengths.sum())
    if check.rows != entry.get("rows"):
        bad(f"{rel}: {check.rows:,} rows, the manifest says {entry.get('rows')}")
    if check.tokens != entry.get("tokens"):
        bad(f"{rel}: {check.tokens:,} tokens, the manifest says {entry.get('tokens')}")
    if "copies" in entry and "copy_of" in columns:
        copies = table.num_rows - table.column("copy_of").null_count
        if copies != entry["copies"]:
            bad(f"{rel}: {copies:,} mixture copies, the manifest says {entry['copies']:,}")
    num_tokens = table.column("num_tokens").to_numpy()
    if not np.array_equal(num_tokens, lengths):
        i = int(np.flatnonzero(num_tokens != lengths)[0])
        bad(f"{rel}: row {i} has num_tokens {num_tokens[i]} but {lengths[i]} tokens")
    if "row_groups" in entry:
        groups = [[pf.metadata.row_group(i).num_rows, 0] for i in range(pf.num_row_groups)]
        at = 0
        for g in groups:
            g[1] = int(lengths[at : at + g[0]].sum())
            at += g[0]
        if groups != [list(g) for g in entry["row_groups"]]:
            bad(f"{rel}: row groups {groups} differ from the manifest's {entry['row_groups']}")
    stored = str(table.schema.field("tokens").type.value_type)
    if token_dtype is not None and stored != token_dtype:
        bad(f"{rel}: tokens stored as {stored}, the manifest says {token_dtype}")
    if processor is not None and sample and check.rows:
        ids = table.column("id").to_pylist()
        order = sorted(range(len(ids)), key=lambda i: (xxhash.xxh64_intdigest(ids[i].encode()), ids[i]))
        texts, tokens = table.column("text"), table.column("tokens")
        for i in order[:sample]:
            if tok.decode(processor, tokens[i].as_py()) != texts[i].as_py():
                bad(f"{rel}: row {i} (id {ids[i]}): decode(tokens) != text")
                break
            check.decoded += 1
    return check


def verify(
    out_dir: str, sample: int = 50, tokenizer: Optional[str] = None, progress: Optional[Callable] = None
) -> tuple[list[ShardCheck], list[str]]:
    """Check ``out_dir``; returns (per-shard checks, problems not tied to a shard)."""
    try:
        manifest = json.loads(cio.read_bytes(cio.join(out_dir, "manifest.json")))
    except (OSError, ValueError) as e:
        return [], [f"{cio.join(out_dir, 'manifest.json')}: cannot read the manifest ({e.__class__.__name__}: {e})"]
    general = []
    processor, why = _tokenizer(out_dir, manifest, tokenizer)
    if processor is None and sample:
        general.append(f"decode check not possible: {why}")
    checks = []
    shard_paths = set()
    for key in SPLITS.values():
        for entry in manifest.get(key) or []:
            shard_paths.add(entry["path"])
            checks.append(check_shard(out_dir, entry, processor, sample, manifest.get("token_dtype")))
            if progress is not None:
                progress(checks[-1])
    for rel in manifest.get("files") or []:
        if rel not in shard_paths and not cio.exists(cio.join(out_dir, rel)):
            general.append(f"{rel}: listed in the manifest but missing")
    return checks, general
