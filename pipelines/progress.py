"""Progress lines on stderr during local runs, at most one every ``CURATE_PROGRESS_EVERY``
seconds per worker process:

    curate: progress [pid 4242] 20 s: 12,345 records read, 6,789 kept so far, 3.1 MB/s input

"Kept so far" is records read minus the documents dropped and the errors counted so far
in this process. ``curate run`` sets the variable (10 s) for in-process runners unless
``--quiet``; worker processes inherit it. It is unset on Dataflow, where the logs stay
the runner's own, and in tests.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

ENV = "CURATE_PROGRESS_EVERY"


class Progress:
    def __init__(self, every: float, stream=None):
        self.every = every
        self.stream = stream
        self.start = self.last = time.monotonic()
        self.read = self.removed = 0
        self.bytes_done = 0
        self.files: dict = {}  # open input file -> the offset its reading started at
        self.lock = threading.Lock()

    def tick(self, read: int = 0, removed: int = 0) -> None:
        with self.lock:
            self.read += read
            self.removed += removed
            now = time.monotonic()
            if now - self.last < self.every:
                return
            self.last = now
            line = self.line(now)
        print(line, file=self.stream or sys.stderr, flush=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.input_bytes() / elapsed / 1e6
        return (
            f"curate: progress [pid {os.getpid()}] {elapsed:.0f} s: {self.read:,} records read, "
            f"{self.read - self.removed:,} kept so far, {rate:.1f} MB/s input"
        )

    def input_bytes(self) -> int:
        """Bytes of input consumed: the files finished, and the position in the open ones."""
        total = self.bytes_done
        for f, start in list(self.files.items()):
            total += max(_position(f) - start, 0)
        return total

    def opened(self, f, start: int = 0) -> None:
        with self.lock:
            self.files[f] = start

    def closed(self, f) -> None:
        with self.lock:
            start = self.files.pop(f, None)
            if start is not None:
                self.bytes_done += max(_position(f) - start, 0)


def _position(f) -> int:
    try:
        return f.tell()
    except (OSError, ValueError):  # closed or not seekable
        return 0


_progress: Progress | None = None
_checked = False


def current() -> Progress | None:
    """This process's reporter, or None when progress is off."""
    global _progress, _checked
    if not _checked:
        _checked = True
        every = os.environ.get(ENV)
        if every:
            _progress = Progress(float(every))
    return _progress


def tick(read: int = 0, removed: int = 0) -> None:
    p = current()
    if p is not None:
        p.tick(read, removed)


@contextlib.contextmanager
def watch(f, start: int = 0):
    """Count the bytes read from the input file ``f`` (from offset ``start``) while open."""
    p = current()
    if p is None:
        yield f
        return
    p.opened(f, start)
    try:
        yield f
    finally:
        p.closed(f)
