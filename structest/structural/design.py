"""Panel -> the arrays dict of :mod:`structest.structural.likelihood` (plain NumPy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..equations import mfn_rel
from ..errors import EstimationError, PanelError, SpecError
from ..panel import MFN_TOL, Panel
from .likelihood import EXACT, LEFT, NONE, RIGHT
from .spec import GROUPING, ModelSpec, term_columns


def effect_labels(df: pd.DataFrame, term: str) -> pd.Series:
    """Labels of an effect or grouping column on a panel's frame.

    A column of the frame is returned as it is; a fixest term ``a^b`` of grouping columns
    (:func:`structest.structural.spec.normalise_term`) that is not a column is built as the
    panel builds its keys: the parts' labels joined by ``_`` (years as integers), so
    ``importer^exporter^year`` labels read ``USA_CHN_1995``.

    Raises
    ------
    SpecError
        The frame lacks a grouping column the term combines.
    """
    if term in df.columns or "^" not in term:
        return df[term]
    cols = term_columns(term)
    missing = [c for c in cols if c not in df.columns]
    if not cols or missing:
        raise SpecError(
            f"effect/grouping term '{term}' needs the panel column(s) {missing or list(GROUPING)}, "
            "which the panel lacks"
        )
    parts = []
    for c in cols:
        v = df[c].astype(int) if c == "year" else df[c]  # as the panel's keys write years
        parts.append(v.astype(str))
    out = parts[0]
    for part in parts[1:]:
        out = out + "_" + part
    return out.rename(term)


@dataclass(frozen=True)
class Design:
    """Arrays for the likelihood plus the labels that name their indices.

    Attributes
    ----------
    arrays
        Keys documented in :mod:`structest.structural.likelihood`.
    levels
        ``effect -> labels`` (index ``k`` of ``fe_<effect>`` is ``levels[effect][k]``).
    groups
        ``parameter -> labels`` for group-varying parameters (``[hierarchy]``).
    group_cols
        ``parameter -> panel column`` for group-varying parameters.
    """

    arrays: dict[str, np.ndarray]
    levels: dict[str, np.ndarray]
    groups: dict[str, np.ndarray]
    group_cols: dict[str, str]
    regressors: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.arrays["tariff"].shape[0])

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Labels of every named dimension: effect levels, parameter groups and, with
        Mundlak effects, ``regressor``."""
        out = {e: np.asarray(v) for e, v in self.levels.items()}
        out.update({self.group_cols[p]: np.asarray(v) for p, v in self.groups.items()})
        if self.regressors:
            out["regressor"] = np.asarray(self.regressors)
        return out


def _index(
    values: np.ndarray, labels: np.ndarray | None, what: str
) -> tuple[np.ndarray, np.ndarray]:
    if labels is None:
        labels = np.unique(values)
        return labels, np.searchsorted(labels, values).astype(np.int64)
    labels = np.asarray(labels).astype(str)
    order = np.argsort(labels)
    pos = np.searchsorted(labels[order], values)
    pos = np.clip(pos, 0, len(labels) - 1)
    idx = order[pos]
    missing = labels[idx] != values
    if missing.any():
        new = sorted(set(values[missing]))
        raise SpecError(
            f"{what}: {len(new)} level(s) not in the fitted model, e.g. {new[:5]}; predictions "
            "need the fitted observations' labels"
        )
    return labels, idx.astype(np.int64)


