"""Figures of the checks and the report (matplotlib; ArviZ where it has the plot).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`fig_to_png` turns one into
PNG bytes (for files and base64 embedding).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..data.describe import regime
from ..panel import Panel

_OK, _BAD, _OBS = "#1f77b4", "#d62728", "black"


def fig_to_png(fig: Figure, dpi: int = 90) -> bytes:
    """PNG bytes of ``fig`` (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def plot_preference_ecdf(idata_pp: Any, panel: Panel, *, num_pp_samples: int = 50) -> Figure:
    """Observed vs posterior-predictive ECDF of preferences, all and by regime (``az.plot_ppc``).

    ``idata_pp`` comes from :func:`structest.checks.with_posterior_predictive`. The jump at 0
    is the mass at MFN (no preference).
    """
    import arviz as az

    reg = regime(panel.df).to_numpy()
    groups = [("all", np.arange(len(panel)))] + [
        (g, np.flatnonzero(reg == g)) for g in ("RTA", "GSP-eligible", "other")
    ]
    groups = [(g, i) for g, i in groups if i.size]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, (name, idx) in zip(axes[0], groups, strict=True):
        az.plot_ppc(
            idata_pp,
            var_names=["preference"],
            kind="cumulative",
            coords={"obs": idx},
            num_pp_samples=num_pp_samples,
            random_seed=0,
            ax=ax,
            legend=name == "all",
        )
        ax.set_title(f"{name} (n={idx.size})")
        ax.set_xlabel("tariff preference (pp)")
    fig.suptitle("Distribution of tariff preferences: observed vs posterior predictive (ECDF)")
    fig.tight_layout()
    return fig


def plot_preference_histogram(
    idata_pp: Any, panel: Panel, *, prob: float = 0.9, lo: float = -20.0
) -> Figure:
    """Paper Figure 1: histogram (1 pp bins) of preferences below zero, with predictive bands."""
    obs = idata_pp.observed_data["preference"].values
    rep = idata_pp.posterior_predictive["preference"].values.reshape(-1, obs.size)
    edges = np.arange(lo, 0.0 + 1e-9, 1.0)
    edges[-1] = -1e-6  # bins of preferential observations only (preference < 0)
    h_obs, _ = np.histogram(obs, edges)
    h_rep = np.stack([np.histogram(r, edges)[0] for r in rep])
    a = (1 - prob) / 2
    mids = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
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
    return fig


def plot_intervals(
    table: pd.DataFrame, *, title: str = "", xlabel: str = "", ax: Any = None
) -> Figure:
    """Observed statistic (dot) vs predictive interval (bar) per group; red when outside."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(table) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(table))[::-1]
    colors = np.where(table["inside"].to_numpy(bool), _OK, _BAD)
    ax.hlines(y, table["lo"], table["hi"], color=colors, lw=4, alpha=0.5)
    ax.plot(table["pred_mean"], y, "|", color=_OK, ms=10)
    ax.scatter(table["observed"], y, color=_OBS, zorder=3, s=14, label="observed")
    ax.set_yticks(y)
    ax.set_yticklabels(table["group"].astype(str))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return fig


def plot_mass_at_mfn(tables: dict[str, pd.DataFrame]) -> Figure:
    """:func:`structest.checks.ppc_mass_at_mfn` tables (one per grouping) side by side."""
    n = len(tables)
    height = max(2.5, 0.22 * max(len(t) for t in tables.values()) + 1.2)
    fig, axes = plt.subplots(1, n, figsize=(4.0 * n, height), squeeze=False)
    for ax, (by, t) in zip(axes[0], tables.items(), strict=True):
        plot_intervals(t, title=f"by {by}", xlabel="share at MFN", ax=ax)
    fig.suptitle(
        "Mass at MFN (no preference): observed (dot) vs 90% predictive interval (red: outside)"
    )
    fig.tight_layout()
    return fig


def plot_industry_moments(table: pd.DataFrame) -> Figure:
    """Paper Figure B1: mean and s.d. of preferences vs mean MFN by industry, with intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, stat, lab in zip(
        axes,
        ("mean_pref", "sd_pref"),
        ("mean preference (pp)", "s.d. of preferences (pp)"),
        strict=True,
    ):
        t = table[table["statistic"] == stat]
        inside = t["inside"].to_numpy(bool)
        ax.vlines(
            t["mean_mfn"],
            t["lo"],
            t["hi"],
            color=np.where(inside, _OK, _BAD),
            lw=3,
            alpha=0.5,
            label="90% predictive interval",
        )
        ax.scatter(t["mean_mfn"], t["observed"], color=_OBS, s=14, zorder=3, label="observed")
        ax.set_xlabel("mean MFN tariff (pp)")
        ax.set_ylabel(lab)
    axes[0].legend(frameon=False)
    fig.suptitle("Preferences vs MFN by industry (paper Figure B1)")
    fig.tight_layout()
    return fig


def plot_dva_bands(
    idata_pp: Any, panel: Panel, table: pd.DataFrame, *, prob: float = 0.9
) -> Figure:
    """Paper Figure 2: preference vs ln DVA with binned predictive bands."""
    x = panel.df["log_dva"].to_numpy(float)
    obs = idata_pp.observed_data["preference"].values
    rep = idata_pp.posterior_predictive["preference"].values.reshape(-1, obs.size)
    t = table[table["statistic"] == "mean_pref"]
    fig, ax = plt.subplots(figsize=(7.5, 4))
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
    return fig


def plot_loo_pit(u: np.ndarray) -> Figure:
    """ECDF difference of randomized LOO-PIT values vs uniform with simultaneous bands (ArviZ)."""
    import arviz as az
    from scipy import stats

    fig, ax = plt.subplots(figsize=(6, 3.4))
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
    return fig


def plot_prior_posterior(idata: Any, var_names: Sequence[str]) -> Figure:
    """Prior vs posterior densities of ``var_names`` (``az.plot_density``)."""
    import arviz as az

    names = [
        v
        for v in var_names
        if v in idata.posterior and "prior" in idata.groups() and v in idata.prior
    ]
    ncols = 4
    nrows = max(1, -(-len(names) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.5 * nrows), squeeze=False)
    az.plot_density(
        [idata.posterior[names], idata.prior[names]],
        data_labels=["posterior", "prior"],
        var_names=names,
        shade=0.2,
        ax=axes.ravel()[: len(names)],
        hdi_prob=0.99,
    )
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Prior (orange) vs posterior (blue), central 99%")
    fig.tight_layout()
    return fig


def plot_trace(idata: Any, var_names: Sequence[str]) -> Figure:
    """``az.plot_trace`` of ``var_names`` (rank bars)."""
    import arviz as az

    axes = az.plot_trace(idata, var_names=list(var_names), kind="rank_bars", compact=True)
    fig = np.asarray(axes).ravel()[0].figure
    fig.tight_layout()
    return fig


def plot_coefficients(table: pd.DataFrame) -> Figure:
    """Forest plot of :func:`structest.compare.coefficient_table` (long form)."""
    rows = list(dict.fromkeys(table["row"]))
    cols = list(dict.fromkeys(table["column"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(rows) * max(1, len(cols)) ** 0.5 + 1.5))
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
    return fig


def plot_loo(table: pd.DataFrame) -> Figure:
    """``az.plot_compare`` of :func:`structest.checks.loo_compare`'s table."""
    import arviz as az

    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(table) + 1.5))
    az.plot_compare(
        table.drop(columns=["n_high_k", "model"], errors="ignore"), ax=ax, plot_ic_diff=True
    )
    return fig
