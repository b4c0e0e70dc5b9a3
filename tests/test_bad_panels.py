"""Bad panels and bad files: each is refused with one clear error before any estimation.

Every case names the expected error type and a regex of its message. Files are refused with
:class:`InputFileError` (naming the file and what is wrong), contents with :class:`PanelError`
(naming the column and the offending rows).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import structest
import structest.data.load as load_mod
from structest import InputFileError, OptionError, Panel, PanelError
from structest.data.describe import describe

ECONOMIES = ("USA", "CHN", "JPN", "EUN")


def _good_frame() -> pd.DataFrame:
    """48 valid rows carrying every required and optional numeric column."""
    rows = []
    i = 0
    for imp in ECONOMIES:
        for exp_ in ECONOMIES:
            if imp == exp_:
                continue
            for ind in ("c1", "c3"):
                for year in (2000, 2005):
                    mfn = 5.0 if ind == "c1" else 8.0
                    at_mfn = i % 3 == 0
                    rta = int(i % 4 == 1)
                    rows.append(
                        {
                            "importer": imp,
                            "exporter": exp_,
                            "industry": ind,
                            "year": year,
                            "tariff": mfn if at_mfn else mfn - 2.5,
                            "mfn": mfn,
                            "censored": at_mfn,
                            "mfn_threshold": mfn,
                            "dva": 10.0 + i,
                            "fva": 2.0 + 0.1 * i,
                            "fg": 5.0 + 0.5 * i,
                            "imports": 50.0 + 2 * i,
                            "dva_services": 3.0 + 0.2 * i,
                            "dva_lag": 9.0 + i,
                            "dist": 1000.0 + 10 * i,
                            "rta": rta,
                            "rta_broad": rta,
                            "gsp": int(not rta and i % 5 == 0),
                            "contig": 0,
                            "comlang": 0.25 if imp == "EUN" else 0.0,
                            "colony": 0,
                            "ttb": 0.0,
                        }
                    )
                    i += 1
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    return _good_frame()


#: numeric columns of the good frame (every REQUIRED/OPTIONAL column that is not a label)
NUMERIC = [c for c in _good_frame().columns if c not in ("importer", "exporter", "industry")]


def _set(df: pd.DataFrame, col: str, row: int, value: Any, dtype: Any = float) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].astype(dtype)
    out.loc[row, col] = value
    return out


def _with(df: pd.DataFrame, **cols: Any) -> pd.DataFrame:
    out = df.copy()
    for k, v in cols.items():
        out[k] = v(out) if callable(v) else v
    return out


# --------------------------------------------------------------------------- contents
# (build the frame from the good one, expected error, message regex)
CONTENT_CASES = [
    pytest.param(
        lambda d: pd.concat([d, d[["dva"]]], axis=1),
        PanelError,
        r"duplicate column name\(s\): 'dva' \(2 columns\)",
        id="duplicate-column-dva",
    ),
    pytest.param(
        lambda d: pd.DataFrame([[1, 2]], columns=["a", "a"]),
        PanelError,
        r"duplicate column name\(s\): 'a'",
        id="duplicate-column-a-a",
    ),
    pytest.param(lambda d: d.iloc[:0], PanelError, r"the frame has no rows", id="zero-rows"),
    pytest.param(
        lambda d: pd.DataFrame(), PanelError, r"the frame is empty \(no columns\)", id="no-columns"
    ),
    pytest.param(
        lambda d: d.to_dict("list"), PanelError, r"expected a pandas DataFrame, got dict", id="dict"
    ),
    pytest.param(
        lambda d: None, PanelError, r"expected a pandas DataFrame, got NoneType", id="none"
    ),
    pytest.param(
        lambda d: d.to_numpy(),
        PanelError,
        r"expected a pandas DataFrame, got ndarray",
        id="ndarray",
    ),
    pytest.param(
        lambda d: d.drop(columns=["mfn", "fva"]),
        PanelError,
        r"missing required column\(s\): mfn, fva",
        id="missing-columns",
    ),
    # years
    pytest.param(
        lambda d: _set(d, "year", 3, 1e20),
        PanelError,
        r"column 'year' must lie in 1900-2100.*row 3 \(.*\) = 1e\+20",
        id="year-1e20",
    ),
    pytest.param(
        lambda d: _set(d, "year", 3, 10**15, dtype="int64"),
        PanelError,
        r"column 'year' must lie in 1900-2100.*row 3",
        id="year-huge-int",
    ),
    pytest.param(
        lambda d: _set(d, "year", 4, 1850, dtype="int64"),
        PanelError,
        r"column 'year' must lie in 1900-2100.*row 4 \(.*\) = 1850",
        id="year-1850",
    ),
    pytest.param(
        lambda d: _set(d, "year", 4, -2005, dtype="int64"),
        PanelError,
        r"column 'year' must lie in 1900-2100.*row 4",
        id="year-negative",
    ),
    pytest.param(
        lambda d: _set(d, "year", 5, 2005.5),
        PanelError,
        r"column 'year' must hold whole years: row 5 \(.*\) = 2005\.5",
        id="year-2005.5",
    ),
    pytest.param(
        lambda d: _with(d, year=lambda x: x["year"] == 2000),
        PanelError,
        r"column 'year' holds booleans",
        id="year-bool",
    ),
    pytest.param(
        lambda d: _set(d, "year", 6, "abc", dtype=object),
        PanelError,
        r"column 'year' must hold whole years: row 6 \(.*\) = 'abc'",
        id="year-text",
    ),
    pytest.param(
        lambda d: _with(d, year=lambda x: pd.to_timedelta(x["year"], unit="D")),
        PanelError,
        r"column 'year' must hold whole years.*timedelta",
        id="year-timedelta",
    ),
    # values of the wrong type in numeric columns
    pytest.param(
        lambda d: _with(d, dva=lambda x: x["dva"] > 20),
        PanelError,
        r"column 'dva' holds booleans \(True/False\); expected numbers",
        id="dva-bool",
    ),
    pytest.param(
        lambda d: _with(d, tariff=lambda x: x["tariff"] > 3),
        PanelError,
        r"column 'tariff' holds booleans",
        id="tariff-bool",
    ),
    pytest.param(
        lambda d: _set(d, "dva", 2, True, dtype=object),
        PanelError,
        r"column 'dva' must be numeric; non-numeric values at row 2 \(.*\) = True",
        id="dva-one-bool-in-object",
    ),
    pytest.param(
        lambda d: _set(d, "dva", 0, "high", dtype=object),
        PanelError,
        r"column 'dva' must be numeric; non-numeric values at row 0 \(.*\) = 'high'",
        id="dva-text",
    ),
    pytest.param(
        lambda d: _with(d, imports=lambda x: x["imports"].astype(str)),
        PanelError,
        r"column 'imports' must be numeric; non-numeric values at row 0 \(.*\) = '50\.0'",
        id="imports-all-text",
    ),
    pytest.param(
        lambda d: _with(d, dist=lambda x: pd.to_datetime(x["dist"], unit="D")),
        PanelError,
        r"column 'dist' must be numeric; it has dtype datetime64",
        id="dist-datetime",
    ),
    pytest.param(
        lambda d: _with(d, fg=lambda x: x["fg"] + 1j),
        PanelError,
        r"column 'fg' must be numeric; it has dtype complex128",
        id="fg-complex",
    ),
    pytest.param(
        lambda d: _with(d, mfn=lambda x: x["mfn"].astype("category")),
        PanelError,
        r"column 'mfn' must be numeric; it has dtype category",
        id="mfn-category",
    ),
    pytest.param(
        lambda d: _with(d, censored=lambda x: np.where(x["censored"], "yes", "no")),
        PanelError,
        r"column 'censored' must be numeric; non-numeric values at row 0 \(.*\) = 'yes'",
        id="censored-text",
    ),
    # values out of range (existing checks, kept)
    pytest.param(
        lambda d: _set(d, "rta", 1, 0.5),
        PanelError,
        r"column 'rta' must be 0/1 \(or bool\): row 1",
        id="rta-half",
    ),
    pytest.param(
        lambda d: _set(d, "fva", 7, -1.0),
        PanelError,
        r"column 'fva' must be > 0 \(it is logged\); 1 non-positive value\(s\): row 7",
        id="fva-negative",
    ),
    # finite inputs whose derived columns overflow
    pytest.param(
        lambda d: _set(_set(d, "dva", 8, 1e300), "imports", 8, 1e-300),
        PanelError,
        r"derived column 'dva_ratio' is not finite in 1 row\(s\).*row 8",
        id="derived-overflow",
    ),
    # duplicated index labels: rows are then listed by position, not a crash
    pytest.param(
        lambda d: _set(d, "dva", 3, -1.0).set_axis([0] * len(d)),
        PanelError,
        r"column 'dva' must be > 0.*row 3 \(USA",
        id="duplicate-index-labels",
    ),
]


def _nonfinite_cases() -> list:
    cases = []
    for col in NUMERIC:
        for value, word in ((np.inf, "inf"), (-np.inf, "-inf"), (np.nan, "nan")):
            if word == "nan":
                pattern = rf"column '{col}' has 1 missing \(NaN\) value\(s\): row 5 \("
            else:
                pattern = rf"column '{col}' has 1 infinite value\(s\): row 5 \(.*\) = {word}"
            cases.append(pytest.param(col, value, pattern, id=f"{col}={word}"))
    return cases


def _assert_one_error(make: Callable[[], Any], err: type[Exception], pattern: str) -> str:
    with pytest.raises(err) as info:
        make()
    msg = str(info.value)
    assert re.search(pattern, msg, flags=re.S), f"{pattern!r} not found in:\n{msg}"
    assert "Traceback" not in msg
    return msg


@pytest.mark.parametrize(("build", "err", "pattern"), CONTENT_CASES)
def test_bad_content(good, build, err, pattern):
    df = build(good)
    _assert_one_error(lambda: Panel.from_frame(df), err, pattern)
    # the plain constructor validates a raw frame the same way
    _assert_one_error(lambda: Panel(df), err, pattern)


@pytest.mark.parametrize(("col", "value", "pattern"), _nonfinite_cases())
def test_nonfinite_in_every_numeric_column(good, col, value, pattern):
    df = _set(good, col, 5, value)
    msg = _assert_one_error(lambda: Panel.from_frame(df), PanelError, pattern)
    # one clear error on one line, not a cascade of follow-on complaints
    assert msg.startswith("panel validation failed: ") and "\n" not in msg


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"tol": float("nan")}, r"tol must be a finite number >= 0, got nan"),
        ({"tol": -1.0}, r"tol must be a finite number >= 0, got -1"),
        ({"tol": "1e-6"}, r"tol must be a finite number >= 0, got '1e-6'"),
    ],
    ids=["tol-nan", "tol-negative", "tol-text"],
)
def test_bad_options(good, kwargs, pattern):
    _assert_one_error(lambda: Panel.from_frame(good, **kwargs), OptionError, pattern)


def test_built_frame_is_checked(good):
    """``Panel(df=...)`` on an already derived frame checks it is finite (cheaply)."""
    built = Panel.from_frame(good).df.copy()
    built.loc[2, "log_dva"] = np.inf
    _assert_one_error(
        lambda: Panel(df=built), PanelError, r"derived column 'log_dva' is not finite.*row 2"
    )
    built = Panel.from_frame(good).df.copy()
    built.loc[2, "dva"] = np.nan
    _assert_one_error(
        lambda: Panel(df=built), PanelError, r"column 'dva' has 1 missing \(NaN\) value\(s\): row 2"
    )


# --------------------------------------------------------------------------- files
def _csv(good: pd.DataFrame, tmp: Path, name: str = "p.csv", **kw: Any) -> Path:
    path = tmp / name
    good.to_csv(path, index=False, **kw)
    return path


def _parquet(good: pd.DataFrame, tmp: Path, name: str = "p.parquet") -> Path:
    path = tmp / name
    good.to_parquet(path, index=False)
    return path


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _truncated_parquet(good: pd.DataFrame, tmp: Path) -> Path:
    data = _parquet(good, tmp, "full.parquet").read_bytes()
    return _write(tmp, "p.parquet", data[: len(data) // 2])


def _renamed_header(good: pd.DataFrame, tmp: Path) -> Path:
    return _csv(good.rename(columns={"tariff": "Tariff", "mfn": "MFN rate"}), tmp)


def _symlink(tmp: Path, name: str, target: str | Path) -> Path:
    path = tmp / name
    path.symlink_to(target)
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "p.csv"
    os.mkfifo(path)
    return path


def _dir(tmp: Path, name: str) -> Path:
    path = tmp / name
    path.mkdir()
    return path


def _ragged(good: pd.DataFrame, tmp: Path) -> Path:
    path = _csv(good, tmp)
    lines = path.read_text().splitlines()
    lines[4] += ",1,2"
    path.write_text("\n".join(lines) + "\n")
    return path


def _dup_header(good: pd.DataFrame, tmp: Path) -> Path:
    path = _csv(good.assign(extra=1.0), tmp)
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("extra", "dva")
    path.write_text("\n".join(lines) + "\n")
    return path


_GARBAGE = bytes(range(256)) * 8

# (build the file from the good frame and tmp_path, expected error, message regex)
FILE_CASES = [
    pytest.param(
        lambda g, t: t / "absent.csv",
        InputFileError,
        r"'.*absent\.csv' does not exist",
        id="missing",
    ),
    pytest.param(
        lambda g, t: t / "no" / "such" / "dir" / "p.parquet",
        InputFileError,
        r"'.*p\.parquet' does not exist",
        id="missing-parent",
    ),
    pytest.param(
        lambda g, t: _dir(t, "d.csv"), InputFileError, r"'.*d\.csv' is a directory", id="dir-csv"
    ),
    pytest.param(lambda g, t: t, InputFileError, r"is a directory, not a file", id="dir-plain"),
    pytest.param(
        lambda g, t: Path("/dev/zero"),
        InputFileError,
        r"'/dev/zero' is not a regular file \(a character device\)",
        id="dev-zero",
    ),
    pytest.param(
        lambda g, t: _symlink(t, "zero.csv", "/dev/zero"),
        InputFileError,
        r"'.*zero\.csv' is not a regular file \(a character device\)",
        id="dev-zero-as-csv",
    ),
    pytest.param(
        lambda g, t: _symlink(t, "zero.parquet", "/dev/zero"),
        InputFileError,
        r"'.*zero\.parquet' is not a regular file",
        id="dev-zero-as-parquet",
    ),
    pytest.param(
        lambda g, t: _fifo(t),
        InputFileError,
        r"'.*p\.csv' is not a regular file \(a FIFO",
        id="fifo",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, "p.xlsx"),
        InputFileError,
        r"'.*p\.xlsx' has unsupported extension '\.xlsx' \(use \.csv, \.txt, \.parquet or \.pq\)",
        id="unknown-extension",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, "panel"),
        InputFileError,
        r"'.*panel' has no extension",
        id="no-extension",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", b""), InputFileError, r"'.*p\.csv' is empty", id="empty-csv"
    ),
    pytest.param(
        lambda g, t: _write(t, "p.parquet", b""),
        InputFileError,
        r"'.*p\.parquet' is empty",
        id="empty-parquet",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", b"\n\n  \n"),
        InputFileError,
        r"'.*p\.csv' has no header line",
        id="blank-lines-csv",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", _GARBAGE),
        InputFileError,
        r"'.*p\.csv' is not text \(NUL byte at offset 0\)",
        id="garbage-csv",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.parquet", _GARBAGE),
        InputFileError,
        r"'.*p\.parquet' is not a parquet file",
        id="garbage-parquet",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, encoding="utf-16"),
        InputFileError,
        r"'.*p\.csv' is UTF-16 text; save it as UTF-8",
        id="utf16-bom",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", g.to_csv(index=False).encode("utf-16-le")),
        InputFileError,
        r"'.*p\.csv' is UTF-16 text",
        id="utf16-no-bom",
    ),
    pytest.param(
        lambda g, t: _write(
            t, "p.csv", g.to_csv(index=False).replace("JPN", "Jap\u00f3n").encode("latin-1")
        ),
        InputFileError,
        r"'.*p\.csv' is not UTF-8 text \(byte 0xf3 at offset \d+, line 6\)",
        id="latin1",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", gzip.compress(g.to_csv(index=False).encode())),
        InputFileError,
        r"'.*p\.csv' is gzip-compressed",
        id="gzip-as-csv",
    ),
    pytest.param(
        lambda g, t: _write(t, "p.csv", b"PK\x03\x04" + _GARBAGE),
        InputFileError,
        r"'.*p\.csv' is a zip archive \(an Excel \.xlsx\?\)",
        id="zip-as-csv",
    ),
    pytest.param(
        _renamed_header,
        InputFileError,
        r"'.*p\.csv' lacks required column\(s\) tariff, mfn .*'Tariff' for 'tariff'",
        id="header-renamed",
    ),
    pytest.param(
        lambda g, t: _csv(g.drop(columns=["dva", "imports"]), t),
        InputFileError,
        r"'.*p\.csv' lacks required column\(s\) dva, imports \(found: importer, exporter",
        id="header-missing-columns",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, header=False),
        InputFileError,
        r"lacks required column\(s\) importer, .*the first line looks like data, not a header",
        id="no-header",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, sep=";"),
        InputFileError,
        r"lacks required column\(s\) .*separated by ';'.*expected ','",
        id="semicolon-separated",
    ),
    pytest.param(
        _dup_header,
        InputFileError,
        r"'.*p\.csv' repeats column name\(s\) in its header: 'dva' \(2 times\)",
        id="duplicate-header",
    ),
    pytest.param(
        _ragged,
        InputFileError,
        r"'.*p\.csv' is not a well-formed CSV: .*line 5",
        id="ragged-csv",
    ),
    pytest.param(
        lambda g, t: _csv(g, t, "p.parquet"),
        InputFileError,
        r"'.*p\.parquet' is not a parquet file .*looks like CSV text.*rename it to \.csv",
        id="csv-named-parquet",
    ),
    pytest.param(
        lambda g, t: _parquet(g, t, "p.csv"),
        InputFileError,
        r"'.*p\.csv' is a parquet file, not CSV text \(rename it to \.parquet\)",
        id="parquet-named-csv",
    ),
    pytest.param(
        _truncated_parquet,
        InputFileError,
        r"'.*p\.parquet' is a truncated or corrupt parquet file",
        id="truncated-parquet",
    ),
    pytest.param(
        lambda g, t: _write(
            t,
            "p.parquet",
            (lambda b: b[:100] + bytes(len(b) - 200) + b[-100:])(
                _parquet(g, t, "full.parquet").read_bytes()
            ),
        ),
        InputFileError,
        r"'.*p\.parquet' is not a readable parquet file",
        id="corrupt-parquet",
    ),
    pytest.param(
        lambda g, t: _csv(g.iloc[:0], t),
        PanelError,
        r"p\.csv: the frame has no rows",
        id="header-only-csv",
    ),
    pytest.param(
        lambda g, t: _csv(_set(g, "dva", 5, np.inf), t),
        PanelError,
        r"p\.csv: column 'dva' has 1 infinite value\(s\): row 5",
        id="csv-inf",
    ),
    pytest.param(
        lambda g, t: _csv(_set(g, "year", 2, 1e20), t),
        PanelError,
        r"p\.csv: column 'year' must lie in 1900-2100.*row 2",
        id="csv-year-1e20",
    ),
    pytest.param(
        lambda g, t: _parquet(_set(g, "mfn", 1, -np.inf), t),
        PanelError,
        r"p\.parquet: column 'mfn' has 1 infinite value\(s\): row 1",
        id="parquet-minus-inf",
    ),
    pytest.param(
        lambda g, t: None, InputFileError, r"expected a file path, got NoneType", id="none"
    ),
    pytest.param(lambda g, t: 3, InputFileError, r"expected a file path, got int", id="int"),
]


@pytest.mark.parametrize(("build", "err", "pattern"), FILE_CASES)
def test_bad_file(good, tmp_path, build, err, pattern):
    path = build(good, tmp_path)
    _assert_one_error(lambda: Panel.from_file(path), err, pattern)


# --------------------------------------------------------------------------- bundled panel
def _bundled(tmp: Path, panel: bytes | None, report: str | None) -> Path:
    if panel is not None:
        (tmp / load_mod.PANEL_FILE).write_bytes(panel)
    if report is not None:
        (tmp / load_mod.REPORT_FILE).write_text(report)
    return tmp


BUNDLED_CASES = [
    pytest.param(
        lambda pq: (None, None),
        r"bundled panel '.*panel\.parquet' does not exist; run `structest data build`",
        id="bundled-missing",
    ),
    pytest.param(
        lambda pq: (pq[: len(pq) // 3], None),
        r"'.*panel\.parquet' is a truncated or corrupt parquet file",
        id="bundled-truncated",
    ),
    pytest.param(
        lambda pq: (pq, "{not json"),
        r"'.*build_report\.json' is not valid JSON",
        id="bundled-report-garbage",
    ),
    pytest.param(
        lambda pq: (pq, json.dumps({"rows": 3})),
        r"'.*build_report\.json' has no 'dropped' mapping",
        id="bundled-report-no-dropped",
    ),
    pytest.param(
        lambda pq: (pq, json.dumps({"dropped": {"bad rows": "many"}})),
        r"'.*build_report\.json': 'dropped' must map reasons to row counts",
        id="bundled-report-bad-count",
    ),
]


@pytest.mark.parametrize(("build", "pattern"), BUNDLED_CASES)
def test_bad_bundled_files(good, tmp_path, monkeypatch, build, pattern):
    pq = _parquet(good, tmp_path, "source.parquet").read_bytes()
    folder = tmp_path / "data"
    folder.mkdir()
    _bundled(folder, *build(pq))
    monkeypatch.setattr(load_mod, "data_dir", lambda: folder)
    _assert_one_error(structest.load_panel, InputFileError, pattern)


def test_bundled_loads_with_report(good, tmp_path, monkeypatch):
    pq = _parquet(good, tmp_path, "source.parquet").read_bytes()
    folder = tmp_path / "data"
    folder.mkdir()
    _bundled(folder, pq, json.dumps({"dropped": {"no tariff": 3}}))
    monkeypatch.setattr(load_mod, "data_dir", lambda: folder)
    p = structest.load_panel()
    assert len(p) == len(good) and p.dropped == (("no tariff", 3),)


# --------------------------------------------------------------------------- valid edges
def _years(p: Panel) -> list[int]:
    return sorted(set(p.df["year"].tolist()))


VALID_EDGES = [
    pytest.param(lambda d: _with(d, year=lambda x: x["year"].astype("int32")), id="year-int32"),
    pytest.param(lambda d: _with(d, year=lambda x: x["year"].astype("Int64")), id="year-Int64"),
    pytest.param(lambda d: _with(d, year=lambda x: x["year"].astype(float)), id="year-float"),
    pytest.param(
        lambda d: _with(d, year=lambda x: pd.to_datetime(x["year"].astype(str) + "-07-01")),
        id="year-datetime",
    ),
    pytest.param(
        lambda d: _with(
            d, year=lambda x: pd.to_datetime(x["year"].astype(str) + "-12-31").dt.tz_localize("UTC")
        ),
        id="year-datetime-tz",
    ),
    pytest.param(
        lambda d: _with(d, year=lambda x: pd.PeriodIndex(x["year"], freq="Y")), id="year-period"
    ),
    pytest.param(lambda d: _with(d, year=lambda x: x["year"].astype(str)), id="year-text"),
    pytest.param(
        lambda d: _with(d, year=lambda x: " " + x["year"].astype(str) + ".0"), id="year-text-float"
    ),
    pytest.param(lambda d: _with(d, dva=lambda x: x["dva"].astype(object)), id="dva-object-floats"),
    pytest.param(lambda d: _with(d, dva=lambda x: x["dva"].astype("Float64")), id="dva-Float64"),
    pytest.param(lambda d: _with(d, rta=lambda x: x["rta"].astype(bool)), id="rta-bool"),
    pytest.param(lambda d: d.set_axis([f"r{i}" for i in range(len(d))]), id="text-index"),
    pytest.param(
        lambda d: d.drop(columns=["mfn_threshold", "ttb", "censored"]), id="fewer-columns"
    ),
]


@pytest.mark.parametrize("build", VALID_EDGES)
def test_valid_edges_load(good, build):
    p = Panel.from_frame(build(good))
    assert len(p) == len(good)
    assert p.df["year"].dtype == np.int64
    assert _years(p) == [2000, 2005]
    np.testing.assert_allclose(np.sort(p.df["dva"]), np.sort(good["dva"]))
    assert np.isfinite(p.df["log_dva_ratio"]).all()


def test_plain_constructor_validates_and_derives(good):
    p, q = Panel(good, meta={"source": "x"}), Panel.from_frame(good)
    pd.testing.assert_frame_equal(p.df, q.df)
    assert p.meta == {"source": "x"} and p.fingerprint() == q.fingerprint()
    # a built panel goes through unchanged (subset, replace)
    r = p.subset(p.df["year"] == 2000, "later years")
    assert len(r) == len(good) // 2 and r.dropped == (("later years", len(good) // 2),)


@pytest.mark.parametrize(
    ("write", "name"),
    [
        (lambda g, p: g.to_csv(p, index=False, encoding="utf-8-sig"), "bom.csv"),
        (lambda g, p: g.to_csv(p, index=False), "UPPER.CSV"),
        (lambda g, p: g.to_csv(p, index=False), "p.txt"),
        (lambda g, p: g.assign(year=g["year"].astype("int16")).to_parquet(p), "p.pq"),
        (
            lambda g, p: g.assign(year=pd.to_datetime(g["year"].astype(str))).to_parquet(p),
            "dates.parquet",
        ),
    ],
    ids=["utf8-bom", "upper-case-extension", "txt", "pq-int16-year", "parquet-datetime-year"],
)
def test_valid_files_load(good, tmp_path, write, name):
    path = tmp_path / name
    write(good, path)
    p = Panel.from_file(path)
    assert len(p) == len(good) and _years(p) == [2000, 2005]
    assert p.meta["source"] == str(path)
    link = _symlink(tmp_path, "link" + path.suffix, path)  # a link to a regular file is fine
    assert len(Panel.from_file(link)) == len(good)


# --------------------------------------------------------------------------- helpers
def test_require_helpers(good):
    p = Panel.from_frame(good)
    p.require_rows("the test")
    p.require_uncensored("the test", at_least=5)
    p.require_levels("year", "the test")
    at_mfn = p.subset(p.df["censored"], "uncensored rows")
    _assert_one_error(
        lambda: at_mfn.require_uncensored("the Tobit fit"),
        PanelError,
        r"no uncensored observations: the Tobit fit needs at least 1 \(0 of 16 rows are below MFN\)",
    )
    _assert_one_error(
        lambda: p.require_uncensored("a fit", at_least=1000),
        PanelError,
        r"too few uncensored observations: a fit needs at least 1000 \(32 of 48 rows",
    )
    one = p.subset(p.df["year"] == 2005, "2000")
    _assert_one_error(
        lambda: one.require_levels("year", "year effects"),
        PanelError,
        r"column 'year' has a single value \(2005\): year effects needs at least 2 distinct values",
    )
    none = p.subset(np.zeros(len(p), bool), "all")
    _assert_one_error(
        lambda: none.require_rows("describe"),
        PanelError,
        r"the panel has no rows: describe needs at least 1",
    )
    _assert_one_error(
        lambda: p.require_levels("nope", "x"), PanelError, r"require_levels: unknown column 'nope'"
    )
    _assert_one_error(lambda: describe(none), PanelError, r"the panel has no rows: describe")


def test_describe_small_panels(good):
    p = Panel.from_frame(good)
    text = describe(p.subset(np.arange(len(p)) == 0, "all but one"))
    assert "corr(DVA, imports) = n/a (fewer than 2 rows or a constant column)" in text
    assert "corr(DVA, imports) = 1.000" in describe(p)


@pytest.mark.parametrize(
    ("mask", "pattern"),
    [
        (lambda p: p.df["rta"].iloc[::-1] == 0, r"subset mask is a Series whose index is not"),
        (lambda p: (p.df["rta"] == 0).set_axis(p.df.index + 1), r"index is not the panel's"),
        (
            lambda p: pd.Series(np.where(p.df.index == 3, np.nan, 1.0), index=p.df.index),
            r"subset mask has 1 missing value\(s\); expected True/False",
        ),
        (lambda p: np.ones(len(p) - 1, bool), r"subset mask has shape \(47,\), expected \(48,\)"),
    ],
    ids=["reordered-series", "shifted-index", "nan-mask", "short-array"],
)
def test_bad_subset_mask(good, mask, pattern):
    p = Panel.from_frame(good)
    m = mask(p)
    _assert_one_error(lambda: p.subset(m, "x"), PanelError, pattern)


# --------------------------------------------------------------------------- value added
@pytest.mark.parametrize(
    ("year", "pattern"),
    [
        ("abc", r"va_contents: year 'abc' not available; WIOD years are 1995-2011"),
        (2005.5, r"year 2005\.5 not available"),
        (1990, r"year 1990 not available"),
        (True, r"year True not available"),
        (None, r"year None not available"),
    ],
    ids=["text", "fraction", "outside", "bool", "none"],
)
def test_bad_va_year(year, pattern):
    _assert_one_error(lambda: structest.va_contents(year), OptionError, pattern)
    for fine in (2005.0, "2005", np.int32(2005)):  # whole floats and digits are fine
        assert structest.va_contents(fine).attrs["year"] == 2005


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, r"bundled value-added file '.*va_contents\.npz' does not exist"),
        (b"PK\x03\x04 not a zip", r"'.*va_contents\.npz' is not a readable \.npz archive"),
        ("no-years", r"'.*va_contents\.npz' lacks array\(s\) years"),
    ],
    ids=["npz-missing", "npz-garbage", "npz-incomplete"],
)
def test_bad_va_archive(tmp_path, monkeypatch, content, pattern):
    path = tmp_path / load_mod.VA_FILE
    if content == "no-years":
        np.savez(path, va=np.zeros((1, 2, 2, 1)), regions=np.array(["A", "B"]))
    elif content is not None:
        path.write_bytes(content)
    monkeypatch.setattr(load_mod, "data_dir", lambda: tmp_path)
    load_mod._va_archive.cache_clear()
    try:
        _assert_one_error(lambda: structest.va_contents(2005), InputFileError, pattern)
    finally:
        load_mod._va_archive.cache_clear()


# --------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda g, t: _symlink(t, "zero.csv", "/dev/zero"), r"is not a regular file"),
        (lambda g, t: _csv(g, t, encoding="utf-16"), r"is UTF-16 text"),
        (lambda g, t: _csv(_set(g, "dva", 5, np.inf), t), r"column 'dva' has 1 infinite"),
        (lambda g, t: t / "absent.parquet", r"'.*absent\.parquet' does not exist"),
    ],
    ids=["cli-dev-zero", "cli-utf16", "cli-inf", "cli-missing"],
)
def test_cli_refuses_bad_panel_files(good, tmp_path, capsys, build, pattern):
    from structest.cli import main

    path = build(good, tmp_path)
    assert main(["data", "describe", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and re.search(pattern, err), err
    assert "Traceback" not in err


# ------------------------------------------------------ issue 14 sweep: options, messages
@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ([1, 2], r"meta must be a dict of provenance .* got list \[1, 2\]"),
        ("source", r"meta must be a dict .* got str 'source'"),
        (5, r"meta must be a dict .* got int 5"),
        ((("a", 1),), r"meta must be a dict .* got tuple"),
    ],
    ids=["list", "str", "int", "tuple"],
)
def test_meta_must_be_a_mapping(good, tmp_path, meta, match):
    with pytest.raises(OptionError, match=match):
        Panel.from_frame(good, meta=meta)
    path = tmp_path / "p.csv"
    good.to_csv(path, index=False)
    with pytest.raises(OptionError, match=match):
        Panel.from_file(path, meta=meta)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"foo": 1}, r"Panel\.from_file: unknown option\(s\) \['foo'\]; allowed: \['tol'"),
        ({"tolerance": 1e-6}, r"unknown option\(s\) \['tolerance'\]"),
        ({"tol": -1.0}, r"tol must be a finite number >= 0, got -1"),
        ({"strict_codes": "no"}, r"strict_codes must be True or False, got 'no'"),
    ],
    ids=["foo", "misspelt-tol", "negative-tol", "strict-str"],
)
def test_from_file_options_checked_before_reading(tmp_path, kwargs, match):
    missing = tmp_path / "never_read.csv"  # the options are refused before the file is looked at
    with pytest.raises(OptionError, match=match):
        Panel.from_file(missing, **kwargs)


@pytest.mark.parametrize(
    ("year", "shown"),
    [(2000.000000001, "2000.000000001"), (2000.5, "2000.5"), (1999.9999999, "1999.9999999")],
)
def test_non_whole_year_printed_exactly(good, year, shown):
    df = _set(good, "year", 3, year)
    msg = _assert_one_error(lambda: Panel.from_frame(df), PanelError, r"must hold whole years")
    assert f"= {shown}" in msg and msg.startswith("panel validation failed: ")


def test_several_problems_keep_the_list(good):
    df = _set(_set(good, "tariff", 2, -1.0), "dva", 4, -3.0)
    msg = _assert_one_error(lambda: Panel.from_frame(df), PanelError, r"2 problems\):\n  - ")
    assert msg.count("\n  - ") == 2
