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

NAMESPACE = "curate"
SEP = "|"


def input_name(source: str) -> str:
    return f"input{SEP}{source}"


def kept_name(source: str) -> str:
    return f"kept{SEP}{source}"


def dropped_name(source: str, stage: str, reason: str) -> str:
    return f"dropped{SEP}{source}{SEP}{stage}{SEP}{reason}"


def error_name(source: str, stage: str) -> str:
    return f"errors{SEP}{source}{SEP}{stage}"


def stat_name(source: str, stage: str, name: str) -> str:
    return f"stat{SEP}{source}{SEP}{stage}{SEP}{name}"


def language_name(source: str, language) -> str:
    return f"lang{SEP}{source}{SEP}{language or 'unknown'}"


def counts_from_counters(values: dict[str, int]) -> dict:
    """Fold ``{counter name: value}`` into the manifest's ``counts`` and ``by_source``
    (``by_language``: kept documents per language, in total and per source)."""
    total = {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "errors_by_stage": {}, "stats": {}, "by_language": {}}
    by_source: dict[str, dict] = {}

    def src(s):
        return by_source.setdefault(
            s, {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "stats": {}, "by_language": {}}
        )

    for name, value in values.items():
        parts = name.split(SEP)
        kind = parts[0]
        if kind in ("input", "kept") and len(parts) == 2:
            total[kind] += value
            src(parts[1])[kind] += value
        elif kind in ("dropped", "stat") and len(parts) == 4:
            field = "dropped" if kind == "dropped" else "stats"
            key = f"{parts[2]}:{parts[3]}"
            for d in (total[field], src(parts[1])[field]):
                d[key] = d.get(key, 0) + value
        elif kind == "errors" and len(parts) == 3:
            total["errors"] += value
            total["errors_by_stage"][parts[2]] = total["errors_by_stage"].get(parts[2], 0) + value
            src(parts[1])["errors"] += value
        elif kind == "lang" and len(parts) == 3:
            for langs in (total["by_language"], src(parts[1])["by_language"]):
                langs[parts[2]] = langs.get(parts[2], 0) + value
    for d in [total, *by_source.values()]:
        for key in ("dropped", "stats", "by_language"):
            d[key] = dict(sorted(d[key].items()))
    total["by_source"] = dict(sorted(by_source.items()))
    return total


def balanced(counts: dict) -> bool:
    """The accounting identity: input == kept + sum(dropped) + errors."""
    return counts["input"] == counts["kept"] + sum(counts["dropped"].values()) + counts["errors"]
