"""Reduced-form estimators of Blanchard, Bown & Johnson (2016): OLS, 2SLS, FE-Tobit, Tobit-IV.

Entry point: :func:`fit_reduced_form`. Specifications are pyfixest-style formulas; the
paper's are named in :data:`SPECS` (``"eq16"``, ``"eq17"``, ``"eq19"``...).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import SpecError
from ..panel import Panel
from .data import build_sample
from .formula import FE_LABELS, LABELS, SAMPLES, SPECS, Formula, parse
from .results import Results

ESTIMATORS: tuple[str, ...] = ("ols", "tobit", "iv", "tobit_iv")

__all__ = [
    "ESTIMATORS",
    "FE_LABELS",
    "LABELS",
    "SAMPLES",
    "SPECS",
    "Formula",
    "Results",
    "fit_reduced_form",
    "parse",
]

_IIY_NOTE = (
    "with importer-industry-year fixed effects FG and FVA are absorbed, so the coefficient on "
    "log_ip_ratio identifies g_IP + g_FVA only"
)


def _identification_labels(f: Formula) -> tuple[dict[str, str], list[str]]:
    """Labels and notes for coefficients that identify sums of structural parameters."""
    labels: dict[str, str] = {}
    notes: list[str] = []
    iiy = any(t in ("imp_ind_year", "imp_ind_year_decile") for t in f.fe)
    if iiy:
        for base in ("log_ip_ratio", "log_ip_ratio_nonrta", "log_ip_ratio_rta"):
            if base in f.regressors:
                suffix = {
                    "log_ip_ratio": "",
                    "log_ip_ratio_nonrta": " outside RTAs",
                    "log_ip_ratio_rta": " inside RTAs",
                }[base]
                labels[base] = f"Log IP-ratio + log FVA-ratio (g_IP + g_FVA){suffix}"
        if labels:
            notes.append(_IIY_NOTE)
        both = [t for t in ("log_fva_ratio", "log_ip_ratio") if t in f.regressors]
        if len(both) == 2:
            raise SpecError(
                f"formula '{f.text}': with importer-industry-year fixed effects log_fva_ratio and "
                "log_ip_ratio are collinear (only g_IP + g_FVA is identified); keep log_ip_ratio only"
            )
    return labels, notes


def fit_reduced_form(
    panel: Panel | pd.DataFrame,
    formula: str,
    estimator: str = "ols",
    cluster: str | None = "pair",
    **options: Any,
) -> Results:
    """Fit a reduced-form specification.

    Parameters
    ----------
    panel
        A :class:`~structest.Panel` (or a DataFrame already holding the columns).
    formula
        pyfixest-style formula, e.g. ``"tariff ~ log_dva + rta | imp_ind_year + exp_ind_year"``
        or, for IV, ``"tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services"``;
        or the name of a spec in :data:`SPECS`.
    estimator
        ``"ols"``, ``"tobit"``, ``"iv"`` or ``"tobit_iv"``.
    cluster
        Cluster column for the standard errors (default importer-exporter ``"pair"``).
    **options
        ``sample`` (a key of :data:`SAMPLES`, default ``"all"``); OLS/IV: ``ssc`` (pyfixest
        small-sample options; default ``G/(G-1)`` only); Tobit/Tobit-IV: ``upper`` (column or
        number, default ``"mfn"``), ``lower`` (``None`` or e.g. ``0.0``), ``censor_tol``,
        ``max_iter``.

    Returns
    -------
    Results
        ``.params``, ``.se``, ``.vcov``, ``.nobs``, ``.summary()``, ``.to_frame()``...

    Raises
    ------
    SpecError
        Unknown estimator, option, sample, or columns missing from the panel.
    """
    if estimator not in ESTIMATORS:
        raise SpecError(f"unknown estimator '{estimator}'; choose one of {', '.join(ESTIMATORS)}")
    opts = dict(options)
    sample_name = opts.pop("sample", "all")
    spec_name = formula if isinstance(formula, str) and formula in SPECS else None
    f = parse(formula)
    allowed = {
        "ols": {"ssc"},
        "iv": {"ssc"},
        "tobit": {"upper", "lower", "censor_tol", "max_iter"},
        "tobit_iv": {"upper", "lower", "censor_tol", "max_iter", "ssc"},
    }[estimator]
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise SpecError(
            f"unknown option(s) {unknown} for estimator '{estimator}'; allowed: {sorted(allowed) + ['sample']}"
        )
    labels, notes = _identification_labels(f)
    extra_cols: tuple[str, ...] = ()
    if estimator in ("tobit", "tobit_iv"):
        bounds = [opts.get("upper", "mfn"), opts.get("lower")]
        extra_cols = tuple(b for b in bounds if isinstance(b, str))
        if f.depvar == "preference":
            extra_cols = (*extra_cols, "mfn")
    sample = build_sample(panel, f, sample=sample_name, cluster=cluster, extra_columns=extra_cols)
    if estimator == "ols":
        from .ols_iv import fit_ols

        res = fit_ols(f, sample, cluster=cluster, **opts)
    elif estimator == "iv":
        from .ols_iv import fit_iv

        res = fit_iv(f, sample, cluster=cluster, **opts)
    elif estimator == "tobit":
        from .tobit import fit_tobit

        res = fit_tobit(f, sample, cluster=cluster, **opts)
    else:
        from .control import fit_tobit_iv

        res = fit_tobit_iv(f, sample, cluster=cluster, **opts)
    res.labels.update(labels)
    res.notes.extend(notes)
    res.spec = spec_name
    res.sample = sample_name
    if isinstance(panel, Panel) and panel.dropped:
        res.dropped = tuple(panel.dropped) + tuple(res.dropped)
    return res
