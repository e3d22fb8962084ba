"""Extraction quality and speed of both engines of the ``extract`` stage on the 181 real
article pages with hand-made reference texts in ../shared/data/html (scrapinghub's
article-extraction benchmark): precision, recall and F1 of the extracted words against
the reference (``curate.extract.word_scores``, averaged over pages), and pages/s on one
core, both engines side by side in one run.

    python bench/bench_extraction.py
"""

from __future__ import annotations

import gzip
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


def load_pages() -> list[tuple[str, str, str]]:
    """(url, html, reference text) of every page with ground truth."""
    truth = json.load(open(os.path.join(HTML, "ground-truth.json"), encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        with gzip.open(os.path.join(HTML, "pages", f"{key}.html.gz"), "rb") as f:
            raw = f.read()
        # decoded as the WARC reader decodes a payload (BOM, <meta> charset, UTF-8, ...)
        pages.append((truth[key]["url"], decode_html(raw)[0], truth[key]["articleBody"]))
    return pages


def extract_all(engine: str, pages, **options) -> tuple[list[str], float]:
    stage = Extract(ExtractConfig(engine=engine, **options))
    stage.setup()
    texts = []
    start = time.perf_counter()
    for url, html, _ in pages:
        out = stage.process(Document(id=url, source="web", text="", html=html, provenance={"url": url}))
        texts.append(out.text if isinstance(out, Document) else "")
    return texts, time.perf_counter() - start


def main():
    import logging

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    pages = load_pages()
    print(f"{len(pages)} pages with reference text ({sum(len(h) for _, h, _ in pages) / 2**20:.1f} MB of HTML)")
    print(f"{'engine':<28} {'precision':>9} {'recall':>7} {'F1':>6} {'F1 median':>9} {'empty':>5} {'pages/s':>8}")
    rows = {}
    variants = {
        "trafilatura": ("trafilatura", {}),
        "resiliparse": ("resiliparse", {}),
        "resiliparse alt_texts=false": ("resiliparse", {"alt_texts": False}),
    }
    for name, (engine, options) in variants.items():
        texts, secs = extract_all(engine, pages, **options)
        scores = [word_scores(t, ref) for t, (_, _, ref) in zip(texts, pages)]
        row = {k: statistics.mean(s[k] for s in scores) for k in ("precision", "recall", "f1")}
        row["f1_median"] = statistics.median(s["f1"] for s in scores)
        row["empty"] = sum(1 for t in texts if not t)
        row["pages_s"] = len(pages) / secs
        rows[name] = row
        print(
            f"{name:<28} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['f1_median']:>9.3f} "
            f"{row['empty']:>5} {row['pages_s']:>8.0f}"
        )
    t, r = rows["trafilatura"], rows["resiliparse"]
    print(f"resiliparse / trafilatura: {r['pages_s'] / t['pages_s']:.1f}x pages/s, F1 {r['f1'] - t['f1']:+.3f}")


if __name__ == "__main__":
    main()
