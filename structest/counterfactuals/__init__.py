"""Counterfactual simulations from a structural posterior.

Blanchard, Bown & Johnson (2016, section 4.2): FVA grew by about 0.5 log points over
1995-2009; with the Tobit estimate inside RTAs (-5.38 pp per log point) optimal tariffs
fall by about 2.7 pp. :func:`counterfactual` does this draw by draw and observation by
observation, for any composable :class:`Scenario`::

    import structest
    fit = structest.fit(panel)            # or structest.StructuralFit.load("fit.nc")
    cf = structest.counterfactual(fit, fva_growth=0.5)
    cf["d_tstar_all_summary"], cf["d_applied_by_importer_summary"]

Public API: :func:`counterfactual`, :class:`Scenario`, :func:`measured_growth`,
:data:`BY_CHOICES` / :func:`check_by` (valid groupings, for checking ``by`` up front),
:func:`summary_table`, :func:`format_summary`, :func:`plot_counterfactual`,
:func:`save_figures`, :func:`save_counterfactual`, :func:`load_counterfactual`
(:mod:`.output`); the ``structest counterfactual`` command (:mod:`.cli`).
"""

from __future__ import annotations

from .compute import (
    AGGREGATED,
    BY_CHOICES,
    DEFAULT_BY,
    STATS,
    check_by,
    counterfactual,
    group_means,
    summarize_draws,
)
from .output import (
    format_summary,
    load_counterfactual,
    plot_counterfactual,
    save_counterfactual,
    save_figures,
    summary_table,
)
from .scenario import Scenario, measured_growth, resolve_growth, resolve_mfn, resolve_rta

__all__ = [
    "AGGREGATED",
    "BY_CHOICES",
    "DEFAULT_BY",
    "STATS",
    "Scenario",
    "check_by",
    "counterfactual",
    "format_summary",
    "group_means",
    "load_counterfactual",
    "measured_growth",
    "plot_counterfactual",
    "resolve_growth",
    "resolve_mfn",
    "resolve_rta",
    "save_counterfactual",
    "save_figures",
    "summarize_draws",
    "summary_table",
]
