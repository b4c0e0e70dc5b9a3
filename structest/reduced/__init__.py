"""Reduced-form estimators of Blanchard, Bown & Johnson (2016): OLS, 2SLS, FE-Tobit, Tobit-IV.

Entry point: :func:`fit_reduced_form`. Specifications are pyfixest-style formulas; the
paper's are named in :data:`SPECS` (``"eq16"``, ``"eq17"``, ``"eq19"``...) and every column
of its Tables 2-7 and C1-C3 in :data:`PAPER_SPECS` (``"table2_col1"``... with the paper's
estimator, sample, cluster and options; :func:`fit_table`, :func:`compare_to_paper`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError, SpecError
from ..panel import MFN_TOL, Panel
from .data import Sample, as_frame, build_sample, check_sample_cluster
from .formula import (
    FE_LABELS,
    LABELS,
    SAMPLE_COLUMNS,
    SAMPLES,
    SPEC_DEFAULTS,
    SPECS,
    Formula,
    parse,
)
from .paper import (
    PAPER_SPECS,
    PaperSpec,
    compare_to_paper,
    fit_table,
    paper_numbers,
    table_specs,
)
from .results import EstimationWarning, Results, check_estimates

ESTIMATORS: tuple[str, ...] = ("ols", "tobit", "iv", "tobit_iv")

__all__ = [
    "ESTIMATORS",
    "FE_LABELS",
    "LABELS",
    "PAPER_SPECS",
    "SAMPLES",
    "SPECS",
    "SPEC_DEFAULTS",
    "EstimationWarning",
    "Formula",
    "PaperSpec",
    "Results",
    "compare_to_paper",
    "fit_reduced_form",
    "fit_table",
    "paper_numbers",
    "parse",
    "table_specs",
]

_IIY_NOTE = (
    "with importer-industry-year fixed effects FG and FVA are absorbed, so the coefficient on "
    "log_ip_ratio identifies g_IP + g_FVA only"
)


def _identification_labels(f: Formula) -> tuple[dict[str, str], list[str]]:
    """Labels and notes for coefficients that identify sums or differences of parameters.

    With importer-industry(-year) effects FVA_ixt and FG_ixt are absorbed, so only
    ``g_IP + g_FVA`` is identified (the coefficient on ``log_ip_ratio``). With RTA
    heterogeneity the paper's Table 6 col. 2 regresses on ``log_ip_ratio`` + RTA x
    ln(FVA/IM) + RTA x ln(FG/IM): the sum is then the one outside RTAs and the interactions'
    coefficients are the inside-minus-outside differences of ``g_FVA`` and ``g_IP``.
    """
    labels: dict[str, str] = {}
    notes: list[str] = []
    iiy = any(t in ("imp_ind_year", "imp_ind_year_decile") for t in f.fe)
    if not iiy:
        return labels, notes
    reg = set(f.regressors)
    both = [t for t in ("log_fva_ratio", "log_ip_ratio") if t in reg]
    if len(both) == 2:
        raise SpecError(
            f"formula '{f.text}': with importer-industry-year fixed effects log_fva_ratio and "
            "log_ip_ratio are collinear (only g_IP + g_FVA is identified); keep log_ip_ratio only"
        )
    split = {"log_fva_ratio_nonrta", "log_fva_ratio_rta", "log_ip_ratio_nonrta", "log_ip_ratio_rta"}
    if split <= reg:
        raise SpecError(
            f"formula '{f.text}': with importer-industry-year fixed effects the four RTA-split "
            "FVA and IP ratios are collinear (their sum less ln(FVA/FG) is absorbed); write "
            "log_ip_ratio + log_fva_ratio_rta + log_ip_ratio_rta as the paper (Table 6 col. 2)"
        )
    sum_label = "Log IP-ratio + log FVA-ratio (g_IP + g_FVA)"
    if "log_ip_ratio" in reg:
        diffs = [t for t in ("log_fva_ratio_rta", "log_ip_ratio_rta") if t in reg]
        labels["log_ip_ratio"] = sum_label + (" outside RTAs" if diffs else "")
        if "log_fva_ratio_rta" in reg:
            labels["log_fva_ratio_rta"] = "Log FVA-ratio inside - outside RTAs (g_FVA)"
        if "log_ip_ratio_rta" in reg:
            labels["log_ip_ratio_rta"] = "Log IP-ratio inside - outside RTAs (g_IP)"
        notes.append(_IIY_NOTE)
        if diffs:
            notes.append(
                "with importer-industry-year fixed effects and log_ip_ratio in the formula, the "
                f"coefficients on {' and '.join(diffs)} are the inside-minus-outside-RTA "
                "differences (log_ip_ratio: g_IP + g_FVA outside RTAs)"
            )
    elif "log_ip_ratio_nonrta" in reg or "log_ip_ratio_rta" in reg:
        if "log_ip_ratio_nonrta" in reg:
            labels["log_ip_ratio_nonrta"] = sum_label + " outside RTAs"
        if "log_ip_ratio_rta" in reg and "log_fva_ratio_rta" in reg:
            labels["log_ip_ratio_rta"] = "Log IP-ratio inside RTAs (g_IP inside + g_FVA outside)"
            labels["log_fva_ratio_rta"] = "Log FVA-ratio inside - outside RTAs (g_FVA)"
        elif "log_ip_ratio_rta" in reg:
            labels["log_ip_ratio_rta"] = (
                sum_label + " inside RTAs only if g_FVA is equal inside and outside"
            )
            notes.append(
                "with importer-industry-year fixed effects RTA x ln(FVA/IM) is not absorbed: "
                "without log_fva_ratio_rta the coefficient on log_ip_ratio_rta mixes g_IP and "
                "g_FVA inside RTAs with the omitted term; the paper (Table 6 col. 2, spec "
                "eq19_rta_iiy) writes log_ip_ratio + log_fva_ratio_rta + log_ip_ratio_rta"
            )
        notes.append(_IIY_NOTE)
    return labels, notes


def _check_information(
    f: Formula, sample: Sample, estimator: str, cluster: str | None, opts: dict[str, Any]
) -> None:
    """Refuse samples that carry no information, before any estimator runs.

    Fewer than two clusters (a clustered covariance is then zero), no residual degrees of
    freedom after absorbing the fixed effects, and (Tobit) every observation censored.
    """
    from .hdfe import encode, fe_rank, no_dof_message

    df = sample.df
    n = len(df)
    if cluster is not None:
        G = int(df[cluster].nunique())
        if G < 2:
            raise EstimationError(
                f"cluster-robust standard errors need at least 2 clusters: column '{cluster}' "
                f"has {G} value in the {n} observation(s) of the estimation sample"
            )
    intercept = 0 if (f.fe or getattr(f, "no_intercept", False)) else 1
    fe = encode(df, f.fe)
    rank, levels, exact = fe_rank(fe)
    if exact and n - rank - intercept <= 0:
        raise EstimationError(no_dof_message(n, fe, rank, levels, intercept, ""))
    if estimator in ("tobit", "tobit_iv"):
        from .tobit import censoring_bounds, censoring_status
        from .tobit_core import UNCENSORED

        y = df[f.depvar].to_numpy(dtype=float)
        U, L = censoring_bounds(sample, f, opts.get("upper", "mfn"), opts.get("lower"))
        st = censoring_status(y, U, L, opts["censor_tol"])
        if not (st == UNCENSORED).any():
            raise EstimationError(
                f"all {n} observations censored ('{f.depvar}' at its censoring bound): the "
                "Tobit needs uncensored rows"
            )


#: Options of each estimator (besides ``sample``).
OPTIONS: dict[str, tuple[str, ...]] = {
    "ols": ("ssc",),
    "iv": ("ssc",),
    "tobit": ("upper", "lower", "censor_tol", "max_iter"),
    "tobit_iv": ("upper", "lower", "censor_tol", "max_iter", "ssc"),
}
_HINTS = {
    "vcov": " (the covariance is set by cluster=: a column for cluster-robust standard "
    "errors, None for heteroskedasticity-robust ones)",
    "se": " (the covariance is set by cluster=)",
}


def _check_estimator(estimator: object) -> str:
    """The estimator name (:class:`OptionError` if not a string, :class:`SpecError` if unknown)."""
    if not isinstance(estimator, str):
        shown = repr(estimator)[:60]
        raise OptionError(
            f"estimator must be one of {', '.join(ESTIMATORS)} (a string), got {shown} "
            f"({type(estimator).__name__})"
        )
    if estimator not in ESTIMATORS:
        hint = f" (did you mean '{estimator.lower()}'?)" if estimator.lower() in ESTIMATORS else ""
        raise SpecError(
            f"unknown estimator {estimator[:60]!r}{hint}; choose one of {', '.join(ESTIMATORS)}"
        )
    return estimator


def _check_options(
    panel: Panel | pd.DataFrame, estimator: str, opts: dict[str, Any]
) -> dict[str, Any]:
    """Validate the estimator options before any work; returns them normalised.

    Raises
    ------
    SpecError
        An option the estimator does not take, or a censoring-bound column that is not in
        the panel or not numeric.
    OptionError
        An option of the wrong type or out of range (one line naming option and value).
    """
    allowed = OPTIONS[estimator]
    unknown = sorted(k for k in opts if k not in allowed)
    if unknown:
        hint = "".join(_HINTS.get(k, "") for k in unknown[:1])
        raise SpecError(
            f"unknown option(s) {unknown} for estimator '{estimator}'; allowed: "
            f"{sorted([*allowed, 'sample'])}{hint}"
        )
    out = dict(opts)
    if "ssc" in out:
        from .ols_iv import check_ssc

        out["ssc"] = check_ssc(out["ssc"])
    if estimator in ("tobit", "tobit_iv"):
        from .tobit import check_tobit_options

        up, lo, tol, it = check_tobit_options(
            out.get("upper", "mfn"),
            out.get("lower"),
            out.get("censor_tol", MFN_TOL),
            out.get("max_iter", 100),
        )
        out.update(upper=up, lower=lo, censor_tol=tol, max_iter=it)
        df, _ = as_frame(panel)
        for name, col in (("upper", up), ("lower", lo)):
            if not isinstance(col, str):
                continue
            if col not in df.columns:
                raise SpecError(f"{name}: censoring bound column {col[:60]!r} is not in the panel")
            s = df[col]
            if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
                example = s.dropna().iloc[0] if s.notna().any() else None
                raise SpecError(
                    f"{name}: censoring bound column {col[:60]!r} is not numeric (dtype "
                    f"{s.dtype}, values such as {str(example)[:40]!r})"
                )
    return out


def _regressor_sd(res: Results, sample: Sample) -> tuple[float | None, pd.Series | None]:
    """Standard deviations of the outcome and of the regressors that are plain columns."""
    df = sample.df
    depvar = res.formula.split("~", 1)[0].strip()
    if depvar not in df.columns:
        return None, None
    sd = {
        n: float(np.std(pd.to_numeric(df[n], errors="coerce").to_numpy(dtype=float)))
        for n in res.params.index
        if n in df.columns
    }
    y_sd = float(np.std(pd.to_numeric(df[depvar], errors="coerce").to_numpy(dtype=float)))
    return y_sd, pd.Series(sd, dtype=float)


class _SpecDefault:
    """Sentinel of an argument left to the named spec's default (``<spec default>``)."""

    _instance: _SpecDefault | None = None

    def __new__(cls) -> _SpecDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<spec default>"

    def __reduce__(self) -> str:
        return "SPEC_DEFAULT"


