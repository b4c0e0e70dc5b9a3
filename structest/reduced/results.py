"""The result object shared by every reduced-form estimator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .formula import FE_LABELS, LABELS


@dataclass
class Results:
    """One reduced-form fit.

    Attributes
    ----------
    estimator
        ``"ols"``, ``"iv"``, ``"tobit"``, ``"tobit_iv"``.
    formula
        The formula as given (a spec name is resolved to its formula).
    params, se
        Coefficients and clustered standard errors, indexed by regressor name as written.
    vcov
        Clustered covariance of ``params`` (DataFrame).
    nobs
        Observations used (after every exclusion listed in ``dropped``).
    dropped
        ``(reason, count)`` for each exclusion: sample rules, missing values, and (Tobit)
        fixed-effect cells where the MLE does not exist.
    dropped_obs
        Keys of the dropped observations with a ``reason`` column.
    fe
        Fixed-effect terms.
    cluster
        Cluster variable; ``n_clusters`` its number of groups.
    loglik
        Log-likelihood (Tobit), else ``None``.
    r2, r2_within
        R-squared (OLS/IV), else ``None``.
    sigma, sigma_se
        Tobit error standard deviation and its clustered SE.
    first_stage
        IV diagnostics (first-stage F by endogenous regressor, Kleibergen-Paap-type
        cluster-robust Wald F, effective F...).
    tests
        Other tests, e.g. ``{"exogeneity": {...}}`` for Tobit-IV.
    labels
        Display labels by regressor (e.g. ``log_ip_ratio -> "g_IP + g_FVA"``).
    notes
        Free-text remarks (identification, corrections used).
    """

    estimator: str
    formula: str
    params: pd.Series
    se: pd.Series
    vcov: pd.DataFrame
    nobs: int
    dropped: tuple[tuple[str, int], ...] = ()
    dropped_obs: pd.DataFrame | None = None
    fe: tuple[str, ...] = ()
    cluster: str | None = "pair"
    n_clusters: int | None = None
    loglik: float | None = None
    r2: float | None = None
    r2_within: float | None = None
    sigma: float | None = None
    sigma_se: float | None = None
    nobs_censored: int | None = None
    first_stage: dict[str, Any] = field(default_factory=dict)
    tests: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    spec: str | None = None
    sample: str = "all"
    df_t: int | None = None
    converged: bool = True
    n_iter: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ inference
    @property
    def tstat(self) -> pd.Series:
        """Coefficient over standard error."""
        return self.params / self.se

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values: t(G-1) for OLS/IV (as pyfixest), normal for ML estimators."""
        t = np.abs(self.tstat.to_numpy(dtype=float))
        if self.df_t is not None and self.df_t > 0:
            p = 2 * stats.t.sf(t, self.df_t)
        else:
            p = 2 * stats.norm.sf(t)
        return pd.Series(p, index=self.params.index, name="p")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals with the same reference distribution as :attr:`pvalues`."""
        a = 1 - (1 - level) / 2
        q = stats.t.ppf(a, self.df_t) if self.df_t else stats.norm.ppf(a)
        return pd.DataFrame(
            {"lower": self.params - q * self.se, "upper": self.params + q * self.se}
        )

    def label(self, name: str) -> str:
        """Display label of a regressor."""
        return self.labels.get(name, LABELS.get(name, name))

    # ------------------------------------------------------------------ output
    def to_frame(self) -> pd.DataFrame:
        """Coefficient table: estimate, SE, t/z, p-value, 95% interval."""
        ci = self.conf_int()
        return pd.DataFrame(
            {
                "coef": self.params,
                "se": self.se,
                "t": self.tstat,
                "p": self.pvalues,
                "ci_lower": ci["lower"],
                "ci_upper": ci["upper"],
            }
        )

    def summary(self) -> str:
        """Plain-text summary of the fit."""
        lines = [
            f"structest reduced form: {self.estimator}"
            + (f" (spec {self.spec})" if self.spec else ""),
            f"formula: {self.formula}",
            f"sample: {self.sample}; N = {self.nobs}"
            + (f"; censored = {self.nobs_censored}" if self.nobs_censored is not None else ""),
            f"fixed effects: {', '.join(FE_LABELS.get(f, f) for f in self.fe) or 'none'}",
            f"SE clustered by {self.cluster} ({self.n_clusters} clusters)",
        ]
        if self.r2 is not None:
            lines.append(
                f"R-squared: {self.r2:.4f}"
                + (f"; within: {self.r2_within:.4f}" if self.r2_within is not None else "")
            )
        if self.loglik is not None:
            lines.append(f"log-likelihood: {self.loglik:.4f}")
        if self.sigma is not None:
            lines.append(f"sigma: {self.sigma:.4f} ({self.sigma_se:.4f})")
        lines.append("")
        frame = self.to_frame()
        frame.index = [f"{n}" for n in frame.index]
        lines.append(frame.to_string(float_format=lambda v: f"{v:.4f}"))
        for name, val in self.first_stage.items():
            lines.append(f"first stage {name}: {val}")
        for name, val in self.tests.items():
            lines.append(f"test {name}: {val}")
        if self.dropped:
            lines.append("dropped:")
            lines.extend(f"  {n} obs: {why}" for why, n in self.dropped)
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        coefs = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"Results({self.estimator}, N={self.nobs}, {coefs})"
