"""OLS and 2SLS with high-dimensional fixed effects: a thin layer over pyfixest.

Small-sample correction of the clustered covariance (option ``ssc``):

- ``"cluster"`` (the default; also ``None``): ``G/(G-1)`` only, i.e.
  ``pyfixest.ssc(k_adj=False, G_adj=True)``. It equals linearmodels' clustered covariance
  (``debiased=False``) times ``G/(G-1)``. Without clusters (``cluster=None``) it is HC0.
- ``"stata"``: ``(N-1)/(N-K) x G/(G-1)``, as Stata's ``areg``, ``reghdfe`` and
  ``ivreg2, small`` with ``vce(cluster)`` (without clusters: ``N/(N-K)``, Stata's HC1).
  ``K`` counts the slope coefficients plus the absorbed fixed effects: ``K = p +
  rank(D)``, with ``D`` the dummies of the fixed-effect terms that are NOT nested in the
  clusters (an effect whose every level lies within one cluster is dropped from ``K``, as
  reghdfe does; the constant it absorbs is kept: ``K = p + 1`` when every effect is
  nested). ``rank(D)`` is exact (levels minus connected components for two effects, as
  reghdfe's pairwise redundancy check; an eigen-decomposition for three or more effects up
  to :data:`~structest.reduced.hdfe.DENSE_RANK_MAX` levels; above that an upper bound,
  recorded in the notes). With the paper's effects (importer-industry-year +
  exporter-industry-year, clusters importer-exporter) nothing is nested and ``K`` is in the
  hundreds: the SEs are about 12% larger on the bundled panel (eq. 16: 0.282 vs 0.251;
  pyfixest's own ``k_fixef="nonnested"`` count, levels minus one per further effect, ignores
  the 29 disconnected groups and gives 0.283).
- a mapping of ``pyfixest.ssc()`` keywords (``k_adj``, ``k_fixef``, ``G_adj``, ``G_df``),
  passed to pyfixest (and reproduced with ``pyfixest.utils.utils.get_ssc`` where
  structest computes the covariance itself: 2SLS with several endogenous regressors,
  first-stage and Anderson-Rubin statistics).

Why ``"cluster"`` is the default: the Tobit and Tobit-IV sandwiches use ``G/(G-1)`` only
(as Stata's ML commands with ``vce(cluster)``), so OLS, IV and Tobit columns of a table
differ only by the estimator; the clustered covariance is consistent in the number of
clusters ``G``, and ``(N-1)/(N-K)`` depends on how absorbed effects are counted (areg,
reghdfe and xtreg differ when effects nest in clusters). Pass ``ssc="stata"`` to reproduce
the standard errors of the paper's Stata tables (OLS and linear IV).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError, SpecError
from . import _pyfixest as pfx
from ._pyfixest import import_pyfixest
from .data import Sample
from .formula import Formula
from .results import Results

#: Default small-sample correction (``ssc="cluster"``; see module docstring).
DEFAULT_SSC: dict[str, Any] = {
    "k_adj": False,
    "k_fixef": "none",
    "G_adj": True,
    "G_df": "conventional",
}

#: Named small-sample corrections accepted as ``ssc=`` (see module docstring).
SSC_NAMES: dict[str, str] = {
    "cluster": "G/(G-1) only (the default)",
    "stata": "(N-1)/(N-K) x G/(G-1), K counting absorbed fixed effects (Stata areg/reghdfe)",
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

#: What ``ssc`` may be, quoted in every refusal.
_SSC_FORMS = (
    "a mapping of pyfixest.ssc() keywords (e.g. {'k_adj': False, 'G_adj': True}), "
    "'cluster' (G/(G-1), the default), 'stata' ((N-1)/(N-K) x G/(G-1)) or None"
)


def check_ssc(ssc: object) -> dict[str, Any] | str | None:
    """Validate the small-sample-correction option.

    ``None`` and ``"cluster"`` (the default correction), ``"stata"`` or a mapping of
    ``pyfixest.ssc`` keywords; returns ``None``, the name, or a plain dict.

    Raises
    ------
    OptionError
        ``ssc`` is another string (with a hint for other spellings of the names), not a
        mapping, has a key other than those of :data:`SSC_VALUES`, or a value outside the
        allowed ones (``k_adj``/``G_adj`` must be booleans).
    """
    if ssc is None:
        return None
    if isinstance(ssc, str):
        if ssc in SSC_NAMES:
            return ssc
        shown = repr(ssc) if len(repr(ssc)) <= 60 else repr(ssc)[:60] + "..."
        near = ssc.strip().lower()
        hint = f" (did you mean {near!r}?)" if near in SSC_NAMES else ""
        raise OptionError(f"ssc must be {_SSC_FORMS}, got {shown} (str){hint}")
    if not isinstance(ssc, Mapping):
        shown = repr(ssc) if len(repr(ssc)) <= 60 else repr(ssc)[:60] + "..."
        raise OptionError(f"ssc must be {_SSC_FORMS}, got {shown} ({type(ssc).__name__})")
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


def _nested_in_cluster(df: pd.DataFrame, terms: tuple[str, ...], cluster: str | None) -> list[bool]:
    """For each fixed-effect term: is every level within a single cluster?"""
    if cluster is None or not terms:
        return [False] * len(terms)
    from .hdfe import encode

    fe = encode(df, terms)
    g = pd.factorize(df[cluster])[0]
    out = []
    for k, size in enumerate(fe.sizes):
        codes = fe.codes[:, k] - int(sum(fe.sizes[:k]))
        n_clusters = pd.Series(g).groupby(codes).nunique()
        out.append(bool(len(n_clusters) == size and (n_clusters <= 1).all()))
    return out


def stata_k(
    df: pd.DataFrame, terms: tuple[str, ...], n_coef: int, cluster: str | None
) -> tuple[int, str]:
    """``K`` of the ``"stata"`` correction: ``n_coef`` + rank of the non-nested effects.

    Parameters
    ----------
    df
        The estimation sample.
    terms
        Fixed-effect terms.
    n_coef
        Number of estimated slope coefficients (an ``Intercept`` column counts when there
        are no fixed effects).
    cluster
        Cluster column (effects nested in it are not counted) or ``None``.

    Returns
    -------
    (K, how)
        ``how`` describes the count, for the notes.
    """
    if not terms:
        return n_coef, f"K = {n_coef} coefficient(s)"
    from .hdfe import encode, fe_rank

    nested = _nested_in_cluster(df, terms, cluster)
    kept = tuple(t for t, n in zip(terms, nested, strict=True) if not n)
    dropped = [t for t, n in zip(terms, nested, strict=True) if n]
    if not kept:
        rank, exact = 1, True
    else:
        rank, _, exact = fe_rank(encode(df, kept))
    how = f"K = {n_coef} coefficient(s) + {rank} absorbed effect(s) ({' + '.join(kept) or 'constant'})"
    if dropped:
        how += f"; {' + '.join(dropped)} nested in the clusters, not counted"
    if not exact:
        how += "; the effect rank is an upper bound (3+ effects, many levels)"
    return n_coef + rank, how


def ssc_factor(
    ssc: dict[str, Any] | str | None,
    *,
    df: pd.DataFrame,
    terms: tuple[str, ...],
    n_coef: int,
    cluster: str | None,
) -> tuple[float, str]:
    """Factor multiplying the uncorrected sandwich (HC0 / CR0) for the option ``ssc``.

    Used where structest computes a covariance itself (2SLS with several endogenous
    regressors, first-stage and Anderson-Rubin statistics), so that they use the same
    correction as pyfixest's fits. Returns ``(factor, description)``.
    """
    ssc = check_ssc(ssc)
    N = len(df)
    G = int(df[cluster].nunique()) if cluster is not None else N
    g_adj = G / (G - 1) if cluster is not None and G > 1 else 1.0
    if ssc is None or ssc == "cluster":
        return g_adj, "G/(G-1)" if cluster is not None else "none (HC0)"
    if ssc == "stata":
        factor, how = stata_rescale(df, terms, n_coef, cluster)
        return factor * g_adj, how
    import_pyfixest()
    from pyfixest.utils.utils import get_ssc

    from .hdfe import encode

    full = {**_pyfixest_ssc_defaults(), **ssc}
    fe = encode(df, terms)
    k_fe = int(sum(fe.sizes))
    nested = _nested_in_cluster(df, terms, cluster)
    n_nested = int(sum(nested))
    k_fe_nested = int(sum(s for s, n in zip(fe.sizes, nested, strict=True) if n))
    if full["k_fixef"] != "nonnested" or n_nested == 0:
        k_fe_nested, n_nested = 0, 0
    factor, _, _ = get_ssc(
        ssc_dict=full,
        N=N,
        k=n_coef,
        k_fe=k_fe,
        k_fe_nested=k_fe_nested,
        n_fe=len(terms),
        n_fe_fully_nested=n_nested,
        G=G,
        vcov_sign=1,
        vcov_type="CRV" if cluster is not None else "hetero",
    )
    return float(np.atleast_1d(factor)[0]), f"pyfixest ssc {full}"


def _pyfixest_ssc_defaults() -> dict[str, Any]:
    pf = import_pyfixest()

    return dict(pf.ssc())


def _ssc(ssc: dict[str, Any] | str | None) -> dict[str, Any]:
    """pyfixest's ssc for the option (``"stata"`` is ``"cluster"`` rescaled afterwards)."""
    pf = import_pyfixest()

    ssc = check_ssc(ssc)
    return pf.ssc(**(DEFAULT_SSC if ssc is None or isinstance(ssc, str) else ssc))


