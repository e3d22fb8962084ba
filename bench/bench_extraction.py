"""Extraction quality and speed of both engines of the ``extract`` stage on the 181 real
article pages with hand-made reference texts in ../shared/data/html (scrapinghub's
article-extraction benchmark): precision, recall and F1 of the extracted words against
the reference (``curate.extract.word_scores``, averaged over pages), and pages/s on one
core, both engines side by side in one run.

The pages are split in two halves by a hash of their id (``page_half``): the resiliparse
settings were chosen on the ``tune`` half and are reported on the ``held-out`` half too,
so that a setting that only fits these pages shows. ``--select`` reruns the choice: from
DCLM's call (resiliparse's defaults with main content), it flips the boolean switch of
``extract_plain_text`` that raises the tune half's F1 most, until none does, printing
each step's F1 on both halves (a flip must gain at least ``MIN_GAIN``).

    python bench/bench_extraction.py [--select]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
HTML = os.path.join(HERE, "..", "shared", "data", "html")

from curate.document import Document  # noqa: E402
from curate.extract import Extract, ExtractConfig, word_scores  # noqa: E402
from curate.readers.warc import decode_html  # noqa: E402


def page_half(key: str) -> str:
    """``tune`` or ``held-out``: a page's half, by the first byte of the SHA-256 of its id (91 / 90 pages)."""
    return "tune" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "held-out"


def load_pages() -> list[tuple[str, str, str, str]]:
    """(url, html, reference text, half) of every page with ground truth."""
    truth = json.load(open(os.path.join(HTML, "ground-truth.json"), encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        with gzip.open(os.path.join(HTML, "pages", f"{key}.html.gz"), "rb") as f:
            raw = f.read()
        # decoded as the WARC reader decodes a payload (BOM, <meta> charset, UTF-8, ...)
        pages.append((truth[key]["url"], decode_html(raw)[0], truth[key]["articleBody"], page_half(key)))
    return pages


def extract_all(engine: str, pages, **options) -> tuple[list[str], float]:
    stage = Extract(ExtractConfig(engine=engine, **options))
    stage.setup()
    texts = []
    start = time.perf_counter()
    for url, html, _, _ in pages:
        out = stage.process(Document(id=url, source="web", text="", html=html, provenance={"url": url}))
        texts.append(out.text if isinstance(out, Document) else "")
    return texts, time.perf_counter() - start


def score(engine: str, pages, **options) -> dict:
    """Mean precision, recall, F1 (all pages, and F1 per half), median F1, empty texts, pages/s."""
    texts, secs = extract_all(engine, pages, **options)
    scores = [word_scores(t, ref) for t, (_, _, ref, _) in zip(texts, pages)]
    row = {k: statistics.mean(s[k] for s in scores) for k in ("precision", "recall", "f1")}
    for half in ("tune", "held-out"):
        row[half] = statistics.mean(s["f1"] for s, p in zip(scores, pages) if p[3] == half)
    row["f1_median"] = statistics.median(s["f1"] for s in scores)
    row["empty"] = sum(1 for t in texts if not t)
    row["pages_s"] = len(pages) / secs
    return row


HEADER = (
    f"{'engine':<44} {'precision':>9} {'recall':>7} {'F1':>6} {'F1 tune':>7} {'F1 held-out':>11} "
    f"{'F1 median':>9} {'empty':>5} {'pages/s':>8}"
)


def line(name: str, row: dict) -> str:
    return (
        f"{name:<44} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['tune']:>7.3f} "
        f"{row['held-out']:>11.3f} {row['f1_median']:>9.3f} {row['empty']:>5} {row['pages_s']:>8.0f}"
    )


# DCLM's call: main content, every other switch at resiliparse's default
DCLM = {"alt_texts": True, "comments": True, "post_meta": True}
# preserve_formatting is not among them: without it a page is one line, which the word
# measure cannot see and C4's and FineWeb's line rules cannot work with.
SWITCHES = (
    "list_bullets",
    "alt_texts",
    "links",
    "form_fields",
    "noscript",
    "comments",
    "post_meta",
    "hidden_elements",
)

# A smaller gain is one page of the 91 moving by less than 0.09: not a setting that generalises.
MIN_GAIN = 0.001


def select(pages) -> None:
    """Greedy choice of resiliparse's switches on the tune half (see the module docstring)."""
    defaults = ExtractConfig()
    options = {k: getattr(defaults, k) for k in SWITCHES} | DCLM
    best = score("resiliparse", pages, **options)
    print(HEADER)
    print(line("DCLM (start)", best))
    while True:
        tried = {}
        for k in SWITCHES:
            tried[k] = score("resiliparse", pages, **(options | {k: not options[k]}))
        k = max(tried, key=lambda k: tried[k]["tune"])
        if tried[k]["tune"] < best["tune"] + MIN_GAIN:
            break
        options[k] = not options[k]
        best = tried[k]
        print(line(f"+ {k}: {str(options[k]).lower()}", best))
    chosen = {k: v for k, v in options.items() if v != getattr(defaults, k)}
    print("chosen, against the engine's defaults:", chosen or "the same")


def main():
    import logging

    ap = argparse.ArgumentParser()
    ap.add_argument("--select", action="store_true", help="rerun the choice of resiliparse's switches")
    args = ap.parse_args()
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    pages = load_pages()
    halves = {h: sum(1 for p in pages if p[3] == h) for h in ("tune", "held-out")}
    print(
        f"{len(pages)} pages with reference text ({sum(len(p[1]) for p in pages) / 2**20:.1f} MB of HTML), "
        f"halves: tune {halves['tune']}, held-out {halves['held-out']}"
    )
    if args.select:
        select(pages)
        return
    print(HEADER)
    rows = {}
    variants = {
        "trafilatura": ("trafilatura", {}),
        "resiliparse": ("resiliparse", {}),
        "resiliparse, DCLM's call": ("resiliparse", DCLM),
        "resiliparse, skip_elements: [header]": ("resiliparse", {"skip_elements": ["header"]}),
    }
    for name, (engine, options) in variants.items():
        rows[name] = score(engine, pages, **options)
        print(line(name, rows[name]))
    t, r = rows["trafilatura"], rows["resiliparse"]
    print(
        f"resiliparse / trafilatura: {r['pages_s'] / t['pages_s']:.1f}x pages/s, F1 {r['f1'] - t['f1']:+.3f} "
        f"(tune {r['tune'] - t['tune']:+.3f}, held-out {r['held-out'] - t['held-out']:+.3f})"
    )


if __name__ == "__main__":
    main()
