"""Posterior counterfactuals: t* and applied tariffs before and after a scenario.

For every posterior draw ``s`` and observation ``o``:

- ``tstar_base[s, o]`` / ``tstar_cf[s, o]``: the structural (politically optimal) tariff
  without noise, from :func:`structest.structural.likelihood.tstar` on the baseline and the
  counterfactual panel (eq. 11 outside RTAs, eq. 14 inside; effects unchanged);
- ``applied_* = min(max(t* (+ e), lower), MFN)``: what the MFN cap and the lower bound let
  through. By default *noise-free* (``noise=False``): the change in applied tariffs is the
  change of the capped systematic part. With ``noise=True`` an error ``e`` (Normal or
  Student-t with the draw's ``sigma``/``nu``) is drawn once per draw and observation and
  added to *both* states (common random numbers), so the change reflects the policy
  shift, not independent noise; applied changes then also move where t* is near the cap.

The change in the *optimal* tariff (``d_tstar``) is uncensored; the change in the
*applied* tariff (``d_applied``) is what survives the cap: zero wherever the optimal
tariff stays above MFN (or below the lower bound) in both states.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..equations import cap
from ..errors import EstimationError, SpecError, StructestError
from ..panel import MFN_TOL, Panel
from ..structural.design import effect_labels
from ..structural.posterior import posterior_errors, tstar_draws
from ..structural.results import fit_for_baseline
from ..structural.spec import LOWER_MAX
from .scenario import GrowthLike, MfnLike, RtaLike, Scenario

#: quantities aggregated by group (per draw), then summarised over draws
AGGREGATED: tuple[str, ...] = (
    "d_tstar",
    "d_applied",
    "d_pref",
    "share_mfn_base",
    "share_mfn_cf",
    "d_share_mfn",
)
#: default grouping columns of the aggregates
DEFAULT_BY: tuple[str, ...] = ("importer", "industry", "exporter", "year", "rta")
#: groupings always available in a result computed with the default ``by`` (the valid
#: values of a command-line ``--by``; the Python API accepts any panel column)
BY_CHOICES: tuple[str, ...] = DEFAULT_BY
STATS: tuple[str, ...] = ("mean", "median", "lo", "hi")


def check_by(by: str | Sequence[str], columns: Sequence[str] | None = None) -> tuple[str, ...]:
    """Validate a ``by`` grouping and return it as a tuple of column names.

    Parameters
    ----------
    by
        One column name or a sequence of them.
    columns
        The panel's columns; None: only :data:`BY_CHOICES` are accepted (what a command
        line can check before a panel is read).

    Raises
    ------
    SpecError
        Not strings, or a column absent from ``columns`` (or not in :data:`BY_CHOICES`).
    """
    items = _by_tuple(by)
    if columns is None:
        bad = [b for b in items if b not in BY_CHOICES]
        if bad:
            raise SpecError(
                f"counterfactual: by column(s) {bad} are not groupings; choose from "
                f"{', '.join(BY_CHOICES)}"
            )
        return items
    allowed = [c for c in columns if c not in RESERVED]
    absent = [b for b in items if b not in columns]
    clash = [b for b in items if b in columns and b not in allowed]
    if absent or clash:
        what = (
            f"{absent} are not in the panel"
            if absent
            else f"{clash} are not grouping columns (their names are taken by the result's "
            "variables)"
        )
        raise SpecError(
            f"counterfactual: by column(s) {what}; grouping columns: {', '.join(allowed)}"
        )
    return items


#: names a ``by`` column may not take: the result's dimensions and per-observation variables
RESERVED: frozenset[str] = frozenset(
    {
        "chain",
        "draw",
        "obs",
        "stat",
        "tstar_base",
        "tstar_cf",
        "applied_base",
        "applied_cf",
        "mfn_base",
        "mfn_cf",
        "rta_base",
        "rta_cf",
        "tariff",
        "dlog_fva",
        "dlog_dva",
        "dlog_imports",
        "dlog_fg",
        "d_tstar_summary",
        "d_applied_summary",
        "obs_importer",
        "obs_exporter",
        "obs_industry",
        "obs_year",
    }
)


def grouping_columns(df: pd.DataFrame) -> list[str]:
    """Panel columns a result can be aggregated by: labels, integers and flags (not
    continuous values such as ``tariff`` or ``log_dva``), minus :data:`RESERVED` names."""
    return [
        str(c)
        for c in df.columns
        if df[c].dtype.kind not in "fcmM" and str(c) not in RESERVED and not _is_aggregate(str(c))
    ]


def _is_aggregate(name: str) -> bool:
    """A name of the form of an aggregated variable (``d_tstar_all``, ``d_pref_by_x``)."""
    return any(name.startswith(f"{q}_by_") or name.startswith(f"{q}_all") for q in AGGREGATED)


# ---------------------------------------------------------------------- inputs
def _scenario(scenario: Scenario | Mapping[str, Any] | None, direct: Mapping[str, Any]) -> Scenario:
    defaults = Scenario()
    changed = {k: v for k, v in direct.items() if not _is_default(v, getattr(defaults, k))}
    if scenario is None:
        return Scenario(**direct)
    if changed:
        raise SpecError(
            f"counterfactual: give either scenario= or the keyword arguments {sorted(changed)}, not both"
        )
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.from_dict(scenario)
    raise SpecError(
        f"counterfactual: scenario must be a Scenario or a dict, got {type(scenario).__name__}"
    )


def _is_default(v: Any, d: Any) -> bool:
    if isinstance(v, (np.ndarray, pd.Series, Mapping, list, tuple)):
        return False
    return v is d or v == d


def _lower(lower: float | str | None, spec: Any) -> float | None:
    if isinstance(lower, str):
        if lower != "model":
            raise SpecError(
                f"counterfactual: lower must be a number, None or 'model', got {lower!r}"
            )
        return spec.lower
    if lower is None:
        return None
    if isinstance(lower, bool) or not isinstance(lower, (int, float, np.integer, np.floating)):
        raise SpecError(f"counterfactual: lower must be a number, None or 'model', got {lower!r}")
    if not np.isfinite(lower):
        raise SpecError(f"counterfactual: lower must be finite, got {lower!r}")
    if abs(float(lower)) > LOWER_MAX:
        raise SpecError(
            f"counterfactual: lower must lie in [-{LOWER_MAX:g}, {LOWER_MAX:g}] pp (as in a "
            f"model file), got {lower!r}"
        )
    return float(lower)


def _check_options(interval: Any, thin: Any, noise: Any, seed: Any, lower: Any) -> None:
    """Types and ranges of the keyword options (before any work)."""
    if lower is not None and not isinstance(lower, str):
        _lower(lower, None)
    if isinstance(interval, bool) or not isinstance(
        interval, (int, float, np.integer, np.floating)
    ):
        raise SpecError(f"counterfactual: interval must be a number in (0, 1), got {interval!r}")
    if not 0.0 < float(interval) < 1.0:
        raise SpecError(f"counterfactual: interval must lie in (0, 1), got {interval!r}")
    if isinstance(thin, bool) or not isinstance(thin, (int, np.integer)):
        raise SpecError(f"counterfactual: thin must be an integer >= 1, got {thin!r}")
    if thin < 1:
        raise SpecError(f"counterfactual: thin must be >= 1, got {thin}")
    if not isinstance(noise, (bool, np.bool_)):
        raise SpecError(f"counterfactual: noise must be True or False, got {noise!r}")
    if seed is not None and not isinstance(seed, np.random.Generator):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise SpecError(
                f"counterfactual: seed must be an integer, a numpy Generator or None, got {seed!r}"
            )
        if not 0 <= int(seed) < 2**32:
            raise SpecError(f"counterfactual: seed must lie in [0, 2**32), got {seed}")


def _thin(posterior: xr.Dataset, thin: int) -> xr.Dataset:
    if thin < 1:
        raise SpecError(f"counterfactual: thin must be >= 1, got {thin}")
    n_draws = int(posterior.sizes.get("draw", 0))
    if thin > n_draws:
        raise SpecError(
            f"counterfactual: thin = {thin} exceeds the {n_draws} draws per chain (it would "
            "keep the first draw only)"
        )
    return posterior if thin == 1 else posterior.isel(draw=slice(None, None, thin))


def _by_tuple(by: Any) -> tuple[str, ...]:
    """``by`` as a tuple of strings (types only; the columns are checked against a panel)."""
    items = (by,) if isinstance(by, str) else by
    try:
        items = tuple(items)
    except TypeError:
        raise SpecError(
            f"counterfactual: by must be a column name or a list of them, got {by!r}"
        ) from None
    bad = [b for b in items if not isinstance(b, str)]
    if bad:
        raise SpecError(f"counterfactual: by entries must be column names, got {bad!r}")
    return tuple(dict.fromkeys(items))


def _check_by_values(panel: Panel, by: tuple[str, ...]) -> None:
    allowed = grouping_columns(panel.df)
    values = [b for b in by if b in panel.df.columns and b not in allowed]
    if values:
        raise SpecError(
            f"counterfactual: by column(s) {values} are continuous values or names of the "
            f"result's variables, not grouping columns; grouping columns: {', '.join(allowed)}"
        )
    cols = check_by(by, allowed)
    missing = [c for c in cols if panel.df[c].isna().any()]
    if missing:
        raise SpecError(f"counterfactual: by column(s) {missing} have missing values in the panel")


def _check_finite(named: Mapping[str, np.ndarray], panel: Panel, scen: Scenario) -> None:
    """Refuse non-finite draws (never a silent NaN in the result)."""
    for name, arr in named.items():
        bad = ~np.isfinite(np.asarray(arr, dtype=float))
        if bad.any():
            obs = np.flatnonzero(bad.reshape(-1, bad.shape[-1]).any(axis=0))
            i = int(obs[0])
            row = ", ".join(
                str(panel.df[k].iloc[i]) for k in ("importer", "exporter", "industry", "year")
            )
            raise EstimationError(
                f"counterfactual: {name} is not finite for {obs.size} observation(s), e.g. "
                f"obs {i} ({row}), under scenario {scen.describe()}: the scenario moves the "
                "model's inputs outside the range where t* is finite; use smaller changes"
            )


# ---------------------------------------------------------------------- maths (pure)
def group_means(values: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over observations within each label, per draw.

    Parameters
    ----------
    values
        float[..., n_obs].
    labels
        Group label per observation.

    Returns
    -------
    (levels, means)
        Sorted unique labels and float[..., n_groups].
    """
    from scipy import sparse

    levels, codes = np.unique(np.asarray(labels), return_inverse=True)
    codes = codes.reshape(-1)
    if values.shape[-1] != codes.size:
        raise ValueError(f"group_means: {values.shape[-1]} values per draw but {codes.size} labels")
    onehot = sparse.csr_matrix(
        (np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, levels.size)
    )
    counts = np.bincount(codes, minlength=levels.size).astype(float)
    flat = values.reshape(-1, codes.size)
    sums = np.asarray((onehot.T @ flat.T).T)
    return levels, (sums / counts).reshape(*values.shape[:-1], levels.size)


