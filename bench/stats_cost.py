"""What the run statistics cost: one config run with ``output.stats: true`` and with
``false``, alternating, on the same input in one process (after one warm-up run of each);
prints each run's wall and CPU time (FnApiRunner runs in this process), the medians and
their ratios. Inputs, from the repository root:

    python bench/stats_cost.py --rounds 5                       # configs/all-sources.yaml
    python bench/stats_cost.py --config configs/web.yaml
    python bench/stats_cost.py --stdlib --rounds 3              # the Python standard library

``--stdlib``: every ``.py`` file of this interpreter's standard library as ``code``
documents through code_quality, exact_dedup and minhash_dedup (a larger real corpus).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import sysconfig
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curate import config  # noqa: E402
from pipelines import cli  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/all-sources.yaml")
    ap.add_argument("--stdlib", action="store_true", help="the standard library's code instead of --config")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    cli._quiet_logging()
    base = stdlib_config() if args.stdlib else config.load(args.config).raw
    wall: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(-1, args.rounds):  # round 0: warm-up (models, caches), not counted
            for with_stats in (True, False) if r % 2 == 0 else (False, True):
                raw = {**base, "output": {**(base.get("output") or {}), "stats": with_stats}}
                out = os.path.join(tmp, f"stats-{with_stats}")
                start, start_cpu = time.perf_counter(), time.process_time()
                m = cli.run_pipeline(config.parse(raw), out, [], overwrite=True)
                w, c = time.perf_counter() - start, time.process_time() - start_cpu
                if r >= 0:
                    wall[with_stats].append(w)
                    cpu[with_stats].append(c)
                print(
                    f"{'warm-up' if r < 0 else f'round {r + 1}'} stats={str(with_stats).lower():<5} wall {w:6.2f} s  "
                    f"cpu {c:6.2f} s  ({m['counts']['input']:,} records, {m['counts']['kept']:,} kept, "
                    f"{m['totals']['tokens']:,} tokens)",
                    flush=True,
                )
    for name, t in (("wall", wall), ("cpu", cpu)):
        on, off = statistics.median(t[True]), statistics.median(t[False])
        print(
            f"median {name} time: with statistics {on:.2f} s, without {off:.2f} s: "
            f"ratio {on / off:.3f} ({on - off:+.2f} s)"
        )


# Standard-library packages read besides the top-level modules (not test/, not site-packages/).
STDLIB_PACKAGES = (
    "asyncio",
    "email",
    "encodings",
    "idlelib",
    "importlib",
    "json",
    "http",
    "logging",
    "multiprocessing",
    "unittest",
    "urllib",
    "xml/**",
    "ctypes",
    "concurrent/futures",
    "lib2to3/**",
)


def stdlib_config() -> dict:
    lib = sysconfig.get_paths()["stdlib"]
    paths = [os.path.join(lib, "*.py")] + [os.path.join(lib, p, "*.py") for p in STDLIB_PACKAGES]
    return {
        "inputs": [
            {"kind": "code", "name": "code", "paths": paths, "options": {"root": lib, "repository": "cpython-stdlib"}}
        ],
        "stages": [{"code_quality": {}}, {"exact_dedup": {}}, {"minhash_dedup": {}}],
        "tokenizer": {"model": "curate/models/mistral-tokenizer.model.v1"},
        "output": {"num_shards": 4, "write_rejected": True},
    }


if __name__ == "__main__":
    main()
