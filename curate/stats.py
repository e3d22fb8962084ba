"""Run statistics: what a researcher looks at to decide what to keep (``stats.json``).

One accumulator, :class:`RunStats`, sees every document the run ends with: each kept
shard row (:meth:`RunStats.add_kept_row`), each dropped document with the stage and
reason that dropped it (:meth:`RunStats.add_rejected`) and each error record
(:meth:`RunStats.add_error`). Accumulators merge (:meth:`RunStats.merged`), so the Beam
layer (``pipelines/stats.py``) runs it as a CombineFn beside the counters and the
Beam-free ``curate refilter`` feeds it directly; both give the same numbers.

What it gathers:

- kept documents, tokens and characters per source and language;
- histograms of kept documents' length in tokens and characters, per source;
- per ``stage:reason``: documents, characters and UTF-8 bytes dropped (per source too);
- each stored numeric signal (``metadata.signals.<stage>.<name>``, booleans as 0/1)
  as a histogram per outcome: ``kept`` (in the output), ``dropped`` (by the stage that
  computed the signal) and ``dropped_by_other`` (dropped by another stage: in a run, one
  after the stage that computed the signal; in a refilter, any other re-applied stage);
- deduplication cluster sizes (clusters of two or more documents): ``exact_dedup`` from
  its survivors' ``exact_duplicates``, ``minhash_dedup`` from ``cluster_size``. Each
  cluster has one survivor, counted wherever it ends (kept or dropped later);
- a deterministic sample: per group (``kept``, and every ``stage:reason``) the
  :data:`SAMPLES_PER_GROUP` documents with the smallest ``xxh64(id)``, so every runner,
  worker count and bundle split picks the same documents.

Histogram bins are fixed (:data:`BINS`), so runs compare bin by bin. A histogram's
``counts[0]`` counts values below ``edges[0]``, ``counts[i]`` values in
``[edges[i-1], edges[i])``, and ``counts[-1]`` values at or above ``edges[-1]``:

- ``length`` (document tokens and characters, cluster sizes): 0, 1, 2, ..., 9, then ten
  bins a decade (Renard's R10: 10, 12.5, 16, 20, 25, 32, 40, 50, 63, 80, 100, 125, ...)
  up to 10,000,000, about equally wide on a log axis;
- ``signal``: 0 to 1 in steps of 0.025 (fractions and scores), then the ``length``
  edges from 1 up (counts, lengths). Non-finite values are not counted.

The counters' statistics (``counts.stats`` in the manifest: sentences, tokens and bytes
the span dedup levels cut, ...) and the shard list are not recomputed here:
:func:`stats_document` takes them from the manifest into ``stats.json``.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from typing import Iterable, Optional

import xxhash

from curate import io as cio
from curate import registry
from curate.dedup.exact import DUPLICATES_KEY
from curate.dedup.minhash import STAGE as MINHASH_STAGE  # its survivors' metadata key
from curate.document import ErrorRecord, Rejected

SAMPLES_PER_GROUP = 5  # documents sampled per group (kept, each stage:reason)
SAMPLE_TEXT_CHARS = 3000  # a sample's text is cut here (``curate inspect --id`` shows it whole)
KEPT = "kept"
OUTCOMES = ("kept", "dropped", "dropped_by_other")

STATS_FILE = "stats.json"
SAMPLES_FILE = "samples/samples.jsonl"
PARTIAL_PREFIX = "_stats."  # the Beam steps' accumulators, until the driver writes stats.json


def partial_file(part: str) -> str:
    """The scratch file of one part (``kept``, ``dropped``, ``errors``) of a run's statistics."""
    return f"{PARTIAL_PREFIX}{part}.json"


# Dedup levels and the metadata their survivors carry about their cluster.
DEDUP_STAGES = ("exact_dedup", "minhash_dedup", "sentence_dedup", "token_dedup")


# Renard's R10 series: ten steps a decade, each about 1/10 of a decade wide (log scale).
R10 = (1, 1.25, 1.6, 2, 2.5, 3.2, 4, 5, 6.3, 8)


def _log_edges(last: int) -> list:
    """1, 2, ..., 9 (small counts each in a bin of their own), then R10 steps from 10
    up to ``10**last``: bins of about equal width on a log axis."""
    steps = [round(m * 10**e, 6) for e in range(1, last) for m in R10]
    return list(range(1, 10)) + [int(v) if v == int(v) else v for v in steps] + [10**last]


