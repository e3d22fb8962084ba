"""``stats.json`` from a real Beam run, and the commands over it: ``curate stats``,
``curate report`` and ``curate inspect``. One small two-source JSONL corpus built here
(English articles, short posts, a German article, exact and near copies, a broken line)
runs three times, once per module: defaults (A), a looser Gopher word minimum (B) and
A without statistics (C); plus a Beam-free refilter of A."""

from __future__ import annotations

import json
import os
import random
import re

import pyarrow.parquet as pq
import pytest

from curate import config, stats
from curate.refilter import refilter
from pipelines import cli
from tests.pipeline_helpers import check_output, shard_hashes

SENTENCES = [
    "The river that runs through the old town has been the centre of its trade for many centuries.",
    "Farmers from the surrounding valleys bring their grain and cheese to the market every Saturday morning.",
    "In the winter the water freezes and the children skate on it while their parents watch from the bridge.",
    "A new library was opened last year with a large collection of books about the history of the region.",
    "The museum keeps letters written by merchants who travelled to distant ports and came back with spices.",
    "Most of the houses near the square were built of stone that was carried down from the quarry in the hills.",
    "Scientists at the university have been measuring the level of the river and the quality of its water.",
    "They found that the water is cleaner today than it was fifty years ago, thanks to the new treatment plant.",
    "Tourists often ask about the tall tower, which was once used to watch for fires in the dry summer months.",
    "The local newspaper has reported on the council meetings and the debates about the new road to the coast.",
    "Some residents would like to keep the narrow streets as they are, while others want more space for buses.",
    "Every spring a festival fills the streets with music, food and dancing that lasts until late in the night.",
    "The baker on the corner still uses the recipe that his grandmother brought with her from another country.",
    "Teachers at the primary school take their pupils to the forest to learn about the trees and the birds.",
    "During the storm of the previous autumn several old oak trees fell and blocked the road for three days.",
    "Volunteers cleared the branches and the council promised to plant twice as many young trees in their place.",
    "The railway station was rebuilt after the war and is now one of the busiest in the whole province.",
    "Visitors who arrive by train can walk to the old town in ten minutes along a path beside the water.",
    "A small theatre in the harbour shows plays written by local authors and invites schools to the rehearsals.",
    "The fishermen leave before dawn and return in the afternoon, when the restaurants buy the best of the catch.",
]
GERMAN = (
    "Die Stadt liegt an einem breiten Fluss, und seit vielen Jahrhunderten kommen die Bauern aus den Tälern "
    "auf den Markt, um Getreide und Käse zu verkaufen. Im Winter friert das Wasser, und die Kinder laufen "
    "Schlittschuh, während die Eltern von der Brücke aus zusehen. Die neue Bibliothek hat eine große Sammlung "
    "von Büchern über die Geschichte der Region, und das Museum bewahrt Briefe von Kaufleuten auf, die in "
    "ferne Häfen reisten und mit Gewürzen zurückkehrten. Die meisten Häuser am Platz wurden aus Stein gebaut."
)
SCRIPT_POST = 'Short post with <script>alert("stats")</script> & <b>markup</b> in it, too short to keep.'


def article(rng: random.Random, n: int = 9) -> str:
    return " ".join(rng.sample(SENTENCES, n))


def corpus() -> tuple[list[dict], list[dict]]:
    rng = random.Random(11)
    news = [{"id": f"n{i}", "text": article(rng)} for i in range(10)]
    news.append({"id": "n-copy", "text": news[0]["text"]})  # exact duplicate
    near = news[1]["text"].replace("Saturday", "Sunday", 1).replace("centuries", "years", 1)
    news.append({"id": "n-near", "text": near if near != news[1]["text"] else news[1]["text"] + " Indeed."})
    news.append({"id": "n-de", "text": GERMAN})
    forum = [{"id": f"f{i}", "text": article(rng, 6)} for i in range(6)]
    forum += [
        {"id": "f-short1", "text": "Thanks, that helped me a lot with the river walk."},
        {"id": "f-script", "text": SCRIPT_POST},
        # 40 words: dropped at Gopher's minimum of 50, kept at 30
        {
            "id": "f-forty",
            "text": " ".join(SENTENCES[0].split()[:10] + SENTENCES[1].split()[:17] + SENTENCES[2].split()[:13]),
        },
    ]
    return news, forum


