"""Weak-instrument-robust inference: Anderson-Rubin confidence sets (one endogenous regressor).

The Anderson-Rubin (1949) test of ``H0: beta = b`` regresses ``y - b x`` on the excluded
instruments ``Z`` after partialling the fixed effects and the exogenous regressors out of
every variable, and tests that the instruments' coefficients are zero with a
cluster-robust Wald statistic ``W(b)`` (the fit's clusters and small-sample correction;
heteroskedasticity-robust without clusters). Its size does not depend on the strength of
the instruments. ``W(b) / L`` is compared with ``F(L, G-1)`` (``chi2(L) / L`` without
clusters), the reference distributions of the fit's t tests.

The confidence set ``{b : W(b) <= c}`` is found exactly, without a grid: with
``g(b) = Z'(y - b x)`` and the score outer-product ``M(b)`` (both polynomial in ``b``),
``W(b) <= c`` iff the matrix ``c f M(b) - g(b) g(b)'`` is positive semi-definite (``f`` the
small-sample factor), a quadratic in ``b`` for one instrument (solved in closed form) and a
quadratic matrix polynomial for several (its boundary points are the real eigenvalues of
the companion pencil). The set is an interval, the union of two rays, the whole line, or
(over-identified models only) empty or a union of several intervals:
:class:`ConfidenceSet` represents all of these.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from ..errors import EstimationError, OptionError, SpecError


@dataclass(frozen=True)
class ConfidenceSet:
    """A confidence set for one coefficient: a union of disjoint closed intervals.

    Attributes
    ----------
    parameter
        The coefficient (the endogenous regressor).
    level
        Confidence level.
    intervals
        Sorted disjoint ``(lower, upper)`` pairs; ``-inf``/``inf`` for rays; empty for the
        empty set.
    method
        ``"Anderson-Rubin"``.
    n_instruments
        Number of excluded instruments ``L``.
    df
        ``(L, G - 1)`` of the F reference distribution (``(L, None)``: chi-squared).
    stat_zero, p_zero
        The test of ``beta = 0``: ``W(0) / L`` and its p-value.
    """

    parameter: str
    level: float
    intervals: tuple[tuple[float, float], ...]
    method: str = "Anderson-Rubin"
    n_instruments: int = 1
    df: tuple[int, int | None] = (1, None)
    stat_zero: float = float("nan")
    p_zero: float = float("nan")

    @property
    def kind(self) -> str:
        """``"interval"``, ``"two rays"``, ``"everything"``, ``"empty"``, ``"ray"`` or
        ``"union of k intervals"``."""
        iv = self.intervals
        if not iv:
            return "empty"
        if len(iv) == 1:
            lo, hi = iv[0]
            if np.isinf(lo) and np.isinf(hi):
                return "everything"
            return "ray" if np.isinf(lo) or np.isinf(hi) else "interval"
        if len(iv) == 2 and np.isinf(iv[0][0]) and np.isinf(iv[1][1]):
            return "two rays"
        return f"union of {len(iv)} intervals"

    @property
    def bounded(self) -> bool:
        """True when the set is bounded (empty, an interval or a union of intervals)."""
        return all(np.isfinite(lo) and np.isfinite(hi) for lo, hi in self.intervals)

    def contains(self, b: float | np.ndarray) -> bool | np.ndarray:
        """Whether ``b`` (a number or an array) lies in the set."""
        x = np.asarray(b, dtype=float)
        inside = np.zeros(x.shape, dtype=bool)
        for lo, hi in self.intervals:
            inside |= (x >= lo) & (x <= hi)
        return bool(inside) if inside.ndim == 0 else inside

    def __contains__(self, b: object) -> bool:
        if not isinstance(b, numbers.Real):
            return False
        return bool(self.contains(float(b)))

    def __str__(self) -> str:
        def fmt(v: float) -> str:
            return "-inf" if v == -np.inf else "inf" if v == np.inf else f"{v:.4g}"

        if not self.intervals:
            text = "empty"
        else:
            text = " U ".join(
                f"{'(' if np.isinf(lo) else '['}{fmt(lo)}, {fmt(hi)}{')' if np.isinf(hi) else ']'}"
                for lo, hi in self.intervals
            )
        L, d2 = self.df
        ref = f"F({L}, {d2})" if d2 is not None else f"chi2({L})/{L}"
        return (
            f"{self.method} {self.level:.0%} set for {self.parameter}: {text} ({self.kind}); "
            f"test of {self.parameter} = 0: {ref} = {self.stat_zero:.4g}, p = {self.p_zero:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (for JSON)."""
        return {
            "parameter": self.parameter,
            "level": self.level,
            "method": self.method,
            "kind": self.kind,
            "intervals": [list(map(float, iv)) for iv in self.intervals],
            "n_instruments": self.n_instruments,
            "df": list(self.df),
            "stat_zero": self.stat_zero,
            "p_zero": self.p_zero,
        }