#: Default of ``estimator`` and ``cluster`` in :func:`fit_reduced_form`: the named spec's
#: setting (a formula: ``"ols"`` and ``"pair"``).
SPEC_DEFAULT: Any = _SpecDefault()


def spec_defaults(name: str) -> dict[str, Any]:
    """Estimator, sample, cluster and options that the named spec ``name`` uses by default.

    Paper columns (:data:`PAPER_SPECS`) carry the paper's; the names of :data:`SPECS` the
    library's (``"ols"``, ``"all"``, ``"pair"``) updated by :data:`SPEC_DEFAULTS`; a
    formula gets the library's.
    """
    if name in PAPER_SPECS:
        p = PAPER_SPECS[name]
        return {
            "estimator": p.estimator,
            "sample": p.sample,
            "cluster": p.cluster,
            "options": dict(p.options),
        }
    out: dict[str, Any] = {"estimator": "ols", "sample": "all", "cluster": "pair", "options": {}}
    extra = dict(SPEC_DEFAULTS.get(name, {}))
    for key in ("estimator", "sample", "cluster"):
        if key in extra:
            out[key] = extra.pop(key)
    out["options"] = extra
    return out


def _differs(given: object, default: object) -> bool:
    """Whether an argument differs from the spec's default (any type; never raises)."""
    try:
        return bool(given != default)
    except Exception:  # noqa: BLE001 - e.g. arrays: ambiguous truth value
        return True


