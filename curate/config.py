"""Configuration: YAML (safe loading only) validated against typed dataclasses.

Every stage and reader declares its parameters as a dataclass with typed defaults
(the papers' thresholds). :func:`build` checks a plain dict against such a class
and raises :class:`ConfigError` with one line naming the offending key, so a user
never sees a traceback for a typo.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import re
import types
import typing
from typing import Any, Callable, Literal, Optional, Union

import yaml

from curate import registry
from curate.params import PER_LANGUAGE, ConfigError, check_fields, param


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(tp))
        return f"{origin.__name__}[{args}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the type hint ``tp``; return it converted (int->float)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"{key}: expected one of {_type_name(tp)}, got {value!r}")
    if origin in (Union, types.UnionType):
        errors = []
        for arg in typing.get_args(tp):
            try:
                return _convert(value, arg, key)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected null, got {value!r}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        (item_tp,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__} {value!r}")
        k_tp, v_tp = typing.get_args(tp) or (Any, Any)
        return {_convert(k, k_tp, key): _convert(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")


def build(cls: type, data: Any, key: str = "config") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{key}: expected a mapping, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key (known: {', '.join(sorted(fields)) or 'none'})")
    kwargs = {}
    for name, field in fields.items():
        sub = f"{key}.{name}"
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], sub)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{sub}: missing required key")
    obj = cls(**kwargs)
    check_fields(obj, key)
    check = getattr(obj, "validate", None)
    if check is not None:
        check(key)
    for name, field in fields.items():
        if field.metadata.get("role") == PER_LANGUAGE:
            setattr(obj, name, _language_overrides(obj, field, data.get(name), f"{key}.{name}", hints))
    return obj


def _language_overrides(obj: Any, field: dataclasses.Field, given: Any, key: str, hints: dict) -> dict:
    """The ``languages:`` mapping of config ``obj``: the derived defaults
    (:func:`curate.params.language_overrides`) with the user's overrides merged in field by
    field, each override converted and checked as the field itself is, and each
    language's resulting config checked as a whole (its ``validate``)."""
    merged = typing.cast(Callable[[], dict], field.default_factory)()  # a per-language field has a factory
    if given is not None:
        if not isinstance(given, dict):
            raise ConfigError(
                f"{key}: expected a mapping of language codes to settings, got {type(given).__name__} {given!r}"
            )
        for language, override in given.items():
            if not isinstance(language, str) or not language:
                raise ConfigError(f"{key}: expected language codes (e.g. de, zh), got {language!r}")
            if not isinstance(override, dict):
                raise ConfigError(
                    f"{key}.{language}: expected a mapping of settings, got {type(override).__name__} {override!r}"
                )
            merged[language] = {**merged.get(language, {}), **override}
    settable = sorted(f.name for f in dataclasses.fields(obj) if f.init and f.name not in (field.name, "per_language"))
    out = {}
    for language, override in sorted(merged.items()):
        sub = f"{key}.{language}"
        unknown = sorted(set(override) - set(settable))
        if unknown:
            raise ConfigError(f"{sub}.{unknown[0]}: cannot be set per language (known: {', '.join(settable)})")
        converted = {name: _convert(value, hints[name], f"{sub}.{name}") for name, value in override.items()}
        resolved = dataclasses.replace(obj, **converted)
        check_fields(resolved, sub)
        check = getattr(resolved, "validate", None)
        if check is not None:
            check(sub)
        out[language] = converted
    return out


# --------------------------------------------------------------------------- top level


@dataclasses.dataclass
class InputConfig:
    """One input source. ``options`` are validated against the reader's own dataclass."""

    kind: str
    paths: list[str]
    name: Optional[str] = None  # the document ``source``; defaults to a name per kind
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainTokenizerConfig:
    vocab_size: int = param(8000, min=16)
    model_type: Literal["unigram", "bpe"] = "unigram"
    sample_docs: int = param(20000, min=1)  # how many kept documents (chosen by id hash) to train on
    max_sentence_length: int = param(16384, min=1)
    character_coverage: float = param(0.9995, gt=0, max=1)