def write_jsonl(path: str, records: list[dict], broken_line: bool = False) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        if broken_line:
            f.write('{"id": "broken", "text": \n')


def run_config(tmp, name: str, gopher: dict, with_stats: bool = True):
    raw = {
        "inputs": [
            {
                "kind": "jsonl",
                "name": "news",
                "paths": [os.path.join(tmp, "news.jsonl")],
                "options": {"id_field": "id"},
            },
            {
                "kind": "jsonl",
                "name": "forum",
                "paths": [os.path.join(tmp, "forum.jsonl")],
                "options": {"id_field": "id"},
            },
        ],
        "stages": [
            {"language_id": {"languages": ["en"], "min_score": 0.3}},
            {"gopher_quality": gopher},
            {"exact_dedup": {}},
            {"minhash_dedup": {}},
        ],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1"},
        "output": {"num_shards": 2, "write_rejected": True, "stats": with_stats},
    }
    out = os.path.join(tmp, name)
    return out, cli.run_pipeline(config.parse(raw), out, [])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("stats"))
    news, forum = corpus()
    write_jsonl(os.path.join(tmp, "news.jsonl"), news)
    write_jsonl(os.path.join(tmp, "forum.jsonl"), forum, broken_line=True)
    a, ma = run_config(tmp, "a", {})
    b, mb = run_config(tmp, "b", {"min_words": 30})
    c, mc = run_config(tmp, "c", {}, with_stats=False)
    r = os.path.join(tmp, "refiltered")
    mr = refilter(a, {"stages": [{"gopher_quality": {"min_words": 120}}], "output": {"write_rejected": True}}, r)
    return {"a": (a, ma), "b": (b, mb), "c": (c, mc), "r": (r, mr)}