def _feols(
    fml: str, df: pd.DataFrame, cluster: str | None, ssc: dict[str, Any] | str | None, f: Formula
) -> Any:
    pf = import_pyfixest()

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
    n = pfx.nobs(fit)
    p = len(pfx.coef_names(fit))
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
    u = pfx.residuals(fit)
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
    names = pfx.coef_names(fit)
    order = _order(names, f)
    params = _series(fit, "coef").reindex(order)
    se = _series(fit, "se").reindex(order)
    vcov = pd.DataFrame(pfx.vcov(fit), index=names, columns=names).loc[order, order]
    n_used = pfx.nobs(fit)
    notes = []
    collin = pfx.dropped_collinear(fit)
    if collin:
        notes.append(f"dropped as collinear with the fixed effects / regressors: {collin}")
    if n_used != len(sample.df):  # should not happen: NaNs were removed beforehand
        sample.dropped.append(("removed by pyfixest", len(sample.df) - n_used))
    G = None
    if cluster:
        G = pfx.n_clusters(fit)
    r2, r2w = pfx.r2(fit)
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
        r2=r2,
        r2_within=r2w,
        df_t=(G - 1) if G else None,
        notes=notes,
        extra={"pyfixest": fit},
    )


def stata_rescale(
    df: pd.DataFrame, terms: tuple[str, ...], n_coef: int, cluster: str | None
) -> tuple[float, str]:
    """Factor turning the ``"cluster"`` covariance into the ``"stata"`` one.

    ``(N-1)/(N-K)`` with clusters, ``N/(N-K)`` without (``K`` from :func:`stata_k`).
    """
    N = len(df)
    K, how = stata_k(df, terms, n_coef, cluster)
    if N - K <= 0:
        raise EstimationError(f"ssc='stata': no residual degrees of freedom (N = {N}, {how})")
    if cluster is not None:
        return (N - 1) / (N - K), f"(N-1)/(N-K) x G/(G-1) with N = {N}, {how}"
    return N / (N - K), f"N/(N-K) with N = {N}, {how}"


