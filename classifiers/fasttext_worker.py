"""Runs one fastText training in a child process with every allocation zeroed.

Why a child process: with one thread, fastText initialises only the first tenth of
the input matrix's rows (``DenseMatrix::uniform`` fills blocks 0..thread-1 of ten) and
relies on the rest being zero, which holds only for memory fresh from the kernel. In a
process that has already freed large blocks, glibc hands back old memory and training
diverges ("Encountered NaN") or silently yields a different model. Measured here: four
identical calls in one process gave max |w| = 0.83, 0.83, 0.83, 2e33. A fresh process
started with ``MALLOC_PERTURB_`` (glibc zero-fills every allocation) and the per-thread
cache off gives the same model every time, and a fastText crash cannot take the caller
down with it.

Protocol: ``python -m classifiers.fasttext_worker JOB.json``; exit 0 after saving the
model, exit 2 with the error message as the last stderr line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

# MALLOC_PERTURB_=255 makes glibc fill each allocation with ~255 = 0x00 bytes; the
# tcache fast path skips that fill, so the tcache is turned off too.
ZEROED_MALLOC_ENV = {
    "MALLOC_PERTURB_": "255",
    "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
}


def run_job(train_path: str, model_path: str, params: dict, quantize: bool) -> None:
    """Train in a child process; raise RuntimeError with fastText's message on failure."""
    job = {"input": train_path, "output": model_path, "params": params, "quantize": quantize}
    job_path = model_path + ".job.json"
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, **ZEROED_MALLOC_ENV)
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "classifiers.fasttext_worker", job_path],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(job_path)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        if proc.returncode < 0:
            raise RuntimeError(f"fastText crashed (signal {-proc.returncode})")
        raise RuntimeError(lines[-1] if lines else f"exit status {proc.returncode}")


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as f:
        job = json.load(f)
    import fasttext

    try:
        model = fasttext.train_supervised(input=job["input"], verbose=0, **job["params"])
        if job["quantize"]:
            model.quantize(input=job["input"], retrain=False, thread=job["params"]["thread"], verbose=0)
        model.save_model(job["output"])
    except (RuntimeError, ValueError) as e:
        print(str(e).replace("\n", " "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
