"""Names of the Beam counters behind the manifest's counts, and their parsing.

Every counter lives in namespace ``curate`` and carries the document source, so the
manifest can give totals and per-source figures from the same numbers Dataflow shows:

    input|<source>                    a unit read (document, skipped record or error)
    kept|<source>                     a document written to a shard
    dropped|<source>|<stage>|<reason> a document removed by a stage
    errors|<source>|<stage>           an error record
    stat|<source>|<stage>|<name>      something a stage did, not a document count
                                      (e.g. ``stat|code|code_redact|email``: e-mails redacted)
    lang|<source>|<language>          a kept document by its language (``unknown``
                                      without a language ID stage); these sum to kept
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Optional

NAMESPACE = "curate"
SEP = "|"
# kind -> its fields after the source (the parts of the name, in order)
_FIELDS = {
    "input": (),
    "kept": (),
    "dropped": ("stage", "detail"),
    "errors": ("stage",),
    "stat": ("stage", "detail"),
    "lang": ("detail",),
}


class CounterName(NamedTuple):
    """One counter's name, built and parsed here only. ``detail`` is the drop reason
    (dropped), the statistic (stat) or the language (lang)."""

    kind: str
    source: str
    stage: str = ""
    detail: str = ""

    def __str__(self) -> str:
        parts = [self.kind, self.source, *(getattr(self, f) for f in _FIELDS[self.kind])]
        bad = next((p for p in parts if SEP in p or not p), None)
        if bad is not None:  # source names are checked when the config is read; this is a bug
            raise ValueError(f"counter name part {bad!r} is empty or contains {SEP!r}: {parts}")
        return SEP.join(parts)

    @classmethod
    def parse(cls, name: str) -> Optional["CounterName"]:
        """The name's parts, or None for a name of another shape."""
        kind, *rest = name.split(SEP)
        fields = _FIELDS.get(kind)
        if fields is None or len(rest) != 1 + len(fields):
            return None
        return cls(kind, rest[0], **dict(zip(fields, rest[1:])))


# The names are built per document (a counter per kept row, per drop...): cached, a
# CounterName's check and join cost more than the count (0.2 s of a 16k-document run).
_cached = functools.lru_cache(maxsize=4096)


@_cached
def input_name(source: str) -> str:
    return str(CounterName("input", source))


@_cached
def kept_name(source: str) -> str:
    return str(CounterName("kept", source))


@_cached
def dropped_name(source: str, stage: str, reason: str) -> str:
    return str(CounterName("dropped", source, stage, reason))


@_cached
def error_name(source: str, stage: str) -> str:
    return str(CounterName("errors", source, stage))


@_cached
def stat_name(source: str, stage: str, name: str) -> str:
    return str(CounterName("stat", source, stage, name))


@_cached
def language_name(source: str, language) -> str:
    return str(CounterName("lang", source, detail=language or "unknown"))


def counts_from_counters(values: dict[str, int]) -> dict:
    """Fold ``{counter name: value}`` into the manifest's ``counts`` and ``by_source``
    (``by_language``: kept documents per language, in total and per source)."""
    total: dict[str, Any] = {
        "input": 0,
        "kept": 0,
        "dropped": {},
        "errors": 0,
        "errors_by_stage": {},
        "stats": {},
        "by_language": {},
    }
    by_source: dict[str, dict] = {}

    def src(s):
        return by_source.setdefault(
            s, {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "stats": {}, "by_language": {}}
        )

    for name, value in values.items():
        c = CounterName.parse(name)
        if c is None:
            continue
        if c.kind in ("input", "kept"):
            total[c.kind] += value
            src(c.source)[c.kind] += value
        elif c.kind in ("dropped", "stat"):
            field = "dropped" if c.kind == "dropped" else "stats"
            key = f"{c.stage}:{c.detail}"
            for d in (total[field], src(c.source)[field]):
                d[key] = d.get(key, 0) + value
        elif c.kind == "errors":
            total["errors"] += value
            total["errors_by_stage"][c.stage] = total["errors_by_stage"].get(c.stage, 0) + value
            src(c.source)["errors"] += value
        elif c.kind == "lang":
            for langs in (total["by_language"], src(c.source)["by_language"]):
                langs[c.detail] = langs.get(c.detail, 0) + value
    for d in [total, *by_source.values()]:
        for key in ("dropped", "stats", "by_language"):
            d[key] = dict(sorted(d[key].items()))
    total["by_source"] = dict(sorted(by_source.items()))
    return total


def balanced(counts: dict) -> bool:
    """The accounting identity: input == kept + sum(dropped) + errors."""
    return counts["input"] == counts["kept"] + sum(counts["dropped"].values()) + counts["errors"]
