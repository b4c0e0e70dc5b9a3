"""Tobit-IV (control function): two-step point estimates and the exogeneity test."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import structest
from structest.reduced import fit_reduced_form

sys.path.insert(0, str(Path(__file__).parent))
from test_reduced_tobit import SMALL, _drop_all_censored, _reference_tobit  # noqa: E402


def test_control_function_matches_independent_two_step():
    panel, _ = structest.simulate(seed=5, **SMALL)
    fml = "tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services"
    res = fit_reduced_form(panel, fml, estimator="tobit_iv")
    fes = ["imp_ind_year", "exp_ind_year"]
    df = panel.df.copy()
    df["rc"] = df["tariff"] >= df["mfn"] - 1e-6
    df = _drop_all_censored(df, fes, ["rc"])
    assert res.nobs == len(df)
    # step 1: OLS of log_dva on rta, the instrument and FE dummies (numpy)
    D = np.column_stack([pd.get_dummies(df[fe], dtype=float).to_numpy() for fe in fes])
    Z = np.column_stack([df[["rta", "log_dva_services"]].to_numpy(float), D])
    e = df["log_dva"].to_numpy(float)
    df["v"] = e - Z @ np.linalg.lstsq(Z, e, rcond=None)[0]
    # step 2: Tobit with the control on the dummy design (scipy)
    th, V_naive, _ = _reference_tobit(df, ["rta", "log_dva", "v"], fes, None)
    np.testing.assert_allclose(res.params[["rta", "log_dva"]].to_numpy(), th[:2], rtol=1e-4)
    ctrl = res.extra["control"]
    np.testing.assert_allclose(ctrl["coef"].iloc[0], th[2], rtol=1e-4)
    # the uncorrected SEs equal the one-step sandwich; the corrected ones differ
    np.testing.assert_allclose(ctrl["se_naive"].iloc[0], np.sqrt(V_naive[2, 2]), rtol=1e-4)


def _endogenous_world(rho: float, seed: int) -> pd.DataFrame:
    """y* = FE + beta x + rho v + e, x = z + v; censored above at an exogenous MFN."""
    rng = np.random.default_rng(seed)
    imp, exp_, ind, prod = np.meshgrid(
        np.arange(6), np.arange(6), np.arange(2), np.arange(10), indexing="ij"
    )
    keep = imp != exp_
    imp, exp_, ind, prod = (a[keep] for a in (imp, exp_, ind, prod))
    n = imp.size
    a = rng.normal(0, 2, (6, 2))[imp, ind]
    b = rng.normal(0, 1, (6, 2))[exp_, ind]
    z = rng.normal(0, 1, n)
    v = rng.normal(0, 1, n)
    x = z + v
    ystar = a + b - 1.0 * x + rho * v + rng.normal(0, 1, n)
    mfn = a + b + 1.0
    names = np.array([f"E{k}" for k in range(6)])
    df = pd.DataFrame(
        {
            "importer": names[imp],
            "exporter": names[exp_],
            "industry": ind.astype(str),
            "year": 2000,
            "product": prod,
            "x": x,
            "z": z,
            "mfn": mfn,
            "tariff": np.minimum(ystar, mfn),
        }
    )
    df["pair"] = df["importer"] + "_" + df["exporter"]
    df["imp_ind"] = df["importer"] + "_" + df["industry"]
    df["exp_ind"] = df["exporter"] + "_" + df["industry"]
    return df


FML_ENDO = "tariff ~ 1 | imp_ind + exp_ind | x ~ z"


def test_constant_exogenous_regressor_dropped_as_in_tobit():
    """rta is 0 in the non-RTA sample: Tobit-IV drops it (as OLS, IV and Tobit do) and
    gives the fit without it."""
    panel, _ = structest.simulate(seed=5, **SMALL)
    with pytest.warns(structest.EstimationWarning, match="rta"):
        res = fit_reduced_form(
            panel,
            "tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
            estimator="tobit_iv",
            sample="nonrta",
        )
    ref = fit_reduced_form(
        panel,
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
        estimator="tobit_iv",
        sample="nonrta",
    )
    assert list(res.params.index) == ["log_dva"]
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.se.to_numpy(), ref.se.to_numpy(), rtol=1e-8)


def test_exogeneity_test_rejects_under_endogeneity():
    for seed in range(3):
        res = fit_reduced_form(_endogenous_world(0.8, seed), FML_ENDO, estimator="tobit_iv")
        assert res.tests["exogeneity"]["pvalue"] < 0.01
        assert abs(res.params["x"] + 1.0) < 0.15
        naive = fit_reduced_form(
            _endogenous_world(0.8, seed), "tariff ~ x | imp_ind + exp_ind", estimator="tobit"
        )
        assert naive.params["x"] > -0.8  # biased toward zero by the endogeneity


def test_exogeneity_test_size_roughly_nominal():
    pvals = [
        fit_reduced_form(_endogenous_world(0.0, 100 + s), FML_ENDO, estimator="tobit_iv").tests[
            "exogeneity"
        ]["pvalue"]
        for s in range(30)
    ]
    rate = np.mean(np.array(pvals) < 0.05)
    assert rate <= 0.2, f"rejection rate {rate} under exogeneity"
    assert np.mean(np.array(pvals) < 0.5) > 0.25  # p-values are not degenerate


@pytest.mark.slow
def test_two_step_se_against_pairs_bootstrap():
    df = _endogenous_world(0.5, 7)
    res = fit_reduced_form(df, FML_ENDO, estimator="tobit_iv")
    rng = np.random.default_rng(0)
    pairs = df["pair"].unique()
    draws = []
    for _ in range(199):
        pick = rng.choice(pairs, len(pairs))
        parts = [df.loc[df["pair"] == p].assign(pair=f"{p}_{k}") for k, p in enumerate(pick)]
        boot = pd.concat(parts, ignore_index=True)
        draws.append(fit_reduced_form(boot, FML_ENDO, estimator="tobit_iv").params["x"])
    np.testing.assert_allclose(res.se["x"], np.std(draws, ddof=1), rtol=0.25)
