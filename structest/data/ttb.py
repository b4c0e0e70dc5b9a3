"""Temporary-trade-barrier (TTB) coverage panels: validation and derived columns (Table 7).

A coverage panel has one row per importer-exporter-industry-year with the TTB coverage
ratio ``ttb`` (percent of the industry's final-goods HS6 lines under a measure in force
against the exporter) and the value-added levels ``dva``, ``fva``, ``fg``, ``imports`` of
the *lag* year (the paper lags them five years), plus ``rta``. Optional: ``va_year`` (the
year the levels come from; rows with ``va_year == year`` are not lagged), ``covered`` and
``lines`` (the counts behind ``ttb``).

:func:`ttb_frame` validates such a frame and adds the columns Table 7 regresses on:
``log_dva_ratio``, ``log_fva_ratio``, ``log_ip_ratio`` (= ln FG/IM), ``china`` and the
interactions ``log_dva_ratio_china`` / ``_nonchina``, ``log_fva_ratio_china`` /
``_nonchina``, and the keys ``imp_ind``, ``imp_year``, ``ind_year``, ``exp_ind_year``,
``imp_ind_year``, ``imp_exp_ind`` (cluster), ``pair``, ``exp_year`` and ``exp_ind``.

With a single importer (the bundled US panel) ``exp_ind_year`` has one row per level, so
the paper's columns 2 and 4 (importer-industry-year + exporter-industry-year effects)
leave no residual degrees of freedom; ``exp_year`` or ``exp_ind`` effects are the
single-importer substitutes (``data/README.md``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..codes import WIOD_INDUSTRIES
from ..errors import OptionError, PanelError

#: Columns that identify a row.
TTB_KEYS: tuple[str, ...] = ("importer", "exporter", "industry", "year")
#: Columns every coverage panel must carry.
TTB_REQUIRED: tuple[str, ...] = (*TTB_KEYS, "ttb", "dva", "fva", "fg", "imports", "rta")
#: Columns a coverage panel may carry (checked when present).
TTB_OPTIONAL: tuple[str, ...] = ("va_year", "covered", "lines")
#: Value-added levels (strictly positive: they are logged).
LEVELS: tuple[str, ...] = ("dva", "fva", "fg", "imports")
#: Exporter whose rows the ``*_china`` interactions pick out.
CHINA = "CHN"
#: Reason recorded for rows whose value added is not lagged.
UNLAGGED_REASON = (
    "value added not lagged (va_year == year: no WIOD table five years earlier); "
    "keep them with keep_unlagged=True"
)
_YEAR_RANGE = (1900, 2100)
#: Tolerance (percentage points) of ``ttb == 100 covered / lines``.
_SHARE_TOL = 1e-6


def _rows(df: pd.DataFrame, mask: pd.Series | np.ndarray, col: str | None = None) -> str:
    """``row 3 (USA CHN c1 2005): value`` for the first offending rows."""
    mask = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(mask)
    shown = []
    for k in idx[:3]:
        r = df.iloc[k]
        key = " ".join(str(r[c]) for c in TTB_KEYS if c in df.columns)
        v = r[col] if col is not None else None
        val = f": {(v.item() if isinstance(v, np.generic) else v)!r}" if col is not None else ""
        shown.append(f"row {k} ({key}){val}")
    more = f" and {len(idx) - 3} more" if len(idx) > 3 else ""
    return ", ".join(shown) + more


def _numeric(df: pd.DataFrame, col: str, problems: list[str]) -> pd.Series | None:
    """``df[col]`` as floats, or None after recording why it is not numeric."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        problems.append(f"column '{col}' holds booleans, expected numbers")
        return None
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        problems.append(f"column '{col}' is not numeric in {_rows(df, bad, col)}")
        return None
    return num.astype(float)


def _integers(
    df: pd.DataFrame, col: str, problems: list[str], *, low: int | None = None
) -> pd.Series | None:
    """``df[col]`` as whole numbers (floats), or None after recording a problem."""
    num = _numeric(df, col, problems)
    if num is None:
        return None
    bad = ~np.isfinite(num) | (num != np.round(num))
    if bad.any():
        problems.append(f"column '{col}' must hold whole numbers: {_rows(df, bad, col)}")
        return None
    if low is not None and (num < low).any():
        problems.append(f"column '{col}' must be >= {low}: {_rows(df, num < low, col)}")
        return None
    return num


