"""Posterior predictive checks, LOO helpers and the side-by-side table on a tiny synthetic world.

Three small fits (module scope): the true model (bbj), the same model with censoring ignored
(the simplest honest misspecification) and the pooled model (no RTA regime; the DGP has one).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import structest
from structest import checks
from structest.checks.ppc import _summ
from structest.codes import ECONOMIES, INDUSTRIES
from structest.errors import StructestError
from structest.report import compare

FIT = {"chains": 2, "draws": 250, "tune": 250, "seed": 1, "progress_bar": False}


@pytest.fixture(scope="module")
def world():
    return structest.simulate(
        3, economies=ECONOMIES[:6], industries=INDUSTRIES[:6], years=(2000, 2005)
    )


@pytest.fixture(scope="module")
def fits(world):
    panel, _ = world
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        true = structest.fit(panel, "bbj", **FIT)
        up, uspec = checks.ignore_censoring(panel, "bbj")
        unc = structest.fit(up, uspec, **FIT)
        pooled = structest.fit(panel, "pooled", **FIT)
    return {"bbj": true, "uncensored": unc, "pooled": pooled}


def _share_inside(df: pd.DataFrame) -> float:
    return float(df["inside"].mean())


def test_ppc_pass_on_true_model_and_fail_when_censoring_ignored(world, fits):
    panel, _ = world
    good = checks.with_posterior_predictive(fits["bbj"], panel)
    bad = checks.with_posterior_predictive(fits["uncensored"], panel)
    # true model: observed statistics inside the predictive intervals
    assert checks.ppc_mass_at_mfn(good, panel, None)["inside"].all()
    for by in ("importer", "industry", "year", "regime"):
        assert _share_inside(checks.ppc_mass_at_mfn(good, panel, by)) >= 0.8, by
    assert _share_inside(checks.ppc_industry_moments(good, panel)) >= 0.8
    dva = checks.ppc_dva_bands(good, panel)
    assert _share_inside(dva[dva["statistic"] == "mean_pref"]) >= 0.8
    assert dva.loc[dva["statistic"] == "slope", "inside"].all()
    # LOO-interval coverage near 90% (the binomial band ignores PSIS error and within-cell
    # dependence, so allow a few points more)
    assert abs(dva.loc[dva["statistic"] == "coverage", "observed"].iloc[0] - 0.9) <= 0.06
    summ_good = checks.ppc_summary(good, panel).set_index("check")
    assert summ_good.loc["randomized LOO-PIT uniform (KS)", "passed"]
    # censoring ignored: no mass at MFN in the predictive, fails visibly
    m_bad = checks.ppc_mass_at_mfn(bad, panel, None).iloc[0]
    assert (
        m_bad["observed"] > 0.4
        and m_bad["hi"] < 0.01
        and m_bad["p_value"] == 0.0
        and not m_bad["inside"]
    )
    assert _share_inside(checks.ppc_mass_at_mfn(bad, panel, "importer")) == 0.0
    summ_bad = checks.ppc_summary(bad, panel).set_index("check")
    # predictive draws are replaced, not stacked, when asked for again
    with pytest.warns(UserWarning, match="existing posterior_predictive group is replaced"):
        again = checks.with_posterior_predictive(good, seed=5)
    assert again.idata.posterior_predictive["tariff"].shape == (
        good.idata.posterior_predictive["tariff"].shape
    )
    mass_rows = [r for r in summ_bad.index if r.startswith("mass at MFN")]
    assert not summ_bad.loc[mass_rows, "passed"].any()
    assert summ_good.loc[mass_rows, "passed"].all()


def test_loo_prefers_true_rta_regime_over_pooled(fits):
    table = checks.loo_compare({"bbj": fits["bbj"], "pooled": fits["pooled"]})
    assert table.index[0] == "bbj"
    assert table.loc["pooled", "elpd_diff"] > 2 * table.loc["pooled", "dse"]
    assert {"n_high_k", "model", "elpd_loo", "p_loo"} <= set(table.columns)


def test_loo_refuses_different_censoring_and_observations(fits):
    with pytest.raises(StructestError, match="censoring treatment"):
        checks.loo_compare({"bbj": fits["bbj"], "uncensored": fits["uncensored"]})
    problems = checks.check_comparable(
        {"bbj": fits["bbj"], "uncensored": fits["uncensored"]}, strict=False
    )
    assert any("lower bounds" in p for p in problems)
    sub = fits["pooled"].idata.isel(obs=slice(0, 100))
    with pytest.raises(StructestError, match="different observations"):
        checks.check_comparable({"bbj": fits["bbj"], "sub": sub})
    assert checks.check_comparable({"bbj": fits["bbj"], "pooled": fits["pooled"]}) == []


def test_pareto_k_table_lists_informative_high_k(fits):
    tab = checks.pareto_k_table(fits["bbj"], k_threshold=0.5)
    assert (tab["pareto_k"] > 0.5).all() and (tab["kind"] != "uninformative").all()
    assert list(tab["pareto_k"]) == sorted(tab["pareto_k"], reverse=True)


def test_checks_refuse_a_panel_that_was_not_fitted(world, fits):
    panel, _ = world
    other, _ = structest.simulate(
        4, economies=ECONOMIES[:6], industries=INDUSTRIES[:6], years=(2000, 2005)
    )
    with pytest.raises(StructestError, match="tariff"):
        checks.ppc_mass_at_mfn(fits["bbj"], other)
    with pytest.raises(StructestError, match="observations"):
        checks.ppc_mass_at_mfn(fits["bbj"], panel.subset(np.arange(len(panel)) > 5, "test"))
    with pytest.raises(StructestError, match="unknown grouping"):
        checks.ppc_mass_at_mfn(fits["bbj"], panel, by="continent")


def test_coefficient_table_side_by_side_with_truth(world, fits):
    panel, truth = world
    long, notes = compare.coefficient_table(
        fits["bbj"], panel, estimators=("ols", "tobit"), truth=truth
    )
    assert set(long["column"]) == {"OLS", "Tobit", "posterior", "truth"}
    post = long[long["column"] == "posterior"].set_index("row")
    row = post.loc["g_DVA outside RTA"]
    assert row["lo"] < row["estimate"] < row["hi"]
    assert abs(row["estimate"] - truth["g_DVA"]) < 4 * row["se"]  # truth within 4 posterior s.d.
    assert post.loc["g_DVA inside RTA", "estimate"] == 0.0  # restricted by eq. 14
    tob = long[long["column"] == "Tobit"]
    assert (tob["nobs"] < len(panel)).all()
    assert any(n.startswith("Tobit:") and "right-censored" in n for n in notes)
    wide = compare.wide_table(long)
    assert list(wide.columns) == ["OLS", "Tobit", "posterior", "truth"]
    assert wide.loc["Observations", "posterior"] == str(len(panel))
    md = compare.to_markdown(wide, notes)
    assert md.count("\n|") >= len(wide) and "g_IP + g_FVA" in md


def test_prior_predictive_check_default_priors(world):
    panel, _ = world
    tab = checks.prior_predictive_check(panel, "bbj", n=200, seed=0)
    assert list(tab.index) == ["latent", "applied", "observed"]
    q = tab.filter(like="q").to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert tab.loc["applied", "share_in_range"] == pytest.approx(1.0)  # MFN <= 50 here
    assert 0.0 < tab.loc["latent", "share_in_range"] < 1.0
    wide = checks.prior_predictive_check(
        panel, "bbj", n=200, seed=0, priors={"sigma": ("halfnormal", 50.0)}
    )
    assert (
        wide.loc["latent", "q95"] - wide.loc["latent", "q05"]
        > tab.loc["latent", "q95"] - tab.loc["latent", "q05"]
    )


def test_summ_mid_p_value_and_interval():
    rep = np.arange(100, dtype=float)[:, None]
    out = _summ(np.array([49.0]), rep, 0.9)
    assert out.loc[0, "p_value"] == pytest.approx((50 + 0.5) / 100)
    assert out.loc[0, "lo"] == pytest.approx(4.95) and out.loc[0, "hi"] == pytest.approx(94.05)
    assert bool(out.loc[0, "inside"])
    assert not _summ(np.array([200.0]), rep, 0.9).loc[0, "inside"]