def summarize_draws(values: np.ndarray, interval: float = 0.9) -> np.ndarray:
    """``mean, median, lo, hi`` over the leading (chain, draw) axes -> float[..., 4]."""
    flat = values.reshape(-1, *values.shape[2:])
    a = (1.0 - interval) / 2.0
    q = np.quantile(flat, [0.5, a, 1.0 - a], axis=0)
    return np.stack([flat.mean(axis=0), q[0], q[1], q[2]], axis=-1)


# ---------------------------------------------------------------------- main entry
def counterfactual(
    fit: Any,
    panel: Panel | None = None,
    fva_growth: GrowthLike = 0.0,
    dva_growth: GrowthLike = 0.0,
    rta: RtaLike = None,
    mfn: MfnLike = None,
    *,
    imports_growth: GrowthLike = 0.0,
    fg_growth: GrowthLike = 0.0,
    rta_symmetric: bool = True,
    scenario: Scenario | Mapping[str, Any] | None = None,
    lower: float | str | None = "model",
    noise: bool = False,
    seed: int | np.random.Generator | None = 0,
    interval: float = 0.9,
    by: Sequence[str] = DEFAULT_BY,
    thin: int = 1,
) -> xr.Dataset:
    """Posterior counterfactual of optimal and applied tariffs, draw by draw.

    Parameters
    ----------
    fit
        A :class:`~structest.structural.results.StructuralFit`, a structest
        ``InferenceData`` or a path to a saved fit.
    panel
        The baseline observations (their effect labels must exist in the fit); None: the
        panel the model was fitted to (stored in the fit).
    fva_growth, dva_growth, imports_growth, fg_growth
        Log changes (levels times ``exp(g)``): a number, a dict by importer / industry /
        ``(importer, industry)``, a label-indexed or observation-aligned Series/array, or
        ``"wiod:1995-2007"`` for the growth measured in the bundled WIOD (FVA, DVA, FG; 2009 has negative final-goods value added in a few cells, where log growth is undefined and refused).
    rta
        Pairs to switch into an RTA (``[("USA", "CHN")]`` or ``["USA-CHN"]``) or a mapping
        ``pair -> 0/1``; the regime switches between eq. (11) and eq. (14).
    mfn
        A multiplier of every MFN rate, a dict of multipliers by importer / industry /
        ``(importer, industry)`` (or a label-indexed Series), or an observation-aligned
        array/Series of new rates in pp. Negative values raise.
    rta_symmetric
        A pair also switches the reverse direction (an RTA is reciprocal). Default True.
    scenario
        Alternatively a :class:`Scenario` (or a dict of its fields); then the scenario
        keyword arguments above must stay at their defaults.
    lower
        Left bound of applied tariffs: ``"model"`` (the fit's spec, 0 pp for ``bbj``), a
        number, or None.
    noise
        False (default): applied = ``clip(t*_draw, lower, MFN)``, noise-free per draw.
        True: add an error per draw and observation, common to both states.
    seed
        Seed of the errors (``noise=True``).
    interval
        Probability mass of the reported interval (``lo``, ``hi``); default 0.9.
    by
        Panel column(s) to aggregate by (each becomes a dimension): one name or a
        sequence of grouping columns (labels, integers, flags; see
        :func:`grouping_columns`); checked before any computation (:func:`check_by`; the
        command line accepts :data:`BY_CHOICES`).
    thin
        Keep every ``thin``-th draw (memory: four float64 arrays of draws x observations).

    Returns
    -------
    xarray.Dataset
        Per draw and observation (``chain, draw, obs``): ``tstar_base``, ``tstar_cf``,
        ``applied_base``, ``applied_cf``. Per observation: ``mfn_base``, ``mfn_cf``,
        ``rta_base``, ``rta_cf``, ``tariff`` (observed), the shocks ``dlog_fva``,
        ``dlog_dva``, ``dlog_imports``, ``dlog_fg``, and summaries over draws
        ``d_tstar_summary``, ``d_applied_summary`` (dims ``obs, stat``). For each quantity
        ``q`` in ``d_tstar, d_applied, d_pref, share_mfn_base, share_mfn_cf, d_share_mfn``
        and each column ``c`` in ``by``: ``q_by_c`` (chain, draw, c) — the mean over
        observations of the group per draw (for ``share_mfn_*`` the share of partners at
        MFN) — and ``q_by_c_summary`` (c, stat); ``q_all`` (chain, draw) and
        ``q_all_summary`` (stat) over all observations. ``stat`` = mean, median, lo, hi.
        The preference is ``pref = applied - MFN`` (<= 0, as the panel's ``preference``).
        Observation labels are the non-dimension coordinates ``obs_importer``,
        ``obs_exporter``, ``obs_industry``, ``obs_year``. ``attrs["scenario_notes"]`` says
        when the scenario changes nothing (also a ``UserWarning``).

    Raises
    ------
    SpecError
        Before any computation: an option of the wrong type or out of range (``interval``
        in (0, 1), integer ``thin >= 1``, finite ``lower`` with ``|lower| <= 1000``, boolean ``noise``, ``seed`` in
        [0, 2**32)), an unknown ``by`` column, or a scenario value that is not finite, not
        of a known form, or that makes a level zero or infinite (growth ``g`` with
        ``level * exp(g)`` outside the floating-point range) or an MFN rate infinite.
    EstimationError
        The optimal or applied tariffs are not finite for some draw and observation (never
        a silent NaN).
    """
    _check_options(interval, thin, noise, seed, lower)
    by = _by_tuple(by)
    if panel is not None and not isinstance(panel, Panel):
        raise StructestError(
            f"counterfactual: panel must be a structest Panel, got {type(panel).__name__}"
        )
    if panel is not None:
        _check_by_values(panel, by)
    f = fit_for_baseline(fit, panel)
    spec = f.spec
    post = _thin(f.posterior, int(thin))
    if panel is None:
        panel = f.panel
        _check_by_values(panel, by)
    scen = _scenario(
        scenario,
        {
            "fva_growth": fva_growth,
            "dva_growth": dva_growth,
            "imports_growth": imports_growth,
            "fg_growth": fg_growth,
            "rta": rta,
            "mfn": mfn,
            "rta_symmetric": rta_symmetric,
        },
    )
    cf_panel = scen.apply(panel)
    notes: list[str] = []
    if not scen.changes(panel, cf_panel):
        notes.append(
            "the scenario changes nothing in this panel (no growth, no RTA, GSP or MFN flag "
            "moves): every change is zero"
        )
        warnings.warn(f"counterfactual: {notes[-1]}", UserWarning, stacklevel=2)
    if scen.rta is not None and not spec.rta_regime:
        warnings.warn(
            f"model '{spec.name}' has no RTA regime: switching RTAs changes nothing",
            UserWarning,
            stacklevel=2,
        )
    lo = _lower(lower, spec)
    pooled_notes = _pooled_cell_notes(spec, panel, scen.shocks(panel))
    for note in pooled_notes:
        warnings.warn(note, UserWarning, stacklevel=2)

    arrays0, arrays1 = f.design_for(panel).arrays, f.design_for(cf_panel).arrays
    with np.errstate(all="ignore"):  # non-finite values are refused below, with a reason
        ts0, ts1 = tstar_draws(post, spec, arrays0), tstar_draws(post, spec, arrays1)
    m0 = panel.df["mfn"].to_numpy(float)
    m1 = cf_panel.df["mfn"].to_numpy(float)
    # common random numbers: the same standardized shocks in both worlds, each scaled by its
    # regime's sigma when sigma varies by group (an RTA formed takes the RTA scale)
    e0 = e1 = 0.0
    if noise:
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**32))
        e0 = posterior_errors(post, spec, len(panel), seed, arrays0)
        e1 = posterior_errors(post, spec, len(panel), seed, arrays1)
    with np.errstate(all="ignore"):
        ap0, ap1 = cap(ts0 + e0, m0, lo), cap(ts1 + e1, m1, lo)
    _check_finite(
        {
            "baseline t*": ts0,
            "counterfactual t*": ts1,
            "baseline applied": ap0,
            "counterfactual applied": ap1,
        },
        panel,
        scen,
    )
    ds = _assemble(panel, cf_panel, scen, ts0, ts1, ap0, ap1, post, by, float(interval))
    bad = [
        v for v in ds.data_vars if ds[v].dtype.kind == "f" and not np.isfinite(ds[v].values).all()
    ]
    if bad:
        raise EstimationError(
            f"counterfactual: the result has non-finite values in {bad[:5]} under scenario "
            f"{scen.describe()}: use smaller changes"
        )
    ds.attrs.update(
        {
            "scenario": scen.describe(),
            "scenario_name": scen.name,
            "model_name": spec.name,
            "ratios": spec.ratios,
            "lower": "none" if lo is None else float(lo),
            "noise": int(bool(noise)),
            "interval": float(interval),
            "thin": int(thin),
            "panel_source": str(panel.meta.get("source", "unknown")),
            "identification_notes": " | ".join(pooled_notes),
            "scenario_notes": " | ".join(notes),
            "applied_definition": (
                "clip(t*_draw + e, lower, MFN) with e common to both states"
                if noise
                else "clip(t*_draw, lower, MFN), noise-free per draw"
            ),
        }
    )
    return ds


