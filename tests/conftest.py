"""Shared test helpers: where the real sample data lives, and a skip when it is absent."""

from __future__ import annotations

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
# More real files (ARC and WARC test files of web-archiving projects, see its README.md), kept
# outside the repository like ../shared/data: CURATE_EXTRA_DATA, else ../extra-data
# beside the checkout (or beside the helpers' worktrees).
EXTRA_DATA = next(
    (
        p
        for p in [
            pathlib.Path(os.environ.get("CURATE_EXTRA_DATA", REPO.parent / "extra-data")),
            REPO.parent / "wt" / "extra-data",
        ]
        if p.exists()
    ),
    REPO.parent / "extra-data",
)


def _existing(path: pathlib.Path, what: str) -> pathlib.Path:
    if not path.exists():
        pytest.skip(f"{what} not found at {path}")
    return path


def shared_path(*parts: str) -> pathlib.Path:
    """A path under ../shared/data; skips the calling test with a reason when absent."""
    return _existing(SHARED_DATA.joinpath(*parts), "real sample data (../shared/data is absent on this machine)")


def extra_path(*parts: str) -> pathlib.Path:
    """A path under the extra real data (CURATE_EXTRA_DATA); skips with a reason when absent."""
    return _existing(EXTRA_DATA.joinpath(*parts), "extra real data (set CURATE_EXTRA_DATA)")


@pytest.fixture
def shared_data():
    return shared_path
