"""The command line refuses bad input before any work, never destroys a file, and exits
with 0 (success), 1 (``--strict``: sampler problems), 2 (user error) or 3 (internal error).

Everything runs in-process through :func:`structest.cli.main` with the expensive steps
(sampling, reports, counterfactuals, estimators, data loading) replaced by guards that
record any call: a refused command must not have reached them. Two tests kill a real
process with SIGKILL (one while sampling, one while writing).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

import structest
import structest.cli as cli
import structest.counterfactuals
import structest.data.build.build
import structest.data.load
import structest.reduced
import structest.report.html
import structest.structural.io
import structest.structural.sampling
from structest import _io
from structest._io import atomic_write, atomic_write_bytes, check_output, remove_stale_temps
from structest.errors import OutputError
from structest.panel import Panel
from structest.structural.results import StructuralFit

REPO = Path(__file__).resolve().parents[1]
HDF5 = b"\x89HDF\r\n\x1a\n"  # a NetCDF-4 file starts with the HDF5 signature


# ------------------------------------------------------------------------- helpers
def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _make_files(d: Path) -> dict[str, Path]:
    """Small input and output files; none is ever parsed by the refused commands."""
    f = {
        "panel": d / "panel.csv",
        "fit": d / "fit.nc",
        "fit2": d / "other" / "fit.nc",
        "model": d / "model.toml",
        "scen": d / "scenario.toml",
        "badscen": d / "bad_scenario.toml",
        "listscen": d / "list_scenario.json",
        "notnc": d / "notnc.nc",
        "emptync": d / "empty.nc",
        "file": d / "file.txt",
        "dir": d / "dir",
        "foreign": d / "site",
        "repdir": d / "rep",
        "cmpdir": d / "cmp",
        "raw": d / "raw",
    }
    for k in ("dir", "foreign", "repdir", "cmpdir", "raw"):
        f[k].mkdir()
    f["fit2"].parent.mkdir()
    f["panel"].write_text("importer,exporter,industry,year\nUSA,CHN,c3,1995\n")
    f["fit"].write_bytes(HDF5 + bytes(range(256)))
    f["fit2"].write_bytes(HDF5 + b"other fit")
    shutil.copy(REPO / "models" / "bbj.toml", f["model"])
    f["scen"].write_text('fva_growth = 0.5\nrta = ["USA-CHN"]\n')
    f["badscen"].write_text("fva_growth = = 0.5\n")
    f["listscen"].write_text("[1, 2]\n")
    f["notnc"].write_text("not a netcdf file\n")
    f["emptync"].write_bytes(b"")
    f["file"].write_text("keep me\n")
    (f["foreign"] / "index.html").write_text("<p>my own home page</p>\n")
    (f["repdir"] / "fit.nc").write_text("a text file named fit.nc\n")
    (f["cmpdir"] / "fit.nc").write_bytes(HDF5 + b"compare")
    return f


def _snapshot(d: Path, content: bool = True) -> dict[str, object]:
    """Every path under ``d`` with its content hash (or size and mtime), folders as such."""
    out: dict[str, object] = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(d))
        if p.is_dir():
            out[rel] = "<dir>"
        elif content:
            out[rel] = hashlib.sha1(p.read_bytes()).hexdigest()
        else:
            out[rel] = (p.stat().st_size, p.stat().st_mtime_ns)
    return out


class _Work:
    """Records every call of an expensive step (none may happen in a refused command)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def guard(self, name: str):
        def f(*args, **kwargs):
            self.calls.append(name)
            raise AssertionError(f"work started: {name}")

        return f


@pytest.fixture
def work(monkeypatch) -> _Work:
    w = _Work()
    monkeypatch.setattr(structest.structural.sampling, "fit", w.guard("sampling"))
    monkeypatch.setattr(structest.report.html, "write_report", w.guard("report"))
    monkeypatch.setattr(structest.counterfactuals, "counterfactual", w.guard("counterfactual"))
    monkeypatch.setattr(structest.reduced, "fit_reduced_form", w.guard("reduced form"))
    monkeypatch.setattr(structest.data.build.build, "build", w.guard("data build"))
    monkeypatch.setattr(structest.data.load, "load_panel", w.guard("load bundled panel"))
    monkeypatch.setattr(structest.structural.io, "load_idata", w.guard("load fit"))
    monkeypatch.setattr(Panel, "from_file", w.guard("load panel"))
    monkeypatch.setattr(StructuralFit, "load", w.guard("load fit"))
    monkeypatch.delenv("STRUCTEST_HOST_DEVICES", raising=False)
    monkeypatch.setenv("CI", "true")
    return w


