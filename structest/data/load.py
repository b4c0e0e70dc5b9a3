"""Bundled real data: the WIOD + tariff panel and value-added contents."""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

from .. import _io
from ..errors import InputFileError, OptionError
from ..panel import Panel

PANEL_FILE = "panel.parquet"
VA_FILE = "va_contents.npz"
REPORT_FILE = "build_report.json"


def data_dir() -> Path:
    """The bundled ``data/`` folder; :class:`InputFileError` when it cannot be found."""
    try:
        return _io.data_dir()
    except FileNotFoundError as exc:
        raise InputFileError(f"{exc}; reinstall structest or run `structest data build`") from None


def _bundled_file(name: str, what: str) -> Path:
    path = data_dir() / name
    if not path.exists():
        raise InputFileError(f"bundled {what} '{path}' does not exist; run `structest data build`")
    return path


def _dropped(report: Path) -> tuple[tuple[str, int], ...]:
    """``(reason, count)`` pairs from the build report's ``dropped`` mapping."""
    try:
        content = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"build report '{report}' cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"build report '{report}' is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); run `structest data build`"
        ) from None
    dropped = content.get("dropped") if isinstance(content, dict) else None
    if not isinstance(dropped, dict):
        raise InputFileError(
            f"build report '{report}' has no 'dropped' mapping of reasons to counts"
        )
    out = []
    for reason, n in dropped.items():
        whole = isinstance(n, (int, float)) and not isinstance(n, bool) and float(n).is_integer()
        if not whole or n < 0:
            raise InputFileError(
                f"build report '{report}': 'dropped' must map reasons to row counts "
                f"(got {reason!r}: {n!r})"
            )
        out.append((str(reason), int(n)))
    return tuple(out)


def load_panel() -> Panel:
    """The bundled real panel (WIOD 2013 value added + Caliendo-Parro tariffs).

    See ``data/README.md`` for sources, transformations and departures from the paper.

    Raises
    ------
    InputFileError
        The bundled panel or its build report is missing, unreadable or malformed.
    """
    path = _bundled_file(PANEL_FILE, "panel")
    panel = Panel.from_file(path, meta={"source": "bundled WIOD 2013 + Caliendo-Parro tariffs"})
    report = data_dir() / REPORT_FILE
    if report.exists():  # rows the build excluded, with reasons
        panel = dataclasses.replace(panel, dropped=_dropped(report))
    return panel


@lru_cache(maxsize=1)
def _va_archive() -> dict[str, np.ndarray]:
    path = _bundled_file(VA_FILE, "value-added file")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError for a corrupt archive
        raise InputFileError(
            f"bundled value-added file '{path}' is not a readable .npz archive ({exc}); "
            "run `structest data build`"
        ) from None
    missing = [k for k in ("years", "va", "regions", "industries") if k not in out]
    if missing:
        raise InputFileError(
            f"bundled value-added file '{path}' lacks array(s) {', '.join(missing)}; "
            "run `structest data build`"
        )
    return out


def va_contents(year: int) -> xr.DataArray:
    """Value added of ``source`` embodied in final goods of ``industry`` produced by ``producer``.

    Parameters
    ----------
    year
        A WIOD year, 1995-2011 (an integer, a float with no fractional part, or digits).

    Returns
    -------
    xarray.DataArray
        dims (``source``, ``producer``, ``industry``), USD millions, over the paper's 14
        economies (EU aggregated as ``EUN``) and ``ROW`` (all other WIOD regions).

    Raises
    ------
    OptionError
        ``year`` is not an integer WIOD year.
    InputFileError
        The bundled archive is missing or corrupt.
    """
    z = _va_archive()
    years = z["years"].tolist()
    if isinstance(year, str) and year.strip().isdigit():  # "2005", as before
        year = int(year)
    whole = isinstance(year, (int, float, np.integer, np.floating)) and not isinstance(
        year, (bool, np.bool_)
    )
    if not whole or not float(year).is_integer() or int(year) not in years:
        raise OptionError(
            f"va_contents: year {year!r} not available; WIOD years are {years[0]}-{years[-1]}"
        )
    k = years.index(int(year))
    return xr.DataArray(
        z["va"][k],
        dims=("source", "producer", "industry"),
        coords={"source": z["regions"], "producer": z["regions"], "industry": z["industries"]},
        name="va",
        attrs={"units": "USD millions", "year": int(year)},
    )
