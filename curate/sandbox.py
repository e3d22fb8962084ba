"""Run a function in a child process, with a time limit per call and a memory limit.

For work on untrusted input that can run away: extraction of a pathological HTML page
(a parser that takes minutes, or gigabytes, on one record). A thread cannot be stopped
and a signal only reaches the main thread, so the work runs in a child process that
is killed when a call takes longer than ``timeout`` seconds and replaced for the next
call. The child's address space is capped at ``max_memory_mb`` (``RLIMIT_AS``), so a
record that would need more fails there with a MemoryError instead of taking the
worker's memory.

The child is a new interpreter (``python -m curate.sandbox``) talking over two pipes:
nothing of the parent is forked (Beam's threads) or re-imported (its main script).
It starts when the first call comes (about a second: Python and the target's imports).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any, Optional


class CallTimeout(Exception):
    """The call took longer than the time limit; the child was killed."""


class ChildFailed(Exception):
    """The call failed in the child (an exception, memory exhausted, or the child died)."""


def _resolve(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _serve(inbox: Connection, outbox: Connection, target: str, max_memory_mb: Optional[int]) -> None:
    fn = _resolve(target)
    if max_memory_mb:
        import resource

        limit = max_memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            args, kwargs = inbox.recv()
        except (EOFError, OSError):
            return
        try:
            result = (True, fn(*args, **kwargs))
        except MemoryError:
            outbox.send((False, f"out of memory (the limit is {max_memory_mb} MB)"))
            os._exit(1)  # the heap may be in a bad state: the parent starts a new child
        except Exception as e:  # noqa: BLE001 - reported to the caller, as text
            result = (False, f"{type(e).__name__}: {e}")
        outbox.send(result)


class Sandbox:
    """``call(*args, **kwargs)`` runs ``target`` (``"module:function"``) in a child process."""

    def __init__(self, target: str, timeout: float, max_memory_mb: Optional[int] = None):
        self.target = target
        self.timeout = timeout
        self.max_memory_mb = max_memory_mb
        self._proc: Optional[subprocess.Popen] = None
        # the pipe's two Connections while the child runs
        self._send: Any = None
        self._recv: Any = None

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        argv = [
            sys.executable,
            "-m",
            "curate.sandbox",
            str(to_child_r),
            str(from_child_w),
            self.target,
            str(self.max_memory_mb or 0),
        ]
        self._proc = subprocess.Popen(argv, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._send, self._recv = Connection(to_child_w, readable=False), Connection(from_child_r, writable=False)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._send.close()
            self._recv.close()
        self._proc = self._send = self._recv = None

    def call(self, *args, **kwargs) -> Any:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            self._start()
        try:
            self._send.send((args, kwargs))
            if not self._recv.poll(self.timeout):
                self.close()
                raise CallTimeout(f"stopped after {self.timeout:g} s")
            ok, value = self._recv.recv()
        except (EOFError, OSError):
            self.close()
            raise ChildFailed("the child process died (out of memory or crashed)") from None
        if not ok:
            if value.startswith("out of memory"):
                self.close()
            raise ChildFailed(value)
        return value

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __getstate__(self):  # a live child is not pickled (Beam pickles stages): a copy starts its own
        return {**self.__dict__, "_proc": None, "_send": None, "_recv": None}


if __name__ == "__main__":
    _inbox, _outbox = Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    _serve(_inbox, _outbox, sys.argv[3], int(sys.argv[4]) or None)
