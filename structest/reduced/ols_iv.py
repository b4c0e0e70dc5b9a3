"""OLS and 2SLS with high-dimensional fixed effects: a thin layer over pyfixest.

Small-sample correction of the clustered covariance (default): ``G/(G-1)`` only, i.e.
``pyfixest.ssc(k_adj=False, G_adj=True)``. This is the correction applied to the Tobit
sandwich too, so that OLS, IV and Tobit SEs are comparable, and it equals linearmodels'
clustered covariance (``debiased=False``) times ``G/(G-1)``. Pass ``ssc=`` to use another
(e.g. ``pyfixest.ssc()`` for the Stata-reghdfe style ``(N-1)/(N-K) x G/(G-1)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError, SpecError
from .data import Sample
from .formula import Formula
from .results import Results

#: Default small-sample correction (see module docstring).
DEFAULT_SSC: dict[str, Any] = {
    "k_adj": False,
    "k_fixef": "none",
    "G_adj": True,
    "G_df": "conventional",
}


#: Allowed values of the keys of ``ssc`` (keyword arguments of ``pyfixest.ssc``).
SSC_VALUES: dict[str, tuple[object, ...]] = {
    "k_adj": (True, False),
    "k_fixef": ("none", "full", "nonnested"),
    "G_adj": (True, False),
    "G_df": ("conventional", "min"),
}
#: pyfixest's deprecated ``ssc`` keywords and their new names.
_SSC_RENAMED = {"adj": "k_adj", "fixef_k": "k_fixef", "cluster_df": "G_df", "cluster_adj": "G_adj"}


def check_ssc(ssc: object) -> dict[str, Any] | None:
    """Validate the small-sample-correction option (``None`` or a mapping of
    ``pyfixest.ssc`` keywords); returns a plain dict (or ``None``).

    Raises
    ------
    OptionError
        ``ssc`` is not a mapping, has a key other than those of :data:`SSC_VALUES`, or a
        value outside the allowed ones (``k_adj``/``G_adj`` must be booleans).
    """
    if ssc is None:
        return None
    if not isinstance(ssc, Mapping):
        shown = repr(ssc) if len(repr(ssc)) <= 60 else repr(ssc)[:60] + "..."
        raise OptionError(
            f"ssc must be a mapping of pyfixest.ssc() keywords (e.g. {{'k_adj': False, "
            f"'G_adj': True}}) or None, got {shown} ({type(ssc).__name__})"
        )
    out: dict[str, Any] = {}
    for key, value in ssc.items():
        if key not in SSC_VALUES:
            renamed = _SSC_RENAMED.get(key) if isinstance(key, str) else None
            hint = f" (pyfixest's old name of {renamed!r})" if renamed else ""
            raise OptionError(f"ssc: unknown key {key!r}{hint}; allowed: {', '.join(SSC_VALUES)}")
        allowed = SSC_VALUES[key]
        if isinstance(value, np.bool_):
            value = bool(value)
        ok = (
            isinstance(value, bool) if allowed[0] is True else isinstance(value, str)
        ) and value in allowed
        if not ok:
            raise OptionError(
                f"ssc[{key!r}] must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"
            )
        out[key] = value
    return out


def _ssc(ssc: dict[str, Any] | None) -> dict[str, Any]:
    import pyfixest as pf

    return pf.ssc(**(DEFAULT_SSC if ssc is None else check_ssc(ssc)))


def _feols(
    fml: str, df: pd.DataFrame, cluster: str | None, ssc: dict[str, Any] | None, f: Formula
) -> Any:
    import pyfixest as pf

    vcov: Any = {"CRV1": cluster} if cluster else "hetero"
    ssc_arg = _ssc(ssc)  # outside the try: an OptionError is not a pyfixest failure
    if cluster is not None and df[cluster].nunique() < 2:
        raise EstimationError(
            f"cluster-robust standard errors need at least 2 clusters: column '{cluster}' has "
            f"{df[cluster].nunique()} value in the {len(df)} observation(s) of the sample"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pf.feols(fml, df, vcov=vcov, ssc=ssc_arg, fixef_rm="none", fixef_tol=1e-10)
    except Exception as exc:  # pyfixest raises many error types on bad input
        msg = " ".join(str(exc).split())
        if "All variables are collinear" in msg:
            fe = " + ".join(f.fe) if f.fe else "the intercept"
            rhs = ", ".join(f.regressors) or "intercept only"
            if f.is_iv:
                rhs += f"; or the excluded instruments {', '.join(f.instruments)}"
            raise EstimationError(
                f"'{fml}': every regressor ({rhs}) is absorbed by the fixed effects {fe} "
                f"(constant within their cells) or collinear: nothing to estimate on these "
                f"{len(df)} observations"
            ) from exc
        raise SpecError(f"pyfixest could not fit '{fml}': {msg}") from exc


def _check_information(fit: Any, f: Formula, sample: Sample, what: str) -> None:
    """Refuse fits without residual degrees of freedom or without residual variation."""
    from .hdfe import encode, fe_rank, no_dof_message

    df = sample.df
    n = int(fit._N)
    p = len(fit._coefnames)
    fe = encode(df, f.fe)
    rank, levels, exact = fe_rank(fe)
    if exact and n - rank - p <= 0:
        raise EstimationError(f"{what}: " + no_dof_message(n, fe, rank, levels, p, ""))
    y = pd.to_numeric(df[f.depvar], errors="coerce").to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise EstimationError(
            f"{what}: '{f.depvar}' does not vary in the estimation sample (all {len(y)} values "
            f"equal {y[0]:g}): nothing to explain"
        )
    u = np.asarray(fit._u_hat, dtype=float).ravel()
    if float(u @ u) <= 1e-20 * float(((y - y.mean()) ** 2).sum()):
        raise EstimationError(
            f"{what}: perfect fit: the fixed effects ({' + '.join(f.fe) or 'none'}) and "
            f"regressors explain '{f.depvar}' exactly (no residual variation in {n} "
            "observations): standard errors are zero"
        )


def _series(fit: Any, kind: str) -> pd.Series:
    s = fit.coef() if kind == "coef" else fit.se()
    s = s.copy()
    s.index = [str(i) for i in s.index]
    s.name = kind
    return s


def _order(names: list[str], f: Formula) -> list[str]:
    wanted = [n for n in f.regressors if n in names]
    return wanted + [n for n in names if n not in wanted]


def _result_from_fit(
    fit: Any, f: Formula, sample: Sample, estimator: str, cluster: str | None
) -> Results:
    names = [str(n) for n in fit._coefnames]
    order = _order(names, f)
    params = _series(fit, "coef").reindex(order)
    se = _series(fit, "se").reindex(order)
    vcov = pd.DataFrame(np.asarray(fit._vcov), index=names, columns=names).loc[order, order]
    n_used = int(fit._N)
    notes = []
    collin = [str(v) for v in (getattr(fit, "_collin_vars", None) or [])]
    if collin:
        notes.append(f"dropped as collinear with the fixed effects / regressors: {collin}")
    if n_used != len(sample.df):  # should not happen: NaNs were removed beforehand
        sample.dropped.append(("removed by pyfixest", len(sample.df) - n_used))
    G = None
    if cluster:
        G = int(np.atleast_1d(fit._G)[0])
    r2w = getattr(fit, "_r2_within", None)
    return Results(
        estimator=estimator,
        formula=f.text,
        params=params,
        se=se,
        vcov=vcov,
        nobs=n_used,
        dropped=tuple(sample.dropped),
        dropped_obs=sample.dropped_frame(),
        fe=f.fe,
        cluster=cluster,
        n_clusters=G,
        r2=float(fit._r2) if np.isfinite(fit._r2) else None,
        r2_within=None if r2w is None or not np.isfinite(r2w) else float(r2w),
        df_t=(G - 1) if G else None,
        notes=notes,
        extra={"pyfixest": fit},
    )


def fit_ols(
    f: Formula, sample: Sample, *, cluster: str | None = "pair", ssc: dict[str, Any] | None = None
) -> Results:
    """OLS with absorbed fixed effects and clustered SEs (pyfixest ``feols``).

    Parameters
    ----------
    f
        Parsed formula without an IV part.
    sample
        Estimation sample (see :func:`~structest.reduced.data.build_sample`).
    cluster
        Cluster column (``None``: heteroskedasticity-robust).
    ssc
        Keyword arguments of ``pyfixest.ssc``; default :data:`DEFAULT_SSC`.

    Raises
    ------
    OptionError
        ``ssc`` is not ``None`` or a mapping of valid ``pyfixest.ssc`` keywords.
    """
    ssc = check_ssc(ssc)
    if f.is_iv:
        raise SpecError(f"formula '{f.text}' has an IV part; use estimator='iv'")
    fit = _feols(f.to_pyfixest(), sample.df, cluster, ssc, f)
    _check_information(fit, f, sample, "ols")
    return _result_from_fit(fit, f, sample, "ols", cluster)


def first_stage_stats(
    f: Formula, sample: Sample, cluster: str | None, ssc: dict[str, Any] | None
) -> dict[str, Any]:
    """First-stage diagnostics for each endogenous regressor.

    Returns a dict with, per endogenous variable, the cluster-robust Wald F of the excluded
    instruments (with one endogenous regressor this *is* the Kleibergen-Paap rk Wald F
    statistic, up to the same small-sample factor) and its p-value, the first-stage
    coefficients, the partial R-squared of the excluded instruments, and pyfixest's
    Olea-Pflueger effective F where available.
    """
    out: dict[str, Any] = {}
    for endog in f.endog:
        rhs = " + ".join([*f.exog, *f.instruments])
        fml = f"{endog} ~ {rhs}" + (f" | {' + '.join(f.fe)}" if f.fe else "")
        fit = _feols(fml, sample.df, cluster, ssc, f)
        names = [str(n) for n in fit._coefnames]
        idx = [names.index(z) for z in f.instruments if z in names]
        if len(idx) < len(f.instruments):
            lost = [z for z in f.instruments if z not in names]
            raise EstimationError(
                f"first stage of '{endog}': excluded instrument(s) {lost} are absorbed by the "
                f"fixed effects ({' + '.join(f.fe) or 'none'}) or collinear with the exogenous "
                "regressors: they carry no information"
            )
        b = np.asarray(fit._beta_hat)[idx]
        V = np.asarray(fit._vcov)[np.ix_(idx, idx)]
        wald = float(b @ np.linalg.solve(V, b)) / max(len(idx), 1)
        from scipy import stats

        G = int(np.atleast_1d(fit._G)[0]) if cluster else None
        df2 = (G - 1) if G else int(fit._N) - len(names)
        # partial R2 of the excluded instruments (FE and exogenous regressors partialled out)
        X = np.asarray(fit._X)
        y = np.asarray(fit._Y).ravel()
        exo_idx = [i for i in range(len(names)) if i not in idx]
        if exo_idx:
            Xe = X[:, exo_idx]
            proj = Xe @ np.linalg.lstsq(Xe, np.column_stack([y, X[:, idx]]), rcond=None)[0]
            ry = y - proj[:, 0]
            rz = X[:, idx] - proj[:, 1:]
        else:
            ry, rz = y, X[:, idx]
        fitted = rz @ np.linalg.lstsq(rz, ry, rcond=None)[0]
        partial_r2 = float(fitted @ fitted / (ry @ ry))
        out[endog] = {
            "F_cluster": wald,
            "F_p": float(stats.f.sf(wald, len(idx), df2)),
            "partial_r2": partial_r2,
            "coef": dict(zip([names[i] for i in idx], b.tolist(), strict=True)),
        }
        if len(f.endog) == 1:
            out[endog]["kleibergen_paap_F"] = wald
    return out


def fit_iv(
    f: Formula, sample: Sample, *, cluster: str | None = "pair", ssc: dict[str, Any] | None = None
) -> Results:
    """2SLS with absorbed fixed effects (pyfixest), clustered SEs and first-stage diagnostics.

    Parameters
    ----------
    f
        Parsed formula with an IV part ``endog ~ instruments``.
    sample, cluster, ssc
        As in :func:`fit_ols`.
    """
    ssc = check_ssc(ssc)
    if not f.is_iv:
        raise SpecError(
            f"formula '{f.text}' has no IV part; write it as "
            "'dep ~ exog | fe1 + fe2 | endog ~ instrument'"
        )
    fit = _feols(f.to_pyfixest(), sample.df, cluster, ssc, f)
    _check_information(fit, f, sample, "iv")
    res = _result_from_fit(fit, f, sample, "iv", cluster)
    res.first_stage = first_stage_stats(f, sample, cluster, ssc)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit.first_stage()
            fit.IV_Diag()
        if len(f.endog) == 1:
            res.first_stage[f.endog[0]]["effective_F"] = float(fit._eff_F)
    except Exception as exc:  # diagnostics are optional extras
        res.notes.append(f"pyfixest IV diagnostics unavailable: {exc}")
    return res
