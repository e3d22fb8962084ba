"""``curate report`` of a run on the real data in ../shared/data (Common Crawl WARCs, two
Gutenberg books, OpenAssistant trees), opened in a real headless browser: Debian's
``chromium`` (``.ci/run`` installs it when missing). Checks that the page loads from its
``file:`` URL with no request for anything but the file itself, and that every plot is
drawn; takes a screenshot. ``CURATE_DOCS_SCREENSHOT=1`` also writes it to
docs/report.png (the README's picture)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess

import pytest

from curate import config, stats
from curate.report import render
from pipelines import cli
from tests.conftest import REPO, shared_path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_SCREENSHOT = REPO / "docs" / "report.png"
# No background traffic of the browser's own (updates, sync, safe browsing), so that the
# network log holds what the page asks for; host names resolve nowhere regardless.
QUIET_BROWSER = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def real_config(data) -> dict:
    web = ["web"]
    return {
        "inputs": [
            {"kind": "warc", "name": "web", "paths": [str(data / "warc" / "*.warc.gz")]},
            {
                "kind": "books",
                "name": "books",
                "paths": [str(data / "books" / "*.txt")],
                "options": {"split": "chapters"},
            },
            {
                "kind": "oasst_trees",
                "name": "conversations",
                "paths": [str(data / "conversations" / "oasst-en-100-trees.jsonl")],
            },
        ],
        "stages": [
            {"url_filter": {"applies_to": web}},
            {"extract": {}},
            {"language_id": {"languages": ["en"], "min_score": 0.65}},
            {"gopher_repetition": {"applies_to": web}},
            {"gopher_quality": {"applies_to": web}},
            {"gopher_quality/books": {"applies_to": ["books"], "min_alpha_words_ratio": 0.7}},
            {"c4": {"applies_to": web}},
            {"fineweb": {"applies_to": web}},
            {"exact_dedup": {}},
            {"minhash_dedup": {}},
        ],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1"},
        "output": {"num_shards": 2, "write_rejected": True},
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    data = shared_path()
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed here (.ci/run installs it with apt-get when it can)")
    tmp = tmp_path_factory.mktemp("report")
    out = str(tmp / "out")
    cli.run_pipeline(config.parse(real_config(data)), out, [])
    page = tmp / "report.html"
    page.write_text(render(out), encoding="utf-8")
    return out, page, tmp


def chromium(tmp, *args) -> str:
    profile = tmp / "profile"
    proc = subprocess.run(
        [CHROMIUM, *QUIET_BROWSER, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def expected_plots(out: str) -> list[str]:
    s = stats.read_stats(out)
    plots = ["funnel", "lengths", "languages"] + [f"signals:{st}" for st in s["stages"] if st in s["signals"]]
    return plots + (["clusters"] if any(d.get("cluster_sizes") for d in s["dedup"].values()) else [])


def test_the_page_references_nothing_outside_itself(report):
    _, page, _ = report
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""\b(?:src|href|action|poster)\s*=\s*["']?\s*(?!data:)[a-z]+:""", html, re.I)
    assert not re.search(r"<(?:script|link|iframe|object|embed|base)\b", html, re.I)
    assert "url(" not in html and "@import" not in html


def test_the_browser_loads_it_without_a_request_and_draws_every_plot(report):
    out, page, tmp = report
    # The page has no script; a copy with one that reports, once loaded, each plot's state.
    probe = tmp / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>",
            """<script>
window.addEventListener("load", () => {
  const plots = [...document.querySelectorAll("img.plot")].map(i =>
    [i.dataset.plot, i.complete, i.naturalWidth, Math.round(i.getBoundingClientRect().width)]);
  document.body.setAttribute("data-probe", JSON.stringify(plots));
});
</script></body>""",
        ),
        encoding="utf-8",
    )
    dom, requests = load(tmp, probe, "--dump-dom")
    probed = json.loads(re.search(r'data-probe="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    assert [p[0] for p in probed] == expected_plots(out)
    for name, complete, natural_width, shown_width in probed:
        assert complete and natural_width > 300 and shown_width > 300, name
    assert requests == []


def test_the_request_check_sees_a_page_that_fetches(report):
    """The control: the same check on a page with a remote image and style sheet (on
    the loopback discard port: nothing answers) finds both requests."""
    _, _, tmp = report
    page = tmp / "fetching.html"
    page.write_text('<img src="http://127.0.0.1:9/plot.png"><link rel="stylesheet" href="https://127.0.0.1:9/a.css">')
    _, requests = load(tmp, page, "--dump-dom")
    assert sorted(requests) == ["http://127.0.0.1:9/plot.png", "https://127.0.0.1:9/a.css"]


def load(tmp, page, *args) -> tuple[str, list[str]]:
    """Open ``page`` with a network log; the output and the URLs the page requested
    (requests with an initiator: the browser's own have none, 'not an origin')."""
    netlog = tmp / f"{page.stem}.netlog.json"
    output = chromium(tmp, f"--log-net-log={netlog}", "--virtual-time-budget=20000", *args, page.as_uri())
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requests = [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]
    return output, requests


def test_screenshot(report):
    _, page, tmp = report
    shot = tmp / "report.png"
    chromium(tmp, "--window-size=1200,1900", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 1900)
    assert len(data) > 50_000  # text, bars and histograms; a blank page compresses to a few KB
    if os.environ.get("CURATE_DOCS_SCREENSHOT"):
        shutil.copyfile(shot, DOCS_SCREENSHOT)