# ------------------------------------------------------ bad input: refused before work
# (args with {name} from _make_files and {tmp} the test folder, env, exit status, regex)
BAD = [
    # fit: outputs
    ("fit --data {panel} --out {panel}", {}, r"--out \S*panel\.csv is the input --data"),
    ("fit --model {model} --out {model}", {}, r"--out \S*model\.toml is the input --model"),
    ("fit --out /proc/structest-test.nc", {}, r"--out /proc/structest-test\.nc: cannot write"),
    ("fit --out {dir}", {}, r"--out \S*dir: is a folder"),
    ("fit --out {file}/x.nc", {}, r"file\.txt is a file, not a folder"),
    ("fit --out {file}", {}, r"--out \S*file\.txt: exists and is not a NetCDF file"),
    ("fit --out {repo}/data/panel.parquet", {}, r"is the input bundled panel"),
    ("fit --out {repo}/models/bbj.toml --model bbj", {}, r"is the input --model"),
    ("fit --out", {}, r"'--out' requires an argument|requires an argument"),
    ("fit", {}, r"Missing option '--out'"),
    # fit: options
    ("fit --out {tmp}/o.nc --chains 0", {}, r"'--chains'.*(greater than or equal to 1|>=\s*1)"),
    ("fit --out {tmp}/o.nc --chains two", {}, r"'--chains'.*integer"),
    ("fit --out {tmp}/o.nc --draws 0", {}, r"'--draws'"),
    ("fit --out {tmp}/o.nc --tune -1", {}, r"'--tune'"),
    ("fit --out {tmp}/o.nc --seed -1", {}, r"'--seed'"),
    ("fit --out {tmp}/o.nc --seed 4294967296", {}, r"'--seed'"),
    ("fit --out {tmp}/o.nc --target-accept 1", {}, r"'--target-accept'.*> 0 and < 1"),
    ("fit --out {tmp}/o.nc --target-accept 0", {}, r"'--target-accept'.*got 0"),
    ("fit --out {tmp}/o.nc --target-accept nan", {}, r"'--target-accept'.*got nan"),
    ("fit --out {tmp}/o.nc --target-accept -inf", {}, r"'--target-accept'"),
    ("fit --out {tmp}/o.nc --backend stan", {}, r"'--backend'.*'stan'.*numpyro"),
    ("fit --out {tmp}/o.nc --model nosuch", {}, r"nosuch"),
    (
        "fit --out {tmp}/o.nc --model {tmp}/missing.toml",
        {},
        r"--model \S*missing\.toml: file not found",
    ),
    (
        "fit --out {tmp}/o.nc --data {tmp}/missing.csv",
        {},
        r"'--data'.*missing\.csv.*does not exist",
    ),
    ("fit --out {tmp}/o.nc --data {dir}", {}, r"'--data'.*is a directory"),
    ("fit --out {tmp}/o.nc --progres", {}, r"No such option: --progres"),
    ("fit --out {tmp}/o.nc", {"STRUCTEST_HOST_DEVICES": "abc"}, r"STRUCTEST_HOST_DEVICES .*'abc'"),
    ("fit --out {tmp}/o.nc", {"STRUCTEST_HOST_DEVICES": "0"}, r"STRUCTEST_HOST_DEVICES"),
    # counterfactual: outputs and files
    (
        "counterfactual --fit {fit} --fva-growth 0.5 --out {fit}",
        {},
        r"--out \S*fit\.nc is the input --fit",
    ),
    ("counterfactual --fit {fit} --data {panel} --out {panel}", {}, r"is the input --data"),
    ("counterfactual --fit {fit} --scenario {scen} --out {scen}", {}, r"is the input --scenario"),
    ("counterfactual --fit {fit} --out {dir}", {}, r"--out \S*dir: is a folder"),
    ("counterfactual --fit {fit} --out /proc/cf.nc", {}, r"cannot write in /proc"),
    ("counterfactual --fit {fit} --out {file}", {}, r"not a NetCDF file"),
    (
        "counterfactual --fit {fit} --figures {file}",
        {},
        r"--figures \S*file\.txt: exists and is not a folder",
    ),
    (
        "counterfactual --fit {fit} --out {tmp}/x --figures {tmp}/x",
        {},
        r"--figures \S*x is also given as --out",
    ),
    ("counterfactual --fit {notnc}", {}, r"--fit \S*notnc\.nc: not a NetCDF file"),
    ("counterfactual --fit {emptync}", {}, r"--fit \S*empty\.nc: the file is empty"),
    ("counterfactual --fit {tmp}/missing.nc", {}, r"'--fit'.*does not exist"),
    ("counterfactual --fva-growth 0.5", {}, r"Missing option '--fit'"),
    # counterfactual: scenario on the command line / in a file
    ("counterfactual --fit {fit} --by bogus", {}, r"'--by'.*'bogus'.*importer"),
    ("counterfactual --fit {fit} --mfn-scale -1", {}, r"'--mfn-scale'.*>= 0"),
    ("counterfactual --fit {fit} --mfn-scale nan", {}, r"'--mfn-scale'.*nan"),
    ("counterfactual --fit {fit} --interval 1", {}, r"'--interval'"),
    ("counterfactual --fit {fit} --interval nan", {}, r"'--interval'.*nan"),
    ("counterfactual --fit {fit} --thin 0", {}, r"'--thin'"),
    ("counterfactual --fit {fit} --noise --seed -1", {}, r"'--seed'"),
    ("counterfactual --fit {fit} --fva-growth nan", {}, r"'--fva-growth'.*'nan'"),
    (
        "counterfactual --fit {fit} --dva-growth USA=inf",
        {},
        r"'--dva-growth'.*'inf' is not a finite",
    ),
    ("counterfactual --fit {fit} --fva-growth lots", {}, r"'--fva-growth'.*'lots'"),
    ("counterfactual --fit {fit} --fva-growth =0.5", {}, r"'--fva-growth'.*bad key"),
    ("counterfactual --fit {fit} --fva-growth USA=x", {}, r"'--fva-growth'.*'x' is not a number"),
    ("counterfactual --fit {fit} --fg-growth USA=0.1,USA=0.2", {}, r"'--fg-growth'.*twice"),
    ("counterfactual --fit {fit} --imports-growth wiod:1995-2009", {}, r"'--imports-growth'.*wiod"),
    ("counterfactual --fit {fit} --rta-add USA", {}, r"'--rta-add'.*not a pair"),
    ("counterfactual --fit {fit} --rta-remove USA-USA", {}, r"'--rta-remove'.*itself"),
    (
        "counterfactual --fit {fit} --rta-add USA-CHN --rta-remove USA-CHN",
        {},
        r"in both --rta-add and --rta-remove",
    ),
    (
        "counterfactual --fit {fit} --scenario {scen} --fva-growth 0.5",
        {},
        r"--scenario .*--fva-growth, not both",
    ),
    (
        "counterfactual --fit {fit} --scenario {badscen}",
        {},
        r"--scenario \S*bad_scenario\.toml: invalid TOML",
    ),
    ("counterfactual --fit {fit} --scenario {listscen}", {}, r"expected a table"),
    ("counterfactual --fit {fit} --scenario {tmp}/nope.toml", {}, r"'--scenario'.*does not exist"),
    ("counterfactual --fit {fit}", {"STRUCTEST_HOST_DEVICES": "-2"}, r"STRUCTEST_HOST_DEVICES"),
    # reduced-form
    ("reduced-form --estimator probit", {}, r"'--estimator'.*'probit'.*tobit_iv"),
    ("reduced-form --sample urban", {}, r"'--sample'.*'urban'.*nonrta"),
    ("reduced-form --format html", {}, r"'--format'.*'html'.*latex"),
    ("reduced-form --estimator tobit --lower nan", {}, r"'--lower'.*nan"),
    ("reduced-form --lower 0", {}, r"--lower applies to --estimator tobit or tobit_iv only"),
    ("reduced-form --data {tmp}/missing.parquet", {}, r"'--data'.*does not exist"),
    # report
    ("report --fit {fit} --out {file}", {}, r"--out \S*file\.txt: exists and is not a folder"),
    ("report --fit {fit} --out /proc/rep", {}, r"cannot write in /proc"),
    ("report --fit {fit} --out {foreign}", {}, r"index\.html exists and is not a structest report"),
    ("report --out {repdir}", {}, r"fit\.nc exists and is not a NetCDF file"),
    (
        "report --compare {cmpdir}/fit.nc --out {cmpdir}",
        {},
        r"writing fit\.nc there would destroy the input --compare",
    ),
    ("report --fit {fit} --out {tmp}/r --chains 2", {}, r"--chains only apply when fitting"),
    ("report --fit {fit} --out {tmp}/r --backend pymc", {}, r"--backend only apply when fitting"),
    (
        "report --fit {fit} --out {tmp}/r --float32 --no-log-likelihood",
        {},
        r"--float32, --log-likelihood only apply when fitting",
    ),
    ("report --out {tmp}/r --target-accept 1.5", {}, r"--target-accept"),
    ("report --out {tmp}/r --backend stan", {}, r"'--backend'"),
    ("report --out {tmp}/r --chains 0", {}, r"'--chains'"),
    ("report --out {tmp}/r --tune -5", {}, r"'--tune'"),
    ("report --fit {notnc} --out {tmp}/r", {}, r"--fit \S*notnc\.nc: not a NetCDF file"),
    (
        "report --fit {fit} --compare {tmp}/missing.nc --out {tmp}/r",
        {},
        r"'--compare'.*does not exist",
    ),
    (
        "report --fit {fit} --compare {fit} --compare {fit2} --out {tmp}/r",
        {},
        r"--compare: .*'fit'.*given twice",
    ),
    ("report --fit {fit} --data {panel} --panel {panel} --out {tmp}/r", {}, r"not both"),
    ("report --model nosuch --out {tmp}/r", {}, r"nosuch"),
    # data
    ("data build --raw {raw} --out {file}", {}, r"--out \S*file\.txt: exists and is not a folder"),
    ("data build --raw {raw} --out /proc/structest-data", {}, r"cannot write in /proc"),
    ("data build --raw {raw} --out {raw}", {}, r"--out \S*raw is the input --raw"),
    ("data build --raw {tmp}/missing --out {tmp}/d", {}, r"'--raw'.*does not exist"),
    ("data build --raw {raw} --out {tmp}/d --rel-tol -1", {}, r"'--rel-tol'.*>= 0"),
    ("data build --raw {raw} --out {tmp}/d --abs-tol nan", {}, r"'--abs-tol'.*nan"),
    ("data describe --data {tmp}/missing.csv", {}, r"'--data'.*does not exist"),
    # the app
    ("frobnicate", {}, r"No such command 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "env", "pattern"), BAD, ids=[a for a, _, _ in BAD])
def test_bad_input_is_refused_before_any_work(
    args, env, pattern, tmp_path, work, capsys, monkeypatch
):
    files = _make_files(tmp_path)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    argv = [a.format(tmp=tmp_path, repo=REPO, **files) for a in args.split()]
    watched = [(tmp_path, True), (REPO / "data", False), (REPO / "models", False)]
    before = [_snapshot(*w) for w in watched]
    t0 = time.perf_counter()
    code, out, err = _run(capsys, argv)
    assert time.perf_counter() - t0 < 10
    assert code == 2, (code, out, err)
    assert work.calls == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, err), err
    assert "Traceback" not in err + out
    assert [_snapshot(*w) for w in watched] == before  # nothing written, nothing created


def test_at_least_80_bad_input_cases() -> None:
    assert len(BAD) >= 80


# ------------------------------------------------------------------------ the app
def test_help_with_a_bad_device_variable(capsys, monkeypatch) -> None:
    monkeypatch.setenv("STRUCTEST_HOST_DEVICES", "abc")
    code, out, err = _run(capsys, ["--help"])
    assert code == 0 and "Usage" in out and "fit" in out and err == ""
    code, out, _ = _run(capsys, ["fit", "--help"])
    assert code == 0 and "--target-accept" in out


def test_version(capsys) -> None:
    code, out, _ = _run(capsys, ["--version"])
    assert (code, out.strip()) == (0, f"structest {structest.__version__}")


def test_no_command_shows_help_as_a_usage_error(capsys) -> None:
    code, out, err = _run(capsys, [])
    assert code == 2 and "Usage" in out + err and "counterfactual" in out + err


def test_every_option_has_help_and_choices_are_typed() -> None:
    group = typer.main.get_command(cli.app)
    missing = []

    def walk(cmd, path):
        for p in cmd.params:
            if p.param_type_name == "option" and p.name != "help" and not getattr(p, "help", None):
                missing.append(f"{path} {p.opts[0]}")
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "structest")
    assert missing == []
    from structest.counterfactuals import DEFAULT_BY
    from structest.counterfactuals.cli import By
    from structest.reduced import ESTIMATORS, SAMPLES
    from structest.reduced.cli import Estimator, Sample

    assert tuple(b.value for b in By) == DEFAULT_BY
    assert tuple(e.value for e in Estimator) == ESTIMATORS
    assert tuple(s.value for s in Sample) == tuple(SAMPLES)


