"""Parameters of stages and readers: declared with their dataclass fields, checked in one place.

A config dataclass declares each field's bounds and, for a filter, whether the field
is a *threshold* (it only changes the decision over stored signals, so ``curate
refilter`` may change it) or a *scoring parameter* (it changes the signals
themselves: changing it needs a rescore)::

    @dataclasses.dataclass
    class MyConfig:
        min_words: Optional[int] = threshold(50, min=0)          # null switches the rule off
        max_dup_frac: Optional[float] = threshold(0.3, min=0, max=1)
        stop_words: list[str] = param(factory=lambda: ["the"], nonempty=True)
        window: int = param(5, min=1)
        fast: bool = False                                        # a plain field: a scoring parameter

Undeclared fields are scoring parameters: a field someone forgot to mark makes
refilter refuse, never silently apply nothing. :func:`check_fields` checks the bounds
(``curate.config.build`` calls it for every config), :func:`scoring_params` and
:func:`fingerprint` give what the stored signals were computed with.

A filter may also take per-language overrides of its own fields (:func:`per_language`).

This module is a leaf (standard library only): the config loader, the registry and
every stage module import it, and it imports none of them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from typing import Any, Callable, Mapping, Optional

THRESHOLD = "threshold"
SCORING = "scoring"
PER_LANGUAGE = "per_language"


class ConfigError(ValueError):
    """A configuration problem, reported as one line that names the key."""


def param(
    default: Any = dataclasses.MISSING,
    *,
    factory: Optional[Callable[[], Any]] = None,
    min: Optional[float] = None,
    max: Optional[float] = None,
    gt: Optional[float] = None,
    lt: Optional[float] = None,
    key_min: Optional[int] = None,
    key_max: Optional[int] = None,
    nonempty: bool = False,
    threshold: bool = False,
    scored_keys: bool = False,
) -> Any:
    """A dataclass field with declared bounds.

    ``min``/``max`` (inclusive) and ``gt``/``lt`` (exclusive) bound a number, every item of a
    list and every value of a mapping; ``key_min``/``key_max`` bound a mapping's keys;
    ``nonempty``: a string, or every string of a list, must not be empty. ``None`` is
    always accepted where the type allows it (a rule switched off).

    ``threshold=True`` marks a decision threshold (see the module docstring); with
    ``scored_keys=True`` a mapping's keys are scoring parameters and its values
    thresholds (which n-gram sizes are measured vs. the limit for each)."""
    meta: dict[str, Any] = {"role": THRESHOLD if threshold else SCORING}
    for name, value in (("min", min), ("max", max), ("gt", gt), ("lt", lt), ("key_min", key_min), ("key_max", key_max)):
        if value is not None:
            meta[name] = value
    if nonempty:
        meta["nonempty"] = True
    if scored_keys:
        meta["scored_keys"] = True
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def threshold(default: Any = dataclasses.MISSING, **kw) -> Any:
    """:func:`param` for a decision threshold: refilter may change it without rescoring."""
    return param(default, threshold=True, **kw)


def language_overrides(stage: str) -> Any:
    """The ``languages:`` field of a filter's config: ``{language code: {field: value}}``,
    the config's own fields set anew for the documents of that language
    (``metadata.language``), over the defaults derived for ``stage`` in
    ``curate/data/language_params.json`` (:mod:`curate.langparams`). The config loader
    checks each override as it checks the field itself and merges the user's overrides
    into the defaults, field by field. An overridden threshold stays a threshold, an
    overridden scoring parameter a scoring parameter (:func:`scoring_params`)."""
    return dataclasses.field(default_factory=lambda: language_defaults(stage), metadata={"role": PER_LANGUAGE})


LANGUAGE_PARAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "language_params.json")


@functools.lru_cache(maxsize=1)
def _language_table() -> str:
    with open(LANGUAGE_PARAMS, encoding="utf-8") as f:
        return f.read()


def language_defaults(stage: str) -> dict:
    """The derived per-language defaults of ``stage`` (a fresh copy)."""
    return json.loads(_language_table()).get(stage, {})


def per_language_fields(cls_or_obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls_or_obj) if f.metadata.get("role") == PER_LANGUAGE]


def for_language(config: Any, language: Optional[str]) -> Any:
    """``config`` with the overrides of ``language`` applied (``config`` itself when it
    has none, or when its ``per_language`` switch is off)."""
    if not language or not getattr(config, "per_language", True):
        return config
    for name in per_language_fields(config):
        override = getattr(config, name).get(language)
        if override:
            return dataclasses.replace(config, **override)
    return config


def _bound_error(value: Any, meta: Mapping[str, Any]) -> Optional[str]:
    lo, hi, gt, lt = meta.get("min"), meta.get("max"), meta.get("gt"), meta.get("lt")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if gt is not None and lt is not None and not gt < value < lt:
        return f"must be strictly between {gt} and {lt}, got {value}"
    if gt is not None and not value > gt:
        return f"must be > {gt}, got {value}"
    if lt is not None and not value < lt:
        return f"must be < {lt}, got {value}"
    if lo is not None and hi is not None and not lo <= value <= hi:
        if (lo, hi) == (0, 1):
            return f"must be a fraction between 0 and 1, got {value}"
        return f"must be between {lo} and {hi}, got {value}"
    if lo is not None and value < lo:
        return f"must be >= {lo}, got {value}"
    if hi is not None and value > hi:
        return f"must be <= {hi}, got {value}"
    return None


def check_fields(obj: Any, key: str) -> None:
    """Check every declared bound of config dataclass ``obj``; one :class:`ConfigError`
    line naming ``key.field`` (``key.field[i]`` or ``key.field.k`` inside a container)."""
    for f in dataclasses.fields(obj):
        meta = f.metadata
        value = getattr(obj, f.name)
        if value is None or not meta or meta.get("role") == PER_LANGUAGE:
            continue  # per-language overrides: checked field by field by the config loader
        sub = f"{key}.{f.name}"
        if isinstance(value, dict):
            items = [(f"{sub}.{k}", v) for k, v in value.items()]
            for k in value:
                keyed = {"min": meta.get("key_min"), "max": meta.get("key_max")}
                err = _bound_error(k, {n: v for n, v in keyed.items() if v is not None})
                if err:
                    raise ConfigError(f"{sub}.{k}: key {err}")
        elif isinstance(value, list):
            items = [(f"{sub}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(sub, value)]
        for name, v in items:
            err = _bound_error(v, meta)
            if err is None and meta.get("nonempty") and isinstance(v, str) and not v:
                err = "must not be empty"
            if err:
                raise ConfigError(f"{name}: {err}")


def to_plain(value: Any) -> Any:
    """A config dataclass (or a value in one) as plain JSON-able data."""
    if dataclasses.is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def scoring_params(config: Any) -> dict:
    """What the signals depend on: every field that is not a threshold (and the keys of a
    ``scored_keys`` mapping), as JSON-able data."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.metadata.get("role") == PER_LANGUAGE:
            out[f.name] = _language_scoring(config, value)
        elif f.metadata.get("role") != THRESHOLD:
            out[f.name] = to_plain(value)
        elif f.metadata.get("scored_keys") and isinstance(value, dict):
            out[f.name] = sorted(str(k) for k in value)
    return out


def _language_scoring(config: Any, overrides: dict) -> dict:
    """Per language, what its overrides change of the scoring parameters (thresholds
    left out, the keys of a ``scored_keys`` mapping kept)."""
    meta = {f.name: f.metadata for f in dataclasses.fields(config)}
    out = {}
    for language, override in sorted(overrides.items()):
        scored = {}
        for name, value in sorted(override.items()):
            m = meta[name]
            if m.get("role") != THRESHOLD:
                scored[name] = to_plain(value)
            elif m.get("scored_keys") and isinstance(value, dict):
                scored[name] = sorted(str(k) for k in value)
        if scored:
            out[language] = scored
    return out


def fingerprint(stage: str, config: Any) -> str:
    """A short stable digest of the stage's name and scoring parameters: stored beside
    the signals, so a refilter can tell whether they still match the config."""
    blob = json.dumps({"stage": stage, "params": scoring_params(config)}, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=8).hexdigest()


def first_difference(old: dict, new: dict) -> Optional[str]:
    """The first parameter name (in sorted order) whose value differs between two
    :func:`scoring_params` results, or None."""
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            return name
    return None
