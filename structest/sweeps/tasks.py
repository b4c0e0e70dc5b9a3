"""The task of one rep of each sweep: plain functions of plain arguments returning a table.

They run in a Dask worker (see :mod:`structest.sweeps.runner`) or in any process:
``benchmarks/coverage_study.py``'s loop is :func:`coverage_rep` over reps. Each fits
without a progress bar; in a worker, JAX has one host device (chains run one after the
other), so that workers do not oversubscribe the cores.

A task raises a :class:`~structest.errors.StructestError` for a rep that cannot be done
(e.g. a world with no uncensored observation); the runner records it as a failed rep.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError
from ..structural.spec import DEFAULT_MODEL

#: quantities a coverage rep checks (those the model reports and the world knows)
COVERAGE_PARAMS = (
    "g_IP",
    "g_FVA",
    "g_DVA",
    "g_IP_rta",
    "g_FVA_rta",
    "g_GSP",
    "intercept_rta",
    "g_MFN_other",
    "g_MFN_GSP",
    "sigma",
    "ratio_g_fva_g_ip",
)

#: synthetic worlds of coverage and SBC reps (options of :func:`structest.simulate_model`);
#: ``small`` is benchmarks/coverage_study.py's (8 x 6 x 2 years, about 670 observations)
_ECON = ("USA", "CHN", "DEU", "JPN", "BRA", "IND", "KOR", "MEX")
_INDS = ("c3", "c4", "c5", "c6", "c9", "c12")
WORLDS: dict[str, dict[str, Any]] = {
    "tiny": {"economies": _ECON[:4], "industries": _INDS[:3], "years": (1995, 2005)},
    "small": {"economies": _ECON, "industries": _INDS, "years": (1995, 2005)},
    "full": {},  # structest.simulate's default: 14 x 14 x 4 years
}

#: quantities summarised by a prior-sensitivity point (those the model has)
PRIOR_PARAMS = ("g_IP", "g_FVA", "g_DVA", "eps", "lambda_abs", "delta", "sigma")

#: aggregate quantities of a scenario (``<q>_all_summary`` of the counterfactual)
SCENARIO_QUANTITIES = ("d_tstar", "d_applied", "d_pref", "share_mfn_base", "share_mfn_cf")

#: simulator key of the effect scales, by the model's site name
_TAU_KEYS = {"tau_imp_ind_year": "tau_imp", "tau_exp_ind_year": "tau_exp"}
#: the effects whose scales the simulator takes (tau_imp, tau_exp)
_DEFAULT_EFFECTS = {"imp_ind_year", "exp_ind_year"}


def world_options(world: str | Mapping[str, Any]) -> dict[str, Any]:
    """The simulator options of a named world (:data:`WORLDS`) or the mapping itself.

    Raises
    ------
    OptionError
        An unknown world name.
    """
    if isinstance(world, Mapping):
        return dict(world)
    if world not in WORLDS:
        raise OptionError(f"sweep: world must be one of {sorted(WORLDS)}, got {world!r}")
    return dict(WORLDS[world])


def _fit_quietly(panel: Any, model: Any, **kw: Any) -> tuple[Any, int]:
    """``structest.fit`` without a progress bar or printed warnings; (fit, divergences)."""
    from ..structural.sampling import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(panel, model, progress_bar=False, **kw)
    div = int(result.idata.sample_stats["diverging"].values.sum())
    return result, div


def _scalar_sigma(result: Any) -> bool:
    """Whether ``sigma`` is one number in this model (not scaled by MFN, not by group)."""
    spec = result.spec
    return (
        result.posterior["sigma"].ndim == 2
        and not spec.scale_params
        and "sigma" not in spec.hierarchy
    )


def coverage_rows(
    result: Any,
    truth: Mapping[str, Any],
    *,
    level: float = 0.9,
    params: Sequence[str] = COVERAGE_PARAMS,
) -> pd.DataFrame:
    """Whether the central ``level`` posterior interval of each quantity covers the truth.

    Parameters
    ----------
    result
        A :class:`~structest.structural.results.StructuralFit`.
    truth
        The world's truth (:func:`structest.simulate_model`'s second value).
    level
        Probability of the central interval, in (0, 1).
    params
        Quantities to check; those missing from the posterior or the truth (and ``sigma``
        when it is not one number) are left out.

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``param, truth, lo, hi, covered, divergences``.
    """
    a = (1.0 - level) / 2.0
    div = int(result.idata.sample_stats["diverging"].values.sum())
    post = result.posterior
    rows = []
    for p in params:
        if p not in post or p not in truth or post[p].ndim != 2:
            continue
        if p == "sigma" and not _scalar_sigma(result):
            continue
        v = post[p].values.reshape(-1)
        lo, hi = np.quantile(v, [a, 1.0 - a])
        t = float(truth[p])
        rows.append({"param": p, "truth": t, "lo": float(lo), "hi": float(hi),
                     "covered": bool(lo <= t <= hi), "divergences": div})  # fmt: skip
    return pd.DataFrame(rows, columns=["param", "truth", "lo", "hi", "covered", "divergences"])


def coverage_rep(
    model: Any = DEFAULT_MODEL,
    *,
    world_seed: int,
    fit_seed: int,
    world: str | Mapping[str, Any] = "small",
    nu: float = 0.0,
    chains: int = 2,
    draws: int = 300,
    tune: int = 300,
    level: float = 0.9,
    **_: Any,
) -> pd.DataFrame:
    """One coverage rep: a world from the model's process, a fit, the interval checks.

    ``benchmarks/coverage_study.py`` is the loop ``coverage_rep(model, world_seed=1000 +
    rep, fit_seed=rep, nu=nu, draws=draws, tune=tune)`` over reps.

    Parameters
    ----------
    model
        Bundled model name, TOML path or spec.
    world_seed, fit_seed
        Seeds of the world (:func:`structest.simulate_model`) and of the fit.
    world
        :data:`WORLDS` name or simulator options.
    nu
        Student-t degrees of freedom of the world's shocks (0: the model's own errors).
    chains, draws, tune
        NUTS settings.
    level
        Probability of the central interval.

    Returns
    -------
    pandas.DataFrame
        :func:`coverage_rows`.
    """
    from ..structural.worlds import simulate_model

    extra = {"nu": float(nu)} if nu and nu > 0 else {}
    panel, truth = simulate_model(model, seed=int(world_seed), **world_options(world), **extra)
    result, _ = _fit_quietly(
        panel, model, chains=chains, draws=draws, tune=tune, seed=int(fit_seed), n_prior=0
    )
    return coverage_rows(result, truth, level=level)


def prior_world(spec: Any, rng: np.random.Generator) -> tuple[dict[str, float], list[str]]:
    """A draw from the model's priors of every parameter the simulator takes.

    Returns
    -------
    (dict, list)
        Simulator overrides (``eps``, ``sigma``, ``tau_imp``...) and the model's names of
        the drawn parameters (to rank). Parameters that vary by group are left at the
        simulator's values and not ranked; the effects' mean follows the simulator's
        calibration (``pref_share``), not the prior of ``mu``.
    """
    from ..data.synthetic import DEFAULTS
    from ..structural.priors import scipy_dist

    overrides: dict[str, float] = {}
    names: list[str] = []
    for name in spec.scalar_params:
        key = _TAU_KEYS.get(name, name)
        if name in spec.hierarchy or key not in DEFAULTS or name not in spec.priors:
            continue
        if key in ("tau_imp", "tau_exp") and set(spec.effects) != _DEFAULT_EFFECTS:
            continue
        if name == "sigma" and ("sigma" in spec.hierarchy or spec.scale_params):
            continue
        value = float(scipy_dist(spec.priors[name]).rvs(random_state=rng))
        overrides[key] = value
        names.append(name)
    return overrides, names


def sbc_rep(
    model: Any = DEFAULT_MODEL,
    *,
    world_seed: int,
    fit_seed: int,
    world: str | Mapping[str, Any] = "small",
    chains: int = 2,
    draws: int = 300,
    tune: int = 300,
    rank_draws: int = 99,
    **_: Any,
) -> pd.DataFrame:
    """One SBC rep: a truth from the prior, a world at it, a fit, the truth's ranks.

    Returns
    -------
    pandas.DataFrame
        One row per ranked quantity: ``param, truth, rank, n_draws`` (the rank of the
        truth among ``rank_draws`` evenly thinned posterior draws, in ``0..rank_draws``);
        the drawn parameters and the implied coefficients the model reports.

    Raises
    ------
    OptionError
        ``rank_draws`` exceeds ``chains * draws``.
    """
    from ..structural.spec import load_model
    from ..structural.worlds import simulate_model
    from .sbc import rank_of, thin_draws

    if rank_draws > chains * draws:
        raise OptionError(
            f"sweep sbc: --rank-draws {rank_draws} exceeds the posterior's {chains} x {draws} "
            "draws; give fewer rank draws or more draws"
        )
    spec = load_model(model)
    rng = np.random.default_rng(int(world_seed))
    overrides, names = prior_world(spec, rng)
    panel, truth = simulate_model(spec, seed=int(world_seed), **world_options(world), **overrides)
    result, div = _fit_quietly(
        panel, spec, chains=chains, draws=draws, tune=tune, seed=int(fit_seed), n_prior=0
    )
    post = result.posterior
    truth_of = {n: overrides[_TAU_KEYS.get(n, n)] for n in names}
    for p in COVERAGE_PARAMS:  # implied coefficients: functions of the drawn parameters
        if p not in truth_of and p in truth and p in post and p != "sigma":
            truth_of[p] = float(truth[p])
    rows = []
    for p, t in truth_of.items():
        if p not in post or post[p].ndim != 2:
            continue
        d = thin_draws(post[p].values, rank_draws)
        rows.append({"param": p, "truth": float(t), "rank": rank_of(t, d),
                     "n_draws": int(rank_draws), "divergences": div})  # fmt: skip
    return pd.DataFrame(rows, columns=["param", "truth", "rank", "n_draws", "divergences"])


def posterior_quantiles(
    result: Any, params: Sequence[str] = PRIOR_PARAMS, level: float = 0.9
) -> pd.DataFrame:
    """Mean, s.d., median and central ``level`` interval of each scalar quantity."""
    a = (1.0 - level) / 2.0
    rows = []
    for p in params:
        if p not in result.posterior or result.posterior[p].ndim != 2:
            continue
        v = result.posterior[p].values.reshape(-1)
        lo, med, hi = np.quantile(v, [a, 0.5, 1.0 - a])
        rows.append({"param": p, "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
                     "median": float(med), "lo": float(lo), "hi": float(hi)})  # fmt: skip
    return pd.DataFrame(rows, columns=["param", "mean", "sd", "median", "lo", "hi"])


def prior_point(
    priors: Mapping[str, Any],
    *,
    model: Any = DEFAULT_MODEL,
    panel: Any = None,
    chains: int = 2,
    draws: int = 300,
    tune: int = 300,
    fit_seed: int = 0,
    level: float = 0.9,
    **_: Any,
) -> pd.DataFrame:
    """One point of a prior-sensitivity grid: the fit with ``priors`` overriding the model's.

    Parameters
    ----------
    priors
        ``name -> (family, *args)``, as :func:`structest.fit`'s ``priors``.
    panel
        A Panel, a panel file path, or None (the bundled panel).

    Returns
    -------
    pandas.DataFrame
        :func:`posterior_quantiles` of :data:`PRIOR_PARAMS`.
    """
    if isinstance(panel, str):
        from ..panel import Panel

        panel = Panel.from_file(panel)
    result, div = _fit_quietly(
        panel,
        model,
        priors=dict(priors),
        chains=chains,
        draws=draws,
        tune=tune,
        seed=int(fit_seed),
        n_prior=0,
    )
    return posterior_quantiles(result, level=level).assign(divergences=div)


def scenario_point(
    scenario: Mapping[str, Any],
    *,
    fit: str,
    interval: float = 0.9,
    thin: int = 1,
    noise: bool = False,
    fit_seed: int = 0,
    **_: Any,
) -> pd.DataFrame:
    """One scenario on a saved fit: the aggregate changes over all observations.

    Parameters
    ----------
    scenario
        The fields of :class:`~structest.counterfactuals.scenario.Scenario` (a scenario
        file's table).
    fit
        Path of a fit saved by ``structest fit --out`` (readable where the task runs).

    Returns
    -------
    pandas.DataFrame
        One row per quantity of :data:`SCENARIO_QUANTITIES`: ``quantity, mean, median,
        lo, hi``.
    """
    from ..counterfactuals.compute import counterfactual

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = counterfactual(
            fit,
            scenario=dict(scenario),
            interval=interval,
            thin=thin,
            noise=noise,
            seed=int(fit_seed),
            by=("importer",),
        )
    rows = []
    for q in SCENARIO_QUANTITIES:
        v = ds[f"{q}_all_summary"]
        s = dict(zip([str(x) for x in v["stat"].values], v.values.tolist(), strict=True))
        rows.append({"quantity": q, **{k: float(s[k]) for k in ("mean", "median", "lo", "hi")}})
    out = pd.DataFrame(rows, columns=["quantity", "mean", "median", "lo", "hi"])
    if not np.isfinite(out[["mean", "median", "lo", "hi"]].to_numpy()).all():
        raise EstimationError("sweep scenarios: the counterfactual summary is not finite")
    return out
