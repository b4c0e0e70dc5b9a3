"""Counterfactual simulations from a structural posterior (issue 6).

Blanchard, Bown & Johnson (2016, section 4.2): FVA grew by about 0.5 log points over
1995-2009; with the Tobit estimate inside RTAs (-5.38 pp per log point) optimal tariffs
fall by about 2.7 pp. :func:`counterfactual` does this draw by draw and observation by
observation, for any composable :class:`Scenario`::

    import structest
    idata = structest.fit(panel)                                   # or load_fit("fit.nc")
    cf = structest.counterfactual(idata, panel, fva_growth=0.5)
    cf["d_tstar_all_summary"], cf["d_applied_by_importer_summary"]

Public API: :func:`counterfactual`, :class:`Scenario`, :func:`measured_growth`,
:func:`summary_table`, :func:`format_summary`, :func:`plot_intervals`,
:func:`save_figures`, :func:`save_counterfactual`, :func:`load_counterfactual`.
"""

from __future__ import annotations

from .compute import (
    AGGREGATED,
    DEFAULT_BY,
    STATS,
    cap,
    counterfactual,
    group_means,
    summarize_draws,
)
from .report import (
    format_summary,
    load_counterfactual,
    plot_intervals,
    save_counterfactual,
    save_figures,
    summary_table,
)
from .scenario import Scenario, measured_growth, resolve_growth, resolve_mfn, resolve_rta

__all__ = [
    "AGGREGATED",
    "DEFAULT_BY",
    "STATS",
    "Scenario",
    "cap",
    "counterfactual",
    "format_summary",
    "group_means",
    "load_counterfactual",
    "measured_growth",
    "plot_intervals",
    "resolve_growth",
    "resolve_mfn",
    "resolve_rta",
    "save_counterfactual",
    "save_figures",
    "summarize_draws",
    "summary_table",
]
