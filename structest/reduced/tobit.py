"""Fixed-effects Tobit: sample rules (censoring, non-existence cells) and the Results wrapper.

The numerical core is :mod:`structest.reduced.tobit_core` (JAX, 64-bit via the
``jax.enable_x64`` context manager).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..panel import MFN_TOL
from .data import Sample
from .formula import Formula, term_columns
from .hdfe import encode
from .results import Results
from .tobit_core import LEFT, RIGHT, UNCENSORED, TobitData, TobitFit, fit_tobit_arrays


def regressor_matrix(
    f: Formula, df: pd.DataFrame, terms: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Slope design for the ML estimators: plain columns and ``a:b`` products.

    Without fixed effects an ``Intercept`` column is added (as pyfixest does).
    """
    cols, names = [], []
    if not f.fe:
        cols.append(np.ones(len(df)))
        names.append("Intercept")
    for term in terms:
        parts = [t.strip() for t in term.split(":")]
        if not all(len(term_columns(p)) == 1 and term_columns(p)[0] == p for p in parts):
            raise SpecError(
                f"term '{term}' is not supported by the maximum-likelihood estimators; "
                "use plain column names or 'a:b' products (create transformed columns first)"
            )
        v = np.ones(len(df))
        for p in parts:
            v = v * df[p].to_numpy(dtype=float)
        cols.append(v)
        names.append(term)
    X = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    return X, names


