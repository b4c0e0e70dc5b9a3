"""The HTML report: renders, is self-contained, loads in a headless browser; the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
from conftest import CHROMIUM, run_chromium
from typer.testing import CliRunner

import structest
from structest.codes import ECONOMIES, INDUSTRIES

PNG = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]{200,})"')


@pytest.fixture(scope="module")
def tiny():
    panel, truth = structest.simulate(
        5, economies=ECONOMIES[:5], industries=INDUSTRIES[:4], years=(2000, 2005)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = structest.fit(
            panel, "bbj", chains=2, draws=150, tune=150, seed=0, progress_bar=False, n_prior=200
        )
    return panel, truth, result


@pytest.fixture(scope="module")
def rendered(tiny, tmp_path_factory):
    from structest.report.html import write_report

    panel, truth, idata = tiny
    out = tmp_path_factory.mktemp("report")
    return write_report(idata, panel, out, truth=truth, estimators=("ols",))


def test_report_is_self_contained(rendered):
    text = rendered.read_text(encoding="utf-8")
    figs = sorted((rendered.parent / "figures").glob("*.png"))
    names = {p.stem for p in figs}
    expected = {
        "trace",
        "coefficients",
        "ppc_preference_ecdf",
        "ppc_preference_hist",
        "ppc_mass_at_mfn",
        "ppc_industry_moments",
        "ppc_dva_bands",
        "loo_pit",
        "prior_posterior",
    }
    assert expected <= names
    assert all(p.read_bytes().startswith(PNG) for p in figs)
    assert len(IMG.findall(text)) == len(figs)
    assert "figure '" not in text  # no figure failed
    for section in (
        "Data",
        "Convergence diagnostics",
        "Bayesian vs reduced form",
        "Posterior predictive checks",
        "PSIS-LOO",
        "Prior vs posterior",
        "Prior predictive check",
    ):
        assert f">{section}<" in text
    assert 'src="http' not in text and "<script" not in text  # nothing external


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_report_loads_in_headless_browser(rendered, tmp_path):
    url = rendered.resolve().as_uri()
    dom = run_chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    n_files = len(list((rendered.parent / "figures").glob("*.png")))
    assert len(IMG.findall(dom.stdout)) == n_files
    assert "Posterior predictive checks" in dom.stdout
    shot = tmp_path / "shot.png"
    res = run_chromium(f"--screenshot={shot}", "--window-size=1200,2000", url, cwd=tmp_path)
    assert shot.exists(), res.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    assert float(np.std(img[..., :3])) > 0.05  # not a blank page


def test_cli_report_from_saved_fit(tiny, tmp_path):
    from structest.cli import app

    _, _, result = tiny
    fit = result.save(tmp_path / "fit.nc")
    out = tmp_path / "rep"
    # no --data: the report uses the panel stored in the fit
    res = CliRunner().invoke(app, ["report", "--fit", str(fit), "--out", str(out), "--no-reduced"])
    assert res.exit_code == 0, res.output
    assert (out / "index.html").exists() and IMG.search((out / "index.html").read_text())
    # the terminal carries the verdict: convergence, key posteriors, PPC count, report path
    table = result.summary()
    assert re.search(r"convergence: (OK|\d+ problem)", res.output)
    assert f"sigma  mean {table.loc['sigma', 'mean']:8.3f}" in res.output
    m = re.search(r"posterior predictive checks: (\d+) of (\d+) statistics", res.output)
    assert m and 0 <= int(m[1]) <= int(m[2]) and int(m[2]) > 5
    assert f"report: {out / 'index.html'}" in res.output
    # progress by section, in order
    assert re.findall(r"report \[(\d)/7\] ", res.output) == list("1234567")


@pytest.mark.parametrize("option", ["--data", "--panel"])  # --panel: the old name, hidden
def test_cli_report_wrong_panel_is_a_clear_error(tiny, tmp_path, option):
    _, _, result = tiny
    fit = result.save(tmp_path / "fit.nc")
    other, _ = structest.simulate(
        6, economies=ECONOMIES[:5], industries=INDUSTRIES[:4], years=(2000, 2005)
    )
    data = tmp_path / "other.parquet"
    other.df.to_parquet(data)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "structest.cli",
            "report",
            "--fit",
            str(fit),
            option,
            str(data),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert "not the one this model was fitted to" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_cli_report_fresh_clone_one_command(tmp_path):
    """`structest report` with no --fit fits the default model on the bundled panel."""
    env = {**os.environ, "CI": "true"}
    out = tmp_path / "report"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "structest.cli",
            "report",
            "--out",
            str(out),
            "--draws",
            "200",
            "--tune",
            "200",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    text = (out / "index.html").read_text()
    assert (out / "fit.nc").exists()
    with h5py.File(out / "fit.nc") as h5:  # the pointwise log-likelihood is left out
        assert "posterior" in h5 and "log_likelihood" not in h5
    assert "no log-likelihood (recomputed on load)" in res.stderr
    assert "counterfactual: FVA +0.5 log points inside RTAs" in res.stdout
    assert "(the paper: -2.69 pp)" in res.stdout
    assert len(IMG.findall(text)) == len(list((out / "figures").glob("*.png"))) >= 9
    assert "3071 obs" in text


def test_verdict_box_states_the_counterfactual():
    """The verdict box states the +0.5 log FVA exercise and links to the steps."""
    from structest.report.html import _verdict_box

    v = {
        "problems": [],
        "divergences": 0,
        "max_rhat": 1.0,
        "min_ess": 900.0,
        "key": [],
        "ppc_inside": 9,
        "ppc_total": 10,
        "checks_passed": 3,
        "checks_total": 3,
        "counterfactual": {
            "growth": 0.5,
            "paper": -2.69,
            "optimal": [-1.5, -2.58, -0.57],
            "applied": [-0.59, -0.96, -0.23],
        },
    }
    box = _verdict_box(v)
    assert "optimal tariff by -1.50 pp [-2.58, -0.57]" in box
    assert "applied tariff by -0.59 pp [-0.96, -0.23]" in box
    assert "the paper: -2.69 pp" in box and 'href="#reconcile"' in box
    assert "Counterfactual" not in _verdict_box({**v, "counterfactual": None})


@pytest.fixture(scope="module")
def rta_fit(fit_at_truth):
    """A posterior without sampling (draws at five parameter sets) on a world with RTAs."""
    from conftest import idata_at

    from structest.codes import STRUCTURAL_PARAMS

    panel, truth = structest.simulate(
        5, economies=ECONOMIES[:6], industries=INDUSTRIES[:4], years=(2000, 2005)
    )
    assert (panel.df["rta"] == 1).sum() > 0
    base = {k: float(truth[k]) for k in STRUCTURAL_PARAMS}
    draws = [
        {**base, "eps": base["eps"] * m, "delta": base["delta"] * m}
        for m in (0.6, 0.8, 1, 1.3, 1.7)
    ]
    return panel, idata_at(panel, draws)


def test_reconcile_fva_against_independent_computations(rta_fit):
    from structest.reduced.paper import paper_numbers
    from structest.report.reconcile import reconcile_fva

    panel, result = rta_fit
    table, notes = reconcile_fva(result, growth=0.5)
    assert list(table.columns) == ["step", "estimate", "lo", "hi", "nobs", "vs_paper", "factor"]
    # the paper: half of RTA x ln(FVA/IM) in Table 6 panel A col. 3 (-5.38, SE 2.38)
    nums = paper_numbers("6").query("panel == 'A' and column == 3 and term == 'log_fva_ratio_rta'")
    assert float(nums["coef"].iloc[0]) == -5.38
    np.testing.assert_allclose(table.loc[0, "estimate"], -2.69)
    np.testing.assert_allclose(
        table.loc[0, "hi"] - table.loc[0, "estimate"], 1.645 * 1.19, rtol=1e-3
    )
    # the reduced form: the same Tobit column fitted here (or the reason it is not)
    try:
        res = structest.fit_reduced_form(panel, "table6_col3")
        coef = res.params.get("log_fva_ratio_rta")
    except structest.StructestError:
        coef = None
    if coef is None:
        assert not np.isfinite(table.loc[1, "estimate"]) and table.loc[1, "factor"]
    else:
        np.testing.assert_allclose(table.loc[1, "estimate"], 0.5 * coef)
        assert table.loc[1, "nobs"] == res.nobs
    # the posterior: median over draws of the mean change over observations inside RTAs
    cf = structest.counterfactual(result, fva_growth=0.5)
    inside = np.asarray(panel.df["rta"]) == 1
    for row, (a, b) in ((2, ("tstar_cf", "tstar_base")), (3, ("applied_cf", "applied_base"))):
        d = (cf[a] - cf[b]).values[..., inside].mean(axis=-1).ravel()
        assert np.ptp(d) > 0  # the draws differ
        np.testing.assert_allclose(table.loc[row, "estimate"], np.median(d), rtol=1e-8)
        lo, hi = np.quantile(d, [0.05, 0.95])
        np.testing.assert_allclose(
            [table.loc[row, "lo"], table.loc[row, "hi"]], [lo, hi], rtol=1e-6
        )
        assert table.loc[row, "nobs"] == inside.sum()
    # the cap and the floor only shrink the change: |applied| <= |optimal| (FVA lowers t*)
    assert abs(table.loc[3, "estimate"]) <= abs(table.loc[2, "estimate"]) + 1e-12
    np.testing.assert_allclose(table["vs_paper"], table["estimate"] / -2.69)
    assert any("constant within the cells" in n for n in notes)


def test_median_check_against_hand_cases():
    """Posterior medians against the Tobit's interval: inside, below, above; restricted and
    unestimated rows left out."""
    from structest.report.compare import median_check

    rows = [
        # row, column, estimate, lo, hi, median, prior_median
        ("a", "posterior", 0.5, 0.0, 1.0, 0.4, -2.0),
        ("a", "Tobit", 0.6, 0.1, 1.1, np.nan, np.nan),
        ("b", "posterior", -0.2, -0.3, -0.1, -0.22, -1.9),
        ("b", "Tobit", 1.5, -0.15, 3.2, np.nan, np.nan),
        ("c", "posterior", 0.0, -0.1, 0.1, -0.05, 0.3),
        ("c", "Tobit", -1.6, -3.1, -0.06, np.nan, np.nan),
        ("d", "posterior", 0.0, 0.0, 0.0, 0.0, np.nan),  # restricted: left out
        ("d", "Tobit", 1.0, 0.5, 1.5, np.nan, np.nan),
        ("e", "posterior", 1.0, 0.5, 1.5, 1.0, 1.0),
        ("e", "Tobit", np.nan, np.nan, np.nan, np.nan, np.nan),  # not estimated: left out
        ("a", "OLS", 5.0, 4.0, 6.0, np.nan, np.nan),
    ]
    long = pd.DataFrame(
        rows, columns=["row", "column", "estimate", "lo", "hi", "median", "prior_median"]
    )
    mc = median_check(long, "Tobit")
    assert list(mc.index) == ["a", "b", "c"]
    assert list(mc["side"]) == ["inside", "below", "above"]
    assert list(mc["inside"]) == [True, False, False]
    np.testing.assert_allclose(mc["median"], [0.4, -0.22, -0.05])
    np.testing.assert_allclose(mc["prior_median"], [-2.0, -1.9, 0.3])
    assert list(median_check(long, "OLS")["side"]) == ["below"]
