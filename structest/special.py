"""``log_ndtr`` for JAX: the log of the standard normal CDF, about twice as fast as
:func:`jax.scipy.special.log_ndtr` with its gradient.

The censored terms of every likelihood in structest are ``log Phi(z)``; JAX's version
evaluates ``Phi(z)``, ``Phi(-z)`` and an asymptotic series for every element and selects
one, and differentiates through all of them. Here one ``erfc`` of ``|z|`` gives both tails,
the series takes over below :data:`ASYMPTOTIC_BELOW`, and the derivative (a custom JVP) is
the inverse Mills ratio written from the value, or the series' own derivative far left, so a fit's gradient spends a third less
time on it. ``tests/test_special.py`` checks it against :func:`scipy.special.log_ndtr`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import erfc

#: below this z the asymptotic series (terms to z^-10) replaces ``log(erfc)``: its
#: truncation error there is below 3e-14, and ``erfc`` is still far from underflow (it
#: underflows near z = -37.5)
ASYMPTOTIC_BELOW = -30.0

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _tail(r: Any) -> Any:
    """``-r + 3r^2 - 15r^3 + 105r^4 - 945r^5`` (``r = 1/z^2``) and its derivative in ``r``."""
    tail = r * (-1.0 + r * (3.0 + r * (-15.0 + r * (105.0 + r * -945.0))))
    return tail, -1.0 + r * (6.0 + r * (-45.0 + r * (420.0 + r * -4725.0)))


def _series(z: Any) -> Any:
    """``log Phi(z)`` for very negative ``z``: ``log phi(z) - log(-z) + log(1 - 1/z^2 +
    3/z^4 - 15/z^6 + 105/z^8 - 945/z^10)``."""
    tail, _ = _tail(1.0 / (z * z))
    return -0.5 * z * z - _LOG_SQRT_2PI - jnp.log(-z) + jnp.log1p(tail)


@jax.custom_jvp
def log_ndtr(z: Any) -> Any:
    """``log Phi(z)``, elementwise (float64 under ``jax_enable_x64``)."""
    z = jnp.asarray(z)
    if not jnp.issubdtype(z.dtype, jnp.floating):
        z = z.astype(float)
    q = 0.5 * erfc(jnp.abs(z) * (1.0 / math.sqrt(2.0)))  # P(Z > |z|)
    body = jnp.where(z < 0.0, jnp.log(q), jnp.log1p(-q))
    far = _series(jnp.minimum(z, ASYMPTOTIC_BELOW))
    return jnp.where(z < ASYMPTOTIC_BELOW, far, body)


def _series_slope(z: Any) -> Any:
    """The derivative of :func:`_series`: ``-z - 1/z + (dtail/dz) / (1 + tail)`` (written out,
    not as ``phi/Phi`` from the value, which loses digits to ``z^2/2`` far left)."""
    r = 1.0 / (z * z)
    tail, dtail_dr = _tail(r)
    return -z - 1.0 / z + dtail_dr * (-2.0 * r / z) / (1.0 + tail)


@log_ndtr.defjvp
def _log_ndtr_jvp(primals: tuple[Any], tangents: tuple[Any]) -> tuple[Any, Any]:
    (z,), (dz,) = primals, tangents
    value = log_ndtr(z)
    z = jnp.asarray(z, dtype=value.dtype)
    mills = jnp.exp(-0.5 * z * z - _LOG_SQRT_2PI - value)  # phi(z) / Phi(z)
    far = _series_slope(jnp.minimum(z, ASYMPTOTIC_BELOW))
    return value, jnp.where(z < ASYMPTOTIC_BELOW, far, mills) * dz
