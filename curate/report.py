"""``curate report OUT``: one self-contained HTML page about a run, from its
``manifest.json``, ``stats.json`` and sampled documents (never the shards).

Plots are drawn with matplotlib and embedded as SVG data URIs (text drawn as paths, so
no font is fetched); the page has no script and no remote reference of any kind, and
opens offline from a ``file:`` URL. Sections:

- the funnel per stage (documents remaining after each stage, drops beside them);
- per source, histograms of kept documents' length in tokens and in characters;
- the language mix of the kept documents (documents and tokens);
- per filter stage, each stored signal's distribution for kept documents, documents
  the stage dropped and documents another stage dropped, with its thresholds drawn;
- the deduplication cluster sizes (exact and near duplicates);
- the sampled documents per drop reason (and kept ones), with the reason, the signals
  that tripped the rule and the text, HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json

from curate import __version__
from curate.stats import tripped
from curate.summary import funnel_rows, read_manifest, summarize

# Colours of the outcomes in the signal plots (matplotlib's default cycle, by meaning).
COLOURS = {"kept": "#1f77b4", "dropped": "#d62728", "dropped_by_other": "#7f7f7f"}
SIGNAL_COLUMNS = 4


class ReportError(ValueError):
    """The output cannot be reported on: a one-line message."""


def _figure(width: float, height: float, left: float = 0.07, hspace: float = 0.45, title: bool = True):
    """A figure with fixed margins in inches (matplotlib's layout engines cost about
    as much as drawing: half the report's time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    top_in = 0.55 if title else 0.3
    fig.subplots_adjust(left=left, right=0.98, bottom=0.5 / height, top=1 - top_in / height, hspace=hspace, wspace=0.25)
    return fig


def _data_uri(fig) -> str:
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "curate"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig, name: str, alt: str) -> str:
    return f'<figure><img class="plot" data-plot="{html.escape(name)}" alt="{html.escape(alt)}" src="{_data_uri(fig)}"></figure>'


# --------------------------------------------------------------------------- plots


