"""Checks of a structural fit: posterior predictive (:mod:`.ppc`), PSIS-LOO (:mod:`.loo`;
moment matching for high Pareto k: :mod:`.moment_match`),
prior predictive (:mod:`.prior_predictive`) and misspecified variants (:mod:`.variants`).

Every function takes a :class:`~structest.structural.results.StructuralFit` (or a structest
``InferenceData``); a panel passed with it must be the fitted one.
"""

from __future__ import annotations

from .loo import check_comparable, informative, loo_compare, pareto_k_table
from .moment_match import loo_moment_match, moment_match_observation
from .ppc import (
    GROUPINGS,
    MAX_DRAWS,
    loo_pit_randomized,
    posterior_predictive,
    ppc_dva_bands,
    ppc_industry_moments,
    ppc_mass_at_mfn,
    ppc_preference_distribution,
    ppc_summary,
    with_posterior_predictive,
)
from .prior_predictive import prior_predictive_check, prior_predictive_draws
from .variants import ignore_censoring

__all__ = [
    "GROUPINGS",
    "MAX_DRAWS",
    "check_comparable",
    "ignore_censoring",
    "informative",
    "loo_compare",
    "loo_moment_match",
    "loo_pit_randomized",
    "moment_match_observation",
    "pareto_k_table",
    "posterior_predictive",
    "ppc_dva_bands",
    "ppc_industry_moments",
    "ppc_mass_at_mfn",
    "ppc_preference_distribution",
    "ppc_summary",
    "prior_predictive_check",
    "prior_predictive_draws",
    "with_posterior_predictive",
]
