"""The registry of stages and readers: every stage and reader is declared once, where it
is defined, and :func:`load` collects the declarations, once, explicitly.

How to declare a stage
======================

A per-document stage (a filter, an editor) is one file in ``curate/filters/`` (any
module of the packages in :data:`PACKAGES` is loaded)::

    import dataclasses
    from typing import Optional

    from curate.base import Filter
    from curate.filters.common import exceeds
    from curate.params import param, threshold
    from curate.registry import register_stage


    @dataclasses.dataclass
    class MaxLineLengthConfig:
        # a threshold: `curate refilter` may change it; null switches the rule off
        max_line_length: Optional[int] = threshold(1000, min=1)
        # a scoring parameter: it changes the signals, so a refilter refuses a new value
        strip_lines: bool = param(True)


    @register_stage("max_line_length", MaxLineLengthConfig)
    class MaxLineLength(Filter):
        def score(self, doc) -> dict:         # the signals, stored on the document
            ...
        def decide(self, signals) -> Optional[str]:   # a drop reason, or None to keep
            return "line_too_long" if exceeds(signals["longest"], self.config.max_line_length) else None

- The config dataclass declares every parameter: its type (checked when the config is
  read), its bounds (``param``/``threshold`` of :mod:`curate.params`; one check, one
  wording), and whether it is a *threshold* (only ``decide`` reads it) or a *scoring
  parameter* (anything else; stored signals carry their fingerprint). Cross-field
  checks go in a ``validate(self, key)`` method raising :class:`curate.params.ConfigError`.
- The decorator gives the class its ``name``; an instance ``name/label`` gets its full
  name at construction (:meth:`StageSpec.make`).
- Setup contract: ``setup()`` loads models and lists, once per worker, before the first
  ``process``; the pipeline calls it (and :meth:`StageSpec.make` does by default).
  ``decide`` never needs it (refilter builds filters without it).
- Drops are returned (``Drop``), errors raised: the Beam layer counts both, in one place.

A global stage (it needs the whole run: deduplication, decontamination) declares its
core (a class or function, Beam-free) and names its Beam transform, a factory
``params -> PTransform`` returning ``pipelines.stages.StageResult``::

    @register_stage("exact_dedup", ExactDedupConfig, transform="pipelines.exact_dedup:ExactDedup")
    def choose_survivor(...): ...

A reader is declared the same way with :func:`register_reader` on its function
``(path, fileobj, source, config) -> iterator of Document | Rejected | ErrorRecord``,
or with ``transform=`` for a reader that groups across files.

Tests and plugins can add a stage defined anywhere with :func:`register`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, Callable, Optional

from curate.base import Filter

# Every module of these packages, and these modules, are searched for declarations.
PACKAGES = ("curate.filters", "curate.dedup", "curate.readers")
MODULES = ("curate.extract", "curate.langid", "curate.redact", "curate.decontam")

_SPECS_ATTR = "__curate_specs__"


@dataclasses.dataclass(frozen=True)
class StageSpec:
    name: str
    config_cls: type
    core: Any  # per-document: the DocStage class (config -> stage); global: its Beam-free core
    transform: Optional[str] = None  # global stages: "module:attribute" of the Beam factory

    @property
    def per_document(self) -> bool:
        return self.transform is None

    @property
    def is_filter(self) -> bool:
        return self.per_document and isinstance(self.core, type) and issubclass(self.core, Filter)

    def make(self, params, full_name: Optional[str] = None, setup: bool = True):
        """The stage object for ``params`` named ``full_name`` (an instance ``base/label``),
        set up unless ``setup=False`` (refilter, which only calls ``decide``)."""
        obj = self.core(params)
        if full_name is not None:
            obj.name = full_name
        if setup and hasattr(obj, "setup"):
            obj.setup()
        return obj


@dataclasses.dataclass(frozen=True)
class ReaderSpec:
    kind: str
    config_cls: type
    default_source: str  # the ``source`` written on documents unless the input names one
    read_file: Optional[Callable]  # (path, fileobj, source, config) -> iterator of items
    transform: Optional[str] = None  # "module:attribute" of a factory(InputConfig) -> PTransform


STAGES: dict[str, StageSpec] = {}
READERS: dict[str, ReaderSpec] = {}
_loaded = False


def _declare(obj, spec) -> None:
    specs = obj.__dict__.get(_SPECS_ATTR) if isinstance(obj, type) else getattr(obj, _SPECS_ATTR, None)
    if specs is None:
        specs = []
        setattr(obj, _SPECS_ATTR, specs)
    specs.append(spec)


def register_stage(name: str, config_cls: type, transform: Optional[str] = None):
    """Declares the decorated class (a per-document stage) or core (a global stage, with
    ``transform``) as stage ``name``. :func:`load` registers it."""

    def deco(obj):
        spec = StageSpec(name, config_cls, obj, transform)
        if isinstance(obj, type):
            obj.name = name
        _declare(obj, spec)
        return obj

    return deco


def register_reader(kind: str, config_cls: type, default_source: str, transform: Optional[str] = None):
    """Declares the decorated reader function as input kind ``kind`` (with ``transform``,
    the function is the reader's core and the Beam factory reads the files)."""

    def deco(fn):
        _declare(fn, ReaderSpec(kind, config_cls, default_source, None if transform else fn, transform))
        return fn

    return deco


def register(obj) -> None:
    """Add the declarations carried by ``obj`` (decorated with :func:`register_stage`
    or :func:`register_reader`) to the registry."""
    for spec in getattr(obj, _SPECS_ATTR, ()):
        table: dict[str, Any] = STAGES if isinstance(spec, StageSpec) else READERS
        key = spec.name if isinstance(spec, StageSpec) else spec.kind
        if key in table and table[key] != spec:
            raise ValueError(f"{key!r} declared twice ({table[key].core if table is STAGES else table[key].read_file})")
        table[key] = spec


def _modules():
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            yield importlib.import_module(f"{pkg_name}.{info.name}")
    for name in MODULES:
        yield importlib.import_module(name)


def load() -> None:
    """Import the stage and reader modules and register what they declare (once)."""
    global _loaded
    if _loaded:
        return
    for module in _modules():
        for obj in list(vars(module).values()):
            if getattr(obj, "__module__", None) == module.__name__ and getattr(obj, _SPECS_ATTR, None):
                register(obj)
    _loaded = True


def stage(name: str) -> StageSpec:
    load()
    return STAGES[name]


def reader(kind: str) -> ReaderSpec:
    load()
    return READERS[kind]
