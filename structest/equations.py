"""The model's equations that every step shares, written once.

Pure array functions: they work on NumPy arrays (the synthetic world, counterfactual
summaries) and on JAX arrays or tracers (the likelihood) alike, because they use only
arithmetic, indexing and ``minimum``/``maximum`` of the array's own library.

- :data:`SCALE`: structural tariffs are fractions, panels hold percentage points;
- :func:`implied_coefficients`: the reduced-form coefficients of eq. (11)/(14)/(19);
- :func:`structural_tstar`: the structural part of t* (no effects, no noise);
- :func:`sigma_per_obs`: the error scale of each observation;
- :func:`record`: the tariff as the panel records it (the build's MFN threshold);
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
#: MFN (pp) at which ``sigma`` is the error scale when the scale grows with MFN
MFN_REF: float = 10.0

#: coefficients of the optional parameters: level inside RTAs (``rta_shift``), GSP shift
#: and the MFN slopes of t* outside RTAs (regime_mfn_slopes)
COEFS_OPTIONAL: dict[str, str] = {
    "rta_shift": "intercept_rta",
    "gsp_shift": "g_GSP",
    "mfn_slope_other": "g_MFN_other",
    "mfn_slope_gsp": "g_MFN_GSP",
}


def per_obs(params: Mapping[str, Any], groups: Mapping[str, Any], name: str) -> Any:
    """``params[name]``, expanded per observation when it varies by group (``groups`` holds
    the map ``grp_<name>``); as given otherwise."""
    v = params[name]
    key = f"grp_{name}"
    if key in groups and getattr(v, "ndim", 0) == 1:
        return v[groups[key]]
    return v


def group_link(kind: str, x: Any, xp: Any = np) -> Any:
    """The scale on which a parameter varies by group (``[hierarchy]``): ``log x``
    (``kind="log"``), ``logit x`` (``"logit"``) or ``x`` (``"additive"``); ``xp`` is the
    array library (``numpy`` or ``jax.numpy``)."""
    if kind == "log":
        return xp.log(x)
    if kind == "logit":
        return xp.log(x) - xp.log1p(-x)
    return x


def group_value(kind: str, pop: Any, dev: Any, xp: Any = np) -> Any:
    """A group's value of a parameter: the population value ``pop`` moved by ``dev`` on
    its :func:`group_link` scale (``pop exp(dev)``, ``expit(logit pop + dev)``, ``pop +
    dev``)."""
    if kind == "log":  # as a product, so a non-positive pop keeps its sign (simulate)
        return pop * xp.exp(dev)
    y = group_link(kind, pop, xp) + dev
    if kind == "logit":
        return 1.0 / (1.0 + xp.exp(-y))
    return y


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
        return per_obs(params, groups, n)

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
        ip_in = g("delta_rta") if "delta_rta" in params else ip
        out["g_IP_rta"] = SCALE * ip_in / el
        out["g_FVA_rta"] = -SCALE * fva / el
    for p, name in COEFS_OPTIONAL.items():
        if p in params:
            out[name] = g(p)
    return out


def structural_tstar(params: Mapping[str, Any], arrays: Mapping[str, Any]) -> Any:
    """The structural part of the latent tariff (pp), per observation.

    Outside RTAs (eq. 11/18-19): ``100/eps + g_IP x_ip + g_FVA x_fva + g_DVA x_dva``;
    inside (eq. 14, ``arrays["rta"] == 1``): ``g_IP_rta x_ip + g_FVA_rta x_fva`` (plus
    ``intercept_rta`` when the level inside RTAs is free); plus ``g_GSP`` for GSP-eligible
    pairs outside RTAs (``arrays["gsp"]``) when the model has a GSP regime; plus
    ``g_MFN_other (MFN - MFN_REF)`` for pairs outside RTAs without GSP eligibility and
    ``g_MFN_GSP (MFN - MFN_REF)`` for GSP-eligible ones (regime MFN slopes). ``arrays``
    holds ``x_ip, x_fva, x_dva, rta`` (0/1), ``gsp`` and ``mfn`` when needed and
    ``grp_<p>`` maps.
    """
    c = implied_coefficients(params, arrays)
    x_ip, x_fva, x_dva = arrays["x_ip"], arrays["x_fva"], arrays["x_dva"]
    out = c["intercept"] + c["g_IP"] * x_ip + c["g_FVA"] * x_fva + c["g_DVA"] * x_dva
    if "g_IP_rta" in c:
        inside = c["g_IP_rta"] * x_ip + c["g_FVA_rta"] * x_fva + c.get("intercept_rta", 0.0)
        rta = arrays["rta"]
        out = out * (1.0 - rta) + inside * rta
    if "g_GSP" in c:
        out = out + c["g_GSP"] * arrays["gsp"]
    if "g_MFN_other" in c or "g_MFN_GSP" in c:
        dm = arrays["mfn"] - MFN_REF
        gsp = arrays["gsp"] if "gsp" in arrays else 0.0
        if "g_MFN_other" in c:
            out = out + c["g_MFN_other"] * (1.0 - arrays["rta"]) * (1.0 - gsp) * dm
        if "g_MFN_GSP" in c:
            out = out + c["g_MFN_GSP"] * gsp * dm
    return out


def mfn_rel(mfn: Any) -> Any:
    """``(1 + MFN) / (1 + MFN_REF)``: the MFN term of :func:`sigma_per_obs` (negative
    rates count as 0)."""
    return (1.0 + np.maximum(mfn, 0.0)) / (1.0 + MFN_REF)


def sigma_per_obs(params: Mapping[str, Any], groups: Mapping[str, Any]) -> Any:
    """The error scale of each observation (pp): ``sigma``, by group when it varies
    (``groups["grp_sigma"]``), times ``mfn_rel ** sigma_mfn`` when it scales with MFN
    (``groups["mfn_rel"]``, :func:`mfn_rel`; or, in JAX, ``exp(sigma_mfn log_mfn_rel)``
    when given its log ``groups["log_mfn_rel"]``, as a design does), divided by ``sqrt(prec)`` when the latent
    precisions of a Student-t scale mixture are given."""
    s = per_obs(params, groups, "sigma")
    if "sigma_mfn" in params:
        power = per_obs(params, groups, "sigma_mfn")
        if "log_mfn_rel" in groups:  # a design: exp of the stored log, not a pow
            import jax.numpy as jnp  # (a float64 pow was a sixth of the gradient's time)

            s = s * jnp.exp(power * groups["log_mfn_rel"])
        else:
            s = s * groups["mfn_rel"] ** power
    if "prec" in params:
        s = s / params["prec"] ** 0.5
    return s


def cap(t: Any, mfn: Any, lower: float | None) -> Any:
    """Applied tariff ``min(max(t, lower), mfn)`` (``lower`` None: no left bound).

    Works on NumPy arrays of any shape that broadcast against ``mfn`` (e.g. draws x obs).
    """
    out = t if lower is None else np.maximum(t, lower)
    return np.minimum(out, mfn)


def record(latent: Any, mfn: Any, threshold: Any, lower: float | None) -> Any:
    """The tariff as the panel records it: ``mfn`` when the applied rate
    ``max(latent, lower)`` reaches ``threshold`` (the panel's ``mfn_threshold``, from which
    the data build records no preference), else the applied rate. With ``threshold = mfn``
    this is :func:`cap`."""
    applied = latent if lower is None else np.maximum(latent, lower)
    return np.where(applied >= threshold, mfn, applied)
