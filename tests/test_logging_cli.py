"""``structest -q/-v/-vv``: logging through the ``structest`` logger only (CliRunner, in-process).

``report`` runs on a fake fit and a fake ``write_report`` (no sampling, no HTML): the test
looks at what goes to stdout (results) and stderr (progress, notes, warnings, debug).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import structest.report.html
from structest import cli
from structest.errors import OptionError
from structest.structural.results import StructuralFit

HDF5 = b"\x89HDF\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI configures the ``structest`` logger; give other tests theirs back."""
    names = ("structest", cli.PROGRESS_LOGGER)
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names}
    handlers = list(logging.getLogger("structest").handlers)
    root = (logging.getLogger().level, list(logging.getLogger().handlers))
    yield
    for n, (level, prop) in saved.items():
        logging.getLogger(n).setLevel(level)
        logging.getLogger(n).propagate = prop
    logging.getLogger("structest").handlers[:] = handlers
    assert (logging.getLogger().level, list(logging.getLogger().handlers)) == root


class _Fit:
    """What ``report`` uses of a StructuralFit."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.idata = SimpleNamespace(
            sample_stats={"diverging": SimpleNamespace(values=np.zeros(4))}
        )

    def diagnostics(self) -> list[str]:
        return list(self.problems)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"mean": [0.5], "5%": [0.4], "95%": [0.6], "r_hat": [1.0], "ess_bulk": [800.0]},
            index=["g_FVA"],
        )


@pytest.fixture
def fake_report(monkeypatch, tmp_path):
    fit = tmp_path / "fit.nc"
    fit.write_bytes(HDF5 + b"x")
    problems: list[str] = []
    monkeypatch.setattr(StructuralFit, "load", lambda path, panel=None: _Fit(problems))
    log = logging.getLogger("structest.report.html")
    prog = logging.getLogger("structest.progress.report")

    def write(result, panel, out, **kw):
        prog.info("section: posterior predictive checks")
        log.info("an informational detail")
        log.debug("a debugging detail")
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "index.html").write_text("<html></html>")
        return Path(out) / "index.html"

    monkeypatch.setattr(structest.report.html, "write_report", write)

    def run(*flags: str, strict: bool = False):
        run.n += 1
        out = tmp_path / f"rep{run.n}"  # a fake index.html is not a report page to replace
        args = [*flags, "report", "--fit", str(fit), "--out", str(out), "--no-reduced"]
        return CliRunner().invoke(cli.app, args + (["--strict"] if strict else []))

    run.problems = problems
    run.n = 0
    return run


# (flags, progress shown, warning shown, INFO shown, DEBUG shown)
LEVELS = [
    ((), True, True, False, False),
    (("-q",), False, False, False, False),
    (("--quiet",), False, False, False, False),
    (("-v",), True, True, True, False),
    (("--verbose",), True, True, True, False),
    (("-vv",), True, True, True, True),
    (("-v", "-v", "-v"), True, True, True, True),
]


@pytest.mark.parametrize(("flags", "progress", "warning", "info", "debug"), LEVELS)
def test_quiet_and_verbose_levels(fake_report, flags, progress, warning, info, debug) -> None:
    fake_report.problems.append("R-hat 1.2 for g_FVA")
    res = fake_report(*flags)
    assert res.exit_code == 0, res.output
    err = res.stderr
    # results always on stdout, whatever the level
    assert "convergence: 1 problem(s)" in res.stdout
    assert "g_FVA" in res.stdout and "report: " in res.stdout and "index.html" in res.stdout
    assert ("section: posterior predictive checks" in err) == progress
    assert ("writing the report to" in err) == progress
    assert ("WARNING: R-hat 1.2 for g_FVA" in err) == warning
    assert ("an informational detail" in err) == info
    assert bool(re.search(r"debug \[structest\.report\.html\]: a debugging detail", err)) == debug
    # nothing of it reaches stdout
    assert "section:" not in res.stdout and "WARNING" not in res.stdout


def test_quiet_keeps_strict_exit_status_and_its_line(fake_report) -> None:
    fake_report.problems.append("3 divergences")
    res = fake_report("-q", strict=True)
    assert res.exit_code == 1
    assert "--strict: 1 sampling problem(s)" in res.stderr
    assert "WARNING" not in res.stderr and "convergence: 1 problem(s)" in res.stdout


def test_handler_only_on_structest_logger_and_not_duplicated(fake_report) -> None:
    root_handlers = list(logging.getLogger().handlers)
    fake_report("-v")
    fake_report("-v")  # a second run replaces the handler, does not add one
    log = logging.getLogger("structest")
    ours = [h for h in log.handlers if isinstance(h, cli._StderrHandler)]
    assert len(ours) == 1 and log.propagate is False and log.level == logging.INFO
    assert logging.getLogger().handlers == root_handlers
    res = fake_report("-v")
    assert res.stderr.count("an informational detail") == 1


def test_configure_logging_levels_and_default() -> None:
    for verbosity, level, prog in [
        (-1, 40, 40),
        (0, 30, 20),
        (1, 20, 20),
        (2, 10, 20),
        (5, 10, 20),
    ]:
        log = cli.configure_logging(verbosity)
        assert log.level == level
        assert logging.getLogger(cli.PROGRESS_LOGGER).level == prog
    # a library user's logger (no CLI): progress is INFO, hidden under the root's WARNING
    assert logging.getLogger("structest.progress.report").getEffectiveLevel() == 20


def test_note_prefix_and_error_prefix(capsys) -> None:
    cli.configure_logging(0)
    log = logging.getLogger("structest.counterfactuals.cli")
    log.warning("%s", "shifted variable constant", extra={"prefix": "note"})
    log.error("broken")
    err = capsys.readouterr().err.splitlines()
    assert err == ["note: shifted variable constant", "error: broken"]


# ---------------------------------------------------------------- bad flags
BAD_FLAGS = [
    (["-q", "-v", "data", "describe"], OptionError, r"-q/--quiet and -v/--verbose: give one"),
    (["--quiet", "-vv", "data", "describe"], OptionError, r"give one of them, not both"),
    (["-v=2", "data", "describe"], None, r"(?i)(no such option|does not take a value|option)"),
    (["--verbose", "x", "data", "describe"], None, r"(?i)no such command 'x'"),
    (["-x", "data", "describe"], None, r"(?i)no such option"),
    (["--quiet=yes", "data", "describe"], None, r"(?i)(does not take a value|option)"),
]


@pytest.mark.parametrize(("args", "exc", "pattern"), BAD_FLAGS)
def test_bad_logging_flags(args, exc, pattern, capsys) -> None:
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert re.search(pattern, err), err
    assert "Traceback" not in err
    if exc is not None:
        res = CliRunner().invoke(cli.app, args)
        assert isinstance(res.exception, exc)


def test_quiet_hides_the_reduced_form_progress_lines() -> None:
    """`structest -q reduced-form --table ...` prints the table and no per-column lines;
    without -q the per-column progress lines are on stderr."""
    from typer.testing import CliRunner

    from structest.cli import app

    loud = CliRunner().invoke(app, ["reduced-form", "--table", "C1"])
    quiet = CliRunner().invoke(app, ["-q", "reduced-form", "--table", "C1"])
    assert loud.exit_code == 0 and quiet.exit_code == 0, (loud.output, quiet.output)
    assert "table C1 column 1" in loud.stderr
    assert "table C1 column" not in quiet.stderr
    assert "Table C1" in quiet.stdout
