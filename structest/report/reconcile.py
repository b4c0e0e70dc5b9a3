"""The FVA counterfactual set beside the paper, every step between them named and measured.

The paper's +0.5 log FVA exercise inside RTAs is half the coefficient on RTA x ln(FVA/IM) in
its Table 6 panel A col. 3 (one-sided Tobit, preference as outcome, eq. 19 effects). The
chain from that number to the fitted model's answer has three links, each a row of
:func:`reconcile_fva`:

1. the same Tobit on the panel of the fit (the data differ: other sample and years);
2. the structural posterior of the optimal tariff t* (the model, its priors and effects);
3. the posterior of the applied tariff (t* capped at MFN and floored at the lower bound).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..counterfactuals import counterfactual
from ..errors import StructestError
from ..reduced import fit_reduced_form
from ..reduced.paper import paper_numbers

#: The paper's column and term of the exercise (Table 6 panel A col. 3, RTA x ln FVA/IM).
PAPER_SPEC = "table6_col3"
PAPER_TERM = "log_fva_ratio_rta"
#: The growth of FVA in the exercise (log points).
GROWTH = 0.5

#: Columns of :func:`reconcile_fva`.
COLUMNS = ("step", "estimate", "lo", "hi", "nobs", "vs_paper", "factor")


def _paper_row(growth: float, z: float) -> dict[str, Any]:
    nums = paper_numbers("6")
    col = nums[(nums["panel"] == "A") & (nums["column"] == 3)]
    coef = col[col["term"] == PAPER_TERM].iloc[0]
    nobs = col[col["term"] == "nobs"]["coef"]
    est, se = growth * float(coef["coef"]), growth * float(coef["se"])
    return {
        "step": "paper: Table 6 panel A col. 3 (Tobit, eq. 19 effects), "
        f"{growth:g} x RTA x ln FVA/IM",
        "estimate": est,
        "lo": est - z * se,
        "hi": est + z * se,
        "nobs": int(nobs.iloc[0]) if len(nobs) else None,
        "factor": "the reference",
    }


def _reduced_row(panel: Any, growth: float, z: float, paper_n: int | None) -> dict[str, Any]:
    step = "the same Tobit on this panel (fit_reduced_form(panel, 'table6_col3'))"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_reduced_form(panel, PAPER_SPEC)
    except StructestError as exc:  # e.g. a panel without the RTA variation it needs
        return {"step": step, "factor": f"not estimated: {exc}"}
    if PAPER_TERM not in res.params.index:
        return {"step": step, "factor": f"{PAPER_TERM} dropped (collinear) on this panel"}
    est, se = growth * float(res.params[PAPER_TERM]), growth * float(res.se[PAPER_TERM])
    return {
        "step": step,
        "estimate": est,
        "lo": est - z * se,
        "hi": est + z * se,
        "nobs": int(res.nobs),
        "factor": f"the data: {res.nobs:,} observations"
        + (f" against the paper's {paper_n:,}" if paper_n else "")
        + " (same estimator, effects and outcome)",
    }


def reconcile_fva(
    fit: Any, *, growth: float = GROWTH, interval: float = 0.9
) -> tuple[pd.DataFrame, list[str]]:
    """The paper's FVA exercise, the same reduced form here, and the fit's posterior.

    Parameters
    ----------
    fit
        A :class:`~structest.structural.results.StructuralFit` (with its panel).
    growth
        Log growth of FVA (the paper: 0.5).
    interval
        Mass of the intervals (reduced forms: estimate +- z x SE; posterior: quantiles).

    Returns
    -------
    (DataFrame, list of str)
        One row per step (:data:`COLUMNS`): the change in pp averaged over observations
        inside RTAs (posterior: median and interval over draws), the observations behind it,
        its ratio to the paper's number and the factor that separates it from the row
        above; and the counterfactual's warnings (e.g. how g_FVA is identified).
    """
    z = float(stats.norm.ppf(0.5 + interval / 2))
    paper = _paper_row(growth, z)
    rows = [paper, _reduced_row(fit.panel, growth, z, paper["nobs"])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf = counterfactual(fit, fva_growth=growth, by=("rta",), interval=interval)
    notes = list(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    )
    n_rta = int((np.asarray(fit.panel.df["rta"]) == 1).sum())
    name = fit.spec.name
    steps = (
        (
            "d_tstar",
            f"posterior of model '{name}': optimal tariff t*",
            f"the structural model '{name}' (its restrictions, priors and effects) in place "
            "of the reduced form",
        ),
        (
            "d_applied",
            f"posterior of model '{name}': applied tariff min(max(t*, lower), MFN)",
            "the MFN cap and the lower bound: tariffs already at the bound do not move",
        ),
    )
    for q, step, factor in steps:
        summ = cf[f"{q}_by_rta_summary"]
        if 1 not in summ["rta"].values:
            rows.append({"step": step, "factor": "no observation inside an RTA"})
            continue
        s = summ.sel(rta=1)
        rows.append(
            {
                "step": step,
                "estimate": float(s.sel(stat="median")),
                "lo": float(s.sel(stat="lo")),
                "hi": float(s.sel(stat="hi")),
                "nobs": n_rta,
                "factor": factor,
            }
        )
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    table["vs_paper"] = table["estimate"] / paper["estimate"]
    return table, notes