def test_unexpected_error_is_one_line_exit_3_with_traceback_file(capsys, monkeypatch) -> None:
    def boom(*a, **k):
        raise ZeroDivisionError("division by zero in the estimator")

    monkeypatch.setattr(structest.reduced, "fit_reduced_form", boom)
    monkeypatch.setattr(structest.data.load, "load_panel", lambda: object())
    code, out, err = _run(capsys, ["reduced-form"])
    assert code == 3
    m = re.fullmatch(
        r"error: unexpected ZeroDivisionError: division by zero in the estimator "
        r"\(full traceback written to (\S+)\)\n",
        err,
    )
    assert m, err
    saved = Path(m.group(1))
    try:
        text = saved.read_text()
        assert "Traceback (most recent call last)" in text
        assert "ZeroDivisionError" in text and "reduced-form" in text
    finally:
        saved.unlink()


@pytest.mark.parametrize(
    ("args", "target", "exc"),
    [
        (["data", "describe", "--data", "{panel}"], (Panel, "from_file"), OSError("disk on fire")),
        (["reduced-form", "--data", "{panel}"], (Panel, "from_file"), ValueError("bad bytes")),
        (
            ["counterfactual", "--fit", "{fit}"],
            (structest.structural.io, "load_idata"),
            KeyError("posterior"),
        ),
        (
            ["report", "--fit", "{fit}", "--out", "{tmp}/r"],
            (StructuralFit, "load"),
            OSError("truncated file"),
        ),
    ],
    ids=["describe-oserror", "reduced-valueerror", "counterfactual-keyerror", "report-oserror"],
)
def test_library_errors_on_reading_become_input_errors(
    args, target, exc, tmp_path, capsys, monkeypatch
) -> None:
    files = _make_files(tmp_path)

    def fail(*a, **k):
        raise exc

    monkeypatch.setattr(*target, fail)
    monkeypatch.setattr(structest.report.html, "write_report", fail)
    code, out, err = _run(capsys, [a.format(tmp=tmp_path, **files) for a in args])
    assert code == 2, err
    option = args[1] if args[0] != "data" else "--data"
    option = "--fit" if "--fit" in args else option
    assert re.fullmatch(rf"error: {option} \S+: cannot read it \(.+\)\n", err), err
    assert not (tmp_path / "r").exists()  # the report folder is not left behind


