"""The result object shared by every reduced-form estimator, and its sanity checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import EstimationError, EstimationWarning  # noqa: F401  (re-exported)
from .formula import FE_LABELS, LABELS

#: A standard error above this multiple of ``sd(y) / sd(x)`` (the coefficient that would
#: move the outcome by its own spread per unit spread of the regressor) is "exploding".
EXPLODING_SE: float = 1e6


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
        Free-text remarks (identification, corrections used; for a column of the paper its
        title and departures from the paper).
    spec
        Name of the named spec fitted (``"eq16"``, ``"table5_col3"``...), ``None`` for a
        formula.
    sample
        Sample rule used (a key of :data:`~structest.reduced.formula.SAMPLES`).
    extra
        Estimator internals (e.g. ``"pyfixest"``, ``"fe_levels"``) and ``"overridden"``:
        the settings of a named spec that the caller replaced (``estimator``, ``sample``,
        ``cluster``, option names).
    converged
        False when the optimiser did not converge or the estimates are unreliable (an
        :class:`EstimationWarning` listed in ``diagnostics``; a regressor dropped as
        collinear is warned about and noted, but leaves ``converged`` as it is).
    diagnostics
        The :class:`EstimationWarning` messages of this fit (shown first by :meth:`summary`).
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
    diagnostics: list[str] = field(default_factory=list)

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
            (
                f"SE clustered by {self.cluster} ({self.n_clusters} clusters)"
                if self.cluster
                else "SE heteroskedasticity-robust"
            ),
        ]
        if not self.converged or self.diagnostics:
            lines.append("converged: False (estimates or standard errors are unreliable)")
        lines.extend(f"WARNING: {d}" for d in self.diagnostics)
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

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Broom-style coefficient frame.

        Parameters
        ----------
        level
            Confidence level of ``conf_low``/``conf_high``, in (0, 1).

        Returns
        -------
        DataFrame
            One row per term, columns ``term``, ``estimate``, ``std_error``,
            ``statistic`` (t or z), ``p_value``, ``conf_low``, ``conf_high``.

        Raises
        ------
        OptionError
            ``level`` is not a number strictly between 0 and 1.
        """
        from ..errors import OptionError

        if (
            isinstance(level, bool)
            or not isinstance(level, int | float)
            or not np.isfinite(level)
            or not 0 < level < 1
        ):
            raise OptionError(f"level must be a number strictly between 0 and 1, got {level!r}")
        ci = self.conf_int(level)
        return pd.DataFrame(
            {
                "term": [str(t) for t in self.params.index],
                "estimate": self.params.to_numpy(dtype=float),
                "std_error": self.se.reindex(self.params.index).to_numpy(dtype=float),
                "statistic": self.tstat.to_numpy(dtype=float),
                "p_value": self.pvalues.to_numpy(dtype=float),
                "conf_low": ci["lower"].to_numpy(dtype=float),
                "conf_high": ci["upper"].to_numpy(dtype=float),
            }
        )

    def _repr_html_(self) -> str:
        """HTML view for notebooks: header facts, then the coefficient table."""
        import html

        head = [
            f"<b>structest reduced form: {html.escape(self.estimator)}</b>"
            + (f" (spec {html.escape(self.spec)})" if self.spec else ""),
            f"formula: <code>{html.escape(self.formula)}</code>",
            f"sample: {html.escape(self.sample)}; N = {self.nobs:,}",
            "fixed effects: "
            + html.escape(", ".join(FE_LABELS.get(f, f) for f in self.fe) or "none"),
            (
                f"SE clustered by {html.escape(self.cluster)} ({self.n_clusters} clusters)"
                if self.cluster
                else "heteroskedasticity-robust SE"
            ),
        ]
        warn = "".join(
            f"<p style='color:#a00'>WARNING: {html.escape(d)}</p>" for d in self.diagnostics
        )
        frame = self.tidy().set_index("term")
        frame.index = [html.escape(self.label(t)) for t in frame.index]
        table = frame.to_html(float_format=lambda v: f"{v:.4f}", escape=False, border=0)
        return "<div>" + "<br>".join(head) + warn + table + "</div>"

    # ------------------------------------------------------------------ maketables plug-in
    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        """Coefficients for maketables: ``b``, ``se``, ``t``, ``p``, ``ci95l``, ``ci95u``."""
        from .maketables_plugin import coef_table

        ci = self.conf_int(0.95)
        return coef_table(self.params, self.se, self.pvalues, ci["lower"], ci["upper"])

    def __maketables_stat__(self, key: str) -> Any:
        """A model statistic by maketables key (None when this fit has none)."""
        return {
            "N": self.nobs,
            "r2": self.r2,
            "r2_within": self.r2_within,
            "ll": self.loglik,
            "n_clusters": self.n_clusters,
            "se_type": f"by: {self.cluster}" if self.cluster else "hetero",
            "sigma": self.sigma,
            "fstat_1st": _first_f(self.first_stage),
        }.get(key)

    @property
    def __maketables_depvar__(self) -> str:
        """The outcome (left of ``~``)."""
        return self.formula.split("~", 1)[0].strip() if "~" in self.formula else self.formula

    @property
    def __maketables_fixef_string__(self) -> str | None:
        """Fixed effects joined by ``+`` (None without)."""
        return "+".join(self.fe) or None

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        """Covariance type and cluster column."""
        return {"vcov_type": "CRV1" if self.cluster else "hetero", "clustervar": self.cluster}

    @property
    def __maketables_var_labels__(self) -> dict[str, str]:
        """Display labels of the regressors."""
        return {str(t): self.label(t) for t in self.params.index}

    @property
    def __maketables_default_stat_keys__(self) -> list[str]:
        """Rows maketables shows by default for this fit."""
        return ["N", "r2"] if self.r2 is not None else ["N", "ll"]

    def __repr__(self) -> str:
        coefs = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"Results({self.estimator}, N={self.nobs}, {coefs})"


