"""Synthetic worlds for a model: :func:`simulate_model` draws a panel from the
data-generating process a :class:`~structest.structural.spec.ModelSpec` states (errors,
regimes, effects, group-varying parameters), through :func:`structest.simulate`."""

from __future__ import annotations

from typing import Any

from ..data.synthetic import simulate
from ..errors import SpecError
from ..panel import Panel
from .priors import HETEROGENEITY
from .spec import DEFAULT_MODEL, ModelSpec, load_model

#: effect structures :func:`structest.simulate` can draw, by the spec's effects
_EFFECTS = {
    frozenset({"imp_ind_year", "exp_ind_year"}): "imp_ind_year",
    frozenset({"imp_ind", "imp_year", "ind_year", "exp_ind_year"}): "eq19",
}

#: the size of each feature in a model's default world (overridable)
FEATURE_DEFAULTS: dict[str, Any] = {
    "nu": 5.0,
    "outlier_share": 0.1,
    "outlier_scale": 5.0,
    "gsp_shift": -2.0,
    "rta_shift": -1.0,
    "delta_rta": 0.1,
    "mfn_slope_other": 0.5,
    "mfn_slope_gsp": 0.3,
    "sigma_mfn": 0.8,
    "effect_mfn_slope": 0.8,
    "sigma_by_regime": {"other": 0.6, "GSP-eligible": 1.0, "RTA": 1.5},
    "outlier_share_by_regime": {"other": 0.05, "GSP-eligible": 0.15, "RTA": 0.3},
    "group_sd": 0.3,  # sd of the log of a parameter that varies by group
    "shift_sd": 2.0,  # sd of a parameter with a normal prior that varies by group (additively)
    "sigma_mfn_sd": 0.2,  # sd of sigma_mfn by group (the bundled panel's, by industry: 0.16)
}


def world_options(spec: ModelSpec) -> dict[str, Any]:
    """The :func:`structest.simulate` options that draw from ``spec``'s process.

    Raises
    ------
    SpecError
        A feature the simulator cannot draw (an effect structure other than the default's
        or eq. 19's, a parameter varying over another column than importer, exporter,
        industry, or sigma over another than regime).
    """
    f = FEATURE_DEFAULTS
    opts: dict[str, Any] = {"ratios": spec.ratios, "lower": spec.lower}
    key = frozenset(spec.effects)
    if key not in _EFFECTS:
        raise SpecError(
            f"simulate_model: model '{spec.name}' has effects {list(spec.effects)}; the "
            "simulator draws importer-industry-year + exporter-industry-year or eq. 19's"
        )
    opts["effects"] = _EFFECTS[key]
    if spec.errors == "student_t":
        opts["nu"] = f["nu"]
    elif spec.errors == "contaminated":
        opts["outlier_share"], opts["outlier_scale"] = f["outlier_share"], f["outlier_scale"]
    opts["rta_regime"] = spec.rta_regime
    if spec.gsp_regime:
        opts["gsp_shift"] = f["gsp_shift"]
    if spec.free_rta_level:
        opts["rta_shift"] = f["rta_shift"]
    if spec.regime_mfn_slopes:
        opts["mfn_slope_other"] = f["mfn_slope_other"]
        if spec.gsp_regime:
            opts["mfn_slope_gsp"] = f["mfn_slope_gsp"]
    if spec.free_rta_ratio:
        opts["delta_rta"] = f["delta_rta"]
    if spec.mfn_scaled_errors:
        opts["sigma_mfn"] = f["sigma_mfn"]
    if spec.mfn_effect:
        opts["effect_mfn_slope"] = f["effect_mfn_slope"]
    hierarchy = {}
    for p, col in spec.hierarchy.items():
        if p == "sigma":
            if col != "regime":
                raise SpecError(
                    f"simulate_model: sigma varies by '{col}'; the simulator draws 'regime'"
                )
            opts["sigma_by_regime"] = dict(f["sigma_by_regime"])
        elif p == "outlier_share":
            if col != "regime":
                raise SpecError(
                    f"simulate_model: outlier_share varies by '{col}'; the simulator draws 'regime'"
                )
            opts["outlier_share"] = dict(f["outlier_share_by_regime"])
        elif col in ("importer", "exporter", "industry"):
            kind = HETEROGENEITY[spec.priors[p][0]]
            sd = f["shift_sd" if kind == "additive" else "group_sd"]
            sd = f["sigma_mfn_sd"] if p == "sigma_mfn" else sd
            hierarchy[p] = (col, sd, kind)
        else:
            raise SpecError(
                f"simulate_model: '{p}' varies by '{col}'; the simulator draws importer, "
                "exporter or industry"
            )
    opts["hierarchy"] = hierarchy
    return opts


def simulate_model(
    model: Any = DEFAULT_MODEL, seed: int = 0, **overrides: Any
) -> tuple[Panel, dict]:
    """Draw a synthetic panel from the process of ``model`` (a name in ``models/``, a path
    or a spec): :func:`structest.simulate` with :func:`world_options`, then ``overrides``.

    Returns
    -------
    (Panel, dict)
        As :func:`structest.simulate`; the truth also names the ``model``.
    """
    spec = load_model(model)
    panel, truth = simulate(seed, **{**world_options(spec), **overrides})
    truth["model"] = spec.name
    return panel, truth
