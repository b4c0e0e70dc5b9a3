"""Posterior predictions for counterfactuals: latent t* and applied tariffs.

``predict_tstar(idata, panel)`` evaluates :func:`structest.structural.likelihood.tstar`
for every posterior draw on a (possibly modified: other DVA/FVA/FG/imports/RTA/MFN)
panel whose effect and group labels exist in the fit. ``predict_applied`` adds the
error draw and applies the MFN cap and the model's lower bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..panel import Panel
from .design import Design, build_design
from .draws import posterior_params
from .fit import fit_spec


def _design(idata: Any, panel: Panel) -> tuple[Any, Design]:
    spec = fit_spec(idata)
    post = idata.posterior
    levels = {e: post[e].values for e in spec.effects}
    groups = {p: post[col].values for p, col in spec.hierarchy.items()}
    return spec, build_design(panel, spec, levels=levels, groups=groups)


def _obs_coords(panel: Panel) -> dict[str, Any]:
    c = panel.obs_coords()
    out: dict[str, Any] = {"obs": np.arange(len(panel))}
    for k, v in c.items():
        out[k] = ("obs", np.asarray(v).astype(np.int64 if k == "year" else str))
    return out


def predict_tstar(idata: Any, panel: Panel) -> xr.DataArray:
    """Latent optimal tariff t* (pp, no noise) for every posterior draw.

    Parameters
    ----------
    idata
        A structest fit (:func:`structest.structural.fit` or :func:`load_fit`).
    panel
        Observations to predict; effect labels (e.g. ``imp_ind_year``) must exist in the fit.

    Returns
    -------
    xarray.DataArray
        ``tstar`` with dims ``(chain, draw, obs)`` and obs coords importer, exporter,
        industry, year.
    """
    import jax
    import jax.numpy as jnp

    from .likelihood import tstar

    spec, design = _design(idata, panel)
    post = idata.posterior
    params = posterior_params(post, spec)
    arr = {k: jnp.asarray(v) for k, v in design.arrays.items()}
    f = jax.jit(jax.vmap(lambda p: tstar(p, arr)))
    n = next(iter(params.values())).shape[0]
    parts = [
        np.asarray(f({k: jnp.asarray(v[i : i + 500]) for k, v in params.items()}))
        for i in range(0, n, 500)
    ]
    vals = np.concatenate(parts).reshape(post.sizes["chain"], post.sizes["draw"], design.n)
    return xr.DataArray(
        vals,
        dims=("chain", "draw", "obs"),
        coords={"chain": post["chain"].values, "draw": post["draw"].values, **_obs_coords(panel)},
        name="tstar",
    )


def predict_applied(
    idata: Any,
    panel: Panel,
    seed: int | np.random.Generator | None = 0,
    noise: bool = True,
) -> xr.DataArray:
    """Posterior-predictive applied tariffs: ``min(max(t* + e, lower), mfn)``.

    Parameters
    ----------
    idata, panel
        As in :func:`predict_tstar` (the panel's ``mfn`` is the cap).
    seed
        Seed or NumPy generator for the errors ``e`` (Normal or Student-t with the draw's
        ``sigma``/``nu``).
    noise
        False: no error draw (the capped latent tariff).

    Returns
    -------
    xarray.DataArray
        ``applied`` with dims ``(chain, draw, obs)``.
    """
    ts = predict_tstar(idata, panel)
    spec = fit_spec(idata)
    vals = ts.values.copy()
    if noise:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        sigma = idata.posterior["sigma"].values[..., None]
        if spec.errors == "student_t":
            nu = idata.posterior["nu"].values[..., None]
            e = rng.standard_t(np.broadcast_to(nu, vals.shape))
        else:
            e = rng.standard_normal(vals.shape)
        vals = vals + sigma * e
    if spec.lower is not None:
        vals = np.maximum(vals, spec.lower)
    vals = np.minimum(vals, panel.df["mfn"].to_numpy(float)[None, None, :])
    return ts.copy(data=vals).rename("applied")
