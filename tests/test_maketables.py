"""Reduced-form Results in maketables; LaTeX/HTML tables; tidy(); reduced-form --out."""

from __future__ import annotations

import re
import shutil
import subprocess

import maketables as mt
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import structest
from structest import OptionError, StructestError
from structest.reduced import fit_reduced_form
from structest.tables import TableColumn, html_text, regression_table, se_note, tex_escape


@pytest.fixture(scope="module")
def fits():
    panel, _ = structest.simulate(seed=2, industries=("c3",), years=(1995, 2005))
    ols = fit_reduced_form(panel, "eq16")
    tob = fit_reduced_form(panel, "eq16", estimator="tobit")
    iv = fit_reduced_form(panel, "eq16_iv", estimator="iv")
    rob = fit_reduced_form(panel, "eq16", cluster=None)
    return panel, ols, tob, iv, rob


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("FE: importer^year", r"FE: importer\textasciicircum{}year"),
        (r"$\beta$", r"$\beta$"),
        (r"$\beta$ (log_dva)", r"$\beta$ (log\_dva)"),
        ("a & b % c # d", r"a \& b \% c \# d"),
        ("x~y {z}", r"x\textasciitilde{}y \{z\}"),
        ("cost $5", r"cost \$5"),
        (r"back\slash", r"back\textbackslash{}slash"),
        ("p<.1", r"p\textless{}.1"),
    ],
)
def test_tex_escape(text, want):
    assert tex_escape(text) == want


def test_html_text():
    assert html_text(r"$\beta$ (log_dva)") == "β (log_dva)"
    assert html_text(r"$\unknown$") == r"\unknown"


def test_one_etable_holds_tobit_ols_iv_and_pyfixest(fits):
    _, ols, tob, iv, _ = fits
    et = mt.ETable([ols, tob, iv, ols.extra["pyfixest"]], coef_fmt="b:.6f \n (se:.6f)")
    df = et.df
    for j, r in enumerate([ols, tob, iv]):
        cell = str(df.iloc[0, j])
        b, se = re.findall(r"-?\d+\.\d+", cell)
        assert float(b) == pytest.approx(r.params["log_dva"], abs=1e-6)
        assert float(se) == pytest.approx(r.se["log_dva"], abs=1e-6)
    assert str(df.iloc[0, 3]) == str(df.iloc[0, 0])  # pyfixest's own OLS = ours
    assert ols.__maketables_depvar__ == "tariff"
    assert ols.__maketables_fixef_string__ == "imp_ind_year+exp_ind_year"
    assert ols.__maketables_vcov_info__ == {"vcov_type": "CRV1", "clustervar": "pair"}
    assert tob.__maketables_stat__("ll") == tob.loglik and tob.__maketables_stat__("r2") is None
    assert ols.__maketables_stat__("N") == ols.nobs


def test_tidy_matches_params(fits):
    _, ols, tob, _, _ = fits
    for r in (ols, tob):
        t = r.tidy()
        assert list(t.columns) == [
            "term",
            "estimate",
            "std_error",
            "statistic",
            "p_value",
            "conf_low",
            "conf_high",
        ]
        ci = r.conf_int()
        np.testing.assert_allclose(t["estimate"], r.params)
        np.testing.assert_allclose(t["std_error"], r.se)
        np.testing.assert_allclose(t["p_value"], r.pvalues)
        np.testing.assert_allclose(t["conf_low"], ci["lower"])
        np.testing.assert_allclose(t["conf_high"], ci["upper"])
    assert "<table" in ols._repr_html_() and "Log DVA" in ols._repr_html_()


def test_latex_html_labels_and_footnote(fits):
    _, ols, tob, iv, rob = fits
    labels = {"log_dva": r"$\beta$ (log_dva)"}
    tex = regression_table([ols, tob, iv], labels=labels, to="latex", title="A & B")
    assert r"$\beta$ (log\_dva)" in tex and "textbackslash{}beta" not in tex
    assert "clustered by pair" in tex and "robust" not in tex
    assert r"A \& B" in tex
    assert f"{tob.params['log_dva']:.3f}" in tex
    tex2 = regression_table([rob], to="latex")
    assert "Heteroskedasticity-robust" in tex2 and "lustered" not in tex2
    html = regression_table([ols, rob], labels=labels, to="html")
    assert ("β (log_dva)" in html or "&beta; (log_dva)" in html) and "<table" in html
    assert "(2) heteroskedasticity-robust" in html
    md = regression_table([rob], to="markdown")
    assert "Heteroskedasticity-robust" in md
    col = TableColumn(
        coef=pd.Series({"log_dva": -0.5}),
        lower=pd.Series({"log_dva": -0.9}),
        upper=pd.Series({"log_dva": -0.1}),
        name="Posterior",
        interval_level=0.9,
        stats={"N": 10},
    )
    tex3 = regression_table([ols, col], to="latex")
    assert "{[}-0.900, -0.100{]}" in tex3 and r"90\% interval" in tex3
    assert "[-0.900, -0.100]" in regression_table([ols, col], to="html")


def test_se_note():
    assert se_note([]) == ""


