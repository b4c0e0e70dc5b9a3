"""The pure JAX maths: implied coefficients, t*, censored (log-)likelihood.

The maths run in 64-bit floats inside ``jax.enable_x64`` (structest never switches x64 on
globally); the module's autouse fixture does the same for these direct calls."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from structest.codes import STRUCTURAL_PARAMS
from structest.data.synthetic import DEFAULTS
from structest.structural.likelihood import (
    EXACT,
    LEFT,
    NONE,
    RIGHT,
    cell_means,
    implied_coefficients,
    loglik,
    loglik_pointwise,
    t_logcdf,
    tstar,
    tstar_structural,
)

TRUE = {k: DEFAULTS[k] for k in STRUCTURAL_PARAMS}


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def sim_coefs(p: dict) -> dict[str, float]:
    """Eq. (11)/(14) written out by hand (pp), independently of structest.equations."""
    e, lam, et, lt = p["eps"], p["lambda_abs"], p["eps_tilde"], p["lambda_tilde"]
    fva = (1 - p["delta_star"]) * p["eps_r_home"]
    return {
        "intercept": 100 / e,
        "g_IP": 100 * p["delta"] / (e * lam),
        "g_FVA": -100 * fva / (e * lam),
        "g_DVA": -100 * (1 + p["delta_dstar"]) * p["eps_r_abroad"] / e,
        "g_IP_rta": 100 * p["delta"] / (et * lt),
        "g_FVA_rta": -100 * fva / (et * lt),
    }


def _arrays(n: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_ip": rng.normal(2, 1, n),
        "x_fva": rng.normal(0, 1, n),
        "x_dva": rng.normal(-2, 1, n),
        "rta": np.array([0, 1] * (n // 2), float),
        "tariff": np.array([3.0, 5, 0, 2, 7, 0, 1, 4])[:n],
        "mfn": np.array([6.0, 5, 8, 2, 9, 0, 4, 4])[:n],
        "lower": np.zeros(n),
        "kind": np.array([EXACT, RIGHT, LEFT, RIGHT, EXACT, NONE, EXACT, RIGHT])[:n],
        "idx_cell": np.array([0, 0, 1, 1, 2, 2, 0, 1])[:n],
    }


def test_implied_coefficients_match_the_equations() -> None:
    ours = implied_coefficients(TRUE)
    theirs = sim_coefs(DEFAULTS)
    for k, v in theirs.items():
        assert float(ours[k]) == pytest.approx(v, rel=1e-12), k


def test_tstar_regimes_and_effects() -> None:
    a = _arrays()
    params = {**TRUE, "fe_cell": np.array([1.0, -2.0, 0.5])}
    g = sim_coefs(DEFAULTS)
    out = np.asarray(tstar(params, a))
    fe = params["fe_cell"][a["idx_cell"]]
    outside = (
        g["intercept"] + g["g_IP"] * a["x_ip"] + g["g_FVA"] * a["x_fva"] + g["g_DVA"] * a["x_dva"]
    )
    inside = g["g_IP_rta"] * a["x_ip"] + g["g_FVA_rta"] * a["x_fva"]
    np.testing.assert_allclose(out, np.where(a["rta"] > 0, inside, outside) + fe, rtol=1e-12)
    # pooled model: no eps_tilde -> everyone outside
    pooled = {k: v for k, v in params.items() if k not in ("eps_tilde", "lambda_tilde")}
    np.testing.assert_allclose(np.asarray(tstar(pooled, a)), outside + fe, rtol=1e-12)


def test_pointwise_normal_matches_scipy() -> None:
    a = _arrays()
    params = {**TRUE, "fe_cell": np.array([1.0, -2.0, 0.5]), "sigma": 2.5}
    mu = np.asarray(tstar(params, a))
    s = 2.5
    expect = np.select(
        [a["kind"] == EXACT, a["kind"] == RIGHT, a["kind"] == LEFT],
        [
            stats.norm.logpdf(a["tariff"], mu, s),
            stats.norm.logsf(a["mfn"], mu, s),
            stats.norm.logcdf(0.0, mu, s),
        ],
        0.0,
    )
    got = np.asarray(loglik_pointwise(params, a))
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-12)
    assert float(loglik(params, a)) == pytest.approx(expect.sum(), rel=1e-12)


def test_pointwise_student_t_matches_scipy() -> None:
    a = _arrays()
    params = {**TRUE, "fe_cell": np.array([1.0, -2.0, 0.5]), "sigma": 2.5, "nu": 4.0}
    mu = np.asarray(tstar(params, a))
    d = stats.t(4.0, loc=mu, scale=2.5)
    expect = np.select(
        [a["kind"] == EXACT, a["kind"] == RIGHT, a["kind"] == LEFT],
        [d.logpdf(a["tariff"]), d.logsf(a["mfn"]), d.logcdf(0.0)],
        0.0,
    )
    np.testing.assert_allclose(np.asarray(loglik_pointwise(params, a)), expect, rtol=1e-8)


def test_t_logcdf_values_and_gradients() -> None:
    z = jnp.array([-30.0, -3.0, -0.5, 0.0, 0.7, 4.0])
    for nu in (1.5, 4.0, 30.0):
        np.testing.assert_allclose(
            np.asarray(t_logcdf(z, nu)), stats.t.logcdf(np.asarray(z), nu), rtol=1e-9
        )
    gz = jax.grad(lambda x: t_logcdf(x, 4.0))(-1.3)
    assert float(gz) == pytest.approx(
        np.exp(stats.t.logpdf(-1.3, 4) - stats.t.logcdf(-1.3, 4)), rel=1e-8
    )
    gn = jax.grad(lambda n: t_logcdf(-1.3, n))(4.0)
    fd = (stats.t.logcdf(-1.3, 4.0 + 1e-5) - stats.t.logcdf(-1.3, 4.0 - 1e-5)) / 2e-5
    assert float(gn) == pytest.approx(fd, rel=1e-5)


def test_jit_grad_finite_in_far_tails() -> None:
    a = _arrays()
    a["mfn"] = a["mfn"] + 200.0  # censored points far in the tail: log_ndtr stays finite
    params = {**TRUE, "fe_cell": jnp.array([1.0, -2.0, 0.5]), "sigma": 1.0}
    val, grad = jax.jit(jax.value_and_grad(lambda p: loglik(p, a)))(params)
    assert np.isfinite(float(val))
    assert all(np.all(np.isfinite(np.asarray(v))) for v in jax.tree.leaves(grad))
    assert jnp.asarray(val).dtype == jnp.float64


def _with_selections(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    kind = a["kind"]
    sel = {
        f"sel_{n}": np.flatnonzero(kind == k)
        for n, k in (("exact", EXACT), ("right", RIGHT), ("left", LEFT))
    }
    return {**a, **sel}


@pytest.mark.parametrize("errors", ["normal", "student_t"])
def test_loglik_fast_path_matches_pointwise_sum(errors) -> None:
    """The subset evaluation (sel_* arrays) gives the pointwise sum and its gradient."""
    a = _arrays()
    fast = _with_selections(a)
    params = {**TRUE, "fe_cell": np.array([1.0, -2.0, 0.5]), "sigma": 2.5}
    if errors == "student_t":
        params["nu"] = 4.0
    params = {k: jnp.asarray(v) for k, v in params.items()}
    want = float(np.sum(np.asarray(loglik_pointwise(params, a))))
    assert float(loglik(params, fast)) == pytest.approx(want, rel=1e-12)
    g_slow = jax.grad(lambda p: jnp.sum(loglik_pointwise(p, a)))(params)
    g_fast = jax.grad(lambda p: loglik(p, fast))(params)
    for k in params:
        np.testing.assert_allclose(
            np.asarray(g_fast[k]), np.asarray(g_slow[k]), rtol=1e-9, atol=1e-12
        )


def test_cell_means_and_structural_part() -> None:
    a = _arrays()
    vals = np.arange(8.0) ** 2
    got = np.asarray(cell_means(jnp.asarray(vals), a["idx_cell"], 3))
    want = [vals[a["idx_cell"] == c].mean() for c in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    params = {**TRUE, "fe_cell": np.array([1.0, -2.0, 0.5])}
    fe = params["fe_cell"][a["idx_cell"]]
    np.testing.assert_allclose(
        np.asarray(tstar_structural(params, a)) + fe, np.asarray(tstar(params, a)), rtol=1e-14
    )