BINS = {
    "length": tuple([0] + _log_edges(7)),
    "signal": tuple([i / 40 for i in range(40)] + _log_edges(7)),
}


class Histogram:
    """Counts over the fixed edges :data:`BINS` ``[bins]``, with n, sum, min and max."""

    __slots__ = ("bins", "counts", "n", "total", "lo", "hi")

    def __init__(self, bins: str):
        self.bins = bins
        self.counts = [0] * (len(BINS[bins]) + 1)
        self.n, self.total, self.lo, self.hi = 0, 0.0, None, None

    def add(self, value) -> None:
        if not math.isfinite(value):
            return
        self.counts[bisect.bisect_right(BINS[self.bins], value)] += 1
        self.n += 1
        self.total += value
        if self.lo is None or value < self.lo:
            self.lo = value
        if self.hi is None or value > self.hi:
            self.hi = value

    def merge(self, other: "Histogram") -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.n += other.n
        self.total += other.total
        for v in (other.lo, other.hi):
            if v is not None:
                self.lo = v if self.lo is None else min(self.lo, v)
                self.hi = v if self.hi is None else max(self.hi, v)

    def to_dict(self) -> dict:
        """For ``stats.json``. The mean is rounded to 6 significant digits: a float sum
        depends (in its last bits) on the order a runner merged the partial sums."""
        mean = float(f"{self.total / self.n:.6g}") if self.n else None
        return {"bins": self.bins, "counts": self.counts, "n": self.n, "mean": mean, "min": self.lo, "max": self.hi}

    def state(self) -> dict:
        return {
            "bins": self.bins,
            "counts": self.counts,
            "n": self.n,
            "sum": self.total,
            "min": self.lo,
            "max": self.hi,
        }

    @classmethod
    def from_state(cls, d: dict) -> "Histogram":
        h = cls(d["bins"])
        h.counts, h.n, h.total, h.lo, h.hi = list(d["counts"]), d["n"], d["sum"], d["min"], d["max"]
        return h


def _number(value) -> Optional[float]:
    """A signal value as a number (booleans as 0/1), or None when it is not one."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    return None


def sample_rank(doc_id: str) -> tuple:
    """The sampling order: smallest ``xxh64(id)`` first (ties, which need equal hashes, by id)."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass")), doc_id


def _add(counts: dict, key, values) -> None:
    row = counts.get(key)
    if row is None:
        counts[key] = list(values)
    else:
        for i, v in enumerate(values):
            row[i] += v


