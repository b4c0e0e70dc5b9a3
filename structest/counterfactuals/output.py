"""Tables, figures and files for counterfactual results (:func:`counterfactual`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._io import atomic_write, check_input_file, refuse_overwrite_non_netcdf
from ..errors import EstimationError, InputFileError, OutputError, SpecError, StructestError

#: columns of :func:`summary_table` (quantity, statistic)
TABLE_QUANTITIES: tuple[str, ...] = (
    "d_tstar",
    "d_applied",
    "d_pref",
    "share_mfn_base",
    "share_mfn_cf",
)


def _check(ds: xr.Dataset, by: str | None, quantities: Sequence[str] = ()) -> None:
    if not isinstance(ds, xr.Dataset) or "tstar_base" not in ds:
        raise StructestError("expected a counterfactual Dataset (from structest.counterfactual)")
    if by is not None and (not isinstance(by, str) or f"d_tstar_by_{by}" not in ds):
        have = sorted(
            v[len("d_tstar_by_") :]
            for v in ds.data_vars
            if v.startswith("d_tstar_by_") and not v.endswith("_summary")
        )
        raise StructestError(f"counterfactual result has no aggregate by {by!r}; available: {have}")
    if isinstance(quantities, str):
        raise SpecError(f"quantities must be a list of names, got the string {quantities!r}")
    bad = [q for q in quantities if f"{q}_all" not in ds]
    if bad:
        have = sorted(v[: -len("_all")] for v in ds.data_vars if str(v).endswith("_all"))
        raise SpecError(f"counterfactual result has no quantity {bad}; available: {have}")
    for q in quantities:
        names = [f"{q}_all_summary"] + ([f"{q}_by_{by}_summary"] if by is not None else [])
        for name in names:
            if name in ds and not np.isfinite(ds[name].values).all():
                raise EstimationError(
                    f"counterfactual result: {name} has non-finite values (NaN/inf); "
                    "recompute it with structest.counterfactual"
                )


def summary_table(
    ds: xr.Dataset, by: str | None = None, quantities: Sequence[str] = TABLE_QUANTITIES
) -> pd.DataFrame:
    """Posterior summaries as a table.

    Parameters
    ----------
    ds
        A counterfactual result.
    by
        A grouping dimension (``"importer"``, ``"industry"``, ...); None: one row, all
        observations.
    quantities
        Aggregated quantities to show.

    Returns
    -------
    pandas.DataFrame
        Rows: groups (or ``"all"``); columns ``(quantity, stat)`` with stat in
        mean, median, lo, hi (the interval in ``ds.attrs["interval"]``).
    """
    _check(ds, by, quantities)
    frames = {}
    for q in quantities:
        name = f"{q}_all_summary" if by is None else f"{q}_by_{by}_summary"
        arr = ds[name]
        if by is None:
            frames[q] = pd.DataFrame(
                [arr.values], index=pd.Index(["all"], name="group"), columns=list(ds["stat"].values)
            )
        else:
            frames[q] = pd.DataFrame(
                arr.values, index=pd.Index(ds[by].values, name=by), columns=list(ds["stat"].values)
            )
    return pd.concat(frames, axis=1)


def format_summary(ds: xr.Dataset, by: str | None = None) -> str:
    """Compact text table: change in optimal and applied tariff, preference, share at MFN."""
    _check(ds, by, TABLE_QUANTITIES)
    tab = summary_table(ds, by)
    pct = int(round(100 * float(ds.attrs.get("interval", 0.9))))
    out = pd.DataFrame(index=tab.index)
    for q, label in (("d_tstar", "d_optimal"), ("d_applied", "d_applied"), ("d_pref", "d_pref")):
        out[f"{label} mean"] = tab[(q, "mean")]
        out[f"{label} {pct}%"] = [
            f"[{a:.2f}, {b:.2f}]" for a, b in zip(tab[(q, "lo")], tab[(q, "hi")], strict=True)
        ]
    out["at_MFN base"] = tab[("share_mfn_base", "mean")]
    out["at_MFN cf"] = tab[("share_mfn_cf", "mean")]
    return out.to_string(float_format=lambda v: f"{v:.3f}")


def save_counterfactual(ds: xr.Dataset, path: str | Path) -> Path:
    """Write NetCDF atomically (temporary file in the same folder, then ``os.replace``).

    Raises
    ------
    OutputError
        ``path`` is a folder, or exists and is not a NetCDF file (nor empty): it is
        never overwritten.
    """
    if not isinstance(ds, xr.Dataset) or "tstar_base" not in ds:
        raise StructestError("expected a counterfactual Dataset (from structest.counterfactual)")
    if str(path).strip() == ".":
        raise OutputError("save_counterfactual: '.' is a folder; give a file name")
    path = refuse_overwrite_non_netcdf(path, "save_counterfactual")
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def load_counterfactual(path: str | Path) -> xr.Dataset:
    """Read a result written by :func:`save_counterfactual` (fully in memory)."""
    path = check_input_file(path, "load_counterfactual")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            out = ds.load()
    except Exception as exc:  # h5py/xarray raise many types on a bad file
        msg = " ".join(str(exc).split())[:200]
        raise InputFileError(
            f"load_counterfactual: {path} is not a readable NetCDF file ({msg})"
        ) from exc
    if "tstar_base" not in out:
        raise InputFileError(
            f"load_counterfactual: {path} holds no counterfactual result (no 'tstar_base')"
        )
    return out


def plot_counterfactual(
    ds: xr.Dataset,
    by: str = "importer",
    quantities: Sequence[str] = ("d_tstar", "d_applied"),
    ax: Any = None,
    path: str | Path | None = None,
) -> Any:
    """Fan/interval plot of group-level changes (median, 50% and outer intervals).

    Parameters
    ----------
    ds
        A counterfactual result.
    by
        Grouping dimension (``"importer"``, ``"industry"``, ...).
    quantities
        Per-draw aggregates to draw side by side (default: optimal vs applied change).
    ax
        A matplotlib Axes to draw on; None creates a figure.
    path
        Save the figure there (png/pdf/svg by suffix).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    _check(ds, by, quantities)
    fig = Figure(figsize=(7.0, 0.35 * ds.sizes[by] + 1.6)) if ax is None else ax.figure
    if ax is None:
        ax = fig.add_subplot(1, 1, 1)
    labels = [str(v) for v in ds[by].values]
    y = np.arange(len(labels), dtype=float)
    outer = float(ds.attrs.get("interval", 0.9))
    width = 0.8 / max(len(quantities), 1)
    colors = ("C0", "C3", "C2", "C1", "C4")
    for k, q in enumerate(quantities):
        v = ds[f"{q}_by_{by}"].values.reshape(-1, len(labels))
        lo, q25, med, q75, hi = np.quantile(
            v, [(1 - outer) / 2, 0.25, 0.5, 0.75, 1 - (1 - outer) / 2], axis=0
        )
        yy = y + (k - (len(quantities) - 1) / 2) * width
        c = colors[k % len(colors)]
        ax.hlines(yy, lo, hi, color=c, lw=1.2, alpha=0.6)
        ax.hlines(yy, q25, q75, color=c, lw=4.0, alpha=0.9)
        ax.plot(med, yy, "o", color=c, ms=4, label=_LABELS.get(q, q))
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"change (median, 50% and {int(round(100 * outer))}% intervals)")
    ax.set_title(f"Counterfactual by {by}")
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig


_LABELS = {
    "d_tstar": "optimal tariff (pp)",
    "d_applied": "applied tariff (pp)",
    "d_pref": "preference applied - MFN (pp)",
    "d_share_mfn": "share at MFN",
}


def save_figures(
    ds: xr.Dataset, directory: str | Path, by: Sequence[str] = ("importer", "industry")
) -> list[Path]:
    """Interval plots by each of ``by`` (optimal vs applied change) and of the share at MFN.

    Returns the written files (``cf_<by>.png``, ``cf_share_mfn_<by>.png``).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for b in by:
        p = directory / f"cf_{b}.png"
        plot_counterfactual(ds, by=b, path=p)
        out.append(p)
        p2 = directory / f"cf_share_mfn_{b}.png"
        plot_counterfactual(ds, by=b, quantities=("d_share_mfn",), path=p2)
        out.append(p2)
    return out
