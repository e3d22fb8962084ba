"""``curate stats``: one output directory (a run's or a refilter's) summarised from its
``manifest.json`` and ``stats.json``, and several side by side.

The summary's ``counts`` has the manifest's schema but, where ``stats.json`` exists, is
computed from it (the statistics combiners), so a test can hold the two independent
tallies against each other; only ``stats`` (what stages did, not documents) is the
manifest's counters. Without ``stats.json`` (``output.stats: false``) the manifest's
counts are used and the distributions are missing.

The funnel lists, in the run's stage order, each stage's drops by reason and errors,
with the documents remaining after it: it starts at the input and ends at the kept
documents, because every record is accounted for.
"""

from __future__ import annotations

import json
from typing import Optional

from curate import io as cio
from curate.decontam import REPORT_FILE as DECONTAMINATION_FILE
from curate.decontam import summary_lines as decontamination_lines
from curate.stats import DEDUP_STAGES, read_stats


class SummaryError(ValueError):
    """Not an output directory: a one-line message."""


def read_manifest(out_dir: str) -> dict:
    try:
        return json.loads(cio.read_bytes(cio.join(out_dir, "manifest.json")))
    except FileNotFoundError:
        raise SummaryError(f"{out_dir}: no manifest.json (not the output of a curate run or refilter)") from None


def counts_from_stats(stats: dict, manifest_counts: dict) -> dict:
    """``stats.json`` folded into the manifest's ``counts`` schema (``stats`` copied)."""

    def source_entry(src):
        return {"input": 0, "kept": 0, "dropped": {}, "errors": 0, "stats": {}, "by_language": {}}

    by_source = {s: source_entry(s) for s in stats["input"]["by_source"]}
    for src, n in stats["input"]["by_source"].items():
        by_source[src]["input"] = n
    for src, entry in stats["kept"]["by_source"].items():
        by_source[src]["kept"] = entry["docs"]
    for src, langs in stats["kept"]["by_source_language"].items():
        by_source[src]["by_language"] = {lang: e["docs"] for lang, e in sorted(langs.items())}
    for key, entry in stats["dropped"].items():
        for src, e in entry["by_source"].items():
            by_source[src]["dropped"][key] = e["docs"]
    for entry in stats["errors"].values():
        for src, n in entry["by_source"].items():
            by_source[src]["errors"] += n
    for src, entry in by_source.items():
        entry["dropped"] = dict(sorted(entry["dropped"].items()))
        entry["stats"] = ((manifest_counts.get("by_source") or {}).get(src) or {}).get("stats", {})
    return {
        "input": stats["input"]["docs"],
        "kept": stats["kept"]["docs"],
        "dropped": {k: e["docs"] for k, e in sorted(stats["dropped"].items())},
        "errors": sum(e["docs"] for e in stats["errors"].values()),
        "errors_by_stage": {stage: e["docs"] for stage, e in stats["errors"].items()},
        "stats": manifest_counts.get("stats", {}),
        "by_language": {lang: e["docs"] for lang, e in sorted(stats["kept"]["by_language"].items())},
        "by_source": dict(sorted(by_source.items())),
    }


def _stage_order(manifest: dict, stats: Optional[dict], counts: dict) -> list:
    if stats is not None:
        order = list(stats["stages"])
    elif "reapplied_stages" in manifest:
        order = list(manifest["reapplied_stages"]) + ["refilter"]
    else:
        names = [e if isinstance(e, str) else next(iter(e)) for e in (manifest.get("config") or {}).get("stages") or []]
        order = ["read", *names, "tokenize"]
    seen = [k.split(":", 1)[0] for k in counts["dropped"]] + list(counts["errors_by_stage"])
    return order + sorted(set(seen) - set(order))


def funnel(counts: dict, order: list) -> list[dict]:
    """``[{stage, in, dropped: {reason: n}, errors, out}]`` for the stages that removed
    something; the first ``in`` is the input, the last ``out`` the kept count when the
    accounting identity holds."""
    steps, remaining = [], counts["input"]
    for stage in order:
        dropped = {k.split(":", 1)[1]: n for k, n in counts["dropped"].items() if k.split(":", 1)[0] == stage and n}
        errors = counts["errors_by_stage"].get(stage, 0)
        if not dropped and not errors:
            continue
        out = remaining - sum(dropped.values()) - errors
        steps.append({"stage": stage, "in": remaining, "dropped": dropped, "errors": errors, "out": out})
        remaining = out
    return steps


