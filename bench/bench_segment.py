"""Sentence segmentation speed on real text, and agreement with pySBD's Golden Rules.

Texts (../shared/data): the 181 article bodies of html/ground-truth.json, the text
extracted from the HTML responses of warc/*.warc.gz (bench_filters.py's cache) and the
two Gutenberg books in ~300-word chunks; each text's language from lid.176.

Speed, one process, CPU time, documents per second:
  curate.segment.split_sentences  (sentencex + curate's rules, in the text's language)
  sentencex.segment alone
  the regex splitter sentence_dedup used before issue 15 (every . ! ? and newline)
  pysbd.Segmenter(language, clean=False), if pysbd is installed (`pip install pysbd`;
      it is no dependency of the project): its languages, else English; on at most
      --pysbd-docs documents, since it is slow

With ``--golden DIR`` (DIR = tests/lang of a pySBD checkout), every Golden Rules case
of every language there is segmented by split_sentences and by pysbd (whose own test
set it is), and the report counts exact matches, cases with a false split (a boundary
the expected sentences do not have) and cases with only missed splits.

    .venv/bin/python bench/bench_segment.py [--golden /path/to/pySBD/tests/lang]
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import re
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curate.segment import sentences, split_sentences  # noqa: E402

OLD_SENTENCE_RE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"'”’)\]]*|\n|$)")  # before issue 15
PYSBD_LANGUAGES = set("en hi mr zh es am ar hy bg ur ru pl fa nl da fr my el it ja de kk sk".split())


def texts() -> list[tuple[str, str]]:
    """(language, text) of the real web pages and book chunks."""
    from bench_filters import load_documents

    from curate.langid import fasttext_language
    from curate.model_files import load_fasttext, model_path

    docs = [d["text"] for d in load_documents() if d["source"] in ("web", "book") and d["text"].strip()]
    import json

    data = os.environ.get(
        "CURATE_SHARED_DATA",
        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data"),
    )
    truth = json.load(open(os.path.join(data, "html", "ground-truth.json")))
    docs += [v["articleBody"] for _, v in sorted(truth.items()) if v.get("articleBody", "").strip()]
    model = load_fasttext(model_path("lid.176.ftz"))
    return [(fasttext_language(model, t, 10_000)[0], t) for t in docs]


def timed(fn, items) -> tuple[float, int]:
    c0 = time.process_time()
    n = sum(len(fn(lang, t)) for lang, t in items)
    return time.process_time() - c0, n


def speed(items, pysbd_docs: int) -> None:
    import sentencex

    langs = {}
    for lang, _ in items:
        langs[lang] = langs.get(lang, 0) + 1
    chars = sum(len(t) for _, t in items)
    print(
        f"{len(items)} texts, {chars / 1e6:.2f} M chars; languages: "
        + ", ".join(f"{k} {v}" for k, v in sorted(langs.items(), key=lambda kv: -kv[1])[:12])
    )
    runs = [
        ("curate.segment.split_sentences", lambda lang, t: split_sentences(t, lang), items),
        ("sentencex.segment alone", lambda lang, t: sentencex.segment(lang, t), items),
        ("old regex splitter (before issue 15)", lambda lang, t: OLD_SENTENCE_RE.findall(t), items),
    ]
    try:
        import pysbd

        segmenters = {}

        def pysbd_split(lang, t):
            lang = lang if lang in PYSBD_LANGUAGES else "en"
            if lang not in segmenters:
                segmenters[lang] = pysbd.Segmenter(language=lang, clean=False)
            return segmenters[lang].segment(t)

        runs.append((f"pysbd (first {pysbd_docs} texts)", pysbd_split, items[:pysbd_docs]))
    except ImportError:
        print("pysbd not installed: `pip install pysbd` to compare")
    base = None
    for name, fn, subset in runs:
        timed(fn, subset[:20])  # warm up (rule tables built on first use)
        best = min((timed(fn, subset) for _ in range(2)), key=lambda r: r[0])
        rate = len(subset) / best[0]
        base = base or rate
        print(
            f"  {name:40s} {rate:9.0f} docs/s  {sum(len(t) for _, t in subset) / best[0] / 1e6:6.2f} M chars/s  "
            f"{best[1]:7d} sentences  ({rate / base:.3f}x split_sentences)"
        )


def _boundaries(sents: list[str]) -> set:
    out, n = set(), 0
    for s in sents[:-1]:
        n += len(re.sub(r"\s", "", s))
        out.add(n)
    return out


def golden(folder: str) -> None:
    import pysbd

    codes = {
        "english": "en",
        "deutsch": "de",
        "french": "fr",
        "spanish": "es",
        "italian": "it",
        "russian": "ru",
        "chinese": "zh",
        "japanese": "ja",
        "dutch": "nl",
        "danish": "da",
        "polish": "pl",
        "greek": "el",
        "arabic": "ar",
        "persian": "fa",
        "hindi": "hi",
        "marathi": "mr",
        "urdu": "ur",
        "bulgarian": "bg",
        "kazakh": "kk",
        "slovak": "sk",
        "armenian": "hy",
        "burmese": "my",
        "amharic": "am",
    }
    # the test modules import pytest for their decorators only
    stub = types.SimpleNamespace(
        param=lambda *a, **k: tuple(a),
        fixture=lambda *a, **k: lambda f: f,
        mark=types.SimpleNamespace(parametrize=lambda *a, **k: lambda f: f, xfail=None),
    )
    sys.modules.setdefault("pytest", stub)
    totals = {"cases": 0, "ours": 0, "pysbd": 0, "false": 0, "missed": 0}
    print(
        "\nGolden Rules (pySBD's tests/lang; cases: exact matches by split_sentences, by pysbd; "
        "split_sentences' cases with a false split / only missed splits):"
    )
    for path in sorted(glob.glob(os.path.join(folder, "test_*.py"))):
        name = os.path.basename(path)[5:-3]
        if name not in codes:
            continue
        lang = codes[name]
        spec = importlib.util.spec_from_file_location(f"golden_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases = [
            c
            for k, v in vars(module).items()
            if k.isupper() and isinstance(v, list) and v and isinstance(v[0], tuple)
            for c in v
        ]
        seg = pysbd.Segmenter(language=lang, clean=False)
        row = {"cases": len(cases), "ours": 0, "pysbd": 0, "false": 0, "missed": 0}
        for text, expected in cases:
            expected = [e.strip() for e in expected]
            ours = sentences(text, lang)
            row["ours"] += ours == expected
            row["pysbd"] += [s.strip() for s in seg.segment(text) if s.strip()] == expected
            got, want = _boundaries(ours), _boundaries(expected)
            row["false"] += bool(got - want)
            row["missed"] += bool(want - got) and not (got - want)
        for k in totals:
            totals[k] += row[k]
        print(
            f"  {lang}: {row['cases']:3d} cases, exact {row['ours']:3d} / pysbd {row['pysbd']:3d}; "
            f"false split {row['false']}, only missed {row['missed']}"
        )
    print(
        f"  all: {totals['cases']} cases, exact {totals['ours']} / pysbd {totals['pysbd']}; "
        f"false split {totals['false']}, only missed {totals['missed']}"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", help="tests/lang of a pySBD checkout")
    ap.add_argument("--pysbd-docs", type=int, default=100)
    args = ap.parse_args()
    speed(texts(), args.pysbd_docs)
    if args.golden:
        golden(args.golden)


if __name__ == "__main__":
    main()
