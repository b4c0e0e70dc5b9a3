"""Figures of the checks and the report (matplotlib; ArviZ where it has the plot).

Every plot function takes ``ax=``: the matplotlib Axes to draw into (a sequence of Axes for
the multi-panel figures, one per panel, as their docstrings say), or None for a new figure.
Single-panel functions return the :class:`~matplotlib.axes.Axes` they drew on; multi-panel
ones a :class:`numpy.ndarray` of Axes. ``ax.figure`` is the figure; :func:`fig_to_png`
turns a figure (or the Axes a plot function returned) into PNG bytes. Importing this module
does not change matplotlib's backend; drawing into a new figure uses the caller's backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..data.describe import regime
from ..errors import OptionError
from ..panel import Panel

_OK, _BAD, _OBS = "#1f77b4", "#d62728", "black"


def _figure_of(obj: Any) -> Figure:
    """The figure of a Figure, an Axes or an array/sequence of Axes."""
    if isinstance(obj, Figure):
        return obj
    if isinstance(obj, Axes):
        return obj.figure
    arr = np.asarray(obj, dtype=object).ravel() if obj is not None else np.array([])
    if arr.size and all(isinstance(a, Axes) for a in arr):
        return arr[0].figure
    raise OptionError(
        f"fig_to_png: expected a matplotlib Figure or the Axes a plot function returned, "
        f"got {type(obj).__name__}"
    )


def fig_to_png(fig: Figure | Axes | Sequence[Axes] | np.ndarray, dpi: int = 90) -> bytes:
    """PNG bytes of ``fig`` (a Figure, or the Axes a plot function returned); it is closed."""
    figure = _figure_of(fig)
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buf.getvalue()


def _one_ax(ax: Any, figsize: tuple[float, float]) -> tuple[Axes, bool]:
    """``(ax, new)``: the given Axes, or one of a new figure (``new`` True)."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
        return ax, True
    if not isinstance(ax, Axes):
        raise OptionError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax, False