def summarize(out_dir: str) -> dict:
    manifest = read_manifest(out_dir)
    stats = read_stats(out_dir)
    counts = counts_from_stats(stats, manifest["counts"]) if stats is not None else manifest["counts"]
    summary = {
        "path": out_dir,
        "config_hash": manifest.get("config_hash"),
        "refilter_of": manifest.get("refilter_of"),
        "has_stats": stats is not None,
        "counts": counts,
        "funnel": funnel(counts, _stage_order(manifest, stats, counts)),
        "tokens": manifest.get("totals", {}).get("tokens"),
        "shards": manifest.get("totals"),
    }
    if stats is not None:
        summary["kept_by_source"] = stats["kept"]["by_source"]
        summary["kept_by_language"] = stats["kept"]["by_language"]
        summary["dedup"] = {
            stage: {k: v for k, v in entry.items() if k != "cluster_sizes"}
            | {"clusters": _cluster_summary(entry.get("cluster_sizes"))}
            for stage, entry in stats["dedup"].items()
        }
        summary["shard_sizes"] = {k: stats["shards"][k] for k in ("rows", "tokens", "bytes")}
    try:
        summary["decontamination"] = json.loads(cio.read_bytes(cio.join(out_dir, DECONTAMINATION_FILE)))
    except FileNotFoundError:
        pass
    return summary


def _cluster_summary(hist: Optional[dict]) -> Optional[dict]:
    if not hist:
        return None
    return {"clusters": hist["n"], "largest": hist["max"], "mean_size": hist["mean"]}


# --------------------------------------------------------------------------- text


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else ("-" if v is None else str(v))


def _table(rows: list[list], header: list[str]) -> list[str]:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for r in cells:
        out.append("  " + r[0].ljust(widths[0]) + "".join("  " + c.rjust(w) for c, w in zip(r[1:], widths[1:])))
    return out


def _dedup_line(stage: str, d: dict) -> str:
    parts = [f"{d['docs_removed']:,} docs removed ({d['bytes_removed_in_docs']:,} bytes)"]
    s = d.get("stage_stats") or {}
    if s.get("docs_edited"):
        cut = [
            f"{s[k]:,} {label}"
            for k, label in (
                ("units_removed", "sentences/lines"),
                ("tokens_removed", "tokens"),
                ("bytes_removed", "bytes"),
            )
            if k in s
        ]
        parts.append(f"{s['docs_edited']:,} docs edited, cut {', '.join(cut)}")
    c = d.get("clusters")
    if c:
        parts.append(f"{c['clusters']:,} clusters of 2+ docs, largest {c['largest']:,}")
    return f"  {stage:<16} " + "; ".join(parts)


