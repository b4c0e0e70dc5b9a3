"""Posterior maths, once: draws as likelihood parameters, batched JAX evaluation, error
draws and the predictive t* and applied tariffs.

Every later step (checks, counterfactuals, the report) evaluates the model through these
functions; the MFN cap is :func:`structest.equations.cap`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..equations import cap
from .spec import ModelSpec

#: draws evaluated per jitted batch (bounds memory at batch x observations)
BATCH: int = 500


def posterior_params(posterior: xr.Dataset, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Stack ``(chain, draw)`` into one leading axis and name the arrays as in ``params``.

    Group-varying parameters come from ``<p>_group``, effects from ``fe_<e>``.
    """

    def flat(name: str) -> np.ndarray:
        v = posterior[name].values
        return v.reshape((-1, *v.shape[2:]))

    out: dict[str, np.ndarray] = {}
    for p in spec.structural:
        out[p] = flat(f"{p}_group" if p in spec.hierarchy else p)
    out["sigma"] = flat("sigma")
    if spec.errors == "student_t":
        out["nu"] = flat("nu")
    for e in spec.effects:
        out[f"fe_{e}"] = flat(f"fe_{e}")
    return out


def batched(
    fn: Callable[[Mapping[str, Any], Mapping[str, Any]], Any],
    params: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    batch: int = BATCH,
) -> np.ndarray:
    """``fn(params_s, arrays)`` for every stacked draw ``s`` -> float[n_draws, ...].

    Evaluated with ``jit(vmap(fn))`` in batches of ``batch`` draws, in 64-bit floats.
    """
    import jax
    import jax.numpy as jnp

    n = next(iter(params.values())).shape[0]
    with jax.enable_x64(True):
        arr = {k: jnp.asarray(v) for k, v in arrays.items()}
        f = jax.jit(jax.vmap(lambda p: fn(p, arr)))
        parts = [
            np.asarray(f({k: jnp.asarray(v[i : i + batch]) for k, v in params.items()}))
            for i in range(0, n, batch)
        ]
    return np.concatenate(parts, axis=0)


def draw_errors(
    sigma: np.ndarray,
    nu: np.ndarray | None,
    shape: tuple[int, ...],
    seed: int | np.random.Generator | None,
) -> np.ndarray:
    """Errors ``sigma e`` of the given shape: Normal, or Student-t with ``nu`` when given.

    ``sigma`` and ``nu`` broadcast against ``shape`` (e.g. ``(chain, draw, 1)`` against
    ``(chain, draw, obs)``).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if nu is not None:
        e = rng.standard_t(np.broadcast_to(nu, shape))
    else:
        e = rng.standard_normal(shape)
    return sigma * e


def posterior_errors(
    posterior: xr.Dataset,
    spec: ModelSpec,
    n_obs: int,
    seed: int | np.random.Generator | None,
) -> np.ndarray:
    """:func:`draw_errors` with each posterior draw's ``sigma`` (and ``nu``): (chain, draw, obs)."""
    sigma = posterior["sigma"].values[..., None]
    nu = posterior["nu"].values[..., None] if spec.errors == "student_t" else None
    return draw_errors(sigma, nu, (*sigma.shape[:-1], n_obs), seed)


def per_draw(
    fn: Callable[[Mapping[str, Any], Mapping[str, Any]], Any],
    posterior: xr.Dataset,
    spec: ModelSpec,
    arrays: Mapping[str, np.ndarray],
) -> np.ndarray:
    """``fn(params, arrays)`` (float[obs]) for every posterior draw: float[chain, draw, obs]."""
    vals = batched(fn, posterior_params(posterior, spec), arrays)
    return vals.reshape(posterior.sizes["chain"], posterior.sizes["draw"], -1)


def tstar_draws(
    posterior: xr.Dataset, spec: ModelSpec, arrays: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Latent t* (pp, no noise) for every draw: float[chain, draw, obs]."""
    from .likelihood import tstar

    return per_draw(tstar, posterior, spec, arrays)


def loglik_draws(
    posterior: xr.Dataset, spec: ModelSpec, arrays: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Pointwise log-likelihood for every draw: float[chain, draw, obs]."""
    from .likelihood import loglik_pointwise

    return per_draw(loglik_pointwise, posterior, spec, arrays)


def applied_draws(
    tstar: np.ndarray,
    posterior: xr.Dataset,
    spec: ModelSpec,
    mfn: np.ndarray,
    seed: int | np.random.Generator | None = 0,
    noise: bool = True,
) -> np.ndarray:
    """Applied tariffs ``cap(t* + e, mfn, spec.lower)`` from t* draws (chain, draw, obs).

    ``noise=False``: no error draw.
    """
    vals = tstar
    if noise:
        vals = vals + posterior_errors(posterior, spec, tstar.shape[-1], seed)
    return cap(vals, np.asarray(mfn, float), spec.lower)


def log_prior_draws(posterior: xr.Dataset, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Log prior density of each scalar parameter at every draw: ``name -> (chain, draw)``.

    The priors of the model file (structural population values, ``sigma``, ``nu``, ``mu``,
    effect scales ``tau_<e>``, heterogeneity scales ``sd_<p>``): the component that
    power-scaling sensitivity scales (``arviz.psens(..., component="prior")``).
    """
    from .priors import scipy_dist

    return {
        p: scipy_dist(spec.priors[p]).logpdf(posterior[p].values)
        for p in (*spec.scalar_params, *spec.vector_params)
        if p in posterior
    }