def _many_ax(
    ax: Any, n: int, figsize: tuple[float, float], ncols: int | None = None
) -> tuple[np.ndarray, bool]:
    """``(axes, new)``: ``n`` Axes (flat object array) given, or of a new figure."""
    if ax is None:
        ncols = n if ncols is None else ncols
        nrows = max(1, -(-n // ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        return np.asarray(axes, dtype=object).ravel(), True
    arr = np.asarray([ax] if isinstance(ax, Axes) else list(np.ravel(ax)), dtype=object)
    if not all(isinstance(a, Axes) for a in arr):
        raise OptionError("ax: expected a sequence of matplotlib Axes or None")
    if arr.size < n:
        raise OptionError(f"ax: this figure has {n} panels; got {arr.size} Axes")
    return arr, False


def _finish(fig: Figure, title: str, new: bool) -> None:
    """Title and layout of a figure this module created (a caller's figure is left alone)."""
    if new:
        fig.suptitle(title)
        fig.tight_layout()


def plot_preference_ecdf(
    idata_pp: Any, panel: Panel, *, num_pp_samples: int = 50, ax: Any = None
) -> np.ndarray:
    """Observed vs posterior-predictive ECDF of preferences, all and by regime (``az.plot_ppc``).

    ``idata_pp`` comes from :func:`structest.checks.with_posterior_predictive`. The jump at 0
    is the mass at MFN (no preference).

    Parameters
    ----------
    ax
        None (a new figure) or one Axes per panel: "all", then each regime present
        ("RTA", "GSP-eligible", "other").

    Returns
    -------
    numpy.ndarray
        The Axes drawn on, one per panel.
    """
    import arviz as az

    reg = regime(panel.df).to_numpy()
    groups = [("all", np.arange(len(panel)))] + [
        (g, np.flatnonzero(reg == g)) for g in ("RTA", "GSP-eligible", "other")
    ]
    groups = [(g, i) for g, i in groups if i.size]
    axes, new = _many_ax(ax, len(groups), (4.2 * len(groups), 3.4))
    for a, (name, idx) in zip(axes, groups, strict=False):
        az.plot_ppc(
            idata_pp,
            var_names=["preference"],
            kind="cumulative",
            coords={"obs": idx},
            num_pp_samples=num_pp_samples,
            random_seed=0,
            ax=a,
            legend=name == "all",
        )
        a.set_title(f"{name} (n={idx.size})")
        a.set_xlabel("tariff preference (pp)")
    _finish(
        axes[0].figure,
        "Distribution of tariff preferences: observed vs posterior predictive (ECDF)",
        new,
    )
    return axes[: len(groups)]


def plot_preference_histogram(
    idata_pp: Any, panel: Panel, *, prob: float = 0.9, lo: float = -20.0, ax: Any = None
) -> Axes:
    """Paper Figure 1: histogram (1 pp bins) of preferences below zero, with predictive bands.

    Returns the Axes drawn on (``ax``, or one of a new figure).
    """
    obs = idata_pp.observed_data["preference"].values
    rep = idata_pp.posterior_predictive["preference"].values.reshape(-1, obs.size)
    edges = np.arange(lo, 0.0 + 1e-9, 1.0)
    edges[-1] = -1e-6  # bins of preferential observations only (preference < 0)
    h_obs, _ = np.histogram(obs, edges)
    h_rep = np.stack([np.histogram(r, edges)[0] for r in rep])
    a = (1 - prob) / 2
    mids = 0.5 * (edges[1:] + edges[:-1])
    ax, _ = _one_ax(ax, (7.5, 3.6))
    ax.bar(mids, h_obs, width=0.9, color="0.75", label="observed")
    ax.fill_between(
        mids,
        np.quantile(h_rep, a, 0),
        np.quantile(h_rep, 1 - a, 0),
        step="mid",
        alpha=0.35,
        color=_OK,
        label=f"{int(prob * 100)}% predictive interval",
    )
    ax.step(mids, h_rep.mean(0), where="mid", color=_OK, label="predictive mean")
    ax.set_xlabel("tariff preference (pp), preferential observations")
    ax.set_ylabel("frequency")
    ax.set_title("Distribution of tariff preferences (paper Figure 1)")
    ax.legend(frameon=False)
    return ax


_INTERVAL_COLS = ("group", "observed", "pred_mean", "lo", "hi", "inside")


def plot_intervals(
    table: pd.DataFrame, *, title: str = "", xlabel: str = "", ax: Any = None
) -> Axes:
    """Observed statistic (dot) vs predictive interval (bar) per group; red when outside.

    ``table`` is a check table (:func:`structest.checks.ppc_mass_at_mfn` and the like).
    Returns the Axes drawn on (``ax``, or one of a new figure).
    """
    missing = [c for c in _INTERVAL_COLS if c not in getattr(table, "columns", ())]
    if missing:
        raise OptionError(f"plot_intervals: the table has no column(s) {missing}")
    ax, _ = _one_ax(ax, (6.5, 0.28 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    colors = np.where(table["inside"].to_numpy(bool), _OK, _BAD)
    ax.hlines(y, table["lo"], table["hi"], color=colors, lw=4, alpha=0.5)
    ax.plot(table["pred_mean"], y, "|", color=_OK, ms=10)
    ax.scatter(table["observed"], y, color=_OBS, zorder=3, s=14, label="observed")
    ax.set_yticks(y)
    ax.set_yticklabels(table["group"].astype(str))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return ax


def plot_mass_at_mfn(tables: dict[str, pd.DataFrame], *, ax: Any = None) -> np.ndarray:
    """:func:`structest.checks.ppc_mass_at_mfn` tables (one per grouping) side by side.

    ``ax``: None (a new figure) or one Axes per table. Returns the array of Axes drawn on.
    """
    if not isinstance(tables, dict) or not tables:
        raise OptionError("plot_mass_at_mfn: expected a non-empty dict {grouping: table}")
    n = len(tables)
    height = max(2.5, 0.22 * max(len(t) for t in tables.values()) + 1.2)
    axes, new = _many_ax(ax, n, (4.0 * n, height))
    for a, (by, t) in zip(axes, tables.items(), strict=False):
        plot_intervals(t, title=f"by {by}", xlabel="share at MFN", ax=a)
    _finish(
        axes[0].figure,
        "Mass at MFN (no preference): observed (dot) vs 90% predictive interval (red: outside)",
        new,
    )
    return axes[:n]


def plot_industry_moments(table: pd.DataFrame, *, ax: Any = None) -> np.ndarray:
    """Paper Figure B1: mean and s.d. of preferences vs mean MFN by industry, with intervals.

    ``ax``: None (a new figure) or two Axes (mean, s.d.). Returns the array of the two Axes.
    """
    axes, new = _many_ax(ax, 2, (10, 3.8))
    for a, stat, lab in zip(
        axes,
        ("mean_pref", "sd_pref"),
        ("mean preference (pp)", "s.d. of preferences (pp)"),
        strict=False,
    ):
        t = table[table["statistic"] == stat]
        inside = t["inside"].to_numpy(bool)
        a.vlines(
            t["mean_mfn"],
            t["lo"],
            t["hi"],
            color=np.where(inside, _OK, _BAD),
            lw=3,
            alpha=0.5,
            label="90% predictive interval",
        )
        a.scatter(t["mean_mfn"], t["observed"], color=_OBS, s=14, zorder=3, label="observed")
        a.set_xlabel("mean MFN tariff (pp)")
        a.set_ylabel(lab)
    axes[0].legend(frameon=False)
    _finish(axes[0].figure, "Preferences vs MFN by industry (paper Figure B1)", new)
    return axes[:2]


def plot_dva_bands(
    idata_pp: Any, panel: Panel, table: pd.DataFrame, *, prob: float = 0.9, ax: Any = None
) -> Axes:
    """Paper Figure 2: preference vs ln DVA with binned predictive bands.

    Returns the Axes drawn on (``ax``, or one of a new figure).
    """
    x = panel.df["log_dva"].to_numpy(float)
    obs = idata_pp.observed_data["preference"].values
    rep = idata_pp.posterior_predictive["preference"].values.reshape(-1, obs.size)
    t = table[table["statistic"] == "mean_pref"]
    ax, _ = _one_ax(ax, (7.5, 4))
    ax.scatter(x, obs, s=4, alpha=0.25, color="0.4", label="observed")
    order = np.argsort(x)
    a = (1 - prob) / 2
    edges = np.quantile(x, np.linspace(0, 1, len(t) + 1))
    codes = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(t) - 1)
    lo = np.array([np.quantile(rep[:, codes == g], a) for g in range(len(t))])
    hi = np.array([np.quantile(rep[:, codes == g], 1 - a) for g in range(len(t))])
    mids = t["log_dva"].to_numpy()
    ax.fill_between(
        mids, lo, hi, alpha=0.15, color=_OK, label=f"{int(prob * 100)}% predictive, single obs."
    )
    ax.fill_between(
        mids,
        t["lo"],
        t["hi"],
        alpha=0.45,
        color=_OK,
        label=f"{int(prob * 100)}% predictive, bin mean",
    )
    ax.plot(mids, t["observed"], "o-", color=_OBS, ms=4, label="observed bin mean")
    ax.set_xlim(x[order[0]], x[order[-1]])
    ax.set_xlabel("ln DVA")
    ax.set_ylabel("tariff preference (pp)")
    ax.set_title("Tariff preferences and domestic value added (paper Figure 2)")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_loo_pit(u: np.ndarray, *, ax: Any = None) -> Axes:
    """ECDF difference of randomized LOO-PIT values vs uniform with simultaneous bands (ArviZ).

    ``u``: values in [0, 1] (:func:`structest.checks.loo_pit_randomized`). Returns the Axes.
    """
    import arviz as az
    from scipy import stats

    u = np.asarray(u, dtype=float).ravel()
    if u.size == 0 or not np.all(np.isfinite(u)) or u.min() < 0 or u.max() > 1:
        raise OptionError("plot_loo_pit: u must be a non-empty array of finite values in [0, 1]")
    ax, _ = _one_ax(ax, (6, 3.4))
    az.plot_ecdf(
        u,
        cdf=stats.uniform(0, 1).cdf,
        difference=True,
        confidence_bands=True,
        ax=ax,
        rvs=stats.uniform(0, 1).rvs,
        eval_points=np.linspace(0, 1, 101),
        random_state=0,
    )
    ax.set_title("Randomized LOO-PIT: ECDF - uniform (inside the band: calibrated)")
    ax.set_xlabel("LOO-PIT")
    return ax


def plot_prior_posterior(idata: Any, var_names: Sequence[str], *, ax: Any = None) -> np.ndarray:
    """Prior vs posterior densities of ``var_names`` (``az.plot_density``).

    Only the names in both the posterior and the prior are drawn. ``ax``: None (a new
    figure, 4 panels a row) or one Axes per drawn name. Returns the array of Axes drawn on.
    """
    import arviz as az

    if isinstance(var_names, str):
        var_names = [var_names]
    names = [
        v
        for v in var_names
        if v in idata.posterior and "prior" in idata.groups() and v in idata.prior
    ]
    if not names:
        raise OptionError(
            f"plot_prior_posterior: none of {list(var_names)} is in both the posterior and "
            "the prior of this fit"
        )
    ncols = min(4, len(names)) if ax is not None else 4
    nrows = max(1, -(-len(names) // ncols))
    axes, new = _many_ax(ax, len(names), (3.3 * ncols, 2.5 * nrows), ncols=ncols)
    az.plot_density(
        [idata.posterior[names], idata.prior[names]],
        data_labels=["posterior", "prior"],
        var_names=names,
        shade=0.2,
        ax=axes[: len(names)],
        hdi_prob=0.99,
    )
    if new:
        for a in axes[len(names) :]:
            a.set_visible(False)
    _finish(axes[0].figure, "Prior (orange) vs posterior (blue), central 99%", new)
    return axes[: len(names)]


def plot_trace(idata: Any, var_names: Sequence[str], *, ax: Any = None) -> np.ndarray:
    """``az.plot_trace`` of ``var_names`` (rank bars).

    ``ax``: None (a new figure) or an array of Axes shaped ``(len(var_names), 2)`` (density,
    rank bars). Returns that array.
    """
    import arviz as az

    names = [var_names] if isinstance(var_names, str) else list(var_names)
    if ax is not None:
        arr = np.asarray(ax, dtype=object)
        if arr.shape != (len(names), 2):
            raise OptionError(
                f"ax: plot_trace of {len(names)} variable(s) needs Axes shaped "
                f"({len(names)}, 2), got shape {arr.shape}"
            )
        ax = arr
    axes = az.plot_trace(idata, var_names=names, kind="rank_bars", compact=True, axes=ax)
    axes = np.asarray(axes, dtype=object)
    if ax is None:
        axes.ravel()[0].figure.tight_layout()
    return axes


def plot_coefficients(table: pd.DataFrame, *, ax: Any = None) -> Axes:
    """Forest plot of :func:`structest.compare.coefficient_table` (long form).

    Returns the Axes drawn on (``ax``, or one of a new figure).
    """
    rows = list(dict.fromkeys(table["row"]))
    cols = list(dict.fromkeys(table["column"]))
    ax, _ = _one_ax(ax, (7.5, 0.5 * len(rows) * max(1, len(cols)) ** 0.5 + 1.5))
    cmap = plt.get_cmap("tab10")
    step = 0.8 / max(len(cols), 1)
    for j, c in enumerate(cols):
        t = table[table["column"] == c].set_index("row").reindex(rows)
        y = np.arange(len(rows))[::-1] + 0.4 - step * (j + 0.5)
        ok = t["estimate"].notna().to_numpy()
        if c == "truth":
            ax.scatter(t["estimate"][ok], y[ok], marker="*", s=80, color="black", label=c, zorder=4)
            continue
        ax.hlines(y[ok], t["lo"][ok], t["hi"][ok], color=cmap(j), lw=2)
        ax.scatter(t["estimate"][ok], y[ok], color=cmap(j), s=16, label=c, zorder=3)
    ax.axvline(0, color="0.6", lw=0.8)
    core = table[table["column"].isin(["posterior", "truth"])]
    vals = np.concatenate(
        [table["estimate"].to_numpy(float), core["lo"].to_numpy(float), core["hi"].to_numpy(float)]
    )
    vals = vals[np.isfinite(vals)]
    if vals.size:  # weak-instrument intervals must not squash the rest: clip the axis
        lo, hi = np.quantile(vals, [0.0, 1.0])
        pad = 0.15 * max(hi - lo, 1e-3)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_yticks(np.arange(len(rows))[::-1])
    ax.set_yticklabels(rows)
    ax.set_xlabel("coefficient (pp); bars: 90% interval (reduced form: estimate +/- 1.645 SE)")
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_title("Reduced form vs structural posterior")
    return ax


def plot_loo(table: pd.DataFrame, *, ax: Any = None) -> Axes:
    """``az.plot_compare`` of :func:`structest.checks.loo_compare`'s table.

    Returns the Axes drawn on (``ax``, or one of a new figure).
    """
    import arviz as az

    ax, _ = _one_ax(ax, (6.5, 0.5 * len(table) + 1.5))
    az.plot_compare(
        table.drop(columns=["n_high_k", "model"], errors="ignore"), ax=ax, plot_ic_diff=True
    )
    return ax
