"""structest.special.log_ndtr against SciPy's log of the normal CDF (an independent
implementation), value and derivative, over the whole range a censored likelihood meets."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp

from structest.special import ASYMPTOTIC_BELOW, log_ndtr

GRID = np.unique(
    np.concatenate(
        [
            -np.logspace(-4, 4, 3000),  # down to z = -10,000
            np.linspace(-60.0, 40.0, 20001),
            np.logspace(-4, 1.6, 500),
            [ASYMPTOTIC_BELOW, np.nextafter(ASYMPTOTIC_BELOW, 0.0), 0.0, -0.0],
        ]
    )
)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def test_value_matches_scipy_everywhere():
    got = np.asarray(log_ndtr(jnp.asarray(GRID)))
    want = sp.log_ndtr(GRID)
    assert np.all(np.isfinite(got))
    # relative accuracy near machine precision where log Phi is not tiny; where it is
    # (z > 8, log Phi below 1e-15), absolute accuracy far below any likelihood's
    big = np.abs(want) > 1e-15
    rel = np.abs(got - want)[big] / np.abs(want)[big]
    assert rel.max() < 1e-13
    assert np.abs(got - want)[~big].max() < 1e-20


def test_derivative_is_the_inverse_mills_ratio():
    grad = np.asarray(jax.vmap(jax.grad(log_ndtr))(jnp.asarray(GRID)))
    logphi = -0.5 * GRID * GRID - 0.5 * np.log(2.0 * np.pi)
    # phi(z) / Phi(z): for z < 0 through SciPy's scaled erfc (Phi = erfcx(-z/sqrt 2)
    # exp(-z^2/2) / 2, no cancellation), else from SciPy's log_ndtr
    left = np.sqrt(2.0 / np.pi) / sp.erfcx(-np.minimum(GRID, 0.0) / np.sqrt(2.0))
    want = np.where(GRID < 0, left, np.exp(logphi - sp.log_ndtr(GRID)))
    assert np.all(np.isfinite(grad))
    ok = want > 1e-290
    assert np.max(np.abs(grad - want)[ok] / want[ok]) < 1e-12
    assert np.max(np.abs(grad[~ok])) < 1e-280
    # far left the ratio tends to -z (Mills): the series branch keeps it
    assert grad[0] == pytest.approx(-GRID[0], rel=1e-6)


def test_second_derivative_by_finite_differences():
    z = jnp.asarray([-45.0, -31.0, -29.0, -5.0, -0.3, 0.0, 0.7, 6.0])
    d1 = jax.grad(log_ndtr)
    d2 = np.asarray(jax.vmap(jax.grad(d1))(z))
    h = 1e-5
    fd = (np.asarray(jax.vmap(d1)(z + h)) - np.asarray(jax.vmap(d1)(z - h))) / (2 * h)
    np.testing.assert_allclose(d2, fd, rtol=1e-5, atol=1e-9)


def test_dtypes_and_shapes():
    assert log_ndtr(jnp.float32(-3.0)).dtype == jnp.float32
    ints = np.asarray(log_ndtr(jnp.arange(3)))
    np.testing.assert_allclose(ints, sp.log_ndtr(np.arange(3.0)), rtol=1e-14)
    m = np.linspace(-40, 10, 12).reshape(3, 4)
    np.testing.assert_allclose(np.asarray(log_ndtr(jnp.asarray(m))), sp.log_ndtr(m), rtol=1e-13)
    # under jit and vmap as the likelihood uses it
    f = jax.jit(jax.vmap(jax.value_and_grad(lambda x: log_ndtr(x))))
    v, g = f(jnp.asarray([-2.0, 2.0]))
    np.testing.assert_allclose(np.asarray(v), sp.log_ndtr([-2.0, 2.0]), rtol=1e-14)
