"""Run one benchmark script as it was at an older git revision (with that revision's
code) and as it is in this checkout, one after the other in one invocation, with the
same interpreter and arguments, and print both outputs: "every figure unchanged within
noise" checked side by side rather than against numbers written down on another day.

    python bench/compare_revisions.py a1b550e -- bench/bench_filters.py --rounds 2
    python bench/compare_revisions.py a1b550e -- bench/minhash_bench.py --part quality

The old revision is extracted with ``git archive`` into a temporary folder beside a link
to this checkout's ``../shared`` (the benches read ``../shared/data``) and with this
checkout's ``curate/models`` linked in (model files are set-up output, not in git). The
old code runs from there (``PYTHONPATH``), so it must work with today's installed
packages, which only ever grew. The peers' interpreter is the one the benches read
from ``CURATE_PEER_PYTHON`` for both runs (older revisions may read ``PEERS_PYTHON``:
set both).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "bench"))

from _proctree import byte_compile  # noqa: E402


def extract(rev: str, into: str) -> str:
    tree = os.path.join(into, "curate")
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", HERE, "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    os.symlink(os.path.realpath(os.path.join(HERE, "..", "shared")), os.path.join(into, "shared"))
    models = os.path.join(tree, "curate", "models")
    if not os.path.exists(models):
        os.symlink(os.path.join(HERE, "curate", "models"), models)
    return tree


def run(tree: str, script: list[str], label: str) -> int:
    print(f"===== {label}: {' '.join(script)} (code: {tree})", flush=True)
    env = dict(os.environ, PYTHONPATH=tree)
    return subprocess.run([sys.executable, *script], cwd=tree, env=env).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="the older git revision")
    ap.add_argument("script", nargs=argparse.REMAINDER, help="-- bench/SCRIPT.py [its arguments]")
    args = ap.parse_args()
    script = args.script[1:] if args.script[:1] == ["--"] else args.script
    if not script:
        ap.error("name the benchmark script after --")
    with tempfile.TemporaryDirectory(prefix="curate-rev-") as tmp:
        old = extract(args.rev, tmp)
        for tree in (old, HERE):
            byte_compile(tree)
        codes = [run(old, script, f"before ({args.rev})"), run(HERE, script, "this checkout")]
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
