"""Corpora that are already documents: JSONL (optionally gzipped) and Parquet, one
document per line or row.

A configurable ``text_field`` holds the text; ``id_field`` (else the file and line or
row number) gives the stable id; ``metadata_fields`` are carried into
``metadata["fields"]``; ``url_field`` and ``date_field`` into the provenance. Field
names may be dotted to reach into nested objects (``meta.url``).

Per record: a document, or ``Rejected(read:empty_text)``, or an ErrorRecord naming the
line (or row) for invalid JSON, a non-object line, a missing or non-string text, a
missing id. Parquet is read in batches of ``batch_rows`` rows (row group by row
group), only the columns named in the config: large files never load whole.

A line over ``max_record_bytes`` (JSONL), or a text over it in UTF-8 bytes (Parquet),
is dropped as ``read:too_large`` without being parsed or turned into a Python string:
a 50 MB line costs a block of memory, not a document. Its id is the file's and the
line's (or row's) even with ``id_field``: the record is not parsed to find its own.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import IO, Iterator, Optional, Union

from curate.document import Document, ErrorRecord, Rejected, document_id, make_id
from curate.params import param
from curate.readers.common import (
    decompressed,
    field,
    json_safe,
    numbered_lines,
    optional_str,
    read_error,
    read_reject,
    unreadable,
)
from curate.registry import register_reader

Item = Union[Document, Rejected, ErrorRecord]


@dataclasses.dataclass
class RecordsConfig:
    text_field: str = "text"
    id_field: Optional[str] = None  # null: the id comes from the file and the line/row number
    metadata_fields: list[str] = dataclasses.field(default_factory=list)
    url_field: Optional[str] = None
    date_field: Optional[str] = None
    max_record_bytes: int = param(16_000_000, min=1)  # a longer line (text) is dropped unread: too_large

    def fields(self) -> list[str]:
        named = [self.text_field, self.id_field, self.url_field, self.date_field, *self.metadata_fields]
        return list(dict.fromkeys(n for n in named if n))


@dataclasses.dataclass
class ParquetConfig(RecordsConfig):
    batch_rows: int = param(1024, min=1)  # rows decoded at a time


def record_item(record, path: str, locator: str, source: str, cfg: RecordsConfig) -> Item:
    """One record (a dict) -> Document, Rejected or ErrorRecord."""
    if not isinstance(record, dict):
        return read_error(path, locator, source, f"record is a {type(record).__name__}, not an object")
    text = field(record, cfg.text_field)
    if not isinstance(text, str):
        what = "missing" if text is None else f"a {type(text).__name__}, not a string"
        return read_error(path, locator, source, f"text field {cfg.text_field!r} is {what}")
    if len(text) > cfg.max_record_bytes or (  # UTF-8 takes 1 to 4 bytes a character: encode only when it matters
        4 * len(text) > cfg.max_record_bytes and len(text.encode("utf-8", "surrogatepass")) > cfg.max_record_bytes
    ):
        return too_large(path, locator, source, cfg)
    if cfg.id_field:
        record_id = optional_str(field(record, cfg.id_field))
        if record_id is None:
            return read_error(path, locator, source, f"id field {cfg.id_field!r} is missing or not a string/integer")
        doc_id = make_id(source, record_id)
    else:
        record_id = locator
        doc_id = document_id(source, path, locator)
    provenance: dict[str, Optional[str]] = {"input_file": path, "record_id": record_id}
    if cfg.id_field:
        provenance["locator"] = locator
    for key, name in (("url", cfg.url_field), ("fetch_date", cfg.date_field)):
        if name:
            value = field(record, name)
            provenance[key] = None if value is None else str(json_safe(value))
    doc = Document(id=doc_id, text=text, source=source, provenance=provenance)
    carried = {n: json_safe(field(record, n)) for n in cfg.metadata_fields if field(record, n) is not None}
    if carried:
        doc.metadata["fields"] = carried
    if not text.strip():
        return read_reject(doc, "empty_text")
    return doc


def too_large(path: str, locator: str, source: str, cfg: RecordsConfig) -> Rejected:
    """The drop for a record over ``max_record_bytes``, identified by file and place."""
    doc = Document(
        id=document_id(source, path, locator),
        text="",
        source=source,
        provenance={"input_file": path, "record_id": locator},
    )
    return read_reject(doc, "too_large", max_record_bytes=cfg.max_record_bytes)


@register_reader("jsonl", RecordsConfig, default_source="documents")
def read_jsonl(path: str, fileobj: IO[bytes], source: str, config: RecordsConfig) -> Iterator[Item]:
    """One record per non-blank line; gzip recognised by its magic bytes. Input that
    breaks off (a cut or corrupt gzip stream) ends the file with one error after the
    lines before it."""
    n = 0
    try:
        for n, raw in numbered_lines(decompressed(fileobj, path), config.max_record_bytes):
            locator = f"line {n}"
            if raw is None:
                yield too_large(path, locator, source, config)
                continue
            if not raw.strip():
                continue  # a blank line holds no record
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError too
                yield read_error(path, locator, source, f"invalid JSON: {e}")
                continue
            yield record_item(record, path, locator, source, config)
    except (OSError, EOFError, zlib.error) as e:
        yield unreadable(path, f"after line {n}", source, e)


def _top_column(name: str, schema_names: list[str]) -> Optional[str]:
    """The column holding ``name``: itself, or the struct column a dotted name starts with."""
    if name in schema_names:
        return name
    head = name.split(".", 1)[0]
    return head if head in schema_names else None


@register_reader("parquet", ParquetConfig, default_source="documents")
def read_parquet(path: str, fileobj: IO[bytes], source: str, config: ParquetConfig) -> Iterator[Item]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # No pre-buffering of whole column chunks, and 1 MB reads: peak memory stays near
    # one batch (measured in bench/readers_vs_datatrove.py).
    pf = pq.ParquetFile(fileobj, pre_buffer=False, buffer_size=1 << 20)
    schema = pf.schema_arrow
    names = list(schema.names)
    for required in (config.text_field, config.id_field):
        if required and _top_column(required, names) is None:
            yield read_error(path, "file", source, f"no column {required!r} (columns: {', '.join(names)})")
            return
    if config.text_field in names:
        text_type = schema.field(config.text_field).type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
            # every row would fail alike: one error for the file says it once
            yield read_error(path, "file", source, f"text column {config.text_field!r} is {text_type}, not a string")
            return
    columns = list(dict.fromkeys(c for c in (_top_column(f, names) for f in config.fields()) if c))
    row = 0
    for batch in pf.iter_batches(batch_size=config.batch_rows, columns=columns, use_threads=False):
        over = _over_limit(batch, config)
        if over is not None and over.any():
            kept = iter(batch.filter(pa.array(~over)).to_pylist())  # the long texts never become str
            for is_over in over:
                if is_over:
                    yield too_large(path, f"row {row}", source, config)
                else:
                    yield record_item(next(kept), path, f"row {row}", source, config)
                row += 1
            continue
        for record in batch.to_pylist():
            yield record_item(record, path, f"row {row}", source, config)
            row += 1


def _over_limit(batch, config: ParquetConfig):
    """Which rows' text is over ``max_record_bytes`` (UTF-8 bytes), as a numpy bool array;
    None when the text is not a top-level string column (nested texts are checked
    after conversion, in record_item)."""
    import pyarrow.compute as pc

    if config.text_field not in batch.schema.names:
        return None
    lengths = pc.binary_length(batch.column(config.text_field)).fill_null(0)
    return pc.greater(lengths, config.max_record_bytes).to_numpy(zero_copy_only=False)