# -------------------------------------------------------------- fit, report, --strict
class _FakeFit:
    """What the fit command uses of a StructuralFit; ``save`` writes atomically."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.spec = SimpleNamespace(name="bbj")
        self.idata = SimpleNamespace(
            sample_stats={"diverging": SimpleNamespace(values=np.zeros((1, 5), bool))}
        )

    def save(self, path, **storage):
        self.storage = storage
        return atomic_write_bytes(path, HDF5 + b"fake fit")

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"mean": [1.0], "5%": [0.5], "95%": [1.5], "r_hat": [1.0], "ess_bulk": [500.0]},
            index=["eps"],
        )

    def diagnostics(self) -> list[str]:
        return list(self.problems)


@pytest.fixture
def fake_fit(monkeypatch):
    """``fit`` returns a fake result; the panel is not read."""
    calls = []

    def fake(panel, model, **kw):
        calls.append(kw)
        return _FakeFit(fake.problems)

    fake.problems = []
    monkeypatch.setattr(structest.structural.sampling, "fit", fake)
    monkeypatch.setattr(Panel, "from_file", lambda path, **k: [0] * 7)
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("STRUCTEST_HOST_DEVICES", raising=False)
    fake.calls = calls
    return fake


@pytest.mark.parametrize(
    ("strict", "problems", "code"),
    [(False, [], 0), (True, [], 0), (False, ["3 divergences"], 0), (True, ["3 divergences"], 1)],
)
def test_fit_strict_exit_status(strict, problems, code, fake_fit, tmp_path, capsys) -> None:
    fake_fit.problems = problems
    (tmp_path / "p.csv").write_text("x\n")
    out = tmp_path / "new" / "fit.nc"
    args = ["fit", "--data", tmp_path / "p.csv", "--out", out, "--chains", "2", "--seed", "7"]
    got, stdout, err = _run(capsys, args + (["--strict"] if strict else []))
    assert got == code, err
    assert out.read_bytes() == HDF5 + b"fake fit"  # written in every case
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_io._umask()
    assert fake_fit.calls[0]["chains"] == 2 and fake_fit.calls[0]["seed"] == 7
    assert "7 obs" in stdout and ("WARNING: 3 divergences" in err) == bool(problems)
    assert ("--strict" in err) == (code == 1)


def test_fit_disk_full_is_a_user_error(fake_fit, tmp_path, capsys, monkeypatch) -> None:
    def full(self, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_FakeFit, "save", full)
    (tmp_path / "p.csv").write_text("x\n")
    out = tmp_path / "fit.nc"
    code, _, err = _run(capsys, ["fit", "--data", tmp_path / "p.csv", "--out", out])
    assert code == 2
    last = err.splitlines()[-1]
    assert re.fullmatch(
        r"error: --out \S+fit\.nc: cannot write it \(No space left on device\)", last
    )


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_report_strict_exit_status(strict, code, tmp_path, capsys, monkeypatch) -> None:
    fit = tmp_path / "fit.nc"
    fit.write_bytes(HDF5 + b"x")
    monkeypatch.setattr(StructuralFit, "load", lambda path, panel=None: _FakeFit(["R-hat 1.2"]))

    def write(result, panel, out, **kw):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "index.html").write_text("<title>structest report</title>")
        return Path(out) / "index.html"

    monkeypatch.setattr(structest.report.html, "write_report", write)
    out = tmp_path / "rep"
    args = ["report", "--fit", fit, "--out", out, "--no-reduced"]
    got, stdout, err = _run(capsys, args + (["--strict"] if strict else []))
    assert got == code, err
    assert (out / "index.html").exists() and str(out / "index.html") in stdout


@pytest.mark.parametrize(
    ("extra", "storage", "sampler"),
    [
        ([], {"log_likelihood": False}, {"backend": "numpyro", "target_accept": 0.95}),
        (
            ["--log-likelihood", "--float32", "--backend", "pymc", "--target-accept", "0.9"],
            {"float32": True},
            {"backend": "pymc", "target_accept": 0.9},
        ),
        (["--no-compress", "--no-progress"], {"compress": False, "log_likelihood": False}, {}),
    ],
)
def test_report_passes_sampler_and_storage_options(
    extra, storage, sampler, fake_fit, tmp_path, capsys, monkeypatch
) -> None:
    """``report`` (fitting) takes fit's sampler and storage options; fit.nc leaves the
    pointwise log-likelihood out unless asked."""
    saved = []
    monkeypatch.setattr(
        _FakeFit,
        "save",
        lambda self, path, **kw: saved.append(kw) or atomic_write_bytes(path, HDF5 + b"fake fit"),
    )
    monkeypatch.setattr(structest.report.cli, "echo_verdict", lambda *a: None)

    def write(result, panel, out, **kw):
        (Path(out) / "index.html").write_text("<title>structest report</title>")
        return Path(out) / "index.html"

    monkeypatch.setattr(structest.report.html, "write_report", write)
    (tmp_path / "p.csv").write_text("x\n")
    args = ["report", "--data", tmp_path / "p.csv", "--out", tmp_path / "rep", "--no-reduced"]
    code, _, err = _run(capsys, args + extra)
    assert code == 0, err
    assert saved == [storage]
    call = fake_fit.calls[0]
    assert {k: call[k] for k in sampler} == sampler
    if "--no-progress" in extra:
        assert call["progress_bar"] is False


def test_failed_commands_leave_no_new_folders(tmp_path, capsys, monkeypatch) -> None:
    fit = tmp_path / "fit.nc"
    fit.write_bytes(HDF5 + b"x")

    def write(result, panel, out, **kw):
        (Path(out) / "figures").mkdir(parents=True)
        raise structest.EstimationError("the PPC has nothing to show")

    monkeypatch.setattr(StructuralFit, "load", lambda path, panel=None: _FakeFit([]))
    monkeypatch.setattr(structest.report.html, "write_report", write)
    code, _, err = _run(capsys, ["report", "--fit", fit, "--out", tmp_path / "a" / "b" / "rep"])
    assert code == 2 and "nothing to show" in err
    assert not (tmp_path / "a").exists()

    def cf_fails(*a, **k):
        raise structest.SpecError("rta: pair ('USA', 'XXX') is not in the panel")

    monkeypatch.setattr(structest.structural.io, "load_idata", lambda p: object())
    monkeypatch.setattr(structest.counterfactuals, "counterfactual", cf_fails)
    args = ["counterfactual", "--fit", fit, "--rta-add", "USA-XXX"]
    args += ["--out", tmp_path / "c" / "cf.nc", "--figures", tmp_path / "f" / "figs"]
    code, _, err = _run(capsys, args)
    assert code == 2 and "XXX" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]


# ------------------------------------------------------------- files: atomic writes
def test_check_output_creates_nothing_and_returns_the_path(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "fit.nc"
    assert check_output(target, inputs=[("--data", tmp_path / "absent.csv")]) == target
    assert list(tmp_path.iterdir()) == []
    assert check_output(tmp_path / "rep", kind="dir") == tmp_path / "rep"
    assert list(tmp_path.iterdir()) == []
    link = tmp_path / "link.nc"
    (tmp_path / "data.nc").write_bytes(HDF5)
    link.symlink_to(tmp_path / "data.nc")
    with pytest.raises(OutputError, match=r"--out \S*link\.nc is the input --fit"):
        check_output(link, inputs=[("--fit", tmp_path / "data.nc")], fmt="netcdf")
    with pytest.raises(ValueError, match="kind"):
        check_output(target, kind="folder")  # type: ignore[arg-type]


def test_atomic_write_removes_stale_temps_and_keeps_mode(tmp_path) -> None:
    target = tmp_path / "fit.nc"
    target.write_bytes(b"old")
    target.chmod(0o640)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale_pid = tmp_path / f".fit.nc.{int(dead.stdout)}-abcd1234.tmp"
    stale_old = tmp_path / ".fit.nc.k2j4h5g6.tmp"  # the name format of earlier versions
    live = tmp_path / f".fit.nc.{os.getppid()}-zzzz9999.tmp"  # a write in progress elsewhere
    other = tmp_path / ".fit.nc.bak.12-abcd1234.tmp"  # another target's temp file
    for p in (stale_pid, stale_old, live, other):
        p.write_bytes(b"partial")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["fit.nc", live.name, other.name])
    assert remove_stale_temps(tmp_path / "absent" / "x.nc") == []


def test_atomic_write_failure_leaves_target_and_no_new_folder(tmp_path) -> None:
    target = tmp_path / "keep.nc"
    target.write_bytes(b"precious")

    def half(tmp):
        Path(tmp).write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half)
    assert target.read_bytes() == b"precious"
    with pytest.raises(RuntimeError):
        atomic_write(
            tmp_path / "x" / "y" / "new.nc", lambda tmp: (_ for _ in ()).throw(RuntimeError())
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.nc"]
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write_bytes(tmp_path, b"x")


# ---------------------------------------------------------------- kill -9 (processes)
def _env() -> dict[str, str]:
    return {**os.environ, "STRUCTEST_HOST_DEVICES": "1", "CI": "true"}


def test_kill_during_sampling_leaves_existing_output_identical(tmp_path) -> None:
    out = tmp_path / "fit.nc"
    old = HDF5 + os.urandom(4096)
    out.write_bytes(old)
    cmd = [sys.executable, "-m", "structest.cli", "fit", "--model", "bbj", "--chains", "1"]
    cmd += ["--draws", "20", "--tune", "20", "--out", str(out)]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=_env(), text=True
    )
    try:
        seen = []
        for line in proc.stderr:  # "fitting ..." is printed right before sampling starts
            seen.append(line)
            if line.startswith("fitting 'bbj'") or len(seen) > 50:
                break
        assert seen and seen[-1].startswith("fitting 'bbj'"), "".join(seen)
        time.sleep(2.0)
        assert proc.poll() is None, "the fit ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc"]


def test_kill_during_write_keeps_output_and_next_run_cleans_up(tmp_path, fake_fit, capsys):
    out = tmp_path / "fit.nc"
    old = HDF5 + b"the fit of last week"
    out.write_bytes(old)
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from structest._io import atomic_write

        def write(tmp):
            Path(tmp).write_bytes(b"half a netcdf")
            os.kill(os.getpid(), signal.SIGKILL)

        atomic_write({str(out)!r}, write)
        """
    )
    res = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True)
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert out.read_bytes() == old
    left = [p.name for p in tmp_path.iterdir() if p.name != "fit.nc"]
    assert len(left) == 1 and re.fullmatch(r"\.fit\.nc\.\d+-\w{8}\.tmp", left[0]), left
    # the next successful run replaces the output and removes the stale temporary file
    (tmp_path / "p.csv").write_text("x\n")
    code, _, err = _run(capsys, ["fit", "--data", tmp_path / "p.csv", "--out", out])
    assert code == 0, err
    assert out.read_bytes() == HDF5 + b"fake fit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.nc", "p.csv"]


