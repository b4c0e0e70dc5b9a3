"""Every value structest reads from a pyfixest fit goes through ``structest.reduced._pyfixest``;
each read is checked here against pyfixest's public methods or an independent numpy
computation, so a change of pyfixest's internals fails here, by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from structest.reduced import _pyfixest as pfx
from structest.reduced import fit_reduced_form


def _world(seed: int = 3, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fe = rng.integers(0, 12, n)
    cl = rng.integers(0, 30, n)
    a = rng.normal(size=12)[fe]
    z = rng.normal(size=n) + 0.5 * a
    u = rng.normal(size=n)
    x = 0.7 * z + a + 0.6 * u + rng.normal(size=n)
    w = rng.normal(size=n)
    y = 1.5 * x - 0.5 * w + a + u * (1 + 0.4 * np.abs(z))
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "w": w,
            "w2": 2.0 * w,  # collinear with w
            "z": z,
            "fe": [f"f{k}" for k in fe],
            "cl": [f"c{k}" for k in cl],
        }
    )


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return _world()


@pytest.fixture(scope="module")
def ols(world):
    pf = pfx.import_pyfixest()
    return pf.feols("y ~ x + w | fe", data=world, vcov={"CRV1": "cl"})


def test_names_coef_and_nobs(ols, world):
    assert pfx.coef_names(ols) == ["x", "w"]
    np.testing.assert_array_equal(pfx.coef(ols), ols.coef().to_numpy())
    assert pfx.nobs(ols) == len(world)


def test_vcov_is_the_one_behind_the_public_se(ols):
    np.testing.assert_allclose(np.sqrt(np.diag(pfx.vcov(ols))), ols.se().to_numpy(), rtol=1e-12)
    V = pfx.vcov(ols)
    np.testing.assert_allclose(V, V.T, rtol=1e-12)


def test_n_clusters(ols, world):
    assert pfx.n_clusters(ols) == world["cl"].nunique() == 30


def test_demeaned_design_reproduces_the_fit(ols, world):
    """Frisch-Waugh-Lovell: OLS on the demeaned data gives the coefficients and residuals."""
    y, X = pfx.demeaned(ols)
    assert X.shape == (len(world), 2)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(b, pfx.coef(ols), rtol=1e-8)
    np.testing.assert_allclose(y - X @ b, pfx.residuals(ols), atol=1e-8)
    # demeaned within the effect: every column sums to zero in each cell
    sums = pd.DataFrame(np.column_stack([y, X])).groupby(world["fe"].to_numpy()).sum()
    assert np.abs(sums.to_numpy()).max() < 1e-8


def test_r2_against_numpy(ols, world):
    u = pfx.residuals(ols)
    y = world["y"].to_numpy()
    yd, _ = pfx.demeaned(ols)
    r2, r2w = pfx.r2(ols)
    np.testing.assert_allclose(r2, 1 - u @ u / ((y - y.mean()) ** 2).sum(), rtol=1e-10)
    np.testing.assert_allclose(r2w, 1 - u @ u / (yd @ yd), rtol=1e-10)


def test_dropped_collinear(world):
    pf = pfx.import_pyfixest()
    fit = pf.feols("y ~ x + w + w2 | fe", data=world, vcov={"CRV1": "cl"})
    assert pfx.dropped_collinear(fit) == ["w2"]
    assert "w2" not in pfx.coef_names(fit)


def test_wald_is_the_public_wald_test_quadratic_form(ols):
    b, V = pfx.coef(ols), pfx.vcov(ols)
    # one coefficient: the squared t statistic of the public coef()/se()
    t = (ols.coef() / ols.se())["x"]
    np.testing.assert_allclose(pfx.wald(ols, ["x"]), t**2, rtol=1e-10)
    # two: b' V^-1 b
    np.testing.assert_allclose(pfx.wald(ols, ["x", "w"]), b @ np.linalg.solve(V, b), rtol=1e-10)


def test_first_stage_f_and_effective_f(world):
    """With one instrument the cluster-robust first-stage F (from ``wald_test``) is the squared
    t of the instrument in the first stage, and pyfixest's effective F (Olea-Pflueger) is a
    positive number of the same order."""
    res = fit_reduced_form(world, "y ~ w | fe | x ~ z", estimator="iv", cluster="cl")
    fs = res.first_stage["x"]
    first = fit_reduced_form(world, "x ~ w + z | fe", cluster="cl")  # same SE convention
    t = (first.params / first.se)["z"]
    np.testing.assert_allclose(fs["F_cluster"], t**2, rtol=1e-8)
    assert fs["effective_F"] > 0 and 0.2 < fs["effective_F"] / fs["F_cluster"] < 5
