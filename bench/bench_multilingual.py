"""Multilingual filtering: curate's per-language chain vs its English-only rules vs
datatrove 0.10.1's filters with their per-language word tokenizers, on the same pages.

    nice -n 10 .venv/bin/python bench/bench_multilingual.py [--rounds 2]

Documents: the real pages of ../shared/data (html/pages and the HTML responses of
warc/*.warc.gz, extracted by curate's ``extract`` stage; the Gutenberg book chunks) as
``bench/bench_filters.py`` caches them in $TMPDIR. Each gets its language from fastText
lid.176.ftz (curate's ``language_id``, every language, score >= 0.65); the pages below
that score are left out on every side, so the three chains see the same documents with
the same language.

Chains (Gopher repetition, Gopher quality, C4, FineWeb, in FineWeb's order; no
bad-words rule on either side, datatrove's downloads its list):

- **before**: curate with ``per_language: false`` on every filter: English words, stop
  words and thresholds for every language (the rules before issue 14);
- **after**: curate's defaults: words cut per language, the per-language parameters of
  curate/data/language_params.json (docs/languages.md);
- **datatrove**: its filters built with ``language=`` the document's language (as
  FineWeb-2 names them, ``cmn_Hani``, ``deu_Latn``...: datatrove 0.10.1 maps the
  two-letter ``zh`` to another Chinese variety's tokenizer, which leaves Chinese uncut),
  each with its defaults otherwise (English stop words: FineWeb-2 passed its own
  per-language lists, which are not available offline). Runs in the peers' venv
  ($CURATE_PEER_PYTHON) as a subprocess of this script (bench/setup_peers.sh installs its tokenizers' packages).

Prints, per language: documents, kept by each chain, the agreement of "after" with
datatrove (same keep/drop decision; Jaccard of the kept sets); and each chain's docs/s
on one core (best of ``--rounds``, after a warm-up that loads every segmenter).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _peers import require_peer_python  # noqa: E402
from bench_filters import LID_MODEL, load_documents  # noqa: E402

FILTERS = ("gopher_repetition", "gopher_quality", "c4", "fineweb")
UNAVAILABLE = "unavailable"
MIN_SCORE = 0.65


# ----------------------------------------------------------------------------- ours


def with_languages(docs: list[dict]) -> list[dict]:
    """The documents that lid.176 names with score >= 0.65, with that language."""
    sys.path.insert(0, str(REPO))
    from curate.langid import fasttext_language
    from curate.model_files import load_fasttext

    model = load_fasttext(LID_MODEL)
    out = []
    for d in docs:
        language, score = fasttext_language(model, d["text"], 10_000)
        if score >= MIN_SCORE:
            out.append(dict(d, language=language))
    return out


class OursChain:
    def __init__(self, per_language: bool):
        sys.path.insert(0, str(REPO))
        from curate import registry
        from curate.config import build
        from curate.document import Document, Drop

        self.Document, self.Drop = Document, Drop
        self.stages = []
        for name in FILTERS:
            params = {"per_language": per_language}
            if name == "c4":
                params["drop_bad_words"] = False
            spec = registry.stage(name)
            self.stages.append((name, spec.make(build(spec.config_cls, params, f"stages.{name}"))))

    def run(self, d: dict):
        doc = self.Document(id=d["id"], text=d["text"], source=d["source"], metadata={"language": d["language"]})
        for name, stage in self.stages:
            out = stage.process(doc)
            if isinstance(out, self.Drop):
                return f"{name}:{out.reason}"
            doc = out
        return None


# ----------------------------------------------------------------------------- datatrove


def datatrove_language(code: str) -> str:
    """lid.176's code as FineWeb-2 names the language: ``{iso 639-3}_{script}`` of the
    row of datatrove's tokenizer table that is the default for that two-letter code."""
    import csv

    from datatrove.utils._import_utils import ASSETS_PATH

    with open(os.path.join(ASSETS_PATH, "tokenizer_assignment.csv")) as f:
        for row in csv.DictReader(f):
            if row["code_1"] == code and row["default_code_1"] == "TRUE" and row["default_script"] == "TRUE":
                return f"{row['code_3']}_{row['script']}"
    return code


