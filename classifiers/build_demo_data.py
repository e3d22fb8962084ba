"""Build a demo training set for the quality classifier from ../shared/data.

Positives (text we want more of):
  - Project Gutenberg books (``books/*.txt``), header and licence removed, in passages;
  - the true article text (``articleBody``) of half of the article-benchmark pages
    (``html/ground-truth.json``), in passages;
  - OpenAssistant assistant replies (``conversations/oasst-en-100-trees.jsonl``).
Negatives (raw web text):
  - the whole visible text (``trafilatura.html2txt``: menus, footers, ads kept) of the
    *other* half of the article-benchmark pages (``html/pages/*.html.gz``);
  - the same for the HTML responses of the English Common Crawl and wget WARCs.

Honesty of the held-out AUC: no page gives text to both sets (the 181 benchmark pages
are split in two halves by a hash of their key), and every passage carries a ``group``
(its page, book section or conversation tree), so the trainer's held-out split never
evaluates on a passage whose neighbours it was trained on. The Japanese ClueWeb09 WARC
is left out: it would be separable by language alone and flatter the AUC.

Both classes are cut into word windows whose lengths follow one distribution (see
:func:`passages`), so the length of a text tells the model nothing.

Usage::

    python -m classifiers.build_demo_data --data ../shared/data --output out/demo-data \
        [--train out/demo-model]
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import sys
from typing import Iterator

WARC_FILES = (
    "cc-main-2020-34-sample.warc.gz",
    "cc-main-2024-22-whirlwind.warc.gz",
    "wget-crawl-0000.warc.gz",
    "wget-crawl-0001.warc.gz",
)

DEMO_PARAMS = {"bucket": 200_000, "dim": 100, "epoch": 25, "lr": 0.5, "holdout": 0.2}


def passages(text: str, key: str, min_words: int = 50, max_words: int = 200) -> list[str]:
    """Cut a text into windows of words. Each window's length is drawn (by a hash of
    ``key`` and its index) uniformly from ``min_words``..``max_words``, for positives and
    negatives alike, so passage length says nothing about the class: with whole
    paragraphs for the positives and fixed 250-word windows for the one-line page text,
    the model learned "short means good" (an empty text scored 1.0). A text shorter
    than its window is kept whole if it has ``min_words``; a shorter tail is dropped.
    Newlines inside a window are kept; fastText's preprocessing flattens them anyway."""
    words = text.split()
    out, start, i = [], 0, 0
    while start < len(words):
        digest = hashlib.blake2b(f"{key}#{i}".encode(), digest_size=4).digest()
        size = min_words + int.from_bytes(digest, "big") % (max_words - min_words + 1)
        chunk = words[start : start + size]
        if len(chunk) < min_words:
            break
        out.append(" ".join(chunk))
        start += size
        i += 1
    return out


