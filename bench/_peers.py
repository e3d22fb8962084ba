"""The peers' interpreter for every benchmark, from one variable: ``CURATE_PEER_PYTHON``,
the ``bin/python`` of the venv ``bash bench/setup_peers.sh VENV`` builds (datatrove and
the other peers live apart from curate's venv: their dependencies conflict with ours).
No default path: a benchmark that compares with a peer says how to set it up instead.
"""

from __future__ import annotations

import os
import sys

VARIABLE = "CURATE_PEER_PYTHON"
HOW = f"bash bench/setup_peers.sh VENV, then export {VARIABLE}=VENV/bin/python"


def peer_python() -> str | None:
    """The peers' interpreter, or None when the variable is unset or names no file."""
    path = os.environ.get(VARIABLE, "")
    return path if path and os.path.exists(path) else None


def require_peer_python() -> str:
    """The peers' interpreter, or exit with one line saying how to set it up."""
    path = peer_python()
    if path is None:
        got = os.environ.get(VARIABLE)
        why = f"{VARIABLE}={got} is not a file" if got else f"{VARIABLE} is not set"
        sys.exit(f"the peers' interpreter is needed: {why} ({HOW})")
    return path