def fit_reduced_form(
    panel: Panel | pd.DataFrame,
    formula: str,
    estimator: str = SPEC_DEFAULT,
    cluster: str | None = SPEC_DEFAULT,
    **options: Any,
) -> Results:
    """Fit a reduced-form specification.

    Parameters
    ----------
    panel
        A :class:`~structest.Panel` (or a DataFrame already holding the columns; for the
        paper's Table 7 columns the TTB coverage panel).
    formula
        pyfixest-style formula, e.g. ``"tariff ~ log_dva + rta | imp_ind_year + exp_ind_year"``
        or, for IV, ``"tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services"``;
        or the name of a spec in :data:`SPECS` (``"eq16"``) or of a column of the paper in
        :data:`PAPER_SPECS` (``"table5_col3"``).
    estimator
        ``"ols"``, ``"tobit"``, ``"iv"`` or ``"tobit_iv"``. Default: the named spec's (the
        paper's estimator of a ``table*_col*`` column; ``"ols"`` otherwise).
    cluster
        Cluster column for the standard errors, ``None`` for heteroskedasticity-robust
        ones. Default: the named spec's (``"imp_exp_ind"`` for Table 7, else the
        importer-exporter ``"pair"``).
    **options
        ``sample`` (a key of :data:`SAMPLES`; default the named spec's: the paper's sample
        of a paper column, ``"nonrta"`` for ``gsp`` (Table 4 panel A), else ``"all"``);
        OLS/IV: ``ssc``, the small-sample correction of the clustered covariance:
        ``"cluster"`` (default, ``G/(G-1)``, as the Tobit sandwich, so that columns of one
        table differ only by estimator), ``"stata"`` (``(N-1)/(N-K) x G/(G-1)`` with K the
        coefficients plus the rank of the absorbed effects not nested in the clusters, as
        areg/reghdfe/ivreg2; the paper's columns use it to reproduce its Stata SEs) or a
        mapping of ``pyfixest.ssc`` keywords. Several endogenous regressors
        (``"y ~ x | fe | e1 + e2 ~ z1 + z2"``) are supported with ``estimator="iv"``;
        ``Results.tests`` holds ``anderson_rubin`` (one endogenous regressor) and
        ``kleibergen_paap``. Tobit/Tobit-IV:
        ``upper`` (column or number, default ``"mfn"``), ``lower`` (``None`` or e.g.
        ``0.0``), ``censor_tol``, ``max_iter``.

        An argument given explicitly always wins over the named spec's default; options of
        the spec that the chosen estimator does not take are left out (e.g. ``ssc`` of an
        OLS column fitted with ``estimator="tobit"``).

    Returns
    -------
    Results
        ``.params``, ``.se``, ``.vcov``, ``.nobs``, ``.summary()``, ``.to_frame()``...
        ``.spec`` is the name of a named spec (``None`` for a formula) and
        ``.extra["overridden"]`` lists the spec defaults the caller replaced.

    Raises
    ------
    OptionError
        An option of the wrong type or out of range, checked before any work: estimator,
        sample or cluster not a string (cluster may be ``None``); ``upper``/``lower`` not a
        column name, a finite number or ``None`` (booleans and NaN refused), numeric
        ``lower >= upper``; ``censor_tol`` not a finite number >= 0; ``max_iter`` not an
        integer >= 1; ``ssc`` not ``"cluster"``, ``"stata"``, ``None`` or a mapping of
        valid ``pyfixest.ssc`` keywords.
    SpecError
        Unknown estimator, option, sample, spec name, or columns missing from the panel
        (including the columns a sample rule reads); a censoring bound column that is not
        numeric; a continuous column used as categories (``C()``, ``i()``, fixed effects,
        cluster); a paper column the bundled data cannot support (its ``why_not``).
    EstimationError
        The data carry no information or the estimate is degenerate: fewer than two
        clusters, no residual degrees of freedom after absorbing the fixed effects, every
        regressor absorbed, all observations censored (Tobit), a perfect fit (sigma -> 0),
        a singular information matrix, or a zero / non-finite standard error.

    Warns
    -----
    EstimationWarning
        The estimate exists but is unreliable (Newton did not converge, nearly singular
        information, exploding SE, Tobit sigma identified only by censored rows): listed in
        ``Results.diagnostics`` and the summary, with ``converged=False``. Also issued
        (without changing ``converged``) for each regressor dropped as collinear.
    """
    spec_name = formula if isinstance(formula, str) and formula in (*SPECS, *PAPER_SPECS) else None
    defaults = spec_defaults(spec_name) if spec_name else spec_defaults("")
    overridden: list[str] = []
    if estimator is SPEC_DEFAULT:
        estimator = defaults["estimator"]
    elif spec_name and _differs(estimator, defaults["estimator"]):
        overridden.append("estimator")
    if cluster is SPEC_DEFAULT:
        cluster = defaults["cluster"]
    elif spec_name and _differs(cluster, defaults["cluster"]):
        overridden.append("cluster")
    if "sample" not in options:
        options = {"sample": defaults["sample"], **options}
    elif spec_name and _differs(options["sample"], defaults["sample"]):
        overridden.append("sample")
    estimator = _check_estimator(estimator)
    spec_notes: list[str] = []
    if spec_name in PAPER_SPECS:
        paper = PAPER_SPECS[spec_name]
        if not paper.supported:
            raise SpecError(
                f"paper column {spec_name!r} is not supported by the bundled data: "
                f"{paper.why_not}; to try it on another panel, fit its formula "
                f"'{paper.formula}' with estimator={paper.estimator!r}"
            )
        spec_notes.append(f"{spec_name} ({paper.title}); departures: {paper.departure}")
    allowed = OPTIONS[estimator]
    for key, value in defaults["options"].items():
        if key in options:
            if _differs(options[key], value):
                overridden.append(key)
            continue
        if key not in allowed:
            continue
        options[key] = value
    opts = dict(options)
    sample_name = opts.pop("sample", "all")
    check_sample_cluster(sample_name, cluster)
    opts = _check_options(panel, estimator, opts)
    f = parse(formula)
    labels, notes = _identification_labels(f)
    extra_cols: tuple[str, ...] = ()
    if estimator in ("tobit", "tobit_iv"):
        bounds = [opts.get("upper", "mfn"), opts.get("lower")]
        extra_cols = tuple(b for b in bounds if isinstance(b, str))
        if f.depvar == "preference":
            extra_cols = (*extra_cols, "mfn")
    rule_cols = SAMPLE_COLUMNS.get(sample_name, ())
    if rule_cols:
        df, _ = as_frame(panel)
        absent = [c for c in rule_cols if c not in df.columns]
        if absent:
            raise SpecError(
                f"sample {sample_name!r} needs column(s) {absent}, which the panel lacks"
            )
        # build_sample carries 'rta' and 'gsp' for the rules itself; other rule columns
        # (rta_broad) travel as extra columns
        carried = ("rta", "gsp")
        extra_cols = (*extra_cols, *(c for c in rule_cols if c not in (*extra_cols, *carried)))
    sample = build_sample(panel, f, sample=sample_name, cluster=cluster, extra_columns=extra_cols)
    _check_information(f, sample, estimator, cluster, opts)
    # the estimation warnings are all recorded in the result (whatever the caller's filters)
    # and issued again below at the caller's line, where the caller's filters apply
    # ("error" turns them into exceptions); other warnings pass through unchanged
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EstimationWarning)
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
    for w in caught:
        if issubclass(w.category, EstimationWarning):
            res.diagnostics.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if res.estimator in ("ols", "iv"):
        y_sd, x_sd = _regressor_sd(res, sample)
        check_estimates(res, y_sd, x_sd)
    else:
        check_estimates(res)
    res.diagnostics[:] = list(dict.fromkeys(res.diagnostics))
    if res.diagnostics:
        res.converged = False
    for d in res.diagnostics:
        warnings.warn(d, EstimationWarning, stacklevel=2)
    for note in res.notes:
        if note.startswith("dropped as collinear"):
            warnings.warn(
                f"{res.estimator} '{f.text}': {note} (no coefficient reported for them)",
                EstimationWarning,
                stacklevel=2,
            )
    res.labels.update(labels)
    res.notes.extend(notes)
    res.notes.extend(spec_notes)
    res.spec = spec_name
    res.sample = sample_name
    if overridden:
        res.extra["overridden"] = list(dict.fromkeys(overridden))
    if isinstance(panel, Panel) and panel.dropped:
        res.dropped = tuple(panel.dropped) + tuple(res.dropped)
    return res
