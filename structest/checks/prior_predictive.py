"""Prior predictive check: do the priors put their mass on plausible tariffs?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..equations import cap
from ..panel import MFN_TOL, Panel
from ..structural.design import build_design
from ..structural.likelihood import tstar
from ..structural.posterior import batched, draw_errors, param_sites, sigma_flat
from ..structural.sampling import prior_draws
from ..structural.spec import DEFAULT_MODEL, load_model


def prior_predictive_draws(
    panel: Panel,
    model: Any = DEFAULT_MODEL,
    *,
    n: int = 500,
    seed: int = 0,
    priors: Mapping | None = None,
) -> np.ndarray:
    """Latent prior-predictive tariffs ``t* + e`` (pp) before censoring, float[n, N].

    Every parameter and effect is drawn from the prior (the model's program without its
    likelihood); the errors follow the model's error distribution.
    """
    spec = load_model(model).with_priors(priors)
    design = build_design(panel, spec)
    names = param_sites(spec)
    draws = prior_draws(design, spec, n, seed, tuple(names.values()))
    params = {k: draws[site] for k, site in names.items()}
    ts = batched(tstar, params, design.arrays)
    sp = {p: params[p][:, None] for p in spec.error_params}
    sigma = sigma_flat(params, spec, design.arrays)
    return ts + draw_errors(sigma, ts.shape, seed, sp)


def prior_predictive_check(
    panel: Panel,
    model: Any = DEFAULT_MODEL,
    *,
    n: int = 500,
    seed: int = 0,
    priors: Mapping | None = None,
    plausible: tuple[float, float] = (0.0, 50.0),
    quantiles: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99),
) -> pd.DataFrame:
    """Does the prior put its mass on plausible tariffs?

    Draws the priors (every parameter and effect), the latent tariff ``t* + e`` and the
    applied tariff (lower bound and MFN cap), and summarises both.

    Returns
    -------
    pandas.DataFrame
        Rows ``latent`` and ``applied``; columns ``share_in_range`` (share in
        ``plausible``, default [0, 50] pp), ``share_below``, ``share_above``,
        ``share_at_mfn`` and the ``quantiles`` (``q01``...).
    """
    spec = load_model(model)
    lat = prior_predictive_draws(panel, spec, n=n, seed=seed, priors=priors)
    mfn = panel.df["mfn"].to_numpy(float)
    app = cap(lat, mfn, spec.lower)
    lo, hi = plausible
    rows = []
    for name, v in (("latent", lat), ("applied", app)):
        row = {
            "draws": name,
            "share_in_range": float(np.mean((v >= lo) & (v <= hi))),
            "share_below": float(np.mean(v < lo)),
            "share_above": float(np.mean(v > hi)),
            "share_at_mfn": float(np.mean(np.abs(v - mfn) <= MFN_TOL)),
        }
        row.update({f"q{int(round(100 * q)):02d}": float(np.quantile(v, q)) for q in quantiles})
        rows.append(row)
    obs = panel.df["tariff"].to_numpy(float)
    row = {
        "draws": "observed",
        "share_in_range": float(np.mean((obs >= lo) & (obs <= hi))),
        "share_below": float(np.mean(obs < lo)),
        "share_above": float(np.mean(obs > hi)),
        "share_at_mfn": float(np.mean(obs >= mfn - MFN_TOL)),
    }
    row.update({f"q{int(round(100 * q)):02d}": float(np.quantile(obs, q)) for q in quantiles})
    rows.append(row)
    return pd.DataFrame(rows).set_index("draws")
