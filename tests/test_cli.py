"""The console script: help, data describe, errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "structest.cli", *args], capture_output=True, text=True
    )


def test_help_lists_data():
    out = _run("--help")
    assert out.returncode == 0
    assert "data" in out.stdout


def test_data_describe_bundled():
    out = _run("data", "describe")
    assert out.returncode == 0, out.stderr
    assert "Coverage" in out.stdout and "EUN" in out.stdout
    assert "share_at_mfn" in out.stdout and "RTA" in out.stdout and "GSP-eligible" in out.stdout


def test_data_describe_bad_file_is_a_clean_error(tmp_path, real_panel):
    bad = real_panel.df[["importer", "exporter", "industry", "year", "tariff", "mfn", "dva"]].copy()
    bad.loc[0, "tariff"] = -2.0
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    out = _run("data", "describe", "--data", str(path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    # the wording belongs to the panel's validation; the message names the column
    assert "required column" in out.stderr and "fva" in out.stderr


def test_data_describe_user_file(tmp_path, sim):
    panel, _ = sim
    cols = [
        "importer",
        "exporter",
        "industry",
        "year",
        "tariff",
        "mfn",
        "dva",
        "fva",
        "fg",
        "imports",
        "rta",
    ]
    path = tmp_path / "user.parquet"
    pd.DataFrame(panel.df[cols]).to_parquet(path)
    out = _run("data", "describe", "--data", str(path))
    assert out.returncode == 0, out.stderr
    assert "10192 obs" in out.stdout


def test_cli_by_choices_match_the_library():
    from structest.counterfactuals import BY_CHOICES
    from structest.counterfactuals.cli import By

    assert tuple(b.value for b in By) == BY_CHOICES
