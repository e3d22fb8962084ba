"""Peak memory of whole runs on bad inputs: a 50 MB JSONL line, gzip bombs for every
reader that takes gzip, and a 50 MB HTML page through extraction.

    python bench/bench_bad_inputs.py [--cases line50mb,page50mb,...] [--code DIR] [--bomb-mb 1024]

Each case is one ``curate run`` (FnApiRunner, the given SentencePiece tokenizer) in its
own process; its peak memory is the largest sum of VmRSS over the process and all its
descendants (the extraction sandbox included), sampled every 20 ms from /proc
(ru_maxrss would miss the children's sum). Prints, per case: exit code, peak MB, wall
seconds, and what the manifest says happened to the bad record (drops and errors).

``--code DIR`` runs another checkout's code on the same inputs (e.g. a worktree of an
older commit, for before/after figures). Inputs are generated in a temporary folder
and removed afterwards; nothing from ../shared/data is needed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MB = 1 << 20
SENTENCE = "The harbour wall was rebuilt after the storm, and the fishing fleet came back within a year. "


# ----------------------------------------------------------------------------- inputs


def _bomb(path: str, prefix: bytes, fill: bytes, size: int, suffix: bytes = b"", tail: bytes = b"") -> None:
    """One gzip member expanding to prefix + size bytes of fill + suffix (then ``tail``,
    already compressed), written in blocks."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (fill * (MB // len(fill) + 1))[:MB]
    with open(path, "wb") as f:
        f.write(z.compress(prefix))
        for _ in range(size // MB):
            f.write(z.compress(block))
        f.write(z.compress(suffix) + z.flush() + tail)


def _warc(rec_type: str, block: bytes, **headers) -> bytes:
    lines = ["WARC/1.0", f"WARC-Type: {rec_type}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines + [f"Content-Length: {len(block)}"]) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


HTTP = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
GOOD_PAGE = ("<html><body><article>" + f"<p>{SENTENCE * 4}</p>" * 10 + "</article></body></html>").encode()


def _good_warc_record(n: int) -> bytes:
    return _warc(
        "response",
        HTTP + GOOD_PAGE,
        WARC_Target_URI=f"http://good/{n}",
        WARC_Record_ID=f"<urn:uuid:g{n}>",
        Content_Type="application/http; msgtype=response",
    )


def make_case(name: str, d: str, bomb: int, code: str = REPO) -> tuple[dict, dict]:
    """(input config, stages and options) for one case; writes its files under ``d``."""

    def p(f):
        return os.path.join(d, f)

    good_lines = "".join(json.dumps({"text": SENTENCE * 3, "id": f"g{i}"}) + "\n" for i in range(20))
    if name == "line50mb":
        with open(p("line.jsonl"), "w") as f:
            f.write(good_lines + json.dumps({"text": SENTENCE * (50 * MB // len(SENTENCE)), "id": "huge"}) + "\n")
        return {"kind": "jsonl", "paths": [p("line.jsonl")]}, {}
    if name == "jsonl_bomb":
        _bomb(p("b.jsonl.gz"), b'{"text": "', b"a", bomb, b'"}\n', gzip.compress(good_lines.encode()))
        return {"kind": "jsonl", "paths": [p("b.jsonl.gz")]}, {}
    if name == "messages_bomb":

        def msg(i):
            return json.dumps(
                {
                    "message_id": f"m{i}",
                    "parent_id": None if i == 0 else "m0",
                    "role": "user" if i == 0 else "assistant",
                    "text": SENTENCE,
                    "message_tree_id": "t",
                }
            )

        _bomb(
            p("b.jsonl.gz"), b'{"text": "', b"a", bomb, b'"}\n', gzip.compress((msg(0) + "\n" + msg(1) + "\n").encode())
        )
        return {"kind": "messages", "paths": [p("b.jsonl.gz")]}, {}
    if name == "warc_bomb":
        head = _warc(
            "response",
            b"",
            WARC_Target_URI="http://bomb/",
            WARC_Record_ID="<urn:uuid:b>",
            Content_Type="application/http; msgtype=response",
        )
        head = head.replace(b"Content-Length: 0", f"Content-Length: {len(HTTP) + bomb}".encode())[:-4]
        _bomb(p("b.warc.gz"), head + HTTP, b"<p>", bomb, b"\r\n\r\n", gzip.compress(_good_warc_record(1)))
        return {"kind": "warc", "paths": [p("b.warc.gz")]}, {"extract": {}}
    if name == "arc_bomb":
        head = f"http://bomb/ 1.2.3.4 20090101000000 text/html {len(HTTP) + bomb}\n".encode() + HTTP
        good = (
            f"http://good/ 1.2.3.4 20090101000001 text/html {len(HTTP) + len(GOOD_PAGE)}\n".encode()
            + HTTP
            + GOOD_PAGE
            + b"\n"
        )
        _bomb(p("b.arc.gz"), head, b"<p>", bomb, b"\n", gzip.compress(good))
        return {"kind": "arc", "paths": [p("b.arc.gz")]}, {"extract": {}}
    if name == "wet_bomb":
        head = _warc(
            "conversion", b"", WARC_Target_URI="http://bomb/", WARC_Record_ID="<urn:uuid:b>", Content_Type="text/plain"
        )
        head = head.replace(b"Content-Length: 0", f"Content-Length: {bomb}".encode())[:-4]
        good = _warc(
            "conversion",
            (SENTENCE * 5).encode(),
            WARC_Target_URI="http://good/",
            WARC_Record_ID="<urn:uuid:g>",
            Content_Type="text/plain",
        )
        _bomb(p("b.wet.gz"), head, b"a ", bomb, b"\r\n\r\n", gzip.compress(good))
        return {"kind": "wet", "paths": [p("b.wet.gz")]}, {}
    if name == "books_bomb":
        _bomb(p("b.txt.gz"), b"", (SENTENCE + "\n").encode(), bomb)
        return {"kind": "books", "paths": [p("b.txt.gz")]}, {}
    if name == "page50mb":
        para = f"<p>{SENTENCE * 3}</p>\n".encode()
        page = b"<html><body><article>" + para * (50 * MB // len(para)) + b"</article></body></html>"
        rec = _warc(
            "response",
            HTTP + page,
            WARC_Target_URI="http://huge-page/",
            WARC_Record_ID="<urn:uuid:h>",
            Content_Type="application/http; msgtype=response",
        )
        with open(p("page.warc.gz"), "wb") as f:
            f.write(gzip.compress(rec, 1) + gzip.compress(_good_warc_record(1)))
        # the reader's own limit (5 MB) would drop it before extraction: raised, so the
        # page reaches the extract stage, with its own size limit off
        with open(os.path.join(code, "curate", "extract.py")) as f:
            has_limit = "max_html_chars" in f.read()  # older code (--code) has no such option
        return (
            {"kind": "warc", "paths": [p("page.warc.gz")], "options": {"max_body_bytes": 100_000_000}},
            {"extract": {"max_html_chars": None} if has_limit else {}},
        )
    raise SystemExit(f"unknown case {name}")


CASES = ["line50mb", "jsonl_bomb", "messages_bomb", "warc_bomb", "arc_bomb", "wet_bomb", "books_bomb", "page50mb"]


# ----------------------------------------------------------------------------- measuring


def _tree_rss(pid: int) -> int:
    """Sum of VmRSS (bytes) of ``pid`` and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_case(name: str, code: str, work: str, bomb: int, timeout: float) -> dict:
    d = os.path.join(work, name)
    os.makedirs(d)
    inp, stages = make_case(name, d, bomb, code)
    cfg = {
        "inputs": [inp],
        "stages": [{k: v} for k, v in stages.items()],
        "tokenizer": {"model": os.path.join(REPO, "curate/models/mistral-tokenizer.model.v1")},
        "output": {"num_shards": 1},
    }
    with open(os.path.join(d, "config.yaml"), "w") as f:
        yaml.safe_dump(cfg, f)
    out = os.path.join(d, "out")
    argv = [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {code!r}); from pipelines.cli import main; sys.exit(main())",
        "run",
        os.path.join(d, "config.yaml"),
        "--output",
        out,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            break
        time.sleep(0.02)
    log = proc.communicate()[0]
    result = {"case": name, "exit": proc.returncode, "peak_mb": peak / MB, "seconds": time.perf_counter() - t0}
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            counts = json.load(f)["counts"]
        result["what"] = {
            "in": counts["input"],
            "kept": counts["kept"],
            "errors": counts["errors"],
            **{k: v for k, v in counts["dropped"].items() if "too_large" in k or "too_long" in k},
        }
        errs = os.path.join(out, "errors", "errors-00000-of-00001.jsonl")
        if os.path.exists(errs):
            result["error_text"] = [json.loads(x)["message"][:150] for x in open(errs)][:2]
    except (OSError, KeyError, ValueError):
        result["what"] = log.strip().splitlines()[-3:] if log.strip() else "(no output)"
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--code", default=REPO, help="checkout whose code runs (default: this one)")
    ap.add_argument("--bomb-mb", type=int, default=1024, help="what each gzip bomb expands to")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    print(f"code: {args.code}; gzip bombs expand to {args.bomb_mb} MB")
    with tempfile.TemporaryDirectory() as work:
        for name in args.cases.split(","):
            r = run_case(name, os.path.abspath(args.code), work, args.bomb_mb * MB, args.timeout)
            print(
                f"{r['case']:14} exit {r['exit']:>3}  peak {r['peak_mb']:7.0f} MB  {r['seconds']:6.1f} s  {r['what']}"
            )
            for e in r.get("error_text", []):
                print(f"{'':14} error: {e}")


if __name__ == "__main__":
    main()
