"""The run statistics core (curate/stats.py): fixed bins, merging, the sampling rule,
the filters' thresholds; the Beam CombineFn gives what the core gives on the same
documents; the progress reporter."""

from __future__ import annotations

import io
import json
import random

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curate import registry
from curate import stats as S
from curate.document import Document, ErrorRecord, Rejected
from pipelines import progress
from pipelines.stats import combine_stats
from tests.test_filters import CODE, PROSE_LINES
from tests.test_stages import PROSE


def test_bins_are_fixed_and_values_on_an_edge_go_up():
    edges = S.BINS["length"]
    assert edges[:12] == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12.5) and edges[-1] == 10**7
    assert all(a < b for a, b in zip(edges, edges[1:]))
    h = S.Histogram("length")
    for v in (-1, 0, 9, 10, 12, 12.5, 10**7, 5 * 10**7, float("nan"), float("inf")):
        h.add(v)
    c = h.counts
    assert c[0] == 1  # below 0
    assert c[1] == 1 and c[10] == 1  # [0, 1) and [9, 10)
    assert c[11] == 2 and c[12] == 1  # [10, 12.5) holds 10 and 12; 12.5 starts the next bin
    assert c[-1] == 2  # 10**7 and above
    assert h.n == 8 and h.lo == -1 and h.hi == 5 * 10**7  # nan and inf are not counted
    sig = S.BINS["signal"]
    assert sig[:3] == (0, 0.025, 0.05) and sig[40] == 1 and sig[41] == 2


def _row(i: int, source: str, n_words: int, lang="en", metadata=None) -> dict:
    text = " ".join(["word"] * n_words)
    meta = metadata or {
        "language": lang,
        "signals": {
            "gopher_quality": {"n_words": n_words, "alpha_words_ratio": 0.9},
            "language_id": {"language": lang, "score": 0.91},
        },
    }
    return {
        "id": f"doc{i:04d}",
        "source": source,
        "text": text,
        "num_tokens": n_words + 1,
        "language": lang,
        "url": f"https://example.org/{i}",
        "metadata": json.dumps(meta),
    }


def observations(n: int = 300):
    """Kept rows, dropped documents and errors of two sources, with signals and clusters."""
    rng = random.Random(5)
    rows, rejected, errors = [], [], []
    for i in range(n):
        source = "web" if i % 3 else "books"
        kind = rng.random()
        if kind < 0.6:
            meta = None
            if i % 17 == 0:
                meta = {"language": "en", "exact_duplicates": 1 + i % 3, "signals": {}}
            if i % 23 == 0:
                meta = {"language": "fr", "minhash_dedup": {"cluster_id": f"doc{i:04d}", "cluster_size": 2 + i % 4}}
            rows.append(_row(i, source, rng.randrange(1, 3000), lang=rng.choice(["en", "en", "de"]), metadata=meta))
        elif kind < 0.95:
            words = rng.randrange(0, 60)
            doc = Document(
                f"doc{i:04d}",
                "x " * words,
                source,
                provenance={"url": f"u{i}"},
                metadata={
                    "signals": {
                        "language_id": {"language": "en", "score": rng.random()},
                        "gopher_quality": {"n_words": words, "stop_words": True},
                    }
                },
            )
            stage = rng.choice(["gopher_quality", "language_id", "exact_dedup"])
            rejected.append(Rejected(doc, stage, rng.choice(["a", "b"]), {"signals": doc.signals(stage) or {}}))
        else:
            errors.append(ErrorRecord("f.jsonl", f"line {i}", rng.choice(["read", "tokenize"]), "bad", source))
    return rows, rejected, errors


def core_stats(rows, rejected, errors) -> S.RunStats:
    acc = S.RunStats()
    for r in rows:
        acc.add_kept_row(r)
    for r in rejected:
        acc.add_rejected(r)
    for e in errors:
        acc.add_error(e)
    return acc


def document(acc: S.RunStats) -> dict:
    shards = [{"path": "shards/part-00000-of-00001.parquet", "rows": 1, "tokens": 2, "bytes": 3}]
    return S.stats_document(
        acc,
        ["read", "language_id", "gopher_quality", "exact_dedup", "tokenize"],
        {"gopher_quality": {"n_words": [50, 100000]}},
        {"exact_dedup:x": 1},
        shards,
    )


