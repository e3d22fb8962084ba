"""Memory of a local run with 2 workers: peak resident memory of the whole process tree
(launcher + worker processes), sampled every 20 ms from /proc.

The run: the real WARCs in ../shared/data/warc through url_filter (with a block list of
--domains synthetic domains, the size of a real one such as UT1's adult list, ~4.6 M),
extract, language_id (lid.176), C4 (bad words) and the given SentencePiece tokenizer.
Two modes: 2 worker processes (multi_processing) and 2 worker threads in one process
(multi_threading, as a Dataflow SDK process runs several bundles at once, each with its
own DoFn instances).

Run it against two checkouts to compare code versions side by side:

    python bench/bench_shared_models.py --repo . --repo /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARCS = os.path.join(HERE, "..", "shared", "data", "warc", "*.warc.gz")
sys.path.insert(0, os.path.join(HERE, "bench"))

from _proctree import run_sampled  # noqa: E402


def run(repo: str, config: str, out: str, mode: str) -> dict:
    env = dict(
        os.environ,
        PYTHONPATH=os.path.abspath(repo),
        CURATE_LID_MODEL=os.path.join(HERE, "curate", "models", "lid.176.ftz"),
    )
    cmd = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        config,
        "--output",
        out,
        "--overwrite",
        "--direct_num_workers",
        "2",
        "--direct_running_mode",
        mode,
    ]
    r = run_sampled(cmd, cwd=repo, env=env)
    r["kept"] = json.load(open(os.path.join(out, "manifest.json")))["counts"]["kept"]
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", action="append", help="checkout to run (repeatable); default: this one")
    ap.add_argument("--domains", type=int, default=1_000_000)
    ap.add_argument("--modes", default="multi_processing,multi_threading")
    args = ap.parse_args()
    repos = args.repo or [HERE]
    with tempfile.TemporaryDirectory() as tmp:
        domains = os.path.join(tmp, "domains.txt")
        with open(domains, "w") as f:
            for i in range(args.domains):
                f.write(f"blocked-site-{i:08d}.example{i % 97}.com\n")
        config = os.path.join(tmp, "config.json")
        with open(config, "w") as f:
            json.dump(
                {
                    "inputs": [{"kind": "warc", "name": "web", "paths": [os.path.abspath(WARCS)]}],
                    "stages": [
                        {"url_filter": {"domains_path": domains}},
                        {"extract": {}},
                        {"language_id": {}},
                        {"c4": {}},
                    ],
                    "tokenizer": {"model": os.path.join(HERE, "curate", "models", "mistral-tokenizer.model.v1")},
                    "output": {"num_shards": 2},
                },
                f,
            )
        print(f"block list: {args.domains:,} domains ({os.path.getsize(domains) / 2**20:.0f} MB file)")
        print(f"{'checkout':<40} {'mode':<17} {'peak RSS MB':>11} {'procs':>5} {'wall s':>7} {'kept':>5}")
        for mode in args.modes.split(","):
            for repo in repos:
                r = run(repo, config, os.path.join(tmp, "out"), mode)
                print(
                    f"{repo:<40} {mode:<17} {r['peak_mb']:>11.0f} {r['processes']:>5} {r['wall_s']:>7.1f} {r['kept']:>5}"
                )


if __name__ == "__main__":
    main()