def test_cli_runner_sees_the_same_refusal(tmp_path, work) -> None:
    """``CliRunner`` on the app (standalone mode) refuses before work as ``main`` does."""
    files = _make_files(tmp_path)
    res = CliRunner().invoke(
        cli.app, ["fit", "--data", str(files["panel"]), "--out", str(files["panel"])]
    )
    assert isinstance(res.exception, OutputError) and work.calls == []
    assert files["panel"].read_text().startswith("importer,")


# ------------------------------------------- counterfactual: scenario files, --out/--figures
def _scenario_file(d: Path, kind: str) -> Path:
    """A scenario input of the given kind (see CF_FILE_CASES)."""
    if kind == "devzero":
        p = d / "zero.toml"
        p.symlink_to("/dev/zero")
    elif kind == "fifo":
        p = d / "fifo.toml"
        os.mkfifo(p)
    elif kind == "huge":
        p = d / "huge.toml"
        with open(p, "wb") as fh:
            fh.truncate(11 * 2**20)  # sparse: no time spent writing
    else:
        name, text = {
            "dup-json": ("dup.json", '{"fva_growth": 0.5, "fva_growth": 0.0}'),
            "deep-json": ("deep.json", "[" * 100_000),
            "mixed-toml": ("mixed.toml", "fva_growth = 0.5\n[scenario]\ndva_growth = 0.1\n"),
            "mixed-json": ("mixed.json", '{"scenario": {"dva_growth": 0.1}, "fva_growth": 0.5}'),
            "scenario-not-table": ("notable.json", '{"scenario": 3}'),
            "rta-int": ("rta.toml", "rta = 5\n"),
            "big-int-json": ("big.json", '{"fva_growth": 1' + "0" * 400 + "}"),
            "bool-growth": ("bool.toml", "fva_growth = true\n"),
        }[kind]
        p = d / name
        p.write_text(text)
    return p


