"""The two language-ID backends of the ``language_id`` stage on the same real pages:
fastText lid.176 (default) and langdetect (seeded). Prints docs/s for each, their
ratio, and how often they agree on the top language.

    python bench/langid_backends.py [--data ../shared/data]

Input: the text trafilatura extracts (the ``extract`` stage's defaults) from the 181
article-benchmark pages and the HTML responses of every WARC in ../shared/data/warc
(English, Chinese, Japanese, Russian and other pages).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import os
import sys
import time

from curate.document import Document
from curate.extract import Extract, ExtractConfig
from curate.langid import LanguageId, LanguageIdConfig


def page_htmls(data: str):
    """HTML of the benchmark pages and of the WARC responses, decoded by the project's
    WARC reader (HTTP and <meta> charsets: the ClueWeb09 pages are not UTF-8)."""
    from curate.readers.warc import WarcConfig, decode_html, read_warc

    for path in sorted(glob.glob(os.path.join(data, "html", "pages", "*.html.gz"))):
        yield decode_html(gzip.open(path).read())[0]
    for path in sorted(glob.glob(os.path.join(data, "warc", "*.warc.gz"))):
        with open(path, "rb") as f:
            for item in read_warc(path, f, "web", WarcConfig()):
                if isinstance(item, Document) and item.html:
                    yield item.html


def run(backend: str, docs: list[Document]) -> tuple[list[str], float]:
    stage = LanguageId(LanguageIdConfig(languages=[], min_score=0.0, backend=backend))
    stage.setup()
    t0 = time.perf_counter()
    langs = []
    for d in docs:
        stage.process(d)
        langs.append(d.metadata["language"])
    return langs, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join("..", "shared", "data"))
    args = p.parse_args(argv)
    ex = Extract(ExtractConfig())
    ex.setup()
    texts = []
    for i, html in enumerate(page_htmls(args.data)):
        out = ex.process(Document(f"p{i}", "", "web", html=html))
        if isinstance(out, Document) and out.text.strip():
            texts.append(out.text)
    print(f"{len(texts)} extracted pages, {sum(len(t) for t in texts) / 1e6:.2f} MB of text")
    results = {}
    for backend in ("fasttext", "langdetect"):
        docs = [Document(f"d{i}", t, "web") for i, t in enumerate(texts)]
        langs, dt = run(backend, docs)
        results[backend] = langs
        print(
            f"{backend:<10} {len(docs) / dt:8,.0f} docs/s ({dt:.2f} s); languages "
            + ", ".join(f"{k} {v}" for k, v in collections.Counter(langs).most_common(6))
        )
    ft, ld = results["fasttext"], results["langdetect"]
    agree = sum(a == b for a, b in zip(ft, ld))
    print(
        f"agreement on the top language: {agree}/{len(ft)} ({agree / len(ft):.1%}); "
        f"disagreements (fasttext, langdetect): "
        + ", ".join(
            f"{a}/{b} {n}" for (a, b), n in collections.Counter((a, b) for a, b in zip(ft, ld) if a != b).most_common(5)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