def curate_json(capsys, *args) -> list:
    assert cli.main(["stats", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def curate_text(capsys, *args) -> str:
    assert cli.main(list(args)) == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------ stats.json


def test_the_run_writes_stats_and_samples_and_the_switch_turns_them_off(runs):
    a, ma = runs["a"]
    c, mc = runs["c"]
    check_output(a, ma)
    assert os.path.exists(os.path.join(a, "stats.json")) and os.path.exists(os.path.join(a, stats.SAMPLES_FILE))
    assert not [f for f in os.listdir(a) if f.startswith(stats.PARTIAL_PREFIX)]
    assert not os.path.exists(os.path.join(c, "stats.json")) and not os.path.exists(os.path.join(c, "samples"))
    # the statistics steps change nothing in the output
    assert shard_hashes(a) == shard_hashes(c) and ma["counts"] == mc["counts"]


def test_stats_json_figures_match_the_shards(runs):
    a, ma = runs["a"]
    s = stats.read_stats(a)
    rows = [r for shard in ma["shards"] for r in pq.read_table(os.path.join(a, shard["path"])).to_pylist()]
    assert s["kept"]["docs"] == len(rows)
    assert s["kept"]["tokens"] == sum(r["num_tokens"] for r in rows) == ma["totals"]["tokens"]
    assert s["kept"]["chars"] == sum(len(r["text"]) for r in rows)
    for src in ("news", "forum"):
        mine = [r for r in rows if r["source"] == src]
        assert s["kept"]["by_source"][src]["tokens"] == sum(r["num_tokens"] for r in mine)
        assert s["lengths"][src]["tokens"]["n"] == len(mine)
        assert s["lengths"][src]["tokens"]["max"] == max(r["num_tokens"] for r in mine)
    # the signal histograms count every kept document once per signal
    assert s["signals"]["gopher_quality"]["n_words"]["kept"]["n"] == len(rows)
    assert s["signals"]["gopher_quality"]["n_words"]["thresholds"] == [50, 100000]
    dropped = s["signals"]["gopher_quality"]["n_words"]["dropped"]
    assert dropped["n"] == ma["counts"]["dropped"]["gopher_quality:too_few_words"] and dropped["max"] < 50
    # the exact copy and the near copy each make a cluster of two
    assert s["dedup"]["exact_dedup"]["docs_removed"] == 1
    assert (
        s["dedup"]["exact_dedup"]["cluster_sizes"]["n"] == 1 and s["dedup"]["exact_dedup"]["cluster_sizes"]["max"] == 2
    )
    assert s["dedup"]["minhash_dedup"]["cluster_sizes"]["max"] == 2
    assert [x["path"] for x in s["shards"]["list"]] == [x["path"] for x in ma["shards"]]


def test_samples_are_the_smallest_id_hashes_of_each_group(runs):
    a, _ = runs["a"]
    samples = stats.read_samples(a)
    table = pq.read_table(os.path.join(a, "rejected")).to_pylist()
    for group in {s["group"] for s in samples} - {"kept"}:
        ids = [r["id"] for r in table if f"{r['stage']}:{r['reason']}" == group]
        want = sorted(ids, key=stats.sample_rank)[: stats.SAMPLES_PER_GROUP]
        assert [s["id"] for s in samples if s["group"] == group] == want
    kept = [s for s in samples if s["group"] == "kept"]
    assert len(kept) == stats.SAMPLES_PER_GROUP and all(s["num_tokens"] > 0 for s in kept)


# ------------------------------------------------------------------ curate stats


def test_funnel_adds_up_to_the_input(runs, capsys):
    (s,) = curate_json(capsys, runs["a"][0])
    c = s["counts"]
    remaining = c["input"]
    for step in s["funnel"]:
        assert step["in"] == remaining
        assert step["out"] == step["in"] - sum(step["dropped"].values()) - step["errors"]
        remaining = step["out"]
    assert remaining == c["kept"]
    assert c["input"] == c["kept"] + sum(c["dropped"].values()) + c["errors"]
    assert [st["stage"] for st in s["funnel"]] == [
        "read",
        "language_id",
        "gopher_quality",
        "exact_dedup",
        "minhash_dedup",
    ]
    text = curate_text(capsys, "stats", runs["a"][0])
    assert "gopher_quality:too_few_words" in text and "exact_dedup" in text and "kept by language" in text


def test_stats_json_equals_the_manifest_where_they_overlap(runs, capsys):
    for key in ("a", "b", "r"):
        out, manifest = runs[key]
        (s,) = curate_json(capsys, out)
        assert s["has_stats"]
        assert s["counts"] == manifest["counts"]  # combiners vs counters: two tallies
        assert s["tokens"] == manifest["totals"]["tokens"]


def test_without_stats_json_the_manifest_counts_serve(runs, capsys):
    out, manifest = runs["c"]
    (s,) = curate_json(capsys, out)
    assert not s["has_stats"] and s["counts"] == manifest["counts"]
    assert s["funnel"][-1]["out"] == manifest["counts"]["kept"]
    assert "output.stats: false" in curate_text(capsys, "stats", out)


def test_two_runs_side_by_side_show_what_changed(runs, capsys):
    (a, ma), (b, mb) = runs["a"], runs["b"]
    assert mb["counts"]["kept"] == ma["counts"]["kept"] + 1  # the 40-word post
    text = curate_text(capsys, "stats", a, b)
    table = text.split("\n\n")[1]  # the comparison, before each run's own summary
    rows = {}
    for line in table.splitlines()[1:]:
        cells = line.strip().lstrip("*").split()
        rows.setdefault(cells[0], (line.strip().startswith("*"), cells[1:]))
    assert rows["kept"] == (True, [f"{ma['counts']['kept']:,}", f"{mb['counts']['kept']:,}", "+1"])
    a_n, b_n = (
        ma["counts"]["dropped"]["gopher_quality:too_few_words"],
        mb["counts"]["dropped"]["gopher_quality:too_few_words"],
    )
    assert rows["gopher_quality:too_few_words"] == (True, [str(a_n), str(b_n), f"{b_n - a_n:+,}"])
    assert rows["input"][0] is False and rows["language_id:language_not_kept"][0] is False
    both = curate_json(capsys, a, b)
    assert [s["path"] for s in both] == [a, b]


def test_refilter_output_has_its_own_stats(runs, capsys):
    out, m = runs["r"]
    s = stats.read_stats(out)
    assert s["stages"][0] == "gopher_quality"
    assert s["input"]["docs"] == runs["a"][1]["counts"]["kept"] == m["counts"]["input"]
    assert (
        s["dropped"]["gopher_quality:too_few_words"]["docs"]
        == m["counts"]["dropped"]["gopher_quality:too_few_words"]
        > 0
    )
    assert "refilter of" in curate_text(capsys, "stats", out)


# ------------------------------------------------------------------ curate report


def test_report_is_one_offline_page_with_every_plot_and_escaped_text(runs, tmp_path, capsys):
    a, _ = runs["a"]
    target = str(tmp_path / "report.html")
    assert cli.main(["report", a, "-o", target]) == 0
    page = open(target, encoding="utf-8").read()
    plots = re.findall(r'<img class="plot" data-plot="([^"]+)" alt="[^"]*" src="data:image/svg\+xml;base64,', page)
    assert plots == ["funnel", "lengths", "languages", "signals:language_id", "signals:gopher_quality", "clusters"]
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "&lt;script&gt;alert(&quot;stats&quot;)&lt;/script&gt;" in page  # the sampled short post, escaped
    assert "tripped: n_words" in page


def test_report_needs_stats(runs, capsys):
    assert cli.main(["report", runs["c"][0], "-o", os.devnull]) == 2
    assert "no stats.json" in capsys.readouterr().err


# ------------------------------------------------------------------ curate inspect


def _docs(text: str) -> list[str]:
    return re.findall(r"^\[\d+/\d+\] id (\w+)", text, re.M)


def test_inspect_filters(runs, capsys):
    a, _ = runs["a"]
    kept = pq.read_table(os.path.join(a, "shards")).to_pylist()
    rejected = pq.read_table(os.path.join(a, "rejected")).to_pylist()
    one = kept[3]
    assert _docs(curate_text(capsys, "inspect", a, "--id", one["id"][:10])) == [one["id"]]
    forum = _docs(curate_text(capsys, "inspect", a, "--source", "forum", "--limit", "100"))
    assert sorted(forum) == sorted(r["id"] for r in kept if r["source"] == "forum")
    short = _docs(curate_text(capsys, "inspect", a, "--reason", "gopher_quality:too_few_words", "--limit", "100"))
    assert sorted(short) == sorted(r["id"] for r in rejected if r["reason"] == "too_few_words")
    assert _docs(curate_text(capsys, "inspect", a, "--reason", "too_few_words", "--limit", "100")) == short
    grep = _docs(curate_text(capsys, "inspect", a, "--grep", "fishermen .* dawn", "--limit", "100"))
    assert grep and sorted(grep) == sorted(r["id"] for r in kept if re.search("fishermen .* dawn", r["text"]))


def test_inspect_sample_is_seeded_and_tokens_decode(runs, capsys):
    a, _ = runs["a"]
    s1 = _docs(curate_text(capsys, "inspect", a, "--sample", "3", "--seed", "7"))
    assert len(s1) == 3 and s1 == _docs(curate_text(capsys, "inspect", a, "--sample", "3", "--seed", "7"))
    assert s1 != _docs(curate_text(capsys, "inspect", a, "--sample", "3", "--seed", "8"))
    shard = os.path.join(a, "shards", "part-00000-of-00002.parquet")
    row = pq.read_table(shard).to_pylist()[0]
    text = curate_text(capsys, "inspect", shard, "--id", row["id"], "--tokens")
    pieces = [p.split(":", 1)[1] for p in text.split("id:piece)\n", 1)[1].split()]
    assert "".join(pieces).replace("\u2581", " ").strip().startswith(row["text"][:40])
    assert cli.main(["inspect", shard, "--reason", "too_few_words"]) == 2  # a kept shard has no reasons
