"""The panel: one row per importer-exporter-industry-year, validated, with derived columns.

``Panel.from_frame`` is the single entry point for data: the bundled real panel, the
synthetic world and user data all pass through the same validation, so every later step
(reduced form, structural fit, checks, counterfactuals) can trust the columns.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import os
import reprlib
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .codes import KNOWN_ECONOMIES, WIOD_INDUSTRIES
from .errors import InputFileError, OptionError, PanelError

#: Columns that identify an observation (``product`` joins the key when present).
KEYS: tuple[str, ...] = ("importer", "exporter", "industry", "year")

#: Columns every panel must carry.
REQUIRED: tuple[str, ...] = (
    *KEYS,
    "tariff",
    "mfn",
    "dva",
    "fva",
    "fg",
    "imports",
    "rta",
)

#: Columns the bundled panel carries and user panels may carry.
OPTIONAL: tuple[str, ...] = (
    "censored",
    "mfn_threshold",
    "dva_services",
    "dva_lag",
    "rta_broad",
    "gsp",
    "dist",
    "contig",
    "comlang",
    "colony",
    "ttb",
    "product",
)

#: Strictly positive columns (they are logged).
POSITIVE: tuple[str, ...] = ("dva", "fva", "fg", "imports", "dva_services", "dva_lag", "dist")
#: Non-negative percent columns.
NONNEGATIVE: tuple[str, ...] = ("tariff", "mfn", "ttb")
#: 0/1 indicator columns.
INDICATORS: tuple[str, ...] = ("rta", "rta_broad", "gsp", "censored")
#: Gravity dummies: 0/1 for country pairs, output-weighted shares in [0, 1] for EU pairs.
SHARES: tuple[str, ...] = ("contig", "comlang", "colony")

#: Default tolerance (percentage points) for "applied equals MFN" and "applied above MFN".
MFN_TOL: float = 1e-6

#: Plausible calendar years (inclusive); a year outside is a data error, not a year.
YEAR_RANGE: tuple[int, int] = (1900, 2100)

#: File extensions :meth:`Panel.from_file` reads as CSV (UTF-8 text) and as parquet.
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")

#: Columns that :func:`add_derived_columns` computes as floats (besides the ``log_*`` ones).
_DERIVED_FLOATS: tuple[str, ...] = ("preference", "dva_ratio", "fva_ratio", "ip_ratio")
#: A frame carrying all of these has been through :func:`add_derived_columns`.
_DERIVED_MARKERS: tuple[str, ...] = ("preference", "log_dva", "log_dva_ratio", "imp_ind_year")

_MAX_LISTED = 8


def _row_label(df: pd.DataFrame, idx: Any) -> str:
    row = df.loc[idx]
    keys = [str(row[k]) for k in KEYS if k in df.columns]
    return f"row {idx} ({', '.join(keys)})" if keys else f"row {idx}"


def _format_value(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        short = f"{value:g}"
        # %g rounds to 6 digits: 2000.000000001 would print as the whole year 2000
        return short if float(short) == float(value) else repr(float(value))
    if isinstance(value, str):
        return repr(value)
    return repr(value) if not hasattr(value, "isoformat") else str(value)


def _list_rows(df: pd.DataFrame, mask: pd.Series, column: str | None = None) -> str:
    idx = df.index[np.asarray(mask, dtype=bool)]
    parts = []
    for i in idx[:_MAX_LISTED]:
        label = _row_label(df, i)
        if column is not None:
            label += f" = {_format_value(df.at[i, column])}"
        parts.append(label)
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return "; ".join(parts) + more


def _numeric_columns(df: pd.DataFrame) -> list[str]:
    """Known value columns present in ``df`` (every REQUIRED/OPTIONAL one but the labels)."""
    return [c for c in df.columns if c in (*REQUIRED, *OPTIONAL) and c not in (*KEYS, "product")]


def _is_number(value: Any, allow_bool: bool) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return allow_bool
    return isinstance(value, (int, float, np.integer, np.floating))


def _duplicate_columns(df: pd.DataFrame) -> str | None:
    """The problem line for repeated column names (pandas allows them), or None."""
    counts = pd.Series(list(df.columns)).value_counts(sort=False)
    dup = counts[counts > 1]
    if dup.empty:
        return None
    names = ", ".join(f"'{name}' ({n} columns)" for name, n in dup.items())
    return f"duplicate column name(s): {names}; a panel needs each column once"


def _year_as_numbers(s: pd.Series) -> pd.Series | None:
    """Calendar years from datetimes, periods or numeric text; None when ``s`` is left as is."""
    if isinstance(s.dtype, pd.PeriodDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.year
    if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
        return None
    values = s.dropna()
    if len(values) == 0:
        return None
    if all(isinstance(v, (_dt.date, pd.Period)) for v in values):
        return s.map(lambda v: v.year if isinstance(v, (_dt.date, pd.Period)) else np.nan)
    if all(isinstance(v, str) for v in values):
        parsed = pd.to_numeric(s.str.strip(), errors="coerce")
        if int(parsed.notna().sum()) == len(values):
            return parsed
    return None


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Explicit, documented conversions before validation (see :meth:`Panel.from_frame`).

    - a non-unique index is replaced by row positions (rows are then named by position);
    - ``year`` as datetimes (any time zone) or periods becomes the calendar year; text that
      parses cleanly as numbers (``"2005"``, ``" 2005.0"``) becomes numbers;
    - value columns of dtype ``object`` holding only numbers become floats (booleans too in
      0/1 indicator columns). Text, booleans in value columns and other dtypes are left for
      :func:`validate_frame` to report.
    """
    out = df
    if not out.index.is_unique:
        out = out.reset_index(drop=True)
    if "year" in out.columns:
        year = _year_as_numbers(out["year"])
        if year is not None:
            out = out.assign(year=year.to_numpy())
    for col in _numeric_columns(out):
        s = out[col]
        if s.dtype == object and all(_is_number(v, col in INDICATORS) for v in s.dropna()):
            out = out.assign(**{col: s.astype("float64")})
    return out