#: shocked variable -> (panel column it moves, coefficient it works through)
_SHOCKED = {
    "fva": ("log_fva", "g_FVA"),
    "fg": ("log_fg", "g_IP"),
    "dva": ("log_dva", "g_DVA"),
    "imports": ("log_imports", "every ratio"),
}


def _pooled_cell_notes(spec: Any, panel: Panel, shocks: Mapping[str, np.ndarray]) -> list[str]:
    """Notes for shocks to a variable that is constant within the cells of one of the
    spec's partially pooled effects: its coefficient then rests on between-cell variation
    and the random-effects assumption (effects independent of that variable)."""
    notes = []
    df = panel.df
    for name, shock in shocks.items():
        if name not in _SHOCKED or not np.any(np.asarray(shock) != 0):
            continue
        col, coef = _SHOCKED[name]
        for e in spec.effects:
            groups = df.groupby(effect_labels(df, e), sort=False)[col]
            if (groups.size() > 1).any() and bool((groups.nunique() <= 1).all()):
                notes.append(
                    f"{name} growth shifts {col}, which is constant within the cells of the "
                    f"partially pooled effect '{e}' of model '{spec.name}': {coef} is then "
                    "identified only by between-cell variation under the random-effects "
                    "assumption (effects independent of it), not by within-cell variation; "
                    "see the fit's identification table"
                )
                break
    return notes