class RunStats:
    """The statistics accumulator (see the module docstring); keys are tuples:

    ``kept[(source, language)] = [docs, tokens, chars]``,
    ``lengths[(source, "tokens" | "chars")] = Histogram``,
    ``dropped[(source, stage, reason)] = [docs, chars, bytes]``,
    ``errors[(source, stage)] = [n]``,
    ``signals[(stage, signal, outcome)] = Histogram``,
    ``clusters[stage] = Histogram``,
    ``samples[group] = [(rank, sample dict)]`` sorted, at most :data:`SAMPLES_PER_GROUP`."""

    def __init__(self):
        self.kept: dict = {}
        self.lengths: dict = {}
        self.dropped: dict = {}
        self.errors: dict = {}
        self.signals: dict = {}
        self.clusters: dict = {}
        self.samples: dict = {}

    # ------------------------------------------------------------------ observing

    def add_kept_row(self, row: dict) -> None:
        """A shard row (``curate.shards.doc_row``): text, num_tokens, metadata JSON, ..."""
        source, text, n_tokens = row["source"], row["text"] or "", int(row["num_tokens"])
        language = row.get("language") or "unknown"
        _add(self.kept, (source, language), (1, n_tokens, len(text)))
        self._hist(self.lengths, (source, "tokens"), "length").add(n_tokens)
        self._hist(self.lengths, (source, "chars"), "length").add(len(text))
        metadata = json.loads(row["metadata"] or "{}")
        self._add_signals(metadata, None)
        self._add_clusters(metadata)
        self._offer(KEPT, row["id"], lambda: _kept_sample(row, metadata))

    def add_rejected(self, rej: Rejected) -> None:
        doc = rej.doc
        text = doc.text if isinstance(doc.text, str) else ""
        n_bytes = len(text.encode("utf-8", "surrogatepass"))
        _add(self.dropped, (doc.source, rej.stage, rej.reason), (1, len(text), n_bytes))
        self._add_signals(doc.metadata, rej.stage)
        self._add_clusters(doc.metadata)
        self._offer(rej.key, doc.id, lambda: _rejected_sample(rej))

    def add_error(self, err: ErrorRecord) -> None:
        _add(self.errors, (err.source, err.stage), (1,))

    @staticmethod
    def _hist(table: dict, key, bins: str) -> Histogram:
        h = table.get(key)
        if h is None:
            h = table[key] = Histogram(bins)
        return h

    def _add_signals(self, metadata: dict, dropped_by: Optional[str]) -> None:
        signals = metadata.get("signals")
        if not isinstance(signals, dict):
            return
        for stage, values in signals.items():
            if not isinstance(values, dict):
                continue
            outcome = "kept" if dropped_by is None else ("dropped" if stage == dropped_by else "dropped_by_other")
            for name, value in values.items():
                value = _number(value)
                if value is not None:
                    self._hist(self.signals, (stage, name, outcome), "signal").add(value)

    def _add_clusters(self, metadata: dict) -> None:
        copies = metadata.get(DUPLICATES_KEY)
        if isinstance(copies, int) and copies > 0:
            self._hist(self.clusters, "exact_dedup", "length").add(copies + 1)
        near = metadata.get(MINHASH_STAGE)
        if isinstance(near, dict) and isinstance(near.get("cluster_size"), int) and near["cluster_size"] > 1:
            self._hist(self.clusters, "minhash_dedup", "length").add(near["cluster_size"])

    def _offer(self, group: str, doc_id: str, make_sample) -> None:
        """Keep the document if it is among the group's smallest ranks; ``make_sample`` is
        only called then (a sample copies text)."""
        rank = sample_rank(doc_id)
        chosen = self.samples.setdefault(group, [])
        if len(chosen) >= SAMPLES_PER_GROUP and rank >= chosen[-1][0]:
            return
        bisect.insort(chosen, (rank, make_sample()), key=lambda item: item[0])
        del chosen[SAMPLES_PER_GROUP:]

    # ------------------------------------------------------------------ merging

    def merge(self, other: "RunStats") -> "RunStats":
        for table in ("kept", "dropped", "errors"):
            mine = getattr(self, table)
            for key, values in getattr(other, table).items():
                _add(mine, key, values)
        for table in ("lengths", "signals", "clusters"):
            mine = getattr(self, table)
            for key, h in getattr(other, table).items():
                self._hist(mine, key, h.bins).merge(h)
        for group, chosen in other.samples.items():
            both = sorted(self.samples.get(group, []) + chosen, key=lambda item: item[0])
            self.samples[group] = both[:SAMPLES_PER_GROUP]
        return self

    @classmethod
    def merged(cls, accumulators: Iterable["RunStats"]) -> "RunStats":
        out = cls()
        for acc in accumulators:
            out.merge(acc)
        return out

    # ------------------------------------------------------------------ state

    def to_state(self) -> dict:
        """JSON-able state; :meth:`from_state` restores an equal accumulator."""
        return {
            "kept": [[*k, *v] for k, v in sorted(self.kept.items())],
            "lengths": [[*k, h.state()] for k, h in sorted(self.lengths.items())],
            "dropped": [[*k, *v] for k, v in sorted(self.dropped.items())],
            "errors": [[*k, *v] for k, v in sorted(self.errors.items())],
            "signals": [[*k, h.state()] for k, h in sorted(self.signals.items())],
            "clusters": [[k, h.state()] for k, h in sorted(self.clusters.items())],
            "samples": {g: [[list(rank), s] for rank, s in chosen] for g, chosen in sorted(self.samples.items())},
        }

    @classmethod
    def from_state(cls, state: dict) -> "RunStats":
        acc = cls()
        acc.kept = {(s, lang): [d, t, c] for s, lang, d, t, c in state["kept"]}
        acc.lengths = {(s, kind): Histogram.from_state(h) for s, kind, h in state["lengths"]}
        acc.dropped = {(s, st, r): [d, c, b] for s, st, r, d, c, b in state["dropped"]}
        acc.errors = {(s, st): [n] for s, st, n in state["errors"]}
        acc.signals = {(st, name, o): Histogram.from_state(h) for st, name, o, h in state["signals"]}
        acc.clusters = {st: Histogram.from_state(h) for st, h in state["clusters"]}
        acc.samples = {g: [(tuple(rank), s) for rank, s in chosen] for g, chosen in state["samples"].items()}
        return acc