def test_merging_split_accumulators_gives_the_same_statistics_and_samples():
    rows, rejected, errors = observations()
    whole = core_stats(rows, rejected, errors)
    rng = random.Random(1)
    parts = [S.RunStats() for _ in range(7)]
    items = (
        [("add_kept_row", r) for r in rows]
        + [("add_rejected", r) for r in rejected]
        + [("add_error", e) for e in errors]
    )
    rng.shuffle(items)
    for method, item in items:
        getattr(rng.choice(parts), method)(item)
    merged = S.RunStats.merged([S.RunStats.merged(parts[:3]), S.RunStats.merged(parts[3:])])
    assert document(merged) == document(whole)
    assert S.samples_jsonl(merged) == S.samples_jsonl(whole)
    assert document(S.RunStats.from_state(json.loads(json.dumps(whole.to_state())))) == document(whole)


def test_figures_and_the_sampling_rule():
    rows, rejected, errors = observations()
    doc = document(core_stats(rows, rejected, errors))
    assert doc["input"]["docs"] == len(rows) + len(rejected) + len(errors)
    assert doc["kept"]["tokens"] == sum(r["num_tokens"] for r in rows)
    assert doc["kept"]["by_source"]["books"]["docs"] == sum(r["source"] == "books" for r in rows)
    assert sum(e["docs"] for e in doc["dropped"].values()) == len(rejected)
    assert sum(e["docs"] for e in doc["errors"].values()) == len(errors)
    assert list(doc["errors"]) == ["read", "tokenize"]  # in stage order
    # a signal is 'dropped' only for the stage that dropped the document
    gq = doc["signals"]["gopher_quality"]["n_words"]
    assert gq["dropped"]["n"] == sum(r.stage == "gopher_quality" for r in rejected)
    assert gq["dropped_by_other"]["n"] == sum(r.stage != "gopher_quality" for r in rejected)
    assert gq["thresholds"] == [50, 100000] and doc["signals"]["language_id"]["score"]["thresholds"] is None
    assert doc["signals"]["gopher_quality"]["stop_words"]["dropped"]["max"] == 1  # booleans count as 0/1
    exact = doc["dedup"]["exact_dedup"]
    assert exact["cluster_sizes"]["n"] == sum(1 for r in rows if "exact_duplicates" in r["metadata"])
    assert exact["docs_removed"] == sum(r.stage == "exact_dedup" for r in rejected)
    assert exact["stage_stats"] == {"x": 1}
    assert doc["dedup"]["minhash_dedup"]["cluster_sizes"]["min"] >= 2
    acc = core_stats(rows, rejected, errors)
    for group, chosen in acc.samples.items():
        ids = [r["id"] for r in rows] if group == "kept" else [r.doc.id for r in rejected if r.key == group]
        assert [s["id"] for _, s in chosen] == sorted(ids, key=S.sample_rank)[: S.SAMPLES_PER_GROUP]


def test_beam_combiner_equals_the_core():
    rows, rejected, errors = observations()
    core = core_stats(rows, rejected, errors)
    expected = [(json.dumps(document(core), sort_keys=True), S.samples_jsonl(core))]
    with beam.Pipeline("FnApiRunner") as p:
        k = p | "rows" >> beam.Create(rows)
        half = len(rejected) // 2  # drops come from several stages: one PCollection each
        r = [p | "rejected" >> beam.Create(rejected[:half]), p | "rejected2" >> beam.Create(rejected[half:])]
        e = p | "errors" >> beam.Create(errors)
        parts = combine_stats([k], r, [e])  # one accumulator per part, merged on the driver
        got = (
            tuple(parts.values())
            | beam.Flatten()
            | beam.combiners.ToList()
            | beam.Map(
                lambda accs: (
                    json.dumps(document(S.RunStats.merged(accs)), sort_keys=True),
                    S.samples_jsonl(S.RunStats.merged(accs)),
                )
            )
        )
        assert_that(got, equal_to(expected))


# ------------------------------------------------------------------ thresholds


def _filter(name, **params):
    """The filter with its config as given (no file checks: ``decide`` needs no model)."""
    spec = registry.stage(name)
    return spec.make(spec.config_cls(**params), setup=False)


