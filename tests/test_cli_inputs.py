"""Command-line inputs that exist but cannot be read, and fits compared with themselves.

Every case is refused before any work, in-process (``structest.cli.main``), with exit
status 2 and one ``error:`` line naming the option and the file: a FIFO would block a
reader forever and ``/dev/zero`` never ends, so neither is ever opened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from structest import cli
from structest._io import check_input_file, refuse_overwrite_non_netcdf
from structest.errors import InputFileError, OutputError

HDF5 = b"\x89HDF\r\n\x1a\n"  # a NetCDF-4 file starts with the HDF5 signature

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _special(d: Path, kind: str, name: str) -> Path:
    """``name`` in ``d`` as a FIFO, a symbolic link to /dev/zero or a folder."""
    p = d / name
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "zero":
        os.symlink("/dev/zero", p)
    elif kind == "dir":
        p.mkdir()
    return p


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    fit = tmp_path / "fit.nc"
    fit.write_bytes(HDF5 + b"fake fit")  # never parsed: every case fails before
    return {"fit": fit}


KIND_TEXT = {
    "fifo": r"is not a regular file \(a FIFO \(named pipe\)\)",
    "zero": r"is not a regular file \(a character device\)",
    "dir": r"is not a regular file \(a folder\)",
}

# (args with {x} for the special file, its name, kinds, option named in the message)
SPECIAL_CASES = [
    (["fit", "--model", "{x}", "--out", "{d}/o.nc"], "m.toml", ("fifo", "zero", "dir"), "--model"),
    (["fit", "--data", "{x}", "--out", "{d}/o.nc"], "p.csv", ("fifo", "zero"), "--data"),
    (["counterfactual", "--fit", "{x}", "--fva-growth", "0.5", "--out", "{d}/cf.nc"], "f.nc",
     ("fifo", "zero"), "--fit"),
    (["report", "--fit", "{x}", "--out", "{d}/rep"], "f.nc", ("fifo", "zero"), "--fit"),
    (["report", "--fit", "{fit}", "--compare", "{x}", "--out", "{d}/rep"], "c.nc",
     ("fifo", "zero"), "--compare"),
    (["report", "--fit", "{fit}", "--data", "{x}", "--out", "{d}/rep"], "p.csv",
     ("fifo", "zero"), "--data"),
    (["data", "describe", "--data", "{x}"], "p.csv", ("fifo", "zero"), "--data"),
]  # fmt: skip


def _special_params() -> list:
    out = []
    for args, name, kinds, opt in SPECIAL_CASES:
        for kind in kinds:
            cid = f"{args[0]}-{opt}-{kind}" + ("-compare" if "--compare" in args else "")
            out.append(pytest.param(args, name, kind, opt, id=cid))
    return out


@pytest.mark.parametrize(("args", "name", "kind", "opt"), _special_params())
def test_special_input_is_not_a_regular_file(capsys, tmp_path, files, args, name, kind, opt):
    x = _special(tmp_path, kind, name)
    argv = [a.format(x=x, d=tmp_path, fit=files["fit"]) for a in args]
    code, _, err = _run(capsys, argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(rf"{re.escape(opt)} \S*{re.escape(name)}: {KIND_TEXT[kind]}", err), err
    assert "file not found" not in err
    assert not (tmp_path / "o.nc").exists() and not (tmp_path / "rep").exists()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["fit", "--model", "{d}/missing.toml", "--out", "{d}/o.nc"],
         r"--model \S*missing\.toml: file not found"),
        (["counterfactual", "--fit", "{d}/missing.nc", "--fva-growth", "0.5", "--out", "{d}/c.nc"],
         r"'--fit': file \S*missing\.nc' does not exist"),
    ],
    ids=["model", "counterfactual-fit"],
)  # fmt: skip
def test_missing_input_is_still_file_not_found(capsys, tmp_path, args, match):
    code, _, err = _run(capsys, [a.format(d=tmp_path) for a in args])
    assert code == 2 and re.search(match, err), err


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "compare twice via link"])
def test_report_refuses_comparing_a_fit_with_itself(capsys, tmp_path, files, how):
    fit = files["fit"]
    if how == "same path":
        args = ["--fit", fit, "--compare", fit]
        first, second = "--fit", "--compare"
    elif how == "symlink":
        link = tmp_path / "alias.nc"
        link.symlink_to(fit)
        args = ["--fit", fit, "--compare", link]
        first, second = "--fit", "--compare"
    elif how == "hard link":
        link = tmp_path / "hard.nc"
        os.link(fit, link)
        args = ["--fit", link, "--compare", fit]
        first, second = "--fit", "--compare"
    else:
        other = tmp_path / "other.nc"
        other.write_bytes(HDF5 + b"another fit")
        link = tmp_path / "alias.nc"
        link.symlink_to(other)
        args = ["--fit", fit, "--compare", other, "--compare", link]
        first, second = "--compare", "--compare"
    code, _, err = _run(capsys, ["report", *args, "--out", tmp_path / "rep"])
    assert code == 2, err
    assert re.search(
        rf"error: {second} \S+ is the same file as {first} \S+: a fit cannot be compared "
        "with itself",
        err,
    ), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "rep").exists()


def test_panel_error_with_one_problem_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "importer": ["USA", "USA"],
            "exporter": ["CHN", "DEU"],
            "industry": ["c3", "c3"],
            "year": [2000, 2000],
            "tariff": [1.0, -1.0],
            "mfn": [2.0, 2.0],
            "dva": [1.0, 1.0],
            "fva": [1.0, 1.0],
            "fg": [1.0, 1.0],
            "imports": [1.0, 1.0],
            "rta": [0, 0],
        }
    ).to_csv(bad, index=False)
    code, _, err = _run(capsys, ["data", "describe", "--data", bad])
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: panel validation failed: {bad}: column 'tariff' has 1 negative value(s): "
        "row 1 (USA, DEU, c3, 2000) = -1"
    ], err


# ------------------------------------------------------------ the helpers themselves
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda d: d / "nope.csv", InputFileError, r"^--x \S*nope\.csv: file not found$"),
        (lambda d: _special(d, "fifo", "f.csv"), InputFileError, KIND_TEXT["fifo"]),
        (lambda d: _special(d, "zero", "z.csv"), InputFileError, KIND_TEXT["zero"]),
        (lambda d: _special(d, "dir", "d.csv"), InputFileError, KIND_TEXT["dir"]),
        (lambda d: str(d / "a\x00b"), InputFileError, r"invalid path"),
    ],
    ids=["missing", "fifo", "dev-zero", "folder", "nul"],
)
def test_check_input_file(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        check_input_file(make(tmp_path), "--x")


def test_check_input_file_passes_regular_files_and_links(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x\n")
    link = tmp_path / "b.csv"
    link.symlink_to(f)
    assert check_input_file(f, "--x") == f and check_input_file(link, "--x") == link


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: (d / "p.csv").write_text("importer,x\n") and d / "p.csv",
         r"^save \S*p\.csv: exists and is not a NetCDF file; refusing to overwrite it"),
        (lambda d: (d / "keep.txt").write_text("notes") and d / "keep.txt",
         r"keep\.txt: exists and is not a NetCDF file"),
        (lambda d: d, r"is a folder; give a file name"),
        (lambda d: _special(d, "fifo", "f.nc"), r"f\.nc: exists and is not a regular file"),
        (lambda d: "", r"^save: empty path$"),
        (lambda d: 5, r"^save: expected a file path, got int$"),
    ],
    ids=["csv", "text", "folder", "fifo", "empty", "int"],
)  # fmt: skip
def test_refuse_overwrite_non_netcdf(tmp_path, make, match):
    with pytest.raises(OutputError, match=match):
        refuse_overwrite_non_netcdf(make(tmp_path), "save")


def test_refuse_overwrite_non_netcdf_allows_new_empty_and_netcdf(tmp_path):
    (tmp_path / "e.nc").write_bytes(b"")
    (tmp_path / "n.nc").write_bytes(HDF5 + b"x")
    for name in ("new.nc", "e.nc", "n.nc"):
        assert refuse_overwrite_non_netcdf(tmp_path / name, "save") == tmp_path / name