def funnel_rows(s: dict) -> list[list[str]]:
    """``[label, documents, remaining]`` from the input through each drop reason and
    each stage's errors to the kept documents; ``remaining`` after each stage's last row."""
    c = s["counts"]
    rows = [["input", _n(c["input"]), _n(c["input"])]]
    for step in s["funnel"]:
        for reason, n in sorted(step["dropped"].items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append([f"  {step['stage']}:{reason}", f"-{n:,}", ""])
        if step["errors"]:
            rows.append([f"  {step['stage']} (errors)", f"-{step['errors']:,}", ""])
        rows[-1][2] = _n(step["out"])
    return rows + [["kept", _n(c["kept"]), _n(c["kept"])]]


def format_run(s: dict) -> str:
    head = f"curate stats: {s['path']}  (config {str(s['config_hash'])[:12]})"
    if s.get("refilter_of"):
        head += f"  refilter of {s['refilter_of'].get('path')}"
    lines = [head, "", "funnel (documents)"]
    rows = [[label, docs, "", remaining] for label, docs, remaining in funnel_rows(s)]
    rows[-1][2] = _n(s.get("tokens"))
    lines += _table(rows, ["", "docs", "tokens", "remaining"])
    if not s["has_stats"]:
        lines += ["", "(no stats.json: the run had output.stats: false; counts from manifest.json)"]
    else:
        for title, table in (("kept by source", s["kept_by_source"]), ("kept by language", s["kept_by_language"])):
            lines += ["", title]
            lines += _table(
                [[k, _n(v["docs"]), _n(v["tokens"]), _n(v["chars"])] for k, v in table.items()],
                ["", "docs", "tokens", "chars"],
            )
        if s["dedup"]:
            lines += ["", "deduplication"] + [_dedup_line(k, v) for k, v in s["dedup"].items()]
        sh = s["shards"]
        if sh:
            z = s["shard_sizes"]
            lines += [
                "",
                f"shards  {sh['shards']} files, {sh['bytes']:,} bytes; rows per shard "
                f"{z['rows']['min']:,}-{z['rows']['max']:,}, tokens {z['tokens']['min']:,}-{z['tokens']['max']:,}",
            ]
    if "decontamination" in s:
        lines += ["", "decontamination"] + [f"  {line}" for line in decontamination_lines(s["decontamination"])]
    return "\n".join(lines)


def comparison_rows(summaries: list[dict]) -> list[tuple[str, list]]:
    """``[(label, [value per run])]``: input, every stage:reason and errors in stage order,
    kept, tokens, then kept documents per source and per language."""
    order: list = []
    for s in summaries:
        for step in s["funnel"]:
            if step["stage"] not in order:
                order.append(step["stage"])
    rows = [("input", [s["counts"]["input"] for s in summaries])]
    for stage in order:
        reasons = sorted({r for s in summaries for st in s["funnel"] if st["stage"] == stage for r in st["dropped"]})
        for reason in reasons:
            rows.append(
                (f"  {stage}:{reason}", [s["counts"]["dropped"].get(f"{stage}:{reason}", 0) for s in summaries])
            )
        if any(s["counts"]["errors_by_stage"].get(stage) for s in summaries):
            rows.append((f"  {stage} (errors)", [s["counts"]["errors_by_stage"].get(stage, 0) for s in summaries]))
    rows.append(("kept", [s["counts"]["kept"] for s in summaries]))
    rows.append(("tokens", [s.get("tokens") for s in summaries]))
    for key, title in (("by_source", "kept, source"), ("by_language", "kept, language")):
        names = sorted({n for s in summaries for n in s["counts"][key]})
        for name in names:
            vals = []
            for s in summaries:
                v = s["counts"][key].get(name)
                vals.append(v["kept"] if isinstance(v, dict) else (v or 0))
            rows.append((f"{title} {name}", vals))
    for stage in DEDUP_STAGES:
        if any(stage in (s.get("dedup") or {}) for s in summaries):
            rows.append(
                (
                    f"dedup {stage} docs removed",
                    [((s.get("dedup") or {}).get(stage) or {}).get("docs_removed") for s in summaries],
                )
            )
    sets = sorted({name for s in summaries for name in ((s.get("decontamination") or {}).get("sets") or {})})
    for name in sets:
        for key in ("items_found", "docs_cut", "docs_dropped"):
            rows.append(
                (
                    f"decontamination {name} {key}",
                    [
                        (((s.get("decontamination") or {}).get("sets") or {}).get(name) or {}).get(key)
                        for s in summaries
                    ],
                )
            )
    return rows


def format_comparison(summaries: list[dict]) -> str:
    """The runs side by side; with two runs a change column (second minus first), with
    more a change column per run against the first. Rows that differ are marked ``*``."""
    header = [""] + [f"[{i + 1}]" for i in range(len(summaries))]
    header += ["change"] if len(summaries) == 2 else [f"[{i + 1}]-[1]" for i in range(1, len(summaries))]
    table = []
    for label, vals in comparison_rows(summaries):
        changes = [None if v is None or vals[0] is None else v - vals[0] for v in vals[1:]]
        mark = "*" if any(ch for ch in changes) else " "
        table.append(
            [f"{mark}{label}"] + [_n(v) for v in vals] + [("-" if ch is None else f"{ch:+,}") for ch in changes]
        )
    lines = ["curate stats: " + ", ".join(f"[{i + 1}] {s['path']}" for i, s in enumerate(summaries)), ""]
    return "\n".join(lines + _table(table, header) + ["", "* differs from [1]"])
