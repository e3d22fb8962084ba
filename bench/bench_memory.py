"""Peak memory of a local run against the number of documents (issue 13, "Bounded memory
on one machine"): the end of the pipeline, tokenization and the shard writers.

The corpus: real text only, as JSONL documents: the 181 article bodies of
../shared/data/html/ground-truth.json, the two Gutenberg books of ../shared/data/books cut
into ~4,000-character pieces, and the 1,167 OpenAssistant messages of
../shared/data/conversations; the set is repeated N, 2N, 4N and 8N times under new ids,
dealt round-robin into 4 files. Every run writes shards/ (num_shards 8) and rejected/
(documents over 3,000 characters are dropped by ``tokenizer.max_doc_chars``, so rejected
rows carry their text as on web data), with the tokenizer given (the Mistral SentencePiece
model in curate/models) or trained in the run (vocab 2,000 on 1,000 documents).

Each configuration runs with this checkout's code and, with ``--before REF``, with the code
of git revision REF (extracted by ``git archive`` into a temporary folder and run from
there, side by side in the same script). Prints peak RSS of the whole process tree
(bench/_proctree.py), wall time, documents per second and the ratio of peak memory at 8N
to that at N (the issue's goal: within 1.3x), and whether REF and this checkout wrote the
same shard bytes.

With ``--stages spans`` the run also deduplicates spans (token_dedup, then
sentence_dedup with their defaults) between reading and tokenizing: every copy of the
set loses its repeated windows to the first copy.

    nice -n 10 .venv/bin/python bench/bench_memory.py --n 2 --before 0d41cb1
    nice -n 10 .venv/bin/python bench/bench_memory.py --stages spans --modes given --before 22f5892

``--minhash``: the near-duplicate run end to end instead (read JSONL, ``minhash_dedup``
with its defaults, tokenize with the given model, write shards/ and rejected/) on the
planted corpus of bench/dedup_corpus.py (1,985 real documents, ~40% with planted
near-duplicates; 2N..8N add copies with 40% of words replaced, new documents of the same
lengths), one JSONL file, beside datatrove's 4 MinHash stages on the same file
(bench/_datatrove_minhash.py, run by $CURATE_PEER_PYTHON): peak RSS of each process tree,
wall time, CPU time (user + system of the process tree) and the ratios, and the same run
without the dedup stage (reading, tokenizing and writing shards alone: datatrove's stages
do not tokenize). Each runs once
on 50 documents first, untimed (the first process of a session reads the libraries from disk).

    nice -n 10 .venv/bin/python bench/bench_memory.py --minhash --before 22f5892
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(HERE, "..", "shared", "data")
sys.path.insert(0, os.path.join(HERE, "bench"))

from _peers import require_peer_python  # noqa: E402
from _proctree import byte_compile, run_sampled  # noqa: E402

TOKENIZER = os.path.join(HERE, "curate", "models", "mistral-tokenizer.model.v1")
N_FILES = 4
PIECE_CHARS = 4000


def real_texts() -> list[str]:
    """Every real text of the corpus once (see the module docstring)."""
    with open(os.path.join(DATA, "html", "ground-truth.json"), encoding="utf-8") as f:
        truth = json.load(f)
    texts = [v["articleBody"] for _, v in sorted(truth.items()) if v.get("articleBody")]
    for name in sorted(os.listdir(os.path.join(DATA, "books"))):
        with open(os.path.join(DATA, "books", name), encoding="utf-8-sig") as f:
            book = f.read()
        texts += [book[i : i + PIECE_CHARS] for i in range(0, len(book), PIECE_CHARS)]
    with open(os.path.join(DATA, "conversations", "oasst-en-100-flat.jsonl"), encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f if line.strip()]
    return texts


def write_corpus(folder: str, texts: list[str], copies: int) -> int:
    os.makedirs(folder, exist_ok=True)
    files = [open(os.path.join(folder, f"part-{i}.jsonl"), "w", encoding="utf-8") for i in range(N_FILES)]
    n = 0
    for c in range(copies):
        for i, text in enumerate(texts):
            files[n % N_FILES].write(json.dumps({"id": f"c{c}-t{i}", "text": text}) + "\n")
            n += 1
    for f in files:
        f.close()
    return n


# --stages: what runs between reading and tokenizing. "spans": token_dedup first (one
# window per token: the largest shuffle, and it sees every copy), then sentence_dedup.
STAGES = {
    "none": "stages: []\n",
    "spans": f"stages:\n  - token_dedup: {{model: {TOKENIZER}}}\n  - sentence_dedup: {{}}\n",
}


def write_config(path: str, corpus: str, trained: bool, stages: str = "none") -> None:
    tokenizer = "  train: {vocab_size: 2000, sample_docs: 1000}\n" if trained else f"  model: {TOKENIZER}\n"
    with open(path, "w") as f:
        f.write(
            f"inputs:\n  - kind: jsonl\n    name: docs\n    paths: [{corpus}/*.jsonl]\n    options: {{id_field: id}}\n"
            f"{STAGES[stages]}tokenizer:\n{tokenizer}  max_doc_chars: 3000\n"
            "output:\n  num_shards: 8\n  write_rejected: true\n  stats: false\n"
        )


def write_minhash_config(path: str, corpus: str, dedup: bool = True) -> None:
    stages = "stages:\n  - minhash_dedup: {}\n" if dedup else ""
    with open(path, "w") as f:
        f.write(
            f"inputs:\n  - kind: jsonl\n    name: docs\n    paths: [{corpus}]\n    options: {{id_field: id}}\n"
            f"{stages}tokenizer:\n  model: {TOKENIZER}\n"
            "output:\n  num_shards: 8\n  write_rejected: true\n  stats: false\n"
        )


def minhash_case(trees: list, tmp: str, scales: list) -> None:
    """The near-duplicate run at each scale, each tree and datatrove (module docstring)."""
    from dedup_corpus import planted_corpus, scaled_corpus

    planted = planted_corpus(pathlib.Path(DATA))
    print(f"\nnear-duplicate run (minhash_dedup, tokenize, shards) vs datatrove's 4 MinHash stages; N = {len(planted)}")
    print(f"{'code':<22}{'docs':>8}{'peak MB':>9}{'wall s':>8}{'cpu s':>7}{'docs/s':>8}  {'shards':<14}{'removed':>8}")
    peaks: dict = {}
    # One untimed run of each on 50 documents first: the first process of a session pays
    # for reading the libraries from disk (here 11.0 s against 4.2 s for the same run
    # next), and it would otherwise always be the first tree's.
    warm = os.path.join(tmp, "minhash-warm-up.jsonl")
    with open(warm, "w", encoding="utf-8") as f:
        for d in planted[:50]:
            f.write(json.dumps({"id": d["id"], "text": d["text"]}) + "\n")
    write_minhash_config(warm + ".yaml", warm)
    for label, tree in trees:
        run(tree, warm + ".yaml", os.path.join(tmp, f"out-warm-up-{len(label)}"))
    os.makedirs(os.path.join(tmp, "datatrove-warm-up"))
    run_sampled(
        [
            require_peer_python(),
            os.path.join(HERE, "bench", "_datatrove_minhash.py"),
            warm,
            os.path.join(tmp, "datatrove-warm-up"),
        ]
    )
    for scale in scales:
        docs = scaled_corpus(planted, scale)
        corpus = os.path.join(tmp, f"minhash-{scale}.jsonl")
        with open(corpus, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d["id"], "text": d["text"]}) + "\n")
        config = os.path.join(tmp, f"minhash-{scale}.yaml")
        write_minhash_config(config, corpus)
        plain = os.path.join(tmp, f"no-dedup-{scale}.yaml")
        write_minhash_config(plain, corpus, dedup=False)
        times = {}
        for label, tree in trees:
            out = os.path.join(tmp, f"out-minhash-{scale}-{len(label)}")
            r = run(tree, config, out)
            with open(os.path.join(out, "manifest.json")) as f:
                removed = json.load(f)["counts"]["dropped"].get("minhash_dedup:near_duplicate", 0)
            peaks.setdefault(label, {})[scale] = r["peak_mb"]
            times[label] = r
            print(
                f"{label:<22}{len(docs):>8}{r['peak_mb']:>9.0f}{r['wall_s']:>8.1f}{r['cpu_s']:>7.1f}"
                f"{len(docs) / r['wall_s']:>8.0f}  {r['digest']:<14}{removed:>8}"
            )
        # the same run without the dedup stage: what reading, tokenizing and writing
        # cost, work datatrove's four stages do not do (they write JSONL, untokenized)
        base = run(HERE, plain, os.path.join(tmp, f"out-no-dedup-{scale}"))
        print(
            f"{'(no dedup stage)':<22}{len(docs):>8}{base['peak_mb']:>9.0f}{base['wall_s']:>8.1f}{base['cpu_s']:>7.1f}"
        )
        work = os.path.join(tmp, f"datatrove-{scale}")
        os.makedirs(work)
        dt = run_sampled([require_peer_python(), os.path.join(HERE, "bench", "_datatrove_minhash.py"), corpus, work])
        removed = sum(not kept for _, kept in json.loads(dt["output"].strip().splitlines()[-1])["clusters"].values())
        peaks.setdefault("datatrove", {})[scale] = dt["peak_mb"]
        print(
            f"{'datatrove 4 stages':<22}{len(docs):>8}{dt['peak_mb']:>9.0f}{dt['wall_s']:>8.1f}{dt['cpu_s']:>7.1f}"
            f"{len(docs) / dt['wall_s']:>8.0f}  {'':<14}{removed:>8}"
        )
        for label, r in times.items():
            print(
                f"  datatrove / {label}: wall {dt['wall_s'] / r['wall_s']:.1f}x, cpu {dt['cpu_s'] / r['cpu_s']:.1f}x, "
                f"peak memory {dt['peak_mb'] / peaks[label][scale]:.2f}x"
            )
        dedup_cpu = times["this checkout"]["cpu_s"] - base["cpu_s"]
        print(
            f"  datatrove's cpu / this checkout's dedup stage alone (cpu less the no-dedup run's): {dt['cpu_s'] / dedup_cpu:.1f}x"
        )
    for label, by_scale in peaks.items():
        print(
            f"  {label}: peak at {max(scales)}N / peak at {min(scales)}N = {by_scale[max(scales)] / by_scale[min(scales)]:.2f}x"
        )


def shard_digest(out: str) -> str:
    h = hashlib.sha256()
    for sub in ("shards", "rejected"):
        for name in sorted(os.listdir(os.path.join(out, sub))):
            with open(os.path.join(out, sub, name), "rb") as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()[:12]


def run(tree: str, config: str, out: str) -> dict:
    cmd = [sys.executable, "-m", "pipelines.cli", "run", config, "--output", out, "--overwrite"]
    env = dict(os.environ, PYTHONPATH=tree)
    r = run_sampled(cmd, cwd=tree, env=env)
    r["digest"] = shard_digest(out)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2, help="copies of the real set at N (default 2)")
    ap.add_argument("--before", help="a git revision to measure side by side (e.g. main before a change)")
    ap.add_argument("--modes", default="given,trained", help="tokenizer modes: given,trained")
    ap.add_argument("--scales", default="1,2,4,8")
    ap.add_argument(
        "--stages",
        choices=sorted(STAGES),
        default="none",
        help="stages between reading and tokenizing: none, or spans (token_dedup then sentence_dedup)",
    )
    ap.add_argument("--minhash", action="store_true", help="the near-duplicate case (module docstring)")
    args = ap.parse_args()
    texts = [] if args.minhash else real_texts()
    if not args.minhash:
        print(
            f"real set: {len(texts)} documents, {sum(len(t) for t in texts) / 1e6:.1f} M characters; "
            f"N = {args.n} copies; stages: {args.stages}"
        )
    print("(other jobs may be running on this machine: absolute figures are noisy)")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        trees = [("this checkout", HERE)]
        if args.before:
            before = os.path.join(tmp, "before")
            os.makedirs(before)
            archive = subprocess.run(["git", "-C", HERE, "archive", args.before], check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
            trees.insert(0, (f"before ({args.before})", before))
        for _, tree in trees:
            byte_compile(tree)
        scales = [int(s) for s in args.scales.split(",")]
        if args.minhash:
            return minhash_case(trees, tmp, scales)
        for mode in args.modes.split(","):
            print(f"\ntokenizer {mode}")
            print(f"{'code':<22}{'docs':>8}{'peak MB':>9}{'wall s':>8}{'docs/s':>8}  shards")
            for scale in scales:
                corpus = os.path.join(tmp, f"corpus-{scale}")
                n_docs = write_corpus(corpus, texts, args.n * scale) if not os.path.isdir(corpus) else None
                n_docs = n_docs or len(texts) * args.n * scale
                config = os.path.join(tmp, f"{mode}-{scale}.yaml")
                write_config(config, corpus, mode == "trained", args.stages)
                for label, tree in trees:
                    r = run(tree, config, os.path.join(tmp, f"out-{mode}-{scale}-{len(label)}"))
                    peaks = results.setdefault((mode, label), {})
                    peaks[scale] = r["peak_mb"]
                    print(
                        f"{label:<22}{n_docs:>8}{r['peak_mb']:>9.0f}{r['wall_s']:>8.1f}"
                        f"{n_docs / r['wall_s']:>8.0f}  {r['digest']}"
                    )
            for label, _ in trees:
                peaks = results[(mode, label)]
                print(
                    f"  {label}: peak at {max(scales)}N / peak at {min(scales)}N = "
                    f"{peaks[max(scales)] / peaks[min(scales)]:.2f}x"
                )


results: dict = {}

if __name__ == "__main__":
    main()
