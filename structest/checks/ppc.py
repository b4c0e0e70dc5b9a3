"""Posterior predictive checks of tariff preferences (paper Figures 1, 2 and B1).

Every check compares a statistic ``T(y)`` of the observed panel with its distribution over
posterior-predictive replications ``y_rep`` (draw t*, add the error, apply the lower bound
and the MFN cap) and returns a tidy DataFrame with the columns

``observed``, ``pred_mean``, ``lo``, ``hi`` (central ``prob`` predictive interval),
``p_value`` (mid-p posterior predictive p-value ``P(T(y_rep) > T(y)) + P(=)/2``) and
``inside`` (``lo <= observed <= hi``).

Tariff preference = applied - MFN (pp, <= 0); "at MFN" = no preference. Each function
takes a :class:`~structest.structural.results.StructuralFit` (or a structest
``InferenceData``) and, optionally, the panel it was fitted to (checked, never assumed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data.describe import regime
from ..equations import record
from ..errors import OptionError, StructestError
from ..panel import MFN_TOL, Panel
from ..structural.io import PANEL_GROUP
from ..structural.posterior import posterior_errors, tstar_draws
from ..structural.results import StructuralFit, as_fit

#: largest number of posterior draws used by the checks (thinned evenly beyond it)
MAX_DRAWS: int = 1000
#: grouping columns accepted by the by-group checks
GROUPINGS: tuple[str, ...] = ("importer", "exporter", "industry", "year", "regime")
_COLS = ["observed", "pred_mean", "lo", "hi", "p_value", "inside"]


# ---------------------------------------------------------------- predictive draws
def _thin(idata: Any, max_draws: int) -> Any:
    post = idata.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    if n <= max_draws:
        return idata
    step = int(np.ceil(n / max_draws))
    thinned = ("posterior", "log_likelihood", "log_prior", "sample_stats")
    groups = [g for g in thinned if g in idata.groups()]
    return idata.isel(draw=slice(None, None, step), groups=groups)


def posterior_predictive(
    fit: Any, panel: Panel | None = None, *, seed: int = 0, max_draws: int = MAX_DRAWS
) -> xr.DataArray:
    """Posterior-predictive tariffs, recorded as the fitted panel records them.

    A replicated tariff is recorded at MFN (``constant_data['mfn']``) when its applied rate
    reaches the panel's threshold (``constant_data['threshold']``: ``mfn_threshold``, from
    which the data build records no preference; the MFN rate itself when the panel has no
    such column), and at the spec's lower bound below it (:func:`structest.equations.record`).
    A fit that ignored censoring therefore predicts uncensored tariffs.

    Parameters
    ----------
    fit
        A structest fit.
    panel
        The panel it was fitted to (default: the one stored in the fit).
    seed
        Seed of the error draws.
    max_draws
        Thin the posterior evenly to at most this many draws.

    Returns
    -------
    xarray.DataArray
        ``tariff`` with dims ``(chain, draw, obs)``.
    """
    f = as_fit(fit, panel)
    post = _thin(f.idata, max_draws).posterior
    arrays = f.design.arrays
    ts = tstar_draws(post, f.spec, arrays)
    latent = ts + posterior_errors(post, f.spec, ts.shape[-1], seed, arrays)
    # recorded as the fitted panel records tariffs: at MFN from its threshold on
    const = f.idata.constant_data
    mfn = np.asarray(const["mfn"].values, float)
    threshold = np.asarray(const["threshold"].values, float) if "threshold" in const else mfn
    vals = record(latent, mfn, threshold, f.spec.lower)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    coords.update(
        {k: ("obs", v.values) for k, v in f.idata.observed_data.coords.items() if k != "obs"}
    )
    return xr.DataArray(vals, dims=("chain", "draw", "obs"), coords=coords, name="tariff")


def with_posterior_predictive(
    fit: Any,
    panel: Panel | None = None,
    *,
    seed: int = 0,
    max_draws: int = MAX_DRAWS,
    replace: bool | None = None,
) -> StructuralFit:
    """The fit (thinned to ``max_draws``) with a ``posterior_predictive`` group.

    ``posterior_predictive`` holds ``tariff`` (applied) and ``preference`` (applied - the
    panel's MFN); ``observed_data`` gains ``preference``. Use ``.idata`` with
    ``az.plot_ppc(fit.idata, var_names=["preference"])``. The input is not changed.

    Parameters
    ----------
    fit, panel
        A structest fit and, optionally, the panel it was fitted to.
    seed
        Seed of the predictive error draws.
    max_draws
        Thin the posterior evenly to at most this many draws.
    replace
        What to do when the fit already has a ``posterior_predictive`` group: None
        (default) replaces it with a :class:`UserWarning`; True replaces it silently; False
        refuses with a :class:`~structest.errors.StructestError`.

    Raises
    ------
    OptionError
        ``replace`` or ``max_draws`` of the wrong type or range.
    StructestError
        ``replace=False`` and the fit already has a posterior predictive group.
    """
    import warnings

    import arviz as az

    if replace is not None and not isinstance(replace, bool):
        raise OptionError(f"replace: expected True, False or None, got {replace!r}")
    if isinstance(max_draws, bool) or not isinstance(max_draws, (int, np.integer)):
        raise OptionError(f"max_draws: expected a positive integer, got {max_draws!r}")
    if max_draws < 1:
        raise OptionError(f"max_draws: expected a positive integer, got {max_draws}")
    f = as_fit(fit, panel)
    had = "posterior_predictive" in f.idata.groups()
    if had and replace is False:
        raise StructestError(
            "with_posterior_predictive: the fit already has a posterior_predictive group; "
            "use it as it is, or pass replace=True to draw it again"
        )
    if had and replace is None:
        warnings.warn(
            "with_posterior_predictive: the fit's existing posterior_predictive group is "
            "replaced by new draws (pass replace=True to silence this)",
            UserWarning,
            stacklevel=2,
        )
    thinned = _thin(f.idata, max_draws)
    pred = posterior_predictive(f, seed=seed, max_draws=max_draws)
    mfn = f.panel.df["mfn"].to_numpy(float)
    pp = xr.Dataset({"tariff": pred, "preference": (pred - mfn).rename("preference")})
    # a new InferenceData from the public groups() / attribute access (ArviZ's own
    # InferenceData refuses add_groups of an existing group)
    groups = {g: getattr(thinned, g) for g in thinned.groups() if g != "posterior_predictive"}
    groups["posterior_predictive"] = pp
    groups["observed_data"] = groups["observed_data"].assign(
        preference=("obs", f.panel.df["tariff"].to_numpy(float) - mfn)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=f".*{PANEL_GROUP}.*InferenceData scheme.*")
        idata = az.InferenceData(**groups)
    return StructuralFit(idata=idata, spec=f.spec, panel=f.panel, design=f.design)


def _draws(f: StructuralFit, seed: int) -> np.ndarray:
    """Predictive applied tariffs as float[S, N] (cached group first)."""
    if "posterior_predictive" in f.idata.groups() and "tariff" in f.idata.posterior_predictive:
        v = f.idata.posterior_predictive["tariff"].values
    else:
        v = posterior_predictive(f, seed=seed).values
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
    fit: Any,
    panel: Panel | None = None,
    by: str | None = "importer",
    *,
    prob: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Share of observations with no preference (applied = MFN), observed vs predicted.

    Parameters
    ----------
    fit, panel
        A structest fit and, optionally, the panel it was fitted to.
    by
        ``"importer"``, ``"exporter"``, ``"industry"``, ``"year"``, ``"regime"`` or None (all).
    prob
        Mass of the central predictive interval.
    seed
        Seed of the predictive error draws (ignored when the fit has them).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``by, group, statistic, n, observed, pred_mean, lo, hi,
        p_value, inside``.
    """
    f = as_fit(fit, panel)
    panel = f.panel
    y_rep = _draws(f, seed)
    mfn = panel.df["mfn"].to_numpy(float)
    labels, codes = _groups(panel, by)
    k = len(labels)
    at_obs = (panel.df["tariff"].to_numpy(float) >= mfn - MFN_TOL).astype(float)
    at_rep = (np.abs(y_rep - mfn) <= MFN_TOL).astype(float)
    body = _summ(_group_mean(at_obs, codes, k), _group_mean(at_rep, codes, k), prob)
    return _frame(labels, by, "share_at_mfn", body, {"n": np.bincount(codes, minlength=k)})


def _pref_stats(pref: np.ndarray, codes: np.ndarray, k: int, qs: tuple[float, ...]) -> np.ndarray:
    """float[..., K, 3 + len(qs)]: share with preference, mean preference, mean over preferential
    observations, quantiles over preferential observations (as paper Figure 1)."""
    has = pref < -MFN_TOL
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
    fit: Any,
    panel: Panel | None = None,
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
    f = as_fit(fit, panel)
    panel = f.panel
    y_rep = _draws(f, seed)
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
    fit: Any, panel: Panel | None = None, *, prob: float = 0.9, seed: int = 0
) -> pd.DataFrame:
    """Mean and s.d. of preferences by industry against the mean MFN rate (paper Figure B1).

    Returns
    -------
    pandas.DataFrame
        Rows ``industry x statistic`` (``mean_pref``, ``sd_pref``) with ``mean_mfn`` and the
        columns of :func:`ppc_mass_at_mfn`.
    """
    f = as_fit(fit, panel)
    panel = f.panel
    y_rep = _draws(f, seed)
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
    fit: Any, panel: Panel | None = None, *, bins: int = 10, prob: float = 0.9, seed: int = 0
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

    f = as_fit(fit, panel)
    panel = f.panel
    y_rep = _draws(f, seed)
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
    u = loo_pit_randomized(f, seed=seed)
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


