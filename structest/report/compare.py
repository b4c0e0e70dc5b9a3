"""Bayesian structural posterior vs the reduced form, side by side (one paper-style table).

:func:`coefficient_table` fits OLS, Tobit, IV and Tobit-IV on the panel the structural
model was fitted to, with the fit's fixed-effect structure, and lines their coefficients
up with the posterior of the implied coefficients (and the truth on synthetic data).
:func:`wide_table` / :func:`to_markdown` / :func:`to_html` format it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StructestError
from ..panel import Panel
from ..reduced.tables import ESTIMATOR_NAMES, markdown_grid

Z90 = 1.6448536269514722

#: rows of the table in order: label -> (reduced-form term(s) summed, structural expression)
_ROWS_IIY: dict[str, tuple[tuple[str, ...], str]] = {
    "g_DVA outside RTA": (("log_dva_ratio_nonrta",), "g_DVA"),
    "g_DVA inside RTA": (("log_dva_ratio_rta",), "g_DVA_rta"),
    # with importer-industry-year effects ln FG and ln FVA are absorbed: log_ip_ratio carries
    # g_IP + g_FVA outside RTAs and the RTA interactions the inside-minus-outside differences
    "g_IP + g_FVA outside RTA": (("log_ip_ratio",), "g_IP+g_FVA"),
    "g_IP + g_FVA inside RTA": (
        ("log_ip_ratio", "log_fva_ratio_rta", "log_ip_ratio_rta"),
        "g_IP_rta+g_FVA_rta",
    ),
    "g_IP": ((), "g_IP"),
    "g_FVA": ((), "g_FVA"),
    "RTA": (("rta",), "rta"),
}
_ROWS_SPLIT: dict[str, tuple[tuple[str, ...], str]] = {
    "g_DVA outside RTA": (("log_dva_ratio_nonrta",), "g_DVA"),
    "g_DVA inside RTA": (("log_dva_ratio_rta",), "g_DVA_rta"),
    "g_IP outside RTA": (("log_ip_ratio_nonrta",), "g_IP"),
    "g_IP inside RTA": (("log_ip_ratio_rta",), "g_IP_rta"),
    "g_FVA outside RTA": (("log_fva_ratio_nonrta",), "g_FVA"),
    "g_FVA inside RTA": (("log_fva_ratio_rta",), "g_FVA_rta"),
    "g_IP + g_FVA outside RTA": (("log_ip_ratio_nonrta", "log_fva_ratio_nonrta"), "g_IP+g_FVA"),
    "RTA": (("rta",), "rta"),
}


def _rows_and_formulas(effects: Sequence[str]) -> tuple[dict, str, str]:
    fe = " + ".join(effects)
    if "imp_ind_year" in effects:
        rows = _ROWS_IIY
        exog = "log_ip_ratio + log_fva_ratio_rta + log_ip_ratio_rta + rta"
    else:
        rows = _ROWS_SPLIT
        exog = "log_ip_ratio_nonrta + log_ip_ratio_rta + log_fva_ratio_nonrta + log_fva_ratio_rta + rta"
    ols = f"tariff ~ log_dva_ratio_nonrta + log_dva_ratio_rta + {exog} | {fe}"
    # one endogenous regressor (pyfixest's IV supports one): log DVA-ratio outside RTAs
    iv = f"tariff ~ log_dva_ratio_rta + {exog} | {fe} | log_dva_ratio_nonrta ~ log_dva_services_ratio_nonrta"
    return rows, ols, iv


def _posterior_expr(post: Any, expr: str, rta_regime: bool) -> np.ndarray | None:
    """Draws of a structural expression; None when restricted to exactly 0."""

    def get(name: str) -> np.ndarray:
        if not rta_regime and name.endswith("_rta"):
            name = name[: -len("_rta")]
        return post[name].values.reshape(-1)

    if expr == "g_DVA_rta":
        return None if rta_regime else get("g_DVA")
    if expr == "rta":  # level inside minus outside: -100/eps, plus a free RTA level
        if not rta_regime:
            return None
        inside = post["intercept_rta"].values.reshape(-1) if "intercept_rta" in post else 0.0
        return inside - get("intercept")
    return sum(get(p) for p in expr.split("+"))


def _names(expr: str, rta_regime: bool) -> list[str]:
    """The posterior variables :func:`_posterior_expr` reads for ``expr``."""
    if expr == "rta":
        return ["intercept"]
    names = [p for p in expr.split("+") if p != "g_DVA_rta"]
    return [n[: -len("_rta")] if not rta_regime and n.endswith("_rta") else n for n in names]


def median_check(long: pd.DataFrame, estimator: str = "Tobit") -> pd.DataFrame:
    """Whether the posterior median of each coefficient lies inside a reduced form's interval.

    Overlap of two intervals proves little; a posterior median outside the fixed-effects
    estimator's interval is a disagreement to explain (issue 12's criterion).

    Parameters
    ----------
    long
        :func:`coefficient_table`'s long table.
    estimator
        The reduced-form column (``"Tobit"``: censored at 0 and MFN, the fit's effects).

    Returns
    -------
    DataFrame
        Indexed by ``row`` (rows the posterior does not restrict to one value and the
        estimator estimates): ``median``, ``prior_median`` (NaN without prior draws),
        ``lo``, ``hi`` (the estimator's interval), ``inside`` (bool) and ``side``
        (``"inside"``, ``"below"``, ``"above"``).
    """
    post = long[long["column"] == "posterior"].set_index("row")
    post = post[post["hi"] > post["lo"]]
    rf = long[long["column"] == estimator].set_index("row")
    rows = [r for r in post.index if r in rf.index and np.isfinite(rf.loc[r, "estimate"])]
    out = pd.DataFrame(index=pd.Index(rows, name="row"))
    med = post.get("median", post["estimate"])
    out["median"] = [float(med[r]) for r in rows]
    out["prior_median"] = [
        float(post.loc[r, "prior_median"]) if "prior_median" in post else np.nan for r in rows
    ]
    out["lo"] = [float(rf.loc[r, "lo"]) for r in rows]
    out["hi"] = [float(rf.loc[r, "hi"]) for r in rows]
    out["inside"] = (out["median"] >= out["lo"]) & (out["median"] <= out["hi"])
    out["side"] = np.where(
        out["inside"], "inside", np.where(out["median"] < out["lo"], "below", "above")
    )
    return out


def _truth_value(truth: Mapping[str, Any], expr: str) -> float:
    if expr == "g_DVA_rta":
        return 0.0
    if expr == "rta":
        return float(truth.get("intercept_rta", 0.0)) - float(truth["intercept"])
    return float(sum(float(truth[p]) for p in expr.split("+")))


def _rf_value(res: Any, terms: tuple[str, ...]) -> tuple[float, float]:
    if not terms or any(t not in res.params.index for t in terms):
        return np.nan, np.nan
    w = pd.Series(1.0, index=list(terms))
    est = float(res.params[list(terms)].sum())
    var = float(w @ res.vcov.loc[list(terms), list(terms)] @ w)
    return est, float(np.sqrt(max(var, 0.0)))


def coefficient_table(
    fit: Any,
    panel: Panel | None = None,
    *,
    estimators: Sequence[str] = ("ols", "tobit", "iv", "tobit_iv"),
    truth: Mapping[str, Any] | None = None,
    prob: float = 0.9,
    cluster: str = "pair",
) -> tuple[pd.DataFrame, list[str]]:
    """Reduced-form estimates and structural posteriors of the same coefficients, long form.

    Parameters
    ----------
    fit
        A structural fit (or its InferenceData).
    panel
        The fitted panel (default: the one stored in the fit); the reduced forms use the
        fit's fixed-effect structure
        (``spec.effects``), tariffs in pp as dependent variable, and (Tobit) the bounds
        ``[spec.lower, mfn]`` the structural likelihood uses.
    estimators
        Any of ``"ols", "tobit", "iv", "tobit_iv"``; an estimator that fails is reported in
        the notes and left out.
    truth
        The true values (``simulate``'s second return) to add a ``truth`` column.
    prob
        Interval mass (posterior: equal-tailed; reduced form: estimate +/- z * SE).
    cluster
        Cluster column of the reduced-form standard errors.

    Returns
    -------
    (pandas.DataFrame, list[str])
        Long table ``row, column, estimate, se, lo, hi, nobs`` and notes stating sample
        differences (e.g. observations Tobit drops in all-censored cells) and restrictions.
    """
    from ..reduced import fit_reduced_form
    from ..structural.results import as_fit

    f = as_fit(fit, panel)
    idata, panel, spec = f.idata, f.panel, f.spec
    rows, f_ols, f_iv = _rows_and_formulas(spec.effects)
    z = Z90 if prob == 0.9 else float(__import__("scipy").stats.norm.ppf(0.5 + prob / 2))
    n = len(panel)
    out: list[dict[str, Any]] = []
    notes = [
        f"structural posterior: model '{spec.name}', {n} observations (all; censored ones enter as probability masses)"
    ]
    opts_tobit = {"upper": "mfn", "lower": spec.lower}
    for est in estimators:
        if est not in ESTIMATOR_NAMES:
            raise StructestError(
                f"coefficient_table: unknown estimator {est!r}; use {list(ESTIMATOR_NAMES)}"
            )
        formula = f_iv if est in ("iv", "tobit_iv") else f_ols
        data = panel
        try:
            res = fit_reduced_form(
                data, formula, est, cluster=cluster, **(opts_tobit if "tobit" in est else {})
            )
        except Exception as exc:  # report, do not hide: the column is left out
            notes.append(
                f"{ESTIMATOR_NAMES[est]}: not estimated ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
            )
            continue
        if res.nobs != n:
            own = [(r, c) for r, c in res.dropped if (r, c) not in set(panel.dropped)]
            why = "; ".join(f"{c} {r}" for r, c in own) or "see results"
            notes.append(f"{ESTIMATOR_NAMES[est]}: {res.nobs} of {n} observations ({why})")
        for label, (terms, _) in rows.items():
            e, s = _rf_value(res, terms)
            out.append(
                {
                    "row": label,
                    "column": ESTIMATOR_NAMES[est],
                    "estimate": e,
                    "se": s,
                    "lo": e - z * s,
                    "hi": e + z * s,
                    "nobs": res.nobs,
                }
            )
    a = (1 - prob) / 2
    post = idata.posterior
    for label, (_, expr) in rows.items():
        d = _posterior_expr(post, expr, spec.rta_regime)
        if d is None:
            out.append(
                {
                    "row": label,
                    "column": "posterior",
                    "estimate": 0.0,
                    "se": 0.0,
                    "lo": 0.0,
                    "hi": 0.0,
                    "nobs": n,
                }
            )
            continue
        prior = (
            _posterior_expr(idata.prior, expr, spec.rta_regime)
            if "prior" in idata.groups()
            and all(v in idata.prior for v in _names(expr, spec.rta_regime))
            else None
        )
        out.append(
            {
                "row": label,
                "column": "posterior",
                "estimate": float(d.mean()),
                "se": float(d.std(ddof=1)),
                "lo": float(np.quantile(d, a)),
                "hi": float(np.quantile(d, 1 - a)),
                "nobs": n,
                "median": float(np.median(d)),
                "prior_median": float(np.median(prior)) if prior is not None else np.nan,
            }
        )
    if any(e in ("iv", "tobit_iv") for e in estimators):
        notes.append(
            "IV, Tobit-IV: log DVA-ratio outside RTAs instrumented by log DVA-in-services ratio outside RTAs (one endogenous regressor); inside RTAs treated as exogenous"
        )
    if spec.rta_regime:
        level = (
            "RTA = rta_shift - 100/eps (free RTA level)"
            if spec.free_rta_level
            else "RTA = -100/eps by the structure"
        )
        notes.append(f"posterior: g_DVA inside RTAs is 0 (eq. 14) and {level}")
    if "imp_ind_year" in spec.effects:
        notes.append(
            "importer-industry-year effects absorb FG and FVA: the reduced form identifies g_IP + g_FVA only"
        )
    if truth is not None:
        for label, (_, expr) in rows.items():
            v = _truth_value(truth, expr)
            out.append(
                {
                    "row": label,
                    "column": "truth",
                    "estimate": v,
                    "se": np.nan,
                    "lo": np.nan,
                    "hi": np.nan,
                    "nobs": n,
                }
            )
    return pd.DataFrame(out), notes


def wide_table(long: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Paper-style wide table: rows x columns, cells ``estimate (SE)`` or ``mean [lo, hi]``."""

    def cell(r: pd.Series) -> str:
        if not np.isfinite(r["estimate"]):
            return "—"
        if r["column"] == "truth":
            return f"{r['estimate']:.{digits}f}"
        if r["column"] == "posterior":
            return f"{r['estimate']:.{digits}f} [{r['lo']:.{digits}f}, {r['hi']:.{digits}f}]"
        return f"{r['estimate']:.{digits}f} ({r['se']:.{digits}f})"

    d = long.assign(cell=long.apply(cell, axis=1))
    rows = list(dict.fromkeys(d["row"]))
    cols = list(dict.fromkeys(d["column"]))
    wide = (
        d.pivot(index="row", columns="column", values="cell")
        .reindex(index=rows, columns=cols)
        .fillna("—")
    )
    nobs = d.groupby("column")["nobs"].first().reindex(cols)
    wide.loc["Observations"] = [str(int(v)) for v in nobs]
    wide.columns.name = None
    return wide


def to_markdown(wide: pd.DataFrame, notes: Sequence[str] = ()) -> str:
    """Markdown text of :func:`wide_table` plus notes."""
    grid = markdown_grid(list(wide.index), wide.to_numpy().tolist(), list(wide.columns))
    return grid + "".join(f"\n- {n}" for n in notes) + "\n"


def to_html(wide: pd.DataFrame, notes: Sequence[str] = ()) -> str:
    """HTML table of :func:`wide_table` plus notes (escaped)."""
    th = "".join(f"<th>{html.escape(str(c))}</th>" for c in wide.columns)
    trs = "".join(
        f"<tr><th>{html.escape(str(i))}</th>"
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in r)
        + "</tr>"
        for i, r in wide.iterrows()
    )
    ul = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<table class="tbl"><thead><tr><th></th>{th}</tr></thead><tbody>{trs}</tbody></table><ul class="notes">{ul}</ul>'
