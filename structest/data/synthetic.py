"""A synthetic world drawn from the structural model, with known truth.

The data-generating process is the paper's politically optimal tariff (eq. 11/18 outside
reciprocal agreements, eq. 14 inside), written in the measurement form structest fits::

    t*_ixjt = c_r + g_IP,r x_IP + g_FVA,r x_FVA + g_DVA,r x_DVA + a_ixt + b_jxt + e_ixjt
    applied  = min(max(t*, lower), MFN_ixt)

with ``r`` the regime (outside/inside an RTA) and ``x`` the ratios FG/IM, FVA/IM, DVA/IM
in logs (``ratios="log"``, eq. 19, the default) or levels (``ratios="level"``, eq. 18).
Outside RTAs ``c = 100/eps`` and, in percentage points,

    g_IP  =  100 delta / (eps |lambda|)
    g_FVA = -100 (1 - delta_star) eps_r_home / (eps |lambda|)
    g_DVA = -100 (1 + delta_dstar) eps_r_abroad / eps

Inside RTAs the terms-of-trade motive vanishes: ``c = 0``, no DVA term, and ``eps, |lambda|``
are replaced by ``eps_tilde, lambda_tilde``.

Covariates are calibrated to facts the paper reports: 14 economies x 14 industries x 4
years; about a third of observations with preferences; median preference about -2 pp;
median MFN tariff about 8 %; log DVA spread of about 5 log points (p5-p95) within
importer-industry-year; correlation of log DVA with log imports about 0.75; FVA grows
by about 0.5 log points over 1995-2009.

MFN rates of importer-industry-years are drawn independently of the effects and errors
(log-normal around ``mfn_median``), as the likelihood (conditional on MFN, with effects
independent of it) assumes; the mean ``mu_imp`` of the importer-industry-year effects is
then set so that the expected share of observations below MFN equals ``pref_share``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..codes import (
    ECONOMIES,
    GSP_GRANTING,
    GSP_RECEIVING,
    INDUSTRIES,
    KNOWN_ECONOMIES,
    STRUCTURAL_PARAMS,
)
from ..equations import group_value, mfn_rel, sigma_per_obs, structural_tstar
from ..equations import implied_coefficients as _equations_coefs
from ..errors import StructestError
from ..panel import Panel, _is_number
from .describe import REGIMES, regime

#: Default structural parameters of the synthetic world (all overridable).
DEFAULTS: dict[str, Any] = {
    # structural elasticities and political weights
    "eps": 10.0,  # export-supply elasticity outside RTAs
    "lambda_abs": 0.5,  # |lambda|, relative price effect of the tariff
    "eps_r_home": 0.1,  # pass-through to foreign VA used at home (eps^r_x*)
    "eps_r_abroad": 0.1,  # pass-through to home VA used abroad (eps^r_xi)
    "delta": 0.05,  # political weight on domestic producers
    "delta_star": 0.7,  # weight on foreign VA in home production
    "delta_dstar": 0.0,  # weight on home VA abroad
    "eps_tilde": 5.0,  # trade elasticity under reciprocity
    "lambda_tilde": 0.5,
    # noise and fixed effects
    "sigma": 1.5,  # s.d. of the tariff shock (pp)
    "nu": None,  # Student-t degrees of freedom (None: Normal errors)
    "tau_imp": 1.0,  # s.d. of importer-industry-year effects
    "tau_exp": 1.0,  # s.d. of exporter-industry-year effects
    # pp per log point of the cell's FVA share (deviation from its mean) in the
    # importer-industry-year effects: 0 keeps them independent of FVA (random effects hold);
    # otherwise partially pooled effects that ignore it bias g_FVA (Mundlak effects do not)
    "effect_fva_slope": 0.0,
    # pp per pp of the cell's MFN (deviation from the mean) in the importer-industry-year
    # effects (mfn_effect): t* tracks MFN across cells
    "effect_mfn_slope": 0.0,
    # model features (the structural model's options; 0/None: the default bbj world)
    "rta_regime": True,  # False: eq. (11) for every observation (the pooled model)
    "gsp_shift": 0.0,  # pp added to t* of GSP-eligible pairs outside RTAs (gsp_regime)
    "rta_shift": 0.0,  # level of t* inside RTAs, pp (free_rta_level; structurally 0)
    "delta_rta": None,  # producer weight inside RTAs (free_rta_ratio; None: delta)
    # pp of t* per pp of MFN (around 10 pp) for pairs outside RTAs without / with GSP
    # eligibility (regime_mfn_slopes)
    "mfn_slope_other": 0.0,
    "mfn_slope_gsp": 0.0,
    "sigma_mfn": 0.0,  # sigma_i = sigma ((1 + MFN_i)/(1 + MFN_REF))^sigma_mfn (mfn_scaled_errors)
    "sigma_by_regime": None,  # {"other"|"GSP-eligible"|"RTA": multiplier of sigma}
    # contaminated normal: share of shocks with scale outlier_scale sigma (a number, or a
    # dict {"other"|"GSP-eligible"|"RTA": share})
    "outlier_share": 0.0,
    "outlier_scale": 5.0,
    # effects: "imp_ind_year" (a_ixt, default) or "eq19" (importer-industry +
    # importer-year + industry-year, each with s.d. tau_imp); exporter-industry-year always
    "effects": "imp_ind_year",
    # parameters that vary by group: {param: (column, sd[, kind])}, column in importer,
    # exporter, industry ([hierarchy]); kind "log" (sd of the log; the default for the
    # structural parameters), "logit" (sd of the logit, for a parameter in (0, 1)) or
    # "additive" (sd in pp; the default for the level shifts rta_shift and gsp_shift, and
    # for sigma_mfn, the error scale's MFN power, which varies the errors only)
    "hierarchy": {},
    # design
    "economies": ECONOMIES,
    "industries": INDUSTRIES,
    "years": (1995, 2000, 2005, 2009),
    "n_products": 1,  # >1 splits each cell into HS6-like products (for scale benchmarks)
    "ratios": "log",
    "lower": 0.0,  # left-censoring bound (None: none)
    "pref_share": 0.3,  # expected share of observations below MFN
    "mfn_median": 8.0,
    "mfn_spread": 0.3,  # s.d. of log MFN across importer-industry-years
    "rta_pair_share": 0.08,
    "fva_growth": 0.5,  # log-point growth of FVA shares over the whole period
}

SCALE = 100.0  # structural tariffs are fractions; panels hold percent


def _structural_params(
    p: dict[str, Any],
    rng: np.random.Generator,
    columns: dict[str, np.ndarray],
    econ: list[str],
    inds: list[str],
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, dict[str, float]]]:
    """The likelihood's ``params`` of this world: structural values (vectors over groups for
    ``hierarchy``), the optional terms; the ``grp_<param>`` maps; the group values by label."""
    params: dict[str, Any] = {k: float(p[k]) for k in STRUCTURAL_PARAMS}
    if not p["rta_regime"]:
        params.pop("eps_tilde")
        params.pop("lambda_tilde")
    elif p["delta_rta"] is not None:
        params["delta_rta"] = float(p["delta_rta"])
    if p["rta_regime"] and float(p["rta_shift"]):
        params["rta_shift"] = float(p["rta_shift"])
    if float(p["gsp_shift"]):
        params["gsp_shift"] = float(p["gsp_shift"])
    for k in ("mfn_slope_other", "mfn_slope_gsp"):
        if float(p[k]):
            params[k] = float(p[k])
    idx: dict[str, np.ndarray] = {}
    values: dict[str, dict[str, float]] = {}
    labels = {"importer": econ, "exporter": econ, "industry": inds}
    for name, (col, sd, *kind) in dict(p["hierarchy"]).items():
        n_g = len(labels[col])
        how = kind[0] if kind else ("additive" if name in _ADDITIVE else "log")
        params[name] = group_value(how, float(p[name]), float(sd) * rng.normal(0.0, 1.0, n_g))
        idx[f"grp_{name}"] = columns[col]
        values[f"{name}_by_{col}"] = dict(zip(labels[col], params[name].tolist(), strict=True))
    return params, idx, values


def implied_coefficients(p: dict[str, Any]) -> dict[str, float]:
    """Reduced-form coefficients (pp) implied by the structural parameters of ``p``
    (:func:`structest.equations.implied_coefficients`)."""
    keys = [k for k in (*STRUCTURAL_PARAMS, "delta_rta") if p.get(k) is not None]
    return {k: float(v) for k, v in _equations_coefs({k: p[k] for k in keys}).items()}


#: numeric parameters for which None means "absent" (no lower bound, no RTA weight, Normal shocks)
_MAY_BE_NONE = ("lower", "delta_rta", "nu")


def _check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise StructestError(f"simulate: unknown parameter(s) {unknown}; known: {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **overrides}
    for k in ("economies", "industries", "years"):
        v = p[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) == 0:
            raise StructestError(
                f"simulate: '{k}' must be a non-empty sequence (e.g. {DEFAULTS[k][:3]!r}), "
                f"got {v!r}"
            )
    if not all(isinstance(y, (int, np.integer)) for y in p["years"]):
        raise StructestError(f"simulate: 'years' must be integers, got {p['years']!r}")
    for k, v in p.items():
        default = DEFAULTS[k]
        numeric = k in _MAY_BE_NONE or (
            isinstance(default, (int, float)) and not isinstance(default, bool)
        )
        by_regime = k == "outlier_share" and isinstance(v, Mapping)
        if numeric and not (v is None and k in _MAY_BE_NONE) and not by_regime:
            try:
                float(v)
            except (TypeError, ValueError):
                raise StructestError(f"simulate: '{k}' must be a number, got {v!r}") from None
    for k in ("eps", "lambda_abs", "eps_tilde", "lambda_tilde", "sigma", "mfn_median"):
        if not float(p[k]) > 0:
            raise StructestError(f"simulate: '{k}' must be > 0, got {p[k]!r}")
    for k in ("tau_imp", "tau_exp", "eps_r_home", "eps_r_abroad"):
        if float(p[k]) < 0:
            raise StructestError(f"simulate: '{k}' must be >= 0, got {p[k]!r}")
    if p["ratios"] not in ("log", "level"):
        raise StructestError(f"simulate: ratios must be 'log' or 'level', got {p['ratios']!r}")
    if not 0 < float(p["pref_share"]) < 1:
        raise StructestError(f"simulate: pref_share must be in (0, 1), got {p['pref_share']!r}")
    if int(p["n_products"]) < 1:
        raise StructestError(f"simulate: n_products must be >= 1, got {p['n_products']!r}")
    if len(p["economies"]) < 2:
        raise StructestError("simulate: need at least two economies")
    if p["effects"] not in ("imp_ind_year", "eq19"):
        raise StructestError(
            f"simulate: effects must be 'imp_ind_year' or 'eq19', got {p['effects']!r}"
        )
    shares = p["outlier_share"]
    by_regime = isinstance(shares, Mapping)
    values = list(shares.values()) if by_regime else [shares]
    ok = (not by_regime or set(shares) <= set(REGIMES)) and all(
        _is_number(v, allow_bool=False) and 0 <= float(v) < 1 for v in values
    )
    scale_ok = _is_number(p["outlier_scale"], allow_bool=False) and p["outlier_scale"] >= 1
    if not ok or not scale_ok:
        raise StructestError(
            "simulate: need outlier_share in [0, 1) (a number, or a dict mapping 'other', "
            f"'GSP-eligible', 'RTA' to one) and outlier_scale >= 1, got {p['outlier_share']!r} "
            f"and {p['outlier_scale']!r}"
        )
    regimes = dict(p["sigma_by_regime"] or {})
    bad = sorted(set(regimes) - set(REGIMES))
    if bad or any(not float(v) > 0 for v in regimes.values()):
        raise StructestError(
            "simulate: sigma_by_regime maps 'other', 'GSP-eligible', 'RTA' to positive "
            f"multipliers, got {p['sigma_by_regime']!r}"
        )
    for name, spec in dict(p["hierarchy"]).items():
        ok = (
            (name in STRUCTURAL_PARAMS or name in _ADDITIVE)
            and (name != "rta_shift" or p["rta_regime"])
            and isinstance(spec, (tuple, list))
            and len(spec) in (2, 3)
            and spec[0] in _GROUP_COLUMNS
            and _is_number(spec[1], allow_bool=False)
            and float(spec[1]) >= 0
            and (len(spec) == 2 or spec[2] in ("log", "logit", "additive"))
            and (len(spec) == 2 or spec[2] != "logit" or 0 < float(p[name]) < 1)
        )
        if not ok:
            raise StructestError(
                f"simulate: hierarchy[{name!r}] must be (column, sd) or (column, sd, kind) "
                f"with a structural parameter, level shift or sigma_mfn, column in "
                f"{sorted(_GROUP_COLUMNS)}, sd >= 0 and kind 'log', 'logit' (a parameter in "
                f"(0, 1)) or 'additive', got {spec!r}"
            )
    return p


_GROUP_COLUMNS = ("importer", "exporter", "industry")
#: level shifts (pp) and MFN slopes of t*: they vary additively by group
_SHIFTS = ("rta_shift", "gsp_shift", "mfn_slope_other", "mfn_slope_gsp")
#: what varies additively by group: the shifts and the error scale's MFN power
_ADDITIVE = (*_SHIFTS, "sigma_mfn")


def simulate(seed: int = 0, **overrides: Any) -> tuple[Panel, dict[str, Any]]:
    """Draw a synthetic panel from the structural model.

    Parameters
    ----------
    seed
        Seed of the NumPy generator; the same seed gives the same panel.
    **overrides
        Any key of :data:`DEFAULTS` (structural parameters, noise, design).

    Returns
    -------
    (Panel, dict)
        The panel (with an extra column ``tstar_true``) and the truth: structural
        parameters, implied coefficients (``g_IP``, ``g_FVA``, ``g_DVA``, ``g_IP_rta``,
        ``g_FVA_rta``, ``intercept``), ``sigma``, ``tau_imp``, ``tau_exp``, ``mu_imp``.
    """
    p = _check_overrides(overrides)
    rng = np.random.default_rng(seed)
    econ = list(p["economies"])
    inds = list(p["industries"])
    years = np.asarray(p["years"], dtype=int)
    n_e, n_x, n_t = len(econ), len(inds), len(years)
    span = max(int(years.max() - years.min()), 1)
    tfrac = (years - years.min()) / span

    # ---- economy, industry and pair characteristics
    size = rng.normal(0.0, 1.0, n_e)
    ind_eff = rng.normal(0.0, 0.5, n_x)
    pair = rng.normal(0.0, 0.8, (n_e, n_e))
    pair = (pair + pair.T) / np.sqrt(2)
    dist = np.exp(rng.normal(8.5, 0.6, (n_e, n_e)))
    dist = np.sqrt(dist * dist.T)
    contig = rng.random((n_e, n_e)) < 0.08
    contig = contig | contig.T
    comlang = rng.random((n_e, n_e)) < 0.15
    comlang = comlang | comlang.T
    colony = rng.random((n_e, n_e)) < 0.05
    colony = colony | colony.T
    # RTAs: symmetric pairs, each entering at one of the years (or before the first)
    rta_pair = rng.random((n_e, n_e)) < p["rta_pair_share"]
    rta_pair = np.triu(rta_pair, 1)
    entry = rng.integers(0, n_t, (n_e, n_e))
    rta_pair = rta_pair | rta_pair.T
    entry = np.minimum(entry, entry.T)
    broad_extra = np.triu(rng.random((n_e, n_e)) < 0.05, 1)
    broad_extra = broad_extra | broad_extra.T

    # ---- observation grid (importer, industry, year, exporter)
    ii, xx, tt, jj = np.meshgrid(
        np.arange(n_e), np.arange(n_x), np.arange(n_t), np.arange(n_e), indexing="ij"
    )
    keep = ii != jj
    ii, xx, tt, jj = (a[keep] for a in (ii, xx, tt, jj))
    n = ii.size

    rta = rta_pair[ii, jj] & (tt >= entry[ii, jj])
    rta_broad = rta | (broad_extra[ii, jj] & (tt >= entry[ii, jj]))
    gsp_pairs = np.array([[a in GSP_GRANTING and b in GSP_RECEIVING for b in econ] for a in econ])
    gsp = gsp_pairs[ii, jj] & ~rta

    # imports, domestic final goods, FVA, DVA (USD millions)
    log_im = (
        4.0
        + 0.8 * size[ii]
        + 0.8 * size[jj]
        + ind_eff[xx]
        + pair[ii, jj]
        - 0.3 * (np.log(dist[ii, jj]) - 8.5)
        + 0.3 * tfrac[tt]
        + rng.normal(0.0, 0.7, n)
    )
    fg_ixt = 7.0 + 1.0 * size[:, None, None] + ind_eff[None, :, None] + 0.3 * tfrac[None, None, :]
    fg_ixt = fg_ixt + rng.normal(0.0, 0.3, (n_e, n_x, n_t))
    share_base = rng.normal(-1.7, 0.4, (n_e, n_x))
    growth = p["fva_growth"] * rng.lognormal(0.0, 0.25, (n_e, n_x))
    log_share = (
        np.log(stats.norm.cdf(share_base))[:, :, None] + growth[:, :, None] * tfrac[None, None, :]
    )
    log_share = log_share + rng.normal(0.0, 0.08, (n_e, n_x, n_t))
    log_share = np.minimum(log_share, np.log(0.9))
    log_fg = fg_ixt[ii, xx, tt]
    log_fva = log_fg + log_share[ii, xx, tt]
    log_dva = -2.3 + 1.0 * log_im + 0.3 * size[ii] + rng.normal(0.0, 1.3, n)
    # instrument: i's VA in j's services final goods (pair-year level, correlated with DVA)
    serv_pair = rng.normal(0.0, 0.5, (n_e, n_e, n_t))
    log_dva_services = 1.0 + 0.8 * size[ii] + 0.8 * size[jj] + pair[ii, jj] + serv_pair[ii, jj, tt]

    # ---- structural tariff (the likelihood's equations, per observation)
    # features beyond the default world draw from their own stream, so that a default
    # world is the same panel whatever options exist
    rng_x = np.random.default_rng((seed, 1))
    params, group_idx, group_values = _structural_params(
        p, rng_x, {"importer": ii, "exporter": jj, "industry": xx}, econ, inds
    )
    sigma_mfn_groups = params.pop("sigma_mfn", None)  # the error scale's, by group
    g = implied_coefficients(p)  # population values (groups vary around them)
    if p["ratios"] == "log":
        x_ip, x_fva, x_dva = log_fg - log_im, log_fva - log_im, log_dva - log_im
    else:
        x_ip, x_fva, x_dva = (np.exp(a - log_im) for a in (log_fg, log_fva, log_dva))
    gsp_out = (gsp & ~rta).astype(float)
    arrays = {"x_ip": x_ip, "x_fva": x_fva, "x_dva": x_dva, "gsp": gsp_out, **group_idx}
    arrays["rta"] = rta.astype(float) if p["rta_regime"] else np.zeros(n)
    b = rng.normal(0.0, p["tau_exp"], (n_e, n_x, n_t))[jj, xx, tt]
    cell = (ii * n_x + xx) * n_t + tt
    # MFN rates are exogenous: drawn independently of the effects and the errors, so the
    # model's likelihood (conditional on MFN) with independent effects is exactly right.
    n_cells = n_e * n_x * n_t
    mfn = (p["mfn_median"] * np.exp(p["mfn_spread"] * rng.normal(0.0, 1.0, n_cells)))[cell]
    arrays["mfn"] = mfn  # the regime MFN slopes' term
    struct = np.asarray(structural_tstar(params, arrays))
    noise_free = struct + b
    mu_imp = _calibrate_mu(noise_free, mfn, p)
    share_dev = log_share.reshape(-1) - log_share.mean()
    a_cell = mu_imp + float(p["effect_fva_slope"]) * share_dev
    if float(p["effect_mfn_slope"]):
        mfn_cells = np.bincount(cell, mfn, n_cells) / np.maximum(
            np.bincount(cell, None, n_cells), 1
        )
        a_cell = a_cell + float(p["effect_mfn_slope"]) * (mfn_cells - mfn.mean())
    a = (a_cell + p["tau_imp"] * rng.normal(0.0, 1.0, n_cells))[cell]
    # (the draws above are taken in every world, so the default stream stays the same)
    if p["effects"] == "eq19":  # importer-industry + importer-year + industry-year
        tau = p["tau_imp"]
        a_ix = rng_x.normal(0.0, tau, (n_e, n_x))
        a_it = rng_x.normal(0.0, tau, (n_e, n_t))
        a_xt = rng_x.normal(0.0, tau, (n_x, n_t))
        a = a_cell[cell] + a_ix[ii, xx] + a_it[ii, tt] + a_xt[xx, tt]
    if p["nu"] is None:
        z = rng.normal(0.0, 1.0, n)
    else:
        z = rng.standard_t(float(p["nu"]), n)
    lab = regime(pd.DataFrame({"rta": rta, "gsp": gsp})).to_numpy()
    share = p["outlier_share"]
    if isinstance(share, Mapping):  # by regime
        share = np.array([float(share.get(r, 0.0)) for r in lab])
    if np.any(np.asarray(share, float) > 0):
        z = np.where(rng_x.random(n) < share, z * p["outlier_scale"], z)
    # the error scale as the likelihood writes it (sigma by regime, times the MFN term)
    regimes = dict(p["sigma_by_regime"] or {})
    scale = {"sigma": p["sigma"] * np.array([float(regimes.get(r, 1.0)) for r in lab])}
    where: dict[str, Any] = {"mfn_rel": mfn_rel(mfn)}
    if sigma_mfn_groups is not None:
        scale["sigma_mfn"] = sigma_mfn_groups
        where["grp_sigma_mfn"] = group_idx["grp_sigma_mfn"]
    elif float(p["sigma_mfn"]):
        scale["sigma_mfn"] = float(p["sigma_mfn"])
    e = np.asarray(sigma_per_obs(scale, where)) * z
    tstar = noise_free + a + e

    lower = p["lower"]
    applied = np.minimum(tstar if lower is None else np.maximum(tstar, lower), mfn)
    censored = tstar >= mfn

    codes = np.asarray(econ, dtype=object)
    df = pd.DataFrame(
        {
            "importer": codes[ii],
            "exporter": codes[jj],
            "industry": np.asarray(inds, dtype=object)[xx],
            "year": years[tt],
            "tariff": applied,
            "mfn": mfn,
            "censored": censored,
            "dva": np.exp(log_dva),
            "fva": np.exp(log_fva),
            "fg": np.exp(log_fg),
            "imports": np.exp(log_im),
            "dva_services": np.exp(log_dva_services),
            "rta": rta.astype(int),
            "rta_broad": rta_broad.astype(int),
            "gsp": gsp.astype(int),
            "dist": dist[ii, jj],
            "contig": contig[ii, jj].astype(int),
            "comlang": comlang[ii, jj].astype(int),
            "colony": colony[ii, jj].astype(int),
            "tstar_true": tstar,
        }
    )
    first = df.groupby(["importer", "exporter", "industry"])["dva"].transform("first")
    df["dva_lag"] = first.to_numpy()
    n_prod = int(p["n_products"])
    if n_prod > 1:
        df = _split_products(df, n_prod, p, rng, lower)

    truth: dict[str, Any] = {
        k: p[k]
        for k in (
            *STRUCTURAL_PARAMS,
            "sigma",
            "nu",
            "tau_imp",
            "tau_exp",
            "ratios",
            "lower",
        )
    }
    truth.update({k: v for k, v in g.items() if np.ndim(v) == 0})
    truth.update(
        {
            k: p[k]
            for k in (
                "gsp_shift",
                "rta_shift",
                "sigma_mfn",
                "outlier_share",
                "outlier_scale",
                "sigma_by_regime",
                "effects",
                "rta_regime",
            )
        }
    )
    truth["delta_rta"] = params.get("delta_rta", p["delta"])
    truth["g_GSP"], truth["intercept_rta"] = p["gsp_shift"], p["rta_shift"]
    truth["g_MFN_other"], truth["g_MFN_GSP"] = p["mfn_slope_other"], p["mfn_slope_gsp"]
    truth.update(group_values)
    truth["mu_imp"] = mu_imp
    if np.ndim(g["g_IP"]) == 0 and np.ndim(g["g_FVA"]) == 0:
        truth["ratio_g_fva_g_ip"] = -g["g_FVA"] / g["g_IP"]
    strict = all(c in KNOWN_ECONOMIES for c in econ)
    panel = Panel.from_frame(
        df,
        strict_codes=strict,
        allow_negative_tariffs=lower is None,
        meta={"source": f"simulate(seed={seed})", "truth": truth},
    )
    return panel, truth


def _calibrate_mu(noise_free: np.ndarray, mfn: np.ndarray, p: dict[str, Any]) -> float:
    """Mean effect at which E[share of t* below MFN] = pref_share (Normal approximation)."""
    from scipy.optimize import brentq

    scale = float(np.hypot(p["tau_imp"], p["sigma"]))
    gap = mfn - noise_free

    def excess(mu: float) -> float:
        return float(stats.norm.cdf((gap - mu) / scale).mean() - p["pref_share"])

    lo, hi = float(gap.min() - 10 * scale), float(gap.max() + 10 * scale)
    return float(brentq(excess, lo, hi, xtol=1e-10))


def _split_products(
    df: pd.DataFrame, n_prod: int, p: dict[str, Any], rng: np.random.Generator, lower: float | None
) -> pd.DataFrame:
    """Replicate each cell into HS6-like products with own imports and tariff shocks."""
    big = df.loc[df.index.repeat(n_prod)].reset_index(drop=True)
    big["product"] = np.tile([f"p{k:04d}" for k in range(n_prod)], len(df))
    shares = rng.dirichlet(np.ones(n_prod), len(df)).ravel()
    big["imports"] = big["imports"].to_numpy() * np.maximum(shares, 1e-6)
    extra = rng.normal(0.0, p["sigma"] / 2, len(big))
    tstar = big["tstar_true"].to_numpy() + extra
    mfn = big["mfn"].to_numpy()
    big["tstar_true"] = tstar
    big["tariff"] = np.minimum(tstar if lower is None else np.maximum(tstar, lower), mfn)
    big["censored"] = tstar >= mfn
    return big
