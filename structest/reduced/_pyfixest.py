"""pyfixest: imported without changing the caller's logging, and read in one place.

``pyfixest.estimation`` calls ``logging.basicConfig(level=logging.INFO)`` when imported,
which would print every library's INFO messages (e.g. JAX's backend probing) on stderr.
"""

from __future__ import annotations

import logging
import warnings
from types import ModuleType
from typing import Any

import numpy as np


def import_pyfixest() -> ModuleType:
    """The ``pyfixest`` module, with the root logger's level and handlers left as they were."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    try:
        import pyfixest
        import pyfixest.estimation  # noqa: F401  (the module that configures logging)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    return pyfixest


# ---------------------------------------------------------------- one view of a pyfixest fit
# Everything structest reads from a fitted pyfixest model goes through the functions below.
# Public methods are used where pyfixest has them (``coef()``, ``se()``, ``resid()``,
# ``wald_test()``, ``first_stage()``, ``IV_Diag()``); the values pyfixest keeps only as
# attributes (the covariance matrix, the cluster count, the demeaned design, the
# collinearity drops, R-squared, the effective F) are read here and nowhere else, so a change
# of pyfixest's internals breaks one module, and ``tests/test_pyfixest_adapter.py`` checks
# each read against a public equivalent or an independent computation at the pinned version.


def coef_names(fit: Any) -> list[str]:
    """Names of the estimated coefficients, in pyfixest's order (``fit.coef().index``)."""
    return [str(n) for n in fit.coef().index]


def nobs(fit: Any) -> int:
    """Observations used by the fit (``len(fit.resid())``)."""
    return len(residuals(fit))


def residuals(fit: Any) -> np.ndarray:
    """Residuals ``y - X b`` (structural residuals for IV), float64 ``(n,)``."""
    return np.asarray(fit.resid(), dtype=float).ravel()


def vcov(fit: Any) -> np.ndarray:
    """The coefficients' covariance matrix as pyfixest computed it (its vcov and ssc)."""
    return np.asarray(fit._vcov, dtype=float)


def n_clusters(fit: Any) -> int:
    """Number of clusters of a clustered fit (the first clustering variable)."""
    return int(np.atleast_1d(fit._G)[0])


def demeaned(fit: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(y, X)`` with the fixed effects partialled out (pyfixest's demeaning)."""
    return np.asarray(fit._Y, dtype=float).ravel(), np.asarray(fit._X, dtype=float)


def dropped_collinear(fit: Any) -> list[str]:
    """Regressors pyfixest dropped as collinear with the effects or other regressors."""
    return [str(v) for v in (getattr(fit, "_collin_vars", None) or [])]


def r2(fit: Any) -> tuple[float | None, float | None]:
    """R-squared and within R-squared (None where pyfixest leaves them undefined)."""
    out = []
    for name in ("_r2", "_r2_within"):
        v = getattr(fit, name, None)
        out.append(float(v) if v is not None and np.isfinite(v) else None)
    return out[0], out[1]


def wald(fit: Any, names: list[str]) -> float:
    """Wald statistic ``b' V^-1 b`` of the coefficients ``names`` being zero.

    Through pyfixest's public ``wald_test`` (chi-square form, covariance of the fit).
    """
    all_names = coef_names(fit)
    R = np.zeros((len(names), len(all_names)))
    for i, n in enumerate(names):
        R[i, all_names.index(n)] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit.wald_test(R=R, q=np.zeros(len(names)), distribution="chi2")
    return float(out["statistic"])


def effective_f(fit: Any) -> float:
    """Olea-Pflueger effective F of a pyfixest IV fit (``first_stage()`` + ``IV_Diag()``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit.first_stage()
        fit.IV_Diag()
    return float(fit._eff_F)


def coef(fit: Any) -> np.ndarray:
    """The coefficients, float64, in :func:`coef_names` order (``fit.coef()``)."""
    return np.asarray(fit.coef(), dtype=float)
