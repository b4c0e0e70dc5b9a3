"""2SLS with several endogenous regressors, and first-stage diagnostics for any number.

pyfixest fits 2SLS with one endogenous regressor only. Here the fixed effects are
partialled out of the outcome, the exogenous regressors, the endogenous regressors and the
excluded instruments by pyfixest's own demeaning (the demeaned design matrices of two
pyfixest OLS fits, ``y ~ exog + endog | fe`` and ``y ~ exog + instruments | fe``, so that
formula terms such as ``I()``, ``C()`` and ``i()`` and the collinearity checks are
pyfixest's), and linearmodels' ``IV2SLS`` runs on the demeaned data. By Frisch-Waugh-Lovell
the coefficients, residuals and cluster scores equal those of 2SLS with explicit dummies,
so linearmodels' uncorrected clustered covariance (``debiased=False``) times the
small-sample factor of ``ssc`` (:func:`structest.reduced.ols_iv.ssc_factor`, which counts
the absorbed effects where the correction does) is the covariance of the dummy regression.

First-stage diagnostics (:func:`add_weak_iv_diagnostics`): the Kleibergen-Paap rk Wald
statistic (:func:`kleibergen_paap`, cluster-robust) and, per endogenous regressor, the
cluster-robust first-stage F of the excluded instruments
(:func:`~structest.reduced.ols_iv.first_stage_stats`) and the Sanderson-Windmeijer (2016)
conditional F, cluster-robust: the endogenous regressor ``x_j`` is regressed by 2SLS on the
other endogenous regressors with the same instruments (exogenous regressors and effects
partialled out), its residual ``e_j`` on the instruments, and ``F_j = W_j / (L - m + 1)``
with ``W_j`` the cluster-robust Wald statistic of the instruments' coefficients in that
regression (same small-sample factor as the first stage; like ivreg2, the estimation of the
2SLS step is ignored). With one endogenous regressor ``F_j`` is the first-stage F.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import EstimationError, StructestError
from . import _pyfixest as pfx
from .data import Sample
from .formula import Formula
from .ols_iv import _feols, _order, check_ssc, first_stage_stats, ssc_factor
from .results import Results


@dataclass(frozen=True)
class IVData:
    """An IV sample with the fixed effects partialled out (pyfixest's demeaning).

    Attributes
    ----------
    y
        Outcome, ``(n,)``.
    X
        Exogenous regressors, ``(n, p)`` (``p`` may be 0; an ``Intercept`` column when
        the formula has no fixed effects).
    E
        Endogenous regressors, ``(n, m)``.
    Z
        Excluded instruments, ``(n, L)``.
    exog, endog, instruments
        Column names of ``X``, ``E``, ``Z``.
    clusters
        Integer cluster codes ``(n,)`` or ``None`` (heteroskedasticity-robust).
    df
        The estimation sample (for the small-sample factor: effects, clusters).
    fe
        Fixed-effect terms.
    cluster
        Cluster column or ``None``.
    ssc
        The fit's small-sample correction (see :mod:`structest.reduced.ols_iv`).
    dropped_exog
        Exogenous terms pyfixest dropped as collinear.
    """

    y: np.ndarray
    X: np.ndarray
    E: np.ndarray
    Z: np.ndarray
    exog: tuple[str, ...]
    endog: tuple[str, ...]
    instruments: tuple[str, ...]
    clusters: np.ndarray | None
    df: pd.DataFrame
    fe: tuple[str, ...]
    cluster: str | None
    ssc: dict[str, Any] | str | None = None
    dropped_exog: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of observations."""
        return len(self.y)

    def without_exog(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(y, E, Z)`` with the exogenous regressors partialled out too (FWL)."""
        M = np.column_stack([self.y, self.E, self.Z])
        if self.X.shape[1]:
            M = M - self.X @ np.linalg.lstsq(self.X, M, rcond=None)[0]
        m = self.E.shape[1]
        return M[:, 0], M[:, 1 : 1 + m], M[:, 1 + m :]

    def factor(self, n_coef: int) -> float:
        """Small-sample factor of :attr:`ssc` for a regression with ``n_coef`` slopes."""
        return ssc_factor(self.ssc, df=self.df, terms=self.fe, n_coef=n_coef, cluster=self.cluster)[
            0
        ]


def _demeaned(f: Formula, rhs: tuple[str, ...], df: pd.DataFrame) -> tuple[Any, list[str]]:
    """A pyfixest OLS of ``f.depvar`` on ``rhs`` (and the effects): its demeaned design."""
    g = Formula(
        text=f.text,
        depvar=f.depvar,
        exog=rhs,
        fe=f.fe,
        intercept=f.intercept,
        no_intercept=f.no_intercept,
    )
    fit = _feols(g.to_pyfixest(), df, None, None, g)
    return fit, pfx.coef_names(fit)


def partial_out(
    f: Formula, sample: Sample, cluster: str | None, ssc: dict[str, Any] | str | None = None
) -> IVData:
    """The fixed effects partialled out of every variable of an IV formula.

    Raises
    ------
    EstimationError
        An endogenous regressor or an excluded instrument is absorbed by the fixed effects
        or collinear with the exogenous regressors (it carries no information), or an
        exogenous regressor is collinear with the endogenous regressors or instruments.
    """
    df = sample.df
    fe = " + ".join(f.fe) or "none"
    fit_a, names_a = _demeaned(f, (*f.exog, *f.endog), df)
    lost = [e for e in f.endog if e not in names_a]
    if lost:
        raise EstimationError(
            f"iv '{f.text}': endogenous regressor(s) {lost} are absorbed by the fixed effects "
            f"({fe}) or collinear with the exogenous regressors: nothing to instrument"
        )
    fit_b, names_b = _demeaned(f, (*f.exog, *f.instruments), df)
    lost = [z for z in f.instruments if z not in names_b]
    if lost:
        raise EstimationError(
            f"iv '{f.text}': excluded instrument(s) {lost} are absorbed by the fixed effects "
            f"({fe}) or collinear with the exogenous regressors or the other instruments: "
            "they carry no information"
        )
    exog_a = [n for n in names_a if n not in f.endog]
    exog_b = [n for n in names_b if n not in f.instruments]
    if exog_a != exog_b:
        odd = sorted(set(exog_a) ^ set(exog_b))
        raise EstimationError(
            f"iv '{f.text}': exogenous regressor(s) {odd} are collinear with the endogenous "
            "regressors or the instruments: drop them"
        )
    (ya, XA), (_, XB) = pfx.demeaned(fit_a), pfx.demeaned(fit_b)
    dropped = tuple(pfx.dropped_collinear(fit_a))
    clusters = pd.factorize(df[cluster])[0] if cluster is not None else None
    return IVData(
        y=ya,
        X=XA[:, [names_a.index(n) for n in exog_a]],
        E=XA[:, [names_a.index(n) for n in f.endog]],
        Z=XB[:, [names_b.index(n) for n in f.instruments]],
        exog=tuple(exog_a),
        endog=tuple(f.endog),
        instruments=tuple(f.instruments),
        clusters=clusters,
        df=df,
        fe=tuple(f.fe),
        cluster=cluster,
        ssc=check_ssc(ssc),
        dropped_exog=dropped,
    )


def _check_identified(data: IVData, f: Formula) -> None:
    """Refuse instruments that cannot separate the endogenous regressors."""
    _, E, Z = data.without_exog()
    m = E.shape[1]
    if Z.shape[1] < m:  # pragma: no cover - the parser refuses it
        raise EstimationError(
            f"iv '{f.text}': {m} endogenous regressors but {Z.shape[1]} instruments"
        )
    fitted = Z @ np.linalg.lstsq(Z, E, rcond=None)[0]
    scale = np.linalg.norm(E, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    sv = np.linalg.svd(fitted / scale, compute_uv=False)
    if sv[-1] <= 1e-8 * max(sv[0], 1e-300):
        rank = int((sv > 1e-8 * max(sv[0], 1e-300)).sum())
        raise EstimationError(
            f"iv '{f.text}': the excluded instruments {list(f.instruments)} do not identify the "
            f"endogenous regressors {list(f.endog)} separately (rank {rank} < {m} of their "
            "first-stage fitted values): add instruments that move them differently"
        )


def _sandwich(S: np.ndarray, u: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    """Uncorrected meat ``sum_g (S_g' u_g)(S_g' u_g)'`` (each row its own cluster if None)."""
    scores = S * u[:, None]
    if clusters is not None:
        G = int(clusters.max()) + 1
        summed = np.zeros((G, S.shape[1]))
        np.add.at(summed, clusters, scores)
        scores = summed
    return scores.T @ scores


def sanderson_windmeijer(data: IVData) -> dict[str, dict[str, float]]:
    """Sanderson-Windmeijer conditional first-stage F per endogenous regressor.

    Cluster-robust (heteroskedasticity-robust without clusters), with the small-sample
    factor of the fit's ``ssc`` for a regression on the exogenous regressors and the
    instruments. Returns ``{endog: {"F": ..., "p": ..., "df": (L - m + 1, G - 1)}}``.
    """
    _, E, Z = data.without_exog()
    m, L = E.shape[1], Z.shape[1]
    factor = data.factor(data.X.shape[1] + L)
    ZZi = np.linalg.inv(Z.T @ Z)
    PE = Z @ (ZZi @ (Z.T @ E))  # first-stage fitted values
    G = int(data.clusters.max()) + 1 if data.clusters is not None else None
    df1 = L - m + 1
    out: dict[str, dict[str, float]] = {}
    for j, name in enumerate(data.endog):
        others = [k for k in range(m) if k != j]
        if others:
            Eo, PEo = E[:, others], PE[:, others]
            delta = np.linalg.solve(PEo.T @ Eo, PEo.T @ E[:, j])
            e = E[:, j] - Eo @ delta
        else:
            e = E[:, j]
        pi = ZZi @ (Z.T @ e)
        r = e - Z @ pi
        V = factor * ZZi @ _sandwich(Z, r, data.clusters) @ ZZi
        wald = float(pi @ np.linalg.solve(V, pi))
        F = wald / df1
        p = float(stats.f.sf(F, df1, G - 1)) if G else float(stats.chi2.sf(wald, df1))
        out[name] = {"F": F, "p": p, "df": (df1, (G - 1) if G else None)}
    return out


def _psd_sqrt(M: np.ndarray) -> np.ndarray:
    w, Q = np.linalg.eigh((M + M.T) / 2)
    return (Q * np.sqrt(np.clip(w, 0.0, None))) @ Q.T


def kleibergen_paap(data: IVData, *, robust: bool = True) -> dict[str, Any]:
    """Kleibergen-Paap (2006) rk Wald test that the first-stage matrix has rank ``m - 1``.

    ``Pi`` (``L x m``) are the first-stage coefficients of the endogenous regressors on the
    excluded instruments (effects and exogenous regressors partialled out), normalised as
    ``Theta = F Pi G^-1`` with ``F'F = Z'Z`` and ``G'G = V'V`` (``V`` the first-stage
    residuals); ``lambda = A' Theta B'`` with ``A``, ``B`` built from the singular vectors
    of the smallest singular value (KP p. 102); ``rk = lambda' (K Var(vec Theta) K')^-1
    lambda`` with the cluster-robust (heteroskedasticity-robust without clusters)
    covariance of ``vec Pi``, times the fit's small-sample factor. ``rk`` is
    chi-squared with ``L - m + 1`` degrees of freedom under under-identification;
    ``rk_f = rk / L`` is the "KP rk Wald F" used for weak-instrument tests (with one
    endogenous regressor it is the cluster-robust first-stage F). ``robust=False`` uses
    the homoskedastic covariance (then ``rk = n s_min^2``, ``s_min`` the smallest singular
    value of ``Theta``).
    """
    _, E, Z = data.without_exog()
    n, m = E.shape
    L = Z.shape[1]
    ZZ = Z.T @ Z
    Pi = np.linalg.solve(ZZ, Z.T @ E)
    V = E - Z @ Pi
    F = np.linalg.cholesky(ZZ).T  # upper triangular, F'F = Z'Z
    Gm = np.linalg.cholesky(V.T @ V).T
    Gi = np.linalg.inv(Gm)
    theta = F @ Pi @ Gi
    U, sv, Vt = np.linalg.svd(theta, full_matrices=True)
    Vr = Vt.T
    q = m - 1
    U22 = U[q:, q:]
    A = U[:, q:] @ np.linalg.solve(U22, _psd_sqrt(U22 @ U22.T))  # L x (L - q)
    V22 = Vr[q:, q:]  # 1 x 1
    B = _psd_sqrt(V22 @ V22.T) @ np.linalg.solve(V22.T, Vr[:, q:].T)  # 1 x m
    lam = (A.T @ theta @ B.T).ravel(order="F")
    kron = np.kron(B, A.T)  # vec(A' Theta B') = (B kron A') vec(Theta), column-major vec
    # covariance of vec(Theta) = (G^-T kron F (Z'Z)^-1) S (...)', S the score outer product
    T = np.kron(Gi.T, F @ np.linalg.inv(ZZ))
    if robust:
        scores = (V[:, :, None] * Z[:, None, :]).reshape(n, m * L)  # kron(v_i, z_i)
        S = _sandwich(scores, np.ones(n), data.clusters) * data.factor(data.X.shape[1] + L)
    else:
        S = np.kron(V.T @ V / n, ZZ)
    Vl = kron @ T @ S @ T.T @ kron.T
    rk = float(lam @ np.linalg.solve(Vl, lam))
    df = L - m + 1
    return {
        "rk_wald": rk,
        "rk_f": rk / L,
        "df": df,
        "p": float(stats.chi2.sf(rk, df)),
        "robust": robust,
    }


def add_weak_iv_diagnostics(
    res: Results,
    f: Formula,
    sample: Sample,
    cluster: str | None,
    ssc: dict[str, Any] | str | None,
    data: IVData | None = None,
) -> None:
    """Add the Sanderson-Windmeijer F to ``res.first_stage``, the Kleibergen-Paap rk Wald
    test to ``res.tests["kleibergen_paap"]`` and (one endogenous regressor) the
    Anderson-Rubin 95% set to ``res.tests["anderson_rubin"]``.

    A diagnostic that cannot be computed leaves a note (never a failed fit).
    """
    try:
        if data is None:
            data = partial_out(f, sample, cluster, ssc)
        res.extra["iv_data"] = data
        for name, sw in sanderson_windmeijer(data).items():
            res.first_stage.setdefault(name, {})["sanderson_windmeijer_F"] = sw["F"]
            res.first_stage[name]["sanderson_windmeijer_p"] = sw["p"]
        res.tests["kleibergen_paap"] = kleibergen_paap(data)
    except (StructestError, np.linalg.LinAlgError) as exc:
        res.notes.append(f"Sanderson-Windmeijer F unavailable: {exc}")
        return
    if len(f.endog) != 1:
        res.notes.append(
            "Anderson-Rubin set not computed: it is for one endogenous regressor "
            f"(this fit has {len(f.endog)})"
        )
        return
    from .weak_iv import anderson_rubin

    try:
        res.tests["anderson_rubin"] = anderson_rubin(data, level=0.95)
    except (StructestError, np.linalg.LinAlgError) as exc:
        res.notes.append(f"Anderson-Rubin set unavailable: {exc}")


def fit_iv_linear(
    f: Formula,
    sample: Sample,
    *,
    cluster: str | None = "pair",
    ssc: dict[str, Any] | str | None = None,
) -> Results:
    """2SLS with absorbed fixed effects for any number of endogenous regressors.

    Parameters
    ----------
    f
        Formula with an IV part ``endog1 + endog2 ~ z1 + z2``.
    sample
        Estimation sample.
    cluster
        Cluster column (``None``: heteroskedasticity-robust).
    ssc
        Small-sample correction (:mod:`structest.reduced.ols_iv`).

    Returns
    -------
    Results
        As :func:`structest.reduced.ols_iv.fit_iv` (``extra["linearmodels"]`` holds the
        linearmodels result on the demeaned data).

    Raises
    ------
    EstimationError
        An endogenous regressor or instrument absorbed by the fixed effects or collinear,
        instruments that do not identify the endogenous regressors separately, no residual
        degrees of freedom, no variation in the outcome, or a perfect fit.
    """
    from linearmodels.iv import IV2SLS

    from .hdfe import encode, fe_rank, no_dof_message

    ssc = check_ssc(ssc)
    df = sample.df
    if cluster is not None and df[cluster].nunique() < 2:
        raise EstimationError(
            f"cluster-robust standard errors need at least 2 clusters: column '{cluster}' has "
            f"{df[cluster].nunique()} value in the {len(df)} observation(s) of the sample"
        )
    data = partial_out(f, sample, cluster, ssc)
    p, m = data.X.shape[1], data.E.shape[1]
    n = data.n
    fe = encode(df, f.fe)
    rank, levels, exact = fe_rank(fe)
    if exact and n - rank - p - m <= 0:
        raise EstimationError("iv: " + no_dof_message(n, fe, rank, levels, p + m, ""))
    y_raw = pd.to_numeric(df[f.depvar], errors="coerce").to_numpy(dtype=float)
    if np.ptp(y_raw) == 0:
        raise EstimationError(
            f"iv: '{f.depvar}' does not vary in the estimation sample (all {n} values equal "
            f"{y_raw[0]:g}): nothing to explain"
        )
    _check_identified(data, f)
    dep = pd.Series(data.y, name=f.depvar)
    exog = pd.DataFrame(data.X, columns=list(data.exog)) if p else None
    endog = pd.DataFrame(data.E, columns=list(data.endog))
    inst = pd.DataFrame(data.Z, columns=list(data.instruments))
    try:
        model = IV2SLS(dep, exog, endog, inst)
        if cluster is not None:
            lm = model.fit(cov_type="clustered", clusters=data.clusters, debiased=False)
        else:
            lm = model.fit(cov_type="robust", debiased=False)
    except Exception as exc:  # linearmodels raises several types on degenerate data
        raise EstimationError(
            f"iv '{f.text}': linearmodels could not fit 2SLS: {' '.join(str(exc).split())}"
        ) from exc
    factor, how = ssc_factor(ssc, df=df, terms=f.fe, n_coef=p + m, cluster=cluster)
    names = [*data.exog, *data.endog]
    order = _order(names, f)
    params = pd.Series(np.asarray(lm.params[names], dtype=float), index=names, name="coef")
    cov = np.asarray(lm.cov.loc[names, names], dtype=float) * factor
    vcov = pd.DataFrame(cov, index=names, columns=names).loc[order, order]
    params = params.reindex(order)
    se = pd.Series(np.sqrt(np.diag(vcov.to_numpy())), index=order, name="se")
    u = np.asarray(lm.resids, dtype=float)
    ssu = float(u @ u)
    ssy = float(((y_raw - y_raw.mean()) ** 2).sum())
    if ssu <= 1e-20 * ssy:
        raise EstimationError(
            f"iv: perfect fit: the fixed effects ({' + '.join(f.fe) or 'none'}) and regressors "
            f"explain '{f.depvar}' exactly (no residual variation in {n} observations): "
            "standard errors are zero"
        )
    G = int(df[cluster].nunique()) if cluster is not None else None
    notes = []
    if data.dropped_exog:
        notes.append(
            f"dropped as collinear with the fixed effects / regressors: {list(data.dropped_exog)}"
        )
    notes.append(
        f"2SLS with {m} endogenous regressors: fixed effects partialled out (pyfixest "
        f"demeaning), linearmodels IV2SLS; small-sample correction {how}"
    )
    res = Results(
        estimator="iv",
        formula=f.text,
        params=params,
        se=se,
        vcov=vcov,
        nobs=n,
        dropped=tuple(sample.dropped),
        dropped_obs=sample.dropped_frame(),
        fe=f.fe,
        cluster=cluster,
        n_clusters=G,
        r2=1.0 - ssu / ssy,
        r2_within=(1.0 - ssu / float(data.y @ data.y)) if f.fe else None,
        df_t=(G - 1) if G else None,
        notes=notes,
        extra={"linearmodels": lm},
    )
    res.first_stage = first_stage_stats(f, sample, cluster, ssc)
    add_weak_iv_diagnostics(res, f, sample, cluster, ssc, data=data)
    return res