@dataclasses.dataclass
class TokenizerConfig:
    """Either ``model`` (a SentencePiece ``.model`` path) or ``train`` (train one first)."""

    model: Optional[str] = None
    train: Optional[TrainTokenizerConfig] = None
    add_bos: bool = False
    add_eos: bool = True
    # A longer document is dropped before tokenization (tokenize:too_long) and left out
    # of the tokenizer's training sample: one huge record must not become millions of
    # tokens. 10M characters keeps the longest Gutenberg books whole; null: no limit.
    max_doc_chars: Optional[int] = param(10_000_000, min=1)

    def validate(self, key: str) -> None:
        if (self.model is None) == (self.train is None):
            raise ConfigError(f"{key}: set exactly one of 'model' or 'train'")


@dataclasses.dataclass
class OutputConfig:
    path: Optional[str] = None  # overridden by ``curate run --output``
    # How many shards: a fixed count (4 when none of the three is set), or a target size
    # from which the count follows (ceil(total / target), decided from the run's totals,
    # so the same input and config give the same count and the same bytes).
    num_shards: Optional[int] = param(None, min=1)
    shard_tokens: Optional[int] = param(None, min=1)  # target tokens per shard
    shard_bytes: Optional[int] = param(None, min=1)  # target text + token-id bytes per shard, before compression
    # Documents whose id hash falls below this fraction go to validation/ (by the
    # original document's id for upsampled copies, so copies stay on one side).
    validation_fraction: float = param(0.0, min=0, max=1)
    # Per-source weights (curate.mixture): each document is written floor(w) times, once
    # more when its id hash falls below the fraction left; unlisted sources weigh 1.
    mixture: dict[str, float] = param(factory=dict, min=0)
    write_rejected: bool = False
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    stats: bool = True  # stats.json and samples/ (curate stats, report): see curate/stats.py
    # A run whose errors exceed this share of its input records exits 4 and does not
    # replace the previous output (None: off; a run in which every record failed always does).
    max_error_rate: Optional[float] = param(None, min=0, max=1)
    # One folder of shards per language (shards/language=de/part-...; rows without a
    # language in language=und), each sharded as the whole output would be; the manifest
    # gives each partition's documents, tokens and bytes (``partitions``).
    partition_by: Optional[Literal["language"]] = None

    def validate(self, key: str) -> None:
        given = [n for n in ("num_shards", "shard_tokens", "shard_bytes") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ConfigError(
                f"{key}.{given[1]}: set one of num_shards, shard_tokens, shard_bytes (got {' and '.join(given)})"
            )
        if not given:
            self.num_shards = DEFAULT_NUM_SHARDS
        if self.validation_fraction >= 1:
            raise ConfigError(
                f"{key}.validation_fraction: must be below 1 (nothing would be left to train on), got {self.validation_fraction}"
            )


DEFAULT_NUM_SHARDS = 4


_LABEL = re.compile(r"[a-z0-9_]+")
_SOURCE = re.compile(r"[A-Za-z0-9_.\-]+")


def split_stage_key(key: str) -> tuple[str, str]:
    """A stage key of ``stages:`` as ``(base, full name)``: ``gopher_quality/books`` is an
    instance of the registered stage ``gopher_quality`` labelled ``books``.

    The base name finds the registered stage (its config class, its code); the full name
    is what the run reports: drop and error records, counters, the step label and the
    signals key on documents, so two instances of one stage never mix their figures."""
    base, sep, label = key.partition("/")
    if sep and not _LABEL.fullmatch(label):
        raise ConfigError(f"stages.{key}: an instance label (after '/') must match [a-z0-9_]+, got {label!r}")
    return base, key


@dataclasses.dataclass
class StageConfig:
    """One entry of ``stages:``: the stage key, its validated parameters and sources.

    ``name`` is the full name, the registered stage or an instance of it
    (``base/label``, see :func:`split_stage_key`). ``applies_to`` (a key every stage
    accepts beside its own parameters) lists the document sources the stage runs on;
    documents of other sources pass it untouched and uncounted. None: every source."""

    name: str
    params: Any
    applies_to: Optional[list[str]] = None

    @property
    def base(self) -> str:
        """The registered stage this entry runs."""
        return split_stage_key(self.name)[0]


@dataclasses.dataclass
class PipelineConfig:
    inputs: list[InputConfig]
    stages: list[StageConfig]
    tokenizer: TokenizerConfig
    output: OutputConfig
    raw: dict  # the YAML as loaded, for the manifest and the config hash

    @property
    def config_hash(self) -> str:
        return hash_config(self.raw)


def hash_config(raw: dict) -> str:
    """sha256 of the config as canonical JSON (key order and layout do not matter)."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


_TOP_KEYS = ("inputs", "stages", "tokenizer", "output")


def parse_stages(data: Any) -> list[StageConfig]:
    registry.load()
    if not isinstance(data, list):
        raise ConfigError(f"stages: expected a list of single-key mappings, got {type(data).__name__}")
    stages = []
    seen = set()
    for i, entry in enumerate(data):
        key = f"stages[{i}]"
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{key}: expected a mapping with one stage name, got {entry!r}")
        ((name, params),) = entry.items()
        if not isinstance(name, str):
            raise ConfigError(f"{key}: expected a stage name, got {name!r}")
        base, name = split_stage_key(name)
        spec = registry.STAGES.get(base)
        if spec is None:
            raise ConfigError(f"{key}.{name}: unknown stage (known: {', '.join(sorted(registry.STAGES))})")
        if base != name and not spec.per_document:
            # A global stage writes its fixed name into drop records and document
            # metadata (exact_duplicates, minhash_dedup, span signals): instances would mix.
            raise ConfigError(f"{key}.{name}: global stage {base} cannot take an instance label; list it once")
        if name in seen:
            raise ConfigError(f"{key}.{name}: stage listed twice")
        seen.add(name)
        applies_to = None
        if isinstance(params, dict) and "applies_to" in params:
            params = dict(params)
            applies_to = _convert(params.pop("applies_to"), list[str], f"stages.{name}.applies_to")
            if not applies_to:
                raise ConfigError(f"stages.{name}.applies_to: expected at least one source")
        stages.append(StageConfig(name, build(spec.config_cls, params, f"stages.{name}"), applies_to))
    return stages


def _parse_inputs(data: Any, check_paths: bool) -> list[InputConfig]:
    registry.load()
    if not isinstance(data, list) or not data:
        raise ConfigError("inputs: expected a non-empty list of inputs")
    inputs = []
    for i, entry in enumerate(data):
        key = f"inputs[{i}]"
        inp = build(InputConfig, entry, key)
        spec = registry.READERS.get(inp.kind)
        if spec is None:
            raise ConfigError(
                f"{key}.kind: unknown input kind {inp.kind!r} (known: {', '.join(sorted(registry.READERS))})"
            )
        inp.options = build(spec.config_cls, inp.options, f"{key}.options")
        default_from_paths = getattr(inp.options, "default_from_paths", None)
        if default_from_paths is not None:  # a reader's defaults that follow from the paths (code: root)
            default_from_paths(inp.paths)
        if inp.name is None:
            inp.name = spec.default_source
        if not _SOURCE.fullmatch(inp.name):
            # the name is part of counter names (``kept|<source>``) and of ``applies_to``
            raise ConfigError(f"{key}.name: a source name must match [A-Za-z0-9_.-]+, got {inp.name!r}")
        if not inp.paths:
            raise ConfigError(f"{key}.paths: expected at least one path")
        for j, path in enumerate(inp.paths):
            # Paths stay as written (relative to the working directory), so that the
            # provenance stored in the shards does not depend on where the clone lives.
            if check_paths and "://" not in path and not glob.glob(path):
                raise ConfigError(f"{key}.paths[{j}]: no file matches {path!r}")
            if "://" not in path and os.path.isdir(path):
                raise ConfigError(
                    f"{key}.paths[{j}]: {path!r} is a directory; name its files with a glob, "
                    f"e.g. '{path.rstrip('/')}/**/*.txt' or '{path.rstrip('/')}/**'"
                )
        inputs.append(inp)
    return inputs


def parse(raw: Any, check_paths: bool = True) -> PipelineConfig:
    """Validate a loaded YAML mapping. Relative input paths are relative to the working directory."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping at the top level, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown top-level key (known: {', '.join(_TOP_KEYS)})")
    for required in ("inputs", "tokenizer"):
        if required not in raw:
            raise ConfigError(f"{required}: missing required key")
    return PipelineConfig(
        inputs=_parse_inputs(raw["inputs"], check_paths),
        stages=parse_stages(raw.get("stages", [])),
        tokenizer=build(TokenizerConfig, raw["tokenizer"], "tokenizer"),
        output=build(OutputConfig, raw.get("output"), "output"),
        raw=raw,
    )


def read_yaml(path: str) -> Any:
    """A YAML file (``yaml.safe_load`` only); a syntax error names the line and column."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {what}") from None


def load(path: str, check_paths: bool = True) -> PipelineConfig:
    """Load and validate a YAML config file."""
    return parse(read_yaml(path), check_paths=check_paths)