class PeerChain:
    def __init__(self):
        from datatrove.data import Document
        from datatrove.pipeline.filters import (
            C4QualityFilter,
            FineWebQualityFilter,
            GopherQualityFilter,
            GopherRepetitionFilter,
        )

        self.Document = Document
        self.classes = (GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter)
        self.by_language: dict = {}
        self.unavailable: dict = {}  # language -> why datatrove cannot tokenize it here

    def stages(self, language: str):
        if language not in self.by_language:
            code = datatrove_language(language)
            self.by_language[language] = [(n, cls(language=code)) for n, cls in zip(FILTERS, self.classes)]
        return self.by_language[language]

    def run(self, d: dict):
        if d["language"] in self.unavailable:
            return UNAVAILABLE
        doc = self.Document(text=d["text"], id=d["id"])
        try:
            for name, stage in self.stages(d["language"]):
                result = stage.filter(doc)
                if result is not True:
                    return f"{name}:{result[1] if isinstance(result, tuple) else 'dropped'}"
        except (ImportError, OSError) as e:  # a tokenizer whose package or model is not here
            self.unavailable[d["language"]] = f"{type(e).__name__}: {e}"
            return UNAVAILABLE
        return None


# ----------------------------------------------------------------------------- runs


def timed(chain, docs: list[dict], rounds: int) -> dict:
    for d in {d["language"]: d for d in docs}.values():  # load every language's tools first
        chain.run(d)
    best, reasons = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        reasons = [chain.run(d) for d in docs]
        best = min(best, time.perf_counter() - t0)
    return {"reasons": reasons, "docs_per_s": len(docs) / best, "unavailable": getattr(chain, "unavailable", {})}


def run_peer(docs_path: str, rounds: int) -> dict:
    env = dict(
        os.environ, HF_HOME=os.environ.get("HF_HOME", str(pathlib.Path(tempfile.gettempdir()) / "curate-bench-hf"))
    )
    cmd = [require_peer_python(), __file__, "--peer", docs_path, "--rounds", str(rounds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"datatrove run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(docs: list[dict], runs: dict, n_all: int) -> None:
    by_lang = collections.defaultdict(list)
    for i, d in enumerate(docs):
        by_lang[d["language"]].append(i)
    names = list(runs)
    print(f"documents: {n_all} real pages and book chunks; {len(docs)} with a language at score >= {MIN_SCORE}")
    print(
        f"{'language':10}{'docs':>6}"
        + "".join(f"{'kept ' + n:>16}" for n in names)
        + f"{'agree a/dt':>12}{'jaccard':>9}"
    )
    rows = sorted(by_lang.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    skipped_docs = [i for i, d in enumerate(docs) if d["language"] in runs["datatrove"]["unavailable"]]
    rows.append(("all", [i for i in range(len(docs)) if i not in set(skipped_docs)]))
    skipped = runs["datatrove"]["unavailable"]
    for language, why in sorted(skipped.items()):
        print(f"datatrove cannot cut {language} here ({why[:90]}): its documents are left out of the comparison")
    rows = [(lang, idx) for lang, idx in rows if lang not in skipped]
    for language, idx in rows:
        kept = {n: {i for i in idx if runs[n]["reasons"][i] is None} for n in names}
        cells = "".join(f"{len(kept[n]):7d} ({len(kept[n]) / len(idx):5.0%}) " for n in names)
        a, p = kept["after"], kept["datatrove"]
        agree = sum((i in a) == (i in p) for i in idx) / len(idx)
        jac = len(a & p) / len(a | p) if a | p else 1.0
        print(f"{language:10}{len(idx):6d}{cells}{agree:12.2f}{jac:9.2f}")
    print("docs/s, one core: " + ", ".join(f"{n} {runs[n]['docs_per_s']:.1f}" for n in names))
    print("drop reasons outside English:")
    for language, idx in rows[:-1]:
        if language == "en":
            continue
        for n in names:
            reasons = collections.Counter(runs[n]["reasons"][i] for i in idx if runs[n]["reasons"][i])
            if reasons:
                print(f"  {language} {n}: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common(4)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--peer", help="(internal) run datatrove on this JSON list of documents, print JSON")
    args = ap.parse_args()
    if args.peer:
        docs = json.loads(pathlib.Path(args.peer).read_text(encoding="utf-8"))
        print(json.dumps(timed(PeerChain(), docs, args.rounds)))
        return
    require_peer_python()
    everything = load_documents()
    docs = with_languages(everything)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)
    try:
        runs = {
            "before": timed(OursChain(per_language=False), docs, args.rounds),
            "after": timed(OursChain(per_language=True), docs, args.rounds),
            "datatrove": run_peer(f.name, args.rounds),
        }
    finally:
        os.unlink(f.name)
    report(docs, runs, len(everything))


if __name__ == "__main__":
    main()
