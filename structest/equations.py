"""The model's equations that every step shares, written once.

Pure array functions: they work on NumPy arrays (the synthetic world, counterfactual
summaries) and on JAX arrays or tracers (the likelihood) alike, because they use only
arithmetic, indexing and ``minimum``/``maximum`` of the array's own library.

- :data:`SCALE`: structural tariffs are fractions, panels hold percentage points;
- :func:`implied_coefficients`: the reduced-form coefficients of eq. (11)/(14)/(19);
- :func:`cap`: the applied tariff ``min(max(t, lower), MFN)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: structural tariffs are fractions; panels hold percentage points
SCALE: float = 100.0

#: implied coefficients outside RTAs, and inside (eq. 14) when the model has an RTA regime
COEFS_OUTSIDE: tuple[str, ...] = ("intercept", "g_IP", "g_FVA", "g_DVA")
COEFS_INSIDE: tuple[str, ...] = ("g_IP_rta", "g_FVA_rta")


def _value(params: Mapping[str, Any], groups: Mapping[str, Any], name: str) -> Any:
    """``params[name]``, expanded per observation when it varies by group."""
    v = params[name]
    key = f"grp_{name}"
    if key in groups and getattr(v, "ndim", 0) == 1:
        return v[groups[key]]
    return v


def implied_coefficients(
    params: Mapping[str, Any], groups: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Reduced-form coefficients (pp) implied by the structural parameters.

    ``intercept = 100/eps``, ``g_IP = 100 delta/(eps |lambda|)``,
    ``g_FVA = -100 (1-delta_star) eps_r_home/(eps |lambda|)``,
    ``g_DVA = -100 (1+delta_dstar) eps_r_abroad/eps`` and, when ``eps_tilde`` is in
    ``params``, ``g_IP_rta``/``g_FVA_rta`` with ``eps_tilde, lambda_tilde`` (eq. 14).

    Parameters
    ----------
    params
        Structural parameters: scalars, or vectors over groups.
    groups
        Optional ``grp_<name> -> int[n]`` maps (the design's arrays); group-varying
        parameters are then expanded per observation, else they broadcast as given.
    """
    groups = groups or {}

    def g(n: str) -> Any:
        return _value(params, groups, n)

    eps, lam = g("eps"), g("lambda_abs")
    ip = g("delta")
    fva = (1.0 - g("delta_star")) * g("eps_r_home")
    out = {
        "intercept": SCALE / eps,
        "g_IP": SCALE * ip / (eps * lam),
        "g_FVA": -SCALE * fva / (eps * lam),
        "g_DVA": -SCALE * (1.0 + g("delta_dstar")) * g("eps_r_abroad") / eps,
    }
    if "eps_tilde" in params:
        el = g("eps_tilde") * g("lambda_tilde")
        out["g_IP_rta"] = SCALE * ip / el
        out["g_FVA_rta"] = -SCALE * fva / el
    return out


def cap(t: Any, mfn: Any, lower: float | None) -> Any:
    """Applied tariff ``min(max(t, lower), mfn)`` (``lower`` None: no left bound).

    Works on NumPy arrays of any shape that broadcast against ``mfn`` (e.g. draws x obs).
    """
    out = t if lower is None else np.maximum(t, lower)
    return np.minimum(out, mfn)
