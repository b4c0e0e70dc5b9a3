"""Bayesian structural estimation of Blanchard, Bown & Johnson (2016), eq. (11)-(19).

The step, module by module (each uses only those above it)
----------------------------------------------------------
- :mod:`.priors`, :mod:`.spec`: models as data (:class:`ModelSpec`, :func:`load_model`);
- :mod:`.likelihood`: the censored likelihood and t*, pure JAX;
- :mod:`.design`: Panel + spec -> the likelihood's arrays;
- :mod:`.program`: the model body, once, against a small builder interface;
  :mod:`.backends` adapts it to NumPyro and PyMC;
- :mod:`.posterior`: draws -> parameters, batched evaluation, error draws, the MFN cap;
- :mod:`.io`: InferenceData assembly, the stored spec and panel, NetCDF;
- :mod:`.diagnostics`: R-hat, ESS, divergences, summaries, contraction;
- :mod:`.results`: :class:`StructuralFit`; :mod:`.sampling`: :func:`fit`;
- :mod:`.cli`: ``structest fit``.

Identification (log form, default effects importer-industry-year + exporter-industry-year)
--------------------------------------------------------------------------------------
Within an importer-industry-year cell, FG and FVA are constant, so cross-partner variation
identifies ``g_DVA`` (coefficient on log DVA), ``g_IP + g_FVA`` (outside RTAs) and
``g_IP_rta + g_FVA_rta`` (inside) through the common ``-log IM`` term, and the intercept
``100/eps`` through the RTA/non-RTA level difference (the mean ``mu`` of the cell effects
absorbs any common level). ``g_IP`` and ``g_FVA`` separately are identified only by the
between-cell variation of log FG and log FVA, which the partially pooled cell effects
(``a_ixt ~ N(mu, tau)``, assumed independent of FG/FVA) let through. The structural
model then imposes ``g_FVA/g_IP = g_FVA_rta/g_IP_rta = -(1-delta_star) eps_r_home/delta``.
Of the nine structural parameters the data pin down only the combinations
``100/eps``, ``delta/|lambda|``, ``(1-delta_star) eps_r_home/|lambda|``,
``(1+delta_dstar) eps_r_abroad`` and ``eps_tilde lambda_tilde``; the split of each product
(e.g. ``delta`` vs ``|lambda|``, ``delta_star`` vs ``eps_r_home``) comes from the priors
(see :func:`contraction`). With ``effects = ["imp_ind", "imp_year", "ind_year", ...]``
(model ``bbj_eq19``) the ixt-level FG and FVA variation is no longer absorbed and
identifies ``g_IP``, ``g_FVA`` separately from within-importer-industry changes over time.

Sampling geometry
-----------------
Because only the between-cell variation separates ``g_IP`` from ``g_FVA``, non-centred
importer-industry-year effects (``fe = mu + tau z``) make every move of ``g_IP`` drag all
the ``z`` along with it, and NUTS diverges. The bundled models therefore set
``centred_effect``: NUTS samples the cell means ``m = fe + s`` (``s``: the cell's mean of
the structural part of t*), which the data measure directly, with the centred prior
``m ~ Normal(mu + s, tau)``, and ``mu`` through the mean level ``mu + mean(s)``. It is the
same posterior in other coordinates (tested against the non-centred density); the
measured effect on divergences and ESS is in ``benchmarks/README.md``.
"""

from __future__ import annotations

from .design import InformationWarning
from .diagnostics import (
    SamplingWarning,
    check_sampling,
    contraction,
    identification,
    key_variables,
    summarize,
)
from .io import fit_spec
from .results import StructuralFit, as_fit, predict_applied, predict_tstar
from .sampling import fit
from .spec import DEFAULT_PRIORS, ModelSpec, available_models, load_model

__all__ = [
    "DEFAULT_PRIORS",
    "InformationWarning",
    "ModelSpec",
    "SamplingWarning",
    "StructuralFit",
    "as_fit",
    "available_models",
    "check_sampling",
    "contraction",
    "fit",
    "fit_spec",
    "identification",
    "key_variables",
    "load_model",
    "predict_applied",
    "predict_tstar",
    "summarize",
]
