"""Run a command and sample the resident memory of its whole process tree (the command
and every process it starts: Beam's or datatrove's worker processes) every 20 ms from /proc."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time

PACKAGES = ("curate", "pipelines", "classifiers")


def tree_rss_mb(root_pid: int) -> tuple[float, int]:
    """Summed RSS (MB) of ``root_pid`` and its descendants, and their number."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * page
    todo, total, n = [root_pid], 0, 0
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        n += pid in rss
        todo.extend(children.get(pid, []))
    return total / 2**20, n


def run_sampled(cmd: list[str], **popen) -> dict:
    """Run ``cmd``; return its output, wall time, CPU time (user + system of the command
    and every process it waited for: steadier than wall time on a shared machine, where
    another job's load stretches wall time but not the CPU a run uses), peak summed RSS
    and most processes seen. Raises SystemExit with the output's tail if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    peak, procs = 0.0, 0
    done = threading.Event()

    def sample():
        nonlocal peak, procs
        while not done.is_set():
            mb, n = tree_rss_mb(proc.pid)
            peak, procs = max(peak, mb), max(procs, n)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = proc.communicate()[0]
    wall = time.time() - start
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{output[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"output": output, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak, "processes": procs}


def byte_compile(tree: str) -> None:
    """Compile the sources of curate's packages in ``tree`` (a checkout or a ``git
    archive`` of one) to bytecode, as ``pip install`` does for an installed package and
    as a first run does in an ordinary shell. Why: the peers are installed by pip, with
    their bytecode; an editable install run with ``PYTHONDONTWRITEBYTECODE`` set (as in
    some shells and CI images) compiled curate's modules again at every start,
    ~0.9 s a run that a user does not pay (a 20-document run: 3.15 s without the
    bytecode, 2.2-2.4 s with it; docs/dedup-minhash.md)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    dirs = [os.path.join(tree, p) for p in PACKAGES if os.path.isdir(os.path.join(tree, p))]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True, env=env, stdout=subprocess.DEVNULL)
