"""The document model shared by every stage, and the records for drops and errors."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Optional


def make_id(source: str, *parts: object) -> str:
    """A stable document id from the source kind and the record's own identity.

    Never derived from run order: the same record gives the same id on any worker,
    in any run. (Python's ``hash()`` is salted per process, so it is not used.)
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(source.encode("utf-8"))
    for part in parts:
        h.update(b"\x00")
        h.update(str(part).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def file_name(path: str) -> str:
    """The base name of an input file, local or ``gs://``: ids never depend on the folder."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def document_id(source: str, path: str, record: str) -> str:
    """The one id recipe of the readers: the source, the input file's base name and the
    record's own id within that file (WARC-Record-ID, line number, archive member, chapter
    ...), never the directory, so the same files read from another folder or from ``gs://``
    keep their ids. (A record that carries an id of its own, such as a JSONL ``id_field``
    or a conversation's message ids, is identified by it alone.)"""
    return make_id(source, file_name(path), record)


@dataclasses.dataclass
class Document:
    """One unit of training text.

    ``provenance`` says where the record came from (input file, record id or offset,
    URL, fetch date); it is fixed by the reader. ``metadata`` is what stages add:
    language and its score, filter signals under ``metadata["signals"][stage]``,
    dedup cluster ids, and so on. Both are JSON-serialisable dicts.

    ``html`` carries raw markup for web records until the extraction stage turns it
    into ``text``; it is ``None`` afterwards and for sources that are already text.
    """

    id: str
    text: str
    source: str
    provenance: dict = dataclasses.field(default_factory=dict)
    metadata: dict = dataclasses.field(default_factory=dict)
    html: Optional[str] = None

    def set_signals(self, stage: str, signals: dict, fingerprint: Optional[str] = None) -> None:
        """Store a stage's computed signals so they land in the shards' metadata, with
        the fingerprint of the scoring parameters that produced them
        (``metadata["scored_with"][stage]``, see :func:`curate.params.fingerprint`)."""
        self.metadata.setdefault("signals", {})[stage] = signals
        if fingerprint is not None:
            self.metadata.setdefault("scored_with", {})[stage] = fingerprint

    def scored_with(self, stage: str) -> Optional[str]:
        return self.metadata.get("scored_with", {}).get(stage)

    def signals(self, stage: str) -> Optional[dict]:
        return self.metadata.get("signals", {}).get(stage)


@dataclasses.dataclass
class Drop:
    """A stage's decision to remove a document, with a short machine-readable reason.

    ``reason`` is a snake_case word (for example ``too_few_words``); together with the
    stage name it forms the ``stage:reason`` key counted in the manifest.
    """

    reason: str
    details: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Rejected:
    """A dropped document with the stage and reason that dropped it (for ``rejected/``)."""

    doc: Document
    stage: str
    reason: str
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.stage}:{self.reason}"


def describe_exception(exc: BaseException) -> str:
    """An error record's message for an exception: its type and text."""
    return f"{type(exc).__name__}: {exc}"


@dataclasses.dataclass
class ErrorRecord:
    """One failure: bad input or a stage that raised. Written to ``errors/``.

    ``locator`` is the offset or record id within ``input_file`` (or the document id
    for failures after reading), so a user can find the offending record.
    """

    input_file: str
    locator: str
    stage: str
    message: str
    source: str = "unknown"
    doc_id: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def for_document(cls, doc: "Document", stage: str, message: str) -> "ErrorRecord":
        """The record of ``stage`` failing on ``doc`` (located by its input file and record id)."""
        return cls(
            input_file=doc.provenance.get("input_file", ""),
            locator=doc.provenance.get("record_id") or doc.id,
            stage=stage,
            message=message,
            source=doc.source,
            doc_id=doc.id,
        )