@pytest.mark.parametrize(
    ("call", "err", "msg"),
    [
        (lambda o: regression_table([o], to="pdf"), StructestError, "to must be one of"),
        (lambda o: regression_table([], to="latex"), StructestError, "at least one"),
        (lambda o: regression_table([], to="markdown"), StructestError, "at least one"),
        (lambda o: regression_table(o, to="latex"), StructestError, "must be a list"),
        (lambda o: regression_table([1], to="latex"), StructestError, r"results\[0\] is a int"),
        (lambda o: regression_table([o], to="latex", digits=-1), StructestError, "digits"),
        (lambda o: regression_table([o], to="latex", digits="3"), StructestError, "digits"),
        (
            lambda o: regression_table([o], to="latex", column_names=["a", "b"]),
            StructestError,
            "2 column names for 1 results",
        ),
        (
            lambda o: regression_table(
                [o], to="latex", extra_columns={"B": (pd.Series({"x": 1.0}), 3)}
            ),
            StructestError,
            "second element",
        ),
        (
            lambda o: regression_table(
                [o], to="latex", extra_columns={"B": ([1.0], pd.Series({"x": 1.0}))}
            ),
            StructestError,
            "first element",
        ),
        (
            lambda o: regression_table(
                [o],
                to="latex",
                extra_columns={"B": (pd.Series({"x": 1.0}), pd.DataFrame({"a": [1.0]}))},
            ),
            StructestError,
            "2 columns",
        ),
        (lambda o: TableColumn(coef=pd.Series(dtype=float)), StructestError, "non-empty"),
        (
            lambda o: TableColumn(coef=pd.Series({"x": np.nan})),
            StructestError,
            "not finite",
        ),
        (
            lambda o: TableColumn(coef=pd.Series({"x": 1.0}), lower=pd.Series({"x": 0.0})),
            StructestError,
            "both lower and upper",
        ),
        (lambda o: TableColumn(coef=pd.Series({"x": 1.0}), se=[1]), StructestError, "se must"),
        (lambda o: o.tidy(level=1.5), OptionError, "level must be"),
        (lambda o: o.tidy(level=True), OptionError, "level must be"),
        (lambda o: o.tidy(level=float("nan")), OptionError, "level must be"),
    ],
)
def test_bad_table_inputs(fits, call, err, msg):
    with pytest.raises(err, match=msg):
        call(fits[1])


# ---------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli(fits, tmp_path_factory):
    panel = fits[0]
    path = tmp_path_factory.mktemp("d") / "p.parquet"
    keep = (
        "importer exporter industry year tariff mfn censored dva fva fg imports dva_services "
        "dva_lag rta rta_broad gsp dist contig comlang colony"
    ).split()
    panel.df[[c for c in panel.df.columns if c in keep]].to_parquet(path)
    from structest.reduced.cli import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    return app, path


@pytest.mark.parametrize(
    ("ext", "probe"), [(".tex", r"\toprule"), (".html", "<table"), (".md", "| |")]
)
def test_cli_out_per_extension(cli, fits, tmp_path, ext, probe):
    app, data = cli
    out = tmp_path / f"t{ext}"
    args = ["reduced-form", "--spec", "eq16", "--spec", "eq16_rta", "--estimator", "ols"]
    res = CliRunner().invoke(
        app, [*args, "--cluster", "none", "--data", str(data), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert probe in text
    assert "obust" in text and "lustered by" not in text
    assert f"{fits[4].params['log_dva']:.3f}" in text


def test_cli_out_docx(cli, tmp_path):
    app, data = cli
    out = tmp_path / "t.docx"
    res = CliRunner().invoke(
        app, ["reduced-form", "--spec", "eq16", "--data", str(data), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("extra", "msg"),
    [
        (["--out", "t.pdf"], r"unknown extension '\.pdf'"),
        (["--out", "t"], "unknown extension"),
        (["--cluster", ""], "--cluster: empty"),
        (["--cluster", "a b"], "not a column name"),
        (["--estimator", "ols", "--estimator", "iv", "--estimator", "ols"], "given 3 times"),
        (["--lower", "0"], "--lower applies"),
        (["--table", "5"], "--spec and --table are exclusive"),
    ],
)
def test_cli_bad(cli, tmp_path, extra, msg):
    app, data = cli
    args = ["reduced-form", "--spec", "eq16", "--spec", "eq16_rta", "--data", str(data), *extra]
    res = CliRunner().invoke(app, args)
    assert res.exit_code != 0
    assert isinstance(res.exception, StructestError), res.output
    assert re.search(msg, str(res.exception))


def test_cli_table_refuses_out(cli):
    app, data = cli
    res = CliRunner().invoke(app, ["reduced-form", "--table", "5", "--out", "x.tex"])
    assert isinstance(res.exception, OptionError) and "--out" in str(res.exception)


def test_latex_compiles(fits, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed: LaTeX compile check skipped")
    _, ols, tob, iv, _ = fits
    body = regression_table([ols, tob, iv], labels={"log_dva": r"$\beta$"}, to="latex")
    doc = (
        "\\documentclass{article}\\usepackage{booktabs,makecell,threeparttable,tabularx,array}"
        f"\\begin{{document}}{body}\\end{{document}}"
    )
    (tmp_path / "t.tex").write_text(doc)
    r = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout[-2000:]


def test_html_renders(fits, tmp_path):
    exe = next((shutil.which(c) for c in ("chromium", "chromium-browser") if shutil.which(c)), None)
    if exe is None:
        pytest.skip("chromium not installed: HTML render check skipped")
    _, ols, tob, iv, _ = fits
    html = regression_table([ols, tob, iv], to="html")
    (tmp_path / "t.html").write_text(f"<html><body>{html}</body></html>")
    shot = tmp_path / "t.png"
    subprocess.run(
        [exe, "--headless", "--no-sandbox", f"--screenshot={shot}", str(tmp_path / "t.html")],
        capture_output=True,
        timeout=60,
    )
    assert shot.exists() and shot.stat().st_size > 1000