def _assemble(
    panel: Panel,
    cf_panel: Panel,
    scen: Scenario,
    ts0: np.ndarray,
    ts1: np.ndarray,
    ap0: np.ndarray,
    ap1: np.ndarray,
    post: xr.Dataset,
    by: Sequence[str],
    interval: float,
) -> xr.Dataset:
    df, cf = panel.df, cf_panel.df
    m0, m1 = df["mfn"].to_numpy(float), cf["mfn"].to_numpy(float)
    obs = np.arange(len(df))
    cd = ("chain", "draw", "obs")
    shocks = scen.shocks(panel)
    data: dict[str, Any] = {
        "tstar_base": (cd, ts0),
        "tstar_cf": (cd, ts1),
        "applied_base": (cd, ap0),
        "applied_cf": (cd, ap1),
        "mfn_base": ("obs", m0),
        "mfn_cf": ("obs", m1),
        "rta_base": ("obs", df["rta"].to_numpy(np.int64)),
        "rta_cf": ("obs", cf["rta"].to_numpy(np.int64)),
        "tariff": ("obs", df["tariff"].to_numpy(float)),
        **{f"dlog_{k}": ("obs", v) for k, v in shocks.items()},
    }
    at0 = (ap0 >= m0 - MFN_TOL).astype(float)
    at1 = (ap1 >= m1 - MFN_TOL).astype(float)
    per_draw = {
        "d_tstar": ts1 - ts0,
        "d_applied": ap1 - ap0,
        "d_pref": (ap1 - m1) - (ap0 - m0),
        "share_mfn_base": at0,
        "share_mfn_cf": at1,
        "d_share_mfn": at1 - at0,
    }
    data["d_tstar_summary"] = (("obs", "stat"), summarize_draws(per_draw["d_tstar"], interval))
    data["d_applied_summary"] = (("obs", "stat"), summarize_draws(per_draw["d_applied"], interval))
    coords: dict[str, Any] = {
        "chain": post["chain"].values,
        "draw": post["draw"].values,
        "obs": obs,
        "stat": list(STATS),
        "obs_importer": ("obs", df["importer"].astype(str).to_numpy()),
        "obs_exporter": ("obs", df["exporter"].astype(str).to_numpy()),
        "obs_industry": ("obs", df["industry"].astype(str).to_numpy()),
        "obs_year": ("obs", df["year"].to_numpy(np.int64)),
    }
    for q in AGGREGATED:
        v = per_draw[q]
        mean_all = v.mean(axis=-1)
        data[f"{q}_all"] = (("chain", "draw"), mean_all)
        data[f"{q}_all_summary"] = (("stat",), summarize_draws(mean_all, interval))
        for col in by:
            labels = df[col].to_numpy()
            levels, means = group_means(v, labels)
            coords[col] = levels
            data[f"{q}_by_{col}"] = (("chain", "draw", col), means)
            data[f"{q}_by_{col}_summary"] = ((col, "stat"), summarize_draws(means, interval))
    ds = xr.Dataset(data, coords=coords)
    for name, text in _DESCRIPTIONS.items():
        for v in ds.data_vars:
            if v == name or v.startswith(name + "_by_") or v.startswith(name + "_all"):
                ds[v].attrs["description"] = text
    return ds


_DESCRIPTIONS: dict[str, str] = {
    "tstar_base": "optimal tariff t* (pp, noise-free), baseline",
    "tstar_cf": "optimal tariff t* (pp, noise-free), counterfactual",
    "applied_base": "applied tariff min(max(t*, lower), MFN) (pp), baseline",
    "applied_cf": "applied tariff min(max(t*, lower), MFN) (pp), counterfactual",
    "d_tstar": "change in the optimal (uncensored) tariff, pp",
    "d_applied": "change in the applied (capped) tariff, pp",
    "d_pref": "change in the preference applied - MFN, pp (negative: deeper preference)",
    "share_mfn_base": "share of partners at MFN, baseline",
    "share_mfn_cf": "share of partners at MFN, counterfactual",
    "d_share_mfn": "change in the share of partners at MFN",
}