CF_FILE_CASES = [
    # (scenario kind, regex of the one error line)
    ("devzero", r"--scenario \S*zero\.toml: (is )?not a regular file"),
    ("fifo", r"--scenario \S*fifo\.toml: (is )?not a regular file"),
    ("huge", r"--scenario \S*huge\.toml: \d+ bytes is too large for a scenario file"),
    ("dup-json", r"--scenario \S*dup\.json: invalid JSON: key 'fva_growth' given twice"),
    ("deep-json", r"--scenario \S*deep\.json: invalid JSON: nested too deeply"),
    ("mixed-toml", r"either at the top level or in the \[scenario\] table, not both"),
    ("mixed-json", r"not both \(top-level keys \['fva_growth'\]\)"),
    ("scenario-not-table", r"'scenario' must be a table of scenario fields, got int"),
    ("rta-int", r"rta: expected pairs .*got 5 \(int\)"),
    ("big-int-json", r"fva_growth: value 1000\d*\.\.\.\(401 characters\) is too large"),
    ("bool-growth", r"fva_growth: expected a log change"),
]


@pytest.mark.parametrize(("kind", "pattern"), CF_FILE_CASES, ids=[k for k, _ in CF_FILE_CASES])
def test_bad_scenario_files_are_refused_before_any_work(kind, pattern, tmp_path, work, capsys):
    files = _make_files(tmp_path)
    scen = _scenario_file(tmp_path, kind)
    t0 = time.perf_counter()
    code, out, err = _run(capsys, ["counterfactual", "--fit", files["fit"], "--scenario", scen])
    assert time.perf_counter() - t0 < 10
    assert code == 2, (code, out, err)
    assert work.calls == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, err), err
    assert "Traceback" not in err + out