def _kept_sample(row: dict, metadata: dict) -> dict:
    text = row["text"] or ""
    return {
        "group": KEPT,
        "id": row["id"],
        "source": row["source"],
        "language": row.get("language"),
        "url": row.get("url"),
        "chars": len(text),
        "num_tokens": int(row["num_tokens"]),
        "text": text[:SAMPLE_TEXT_CHARS],
        "signals": metadata.get("signals") or {},
    }


def _rejected_sample(rej: Rejected) -> dict:
    doc = rej.doc
    text = doc.text if isinstance(doc.text, str) else ""
    return {
        "group": rej.key,
        "id": doc.id,
        "source": doc.source,
        "stage": rej.stage,
        "reason": rej.reason,
        "language": doc.metadata.get("language"),
        "url": doc.provenance.get("url"),
        "chars": len(text),
        "text": text[:SAMPLE_TEXT_CHARS],
        "details": rej.details,
    }


# --------------------------------------------------------------------------- thresholds


def stage_thresholds(stages) -> dict:
    """``{stage: {signal: [min, max]}}`` for the filter stages among ``stages``
    (:class:`curate.config.StageConfig`), from :meth:`curate.base.Filter.thresholds`."""
    out = {}
    for st in stages:
        spec = registry.stage(st.base)
        if spec.is_filter:
            bounds = spec.make(st.params, st.name, setup=False).thresholds()
            if bounds:
                out[st.name] = {name: [lo, hi] for name, (lo, hi) in sorted(bounds.items())}
    return out


def tripped(signals: dict, bounds: dict) -> dict:
    """The signals outside their ``[min, max]`` bounds: what made the stage drop."""
    out = {}
    for name, (lo, hi) in bounds.items():
        value = _number(signals.get(name))
        if value is not None and ((lo is not None and value < lo) or (hi is not None and value > hi)):
            out[name] = value
    return out


# --------------------------------------------------------------------------- stats.json


def _grouped(rows: dict, names: tuple) -> dict:
    return {k: dict(zip(names, v)) for k, v in sorted(rows.items())}


def _summed(items, names: tuple) -> dict:
    """``[(key, values)]`` -> ``{key: {name: summed value}}``."""
    out: dict = {}
    for key, values in items:
        _add(out, key, values)
    return _grouped(out, names)


def _spread(values: list) -> dict:
    if not values:
        return {"min": 0, "max": 0, "mean": 0}
    return {"min": min(values), "max": max(values), "mean": sum(values) / len(values)}