def funnel_plot(summary: dict):
    """Documents remaining after each stage that removed some, with what it removed."""
    steps = summary["funnel"]
    labels = ["input"] + [s["stage"] for s in steps]
    remaining = [summary["counts"]["input"]] + [s["out"] for s in steps]
    removed = [0] + [s["in"] - s["out"] for s in steps]
    fig = _figure(9, 0.45 * len(labels) + 1.2, left=0.2)
    ax = fig.subplots()
    y = list(range(len(labels)))[::-1]
    ax.barh(y, remaining, color=COLOURS["kept"], label="remaining")
    ax.barh(y, removed, left=remaining, color=COLOURS["dropped"], alpha=0.6, label="removed by the stage")
    for yi, r, d in zip(y, remaining, removed):
        ax.text(r + d, yi, f"  {r:,}" + (f"  (-{d:,})" if d else ""), va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("documents")
    ax.set_xlim(0, max(remaining[0], 1) * 1.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Funnel: {summary['counts']['input']:,} in, {summary['counts']['kept']:,} kept")
    return fig


def _length_stairs(ax, hist: dict, edges: list, colour=None):
    """A ``length`` histogram on a log x axis (bins from 1 up; the [0, 1) bin is empty
    for kept documents)."""
    counts = hist["counts"][2 : len(edges)]
    ax.stairs(counts, edges[1:], fill=True, color=colour, alpha=0.8)
    ax.set_xscale("log")
    _no_minor_labels(ax)
    nz = [i for i, c in enumerate(counts) if c]
    if nz:
        ax.set_xlim(edges[1 + nz[0]] / 1.5, edges[2 + nz[-1]] * 1.5)


def lengths_plot(stats: dict):
    """Per source (rows): kept documents by tokens and by characters."""
    sources = list(stats["lengths"])
    fig = _figure(9, 2.3 * len(sources) + 0.6, left=0.08, hspace=0.5, title=False)
    axes = fig.subplots(len(sources), 2, squeeze=False)
    for row, src in zip(axes, sources):
        for ax, kind in zip(row, ("tokens", "chars")):
            h = stats["lengths"][src].get(kind)
            if h:
                _length_stairs(ax, h, stats["bins"]["length"], colour=COLOURS["kept"])
                ax.set_title(f"{src}: {kind} per document (n={h['n']:,}, mean {h['mean']:,.0f})", fontsize=9)
            ax.set_ylabel("documents", fontsize=8)
            ax.tick_params(labelsize=7)
    return fig


def languages_plot(stats: dict, top: int = 20):
    langs = sorted(stats["kept"]["by_language"].items(), key=lambda kv: -kv[1]["tokens"])[:top]
    fig = _figure(9, 0.35 * len(langs) + 1.4, left=0.1)
    axes = fig.subplots(1, 2)
    y = list(range(len(langs)))[::-1]
    for ax, key in zip(axes, ("docs", "tokens")):
        ax.barh(y, [e[key] for _, e in langs], color=COLOURS["kept"])
        ax.set_yticks(y, [lang for lang, _ in langs], fontsize=8)
        ax.set_xlabel(f"kept {key}")
        ax.tick_params(labelsize=7)
    fig.suptitle("Language mix of the kept documents")
    return fig


def _signal_axis(ax, name: str, entry: dict, edges: list):
    """One signal: each outcome's histogram as a share of that outcome's documents, and
    the thresholds as vertical lines. Fractions (every value in [0, 1]) get a linear
    0-1 axis; other signals a symmetric-log one (linear below 1)."""
    present = [o for o in ("kept", "dropped", "dropped_by_other") if entry.get(o)]
    lo = min(entry[o]["min"] for o in present)
    hi = max(entry[o]["max"] for o in present)
    bounds = [b for b in (entry.get("thresholds") or []) if b is not None]
    fraction = lo >= 0 and hi <= 1 and all(0 <= b <= 1 for b in bounds)
    for outcome in present:
        h = entry[outcome]
        shares = [c / h["n"] for c in h["counts"]]
        if fraction:  # bins [0, 0.025) ... [0.975, 1), and exactly 1 in a last narrow bin
            ax.stairs(
                shares[1:42],
                list(edges[:41]) + [1.025],
                color=COLOURS[outcome],
                label=f"{outcome} ({h['n']:,})",
                linewidth=1.2,
            )
        else:
            ax.stairs(
                shares[1 : len(edges)], edges, color=COLOURS[outcome], label=f"{outcome} ({h['n']:,})", linewidth=1.2
            )
    if fraction:
        ax.set_xlim(0, 1.025)
    else:
        ax.set_xscale("symlog", linthresh=1)
        _no_minor_labels(ax)
        top = max([hi, *bounds, 1])
        ax.set_xlim(min(lo, 0), edges[min(len(edges) - 1, _edge_above(edges, top))])
    for b in bounds:
        ax.axvline(b, color="black", linestyle="--", linewidth=1)
    ax.set_title(name + ("" if not bounds else "  (threshold " + ", ".join(f"{b:g}" for b in bounds) + ")"), fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6)


def _no_minor_labels(ax) -> None:
    """Log axes label their minor ticks when the range is under a decade: they overlap."""
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())


def _edge_above(edges, value) -> int:
    for i, e in enumerate(edges):
        if e > value:
            return i
    return len(edges) - 1


def signals_plot(stage: str, signals: dict, edges: list):
    names = list(signals)
    rows = (len(names) + SIGNAL_COLUMNS - 1) // SIGNAL_COLUMNS
    fig = _figure(11, 2.3 * rows + 0.7, left=0.05, hspace=0.5)
    axes = fig.subplots(rows, SIGNAL_COLUMNS, squeeze=False).flatten()
    for ax, name in zip(axes, names):
        _signal_axis(ax, name, signals[name], edges)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(f"{stage}: stored signals, share of documents per outcome")
    return fig


def clusters_plot(dedup: dict, edges: list):
    levels = [(k, v["cluster_sizes"]) for k, v in dedup.items() if v.get("cluster_sizes")]
    fig = _figure(9, 2.8, left=0.08, title=False)
    axes = fig.subplots(1, len(levels), squeeze=False)[0]
    for ax, (stage, h) in zip(axes, levels):
        _length_stairs(ax, h, edges, colour=COLOURS["dropped"])
        ax.set_yscale("log")
        ax.set_title(f"{stage}: {h['n']:,} clusters of 2+ documents, largest {h['max']:,}", fontsize=9)
        ax.set_xlabel("documents in the cluster", fontsize=8)
        ax.set_ylabel("clusters", fontsize=8)
    return fig


# --------------------------------------------------------------------------- page

CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; } td, th { padding: 2px 10px; text-align: right; }
td:first-child, th:first-child { text-align: left; } tr:nth-child(even) { background: #f4f4f4; }
figure { margin: 1em 0; } img.plot { max-width: 100%; }
.sample { border: 1px solid #ddd; margin: 0.6em 0; padding: 0.4em 0.8em; }
.sample pre { white-space: pre-wrap; max-height: 16em; overflow: auto; background: #fafafa; font-size: 0.8em; }
.meta { font-size: 0.8em; color: #555; } .tripped { color: #b00; font-weight: bold; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: list, rows: list) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _funnel_table(summary: dict) -> str:
    return _html_table(["", "documents", "remaining"], funnel_rows(summary))


def _sample_html(sample: dict, thresholds: dict) -> str:
    meta = [f"id {sample['id']}", f"source {sample['source']}", f"{sample.get('chars', 0):,} chars"]
    if sample.get("num_tokens") is not None:
        meta.append(f"{sample['num_tokens']:,} tokens")
    if sample.get("language"):
        meta.append(f"language {sample['language']}")
    if sample.get("url"):
        meta.append(f"url {sample['url']}")
    parts = [f'<div class="sample"><div class="meta">{_e(" | ".join(meta))}</div>']
    details = sample.get("details") or {}
    if sample.get("reason"):
        parts.append(f"<div>dropped by <b>{_e(sample['stage'])}</b>: <b>{_e(sample['reason'])}</b></div>")
        signals = details.get("signals") if isinstance(details.get("signals"), dict) else None
        if signals:
            hit = tripped(signals, thresholds.get(sample["stage"], {}))
            if hit:
                parts.append(
                    '<div class="tripped">tripped: ' + _e(", ".join(f"{k} = {v:g}" for k, v in hit.items())) + "</div>"
                )
            parts.append('<div class="meta">signals: ' + _e(json.dumps(signals, sort_keys=True)) + "</div>")
        other = {k: v for k, v in details.items() if k != "signals"}
        if other:
            parts.append('<div class="meta">details: ' + _e(json.dumps(other, sort_keys=True, default=str)) + "</div>")
    parts.append(f"<pre>{_e(sample.get('text', ''))}</pre></div>")
    return "".join(parts)


def render(out_dir: str) -> str:
    """The report page of ``out_dir`` as one HTML string."""
    from curate.stats import read_samples, read_stats

    manifest = read_manifest(out_dir)
    stats = read_stats(out_dir)
    if stats is None:
        raise ReportError(f"{out_dir}: no stats.json (the run had output.stats: false); run it again with statistics")
    summary = summarize(out_dir)
    samples = read_samples(out_dir)
    thresholds = {
        stage: {name: e["thresholds"] for name, e in sig.items() if e.get("thresholds")}
        for stage, sig in stats["signals"].items()
    }
    c = summary["counts"]
    body = [
        f"<h1>curate report: {_e(out_dir)}</h1>",
        f'<p class="meta">config {_e(manifest.get("config_hash"))} | curate {_e(__version__)} | '
        f"{c['input']:,} records in, {c['kept']:,} kept, {sum(c['dropped'].values()):,} dropped, {c['errors']:,} errors, "
        f"{summary.get('tokens') or 0:,} tokens"
        + (f" | refilter of {_e(manifest['refilter_of'].get('path'))}" if manifest.get("refilter_of") else "")
        + "</p>",
        "<h2>Funnel</h2>",
        _img(funnel_plot(summary), "funnel", "documents remaining after each stage"),
        _funnel_table(summary),
        "<h2>Documents per source</h2>",
        _html_table(
            ["source", "docs", "tokens", "chars"],
            [
                [s, f"{e['docs']:,}", f"{e['tokens']:,}", f"{e['chars']:,}"]
                for s, e in stats["kept"]["by_source"].items()
            ],
        ),
    ]
    if stats["lengths"]:
        body.append(_img(lengths_plot(stats), "lengths", "kept documents' length in tokens and characters per source"))
    body.append("<h2>Languages</h2>")
    body.append(
        _html_table(
            ["language", "docs", "tokens", "chars"],
            [
                [k, f"{e['docs']:,}", f"{e['tokens']:,}", f"{e['chars']:,}"]
                for k, e in sorted(stats["kept"]["by_language"].items(), key=lambda kv: -kv[1]["docs"])
            ],
        )
    )
    if stats["kept"]["by_language"]:
        body.append(_img(languages_plot(stats), "languages", "language mix"))
    if stats["signals"]:
        body.append("<h2>Quality signals: kept vs dropped</h2>")
        body.append(
            '<p class="meta">Each outcome as a share of its own documents: <b>kept</b> (in the output), '
            "<b>dropped</b> by the stage that computed the signal, <b>dropped_by_other</b> (dropped by another "
            "stage: in a run, a later one). Dashed lines: the config's thresholds.</p>"
        )
        for stage in [s for s in stats["stages"] if s in stats["signals"]] + sorted(
            set(stats["signals"]) - set(stats["stages"])
        ):
            body.append(
                _img(
                    signals_plot(stage, stats["signals"][stage], stats["bins"]["signal"]),
                    f"signals:{stage}",
                    f"{stage} signals",
                )
            )
    if stats["dedup"]:
        body.append("<h2>Deduplication</h2>")
        rows = []
        for stage, d in stats["dedup"].items():
            s = d.get("stage_stats") or {}
            rows.append(
                [
                    stage,
                    f"{d['docs_removed']:,}",
                    f"{d['bytes_removed_in_docs']:,}",
                    _count(s.get("docs_edited")),
                    _count(s.get("units_removed")),
                    _count(s.get("tokens_removed")),
                    _count(s.get("bytes_removed")),
                ]
            )
        body.append(
            _html_table(
                [
                    "level",
                    "docs removed",
                    "bytes in removed docs",
                    "docs edited",
                    "sentences/lines cut",
                    "tokens cut",
                    "bytes cut",
                ],
                rows,
            )
        )
        if any(d.get("cluster_sizes") for d in stats["dedup"].values()):
            body.append(
                _img(clusters_plot(stats["dedup"], stats["bins"]["length"]), "clusters", "deduplication cluster sizes")
            )
    body.append("<h2>Sampled documents</h2>")
    body.append(
        f'<p class="meta">{_e(stats["samples"]["rule"])}, at most {stats["samples"]["per_group"]} per group; '
        "texts cut at 3,000 characters (curate inspect OUT --id ID shows a whole document).</p>"
    )
    order = {s: i for i, s in enumerate(stats["stages"])}
    groups: dict = {}
    for sample in samples:
        groups.setdefault(sample["group"], []).append(sample)
    for group in sorted(groups, key=lambda g: (g != "kept", order.get(g.split(":", 1)[0], len(order)), g)):
        n = stats["dropped"].get(group, {}).get("docs") if group != "kept" else stats["kept"]["docs"]
        body.append(f"<h3>{_e(group)} ({n or 0:,} documents)</h3>")
        body.extend(_sample_html(s, thresholds) for s in groups[group])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>curate report: {_e(out_dir)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _count(v) -> str:
    return "-" if v is None else f"{v:,}"
