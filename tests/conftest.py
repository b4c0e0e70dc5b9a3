"""Shared fixtures. Raw-data tests skip when ../shared/data/raw is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import structest

# An explicit global setting, as a script would make it: one XLA CPU device per core, so
# that NUTS chains run in parallel (importing structest alone changes nothing).
structest.set_host_devices(strict=False)

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
