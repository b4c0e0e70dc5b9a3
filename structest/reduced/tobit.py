"""Fixed-effects Tobit: sample rules (censoring, non-existence cells) and the Results wrapper.

The numerical core is :mod:`structest.reduced.tobit_core` (JAX, 64-bit via the
``jax.enable_x64`` context manager).
"""

from __future__ import annotations

import numbers
import warnings
from collections import Counter

import jax
import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError, SpecError
from ..panel import MFN_TOL
from .data import Sample
from .formula import Formula, term_columns
from .hdfe import FixedEffects, encode, project
from .results import Results
from .tobit_core import LEFT, RIGHT, UNCENSORED, TobitData, TobitFit, fit_tobit_arrays

#: A regressor whose FE-demeaned residual on the earlier ones keeps less than this share of
#: its sum of squares is dropped as collinear (as pyfixest does for OLS).
COLLIN_TOL: float = 1e-10


def _formulaic_context() -> dict[str, object]:
    """The functions pyfixest gives formulaic (``log``: non-finite -> NaN; ``i()``)."""
    try:
        from ._pyfixest import import_pyfixest

        import_pyfixest()
        from pyfixest.estimation.formula.factor_interaction import factor_interaction
        from pyfixest.estimation.formula.utils import log
    except ImportError:  # pragma: no cover - other pyfixest layouts
        return {"log": np.log}
    return {"log": log, "i": factor_interaction}


