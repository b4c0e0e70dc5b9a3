"""Bundled real data: the WIOD + tariff panel, value-added contents, the TTB panel."""

from __future__ import annotations

import dataclasses
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
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


TTB_FILE = "ttb_usa.csv"


def load_ttb_panel(
    path: str | os.PathLike[str] | pd.DataFrame | None = None, *, keep_unlagged: bool = False
) -> pd.DataFrame:
    """A TTB coverage panel for Table 7, ready for :func:`structest.fit_reduced_form`.

    Parameters
    ----------
    path
        ``None`` for the bundled US antidumping panel (``data/ttb_usa.csv``: built from
        the Global Antidumping Database and WIOD, see ``data/README.md``), or a
        ``.csv``/``.parquet`` file (or a DataFrame) with the same input columns for any
        importer(s): ``importer, exporter, industry, year, ttb, dva, fva, fg, imports,
        rta`` (levels already lagged), optionally ``va_year``, ``covered``, ``lines``.
    keep_unlagged
        Keep rows whose value added is not lagged (``va_year == year``: the bundled 1995
        rows). By default they are dropped and counted in ``attrs["dropped"]``.

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``log_dva_ratio``, ``log_fva_ratio``, ``log_ip_ratio``,
        ``china``, ``log_dva_ratio_china``/``_nonchina``, ``log_fva_ratio_china``/
        ``_nonchina``, fixed-effect keys ``imp_ind``, ``imp_year``, ``ind_year``,
        ``exp_ind_year``, ``imp_ind_year``, ``pair``, ``exp_year``, ``exp_ind`` and the
        cluster key ``imp_exp_ind``. ``attrs["dropped"]`` lists ``(reason, rows)`` dropped.

    Raises
    ------
    InputFileError
        The file is missing, not a regular file, empty, unreadable, not CSV/parquet, or
        lacks required columns.
    PanelError
        Its content is invalid (see :func:`structest.data.ttb.ttb_frame`).
    OptionError
        ``keep_unlagged`` is not a boolean.
    """
    from ..panel import PARQUET_SUFFIXES, _checked_path, _head_tail, _read_csv, _read_parquet
    from .ttb import TTB_REQUIRED, ttb_frame

    if isinstance(path, pd.DataFrame):
        return ttb_frame(path, keep_unlagged=keep_unlagged, source="TTB panel (DataFrame)")
    if not isinstance(keep_unlagged, (bool, np.bool_)):  # before reading any file
        raise OptionError(
            f"keep_unlagged must be True or False, got {type(keep_unlagged).__name__} "
            f"{keep_unlagged!r}"
        )
    if path is None:
        file = _bundled_file(TTB_FILE, "TTB coverage panel")
        source = f"bundled TTB panel '{file}'"
    else:
        file = _checked_path(path)
        source = f"TTB panel '{file}'"
    head, tail = _head_tail(file)
    if file.suffix.lower() in PARQUET_SUFFIXES:
        df = _read_parquet(file, head, tail)
    else:
        df = _read_csv(file, head)
    missing = [c for c in TTB_REQUIRED if c not in df.columns]
    if missing:
        found = ", ".join(map(str, list(df.columns)[:20]))
        raise InputFileError(
            f"{source} lacks required column(s) {', '.join(missing)} (found: {found})"
        )
    return ttb_frame(df, keep_unlagged=keep_unlagged, source=source)
