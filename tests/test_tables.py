"""Paper-style tables and the reduced-form CLI command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import structest
from structest import StructestError
from structest.reduced import fit_reduced_form
from structest.reduced.tables import regression_table, stars


@pytest.fixture(scope="module")
def fits():
    panel, _ = structest.simulate(seed=2, industries=("c3", "c9", "c12"), years=(1995, 2005))
    a = fit_reduced_form(panel, "eq16")
    b = fit_reduced_form(panel, "eq17")
    return panel, a, b


def test_stars():
    assert [stars(p) for p in (0.2, 0.09, 0.04, 0.001, np.nan)] == ["", "*", "**", "***", ""]


def test_frame_layout(fits):
    _, a, b = fits
    extra = {"Bayes": (pd.Series({"log_dva": -0.5}), pd.Series({"log_dva": (-0.9, -0.1)}))}
    t = regression_table(
        [a, b], to="frame", extra_columns=extra, extra_stats={"Bayes": {"Observations": 99}}
    )
    assert list(t.columns) == ["(1) OLS", "(2) OLS", "Bayes"]
    row = list(t.index).index("Log DVA")
    cell = t.iloc[row, 0]
    p = float(a.pvalues["log_dva"])
    assert cell == f"{a.params['log_dva']:.3f}{stars(p)}"
    assert t.iloc[row + 1, 0] == f"({a.se['log_dva']:.3f})"
    assert t.iloc[row, 1] == ""  # eq17 has no pooled log_dva
    assert t.iloc[row, 2] == "-0.500" and t.iloc[row + 1, 2] == "[-0.900, -0.100]"
    assert t.loc["Observations"].tolist() == [f"{a.nobs:,}", f"{b.nobs:,}", "99"]
    assert t.loc["FE: Importer-industry-year"].tolist()[:2] == ["Y", "Y"]


def test_markdown_and_latex(fits):
    _, a, b = fits
    md = regression_table([a, b], to="markdown", title="T")
    assert md.count("\n|") >= 8 and "Observations" in md
    tex = regression_table([a, b], to="latex")
    assert "\\begin{tabular}" in tex and "\\bottomrule" in tex
    with pytest.raises(StructestError):
        regression_table([a], to="pdf")  # html is rendered by maketables now


def test_cli_reduced_form(tmp_path, fits):
    panel, a, _ = fits
    path = tmp_path / "p.parquet"
    base = [
        c
        for c in panel.df.columns
        if c
        in (
            "importer exporter industry year tariff mfn censored dva fva fg imports dva_services "
            "dva_lag rta rta_broad gsp dist contig comlang colony"
        ).split()
    ]
    panel.df[base].to_parquet(path)
    from structest.reduced.cli import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    out = runner.invoke(app, ["reduced-form", "--spec", "eq16", "--data", str(path)])
    assert out.exit_code == 0, out.output
    assert f"{a.params['log_dva']:.3f}" in out.output
    bad = runner.invoke(app, ["reduced-form", "--spec", "eq99", "--data", str(path)])
    assert bad.exit_code != 0 and isinstance(bad.exception, StructestError)