def regressor_matrix(
    f: Formula, df: pd.DataFrame, terms: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Slope design for the ML estimators, with the columns and names pyfixest would use.

    Plain columns and ``a:b`` products of columns are built directly; any other allowed
    term (``I()``, ``C()``, ``i()``, ``log``/``exp``) goes through ``formulaic`` with the
    same functions as pyfixest, after the formula passed the whitelist of
    :mod:`structest.reduced.formula` (nothing else can reach it). Without fixed effects an
    ``Intercept`` column comes first (unless the formula removes it with ``0``/``-1``);
    with fixed effects there is none, as in pyfixest.
    """
    f.validate()
    for term in terms:
        term_columns(term)  # checks the term against the whitelist
    factors = [[t.strip() for t in term.split(":")] for term in terms]
    plain = all(
        all(len(term_columns(p)) == 1 and term_columns(p)[0] == p for p in parts)
        for parts in factors
    )
    if not plain:
        return _formulaic_matrix(f, df, terms)
    cols, names = [], []
    if not f.fe and not f.no_intercept:
        cols.append(np.ones(len(df)))
        names.append("Intercept")
    for term, parts in zip(terms, factors, strict=True):
        v = np.ones(len(df))
        for p in parts:
            v = v * df[p].to_numpy(dtype=float)
        cols.append(v)
        names.append(term)
    X = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    return X, names


def _formulaic_matrix(
    f: Formula, df: pd.DataFrame, terms: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """The design of whitelisted terms through formulaic (pyfixest's own path)."""
    import formulaic

    rhs = ("0 + " if f.no_intercept else "1 + ") + " + ".join(terms)
    data = df.reset_index(drop=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm = formulaic.model_matrix(
                rhs,
                data,
                context=_formulaic_context(),
                ensure_full_rank=True,
                na_action="raise",
                output="pandas",
            )
    except Exception as exc:  # formulaic raises many error types on bad input
        msg = " ".join(str(exc).split())
        raise SpecError(f"formula '{f.text}': cannot build the design of '{rhs}': {msg}") from exc
    if f.fe and "Intercept" in mm.columns:
        mm = mm.drop(columns="Intercept")
    names = [str(c) for c in mm.columns]
    if len(mm) != len(df):  # pragma: no cover - rows with non-finite terms are dropped before
        raise SpecError(f"formula '{f.text}': the design lost rows (non-finite term values)")
    order = [n for n in terms if n in names] + [n for n in names if n not in terms]
    X = mm[order].to_numpy(dtype=float) if order else np.zeros((len(df), 0))
    return X, order


def drop_collinear(
    X: np.ndarray, names: list[str], fe: FixedEffects
) -> tuple[np.ndarray, list[str], list[str]]:
    """Drop regressors collinear with the fixed effects or with earlier regressors.

    Each column is demeaned by the fixed effects (exact CG projection) and kept when its
    residual on the kept earlier columns retains more than :data:`COLLIN_TOL` of its sum of
    squares. Returns ``(X kept, names kept, names dropped)``.
    """
    if X.shape[1] == 0:
        return X, names, []
    with jax.enable_x64(True):
        Xt = np.asarray(X - np.asarray(project(np.ones(len(X)), X, fe)))
    keep: list[int] = []
    Q = np.zeros((len(X), 0))
    for j in range(X.shape[1]):
        x = Xt[:, j]
        scale = float(X[:, j] @ X[:, j])
        r = x - Q @ (Q.T @ x) if Q.shape[1] else x
        r = r - Q @ (Q.T @ r) if Q.shape[1] else r  # re-orthogonalise (round-off)
        ss = float(r @ r)
        if scale > 0 and ss > COLLIN_TOL * scale:
            keep.append(j)
            Q = np.column_stack([Q, r / np.sqrt(ss)])
    dropped = [n for j, n in enumerate(names) if j not in keep]
    return X[:, keep], [names[j] for j in keep], dropped


def _show_value(value: object) -> str:
    """An option value for a one-line message: its repr (shortened) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:60] + "..."
    return f"{text} ({type(value).__name__})"


def check_bound(name: str, value: object) -> str | float | None:
    """A validated censoring bound: ``None``, a column name, or a finite number.

    Raises
    ------
    OptionError
        For booleans, NaN/inf, empty names and anything that is not a string or a real
        number, naming the option (``upper`` or ``lower``) and the value.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise OptionError(f"{name} must be a column name, a finite number or None, got ''")
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise OptionError(
            f"{name} must be a column name, a finite number or None (no bound), got "
            f"{_show_value(value)}"
        )
    v = float(value)
    if not np.isfinite(v):
        raise OptionError(
            f"{name} must be a finite number (or a column name, or None for no bound), "
            f"got {value!r}"
        )
    return v


def check_tobit_options(
    upper: object, lower: object, censor_tol: object, max_iter: object
) -> tuple[str | float | None, str | float | None, float, int]:
    """Validate the Tobit options; returns ``(upper, lower, censor_tol, max_iter)`` normalised.

    Raises
    ------
    OptionError
        One line naming the option and the value: a bound that is not ``None``, a column
        name or a finite number (NaN would silently disable the censoring); numeric bounds
        with ``lower >= upper``; ``censor_tol`` not a finite number >= 0; ``max_iter`` not
        an integer >= 1 (booleans are refused everywhere).
    """
    up = check_bound("upper", upper)
    lo = check_bound("lower", lower)
    if isinstance(up, float) and isinstance(lo, float) and not lo < up:
        raise OptionError(f"lower ({lo!r}) must be below upper ({up!r})")
    if isinstance(censor_tol, bool | np.bool_) or not isinstance(censor_tol, numbers.Real):
        raise OptionError(f"censor_tol must be a finite number >= 0, got {_show_value(censor_tol)}")
    tol = float(censor_tol)
    if not (np.isfinite(tol) and tol >= 0):
        raise OptionError(f"censor_tol must be a finite number >= 0, got {censor_tol!r}")
    return up, lo, tol, check_max_iter(max_iter)


def check_max_iter(max_iter: object) -> int:
    """``max_iter`` as an ``int`` >= 1 (:class:`OptionError` otherwise, booleans included)."""
    if isinstance(max_iter, bool | np.bool_) or not isinstance(max_iter, numbers.Integral):
        raise OptionError(f"max_iter must be an integer >= 1, got {_show_value(max_iter)}")
    if int(max_iter) < 1:
        raise OptionError(f"max_iter must be an integer >= 1, got {int(max_iter)}")
    return int(max_iter)


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
        raise EstimationError("every observation is censored: the Tobit likelihood has no maximum")
    df = sample.df
    if len(df) == 0:
        raise EstimationError(
            f"no observations left for Tobit '{f.text}' after dropping all-censored cells"
        )
    y = df[f.depvar].to_numpy(dtype=float)
    U, L = censoring_bounds(sample, f, upper, lower)
    st = censoring_status(y, U, L, censor_tol)
    X, names = regressor_matrix(f, df, terms)
    fe = encode(df, f.fe)
    X, names, collinear = drop_collinear(X, names, fe)
    if collinear:
        if not names:
            fes = " + ".join(f.fe) if f.fe else "the intercept"
            raise EstimationError(
                f"formula '{f.text}': every regressor ({', '.join(collinear)}) is absorbed by "
                f"the fixed effects {fes} or collinear: nothing to estimate on these "
                f"{len(df)} observations"
            )
        sample.notes.append(
            f"dropped as collinear with the fixed effects / regressors: {collinear}"
        )
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
    notes.extend(dict.fromkeys(sample.notes))
    if not fit.converged:
        notes.append(f"WARNING: Newton did not converge in {fit.n_iter} iterations")
    diagnostics = list(getattr(fit, "diagnostics", ()))
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
        converged=fit.converged and not diagnostics,
        n_iter=fit.n_iter,
        diagnostics=diagnostics,
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

    Raises
    ------
    OptionError
        A bound, ``censor_tol`` or ``max_iter`` of the wrong type or out of range
        (:func:`check_tobit_options`).
    """
    upper, lower, censor_tol, max_iter = check_tobit_options(upper, lower, censor_tol, max_iter)
    if f.is_iv:
        raise SpecError(f"formula '{f.text}' has an IV part; use estimator='tobit_iv'")
    data, names = prepare_tobit(
        f, sample, f.exog, cluster=cluster, upper=upper, lower=lower, censor_tol=censor_tol
    )
    fit = fit_tobit_arrays(data, max_iter=max_iter, names=names)
    return results_from_fit(fit, f, sample, names, data, estimator="tobit", cluster=cluster)