def _check_level(level: object) -> float:
    if (
        isinstance(level, (bool, np.bool_))
        or not isinstance(level, numbers.Real)
        or not np.isfinite(float(level))
        or not 0 < float(level) < 1
    ):
        raise OptionError(
            f"level must be a number strictly between 0 and 1 (e.g. 0.95), got {level!r}"
        )
    return float(level)


def _as_column(name: str, value: object, n: int | None) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise OptionError(
            f"anderson_rubin: '{name}' must be numeric, got {type(value).__name__}"
        ) from None
    if a.ndim == 2 and a.shape[1] == 1 and name in ("y", "x"):
        a = a[:, 0]
    want = 1 if name in ("y", "x") else 2
    if name in ("Z", "X") and a.ndim == 1:
        a = a[:, None]
    if a.ndim != want:
        raise OptionError(
            f"anderson_rubin: '{name}' must be {want}-dimensional, got shape {a.shape}"
        )
    if n is not None and a.shape[0] != n:
        raise OptionError(f"anderson_rubin: '{name}' has {a.shape[0]} rows, 'y' has {n}")
    bad = ~np.isfinite(a)
    if bad.any():
        raise OptionError(f"anderson_rubin: '{name}' has {int(bad.sum())} non-finite value(s)")
    return a


def _inputs(obj: object, ssc: object) -> dict[str, Any]:
    """Partialled ``y, x, Z``, cluster codes, small-sample factor and names."""
    from .iv_linear import IVData
    from .ols_iv import check_ssc, ssc_factor
    from .results import Results

    if isinstance(obj, Results):
        data = obj.extra.get("iv_data") if isinstance(obj.extra, Mapping) else None
        if obj.estimator != "iv" or not isinstance(data, IVData):
            raise SpecError(
                f"anderson_rubin needs a linear IV result (fit_reduced_form(..., estimator='iv')); "
                f"got a '{obj.estimator}' result"
            )
        obj = data
    if isinstance(obj, IVData):
        if len(obj.endog) != 1:
            raise SpecError(
                f"anderson_rubin: the Anderson-Rubin set is for one endogenous regressor; this "
                f"fit has {len(obj.endog)} ({', '.join(obj.endog)})"
            )
        y, E, Z = obj.without_exog()
        return {
            "y": y,
            "x": E[:, 0],
            "Z": Z,
            "clusters": obj.clusters,
            "factor": obj.factor(obj.X.shape[1] + Z.shape[1]),
            "name": obj.endog[0],
        }
    if not isinstance(obj, Mapping):
        raise OptionError(
            "anderson_rubin takes an IV Results (fit_reduced_form(..., estimator='iv')) or a "
            "mapping of arrays {'y', 'x', 'Z'[, 'X', 'clusters']} with the fixed effects "
            f"partialled out, got {type(obj).__name__}"
        )
    unknown = sorted(str(k) for k in obj if k not in ("y", "x", "Z", "X", "clusters", "name"))
    if unknown:
        raise OptionError(
            f"anderson_rubin: unknown key(s) {unknown}; allowed: y, x, Z, X, clusters, name"
        )
    missing = [k for k in ("y", "x", "Z") if k not in obj]
    if missing:
        raise OptionError(f"anderson_rubin: the inputs lack {missing} (need y, x and Z)")
    y = _as_column("y", obj["y"], None)
    n = len(y)
    x = _as_column("x", obj["x"], n)
    Z = _as_column("Z", obj["Z"], n)
    X = _as_column("X", obj["X"], n) if obj.get("X") is not None else np.zeros((n, 0))
    cl = obj.get("clusters")
    codes = None
    if cl is not None:
        cl = pd.Series(np.asarray(cl).ravel())
        if len(cl) != n:
            raise OptionError(f"anderson_rubin: 'clusters' has {len(cl)} rows, 'y' has {n}")
        if cl.isna().any():
            raise OptionError("anderson_rubin: 'clusters' has missing values")
        codes = pd.factorize(cl)[0]
    frame = pd.DataFrame({"_cluster": codes if codes is not None else np.zeros(n)})
    factor, _ = ssc_factor(
        check_ssc(ssc),
        df=frame,
        terms=(),
        n_coef=X.shape[1] + Z.shape[1],
        cluster="_cluster" if codes is not None else None,
    )
    M = np.column_stack([y, x, Z])
    if X.shape[1]:
        M = M - X @ np.linalg.lstsq(X, M, rcond=None)[0]
    return {
        "y": M[:, 0],
        "x": M[:, 1],
        "Z": M[:, 2:],
        "clusters": codes,
        "factor": factor,
        "name": str(obj.get("name", "x")),
    }