def censoring_bounds(
    sample: Sample,
    f: Formula,
    upper: str | float | None,
    lower: str | float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Censoring points in the units of the dependent variable.

    Bounds are given in tariff units (a column name such as ``"mfn"`` or a number). When the
    dependent variable is ``preference`` (= tariff - mfn) they are shifted by ``-mfn``, so the
    default ``upper="mfn"`` means "preference censored at 0".
    """
    df = sample.df
    shift = df["mfn"].to_numpy(dtype=float) if f.depvar == "preference" else 0.0

    def bound(b: str | float | None, default: float) -> np.ndarray:
        if b is None:
            return np.full(len(df), default)
        if isinstance(b, str):
            if b not in df.columns:
                raise SpecError(f"censoring bound column '{b}' is not in the panel")
            return df[b].to_numpy(dtype=float) - shift
        return np.full(len(df), float(b)) - shift

    return bound(upper, np.inf), bound(lower, -np.inf)


def censoring_status(y: np.ndarray, U: np.ndarray, L: np.ndarray, tol: float) -> np.ndarray:
    """0 uncensored, 1 right-censored (``y >= U - tol``), 2 left-censored (``y <= L + tol``)."""
    st = np.full(y.shape, UNCENSORED, dtype=np.int32)
    st[y <= L + tol] = LEFT
    st[y >= U - tol] = RIGHT
    return st


def drop_nonexistence(sample: Sample, fe_terms: tuple[str, ...], status: np.ndarray) -> np.ndarray:
    """Iteratively drop FE cells where every observation is censored on the same side.

    In such a cell the fixed effect's MLE is at +/- infinity (perfect prediction), so the
    likelihood has no maximum; the paper drops these observations. Dropping one cell can
    empty another dimension's cell of uncensored rows, hence the loop. Returns the status of
    the rows kept.
    """
    st = status
    while True:
        drop = np.zeros(len(st), dtype=bool)
        reasons: list[tuple[np.ndarray, str]] = []
        for term in fe_terms:
            codes = encode(sample.df, (term,)).codes[:, 0]
            for side, name in (
                (RIGHT, "right-censored (at the upper bound)"),
                (LEFT, "left-censored (at the lower bound)"),
            ):
                n_lvl = np.bincount(codes)
                n_side = np.bincount(
                    codes, weights=(st == side).astype(float), minlength=len(n_lvl)
                )
                bad = (n_side == n_lvl)[codes] & ~drop
                if bad.any():
                    reasons.append(
                        (
                            bad,
                            f"every observation of its '{term}' cell {name}: Tobit MLE does not exist",
                        )
                    )
                    drop |= bad
        if not drop.any():
            return st
        # drop all at once, attributing each row to the first reason that flagged it
        labels = np.full(len(st), "", dtype=object)
        for mask, why in reasons:
            labels[mask & (labels == "")] = why
        for why in dict.fromkeys(w for _, w in reasons):
            m = labels == why
            sample.drop(m, why)
            st = st[~m]
            labels = labels[~m]


def merge_dropped(dropped: list[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """Sum counts of identical reasons, keeping first-seen order."""
    c: Counter[str] = Counter()
    for why, n in dropped:
        c[why] += n
    return tuple((why, c[why]) for why in dict.fromkeys(w for w, _ in dropped))


def prepare_tobit(
    f: Formula,
    sample: Sample,
    terms: tuple[str, ...],
    *,
    cluster: str | None,
    upper: str | float | None,
    lower: str | float | None,
    censor_tol: float,
) -> tuple[TobitData, list[str]]:
    """Censoring status, non-existence drops, FE codes and arrays for the Tobit core."""
    y = sample.df[f.depvar].to_numpy(dtype=float)
    U, L = censoring_bounds(sample, f, upper, lower)
    above = y > U + censor_tol
    if above.any():
        raise SpecError(
            f"{int(above.sum())} observation(s) of '{f.depvar}' lie above the upper censoring "
            f"bound '{upper}' (first at row {int(np.flatnonzero(above)[0])})"
        )
    below = y < L - censor_tol
    if below.any():
        raise SpecError(
            f"{int(below.sum())} observation(s) of '{f.depvar}' lie below the lower censoring "
            f"bound {lower!r} (first at row {int(np.flatnonzero(below)[0])})"
        )
    sample.drop(U <= L + censor_tol, "upper and lower censoring bounds coincide: no information")
    y = sample.df[f.depvar].to_numpy(dtype=float)
    U, L = censoring_bounds(sample, f, upper, lower)
    st = censoring_status(y, U, L, censor_tol)
    if f.fe:
        drop_nonexistence(sample, f.fe, st)
    elif (st != UNCENSORED).all():
        raise SpecError("every observation is censored: the Tobit likelihood has no maximum")
    df = sample.df
    if len(df) == 0:
        raise SpecError(
            f"no observations left for Tobit '{f.text}' after dropping all-censored cells"
        )
    y = df[f.depvar].to_numpy(dtype=float)
    U, L = censoring_bounds(sample, f, upper, lower)
    st = censoring_status(y, U, L, censor_tol)
    X, names = regressor_matrix(f, df, terms)
    fe = encode(df, f.fe)
    cl = pd.factorize(df[cluster])[0] if cluster else None
    data = TobitData(
        y=y,
        X=X,
        upper=np.where(np.isfinite(U), U, 0.0),
        lower=np.where(np.isfinite(L), L, 0.0),
        status=st,
        fe=fe,
        cluster=cl,
    )
    return data, names


def results_from_fit(
    fit: TobitFit,
    f: Formula,
    sample: Sample,
    names: list[str],
    data: TobitData,
    *,
    estimator: str,
    cluster: str | None,
    vcov: np.ndarray | None = None,
) -> Results:
    """Wrap a :class:`TobitFit` into :class:`Results` (slopes; sigma reported separately)."""
    V = fit.vcov if vcov is None else vcov
    p = len(names)
    params = pd.Series(fit.beta, index=names, name="coef")
    Vb = pd.DataFrame(V[:p, :p], index=names, columns=names)
    se = pd.Series(np.sqrt(np.diag(V[:p, :p])), index=names, name="se")
    notes = [
        "Tobit by exact Newton (FE block-eliminated, JAX float64); SEs: cluster-robust sandwich, "
        "FE partialled out via the Schur complement, G/(G-1) correction"
    ]
    if not fit.converged:
        notes.append(f"WARNING: Newton did not converge in {fit.n_iter} iterations")
    return Results(
        estimator=estimator,
        formula=f.text,
        params=params,
        se=se,
        vcov=Vb,
        nobs=len(data.y),
        dropped=merge_dropped(sample.dropped),
        dropped_obs=sample.dropped_frame(),
        fe=f.fe,
        cluster=cluster,
        n_clusters=fit.n_clusters,
        loglik=fit.loglik,
        sigma=fit.sigma,
        sigma_se=float(fit.sigma * np.sqrt(V[p, p])),
        nobs_censored=int((data.status != UNCENSORED).sum()),
        converged=fit.converged,
        n_iter=fit.n_iter,
        notes=notes,
        extra={"fe_levels": dict(zip(data.fe.names, data.fe.sizes, strict=True))},
    )


def fit_tobit(
    f: Formula,
    sample: Sample,
    *,
    cluster: str | None = "pair",
    upper: str | float | None = "mfn",
    lower: str | float | None = None,
    censor_tol: float = MFN_TOL,
    max_iter: int = 100,
) -> Results:
    """Fixed-effects Tobit by maximum likelihood with clustered sandwich SEs.

    Parameters
    ----------
    f
        Parsed formula without an IV part.
    sample
        Estimation sample.
    cluster
        Cluster column (``None``: heteroskedasticity-robust sandwich).
    upper
        Right-censoring point: a column (default ``"mfn"``) or a number; ``None`` for none.
        In tariff units; shifted by ``-mfn`` when the dependent variable is ``preference``.
    lower
        Left-censoring point (``None``: one-sided Tobit; ``0.0``: also censored at zero).
    censor_tol
        An observation within ``censor_tol`` of a bound is censored there.
    max_iter
        Newton iteration cap.

    Returns
    -------
    Results
        ``nobs`` excludes dropped non-existence cells, listed in ``dropped``/``dropped_obs``.
    """
    if f.is_iv:
        raise SpecError(f"formula '{f.text}' has an IV part; use estimator='tobit_iv'")
    data, names = prepare_tobit(
        f, sample, f.exog, cluster=cluster, upper=upper, lower=lower, censor_tol=censor_tol
    )
    fit = fit_tobit_arrays(data, max_iter=max_iter)
    return results_from_fit(fit, f, sample, names, data, estimator="tobit", cluster=cluster)
