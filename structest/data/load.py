"""Bundled real data: the WIOD + tariff panel and value-added contents."""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache

import numpy as np
import xarray as xr

from .._io import data_dir
from ..errors import StructestError
from ..panel import Panel

PANEL_FILE = "panel.parquet"
VA_FILE = "va_contents.npz"
REPORT_FILE = "build_report.json"


def load_panel() -> Panel:
    """The bundled real panel (WIOD 2013 value added + Caliendo-Parro tariffs).

    See ``data/README.md`` for sources, transformations and departures from the paper.
    """
    path = data_dir() / PANEL_FILE
    if not path.exists():
        raise StructestError(f"bundled panel {path} is missing; run `structest data build`")
    panel = Panel.from_file(path, meta={"source": "bundled WIOD 2013 + Caliendo-Parro tariffs"})
    report = data_dir() / REPORT_FILE
    if report.exists():  # rows the build excluded, with reasons
        dropped = json.loads(report.read_text())["dropped"]
        panel = dataclasses.replace(panel, dropped=tuple((k, int(v)) for k, v in dropped.items()))
    return panel


@lru_cache(maxsize=1)
def _va_archive() -> dict[str, np.ndarray]:
    path = data_dir() / VA_FILE
    if not path.exists():
        raise StructestError(
            f"bundled value-added file {path} is missing; run `structest data build`"
        )
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def va_contents(year: int) -> xr.DataArray:
    """Value added of ``source`` embodied in final goods of ``industry`` produced by ``producer``.

    Parameters
    ----------
    year
        A WIOD year, 1995-2011.

    Returns
    -------
    xarray.DataArray
        dims (``source``, ``producer``, ``industry``), USD millions, over the paper's 14
        economies (EU aggregated as ``EUN``) and ``ROW`` (all other WIOD regions).
    """
    z = _va_archive()
    years = z["years"].tolist()
    if int(year) not in years:
        raise StructestError(f"year {year} not available; WIOD years are {years[0]}-{years[-1]}")
    k = years.index(int(year))
    return xr.DataArray(
        z["va"][k],
        dims=("source", "producer", "industry"),
        coords={"source": z["regions"], "producer": z["regions"], "industry": z["industries"]},
        name="va",
        attrs={"units": "USD millions", "year": int(year)},
    )
