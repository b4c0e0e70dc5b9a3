"""Shared fixtures. Raw-data tests skip when ../shared/data/raw is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import structest  # noqa: F401  (first: exposes one XLA CPU device per core before JAX loads)

RAW = Path(
    os.environ.get(
        "STRUCTEST_RAW", Path(__file__).resolve().parents[1].parent / "shared" / "data" / "raw"
    )
)


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    if not (RAW / "wiod2013").is_dir():
        pytest.skip(f"raw data not available at {RAW}")
    pytest.importorskip("rdata")
    return RAW


@pytest.fixture(scope="session")
def real_panel():
    return structest.load_panel()


@pytest.fixture(scope="session")
def sim():
    return structest.simulate(seed=0)
