"""Per-source figures of one end-to-end run over real books and real code.

Inputs: the Gutenberg books in ../shared/data/books (one document per chapter), the
Python standard library on this machine as a source tree (``Lib/**``: every file,
including compiled and data files, so the skip reasons show up), and a ``.tar.gz``
repository built here from a few of its packages. Stages: gopher_quality on books
only, code_redact on code only, exact_dedup on everything.

    python bench/books_code_run.py [--out DIR] [--tree-glob GLOB]

Prints files in / documents / kept / dropped by reason / errors / statistics per
source, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curate import config  # noqa: E402
from pipelines import cli  # noqa: E402

STDLIB = os.path.dirname(os.__file__)
ARCHIVE_PACKAGES = ["json", "email", "http", "logging", "urllib", "concurrent"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--tree-glob",
        default=os.path.join(STDLIB, "**"),
        help="files of the code tree (default: the whole standard library)",
    )
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "cpython-lib-subset.tar.gz")
        with tarfile.open(archive, "w:gz") as tar:
            for pkg in ARCHIVE_PACKAGES:
                tar.add(os.path.join(STDLIB, pkg), arcname=f"cpython/Lib/{pkg}")
        raw = {
            "inputs": [
                {
                    "kind": "books",
                    "paths": [os.path.join(repo, "..", "shared", "data", "books", "*.txt")],
                    "options": {"split": "chapters"},
                },
                {
                    "kind": "code",
                    "paths": [args.tree_glob],
                    "options": {"root": STDLIB, "repository": "cpython-lib", "read_archives": False},
                },
                {"kind": "code", "name": "code_archive", "paths": [archive]},
            ],
            "stages": [
                {"gopher_quality": {"applies_to": ["books"]}},
                {"code_redact": {"applies_to": ["code", "code_archive"]}},
                {"exact_dedup": {}},
            ],
            "tokenizer": {"model": os.path.join(repo, "curate", "models", "mistral-tokenizer.model.v1")},
            "output": {"num_shards": 4},
        }
        cfg_path = os.path.join(tmp, "books-code.yaml")
        with open(cfg_path, "w") as f:
            json.dump(raw, f)
        out = args.out or os.path.join(tmp, "out")
        m = cli.run_pipeline(config.load(cfg_path), out, ["--runner=FnApiRunner"])
    c = m["counts"]
    print(
        f"wall time {m['_wall_time_s']:.1f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB;"
        f" balanced={m['balanced']}; tokens {m['totals'].get('tokens', 'n/a')}"
    )
    for source, s in c["by_source"].items():
        print(f"\n[{source}] input {s['input']}, kept {s['kept']}, errors {s['errors']}")
        for key, n in s["dropped"].items():
            print(f"    dropped {key:<40} {n:>7}")
        for key, n in s["stats"].items():
            print(f"    stat    {key:<40} {n:>7}")


if __name__ == "__main__":
    main()