def _cluster_sums(S: np.ndarray, clusters: np.ndarray | None) -> np.ndarray:
    if clusters is None:
        return S
    out = np.zeros((int(clusters.max()) + 1, S.shape[1]))
    np.add.at(out, clusters, S)
    return out


def _merge(intervals: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((float(a), float(b)) for a, b in out)


def _quadratic_set(a2: float, a1: float, a0: float) -> tuple[tuple[float, float], ...]:
    """``{t : a2 t^2 + a1 t + a0 >= 0}`` as intervals."""
    inf = np.inf
    scale = max(abs(a2), abs(a1), abs(a0), 1e-300)
    if abs(a2) <= 1e-14 * scale:
        if abs(a1) <= 1e-14 * scale:
            return ((-inf, inf),) if a0 >= 0 else ()
        r = -a0 / a1
        return ((r, inf),) if a1 > 0 else ((-inf, r),)
    disc = a1 * a1 - 4 * a2 * a0
    if disc <= 0:
        if a2 > 0:
            return ((-inf, inf),)
        # a2 < 0: at most the touching point -a1 / (2 a2)
        return () if disc < 0 else ((-a1 / (2 * a2),) * 2,)
    q = -0.5 * (a1 + np.copysign(np.sqrt(disc), a1))
    r1, r2 = sorted((q / a2, a0 / q))
    if a2 < 0:
        return ((r1, r2),)
    return ((-inf, r1), (r2, inf))


def _matrix_set(N0: np.ndarray, N1: np.ndarray, N2: np.ndarray) -> tuple[tuple[float, float], ...]:
    """``{t : N0 + t N1 + t^2 N2 is positive semi-definite}`` (symmetric ``L x L``)."""
    L = N0.shape[0]
    scale = max(np.abs(N0).max(), np.abs(N1).max(), np.abs(N2).max(), 1e-300)
    N0, N1, N2 = N0 / scale, N1 / scale, N2 / scale

    def inside(t: float) -> bool:
        Nt = (N0 + t * N1 + t * t * N2) / max(1.0, t * t)
        ev = np.linalg.eigvalsh((Nt + Nt.T) / 2)
        return bool(ev[0] >= -1e-10 * max(np.abs(ev).max(), 1e-300))

    A = np.block([[np.zeros((L, L)), np.eye(L)], [-N0, -N1]])
    B = np.block([[np.eye(L), np.zeros((L, L))], [np.zeros((L, L)), N2]])
    ev = scipy.linalg.eig(A, B, right=False)
    ev = ev[np.isfinite(ev)]
    real = np.sort(ev.real[np.abs(ev.imag) <= 1e-7 * (1 + np.abs(ev.real))])
    cands = [float(t) for t in real]
    inf = np.inf
    if not cands:
        return ((-inf, inf),) if inside(0.0) else ()
    span = 1.0 + cands[-1] - cands[0] + abs(cands[0]) + abs(cands[-1])
    pieces: list[tuple[float, float]] = []
    if inside(cands[0] - span):
        pieces.append((-inf, cands[0]))
    for lo, hi in zip(cands[:-1], cands[1:], strict=True):
        if hi > lo and inside((lo + hi) / 2):
            pieces.append((lo, hi))
    if inside(cands[-1] + span):
        pieces.append((cands[-1], inf))
    return _merge(pieces)


def anderson_rubin(
    results_or_inputs: Any, level: float = 0.95, *, ssc: object = None
) -> ConfidenceSet:
    """Anderson-Rubin confidence set for the coefficient of one endogenous regressor.

    Parameters
    ----------
    results_or_inputs
        A linear IV :class:`~structest.reduced.Results` (``fit_reduced_form(...,
        estimator="iv")``; its clusters and small-sample correction are used), or a mapping
        ``{"y", "x", "Z"[, "X", "clusters", "name"]}`` of arrays with the fixed effects
        already partialled out (``X``: exogenous regressors, partialled out here; include a
        column of ones for an intercept; ``clusters``: labels, else
        heteroskedasticity-robust).
    level
        Confidence level, strictly between 0 and 1.
    ssc
        Small-sample correction for mapping inputs (``None``/``"cluster"``: ``G/(G-1)``,
        ``"stata"``, or pyfixest keywords); a Results uses its own.

    Returns
    -------
    ConfidenceSet
        The set (interval, two rays, everything, or, over-identified, empty or a union),
        with the test of a zero coefficient.

    Raises
    ------
    OptionError
        ``level`` outside (0, 1), inputs of the wrong type or shape, non-finite values.
    SpecError
        A result that is not linear IV, or with several endogenous regressors.
    EstimationError
        Fewer than 2 clusters, instruments collinear after partialling, or an endogenous
        regressor without variation.
    """
    level = _check_level(level)
    d = _inputs(results_or_inputs, ssc)
    y, x, Z = d["y"], d["x"], d["Z"]
    n, L = Z.shape
    clusters = d["clusters"]
    G = int(clusters.max()) + 1 if clusters is not None else None
    if G is not None and G < 2:
        raise EstimationError(
            f"anderson_rubin: cluster-robust tests need at least 2 clusters, got {G}"
        )
    if L == 0 or np.linalg.matrix_rank(Z) < L:
        raise EstimationError(
            f"anderson_rubin: the {L} instrument(s) are collinear (after partialling out the "
            "fixed effects and exogenous regressors): the test is not defined"
        )
    sx = float(np.linalg.norm(x))
    if sx <= 1e-12 * max(float(np.linalg.norm(y)), 1e-300) or sx == 0:
        raise EstimationError(
            f"anderson_rubin: '{d['name']}' does not vary after partialling out the fixed "
            "effects and exogenous regressors"
        )
    # scale b so that the polynomials are well conditioned: b = s t
    s = float(np.linalg.norm(y)) / sx if np.linalg.norm(y) > 0 else 1.0
    xs = x * s
    ZZi = np.linalg.inv(Z.T @ Z)
    gy, gx = Z.T @ y, Z.T @ xs
    ry, rx = y - Z @ (ZZi @ gy), xs - Z @ (ZZi @ gx)
    As = _cluster_sums(Z * ry[:, None], clusters)
    Cs = _cluster_sums(Z * rx[:, None], clusters)
    Aa, Ac, Cc = As.T @ As, As.T @ Cs, Cs.T @ Cs
    f = float(d["factor"])
    d2 = (G - 1) if G is not None else None
    crit = float(stats.f.ppf(level, L, d2)) if d2 else float(stats.chi2.ppf(level, L)) / L
    c = L * crit * f  # W(b) <= L crit  <=>  c M(b) - g g' >= 0
    N0 = c * Aa - np.outer(gy, gy)
    N1 = -c * (Ac + Ac.T) + (np.outer(gy, gx) + np.outer(gx, gy))
    N2 = c * Cc - np.outer(gx, gx)
    if L == 1:
        ts = _quadratic_set(float(N2[0, 0]), float(N1[0, 0]), float(N0[0, 0]))
    else:
        ts = _matrix_set(N0, N1, N2)
    intervals = tuple((lo * s, hi * s) for lo, hi in ts)
    # the test of beta = 0
    try:
        W0 = float(gy @ np.linalg.solve(Aa, gy)) / f
    except np.linalg.LinAlgError:
        W0 = float(gy @ np.linalg.pinv(Aa) @ gy) / f
    stat0 = W0 / L
    p0 = float(stats.f.sf(stat0, L, d2)) if d2 else float(stats.chi2.sf(W0, L))
    return ConfidenceSet(
        parameter=d["name"],
        level=level,
        intervals=intervals,
        n_instruments=L,
        df=(L, d2),
        stat_zero=stat0,
        p_zero=p0,
    )
