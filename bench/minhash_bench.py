"""MinHash near-duplicate detection: quality, speed and scaling against datasketch and datatrove.

    python bench/minhash_bench.py [--part quality|signatures|scaling|all] [--before TREE]

- quality + speed: the planted corpus of ``dedup_corpus.py`` (real text, ~2,000 docs);
  each detector runs in its own process on the same JSONL file (wall and CPU time of
  the work, peak RSS of the process): ours (core alone; full Beam pipeline on FnApiRunner,
  JSONL in -> JSONL out), datasketch ``MinHashLSH(threshold=0.8, num_perm=128)`` with
  union-find over its query results, and datatrove's 4 MinHash stages (5-grams, 14x8,
  run by $CURATE_PEER_PYTHON). Precision and recall are over pairs of documents: a pair is
  predicted when both land in one cluster, true when its exact Jaccard is >= 0.8.
- signatures: documents/s per core (CPU time) of our signatures vs datasketch's (same
  documents, same 5-word shingles, 112 permutations each, datasketch's permutations reused).
- scaling: ours at N, 2N, 4N, 8N documents and datatrove at N and 8N, CPU-time ratios
  and the marginal CPU cost per document.

``--before TREE`` (a checkout of an older revision, e.g. ``git worktree add /tmp/old REV``)
adds its Beam pipeline, run from that tree with the same interpreter, beside ours in the
quality and scaling parts, and checks that both give the same clusters.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _peers import require_peer_python  # noqa: E402

DATA = pathlib.Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
THRESHOLD = 0.8


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss survives
    fork+exec, so a worker would report its parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read_docs(path):
    from curate.document import Document

    with open(path, encoding="utf-8") as f:
        return [Document(d["id"], d["text"], d["source"]) for d in map(json.loads, f)]


# --------------------------------------------------------------------------- workers (one process each)


def work_ours_core(docs_path, out_dir, args):
    from curate.dedup.minhash import dedup_documents
    from curate.document import Rejected

    base = _peak_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    docs = _read_docs(docs_path)
    out = dedup_documents(docs, _config(args))
    clusters = {}
    for o in out:
        if isinstance(o, Rejected):
            clusters[o.doc.id] = [o.details["cluster_id"], False]
        elif "minhash_dedup" in o.metadata:
            clusters[o.id] = [o.metadata["minhash_dedup"]["cluster_id"], True]
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "baseline_mb": base,
        "clusters": clusters,
    }


def work_ours_beam(docs_path, out_dir, args):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from curate.document import Document
    from pipelines.dedup import MinHashDedup

    base = _peak_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = os.path.join(out_dir, "beam-clusters")
    cfg = _config(args)
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        docs = (
            p
            | "read" >> beam.io.ReadFromText(docs_path)
            | "parse" >> beam.Map(lambda line: (lambda d: Document(d["id"], d["text"], d["source"]))(json.loads(line)))
        )
        res = docs | "dedup" >> MinHashDedup(cfg)
        kept = res.kept | "kept" >> beam.Map(
            lambda d: json.dumps([d.id, d.metadata.get("minhash_dedup", {}).get("cluster_id"), True])
        )
        rej = res.rejected | "rejected" >> beam.Map(lambda r: json.dumps([r.doc.id, r.details["cluster_id"], False]))
        (kept, rej) | beam.Flatten() | "write" >> beam.io.WriteToText(out)
    clusters = {}
    for path in pathlib.Path(out_dir).glob("beam-clusters*"):
        for line in path.read_text().splitlines():
            doc_id, cid, kept = json.loads(line)
            if cid is not None:
                clusters[doc_id] = [cid, kept]
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "baseline_mb": base,
        "clusters": clusters,
    }


def _ds_shingles(text, n=5):
    from curate.text import normalize_words

    w = normalize_words(text)
    if len(w) < n:
        return [b" ".join(w)] if w else []
    return list({b" ".join(w[i : i + n]) for i in range(len(w) - n + 1)})


def work_datasketch(docs_path, out_dir, args):
    from datasketch import MinHash, MinHashLSH

    from curate.dedup.minhash import union_find_components

    base = _peak_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    docs = _read_docs(docs_path)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    sketches = {}
    for d in docs:
        sh = _ds_shingles(d.text)
        if not sh:
            continue
        m = MinHash(num_perm=128)
        m.update_batch(sh)
        sketches[d.id] = m
        lsh.insert(d.id, m)
    edges = [(min(a, b), max(a, b)) for a, m in sketches.items() for b in lsh.query(m) if b != a]
    comps = {d: [root, d == root] for d, root in union_find_components(edges).items()}
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "baseline_mb": base,
        "clusters": comps,
    }


def _config(args):
    from curate.dedup.minhash import MinHashDedupConfig

    return MinHashDedupConfig(verify=args.verify, bands=args.bands, rows=args.rows, max_rounds=args.max_rounds)


WORKERS = {"ours_core": work_ours_core, "ours_beam": work_ours_beam, "datasketch": work_datasketch}


def run_worker(name, docs_path, out_dir, verify="exact", bands=14, rows=8, max_rounds=None, tree=None) -> dict:
    """One worker in its own process; ``tree``: run this script from another checkout."""
    t0 = time.perf_counter()
    env = {**os.environ, "HF_HOME": os.path.join(out_dir, "hf")}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    if name == "datatrove":
        cmd = [require_peer_python(), str(REPO / "bench" / "_datatrove_minhash.py"), docs_path, out_dir]
    else:
        cmd = [
            sys.executable,
            str(pathlib.Path(tree) / "bench" / "minhash_bench.py") if tree is not None else __file__,
            "--worker",
            name,
            "--docs",
            docs_path,
            "--out",
            out_dir,
            "--verify",
            verify,
            "--bands",
            str(bands),
            "--rows",
            str(rows),
        ]
        cmd += ["--max-rounds", str(max_rounds)] if max_rounds is not None else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_seconds"] = time.perf_counter() - t0
    return res


# --------------------------------------------------------------------------- scoring


def score(clusters: dict, jaccard: dict) -> dict:
    """clusters: doc id -> [cluster id, kept?] for the documents in clusters of >= 2.

    precision (cluster pairs): of all pairs inside one cluster, those with J >= 0.8;
    precision (removed->kept): of the pairs (removed doc, its cluster's kept doc), the
    ones with J >= 0.8 (what a reader of rejected/ sees); recall: of the pairs with
    J >= 0.8, those inside one cluster.
    """
    members: dict = {}
    for doc_id, (cid, kept) in clusters.items():
        members.setdefault(cid, []).append((not kept, doc_id))
    predicted, reported = set(), []
    for group in members.values():
        ids = sorted(d for _, d in group)
        predicted.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
        kept = min(group)[1]  # the kept document sorts first (not kept = False)
        reported += [tuple(sorted((d, kept))) for _, d in group if d != kept]
    truth = {p for p, j in jaccard.items() if j >= THRESHOLD}
    tp = len(predicted & truth)
    return {
        "predicted_pairs": len(predicted),
        "precision": tp / len(predicted) if predicted else 1.0,
        "precision_removed": sum(jaccard.get(p, 0) >= THRESHOLD for p in reported) / len(reported) if reported else 1.0,
        "recall": tp / len(truth) if truth else 1.0,
        "removed": len(reported),
    }


def write_corpus(docs, path):
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d["id"], "text": d["text"], "source": d["source"]}) + "\n")


# --------------------------------------------------------------------------- parts


def part_quality(tmp, before=None):
    from dedup_corpus import planted_corpus, true_pairs

    docs = planted_corpus(DATA)
    path = os.path.join(tmp, "docs.jsonl")
    write_corpus(docs, path)
    jaccard = true_pairs(docs)
    n_true = sum(j >= THRESHOLD for j in jaccard.values())
    words = sorted(len(d["text"].split()) for d in docs)
    print(
        f"\n== quality + speed: {len(docs)} documents (median {words[len(words) // 2]} words), "
        f"{n_true} true duplicate pairs (exact J >= {THRESHOLD})"
    )
    runs = [  # label, worker, verify, bands, rows, max_rounds (None: the default)
        ("ours core 14x8 exact", "ours_core", "exact", 14, 8, None),
        ("ours beam 14x8 exact", "ours_beam", "exact", 14, 8, None),
        ("ours beam, 16 rounds", "ours_beam", "exact", 14, 8, 16),
        *([("before: beam 14x8 exact", "ours_beam", "exact", 14, 8, None)] if before else []),
        ("ours core 14x8 signature", "ours_core", "signature", 14, 8, None),
        ("ours core 14x8 none", "ours_core", "none", 14, 8, None),
        ("ours core 20x5 exact", "ours_core", "exact", 20, 5, None),
        ("datasketch 0.8/128", "datasketch", "none", 14, 8, None),
        ("datatrove 14x8", "datatrove", "none", 14, 8, None),
    ]
    results = {}
    for label, worker, verify, bands, rows, max_rounds in runs:
        res = run_worker(
            worker, path, tmp, verify, bands, rows, max_rounds, before if label.startswith("before") else None
        )
        results[label] = {**res, **score(res["clusters"], jaccard)}
    print(
        f"{'method':<26}{'prec':>6}{'prec_rm':>8}{'recall':>7}{'pairs':>6}{'removed':>8}"
        f"{'work s':>8}{'cpu s':>7}{'proc s':>7}{'peak MB':>8}{'base MB':>8}"
    )
    for label, r in results.items():
        print(
            f"{label:<26}{r['precision']:>6.3f}{r['precision_removed']:>8.3f}{r['recall']:>7.3f}"
            f"{r['predicted_pairs']:>6}{r['removed']:>8}{r['seconds']:>8.2f}{r['cpu_seconds']:>7.2f}"
            f"{r['process_seconds']:>7.2f}{r['peak_mb']:>8.0f}{r['baseline_mb']:>8.0f}"
        )
    dt = results["datatrove 14x8"]
    print(
        "datatrove stage seconds (signature, buckets, cluster, filter):",
        ", ".join(f"{x:.2f}" for x in dt["stage_seconds"]),
    )
    if before:
        same = results["before: beam 14x8 exact"]["clusters"] == results["ours beam 14x8 exact"]["clusters"]
        print(f"before and ours (Beam): {'the same' if same else 'DIFFERENT'} clusters")
    for label in ("ours core 14x8 exact", "ours beam 14x8 exact", "ours beam, 16 rounds", "datasketch 0.8/128"):
        r = results[label]
        print(
            f"datatrove / {label}: wall time {dt['seconds'] / r['seconds']:.1f}x, "
            f"CPU time {dt['cpu_seconds'] / r['cpu_seconds']:.1f}x, "
            f"whole process {dt['process_seconds'] / r['process_seconds']:.1f}x, "
            f"peak memory {dt['peak_mb'] / r['peak_mb']:.2f}x"
        )
    return docs


def part_signatures(docs):
    from datasketch import MinHash

    from curate.dedup.minhash import MinHasher

    texts = [d["text"] for d in docs]
    k = 112
    ours = MinHasher(num_perm=k)
    ours.signatures(texts[:10])  # builds the character table once
    schemes = {"affine32": None, "legacy": None}  # datasketch 2.0's default; its mod-p scheme (ours)
    for scheme in schemes:
        schemes[scheme] = MinHash(num_perm=k, scheme=scheme).permutations

    def run_ours():
        for i in range(0, len(texts), 512):
            ours.signatures(texts[i : i + 512])

    def run_ds(scheme):
        def run():
            for t in texts:
                m = MinHash(num_perm=k, permutations=schemes[scheme], scheme=scheme)
                sh = _ds_shingles(t)
                if sh:
                    m.update_batch(sh)

        return run

    runs = {"ours": run_ours, "datasketch affine32": run_ds("affine32"), "datasketch legacy": run_ds("legacy")}
    best = {name: 1e9 for name in runs}
    # CPU time of this process (per core), interleaved, best of 5: the machine is shared
    # and wall time swings 2x with the other jobs' load.
    for _ in range(5):
        for name, fn in runs.items():
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    print(f"\n== signatures, one core (CPU time), {len(texts)} documents, {k} permutations, 5-word shingles")
    for name, s in best.items():
        print(f"{name:<20} {len(texts) / s:>8.0f} docs/s")
    for name in ("datasketch affine32", "datasketch legacy"):
        print(f"ours / {name}: {best[name] / best['ours']:.1f}x")


def part_scaling(tmp, docs, factors=(1, 2, 4, 8), datatrove_at=(1, 8), before=None):
    from dedup_corpus import scaled_corpus

    print(f"\n== scaling ({len(docs)} documents = N); datatrove at {', '.join(f'{f}N' for f in datatrove_at)}")
    rows, olds = [], []
    for f in factors:
        sd = scaled_corpus(docs, f)
        path = os.path.join(tmp, f"scaled-{f}.jsonl")
        write_corpus(sd, path)
        core = run_worker("ours_core", path, tmp)
        beam = run_worker("ours_beam", path, tmp)
        dt = run_worker("datatrove", path, tmp) if f in datatrove_at else None
        beam16 = run_worker("ours_beam", path, tmp, max_rounds=16) if f in datatrove_at else None
        if before:
            olds.append((f, run_worker("ours_beam", path, tmp, tree=before), beam, dt))
        rows.append((f, len(sd), core, beam, dt, beam16))
    c1, b1 = rows[0][2]["cpu_seconds"], rows[0][3]["cpu_seconds"]
    print(
        f"{'N':>4}{'docs':>7}{'core s':>8}{'cpu':>7}{'ratio':>7}{'MB':>6}"
        f"{'beam s':>8}{'cpu':>7}{'ratio':>7}{'MB':>6}{'datatrove s':>12}{'cpu':>7}{'MB':>6}{'dt/beam wall':>13}{'cpu':>6}"
        f"{'beam16 s':>9}{'dt/beam16 wall':>15}"
    )
    for f, n, core, beam, dt, beam16 in rows:
        line = (
            f"{f:>3}N{n:>7}{core['seconds']:>8.2f}{core['cpu_seconds']:>7.2f}{core['cpu_seconds'] / c1:>7.2f}"
            f"{core['peak_mb']:>6.0f}{beam['seconds']:>8.2f}{beam['cpu_seconds']:>7.2f}"
            f"{beam['cpu_seconds'] / b1:>7.2f}{beam['peak_mb']:>6.0f}"
        )
        if dt:
            line += (
                f"{dt['seconds']:>12.2f}{dt['cpu_seconds']:>7.2f}{dt['peak_mb']:>6.0f}"
                f"{dt['seconds'] / beam['seconds']:>13.1f}{dt['cpu_seconds'] / beam['cpu_seconds']:>6.1f}"
                f"{beam16['seconds']:>9.2f}{dt['seconds'] / beam16['seconds']:>15.1f}"
            )
        print(line)
    (f0, n0, c0, b0, *_), (fl, nl, cl, bl, *_) = rows[0], rows[-1]
    print("(ratio: CPU time relative to N; wall time on this shared machine swings with other jobs;")
    print(" beam16: the same pipeline with max_rounds: 16, the graph a distributed runner gets)")
    print(
        f"marginal CPU per document from {f0}N to {fl}N: core {(cl['cpu_seconds'] - c0['cpu_seconds']) / (nl - n0) * 1e3:.3f} ms, "
        f"beam {(bl['cpu_seconds'] - b0['cpu_seconds']) / (nl - n0) * 1e3:.3f} ms"
    )
    if olds:
        print(f"\nBeam, before ({before}) and ours, same documents:")
        print(
            f"{'N':>4}{'before s':>9}{'cpu':>7}{'MB':>6}{'ours s':>8}{'cpu':>7}{'MB':>6}  clusters   datatrove/before  /ours (wall)"
        )
        for f, old, new, dt in olds:
            same = "same" if old["clusters"] == new["clusters"] else "DIFFERENT"
            ratios = f"{dt['seconds'] / old['seconds']:>10.1f}x{dt['seconds'] / new['seconds']:>9.1f}x" if dt else ""
            print(
                f"{f:>3}N{old['seconds']:>9.2f}{old['cpu_seconds']:>7.2f}{old['peak_mb']:>6.0f}"
                f"{new['seconds']:>8.2f}{new['cpu_seconds']:>7.2f}{new['peak_mb']:>6.0f}  {same:<10}{ratios}"
            )
    dts = [(n, dt) for _, n, _, _, dt, _ in rows if dt]
    if len(dts) > 1:
        (na, da), (nb, db) = dts[0], dts[-1]
        print(
            f"marginal CPU per document, datatrove: {(db['cpu_seconds'] - da['cpu_seconds']) / (nb - na) * 1e3:.3f} ms"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="all", choices=["quality", "signatures", "scaling", "all"])
    ap.add_argument("--verify", default="exact", choices=["exact", "signature", "none"])
    ap.add_argument("--bands", type=int, default=14)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--max-rounds", type=int, default=None, help="default: the stage's (none on FnApiRunner)")
    ap.add_argument("--before", help="a checkout of an older revision: its Beam pipeline beside ours")
    ap.add_argument("--worker")
    ap.add_argument("--docs")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        res = WORKERS[args.worker](args.docs, args.out, args)
        res["peak_mb"] = _peak_mb()
        print(json.dumps(res))
        return
    from dedup_corpus import planted_corpus

    with tempfile.TemporaryDirectory() as tmp:
        docs = None
        if args.part in ("quality", "all"):
            docs = part_quality(tmp, args.before)
        docs = docs or planted_corpus(DATA)
        if args.part in ("signatures", "all"):
            part_signatures(docs)
        if args.part in ("scaling", "all"):
            part_scaling(tmp, docs, before=args.before)


if __name__ == "__main__":
    main()
