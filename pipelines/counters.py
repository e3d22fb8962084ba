"""Names of the Beam counters behind the manifest's counts, and their parsing.

Every counter lives in namespace ``curate`` and carries the document source, so the
manifest can give totals and per-source figures from the same numbers Dataflow shows:

    input|<source>                    a unit read (document, skipped record or error)
    kept|<source>                     a document written to a shard
    dropped|<source>|<stage>|<reason> a document removed by a stage
    errors|<source>|<stage>           an error record
    stat|<source>|<stage>|<name>      something a stage did, not a document count
                                      (e.g. ``stat|code|code_redact|email``: e-mails redacted)
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


def counts_from_counters(values: dict[str, int]) -> dict:
    """Fold ``{counter name: value}`` into the manifest's ``counts`` and ``by_source``."""
    total = {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "errors_by_stage": {}, "stats": {}}
    by_source: dict[str, dict] = {}

    def src(s):
        return by_source.setdefault(s, {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "stats": {}})

    for name, value in values.items():
        parts = name.split(SEP)
        kind = parts[0]
        if kind in ("input", "kept") and len(parts) == 2:
            total[kind] += value
            src(parts[1])[kind] += value
        elif kind == "dropped" and len(parts) == 4:
            key = f"{parts[2]}:{parts[3]}"
            total["dropped"][key] = total["dropped"].get(key, 0) + value
            d = src(parts[1])["dropped"]
            d[key] = d.get(key, 0) + value
        elif kind == "errors" and len(parts) == 3:
            total["errors"] += value
            total["errors_by_stage"][parts[2]] = total["errors_by_stage"].get(parts[2], 0) + value
            src(parts[1])["errors"] += value
        elif kind == "stat" and len(parts) == 4:
            key = f"{parts[2]}:{parts[3]}"
            total["stats"][key] = total["stats"].get(key, 0) + value
            st = src(parts[1])["stats"]
            st[key] = st.get(key, 0) + value
    total["dropped"] = dict(sorted(total["dropped"].items()))
    total["stats"] = dict(sorted(total["stats"].items()))
    for s in by_source.values():
        s["dropped"] = dict(sorted(s["dropped"].items()))
        s["stats"] = dict(sorted(s["stats"].items()))
    total["by_source"] = dict(sorted(by_source.items()))
    return total


def balanced(counts: dict) -> bool:
    """The accounting identity: input == kept + sum(dropped) + errors."""
    return counts["input"] == counts["kept"] + sum(counts["dropped"].values()) + counts["errors"]