def loo_pit_randomized(fit: Any, panel: Panel | None = None, *, seed: int = 0) -> np.ndarray:
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

    f = as_fit(fit, panel)
    if "posterior_predictive" not in f.idata.groups():
        f = with_posterior_predictive(f, seed=seed)
    idata = f.idata
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
    y = f.panel.df["tariff"].to_numpy(float)[:, None]
    below = (w * (y_rep < y - MFN_TOL)).sum(1)
    equal = (w * (np.abs(y_rep - y) <= MFN_TOL)).sum(1)
    v = np.random.default_rng(seed).random(len(below))
    return np.clip(below + v * equal, 0.0, 1.0)


def ppc_summary(
    fit: Any, panel: Panel | None = None, *, prob: float = 0.9, seed: int = 0
) -> pd.DataFrame:
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

    f = as_fit(fit, panel)
    if "posterior_predictive" not in f.idata.groups():
        f = with_posterior_predictive(f, seed=seed)
    parts = {"mass at MFN (all)": ppc_mass_at_mfn(f, None, None, prob=prob)}
    for by in ("importer", "industry", "year", "regime"):
        parts[f"mass at MFN by {by}"] = ppc_mass_at_mfn(f, None, by, prob=prob)
    parts["preference distribution by regime"] = ppc_preference_distribution(
        f, None, "regime", prob=prob
    )
    parts["mean/sd by industry (Fig. B1)"] = ppc_industry_moments(f, prob=prob)
    dva = ppc_dva_bands(f, prob=prob)
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
    u = loo_pit_randomized(f, seed=seed)
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