def ttb_problems(df: pd.DataFrame) -> list[str]:
    """Everything wrong with a coverage panel, one line per problem (empty: valid)."""
    problems: list[str] = []
    cols = [str(c) for c in df.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        return [f"column name(s) {', '.join(map(repr, dup))} appear more than once"]
    missing = [c for c in TTB_REQUIRED if c not in df.columns]
    if missing:
        return [
            f"lacks required column(s) {', '.join(missing)} (found: {', '.join(cols[:20])}"
            f"{' ...' if len(cols) > 20 else ''})"
        ]
    if len(df) == 0:
        return ["has no rows"]
    for col in ("importer", "exporter", "industry"):
        s = df[col]
        bad = s.isna() | ~s.map(lambda v: isinstance(v, str) and v.strip() != "")
        if bad.any():
            problems.append(f"column '{col}' must hold non-empty text: {_rows(df, bad, col)}")
    if not any(p.startswith("column 'industry'") for p in problems):
        bad = ~df["industry"].isin(WIOD_INDUSTRIES)
        if bad.any():
            problems.append(
                f"column 'industry' must hold WIOD codes c1-c35: {_rows(df, bad, 'industry')}"
            )
    if not any(p.startswith(("column 'importer'", "column 'exporter'")) for p in problems):
        same = df["importer"] == df["exporter"]
        if same.any():
            problems.append(f"importer equals exporter in {_rows(df, same)}")
    year = _integers(df, "year", problems)
    if year is not None:
        out = (year < _YEAR_RANGE[0]) | (year > _YEAR_RANGE[1])
        if out.any():
            problems.append(
                f"column 'year' outside {_YEAR_RANGE[0]}-{_YEAR_RANGE[1]}: {_rows(df, out, 'year')}"
            )
            year = None
    ttb = _numeric(df, "ttb", problems)
    if ttb is not None:
        bad = ~np.isfinite(ttb)
        if bad.any():
            problems.append(f"column 'ttb' is missing or not finite in {_rows(df, bad, 'ttb')}")
        elif ((ttb < 0) | (ttb > 100)).any():
            problems.append(
                "column 'ttb' (coverage, percent) must lie in [0, 100]: "
                f"{_rows(df, (ttb < 0) | (ttb > 100), 'ttb')}"
            )
            ttb = None
    for col in LEVELS:
        num = _numeric(df, col, problems)
        if num is None:
            continue
        bad = ~np.isfinite(num)
        if bad.any():
            problems.append(f"column '{col}' is missing or not finite in {_rows(df, bad, col)}")
        elif (num <= 0).any():
            problems.append(
                f"column '{col}' must be > 0 (it is logged): {_rows(df, num <= 0, col)}"
            )
    rta = _numeric(df, "rta", problems) if not pd.api.types.is_bool_dtype(df["rta"]) else None
    if rta is not None:
        bad = ~rta.isin([0.0, 1.0])
        if bad.any():
            problems.append(f"column 'rta' must be 0 or 1: {_rows(df, bad, 'rta')}")
    if "va_year" in df.columns:
        va = _integers(df, "va_year", problems)
        if va is not None and year is not None:
            late = va > year
            if late.any():
                problems.append(
                    "column 'va_year' after 'year' (value added must come from the same or "
                    f"an earlier year): {_rows(df, late, 'va_year')}"
                )
    if "covered" in df.columns or "lines" in df.columns:
        if not ("covered" in df.columns and "lines" in df.columns):
            problems.append("columns 'covered' and 'lines' come together: one is missing")
        else:
            cov = _integers(df, "covered", problems, low=0)
            lin = _integers(df, "lines", problems, low=1)
            if cov is not None and lin is not None:
                over = cov > lin
                if over.any():
                    problems.append(f"column 'covered' exceeds 'lines' in {_rows(df, over)}")
                elif ttb is not None and np.isfinite(ttb).all():
                    off = (ttb - 100.0 * cov / lin).abs() > _SHARE_TOL
                    if off.any():
                        problems.append(
                            "column 'ttb' differs from 100 * covered / lines in "
                            f"{_rows(df, off, 'ttb')}"
                        )
    if not problems:
        key = pd.DataFrame(
            {c: df[c].astype(str).str.strip() for c in ("importer", "exporter", "industry")}
        ).assign(year=pd.to_numeric(df["year"]).astype(int))
        dup = key.duplicated(keep=False)
        if dup.any():
            problems.append(
                f"{int(dup.sum())} rows share an importer-exporter-industry-year key: "
                f"{_rows(df, dup)}"
            )
    return problems


def add_ttb_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Log ratios, China interactions and fixed-effect keys of a valid coverage panel."""
    out = df.copy()
    for col in ("importer", "exporter", "industry"):
        out[col] = out[col].astype(str).str.strip()
    out["year"] = pd.to_numeric(out["year"]).astype(int)
    if "va_year" in out.columns:
        out["va_year"] = pd.to_numeric(out["va_year"]).astype(int)
    for col in ("ttb", *LEVELS):
        out[col] = pd.to_numeric(out[col]).astype(float)
    out["rta"] = pd.to_numeric(out["rta"]).astype(int)
    imports = out["imports"].to_numpy(float)
    out["log_dva_ratio"] = np.log(out["dva"].to_numpy(float) / imports)
    out["log_fva_ratio"] = np.log(out["fva"].to_numpy(float) / imports)
    out["log_ip_ratio"] = np.log(out["fg"].to_numpy(float) / imports)
    china = (out["exporter"] == CHINA).astype(int)
    out["china"] = china
    for base in ("log_dva_ratio", "log_fva_ratio"):
        out[f"{base}_china"] = china * out[base]
        out[f"{base}_nonchina"] = (1 - china) * out[base]
    imp, exp_, ind = out["importer"], out["exporter"], out["industry"]
    yr = out["year"].astype(str)
    out["imp_ind"] = imp + "_" + ind
    out["imp_year"] = imp + "_" + yr
    out["ind_year"] = ind + "_" + yr
    out["exp_ind_year"] = exp_ + "_" + ind + "_" + yr
    out["imp_ind_year"] = imp + "_" + ind + "_" + yr
    out["imp_exp_ind"] = imp + "_" + exp_ + "_" + ind
    out["pair"] = imp + "_" + exp_
    # single-importer panels: exp_ind_year is one row each, use these instead
    out["exp_year"] = exp_ + "_" + yr
    out["exp_ind"] = exp_ + "_" + ind
    return out


def ttb_frame(
    df: pd.DataFrame, *, keep_unlagged: bool = False, source: str = "TTB panel"
) -> pd.DataFrame:
    """Validate a coverage panel and return it with the derived columns.

    Parameters
    ----------
    df
        A coverage panel (see the module docstring for its columns).
    keep_unlagged
        Keep rows whose value added is not lagged (``va_year == year``; in the bundled
        panel the 1995 rows, as WIOD starts in 1995). By default they are dropped and
        counted in ``result.attrs["dropped"]``.
    source
        Named in error messages.

    Returns
    -------
    pandas.DataFrame
        Sorted by importer, exporter, industry, year; ``attrs["dropped"]`` lists
        ``(reason, rows)``.

    Raises
    ------
    PanelError
        One line per problem: missing columns, no rows, non-text ids, unknown industry
        codes, non-integer or implausible years, non-finite / negative / > 100 coverage,
        missing or non-positive levels, ``rta`` not 0/1, ``va_year`` after ``year``,
        ``covered``/``lines`` inconsistent with ``ttb``, duplicate keys, or no row left.
    OptionError
        ``keep_unlagged`` is not a boolean.
    """
    if not isinstance(keep_unlagged, (bool, np.bool_)):
        raise OptionError(
            f"keep_unlagged must be True or False, got {type(keep_unlagged).__name__} "
            f"{keep_unlagged!r}"
        )
    if not isinstance(df, pd.DataFrame):
        raise PanelError([f"{source}: expected a pandas DataFrame, got {type(df).__name__}"])
    problems = ttb_problems(df)
    if problems:
        raise PanelError([f"{source}: {p}" for p in problems])
    out = add_ttb_columns(df)
    dropped: list[tuple[str, int]] = []
    if "va_year" in out.columns and not keep_unlagged:
        flat = (out["va_year"] == out["year"]).to_numpy()
        if flat.all():
            raise PanelError(
                [
                    f"{source}: every row has va_year == year (value added not lagged); "
                    "pass keep_unlagged=True to use them"
                ]
            )
        if flat.any():
            dropped.append((UNLAGGED_REASON, int(flat.sum())))
            out = out.loc[~flat]
    out = out.sort_values(list(TTB_KEYS)).reset_index(drop=True)
    out.attrs["dropped"] = dropped
    out.attrs["source"] = source
    return out


def nonzero_shares(df: pd.DataFrame) -> dict[str, float]:
    """Share of rows with nonzero coverage and China's share of those rows (Section 5)."""
    nz = df["ttb"].to_numpy(float) > 0
    share = float(nz.mean()) if len(df) else math.nan
    china = float((df.loc[nz, "exporter"] == CHINA).mean()) if nz.any() else math.nan
    return {"nonzero_share": share, "china_share_of_nonzero": china}
