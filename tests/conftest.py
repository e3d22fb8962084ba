"""Shared test helpers: where the real sample data lives, and a skip when it is absent."""

from __future__ import annotations

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> pathlib.Path:
    """A path under ../shared/data; skips the calling test with a reason when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample data not found at {path} (../shared/data is absent on this machine)")
    return path


@pytest.fixture
def shared_data():
    return shared_path
