"""Posterior predictive checks of tariff preferences (paper Figures 1, 2 and B1).

Every check compares a statistic ``T(y)`` of the observed panel with its distribution over
posterior-predictive replications ``y_rep`` (draw t*, add the error, apply the lower bound
and the MFN cap) and returns a tidy DataFrame with the columns

``observed``, ``pred_mean``, ``lo``, ``hi`` (central ``prob`` predictive interval),
``p_value`` (mid-p posterior predictive p-value ``P(T(y_rep) > T(y)) + P(=)/2``) and
``inside`` (``lo <= observed <= hi``).

Tariff preference = applied - MFN (pp, <= 0); "at MFN" = no preference.

Functions
---------
:func:`posterior_predictive`, :func:`with_posterior_predictive` (draws),
:func:`ppc_mass_at_mfn`, :func:`ppc_preference_distribution`, :func:`ppc_industry_moments`,
:func:`ppc_dva_bands`, :func:`loo_pit_randomized`, :func:`ppc_summary`,
:func:`ignore_censoring` (the misspecified "censoring ignored" variant).
Model comparison and the prior predictive check live in :mod:`structest.loo`-style helpers
of this module: :func:`check_comparable`, :func:`loo_compare`, :func:`pareto_k_table`,
:func:`prior_predictive_check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .describe import regime
from .errors import StructestError
from .panel import Panel

#: pp tolerance for "applied equals MFN"
TOL: float = 1e-6
#: largest number of posterior draws used by the checks (thinned evenly beyond it)
MAX_DRAWS: int = 1000
#: grouping columns accepted by the by-group checks
GROUPINGS: tuple[str, ...] = ("importer", "exporter", "industry", "year", "regime")
_COLS = ["observed", "pred_mean", "lo", "hi", "p_value", "inside"]


# ---------------------------------------------------------------- predictive draws
def _check_aligned(idata: Any, panel: Panel) -> None:
    if "observed_data" not in idata.groups() or "tariff" not in idata.observed_data:
        raise StructestError(
            "checks: the InferenceData has no observed_data['tariff'] (not a structest fit?)"
        )
    obs = np.asarray(idata.observed_data["tariff"].values, float)
    if obs.shape[0] != len(panel):
        raise StructestError(
            f"checks: the fit has {obs.shape[0]} observations but the panel has {len(panel)}; "
            "pass the panel the model was fitted to"
        )
    mine = panel.df["tariff"].to_numpy(float)
    if not np.allclose(obs, mine, atol=1e-8):
        bad = int((~np.isclose(obs, mine, atol=1e-8)).sum())
        raise StructestError(
            f"checks: {bad} tariff(s) differ between the fit and the panel; pass the fitted panel"
        )


def _thin(idata: Any, max_draws: int) -> Any:
    post = idata.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    if n <= max_draws:
        return idata
    step = int(np.ceil(n / max_draws))
    groups = [g for g in ("posterior", "log_likelihood", "sample_stats") if g in idata.groups()]
    return idata.isel(draw=slice(None, None, step), groups=groups)


def posterior_predictive(
    idata: Any, panel: Panel, *, seed: int = 0, max_draws: int = MAX_DRAWS
) -> xr.DataArray:
    """Posterior-predictive applied tariffs under the fitted model's own censoring.

    The cap is the MFN rate the model was fitted with (``constant_data['mfn']``) and the
    lower bound the fitted spec's; a fit that ignored censoring therefore predicts
    uncensored tariffs.

    Parameters
    ----------
    idata
        A structest fit.
    panel
        The panel it was fitted to (checked against ``observed_data``).
    seed
        Seed of the error draws.
    max_draws
        Thin the posterior evenly to at most this many draws.

    Returns
    -------
    xarray.DataArray
        ``tariff`` with dims ``(chain, draw, obs)``.
    """
    from .structural.predict import predict_applied

    _check_aligned(idata, panel)
    idata = _thin(idata, max_draws)
    cap = np.asarray(idata.constant_data["mfn"].values, float)
    pan = panel
    if not np.allclose(cap, panel.df["mfn"].to_numpy(float)):
        pan = Panel(df=panel.df.assign(mfn=cap), dropped=panel.dropped, meta=dict(panel.meta))
    return predict_applied(idata, pan, seed=seed).rename("tariff")


def with_posterior_predictive(
    idata: Any, panel: Panel, *, seed: int = 0, max_draws: int = MAX_DRAWS
) -> Any:
    """A copy of ``idata`` (thinned to ``max_draws``) with ``posterior_predictive`` added.

    ``posterior_predictive`` holds ``tariff`` (applied) and ``preference`` (applied - the
    panel's MFN); ``observed_data`` gains ``preference``. Use it with
    ``az.plot_ppc(idata, var_names=["preference"])`` and ``az.loo``.
    """
    _check_aligned(idata, panel)
    out = _thin(idata, max_draws).copy()
    pred = posterior_predictive(out, panel, seed=seed, max_draws=max_draws)
    mfn = panel.df["mfn"].to_numpy(float)
    pp = xr.Dataset({"tariff": pred, "preference": (pred - mfn).rename("preference")})
    if "posterior_predictive" in out.groups():
        del out.posterior_predictive
        out._groups.remove("posterior_predictive")
    out.add_groups(posterior_predictive=pp)
    out.observed_data = out.observed_data.assign(
        preference=("obs", panel.df["tariff"].to_numpy(float) - mfn)
    )
    return out


def _draws(idata: Any, panel: Panel, seed: int) -> np.ndarray:
    """Predictive applied tariffs as float[S, N] (cached group first)."""
    if "posterior_predictive" in idata.groups() and "tariff" in idata.posterior_predictive:
        _check_aligned(idata, panel)
        v = idata.posterior_predictive["tariff"].values
    else:
        v = posterior_predictive(idata, panel, seed=seed).values
    return v.reshape(-1, v.shape[-1])


# ---------------------------------------------------------------- statistics helpers
def _summ(t_obs: np.ndarray, t_rep: np.ndarray, prob: float) -> pd.DataFrame:
    """Columns of :data:`_COLS` from observed float[K] and replicated float[S, K]."""
    a = (1.0 - prob) / 2.0
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(t_rep)
        lo = np.array(
            [
                np.quantile(c[v], a) if v.any() else np.nan
                for c, v in zip(t_rep.T, valid.T, strict=True)
            ]
        )
        hi = np.array(
            [
                np.quantile(c[v], 1 - a) if v.any() else np.nan
                for c, v in zip(t_rep.T, valid.T, strict=True)
            ]
        )
        n_ok = valid.sum(0)
        gt = np.where(valid, t_rep > t_obs, False).sum(0)
        eq = np.where(valid, np.isclose(t_rep, t_obs, atol=1e-12, rtol=0), False).sum(0)
        p = (gt + 0.5 * eq) / np.where(n_ok > 0, n_ok, np.nan)
        mean = (
            np.nanmean(np.where(valid, t_rep, np.nan), axis=0)
            if t_rep.size
            else np.full(len(t_obs), np.nan)
        )
    inside = (t_obs >= lo - 1e-12) & (t_obs <= hi + 1e-12)
    return pd.DataFrame(
        {"observed": t_obs, "pred_mean": mean, "lo": lo, "hi": hi, "p_value": p, "inside": inside}
    )


def _groups(panel: Panel, by: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Group labels (sorted unique) and int codes per observation."""
    if by is None:
        return np.array(["all"]), np.zeros(len(panel), dtype=np.int64)
    if by == "regime":
        lab = regime(panel.df).to_numpy()
    elif by in panel.df.columns:
        lab = panel.df[by].to_numpy()
    else:
        raise StructestError(f"checks: unknown grouping {by!r}; use one of {GROUPINGS} or None")
    labels, codes = np.unique(lab, return_inverse=True)
    return labels, codes.astype(np.int64)


def _group_mean(
    values: np.ndarray, codes: np.ndarray, k: int, weight: np.ndarray | None = None
) -> np.ndarray:
    """Mean of ``values`` (float[..., N]) by group -> float[..., K] (NaN for empty groups)."""
    onehot = np.zeros((codes.size, k))
    onehot[np.arange(codes.size), codes] = 1.0
    w = np.ones_like(values) if weight is None else weight.astype(float)
    num = (np.nan_to_num(values) * w) @ onehot
    den = w @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _frame(
    labels: np.ndarray, by: str | None, stat: str, body: pd.DataFrame, extra: dict | None = None
) -> pd.DataFrame:
    out = pd.DataFrame({"group": labels.astype(str), "statistic": stat})
    if by is not None:
        out.insert(0, "by", by)
    for k, v in (extra or {}).items():
        out[k] = v
    return pd.concat([out, body.reset_index(drop=True)], axis=1)


# ---------------------------------------------------------------- the checks
def ppc_mass_at_mfn(
    idata: Any, panel: Panel, by: str | None = "importer", *, prob: float = 0.9, seed: int = 0
) -> pd.DataFrame:
    """Share of observations with no preference (applied = MFN), observed vs predicted.

    Parameters
    ----------
    idata, panel
        A structest fit and the panel it was fitted to.
    by
        ``"importer"``, ``"exporter"``, ``"industry"``, ``"year"``, ``"regime"`` or None (all).
    prob
        Mass of the central predictive interval.
    seed
        Seed of the predictive error draws (ignored when ``idata`` has them).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``by, group, statistic, n, observed, pred_mean, lo, hi,
        p_value, inside``.
    """
    y_rep = _draws(idata, panel, seed)
    mfn = panel.df["mfn"].to_numpy(float)
    labels, codes = _groups(panel, by)
    k = len(labels)
    at_obs = (panel.df["tariff"].to_numpy(float) >= mfn - TOL).astype(float)
    at_rep = (np.abs(y_rep - mfn) <= TOL).astype(float)
    body = _summ(_group_mean(at_obs, codes, k), _group_mean(at_rep, codes, k), prob)
    return _frame(labels, by, "share_at_mfn", body, {"n": np.bincount(codes, minlength=k)})


def _pref_stats(pref: np.ndarray, codes: np.ndarray, k: int, qs: tuple[float, ...]) -> np.ndarray:
    """float[..., K, 3 + len(qs)]: share with preference, mean preference, mean over preferential
    observations, quantiles over preferential observations (as paper Figure 1)."""
    has = pref < -TOL
    out = [
        _group_mean(has.astype(float), codes, k),
        _group_mean(pref, codes, k),
        _group_mean(pref, codes, k, has),
    ]
    flat = pref.reshape(-1, pref.shape[-1])
    hflat = has.reshape(-1, pref.shape[-1])
    for q in qs:
        res = np.full((flat.shape[0], k), np.nan)
        for g in range(k):
            m = codes == g
            sub = np.where(hflat[:, m], flat[:, m], np.nan)
            ok = hflat[:, m].any(1)
            if ok.any():
                res[ok, g] = np.nanquantile(sub[ok], q, axis=1)
        out.append(res.reshape(*pref.shape[:-1], k))
    return np.stack(out, axis=-1)


def ppc_preference_distribution(
    idata: Any,
    panel: Panel,
    by: str | None = "regime",
    *,
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9),
    prob: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """The distribution of tariff preferences (paper Figure 1), overall and by group.

    Statistics per group: ``share_pref`` (share with a preference), ``mean_pref`` (mean
    preference, zeros included), ``mean_pref_given_pref`` and ``q<p>`` (quantiles over
    observations with a preference, as the paper's histogram).

    Returns
    -------
    pandas.DataFrame
        Rows ``group x statistic`` (group ``"all"`` first), columns as
        :func:`ppc_mass_at_mfn`.
    """
    y_rep = _draws(idata, panel, seed)
    mfn = panel.df["mfn"].to_numpy(float)
    pref_obs = panel.df["tariff"].to_numpy(float) - mfn
    names = [
        "share_pref",
        "mean_pref",
        "mean_pref_given_pref",
        *[f"q{int(round(100 * q)):02d}" for q in quantiles],
    ]
    frames = []
    for grouping in [None, by] if by is not None else [None]:
        labels, codes = _groups(panel, grouping)
        k = len(labels)
        s_obs = _pref_stats(pref_obs, codes, k, quantiles)
        s_rep = _pref_stats(y_rep - mfn, codes, k, quantiles)
        for j, name in enumerate(names):
            body = _summ(s_obs[:, j], s_rep[:, :, j], prob)
            frames.append(_frame(labels, by, name, body, {"n": np.bincount(codes, minlength=k)}))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(
        ["group", "statistic"], key=lambda s: s.map(_order(out, s.name))
    ).reset_index(drop=True)


def _order(df: pd.DataFrame, col: str) -> dict:
    return {v: i for i, v in enumerate(dict.fromkeys(df[col]))}


def ppc_industry_moments(
    idata: Any, panel: Panel, *, prob: float = 0.9, seed: int = 0
) -> pd.DataFrame:
    """Mean and s.d. of preferences by industry against the mean MFN rate (paper Figure B1).

    Returns
    -------
    pandas.DataFrame
        Rows ``industry x statistic`` (``mean_pref``, ``sd_pref``) with ``mean_mfn`` and the
        columns of :func:`ppc_mass_at_mfn`.
    """
    y_rep = _draws(idata, panel, seed)
    mfn = panel.df["mfn"].to_numpy(float)
    labels, codes = _groups(panel, "industry")
    k = len(labels)
    pref_obs = panel.df["tariff"].to_numpy(float) - mfn
    pref_rep = y_rep - mfn
    mean_mfn = _group_mean(mfn, codes, k)
    frames = []
    for name in ("mean_pref", "sd_pref"):
        if name == "mean_pref":
            t_obs, t_rep = _group_mean(pref_obs, codes, k), _group_mean(pref_rep, codes, k)
        else:
            t_obs = np.sqrt(
                np.maximum(
                    _group_mean(pref_obs**2, codes, k) - _group_mean(pref_obs, codes, k) ** 2, 0
                )
            )
            t_rep = np.sqrt(
                np.maximum(
                    _group_mean(pref_rep**2, codes, k) - _group_mean(pref_rep, codes, k) ** 2, 0
                )
            )
        extra = {"n": np.bincount(codes, minlength=k), "mean_mfn": mean_mfn}
        frames.append(_frame(labels, "industry", name, _summ(t_obs, t_rep, prob), extra))
    return pd.concat(frames, ignore_index=True)


def ppc_dva_bands(
    idata: Any, panel: Panel, *, bins: int = 10, prob: float = 0.9, seed: int = 0
) -> pd.DataFrame:
    """Preference against ln DVA (paper Figure 2): binned means with predictive bands.

    Observations are binned by deciles (``bins``) of ``log_dva``; per bin the observed mean
    preference is compared with its predictive distribution. Two extra rows: ``slope``
    (OLS slope of preference on ln DVA over all observations) and ``coverage`` (share of
    observations whose preference lies inside its own pointwise ``prob`` predictive
    interval; its ``lo``/``hi`` are the binomial ``prob`` band around ``prob``, and
    ``p_value`` is NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``group, statistic, n, log_dva`` (bin midpoint) and those of
        :func:`ppc_mass_at_mfn`.
    """
    from scipy import stats

    y_rep = _draws(idata, panel, seed)
    mfn = panel.df["mfn"].to_numpy(float)
    x = panel.df["log_dva"].to_numpy(float)
    pref_obs = panel.df["tariff"].to_numpy(float) - mfn
    pref_rep = y_rep - mfn
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    k = len(edges) - 1
    labels = np.array([f"bin{g + 1:02d}" for g in range(k)])
    mids = _group_mean(x, codes, k)
    body = _summ(_group_mean(pref_obs, codes, k), _group_mean(pref_rep, codes, k), prob)
    binned = _frame(
        labels, None, "mean_pref", body, {"n": np.bincount(codes, minlength=k), "log_dva": mids}
    )
    xc = x - x.mean()
    slope_obs = np.array([xc @ pref_obs / (xc @ xc)])
    slope_rep = (pref_rep @ xc / (xc @ xc))[:, None]
    slope = _frame(
        np.array(["all"]),
        None,
        "slope",
        _summ(slope_obs, slope_rep, prob),
        {"n": len(x), "log_dva": np.nan},
    )
    a = (1 - prob) / 2
    u = loo_pit_randomized(idata, panel, seed=seed)
    cov = float(np.mean((u >= a) & (u <= 1 - a)))
    n = len(x)
    blo, bhi = stats.binom.ppf([a, 1 - a], n, prob) / n
    cover = pd.DataFrame(
        {
            "group": ["all"],
            "statistic": ["coverage"],
            "n": [n],
            "log_dva": [np.nan],
            "observed": [cov],
            "pred_mean": [prob],
            "lo": [blo],
            "hi": [bhi],
            "p_value": [np.nan],
            "inside": [bool(blo <= cov <= bhi)],
        }
    )
    return pd.concat([binned, slope, cover], ignore_index=True)


def loo_pit_randomized(idata: Any, panel: Panel, *, seed: int = 0) -> np.ndarray:
    """Randomized LOO-PIT values for the censored (mixed discrete-continuous) tariffs.

    ``az.loo_pit`` assumes continuous outcomes; with point masses at MFN and at the lower
    bound its values pile up at 1 and 0. Here ``u = P_loo(y_rep < y) + V P_loo(y_rep = y)``
    with ``V ~ U(0, 1)`` and the PSIS weights of ``az.psislw`` (uniform under a calibrated
    model).

    Returns
    -------
    numpy.ndarray
        float[N] in [0, 1].
    """
    import arviz as az

    if "posterior_predictive" not in idata.groups():
        idata = with_posterior_predictive(idata, panel, seed=seed)
    ll = (
        idata.log_likelihood["tariff"]
        .stack(__sample__=("chain", "draw"))
        .transpose("obs", "__sample__")
    )
    y_rep = (
        idata.posterior_predictive["tariff"]
        .stack(__sample__=("chain", "draw"))
        .transpose("obs", "__sample__")
        .values
    )
    lw, _ = az.psislw(-ll, reff=1.0)
    w = np.exp(np.asarray(lw.values if hasattr(lw, "values") else lw))
    w = w / w.sum(axis=1, keepdims=True)
    y = panel.df["tariff"].to_numpy(float)[:, None]
    below = (w * (y_rep < y - TOL)).sum(1)
    equal = (w * (np.abs(y_rep - y) <= TOL)).sum(1)
    v = np.random.default_rng(seed).random(len(below))
    return np.clip(below + v * equal, 0.0, 1.0)


def ppc_summary(idata: Any, panel: Panel, *, prob: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """One row per check: groups inside their interval, smallest two-sided p-value.

    Checks: mass at MFN overall and by importer, industry, year, regime; the preference
    distribution by regime; Figure B1 moments by industry; ln-DVA bins, slope and pointwise
    coverage; the randomized LOO-PIT (Kolmogorov-Smirnov p-value against uniform).

    Returns
    -------
    pandas.DataFrame
        ``check, n_stats, n_inside, share_inside, min_p_two_sided, passed`` where
        ``passed`` = share inside >= ``prob`` - binomial slack and min two-sided p-value
        > 0.01 (a rough flag; read the tables).
    """
    from scipy import stats

    if "posterior_predictive" not in idata.groups():
        idata = with_posterior_predictive(idata, panel, seed=seed)
    parts = {"mass at MFN (all)": ppc_mass_at_mfn(idata, panel, None, prob=prob)}
    for by in ("importer", "industry", "year", "regime"):
        parts[f"mass at MFN by {by}"] = ppc_mass_at_mfn(idata, panel, by, prob=prob)
    parts["preference distribution by regime"] = ppc_preference_distribution(
        idata, panel, "regime", prob=prob
    )
    parts["mean/sd by industry (Fig. B1)"] = ppc_industry_moments(idata, panel, prob=prob)
    dva = ppc_dva_bands(idata, panel, prob=prob)
    parts["preference vs ln DVA bins (Fig. 2)"] = dva[dva["statistic"] == "mean_pref"]
    parts["slope on ln DVA"] = dva[dva["statistic"] == "slope"]
    parts["pointwise interval coverage"] = dva[dva["statistic"] == "coverage"]
    rows = []
    for name, d in parts.items():
        d = d.dropna(subset=["observed"])
        p2 = 2 * np.minimum(d["p_value"], 1 - d["p_value"])
        n = len(d)
        slack = 2.0 * np.sqrt(prob * (1 - prob) / max(n, 1))
        share = float(d["inside"].mean()) if n else np.nan
        minp = float(p2.min()) if p2.notna().any() else np.nan
        rows.append(
            {
                "check": name,
                "n_stats": n,
                "n_inside": int(d["inside"].sum()),
                "share_inside": share,
                "min_p_two_sided": minp,
                "passed": bool(
                    share >= prob - slack
                    and (np.isnan(minp) or minp > 0.01 / max(n, 1) or n == 1 and minp > 0.01)
                ),
            }
        )
    u = loo_pit_randomized(idata, panel, seed=seed)
    ks = stats.kstest(u, "uniform")
    rows.append(
        {
            "check": "randomized LOO-PIT uniform (KS)",
            "n_stats": 1,
            "n_inside": int(ks.pvalue > 0.01),
            "share_inside": float(ks.pvalue > 0.01),
            "min_p_two_sided": float(ks.pvalue),
            "passed": bool(ks.pvalue > 0.01),
        }
    )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- misspecification
def ignore_censoring(panel: Panel, model: Any = "bbj") -> tuple[Panel, Any]:
    """The simplest honest misspecification: treat every tariff as uncensored.

    Returns a panel whose MFN caps are lifted (``mfn`` = 1000 pp, ``censored`` False, so the
    likelihood uses the density at every observation) and the model with no lower bound
    (``lower = None``). Fit them with :func:`structest.fit` and check against the original
    panel: the predictive then has no mass at MFN.

    Returns
    -------
    (Panel, ModelSpec)
    """
    from .structural.spec import load_model

    spec = load_model(model)
    df = panel.df.copy()
    df["mfn"] = 1000.0
    df["censored"] = False
    df["preference"] = df["tariff"] - df["mfn"]
    meta = {**panel.meta, "variant": "censoring ignored (mfn=1000, no lower bound)"}
    return Panel(df=df, dropped=panel.dropped, meta=meta), replace(
        spec, name=f"{spec.name}_uncensored", lower=None
    )


# ---------------------------------------------------------------- LOO
def _spec_of(idata: Any) -> Any:
    from .structural.fit import fit_spec

    return fit_spec(idata)


def check_comparable(fits: Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """Problems that make PSIS-LOO comparison of ``fits`` invalid (empty: comparable).

    Pointwise log-likelihoods of censored observations are probability masses, of the others
    densities, so fits are comparable only on the same observations with the same
    censoring treatment: same observed tariffs, same MFN caps, same lower bound and the same
    per-observation censoring kind (``constant_data['kind']``).

    Raises
    ------
    StructestError
        With ``strict`` and any problem (otherwise the problems are returned for warnings).
    """
    names = list(fits)
    if len(names) < 2:
        raise StructestError("check_comparable: need at least two fits")
    ref_name, ref = names[0], fits[names[0]]
    problems: list[str] = []
    for name in names:
        if "log_likelihood" not in fits[name].groups():
            problems.append(f"'{name}' has no log_likelihood group")
    for name in names[1:]:
        other = fits[name]
        a, b = ref.observed_data["tariff"].values, other.observed_data["tariff"].values
        if a.shape != b.shape or not np.allclose(a, b):
            problems.append(
                f"'{name}' and '{ref_name}' are fitted to different observations ({a.shape[0]} vs {b.shape[0]})"
            )
            continue
        for key, what in (
            ("mfn", "MFN caps"),
            ("lower", "lower bounds"),
            ("kind", "censoring treatment"),
        ):
            x, y = ref.constant_data[key].values, other.constant_data[key].values
            same = np.array_equal(x, y) if key == "kind" else np.allclose(x, y, equal_nan=True)
            if not same:
                n = (
                    int((x != y).sum())
                    if key == "kind"
                    else int((~np.isclose(x, y, equal_nan=True)).sum())
                )
                problems.append(
                    f"'{name}' and '{ref_name}' differ in {what} ({n} observation(s)): their pointwise "
                    "log-likelihoods mix densities and probability masses differently and are not comparable"
                )
    if problems and strict:
        raise StructestError("models not comparable by LOO:\n  - " + "\n  - ".join(problems))
    return problems


def loo_compare(
    fits: Mapping[str, Any], *, strict: bool = True, k_threshold: float = 0.7
) -> pd.DataFrame:
    """PSIS-LOO comparison (``az.compare``) after :func:`check_comparable`.

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (rank, elpd_loo, p_loo, elpd_diff, weight, se, dse, warning)
        plus ``n_high_k`` (informative observations with Pareto k > ``k_threshold``) and
        ``model``.
    """
    import warnings

    import arviz as az

    problems = check_comparable(fits, strict=strict)
    for p in problems:
        warnings.warn(p, UserWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loos = {k: az.loo(v, pointwise=True) for k, v in fits.items()}
        table = az.compare(loos)
    informative = {m: fits[m].constant_data["kind"].values != 3 for m in table.index}
    table["n_high_k"] = [
        int((loos[m].pareto_k.values[informative[m]] > k_threshold).sum()) for m in table.index
    ]
    table["model"] = [_spec_of(fits[m]).name for m in table.index]
    return table


def pareto_k_table(idata: Any, *, k_threshold: float = 0.7) -> pd.DataFrame:
    """Observations with high Pareto k in PSIS-LOO, with their keys and censoring kind.

    Returns
    -------
    pandas.DataFrame
        ``importer, exporter, industry, year, tariff, mfn, kind, pareto_k`` for k >
        ``k_threshold``, sorted by k (descending); observations with ``mfn <= lower``
        (log-likelihood identically 0, k undefined) are left out.
    """
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata, pointwise=True)
    k = loo.pareto_k.values
    od = idata.observed_data
    frame = pd.DataFrame(
        {c: od[c].values for c in ("importer", "exporter", "industry", "year") if c in od.coords}
    )
    frame["tariff"] = od["tariff"].values
    frame["mfn"] = idata.constant_data["mfn"].values
    kinds = np.array(["exact", "at MFN", "at lower bound", "uninformative"])
    frame["kind"] = kinds[idata.constant_data["kind"].values.astype(int)]
    frame["pareto_k"] = k
    frame = frame[frame["kind"] != "uninformative"]  # log-likelihood identically 0: k undefined
    return (
        frame[frame["pareto_k"] > k_threshold]
        .sort_values("pareto_k", ascending=False)
        .reset_index(drop=True)
    )


# ---------------------------------------------------------------- prior predictive
def prior_predictive_draws(
    panel: Panel, model: Any = "bbj", *, n: int = 500, seed: int = 0, priors: Mapping | None = None
) -> np.ndarray:
    """Latent prior-predictive tariffs ``t* + e`` (pp) before censoring, float[n, N]."""
    import jax
    from numpyro.infer import Predictive

    from .structural.design import build_design
    from .structural.draws import posterior_params
    from .structural.likelihood import tstar
    from .structural.numpyro_model import model as np_model
    from .structural.spec import load_model

    spec = load_model(model).with_priors(priors)
    design = build_design(panel, spec)
    sizes = {e: len(v) for e, v in design.levels.items()}
    gsizes = {p: len(v) for p, v in design.groups.items()}
    sites = [
        *spec.structural,
        "sigma",
        *(["nu"] if spec.errors == "student_t" else []),
        *[f"{p}_group" for p in spec.hierarchy],
        *[f"fe_{e}" for e in spec.effects],
    ]
    out = Predictive(np_model, num_samples=n, return_sites=sites)(
        jax.random.PRNGKey(seed), design.arrays, spec, sizes, gsizes, False
    )
    ds = xr.Dataset(
        {
            k: (
                ("chain", "draw", *[f"{k}_d{i}" for i in range(np.ndim(v) - 1)]),
                np.asarray(v)[None],
            )
            for k, v in out.items()
        }
    )
    params = posterior_params(ds, spec)
    arr = {k: jax.numpy.asarray(v) for k, v in design.arrays.items()}
    ts = np.asarray(
        jax.jit(jax.vmap(lambda p: tstar(p, arr)))(
            {k: jax.numpy.asarray(v) for k, v in params.items()}
        )
    )
    rng = np.random.default_rng(seed)
    sig = params["sigma"][:, None]
    e = (
        rng.standard_t(params["nu"][:, None], ts.shape)
        if spec.errors == "student_t"
        else rng.standard_normal(ts.shape)
    )
    return ts + sig * e


def prior_predictive_check(
    panel: Panel,
    model: Any = "bbj",
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
    from .structural.spec import load_model

    spec = load_model(model)
    lat = prior_predictive_draws(panel, spec, n=n, seed=seed, priors=priors)
    mfn = panel.df["mfn"].to_numpy(float)
    app = np.minimum(lat if spec.lower is None else np.maximum(lat, spec.lower), mfn)
    lo, hi = plausible
    rows = []
    for name, v in (("latent", lat), ("applied", app)):
        row = {
            "draws": name,
            "share_in_range": float(np.mean((v >= lo) & (v <= hi))),
            "share_below": float(np.mean(v < lo)),
            "share_above": float(np.mean(v > hi)),
            "share_at_mfn": float(np.mean(np.abs(v - mfn) <= TOL)),
        }
        row.update({f"q{int(round(100 * q)):02d}": float(np.quantile(v, q)) for q in quantiles})
        rows.append(row)
    obs = panel.df["tariff"].to_numpy(float)
    row = {
        "draws": "observed",
        "share_in_range": float(np.mean((obs >= lo) & (obs <= hi))),
        "share_below": float(np.mean(obs < lo)),
        "share_above": float(np.mean(obs > hi)),
        "share_at_mfn": float(np.mean(obs >= mfn - TOL)),
    }
    row.update({f"q{int(round(100 * q)):02d}": float(np.quantile(obs, q)) for q in quantiles})
    rows.append(row)
    return pd.DataFrame(rows).set_index("draws")