def strip_gutenberg(text: str) -> str:
    """The book between the ``*** START OF`` and ``*** END OF`` marker lines."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.startswith("*** START OF")), -1)
    end = next((i for i, ln in enumerate(lines) if ln.startswith("*** END OF")), len(lines))
    return "\n".join(lines[start + 1 : end])


def _in_positive_half(key: str) -> bool:
    return hashlib.blake2b(key.encode(), digest_size=8).digest()[0] < 128


def book_examples(data: str) -> Iterator[dict]:
    for path in sorted(glob.glob(os.path.join(data, "books", "*.txt"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8", errors="replace") as f:
            body = strip_gutenberg(f.read())
        for i, p in enumerate(passages(body, name)):
            # Neighbouring passages continue each other: ten at a time share a group.
            yield {"text": p, "group": f"{name}#{i // 10}", "origin": f"books/{name}"}


def article_examples(data: str) -> Iterator[dict]:
    with open(os.path.join(data, "html", "ground-truth.json"), encoding="utf-8") as f:
        truth = json.load(f)
    for key in sorted(truth):
        if _in_positive_half(key):
            for p in passages(truth[key].get("articleBody") or "", key):
                yield {"text": p, "group": f"page:{key}", "origin": "html/ground-truth.json"}


def assistant_examples(data: str) -> Iterator[dict]:
    path = os.path.join(data, "conversations", "oasst-en-100-trees.jsonl")

    def walk(msg, tree):
        if msg.get("role") == "assistant":
            for p in passages(msg.get("text") or "", msg["message_id"]):
                yield {"text": p, "group": f"oasst:{tree}", "origin": "conversations/oasst"}
        for reply in msg.get("replies") or []:
            yield from walk(reply, tree)

    with open(path, encoding="utf-8") as f:
        for line in f:
            tree = json.loads(line)
            yield from walk(tree["prompt"], tree["message_tree_id"])


def _page_text(html: str) -> str:
    import trafilatura

    return trafilatura.html2txt(html) or ""


def page_examples(data: str) -> Iterator[dict]:
    for path in sorted(glob.glob(os.path.join(data, "html", "pages", "*.html.gz"))):
        key = os.path.basename(path).split(".")[0]
        if _in_positive_half(key):
            continue
        html = gzip.open(path).read().decode("utf-8", errors="replace")
        for p in passages(_page_text(html), key):
            yield {"text": p, "group": f"page:{key}", "origin": "html/pages"}


def warc_examples(data: str) -> Iterator[dict]:
    """Raw text of the HTML pages in the real WARCs, read (and charset-decoded) by the
    project's WARC reader."""
    from curate.document import Document
    from curate.readers.warc import WarcConfig, read_warc

    for name in WARC_FILES:
        path = os.path.join(data, "warc", name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            for item in read_warc(path, f, "web", WarcConfig()):
                if not isinstance(item, Document):
                    continue
                url = item.provenance["url"] or ""
                for p in passages(_page_text(item.html or ""), url):
                    yield {"text": p, "group": f"url:{url}", "origin": f"warc/{name}"}


def build(data: str, output: str, include_warc: bool = True) -> dict:
    """Write ``positives.jsonl`` and ``negatives.jsonl``; return counts per origin.

    ``include_warc=False`` leaves the WARC pages out, so that a pipeline run over
    ``warc/`` afterwards scores pages the model has never seen."""
    os.makedirs(output, exist_ok=True)
    counts: dict = {}
    negatives = (page_examples, warc_examples) if include_warc else (page_examples,)
    for name, parts in (
        ("positives", (book_examples, article_examples, assistant_examples)),
        ("negatives", negatives),
    ):
        c = counts[name] = {}
        with open(os.path.join(output, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for part in parts:
                for ex in part(data):
                    c[ex["origin"]] = c.get(ex["origin"], 0) + 1
                    f.write(json.dumps(ex, ensure_ascii=False) + "\n")
    return counts


def describe(counts: dict) -> str:
    def fmt(c):
        return ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))

    return (
        "Demo classifier built by classifiers/build_demo_data.py from ../shared/data. "
        f"Positives ({fmt(counts['positives'])}): Gutenberg book passages, the true article "
        "text of half of the article-benchmark pages, OpenAssistant assistant replies. "
        f"Negatives ({fmt(counts['negatives'])}): the whole visible text (trafilatura "
        "html2txt, boilerplate kept) of the other half of the benchmark pages"
        + (
            " and of the English Common Crawl / wget WARC pages"
            if any(k.startswith("warc/") for k in counts["negatives"])
            else " (the WARC pages left out)"
        )
        + ". No page is in both sets; the held-out split "
        "is by page / book section / conversation tree. A small demo: it separates curated "
        "prose from raw page text, it is not a production quality model."
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join("..", "shared", "data"))
    p.add_argument("--output", required=True, help="folder for positives.jsonl, negatives.jsonl")
    p.add_argument("--train", metavar="MODEL_DIR", help="also train a model into this folder")
    p.add_argument(
        "--exclude-warc",
        action="store_true",
        help="leave the WARC pages out of the negatives (to run the pipeline on them "
        "with a model that has not seen them)",
    )
    # A few thousand passages: fewer hash buckets than the default 2M (an 800 MB model)
    # and fastText's small-data recipe (more epochs, higher rate): the DCLM defaults
    # (5 epochs, lr 0.1) underfit here (held-out AUC 0.77 against 0.92).
    p.add_argument("--bucket", type=int, default=DEMO_PARAMS["bucket"])
    p.add_argument("--dim", type=int, default=DEMO_PARAMS["dim"])
    p.add_argument("--epoch", type=int, default=DEMO_PARAMS["epoch"])
    p.add_argument("--lr", type=float, default=DEMO_PARAMS["lr"])
    args = p.parse_args(argv)
    if not os.path.isdir(args.data):
        print(f"build_demo_data: error: no data folder at {args.data}", file=sys.stderr)
        return 1
    counts = build(args.data, args.output, include_warc=not args.exclude_warc)
    print(json.dumps(counts, indent=2))
    if args.train:
        from classifiers.train import TrainConfig, TrainingError, train

        try:
            card = train(
                [os.path.join(args.output, "positives.jsonl")],
                [os.path.join(args.output, "negatives.jsonl")],
                args.train,
                TrainConfig(
                    bucket=args.bucket, dim=args.dim, epoch=args.epoch, lr=args.lr, holdout=DEMO_PARAMS["holdout"]
                ),
                description=describe(counts),
            )
        except TrainingError as e:
            print(f"build_demo_data: error: {e}", file=sys.stderr)
            return 1
        m = card["held_out_metrics"]
        print(f"held-out AUC {m['auc']:.4f}; model card: {args.train}/model_card.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