def _first_f(first_stage: dict[str, Any]) -> float | None:
    """The first first-stage F in ``first_stage`` (a number, or a mapping by regressor)."""
    for key, val in first_stage.items():
        if "f" not in str(key).lower():
            continue
        if isinstance(val, int | float) and not isinstance(val, bool):
            return float(val)
        if isinstance(val, dict):
            nums = [v for v in val.values() if isinstance(v, int | float)]
            if nums:
                return float(nums[0])
    return None


def check_estimates(res: Results, y_sd: float | None = None, x_sd: pd.Series | None = None) -> None:
    """Refuse meaningless estimates; flag exploding standard errors.

    Parameters
    ----------
    res
        A fitted result (changed in place: ``diagnostics``, ``converged``).
    y_sd, x_sd
        Standard deviations of the outcome and of each regressor (within the fixed
        effects, when available), the scale against which an SE is judged "exploding".

    Raises
    ------
    EstimationError
        A coefficient is not finite, or an SE is zero, negative or not finite.

    Returns
    -------
    None
        Exploding SEs (above :data:`EXPLODING_SE` times ``y_sd / x_sd``) add a line to
        ``res.diagnostics`` and set ``converged=False``; the caller issues the warning.
    """
    params = res.params.astype(float)
    se = res.se.reindex(params.index).astype(float)
    bad = [n for n, v in params.items() if not np.isfinite(v)]
    if bad:
        raise EstimationError(
            f"{res.estimator}: coefficient(s) {bad} are not finite: the data do not identify them"
        )
    bad_se = [n for n, v in se.items() if not np.isfinite(v) or v <= 0]
    if bad_se:
        vals = ", ".join(f"{n}={se[n]:g}" for n in bad_se)
        raise EstimationError(
            f"{res.estimator}: standard error(s) {vals} are zero or not finite: the "
            f"{res.cluster or 'robust'} covariance is degenerate ({res.n_clusters} clusters, "
            f"N = {res.nobs}); the data carry no information on their precision"
        )
    if res.sigma is not None and not (np.isfinite(res.sigma) and res.sigma > 0):
        raise EstimationError(f"{res.estimator}: sigma = {res.sigma:g} is not positive and finite")
    if y_sd is None or x_sd is None or not np.isfinite(y_sd) or y_sd <= 0:
        return
    for n in params.index:
        sx = float(x_sd.get(n, np.nan))
        if np.isfinite(sx) and sx > 0 and se[n] > EXPLODING_SE * y_sd / sx:
            res.diagnostics.append(
                f"the standard error of '{n}' ({se[n]:.3g}) is exploding (over "
                f"{EXPLODING_SE:g} x sd(y) / sd({n})): the data barely identify it; "
                "do not use its SE or test"
            )
            res.converged = False
