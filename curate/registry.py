"""Registries of stages and readers, filled by decorators in the modules that define them.

A stage is either *per-document* (a :class:`curate.base.DocStage`: one document
in, the document or a :class:`~curate.document.Drop` out, so the Beam layer can run it
in a generic ``ParDo``) or *global* (it needs the whole run, like deduplication: the
core holds its pure logic and ``pipelines`` registers the PTransform that wires it).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional


@dataclasses.dataclass(frozen=True)
class StageSpec:
    name: str
    config_cls: type
    factory: Optional[Callable]  # config -> DocStage, for per-document stages
    per_document: bool


@dataclasses.dataclass(frozen=True)
class ReaderSpec:
    kind: str
    config_cls: type
    default_source: str  # the ``source`` written on documents unless the input names one
    read_file: Optional[Callable]  # (path, fileobj, source, config) -> iterator of items


STAGES: dict[str, StageSpec] = {}
READERS: dict[str, ReaderSpec] = {}


def register_stage(name: str, config_cls: type, per_document: bool = True):
    """Class decorator for a per-document stage, or a marker for a global one.

    For a global stage, decorate the function or class holding its core logic with
    ``per_document=False``; ``pipelines.stages.GLOBAL_TRANSFORMS[name]`` supplies the Beam glue.
    """

    def deco(obj):
        if name in STAGES:
            raise ValueError(f"stage {name!r} registered twice")
        STAGES[name] = StageSpec(name, config_cls, obj if per_document else None, per_document)
        return obj

    return deco


def register_reader(kind: str, config_cls: type, default_source: str):
    """Decorator for a reader function ``(path, fileobj, source, config) -> iterator``.

    The iterator yields :class:`~curate.document.Document` (read),
    :class:`~curate.document.Rejected` (a record skipped for a reason) or
    :class:`~curate.document.ErrorRecord` (a record or region that could not be read).
    Every input unit yields exactly one of these, which keeps the accounting exact.
    """

    def deco(fn):
        if kind in READERS:
            raise ValueError(f"reader {kind!r} registered twice")
        READERS[kind] = ReaderSpec(kind, config_cls, default_source, fn)
        return fn

    return deco
