"""datatrove's 4-stage MinHash dedup (5-grams, 14 bands x 8 rows) on a JSONL file.

Run by the peers' venv ($CURATE_PEER_PYTHON) from minhash_bench.py:
    python _datatrove_minhash.py DOCS.jsonl WORKDIR
Prints one JSON line: work seconds, per-stage seconds, peak RSS, and doc id -> cluster
for every document in a cluster of two or more.
"""

import gzip
import json
import os
import resource
import sys
import tempfile
import time


def peak_mb():
    """VmHWM: this process's own peak (ru_maxrss would include the parent's at fork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    docs_path, work = sys.argv[1], sys.argv[2]
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    base = peak_mb()
    # a fresh folder per run: datatrove skips tasks whose completion it finds in logging_dir
    root = tempfile.mkdtemp(prefix="datatrove-", dir=work)
    data_dir, name = os.path.dirname(docs_path), os.path.basename(docs_path)
    cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64))

    def reader():
        return JsonlReader(data_dir, glob_pattern=name, id_key="id", text_key="text")

    stages = [
        ([reader(), MinhashDedupSignature(output_folder=f"{root}/sigs", config=cfg)], 1),
        (
            [MinhashDedupBuckets(input_folder=f"{root}/sigs", output_folder=f"{root}/buckets", config=cfg)],
            cfg.num_buckets,
        ),
        (
            [
                MinhashDedupCluster(
                    input_folder=f"{root}/buckets", output_folder=f"{root}/remove", config=cfg, save_cluster_id=True
                )
            ],
            1,
        ),
        (
            [
                reader(),
                MinhashDedupFilter(
                    input_folder=f"{root}/remove",
                    exclusion_writer=JsonlWriter(f"{root}/removed"),
                    load_cluster_ids=True,
                ),
                JsonlWriter(f"{root}/kept"),
            ],
            1,
        ),
    ]
    times = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i, (pipeline, tasks) in enumerate(stages):
        s0 = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{root}/logs{i}").run()
        times.append(time.perf_counter() - s0)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    clusters = {}
    for sub in ("kept", "removed"):
        # (no "removed" folder when nothing was removed)
        for fn in sorted(os.listdir(f"{root}/{sub}")) if os.path.isdir(f"{root}/{sub}") else []:
            with gzip.open(f"{root}/{sub}/{fn}", "rt") as f:
                for line in f:
                    d = json.loads(line)
                    cid = d["metadata"].get("minhash_cluster_id", -1)
                    if cid != -1:
                        clusters[d["id"]] = [cid, sub == "kept"]
    peak = peak_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "stage_seconds": times,
                "baseline_mb": base,
                "peak_mb": peak,
                "clusters": clusters,
            }
        )
    )


if __name__ == "__main__":
    main()
