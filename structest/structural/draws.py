"""Posterior draws (xarray) -> the ``params`` dict of the likelihood, stacked over draws."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .spec import ModelSpec


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