def _dtype_problem(df: pd.DataFrame, col: str) -> str | None:
    """Why the value column ``col`` is not numeric, or None."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        if col in INDICATORS:
            return None
        return f"column '{col}' holds booleans (True/False); expected numbers"
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
        return None
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        bad = s.notna() & ~s.map(lambda v: _is_number(v, col in INDICATORS)).astype(bool)
        if not bad.any():
            return None
        return f"column '{col}' must be numeric; non-numeric values at {_list_rows(df, bad, col)}"
    return f"column '{col}' must be numeric; it has dtype {s.dtype}"


def _year_dtype_problem(df: pd.DataFrame) -> str | None:
    s = df["year"]
    if pd.api.types.is_bool_dtype(s.dtype):
        return "column 'year' holds booleans (True/False); expected calendar years"
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
        return None
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        yr = pd.to_numeric(s, errors="coerce")
        bad = yr.isna() & s.notna()
        return (
            f"column 'year' must hold whole years: {_list_rows(df, bad, 'year')}"
            if bad.any()
            else None
        )
    return f"column 'year' must hold whole years; it has dtype {s.dtype}"


def _as_float(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=float, na_value=np.nan)


def validate_frame(
    df: pd.DataFrame,
    *,
    tol: float = MFN_TOL,
    strict_codes: bool = True,
    allow_negative_tariffs: bool = False,
) -> list[str]:
    """Return a list of problems (empty when the frame is a valid panel).

    Each problem names the column and the offending rows (index and key values). The frame
    is first converted as :meth:`Panel.from_frame` documents (datetime years to calendar
    years, numeric text years to numbers); the frame passed in is not modified.
    """
    if not isinstance(df, pd.DataFrame):
        return [f"expected a pandas DataFrame, got {type(df).__name__}"]
    dup = _duplicate_columns(df)
    if dup:
        return [dup]
    return _validate(_normalize(df), tol, strict_codes, allow_negative_tariffs)


def _validate(
    df: pd.DataFrame, tol: float, strict_codes: bool, allow_negative_tariffs: bool
) -> list[str]:
    problems: list[str] = []
    if len(df.columns) == 0:
        return ["the frame is empty (no columns)"]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        problems.append(
            f"missing required column(s): {', '.join(missing)} "
            f"(present: {', '.join(map(str, df.columns))})"
        )
        return problems
    if len(df) == 0:
        return ["the frame has no rows"]

    typed: list[str] = []  # columns with numbers, checked for NaN/inf below
    year_problem = _year_dtype_problem(df)
    if year_problem:
        problems.append(year_problem)
    elif pd.api.types.is_numeric_dtype(df["year"].dtype):
        typed.append("year")
    for col in _numeric_columns(df):
        problem = _dtype_problem(df, col)
        if problem:
            problems.append(problem)
        else:
            typed.append(col)

    for col in [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]:
        na = df[col].isna()
        if na.any():
            problems.append(
                f"column '{col}' has {int(na.sum())} missing (NaN) value(s): {_list_rows(df, na)}"
            )
        elif col in typed:
            inf = pd.Series(np.isinf(_as_float(df[col])), index=df.index)
            if inf.any():
                problems.append(
                    f"column '{col}' has {int(inf.sum())} infinite value(s): "
                    f"{_list_rows(df, inf, col)}"
                )
    if problems:
        return problems

    yr = pd.Series(_as_float(pd.to_numeric(df["year"])), index=df.index)
    bad = yr != np.round(yr)
    if bad.any():
        problems.append(f"column 'year' must hold whole years: {_list_rows(df, bad, 'year')}")
    lo, hi = YEAR_RANGE
    bad = ~bad & ((yr < lo) | (yr > hi))
    if bad.any():
        problems.append(
            f"column 'year' must lie in {lo}-{hi}; {int(bad.sum())} implausible year(s): "
            f"{_list_rows(df, bad, 'year')}"
        )
    for col in NONNEGATIVE:
        if col == "tariff" and allow_negative_tariffs:
            continue
        if col in df.columns:
            bad = df[col].astype(float) < 0
            if bad.any():
                problems.append(
                    f"column '{col}' has {int(bad.sum())} negative value(s): {_list_rows(df, bad, col)}"
                )
    above = df["tariff"].astype(float) > df["mfn"].astype(float) + tol
    if above.any():
        problems.append(
            f"column 'tariff' exceeds 'mfn' by more than {tol:g} pp in {int(above.sum())} row(s) "
            f"(the MFN rate caps every bilateral tariff): {_list_rows(df, above, 'tariff')}"
        )
    for col in POSITIVE:
        if col in df.columns:
            bad = df[col].astype(float) <= 0
            if bad.any():
                problems.append(
                    f"column '{col}' must be > 0 (it is logged); {int(bad.sum())} non-positive value(s): "
                    f"{_list_rows(df, bad, col)}"
                )
    for col in INDICATORS:
        if col in df.columns:
            bad = ~df[col].astype(float).isin([0.0, 1.0])
            if bad.any():
                problems.append(f"column '{col}' must be 0/1 (or bool): {_list_rows(df, bad, col)}")
    for col in SHARES:
        if col in df.columns:
            v = df[col].astype(float)
            bad = (v < 0) | (v > 1)
            if bad.any():
                problems.append(f"column '{col}' must lie in [0, 1]: {_list_rows(df, bad, col)}")
    same = df["importer"].astype(str) == df["exporter"].astype(str)
    if same.any():
        problems.append(f"importer == exporter in {int(same.sum())} row(s): {_list_rows(df, same)}")
    keys = [*KEYS, "product"] if "product" in df.columns else list(KEYS)
    dup = df.duplicated(subset=keys, keep=False)
    if dup.any():
        problems.append(
            f"duplicate observations on ({', '.join(keys)}) in {int(dup.sum())} row(s): {_list_rows(df, dup)}"
        )
    ind = df["industry"].astype(str)
    bad = ~ind.isin(WIOD_INDUSTRIES)
    if bad.any():
        problems.append(
            f"column 'industry' has unknown code(s) {sorted(set(ind[bad]))[:_MAX_LISTED]} "
            f"(expected WIOD codes c1..c35): {_list_rows(df, bad, 'industry')}"
        )
    for col in ("importer", "exporter"):
        codes = df[col].astype(str)
        if strict_codes:
            bad = ~codes.isin(KNOWN_ECONOMIES)
            hint = "known ISO3 codes, the EU as 'EUN'; pass strict_codes=False for others"
        else:
            bad = ~codes.str.fullmatch(r"[A-Z]{3}")
            hint = "three upper-case letters"
        if bad.any():
            problems.append(
                f"column '{col}' has unknown code(s) {sorted(set(codes[bad]))[:_MAX_LISTED]} ({hint}): "
                f"{_list_rows(df, bad, col)}"
            )
    threshold = "mfn_threshold" in df.columns and not problems
    if threshold:
        thr = df["mfn_threshold"].astype(float)
        bad = thr > df["mfn"].astype(float) + tol
        if bad.any():
            problems.append(
                "column 'mfn_threshold' (the applied rate from which a row is recorded at MFN) "
                f"exceeds 'mfn' in {int(bad.sum())} row(s): {_list_rows(df, bad, 'mfn_threshold')}"
            )
    if "censored" in df.columns:
        flag = df["censored"].astype(bool)
        tariff = df["tariff"].astype(float)
        bad = flag & (df["mfn"].astype(float) - tariff > max(tol, 0.5))
        if bad.any():
            problems.append(
                "column 'censored' is True but 'tariff' is more than 0.5 pp below 'mfn' in "
                f"{int(bad.sum())} row(s): {_list_rows(df, bad)}"
            )
        if threshold:
            bad = (flag & (tariff < thr - tol)) | (~flag & (tariff >= thr + tol))
            if bad.any():
                problems.append(
                    "column 'censored' disagrees with 'mfn_threshold' (censored means tariff >= "
                    f"mfn_threshold) in {int(bad.sum())} row(s): {_list_rows(df, bad, 'tariff')}"
                )
    return problems


def _safe_log(x: pd.Series) -> np.ndarray:
    return np.log(x.to_numpy(dtype=float))


#: Number of import bins of the ``imp_ind_year_decile`` fixed effect.
N_IMPORT_BINS: int = 10

#: Lagged instruments made by :func:`add_derived_columns`: column -> the log column whose
#: value in the earliest year of the panel it carries. They are NaN on earliest-year rows and
#: on rows whose importer-exporter-industry has no earliest-year row; estimation drops those
#: rows with a reason naming the instrument (:func:`structest.reduced.data.build_sample`).
LAGGED: dict[str, str] = {
    "log_dva_lag": "log_dva",
    "log_dva_ratio_lag": "log_dva_ratio",
    "log_fva_ratio_lag": "log_fva_ratio",
    "log_ip_ratio_lag": "log_ip_ratio",
}


def xtile(values: np.ndarray | pd.Series, n: int = N_IMPORT_BINS) -> np.ndarray:
    """Quantile bins ``1..n`` of ``values`` by Stata's ``xtile`` rule (ties share a bin).

    The cut points are Stata's default percentiles: with the ``N`` values sorted,
    ``x_(1) <= ... <= x_(N)``, the ``k``-th cut is ``x_(ceil(P))`` for ``P = N k / n`` not
    whole and ``(x_(P) + x_(P+1)) / 2`` for ``P`` whole; a value falls in bin ``k`` when
    ``cut_(k-1) < value <= cut_k``. Equal values always fall in the same bin, so a bin is a
    set of values (the paper's ``D_xijt = 1(imports in D)``) and never depends on row order;
    with many ties (imports are whole USD millions) bins differ in size.

    Parameters
    ----------
    values
        Finite numbers (at least one).
    n
        Number of bins.

    Returns
    -------
    numpy.ndarray
        Integer bins in ``1..n``, one per value.
    """
    x = np.asarray(values, dtype=float)
    s = np.sort(x)
    N = len(s)
    if N == 0:
        return np.zeros(0, dtype=np.int64)
    cuts = np.empty(n - 1)
    for k in range(1, n):
        i, rem = divmod(N * k, n)  # P = N k / n = i + rem / n
        cuts[k - 1] = (s[i - 1] + s[i]) / 2 if rem == 0 and i >= 1 else s[min(i, N - 1)]
    return 1 + np.searchsorted(cuts, x, side="left")


def _lagged(out: pd.DataFrame) -> dict[str, np.ndarray]:
    """Values of the same importer-exporter-industry (and product) in the earliest year.

    ``log_dva_lag`` is ``log(dva_lag)`` on later-year rows when the frame carries a
    ``dva_lag`` column (the bundled panel: WIOD DVA of 1995, known also where the 1995 row
    itself was dropped), else ``log_dva`` of the earliest-year row.
    """
    year = out["year"].to_numpy(dtype=np.int64)
    later = year > year.min() if len(year) else np.zeros(0, dtype=bool)
    keys = [k for k in ("importer", "exporter", "industry", "product") if k in out.columns]
    first = out.loc[~later, keys + list(dict.fromkeys(LAGGED.values()))].drop_duplicates(keys)
    looked = out[keys].merge(first, on=keys, how="left")
    res: dict[str, np.ndarray] = {}
    for lag, src in LAGGED.items():
        if lag == "log_dva_lag" and "dva_lag" in out.columns:
            v = _safe_log(out["dva_lag"])
        else:
            v = looked[src].to_numpy(dtype=float)
        res[lag] = np.where(later, v, np.nan)
    return res


def add_derived_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Add log regressors, ratios, interactions and fixed-effect keys (pure function).

    The returned frame has, besides the input columns:
    ``preference`` (tariff - mfn), ``log_dva``, ``log_fva``, ``log_fg``, ``log_imports``,
    ``dva_ratio``/``fva_ratio``/``ip_ratio`` (levels over imports), their logs
    ``log_dva_ratio``/``log_fva_ratio``/``log_ip_ratio``, instruments in logs
    (``log_dva_services``, ``log_dva_services_ratio``), RTA/GSP interactions
    (``log_dva_rta``, ``log_dva_nonrta``, ``log_dva_gsp``, ``log_dva_nongsp``, the same for
    the ratios and the services instrument, ``log_dva_rta_broad``/``log_dva_nonrta_broad``
    with ``rta_broad``, ``log_dva_services_gsp``/``log_dva_services_nongsp``), fixed-effect
    keys ``imp_ind_year``, ``exp_ind_year``, ``imp_ind``, ``imp_year``, ``ind_year``,
    ``exp_ind``, ``exp_year``, ``pair`` and ``imp_ind_year_decile``.

    ``imp_ind_year_decile`` interacts ``imp_ind_year`` with the decile of bilateral imports
    in the POOLED distribution of all rows (all years together; eq. 16: "we divide the
    observed empirical distribution of imports into ten decile bins ... interact these
    decile indicators with the importer-industry-year fixed effects"); bins follow Stata's
    ``xtile`` rule (:func:`xtile`: equal imports share a bin).

    Lagged instruments (:data:`LAGGED`): ``log_dva_lag``, ``log_dva_ratio_lag``,
    ``log_fva_ratio_lag``, ``log_ip_ratio_lag`` hold the value of the same
    importer-exporter-industry in the earliest year of the frame, on later-year rows; they
    are NaN on earliest-year rows (where the lag would be the regressor itself) and on rows
    without an earliest-year observation (``log_dva_lag`` uses the ``dva_lag`` column when
    present, so only the earliest year is NaN there).
    """
    out = df.copy()
    imp, exp_, ind = (out[c].astype(str) for c in ("importer", "exporter", "industry"))
    yr = out["year"].astype(int).astype(str)
    out["preference"] = out["tariff"].astype(float) - out["mfn"].astype(float)
    if "censored" not in out.columns:
        out["censored"] = (out["mfn"] - out["tariff"]) <= MFN_TOL
    out["censored"] = out["censored"].astype(bool)
    for col in ("rta", "rta_broad", "gsp"):
        if col in out.columns:
            out[col] = out[col].astype(int)
    for col in ("dva", "fva", "fg", "imports", "dva_services", "dist"):
        if col in out.columns:
            out[f"log_{col}"] = _safe_log(out[col])
    out["dva_ratio"] = out["dva"] / out["imports"]
    out["fva_ratio"] = out["fva"] / out["imports"]
    out["ip_ratio"] = out["fg"] / out["imports"]
    for name in ("dva_ratio", "fva_ratio", "ip_ratio"):
        out[f"log_{name}"] = np.log(out[name].to_numpy(dtype=float))
    if "dva_services" in out.columns:
        out["log_dva_services_ratio"] = out["log_dva_services"] - out["log_imports"]
    rta = out["rta"].to_numpy(dtype=float)
    bases = ["log_dva", "log_dva_ratio", "log_fva_ratio", "log_ip_ratio"]
    if "log_dva_services_ratio" in out.columns:
        bases.append("log_dva_services_ratio")
    for base in bases:
        out[f"{base}_rta"] = rta * out[base]
        out[f"{base}_nonrta"] = (1.0 - rta) * out[base]
    if "rta_broad" in out.columns:
        broad = out["rta_broad"].to_numpy(dtype=float)
        out["log_dva_rta_broad"] = broad * out["log_dva"]
        out["log_dva_nonrta_broad"] = (1.0 - broad) * out["log_dva"]
    if "gsp" in out.columns:
        gsp = out["gsp"].to_numpy(dtype=float)
        out["log_dva_gsp"] = gsp * out["log_dva"]
        out["log_dva_nongsp"] = (1.0 - gsp) * out["log_dva"]
        if "dva_services" in out.columns:
            out["log_dva_services_gsp"] = gsp * out["log_dva_services"]
            out["log_dva_services_nongsp"] = (1.0 - gsp) * out["log_dva_services"]
    for lag, values in _lagged(out).items():
        out[lag] = values
    out["imp_ind_year"] = imp + "_" + ind + "_" + yr
    out["exp_ind_year"] = exp_ + "_" + ind + "_" + yr
    out["imp_ind"] = imp + "_" + ind
    out["imp_year"] = imp + "_" + yr
    out["ind_year"] = ind + "_" + yr
    out["exp_ind"] = exp_ + "_" + ind
    out["exp_year"] = exp_ + "_" + yr
    out["pair"] = imp + "_" + exp_
    out["imp_exp_ind"] = imp + "_" + exp_ + "_" + ind  # Table 7's cluster (paper fn. 52)
    # eq. 16 "x import-decile" effects: deciles of the pooled import distribution
    decile = pd.Series(xtile(out["imports"].to_numpy(dtype=float)), index=out.index)
    out["imp_ind_year_decile"] = out["imp_ind_year"] + "_d" + decile.astype(str)
    return out


def _built_problems(df: pd.DataFrame) -> list[str]:
    """Cheap checks of a frame that has been through :func:`add_derived_columns`.

    Required columns present; known input columns and derived float columns finite (the
    lagged instruments of :data:`LAGGED` may be NaN by construction, never infinite).
    """
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        return [f"missing required column(s): {', '.join(missing)}"]
    problems: list[str] = []
    inputs = set(_numeric_columns(df))
    checked = []
    for col, dtype in df.dtypes.items():
        if not (col in inputs or col in _DERIVED_FLOATS or str(col).startswith("log_")):
            continue
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
            problems.append(f"column '{col}' must be numeric; it has dtype {dtype}")
        else:
            checked.append(col)
    lagged = [c for c in checked if c in LAGGED]
    checked = [c for c in checked if c not in LAGGED]
    lag_ok = not lagged or not np.isinf(df[lagged].to_numpy(dtype=float, na_value=np.nan)).any()
    if lag_ok and (
        not checked or np.isfinite(df[checked].to_numpy(dtype=float, na_value=np.nan)).all()
    ):
        return problems  # the common case, in one vectorised pass
    derived: list[tuple[str, pd.Series]] = []
    for col in [*checked, *lagged]:
        v = _as_float(df[col])
        bad = pd.Series(np.isinf(v) if col in LAGGED else ~np.isfinite(v), index=df.index)
        if not bad.any():
            continue
        if col not in inputs:
            derived.append((col, bad))
        elif np.isnan(v).any():
            na = pd.Series(np.isnan(v), index=df.index)
            problems.append(
                f"column '{col}' has {int(na.sum())} missing (NaN) value(s): {_list_rows(df, na)}"
            )
        else:
            problems.append(
                f"column '{col}' has {int(bad.sum())} infinite value(s): {_list_rows(df, bad, col)}"
            )
    if derived:
        col, bad = derived[0]
        others = f"; {len(derived) - 1} other derived column(s) too" if len(derived) > 1 else ""
        problems.append(
            f"derived column '{col}' is not finite in {int(bad.sum())} row(s) (an input value is "
            f"out of floating-point range{others}): {_list_rows(df, bad, col)}"
        )
    return problems


def _check_options(tol: Any, strict_codes: Any, allow_negative_tariffs: Any) -> None:
    if (
        isinstance(tol, (bool, np.bool_))
        or not isinstance(tol, (int, float, np.integer, np.floating))
        or not math.isfinite(float(tol))
        or tol < 0
    ):
        shown = f"{tol:g}" if isinstance(tol, (int, float, np.number)) else repr(tol)
        raise OptionError(f"tol must be a finite number >= 0, got {shown}")
    for name, value in (
        ("strict_codes", strict_codes),
        ("allow_negative_tariffs", allow_negative_tariffs),
    ):
        if not isinstance(value, (bool, np.bool_)):
            raise OptionError(f"{name} must be True or False, got {value!r}")


#: keyword options of :meth:`Panel.from_frame` that :meth:`Panel.from_file` passes on
_FROM_FRAME_OPTIONS: tuple[str, ...] = ("tol", "strict_codes", "allow_negative_tariffs", "meta")


def _check_meta(meta: Any) -> None:
    """OptionError unless ``meta`` is None or a mapping (a dict)."""
    if meta is None:
        return
    if not isinstance(meta, Mapping):
        raise OptionError(
            f"meta must be a dict of provenance (name -> value) or None, got "
            f"{type(meta).__name__} {reprlib.repr(meta)}"
        )


# ---------------------------------------------------------------------- files
_FILE_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO, i.e. a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def _file_error(path: Path, what: str) -> InputFileError:
    return InputFileError(f"panel file '{path}' {what}")


def _checked_path(path: Any) -> Path:
    """``path`` as a Path to a non-empty regular file with a known extension.

    Nothing is read: a device, FIFO or directory is refused from its ``stat``.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise InputFileError(f"expected a file path, got {type(path).__name__}")
    path = Path(os.fspath(path))
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise _file_error(path, "does not exist") from None
    except OSError as exc:
        raise _file_error(path, f"cannot be accessed: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _file_error(path, "is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _FILE_KINDS if test(st.st_mode)), "not a plain file")
        raise _file_error(path, f"is not a regular file ({kind}); refusing to read it")
    suffix = path.suffix.lower()
    if not suffix:
        raise _file_error(path, "has no extension (name it .csv or .parquet)")
    if suffix not in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
        raise _file_error(
            path, f"has unsupported extension '{path.suffix}' (use .csv, .txt, .parquet or .pq)"
        )
    if st.st_size == 0:
        raise _file_error(path, "is empty (0 bytes)")
    return path


def _head_tail(path: Path, n: int = 4096) -> tuple[bytes, bytes]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(n)
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - 8))
            tail = fh.read(8)
    except OSError as exc:
        raise _file_error(path, f"cannot be read: {exc.strerror or exc}") from None
    return head, tail


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the sample is fine
        return exc.start >= len(head) - 3
    return True


def _read_parquet(path: Path, head: bytes, tail: bytes) -> pd.DataFrame:
    if not head.startswith(b"PAR1"):
        hint = (
            "it looks like CSV text: rename it to .csv"
            if _looks_like_text(head)
            else ("no 'PAR1' magic number at its start")
        )
        raise _file_error(path, f"is not a parquet file ({hint})")
    if not tail.endswith(b"PAR1"):
        raise _file_error(
            path, "is a truncated or corrupt parquet file (no 'PAR1' footer; was it fully written?)"
        )
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _file_error(path, f"is not a readable parquet file: {first}") from None


def _csv_content_problem(head: bytes) -> str | None:
    """What makes the start of a would-be CSV not UTF-8 text, or None."""
    if head.startswith(b"PAR1"):
        return "is a parquet file, not CSV text (rename it to .parquet)"
    if head.startswith(b"\x1f\x8b"):
        return "is gzip-compressed; decompress it first"
    if head.startswith(b"PK\x03\x04"):
        return "is a zip archive (an Excel .xlsx?); export it as a UTF-8 CSV"
    sample = head[:256]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(sample) >= 4
        and (sample[1::2].count(0) >= len(sample) // 4 or sample[0::2].count(0) >= len(sample) // 4)
        and b"\x00\x00" not in sample
    ):
        return "is UTF-16 text; save it as UTF-8 CSV"
    if b"\x00" in head:
        return f"is not text (NUL byte at offset {head.index(0)}); expected a UTF-8 CSV"
    return None


def _read_csv(path: Path, head: bytes) -> pd.DataFrame:
    problem = _csv_content_problem(head)
    if problem:
        raise _file_error(path, problem)
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            where = ""
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            where = f" (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line})"
        raise _file_error(path, f"is not UTF-8 text{where}; save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise _file_error(path, "has no header line (only blank lines)") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[0].replace("Error tokenizing data. C error: ", "")
        raise _file_error(path, f"is not a well-formed CSV: {msg}") from None
    except (OSError, ValueError) as exc:
        raise _file_error(path, f"cannot be read as CSV: {exc}") from None
    mangled = [c for c in df.columns if isinstance(c, str) and c.rpartition(".")[2].isdigit()]
    if (
        mangled and all(c in df.columns for c in REQUIRED)
    ):  # else the missing ones are named  # pandas renames a repeated header name 'x' to 'x.1': find the real header
        header = pd.read_csv(path, encoding="utf-8-sig", header=None, nrows=1, dtype=str)
        names = pd.Series(header.iloc[0].tolist()).value_counts(sort=False)
        dup = names[names > 1]
        if not dup.empty:
            listed = ", ".join(f"'{n}' ({k} times)" for n, k in dup.items())
            raise _file_error(path, f"repeats column name(s) in its header: {listed}")
    return df


def _missing_columns_error(path: Path, columns: Sequence[Any]) -> InputFileError | None:
    """A header that lacks required columns, with hints (case, separator, no header)."""
    present = [str(c) for c in columns]
    missing = [c for c in REQUIRED if c not in present]
    if not missing:
        return None
    hints = []
    folded = {p.strip().lower().replace(" ", "_"): p for p in present}
    for m in missing:
        near = folded.get(m) or next(
            iter(difflib.get_close_matches(m, list(folded), n=1, cutoff=0.8)), None
        )
        if near is not None:
            hints.append(f"'{folded.get(near, near)}' for '{m}'")
    text = f"lacks required column(s) {', '.join(missing)}"
    shown = ", ".join(present[:30]) + (
        f" and {len(present) - 30} more" if len(present) > 30 else ""
    )
    text += f" (found: {shown})"
    if hints:
        text += f"; did you mean {', '.join(hints)}?"
    if len(present) == 1:
        sep = next((s for s in (";", "\t", "|") if s in present[0]), None)
        if sep is not None:
            text += f"; the header is a single column, so the file seems to be separated by {sep!r}, expected ','"
    data_like = sum(
        p in KNOWN_ECONOMIES or p in WIOD_INDUSTRIES or _parses_as_number(p) for p in present
    )
    if data_like >= 2:
        text += "; the first line looks like data, not a header"
    return _file_error(path, text)


def _parses_as_number(text: str) -> bool:
    try:
        float(text.rsplit(".", 1)[0] if text.count(".") > 1 else text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Panel:
    """A validated importer-exporter-industry-year panel.

    Build it with :meth:`from_frame` or :meth:`from_file` (or :func:`structest.load_panel`
    for the bundled data, :func:`structest.simulate` for a synthetic world). ``Panel(df)``
    on a raw frame (without the derived columns) is the same as ``Panel.from_frame(df)``
    with default options; on a frame already built by this class (``panel.df``) it only
    checks that the required columns are there and every known numeric column is finite
    (the lagged instruments of :data:`LAGGED` may be NaN: they are by construction in the
    earliest year).

    Attributes
    ----------
    df
        The observations with input and derived columns (see :func:`add_derived_columns`).
    dropped
        ``(reason, count)`` for every row a step excluded; nothing is dropped silently.
    meta
        Free-form provenance (source, build notes, true parameters for synthetic data...).

    Raises
    ------
    PanelError
        ``df`` is not a DataFrame, repeats a column name, or fails validation.
    """

    df: pd.DataFrame
    dropped: tuple[tuple[str, int], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        df = self.df
        if not isinstance(df, pd.DataFrame):
            raise PanelError(
                [f"expected a pandas DataFrame, got {type(df).__name__} (use Panel.from_frame(df))"]
            )
        dup = _duplicate_columns(df)
        if dup:
            raise PanelError([dup])
        if not all(c in df.columns for c in _DERIVED_MARKERS):  # a raw frame: validate, derive
            object.__setattr__(self, "df", Panel.from_frame(df, meta=self.meta).df)
            return
        problems = _built_problems(df)
        if problems:
            raise PanelError(problems)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        tol: float = MFN_TOL,
        strict_codes: bool = True,
        allow_negative_tariffs: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> Panel:
        """Validate a user frame and build a panel.

        Before validation (on a copy), ``year`` given as datetimes (any time zone) or
        periods becomes its calendar year (``2005-07-01`` -> 2005), and ``year`` given as
        text that parses cleanly as numbers (``"2005"``) becomes numbers; value columns of
        dtype ``object`` that hold only numbers become floats. Nothing else is converted:
        text or booleans in value columns, non-finite values (NaN, inf), years that are not
        whole or lie outside :data:`YEAR_RANGE`, repeated column names and empty frames are
        refused.

        Parameters
        ----------
        df
            One row per importer-exporter-industry-year (and ``product`` if present).
        tol
            Tolerance (pp) for applied tariffs above MFN; within it they are set to MFN.
        strict_codes
            Require known ISO3 codes (else any three upper-case letters).
        allow_negative_tariffs
            Accept negative applied tariffs (synthetic worlds without a lower bound).
        meta
            Provenance stored on the panel.

        Raises
        ------
        PanelError
            Listing every problem with the offending column and rows.
        OptionError
            ``tol`` is not a finite number >= 0, or a flag is not a bool.
        """
        _check_options(tol, strict_codes, allow_negative_tariffs)
        _check_meta(meta)
        if not isinstance(df, pd.DataFrame):
            raise PanelError([f"expected a pandas DataFrame, got {type(df).__name__}"])
        dup = _duplicate_columns(df)
        if dup:
            raise PanelError([dup])
        norm = _normalize(df)
        problems = _validate(norm, tol, strict_codes, allow_negative_tariffs)
        if problems:
            raise PanelError(problems)
        clean = norm.copy()
        for col in ("importer", "exporter", "industry"):
            clean[col] = clean[col].astype(str)
        clean["year"] = pd.to_numeric(clean["year"]).astype("int64")
        # tariffs above MFN within tolerance are set to MFN exactly (censoring is exact)
        clean["tariff"] = np.minimum(clean["tariff"].astype(float), clean["mfn"].astype(float))
        for col in (*REQUIRED, *OPTIONAL):
            if col in clean.columns and col not in (*KEYS, "product") and col not in INDICATORS:
                clean[col] = clean[col].astype(float)
        sort = [*KEYS, "product"] if "product" in clean.columns else list(KEYS)
        clean = clean.sort_values(sort, kind="stable")
        derived = add_derived_columns(clean)
        problems = _built_problems(derived)  # rows named as in the frame passed in
        if problems:
            raise PanelError(problems)
        return cls(df=derived.reset_index(drop=True), meta=dict(meta or {}))

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Panel:
        """Read a CSV (UTF-8, ``,``-separated) or parquet file and validate it.

        The file is checked before it is read: it must exist and be a regular, non-empty
        file (never a directory, device or FIFO) named ``.csv``/``.txt`` or
        ``.parquet``/``.pq`` (any case), whose bytes match its extension. Options as in
        :meth:`from_frame`.

        Raises
        ------
        InputFileError
            The file is missing, not a regular file, of an unknown type, empty, not what its
            extension says (UTF-16, binary, compressed, truncated, ...), malformed, or its
            header lacks or repeats columns. The message names the file.
        PanelError
            The contents fail validation; each problem is prefixed with the file.
        """
        unknown = sorted(set(kwargs) - set(_FROM_FRAME_OPTIONS))
        if unknown:
            raise OptionError(
                f"Panel.from_file: unknown option(s) {unknown}; allowed: {list(_FROM_FRAME_OPTIONS)}"
            )
        _check_meta(kwargs.get("meta"))
        _check_options(
            kwargs.get("tol", MFN_TOL),
            kwargs.get("strict_codes", True),
            kwargs.get("allow_negative_tariffs", False),
        )
        path = _checked_path(path)
        head, tail = _head_tail(path)
        if path.suffix.lower() in PARQUET_SUFFIXES:
            df = _read_parquet(path, head, tail)
        else:
            df = _read_csv(path, head)
        err = _missing_columns_error(path, df.columns)
        if err is not None:
            raise err
        meta = {"source": str(path)}
        meta.update(kwargs.pop("meta", {}) or {})
        try:
            return cls.from_frame(df, meta=meta, **kwargs)
        except PanelError as exc:
            raise PanelError([f"{path}: {p}" for p in exc.problems]) from None

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        d = self.df
        return (
            f"Panel({len(d)} obs: {d['importer'].nunique()} importers x {d['exporter'].nunique()} "
            f"exporters x {d['industry'].nunique()} industries x years {sorted(int(y) for y in d['year'].unique())}; "
            f"censored share {d['censored'].mean():.3f})"
        )

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Sorted unique labels of each dimension."""
        return {k: np.sort(self.df[k].unique()) for k in KEYS}

    def to_xarray(self, variables: Sequence[str] | None = None) -> xr.Dataset:
        """Dense view with dims (importer, exporter, industry, year); absent cells are NaN.

        Panels with a ``product`` column are averaged over products first.
        """
        d = self.df
        if variables is None:
            variables = [
                c
                for c in d.columns
                if c not in (*KEYS, "product") and pd.api.types.is_numeric_dtype(d[c])
            ]
        variables = list(variables)
        unknown = [v for v in variables if v not in d.columns]
        if unknown:
            raise PanelError([f"to_xarray: unknown column(s) {unknown}"])
        frame = d[[*KEYS, *variables]].copy()
        for v in variables:
            frame[v] = frame[v].astype(float)
        if "product" in d.columns:
            frame = frame.groupby(list(KEYS)).mean()
        else:
            frame = frame.set_index(list(KEYS))
        return xr.Dataset.from_dataframe(frame)

    def fingerprint(self) -> str:
        """A hash of the observation keys (and ``product``) and tariffs, in row order.

        Fits store it, so that a fit is never evaluated against another panel by mistake.
        Tariffs are rounded to 1e-9 pp, so a file round trip does not change it.
        """
        import hashlib

        h = hashlib.sha256()
        keys = [*KEYS, "product"] if "product" in self.df.columns else list(KEYS)
        for k in keys:
            h.update("\x1f".join(self.df[k].astype(str)).encode())
            h.update(b"\x1e")
        tariff = np.round(self.df["tariff"].to_numpy(dtype=float), 9) + 0.0  # no -0.0
        h.update(np.ascontiguousarray(tariff).tobytes())
        return h.hexdigest()[:16]

    def obs_coords(self) -> dict[str, np.ndarray]:
        """Per-observation labels, for ``obs``-indexed InferenceData coords."""
        return {k: self.df[k].to_numpy() for k in KEYS}

    def subset(self, mask: Iterable[bool] | pd.Series, reason: str) -> Panel:
        """Keep rows where ``mask`` is True, recording how many were dropped and why.

        Raises
        ------
        PanelError
            ``mask`` has the wrong length, holds missing values, or is a Series whose index
            is not the panel's (it would be applied to the wrong rows).
        """
        if isinstance(mask, pd.Series):
            if not mask.index.equals(self.df.index):
                raise PanelError(
                    [
                        "subset mask is a Series whose index is not the panel's; build it from panel.df"
                    ]
                )
            if mask.isna().any():
                raise PanelError(
                    [
                        f"subset mask has {int(mask.isna().sum())} missing value(s); expected True/False"
                    ]
                )
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self.df),):
            raise PanelError([f"subset mask has shape {m.shape}, expected ({len(self.df)},)"])
        n_drop = int((~m).sum())
        dropped = self.dropped + ((reason, n_drop),) if n_drop else self.dropped
        return Panel(
            df=self.df.loc[m].reset_index(drop=True), dropped=dropped, meta=dict(self.meta)
        )

    def drop_report(self) -> str:
        """Human-readable list of every exclusion applied so far."""
        if not self.dropped:
            return "no rows dropped"
        return "\n".join(f"{n} row(s) dropped: {why}" for why, n in self.dropped)

    # ------------------------------------------------------------------ guards for estimators
    def require_rows(self, what: str, at_least: int = 1) -> None:
        """Raise :class:`PanelError` unless the panel has at least ``at_least`` rows.

        ``what`` names the step that needs them (e.g. ``"the Tobit fit"``).
        """
        n = len(self.df)
        if n < at_least:
            have = "no rows" if n == 0 else f"only {n} row(s)"
            raise PanelError([f"the panel has {have}: {what} needs at least {at_least}"])

    def require_uncensored(self, what: str, at_least: int = 1) -> None:
        """Raise :class:`PanelError` unless ``at_least`` observations lie below MFN.

        Censored observations (applied tariff at MFN) carry no density information on
        their own; a likelihood or regression on the preferential margin needs some
        uncensored ones.
        """
        n = int((~self.df["censored"].astype(bool)).sum())
        if n < at_least:
            head = "no uncensored observations" if n == 0 else "too few uncensored observations"
            raise PanelError(
                [
                    f"{head}: {what} needs at least {at_least} "
                    f"({n} of {len(self.df)} rows are below MFN)"
                ]
            )

    def require_levels(self, column: str, what: str, at_least: int = 2) -> None:
        """Raise :class:`PanelError` unless ``column`` takes ``at_least`` distinct values.

        E.g. ``require_levels("year", "year effects")`` or, for a panel that is a single
        cell, ``require_levels("imp_ind_year", "the fixed-effect regression")``.
        """
        if column not in self.df.columns:
            raise PanelError([f"require_levels: unknown column '{column}'"])
        values = self.df[column].unique()
        k = len(values)
        if k < at_least:
            if k == 0:
                have = "no values (the panel has no rows)"
            elif k == 1:
                have = f"a single value ({values[0]})"
            else:
                have = f"only {k} distinct values"
            raise PanelError(
                [f"column '{column}' has {have}: {what} needs at least {at_least} distinct values"]
            )
