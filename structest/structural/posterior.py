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


def param_sites(spec: ModelSpec) -> dict[str, str]:
    """``likelihood params key -> stored site``: the structural parameters and ``sigma``
    (``<p>_group`` when they vary by group), the error shape parameters, and ``fe_<e>`` for
    each effect."""
    names = {
        p: f"{p}_group" if p in spec.hierarchy else p
        for p in (*spec.structural, "sigma", *spec.scale_params, *spec.error_params)
    }
    names.update({f"fe_{e}": f"fe_{e}" for e in spec.effects})
    return names


def posterior_params(posterior: xr.Dataset, spec: ModelSpec) -> dict[str, np.ndarray]:
    """Stack ``(chain, draw)`` into one leading axis and name the arrays as in ``params``
    (:func:`param_sites`)."""

    def flat(name: str) -> np.ndarray:
        v = posterior[name].values
        return v.reshape((-1, *v.shape[2:]))

    return {k: flat(site) for k, site in param_sites(spec).items()}


def map_batches(fn: Callable[[Any], Any], tree: Any, n: int, batch: int = BATCH) -> Any:
    """``fn`` (a jitted, vmapped function of a pytree of arrays with a leading draw axis)
    over the ``n`` draws of ``tree`` in batches of ``batch``: numpy arrays (pytree) with
    the batches concatenated on the leading axis (bounds memory at batch x the output)."""
    import jax

    parts = [
        jax.tree.map(np.asarray, fn(jax.tree.map(lambda v, i=i: v[i : i + batch], tree)))
        for i in range(0, n, batch)
    ]
    return jax.tree.map(lambda *a: np.concatenate(a, axis=0), *parts)


def batched(
    fn: Callable[[Mapping[str, Any], Mapping[str, Any]], Any],
    params: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    batch: int = BATCH,
) -> np.ndarray:
    """``fn(params_s, arrays)`` for every stacked draw ``s`` -> float[n_draws, ...].

    Evaluated with ``jit(vmap(fn))`` in batches of ``batch`` draws (:func:`map_batches`),
    in 64-bit floats.
    """
    import jax
    import jax.numpy as jnp

    n = next(iter(params.values())).shape[0]
    with jax.enable_x64(True):
        arr = {k: jnp.asarray(v) for k, v in arrays.items()}
        f = jax.jit(jax.vmap(lambda p: fn(p, arr)))
        return map_batches(f, dict(params), n, batch)  # numpy slices: jit converts them


def draw_errors(
    sigma: np.ndarray,
    shape: tuple[int, ...],
    seed: int | np.random.Generator | None,
    shape_params: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Errors ``sigma e`` of the given shape: Normal; Student-t when ``shape_params`` has
    ``nu``; contaminated normal with ``outlier_share``/``outlier_scale``.

    ``sigma`` and the shape parameters broadcast against ``shape`` (e.g. ``(chain, draw,
    1)`` against ``(chain, draw, obs)``). The same seed gives the same standardized draws
    whatever ``sigma`` is (common random numbers across scenarios).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sp = dict(shape_params or {})
    if "nu" in sp:
        e = rng.standard_t(np.broadcast_to(sp["nu"], shape))
    else:
        e = rng.standard_normal(shape)
    if "outlier_share" in sp:
        wide = rng.random(shape) < sp["outlier_share"]
        e = np.where(wide, e * sp["outlier_scale"], e)
    return sigma * e


def _sigma_obs(params: Mapping[str, Any], arrays: Mapping[str, Any]) -> Any:
    import jax.numpy as jnp

    from ..equations import sigma_per_obs

    return jnp.broadcast_to(sigma_per_obs(params, arrays), jnp.shape(arrays["kind"]))


def sigma_flat(
    params: Mapping[str, np.ndarray], spec: ModelSpec, arrays: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    """The error scale of each observation for stacked draws ``params`` (draws first):
    float[draws, obs], or ``[draws, 1]`` when it is one number per draw."""
    if "sigma" not in spec.hierarchy and not spec.scale_params:
        return np.asarray(params["sigma"])[:, None]
    if arrays is None:
        raise ValueError("sigma varies over observations: pass the design's arrays")
    return batched(_sigma_obs, params, arrays)


def sigma_draws(
    posterior: xr.Dataset, spec: ModelSpec, arrays: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    """Each draw's error scale per observation: float[chain, draw, obs] (or ``[..., 1]``)."""
    out = sigma_flat(posterior_params(posterior, spec), spec, arrays)
    return out.reshape(posterior.sizes["chain"], posterior.sizes["draw"], -1)


def posterior_errors(
    posterior: xr.Dataset,
    spec: ModelSpec,
    n_obs: int,
    seed: int | np.random.Generator | None,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """:func:`draw_errors` with each posterior draw's ``sigma`` (per observation when it
    varies by group or with MFN: pass ``arrays``) and error shape parameters:
    float[chain, draw, obs]."""
    sigma = sigma_draws(posterior, spec, arrays)
    sp = {}
    for p in spec.error_params:
        if p in spec.hierarchy:  # by group: per observation
            if arrays is None:
                raise ValueError(f"{p} varies by group: pass the design's arrays")
            sp[p] = posterior[f"{p}_group"].values[..., np.asarray(arrays[f"grp_{p}"])]
        else:
            sp[p] = posterior[p].values[..., None]
    return draw_errors(sigma, (*sigma.shape[:-1], n_obs), seed, sp)


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
    arrays: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Applied tariffs ``cap(t* + e, mfn, spec.lower)`` from t* draws (chain, draw, obs).

    ``noise=False``: no error draw. ``arrays``: the design's (needed when sigma varies by
    group).
    """
    vals = tstar
    if noise:
        vals = vals + posterior_errors(posterior, spec, tstar.shape[-1], seed, arrays)
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