# Per filter that declares thresholds: the text it scores as passing, or signals.
PASSING = {
    "gopher_quality": PROSE,
    "gopher_repetition": PROSE,
    "c4": PROSE_LINES,
    "fineweb": PROSE_LINES,
    "code_quality": CODE,
    "language_id": {"language": "en", "score": 0.9},
    "quality_classifier": {"score": 0.9, "pareto_u": 0.5, "seed": 0},
}


def _passing(name):
    params = {"code_quality": {"sources": ["web"]}, "quality_classifier": {"model": "unused.bin"}}.get(name, {})
    flt = _filter(name, **params)
    if isinstance(PASSING[name], dict):
        return flt, PASSING[name]
    flt.setup()
    return flt, flt.score(Document("d", PASSING[name], "web"))


def test_every_filter_with_numeric_bounds_declares_its_thresholds():
    registry.load()
    filters = {n for n, spec in registry.STAGES.items() if spec.is_filter}
    assert set(PASSING) == filters - {"url_filter"}  # url_filter has flags only
    assert _filter("url_filter").thresholds() == {}


@pytest.mark.parametrize("name", sorted(PASSING))
def test_thresholds_are_the_bounds_decide_applies(name):
    flt, signals = _passing(name)
    assert flt.decide(signals) is None
    bounds = flt.thresholds()
    assert bounds
    for signal, (lo, hi) in bounds.items():
        assert signal in signals, signal
        for bound, step in ((lo, -1), (hi, 1)):
            if bound is None:
                continue
            delta = 1 if isinstance(bound, int) else max(abs(bound) * 0.01, 0.001)  # counts step by 1
            assert flt.decide({**signals, signal: bound}) is None, (signal, bound)
            reason = flt.decide({**signals, signal: bound + step * delta})
            assert reason is not None, (signal, bound)
            assert S.tripped({**signals, signal: bound + step * delta}, bounds) == {signal: bound + step * delta}


def test_stage_thresholds_for_a_config(tmp_path):
    from curate.config import parse_stages

    model = tmp_path / "m.bin"
    model.write_bytes(b"")  # the config checks that it exists; thresholds never load it
    stages = parse_stages(
        [
            {"language_id": {"min_score": 0.7}},
            {"gopher_quality/books": {"min_words": 10}},
            {"exact_dedup": {}},
            {"quality_classifier": {"model": str(model), "mode": "pareto"}},
        ]
    )
    t = S.stage_thresholds(stages)
    assert t["language_id"] == {"score": [0.7, None]}
    assert t["gopher_quality/books"]["n_words"] == [10, 100000]
    assert set(t) == {"language_id", "gopher_quality/books"}  # pareto mode has no fixed bound


# ------------------------------------------------------------------ progress


def test_progress_lines_at_most_every_interval_with_kept_so_far():
    out = io.StringIO()
    p = progress.Progress(every=3600, stream=out)
    f = io.BytesIO(b"x" * 5000)
    p.opened(f)
    f.read(2000)
    p.tick(read=10)
    p.tick(removed=3)
    assert out.getvalue() == ""  # the interval has not passed
    p.every = 0
    p.tick(read=1)
    (line,) = out.getvalue().splitlines()
    assert "11 records read, 8 kept so far" in line and "MB/s input" in line
    assert p.input_bytes() == 2000
    f.read()
    p.closed(f)
    assert p.input_bytes() == 5000


def test_progress_is_off_unless_the_variable_is_set(monkeypatch):
    monkeypatch.setattr(progress, "_checked", False)
    monkeypatch.setattr(progress, "_progress", None)
    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.current() is None
    with progress.watch(io.BytesIO(b"abc")) as f:
        assert f.read() == b"abc"


def test_run_sets_progress_for_local_runners_only(monkeypatch):
    from pipelines import cli

    monkeypatch.delenv(progress.ENV, raising=False)
    cli._progress_env([], quiet=False)
    assert progress.ENV in __import__("os").environ
    cli._progress_env([], quiet=True)
    assert progress.ENV not in __import__("os").environ
    cli._progress_env(["--runner", "DataflowRunner"], quiet=False)
    assert progress.ENV not in __import__("os").environ