CF_OPTION_CASES = [
    (
        "--fva-growth 0.5 --out {tmp}/figs/cf_importer.png --figures {tmp}/figs",
        r"--out \S*cf_importer\.png is the figure cf_importer\.png that --figures",
    ),
    (
        "--fva-growth 0.5 --out {tmp}/figs/cf_share_mfn_industry.png --figures {tmp}/figs/.",
        r"is the figure cf_share_mfn_industry\.png",
    ),
    (
        "--rta-add USA-CHN --rta-remove CHN-USA",
        r"pair 'CHN-USA' is in --rta-remove and its reverse 'USA-CHN' in --rta-add",
    ),
]


@pytest.mark.parametrize(("args", "pattern"), CF_OPTION_CASES, ids=[a for a, _ in CF_OPTION_CASES])
def test_counterfactual_outputs_and_pairs_that_clash(args, pattern, tmp_path, work, capsys):
    files = _make_files(tmp_path)
    argv = ["counterfactual", "--fit", files["fit"]] + [
        a.format(tmp=tmp_path) for a in args.split()
    ]
    before = _snapshot(tmp_path)
    code, out, err = _run(capsys, argv)
    assert code == 2, (code, out, err)
    assert work.calls == []
    assert len(err.strip().splitlines()) == 1 and re.search(pattern, err), err
    assert _snapshot(tmp_path) == before


def test_one_way_pairs_in_both_directions_are_not_a_clash(tmp_path, work, capsys):
    files = _make_files(tmp_path)
    argv = ["counterfactual", "--fit", files["fit"], "--one-way"]
    argv += ["--rta-add", "USA-CHN", "--rta-remove", "CHN-USA"]
    _run(capsys, argv)
    assert work.calls == ["load fit"]  # passed every check and reached the work


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_scenario_file_with_a_byte_order_mark(suffix, tmp_path):
    from structest.counterfactuals.cli import read_scenario

    text = 'fva_growth = 0.5\nrta = ["USA-CHN"]\n'
    if suffix == ".json":
        text = '{"fva_growth": 0.5, "rta": ["USA-CHN"]}'
    p = tmp_path / f"s{suffix}"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read_scenario(p) == {"fva_growth": 0.5, "rta": ["USA-CHN"]}
    q = tmp_path / f"t{suffix}"
    q.write_text("[scenario]\nfva_growth = 0.5\n" if suffix == ".toml" else text)
    assert read_scenario(q)["fva_growth"] == 0.5
