"""Ours against the peers, on the same input in one run.

1. Gutenberg licence stripping: our books reader (decode, strip, rejoin) against
   ``gutenberg.cleanup.strip_headers`` (the c-w/gutenberg package, a port of Krugel's
   strip_headers.cpp) on the real books in ../shared/data/books plus one synthetic book
   per marker variant of tests/test_books_reader.py. Reports what each leaves of the
   licence (any line mentioning Gutenberg, "Produced by") and time per book.
2. Secrets: our ``code_redact`` against Yelp's ``detect-secrets`` (default plugins) on
   the standard library's top-level modules and its test suite: findings by kind,
   files/s, peak memory.

The peers run in the peers' venv ($CURATE_PEER_PYTHON; bench/setup_peers.sh installs
``gutenberg==0.8.2 --no-deps`` and ``detect-secrets``) through a subprocess; ours runs here.

    python bench/books_code_peers.py
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers import require_peer_python  # noqa: E402

from curate.readers.books import BooksConfig, read_file  # noqa: E402
from curate.redact import redact  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STDLIB = os.path.dirname(os.__file__)

PEER_BOOKS = r"""
import json, sys, time, resource
from gutenberg.cleanup import strip_headers
out = {}
for path in json.load(sys.stdin):
    raw = open(path, "rb").read()
    text = raw.decode("utf-8-sig", errors="replace")
    t = time.perf_counter()
    for _ in range(REPS):
        body = strip_headers(text)
    out[path] = {"s": (time.perf_counter() - t) / REPS, "text": body}
out["_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump(out, sys.stdout)
"""

PEER_SECRETS = r"""
import json, sys, time, resource, collections
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
files = json.load(sys.stdin)
t = time.perf_counter()
kinds = collections.Counter()
with default_settings():
    secrets = SecretsCollection()
    for f in files:
        secrets.scan_file(f)
    for _, s in secrets:
        kinds[s.type] += 1
json.dump({"s": time.perf_counter() - t, "kinds": kinds,
           "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, sys.stdout)
"""


def peer(python: str, script: str, payload) -> dict:
    res = subprocess.run([python, "-c", script], input=json.dumps(payload), capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def synthetic_books(tmp: str) -> list[str]:
    sys.path.insert(0, REPO)
    from tests import test_books_reader as t

    variants = {
        "the": (t.MODERN_HEADER, t.MODERN_FOOTER),
        "this": (t.THIS_HEADER, t.THIS_FOOTER),
        "ebook-footer": (t.THIS_HEADER, t.EBOOK_FOOTER),
        "small-print": (t.SMALL_PRINT_HEADER, t.ETEXT_FOOTER),
        "no-spaces": (t.NOSPACE_HEADER, t.NOSPACE_FOOTER),
    }
    paths = []
    for name, (head, foot) in variants.items():
        p = os.path.join(tmp, f"synthetic-{name}.txt")
        with open(p, "w") as f:
            f.write(head + t.BODY + foot)
        paths.append(p)
    return paths


def licence_left(text: str) -> int:
    return sum(1 for ln in text.split("\n") if "gutenberg" in ln.lower() or ln.lower().startswith("produced by"))


def bench_books(python: str, reps: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(glob.glob(os.path.join(REPO, "..", "shared", "data", "books", "*.txt"))) + synthetic_books(tmp)
        theirs = peer(python, PEER_BOOKS.replace("REPS", str(reps)), paths)
        print("== Gutenberg stripping: ours (reader: decode + strip + rejoin) vs gutenberg.cleanup.strip_headers")
        print(f"{'book':<36} {'ours ms':>8} {'peer ms':>8} {'licence lines left: ours':>25} {'peer':>5}")
        tot_o = tot_p = 0.0
        for p in paths:
            data = open(p, "rb").read()
            t = time.perf_counter()
            for _ in range(reps):
                (doc,) = read_file(p, io.BytesIO(data), "books", BooksConfig())
            ours_s = (time.perf_counter() - t) / reps
            tot_o += ours_s
            tot_p += theirs[p]["s"]
            print(
                f"{os.path.basename(p):<36} {ours_s * 1000:>8.2f} {theirs[p]['s'] * 1000:>8.2f}"
                f" {licence_left(doc.text):>25} {licence_left(theirs[p]['text']):>5}"
            )
        print(
            f"total: ours {tot_o * 1000:.1f} ms, peer {tot_p * 1000:.1f} ms, ratio peer/ours {tot_p / tot_o:.2f}"
            f" (ours also rejoins paragraphs); peer peak RSS {theirs['_rss_mb']:.0f} MB"
        )


def bench_secrets(python: str) -> None:
    files = sorted(glob.glob(os.path.join(STDLIB, "*.py")) + glob.glob(os.path.join(STDLIB, "test", "test_*.py")))
    theirs = peer(python, PEER_SECRETS, files)
    t = time.perf_counter()
    kinds: dict = {}
    for f in files:
        try:
            text = open(f, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        _, counts = redact(text, "python")
        for k, n in counts.items():
            kinds[k] = kinds.get(k, 0) + n
    ours_s = time.perf_counter() - t
    print(f"\n== Secrets on {len(files)} standard-library files (top level + test/test_*.py)")
    print(f"ours: {len(files) / ours_s:.0f} files/s ({ours_s:.1f} s), findings {dict(sorted(kinds.items()))}")
    print(
        f"detect-secrets: {len(files) / theirs['s']:.0f} files/s ({theirs['s']:.1f} s), findings {dict(sorted(theirs['kinds'].items()))},"
        f" peak RSS {theirs['rss_mb']:.0f} MB"
    )
    print(
        f"speed ratio ours/peer {theirs['s'] / ours_s:.2f}; our peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    peer = require_peer_python()
    bench_books(peer, args.reps)
    bench_secrets(peer)


if __name__ == "__main__":
    main()