def build_design(
    panel: Panel,
    spec: ModelSpec,
    levels: Mapping[str, Sequence[Any]] | None = None,
    groups: Mapping[str, Sequence[Any]] | None = None,
) -> Design:
    """Build the likelihood's arrays from a panel.

    Parameters
    ----------
    panel
        A validated panel.
    spec
        The model (ratios form, lower bound, effects, hierarchy, RTA regime).
    levels, groups
        Labels of a fitted model (for predictions on a modified panel); observations
        must use existing labels. None: taken from the panel.

    Raises
    ------
    SpecError
        An effect or grouping column missing from the panel, or unknown labels.
    """
    df = panel.df
    if "regime" in spec.hierarchy.values() or spec.gsp_regime:
        from ..data.describe import regime

        if spec.gsp_regime and "gsp" not in df.columns:
            raise SpecError(
                f"model '{spec.name}' has a GSP regime (gsp_regime = true) but the panel has "
                "no 'gsp' column (1 = GSP-eligible pair)"
            )
        df = df.assign(regime=regime(df))
    derived = {
        col: effect_labels(df, col)
        for col in (*spec.effects, *spec.hierarchy.values())
        if "^" in col and col not in df.columns
    }
    if derived:  # fixest terms a^b without a key column of their own
        df = df.assign(**derived)
    for col in (*spec.effects, *spec.hierarchy.values()):
        if col not in df.columns:
            raise SpecError(
                f"model '{spec.name}': column '{col}' (effects/hierarchy) is not in the panel; "
                f"available key columns: imp_ind_year, exp_ind_year, imp_ind, imp_year, ind_year, "
                f"exp_ind, exp_year, pair, importer, exporter, industry, year; derived: regime, "
                "or a fixest term such as importer^exporter^year"
            )
        values = df[col]
        if pd.api.types.is_float_dtype(values.dtype):
            v = values.to_numpy(dtype=float)
            frac = v[np.isfinite(v) & (v != np.round(v))]
            if frac.size or not np.isfinite(v).all():
                shown = repr(float(frac[0])) if frac.size else "a non-finite value"
                raise SpecError(
                    f"model '{spec.name}': column '{col}' (effects/hierarchy) holds continuous "
                    f"values (e.g. {shown}), not group labels; name a grouping column such "
                    "as imp_ind_year, exp_ind_year, importer, industry or pair"
                )
    fmt = "log_{}_ratio" if spec.ratios == "log" else "{}_ratio"
    ratio_cols = {k: fmt.format(k[2:]) for k in ("x_ip", "x_fva", "x_dva")}
    need = [*ratio_cols.values(), "tariff", "mfn", "censored", "rta"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise PanelError(
            [
                f"the panel lacks column(s) {missing} that the structural model needs; build "
                "panels with Panel.from_frame(df) (it validates and adds the derived columns)"
            ]
        )
    x = {k: df[c].to_numpy(float) for k, c in ratio_cols.items()}
    tariff = df["tariff"].to_numpy(float)
    mfn = df["mfn"].to_numpy(float)
    # the right-censoring point: where the panel starts recording "at MFN"
    threshold = df["mfn_threshold"].to_numpy(float) if "mfn_threshold" in df.columns else mfn
    n = len(df)
    lower = np.full(n, -np.inf if spec.lower is None else float(spec.lower))
    at_mfn = df["censored"].to_numpy(bool) | (tariff >= mfn - MFN_TOL)
    kind = np.full(n, EXACT, dtype=np.int64)
    kind[at_mfn] = RIGHT
    if spec.lower is not None:
        kind[(~at_mfn) & (tariff <= spec.lower + MFN_TOL)] = LEFT
        kind[threshold <= spec.lower + MFN_TOL] = NONE  # every outcome recorded at MFN
    rta = df["rta"].to_numpy(float) if spec.rta_regime else np.zeros(n)
    arrays: dict[str, np.ndarray] = {
        **x,
        "rta": rta,
        "tariff": tariff,
        "mfn": mfn,
        "threshold": threshold,
        "lower": lower,
        "kind": kind,
        "sel_exact": np.flatnonzero(kind == EXACT),
        "sel_right": np.flatnonzero(kind == RIGHT),
        "sel_left": np.flatnonzero(kind == LEFT),
    }
    if spec.mfn_scaled_errors:
        arrays["log_mfn_rel"] = np.log(mfn_rel(mfn))  # the scale is exp(sigma_mfn log ...)
    if spec.gsp_regime:  # GSP preferences are granted only outside RTAs
        arrays["gsp"] = df["gsp"].to_numpy(float) * (1.0 - df["rta"].to_numpy(float))
    lev_out: dict[str, np.ndarray] = {}
    for e in spec.effects:
        given = None if levels is None else levels.get(e)
        labs, idx = _index(df[e].astype(str).to_numpy(), given, f"effect '{e}'")
        lev_out[e] = labs
        arrays[f"idx_{e}"] = idx
    regs = spec.mundlak_regressors if spec.mundlak else ()
    if regs:
        inside = arrays["rta"]
        columns = {
            "x_ip": x["x_ip"],
            "x_fva": x["x_fva"],
            "x_dva": x["x_dva"],
            "x_ip_out": x["x_ip"] * (1.0 - inside),
            "x_fva_out": x["x_fva"] * (1.0 - inside),
            "x_dva_out": x["x_dva"] * (1.0 - inside),
            "x_ip_in": x["x_ip"] * inside,
            "x_fva_in": x["x_fva"] * inside,
            "rta": inside,
            "gsp": arrays.get("gsp"),
        }
        xmat = np.column_stack([columns[r] for r in regs])
    for e in spec.mundlak:
        # cell means of the regressors as they enter t*, centred over cells (so that the
        # Mundlak term does not move the effects' mean level)
        # (on a panel given with a fit's levels, for predictions, the effects are posterior
        # draws and the Mundlak term is not used: zeros)
        n_lev = len(lev_out[e])
        if levels is not None:
            arrays[f"xbar_{e}"] = np.zeros((n_lev, len(regs)))
            continue
        idx = arrays[f"idx_{e}"]
        counts = np.bincount(idx, minlength=n_lev)
        sums = np.stack([np.bincount(idx, w, n_lev) for w in xmat.T], axis=1)
        xbar = sums / counts[:, None]
        arrays[f"xbar_{e}"] = xbar - xbar.mean(axis=0)
    if spec.mfn_effect:  # cell means of MFN for the first effect, centred over cells
        e = spec.effects[0]
        n_lev, idx = len(lev_out[e]), arrays[f"idx_{e}"]
        if levels is not None:  # predictions: the effects are posterior draws
            arrays[f"mfnbar_{e}"] = np.zeros(n_lev)
        else:
            m = np.bincount(idx, mfn, n_lev) / np.bincount(idx, minlength=n_lev)
            arrays[f"mfnbar_{e}"] = m - m.mean()
    grp_out: dict[str, np.ndarray] = {}
    for p, col in spec.hierarchy.items():
        given = None if groups is None else groups.get(p)
        labs, idx = _index(df[col].astype(str).to_numpy(), given, f"group '{col}' of '{p}'")
        grp_out[p] = labs
        arrays[f"grp_{p}"] = idx
    return Design(
        arrays=arrays,
        levels=lev_out,
        groups=grp_out,
        group_cols=dict(spec.hierarchy),
        regressors=tuple(regs),
    )


class InformationWarning(UserWarning):
    """Some terms of the model have no uncensored observations: their parameters are
    identified by their priors only."""


#: design array -> the panel column it comes from (for messages)
_SOURCE = {
    "x_ip": "log_ip_ratio / ip_ratio",
    "x_fva": "log_fva_ratio / fva_ratio",
    "x_dva": "log_dva_ratio / dva_ratio",
    "tariff": "tariff",
    "mfn": "mfn",
    "threshold": "mfn_threshold",
    "rta": "rta",
    "gsp": "gsp",
}


def check_information(design: Design, spec: ModelSpec) -> list[str]:
    """Check, before sampling, that the panel carries information for what the model asks.

    Returns warnings (one line each) for terms without uncensored observations, whose
    parameters the posterior would only repeat from the prior: the RTA regime's terms
    with no uncensored observation inside RTAs (or outside), the GSP shift with none
    GSP-eligible outside RTAs, an MFN-scaled error with one MFN rate.

    Raises
    ------
    PanelError
        Non-finite values in an array the likelihood reads (a panel built without
        :meth:`structest.Panel.from_frame`).
    EstimationError
        No uncensored observation at all (e.g. ``mfn = 0`` everywhere, or every tariff at
        MFN or at the lower bound): the fit would return the prior as if it were a
        posterior.
    """
    arrays = design.arrays
    problems = []
    for key, col in _SOURCE.items():
        if key in arrays:
            v = np.asarray(arrays[key], float)
            bad = ~np.isfinite(v)
            if bad.any():
                rows = np.flatnonzero(bad)[:5].tolist()
                problems.append(
                    f"column '{col}' has {int(bad.sum())} non-finite value(s) (rows {rows}); "
                    "build panels with Panel.from_frame(df), which validates them"
                )
    if problems:
        raise PanelError(problems)
    kind = np.asarray(arrays["kind"])
    n = kind.size
    exact = kind == EXACT
    if n == 0:
        raise EstimationError(f"model '{spec.name}': the panel has no observations")
    if not exact.any():
        n_right = int((kind == RIGHT).sum())
        n_left = int((kind == LEFT).sum())
        n_none = int((kind == NONE).sum())
        low = "none" if spec.lower is None else f"{spec.lower:g}"
        raise EstimationError(
            f"model '{spec.name}': none of the panel's {n} observations is uncensored "
            f"({n_right} recorded at MFN, {n_left} at the lower bound {low}, {n_none} with an "
            f"MFN rate at or below the lower bound, which carry no information); the fit "
            "would return the prior as the posterior. It needs applied tariffs strictly "
            "between the lower bound and MFN"
        )
    out: list[str] = []
    if spec.rta_regime:
        inside = np.asarray(arrays["rta"], float) > 0.5
        n_in, n_out = int((exact & inside).sum()), int((exact & ~inside).sum())
        if n_in == 0:
            params = ["eps_tilde", "lambda_tilde"]
            params += [p for p in ("delta_rta", "rta_shift") if p in spec.structural]
            out.append(
                f"model '{spec.name}' has an RTA regime but the panel has no uncensored "
                f"observation inside RTAs ({int(inside.sum())} in all): {', '.join(params)} "
                "(and g_IP_rta, g_FVA_rta) are identified by their priors only; fit a model "
                "with rta_regime = false (e.g. 'pooled') instead"
            )
        if n_out == 0:
            out.append(
                f"model '{spec.name}': the panel has no uncensored observation outside RTAs "
                f"({int((~inside).sum())} in all): eps, lambda_abs, eps_r_abroad and "
                "delta_dstar (the intercept 100/eps, g_IP, g_FVA, g_DVA) are identified by "
                "their priors only"
            )
    if spec.gsp_regime and "gsp" in arrays:
        n_gsp = int((exact & (np.asarray(arrays["gsp"], float) > 0.5)).sum())
        if n_gsp == 0:
            out.append(
                f"model '{spec.name}' has a GSP regime but no uncensored GSP-eligible "
                "observation outside RTAs: gsp_shift is identified by its prior only"
            )
    if spec.mfn_scaled_errors:
        mfn = np.asarray(arrays["mfn"], float)[exact]
        if np.ptp(mfn) == 0:
            out.append(
                f"model '{spec.name}' scales the errors with MFN but every uncensored "
                f"observation has the same MFN rate ({mfn[0]:g}): sigma_mfn is identified by "
                "its prior only"
            )
    return out