def apply_ssc_note(
    res: Results, ssc: dict[str, Any] | str | None, df: pd.DataFrame, terms: tuple[str, ...]
) -> None:
    """Rescale a pyfixest-based result for ``ssc="stata"`` and note the correction used."""
    if ssc == "stata":
        factor, how = stata_rescale(df, terms, len(res.params), res.cluster)
        res.vcov = res.vcov * factor
        res.se = res.se * np.sqrt(factor)
        res.notes.append(f"small-sample correction 'stata': {how}")
        res.extra["ssc"] = {"name": "stata", "factor_over_cluster": factor}
    elif isinstance(ssc, dict):
        res.notes.append(f"small-sample correction: pyfixest ssc {ssc}")


def fit_ols(
    f: Formula,
    sample: Sample,
    *,
    cluster: str | None = "pair",
    ssc: dict[str, Any] | str | None = None,
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
        Small-sample correction: ``"cluster"`` (default, ``G/(G-1)``), ``"stata"``
        (``(N-1)/(N-K) x G/(G-1)``) or keyword arguments of ``pyfixest.ssc`` (module
        docstring).

    Raises
    ------
    OptionError
        ``ssc`` is not ``None``, ``"cluster"``, ``"stata"`` or a mapping of valid
        ``pyfixest.ssc`` keywords.
    """
    ssc = check_ssc(ssc)
    if f.is_iv:
        raise SpecError(f"formula '{f.text}' has an IV part; use estimator='iv'")
    fit = _feols(f.to_pyfixest(), sample.df, cluster, ssc, f)
    _check_information(fit, f, sample, "ols")
    res = _result_from_fit(fit, f, sample, "ols", cluster)
    apply_ssc_note(res, ssc, sample.df, f.fe)
    return res


def first_stage_stats(
    f: Formula, sample: Sample, cluster: str | None, ssc: dict[str, Any] | str | None
) -> dict[str, Any]:
    """First-stage diagnostics for each endogenous regressor.

    Returns a dict with, per endogenous variable, the cluster-robust Wald F of the excluded
    instruments (with one endogenous regressor this *is* the Kleibergen-Paap rk Wald F
    statistic, up to the same small-sample factor) and its p-value, the first-stage
    coefficients, the partial R-squared of the excluded instruments, and pyfixest's
    Olea-Pflueger effective F where available. The covariance uses the small-sample
    correction ``ssc`` of the fit.
    """
    ssc = check_ssc(ssc)
    out: dict[str, Any] = {}
    for endog in f.endog:
        rhs = " + ".join([*f.exog, *f.instruments])
        fml = f"{endog} ~ {rhs}" + (f" | {' + '.join(f.fe)}" if f.fe else "")
        fit = _feols(fml, sample.df, cluster, ssc, f)
        names = pfx.coef_names(fit)
        idx = [names.index(z) for z in f.instruments if z in names]
        if len(idx) < len(f.instruments):
            lost = [z for z in f.instruments if z not in names]
            raise EstimationError(
                f"first stage of '{endog}': excluded instrument(s) {lost} are absorbed by the "
                f"fixed effects ({' + '.join(f.fe) or 'none'}) or collinear with the exogenous "
                "regressors: they carry no information"
            )
        b = pfx.coef(fit)[idx]
        # Wald statistic of the excluded instruments (pyfixest's public wald_test)
        wald = pfx.wald(fit, list(f.instruments)) / max(len(idx), 1)
        if ssc == "stata":
            wald /= stata_rescale(sample.df, f.fe, len(names), cluster)[0]
        from scipy import stats

        G = pfx.n_clusters(fit) if cluster else None
        df2 = (G - 1) if G else pfx.nobs(fit) - len(names)
        # partial R2 of the excluded instruments (FE and exogenous regressors partialled out)
        y, X = pfx.demeaned(fit)
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


def _iv_r2(fit: Any, f: Formula, sample: Sample) -> tuple[float | None, float | None]:
    """R-squared of a 2SLS fit from the structural residuals ``y - X b`` (X with the
    endogenous regressors), overall and within the fixed effects (as pyfixest for OLS)."""
    u = pfx.residuals(fit)
    y = pd.to_numeric(sample.df[f.depvar], errors="coerce").to_numpy(dtype=float)
    ssu, ssy = float(u @ u), float(((y - y.mean()) ** 2).sum())
    if len(u) != len(y) or ssy <= 0:
        return None, None
    yd = pfx.demeaned(fit)[0]
    within = 1.0 - ssu / float(yd @ yd) if f.fe and float(yd @ yd) > 0 else None
    return 1.0 - ssu / ssy, within


def fit_iv(
    f: Formula,
    sample: Sample,
    *,
    cluster: str | None = "pair",
    ssc: dict[str, Any] | str | None = None,
) -> Results:
    """2SLS with absorbed fixed effects, clustered SEs and first-stage diagnostics.

    One endogenous regressor: pyfixest's ``feols``. Several: fixed effects partialled out
    by pyfixest's demeaning and linearmodels' ``IV2SLS`` on the demeaned data
    (:func:`structest.reduced.iv_linear.fit_iv_linear`); the same :class:`Results`.

    ``first_stage`` holds, per endogenous regressor, the cluster-robust first-stage F
    (:func:`first_stage_stats`) and the Sanderson-Windmeijer conditional F
    (``"sanderson_windmeijer_F"``, equal to the first-stage F with one endogenous
    regressor). With one endogenous regressor ``tests["anderson_rubin"]`` holds the
    weak-instrument-robust Anderson-Rubin 95% confidence set
    (:func:`structest.reduced.weak_iv.anderson_rubin`).

    Parameters
    ----------
    f
        Parsed formula with an IV part ``endog1 + endog2 ~ instruments``.
    sample, cluster, ssc
        As in :func:`fit_ols`.
    """
    ssc = check_ssc(ssc)
    if not f.is_iv:
        raise SpecError(
            f"formula '{f.text}' has no IV part; write it as "
            "'dep ~ exog | fe1 + fe2 | endog ~ instrument'"
        )
    from .iv_linear import add_weak_iv_diagnostics, fit_iv_linear

    if len(f.endog) > 1:
        return fit_iv_linear(f, sample, cluster=cluster, ssc=ssc)
    fit = _feols(f.to_pyfixest(), sample.df, cluster, ssc, f)
    _check_information(fit, f, sample, "iv")
    res = _result_from_fit(fit, f, sample, "iv", cluster)
    if res.r2 is None:  # pyfixest leaves the R-squared of IV fits undefined
        res.r2, res.r2_within = _iv_r2(fit, f, sample)
    apply_ssc_note(res, ssc, sample.df, f.fe)
    res.first_stage = first_stage_stats(f, sample, cluster, ssc)
    try:
        res.first_stage[f.endog[0]]["effective_F"] = pfx.effective_f(fit)
    except Exception as exc:  # diagnostics are optional extras
        res.notes.append(f"pyfixest IV diagnostics unavailable: {exc}")
    add_weak_iv_diagnostics(res, f, sample, cluster, ssc)
    return res
