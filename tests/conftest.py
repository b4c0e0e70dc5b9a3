"""Shared fixtures. Raw-data tests skip when ../shared/data/raw is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
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


def idata_at(
    panel: Any, draws: list[dict[str, float]], model: str = "bbj", fe_seed: int = 0
) -> Any:
    """A posterior (1 chain) whose draws sit at the given structural parameters.

    Layout as :func:`structest.fit` produces it (same variable names, dims and attrs);
    effects are random but fixed (they cancel in changes of t*).
    """
    from structest.equations import implied_coefficients
    from structest.structural import StructuralFit
    from structest.structural.design import build_design
    from structest.structural.io import assemble_idata
    from structest.structural.program import Layout, site_table
    from structest.structural.spec import load_model

    spec = load_model(model)
    design = build_design(panel, spec)
    rng = np.random.default_rng(fe_seed)
    n = len(draws)
    samples: dict[str, np.ndarray] = {p: np.array([[d[p] for d in draws]]) for p in spec.structural}
    samples["sigma"] = np.array([[d.get("sigma", 2.0) for d in draws]])
    samples["mu"] = np.full((1, n), 8.0)
    for k, e in enumerate(spec.effects):
        size = len(design.levels[e])
        samples[f"tau_{e}"] = np.full((1, n), 3.0)
        fe = (8.0 if k == 0 else 0.0) + 3.0 * rng.standard_normal(size)
        samples[f"fe_{e}"] = np.broadcast_to(fe, (1, n, size)).copy()
    coefs = [implied_coefficients(d) for d in draws]
    for name in coefs[0]:
        samples[name] = np.array([[c[name] for c in coefs]])
    stats = {"diverging": np.zeros((1, n), dtype=bool)}
    sites = site_table(spec, Layout.of(design), design.arrays)
    ll = np.zeros((1, n, design.n))  # not used by counterfactuals
    idata = assemble_idata(
        samples, stats, {}, ll, None, spec, sites, design, panel, {"backend": "by-hand"}
    )
    return StructuralFit(idata=idata, spec=spec, panel=panel, design=design)


def _at_truth(panel: Any, truth: dict[str, Any], n_draws: int = 2) -> Any:
    from structest.codes import STRUCTURAL_PARAMS

    return idata_at(panel, [{k: float(truth[k]) for k in STRUCTURAL_PARAMS}] * n_draws)


@pytest.fixture(scope="session")
def fit_at_truth():
    """``fit_at_truth(panel, truth, n_draws=2)``: a 1-chain fit of ``bbj`` whose draws sit at
    the true parameters (built without sampling, for tests that need a posterior fast)."""
    return _at_truth


#: the headless browser of the HTML render tests (Debian's ``chromium``), or None
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def run_chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run headless Chromium once with a throw-away profile (no network, no first-run UI)."""
    profile = tempfile.mkdtemp()
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def assert_frames_match(new: Any, old: Any, rtol: float = 1e-9) -> None:
    """Two rebuilt data frames agree: same columns and rows, floats to ``rtol``, rest exactly.

    Floats are compared with a tolerance because sums of the raw data differ in the last
    digits between machines (vectorised summation order), so a byte-for-byte comparison
    of a rebuilt CSV fails on a machine other than the one that wrote it.
    """
    import pandas as pd

    assert list(new.columns) == list(old.columns)
    assert len(new) == len(old)
    for col in new.columns:
        if pd.api.types.is_float_dtype(new[col]) or pd.api.types.is_float_dtype(old[col]):
            np.testing.assert_allclose(new[col], old[col], rtol=rtol, atol=rtol, err_msg=col)
        else:
            assert (new[col].astype(str) == old[col].astype(str)).all(), col