def stats_document(acc: RunStats, stage_order: list, thresholds: dict, counter_stats: dict, shards: list) -> dict:
    """The content of ``stats.json``. ``stage_order``: the run's stages in order (the
    funnel's order; ``read`` first and ``tokenize`` last for a run); ``thresholds``: from
    :func:`stage_thresholds`; ``counter_stats``: the manifest's ``counts.stats``
    (``"stage:name": n``); ``shards``: the manifest's shard list (and validation shards)."""
    kept_keys = ("docs", "tokens", "chars")
    drop_keys = ("docs", "chars", "bytes")
    sources = sorted({k[0] for k in acc.kept} | {k[0] for k in acc.dropped} | {k[0] for k in acc.errors})
    by_source_in = {s: 0 for s in sources}
    for table in (acc.kept, acc.dropped, acc.errors):
        for key, values in table.items():
            by_source_in[key[0]] += values[0]
    stages = list(stage_order)
    for _, stage, _ in sorted(acc.dropped):
        if stage not in stages:
            stages.append(stage)
    for _, stage in sorted(acc.errors):
        if stage not in stages:
            stages.append(stage)
    dropped: dict[str, dict] = {}
    for (source, stage, reason), values in sorted(acc.dropped.items(), key=lambda kv: (stages.index(kv[0][1]), kv[0])):
        entry = dropped.setdefault(
            f"{stage}:{reason}", {"stage": stage, "docs": 0, "chars": 0, "bytes": 0, "by_source": {}}
        )
        for name, v in zip(drop_keys, values):
            entry[name] += v
        entry["by_source"][source] = dict(zip(drop_keys, values))
    errors: dict[str, dict] = {}
    for (source, stage), (n,) in sorted(acc.errors.items(), key=lambda kv: (stages.index(kv[0][1]), kv[0])):
        entry = errors.setdefault(stage, {"docs": 0, "by_source": {}})
        entry["docs"] += n
        entry["by_source"][source] = n
    signals: dict = {}
    for (stage, name, outcome), h in sorted(acc.signals.items()):
        entry = signals.setdefault(stage, {}).setdefault(name, {"thresholds": None})
        entry[outcome] = h.to_dict()
    for stage, bounds in thresholds.items():
        for name, pair in bounds.items():
            if name in signals.get(stage, {}):
                signals[stage][name]["thresholds"] = pair
    dedup = {}
    for stage in DEDUP_STAGES:
        removed = [(s, v) for (s, st, _), v in acc.dropped.items() if st == stage]
        stats = {k.split(":", 1)[1]: v for k, v in sorted(counter_stats.items()) if k.split(":", 1)[0] == stage}
        if stage not in stages and not stats and stage not in acc.clusters:
            continue
        dedup[stage] = {
            "docs_removed": sum(v[0] for _, v in removed),
            "chars_removed_in_docs": sum(v[1] for _, v in removed),
            "bytes_removed_in_docs": sum(v[2] for _, v in removed),
            "stage_stats": stats,  # the counters (span levels: units, tokens, bytes cut)
            "cluster_sizes": acc.clusters[stage].to_dict() if stage in acc.clusters else None,
        }
    kept_total = _summed([((), v) for v in acc.kept.values()], kept_keys).get((), dict.fromkeys(kept_keys, 0))
    return {
        "version": 1,
        "bins": {name: list(edges) for name, edges in BINS.items()},
        "stages": stages,
        "input": {"docs": sum(by_source_in.values()), "by_source": by_source_in},
        "kept": {
            **kept_total,
            "by_source": _summed([(s, v) for (s, _), v in acc.kept.items()], kept_keys),
            "by_language": _summed([(lang, v) for (_, lang), v in acc.kept.items()], kept_keys),
            "by_source_language": {
                s: _summed([(lang, v) for (s2, lang), v in acc.kept.items() if s2 == s], kept_keys) for s in sources
            },
        },
        "lengths": {
            s: {kind: acc.lengths[(s, kind)].to_dict() for kind in ("tokens", "chars") if (s, kind) in acc.lengths}
            for s in sorted({k[0] for k in acc.lengths})
        },
        "dropped": dropped,
        "errors": errors,
        "signals": signals,
        "dedup": dedup,
        "shards": {
            "count": len(shards),
            "rows": _spread([s["rows"] for s in shards]),
            "tokens": _spread([s["tokens"] for s in shards]),
            "bytes": _spread([s["bytes"] for s in shards]),
            "list": [{k: s[k] for k in ("path", "rows", "tokens", "bytes")} for s in shards],
        },
        "samples": {
            "file": SAMPLES_FILE,
            "per_group": SAMPLES_PER_GROUP,
            "rule": "the documents with the smallest xxh64(id) in each group",
            "groups": {g: len(chosen) for g, chosen in sorted(acc.samples.items())},
        },
    }


def samples_jsonl(acc: RunStats) -> bytes:
    """The sampled documents, one JSON object a line, by group then rank."""
    lines = [
        json.dumps(sample, sort_keys=True, ensure_ascii=False, default=str)
        for group in sorted(acc.samples)
        for _, sample in acc.samples[group]
    ]
    return "".join(line + "\n" for line in lines).encode("utf-8")


_NUMBER_LIST = re.compile(r"\[\n\s*(-?[\d.eE+-]+(?:,\n\s*-?[\d.eE+-]+)*)\n\s*\]")


def to_json(obj) -> bytes:
    """Indented JSON with lists of numbers (histogram counts, bin edges) on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False, default=str)
    return _NUMBER_LIST.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text).encode("utf-8")


def write_stats(out_dir: str, acc: RunStats, stage_order: list, thresholds: dict, manifest: dict) -> dict:
    """Write ``stats.json`` and the samples for a finished run (or refilter) whose
    ``manifest`` is built; returns the stats document."""
    shards = manifest["shards"] + (manifest.get("validation_shards") or [])
    doc = stats_document(acc, stage_order, thresholds, manifest["counts"].get("stats") or {}, shards)
    cio.write_bytes(cio.join(out_dir, SAMPLES_FILE), samples_jsonl(acc))
    cio.write_bytes(cio.join(out_dir, STATS_FILE), to_json(doc))
    return doc


def read_stats(out_dir: str) -> Optional[dict]:
    """A run's ``stats.json``, or None when the run wrote none (``output.stats: false``)."""
    try:
        return json.loads(cio.read_bytes(cio.join(out_dir, STATS_FILE)))
    except FileNotFoundError:
        return None


def read_samples(out_dir: str) -> list[dict]:
    try:
        data = cio.read_bytes(cio.join(out_dir, SAMPLES_FILE))
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
