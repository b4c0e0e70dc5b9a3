"""OLS and 2SLS with fixed effects: agreement with linearmodels (dummies / absorption)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS
from linearmodels.iv.absorbing import AbsorbingLS

import structest
from structest import SpecError
from structest.reduced import SPECS, fit_reduced_form

SMALL = {
    "economies": ("USA", "CHN", "JPN", "MEX", "BRA", "IND", "KOR", "TUR"),
    "industries": ("c3", "c4", "c9", "c12", "c13", "c15"),
    "years": (1995, 2005),
}
DATA = Path(structest.__file__).resolve().parents[1] / "data" / "panel.parquet"


@pytest.fixture(scope="module")
def sim():
    panel, _ = structest.simulate(seed=11, **SMALL)
    return panel


@pytest.fixture(scope="module")
def real():
    if not DATA.exists():
        pytest.skip("bundled data/panel.parquet is absent")
    return structest.load_panel()


def _g_factor(df: pd.DataFrame) -> float:
    G = df["pair"].nunique()
    return G / (G - 1)


def _lm_absorbing(df: pd.DataFrame, dep: str, exog: list[str], fes: list[str]):
    absorb = pd.DataFrame({fe: pd.Categorical(df[fe]) for fe in fes})
    mod = AbsorbingLS(df[dep], df[exog], absorb=absorb)
    res = mod.fit(cov_type="clustered", clusters=pd.factorize(df["pair"])[0], debiased=False)
    return res.params[exog], res.cov.loc[exog, exog] * _g_factor(df)


def _demean_by_dummies(df: pd.DataFrame, fes: list[str], cols: list[str]) -> pd.DataFrame:
    """Residuals of each column on the FE dummies (numpy least squares; Frisch-Waugh-Lovell)."""
    D = np.column_stack([pd.get_dummies(df[fe], dtype=float).to_numpy() for fe in fes])
    M = df[cols].to_numpy(float)
    coef = np.linalg.lstsq(D, M, rcond=None)[0]
    return pd.DataFrame(M - D @ coef, columns=cols, index=df.index)


def _check_ols(panel, spec: str, sample: str = "all") -> None:
    res = fit_reduced_form(panel, spec, estimator="ols", sample=sample)
    f = structest.reduced.parse(spec)
    df = panel.df if sample == "all" else panel.df.loc[panel.df["rta"] == 0].reset_index(drop=True)
    b, V = _lm_absorbing(df, f.depvar, list(f.exog), list(f.fe))
    names = list(f.exog)
    np.testing.assert_allclose(res.params[names].to_numpy(), b.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        res.vcov.loc[names, names].to_numpy(),
        V.to_numpy(),
        rtol=1e-6,
        atol=1e-7 * np.abs(V.to_numpy()).max(),
    )
    np.testing.assert_allclose(res.se[names].to_numpy(), np.sqrt(np.diag(V)), rtol=1e-6)
    assert res.nobs == len(df)


def _check_iv(panel, formula: str, sample: str = "all") -> None:
    res = fit_reduced_form(panel, formula, estimator="iv", sample=sample)
    f = structest.reduced.parse(formula)
    df = panel.df if sample == "all" else panel.df.loc[panel.df["rta"] == 0].reset_index(drop=True)
    # lagged instruments are NaN in the earliest year by construction: those rows are dropped
    df = df.dropna(subset=list(f.instruments)).reset_index(drop=True)
    assert res.nobs == len(df)
    exog_cols = list(f.exog)
    # FE partialled out by dummies (FWL: same 2SLS coefficients, residuals and cluster scores)
    dm = _demean_by_dummies(df, list(f.fe), [f.depvar, *exog_cols, *f.endog, *f.instruments])
    exog = dm[exog_cols] if exog_cols else None
    mod = IV2SLS(dm[f.depvar], exog, dm[list(f.endog)], dm[list(f.instruments)])
    lm = mod.fit(cov_type="clustered", clusters=pd.factorize(df["pair"])[0], debiased=False)
    names = [*exog_cols, *f.endog]
    V = lm.cov.loc[names, names] * _g_factor(df)
    np.testing.assert_allclose(res.params[names].to_numpy(), lm.params[names].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.se[names].to_numpy(), np.sqrt(np.diag(V)), rtol=1e-6)
    # first-stage cluster-robust F (= Kleibergen-Paap Wald F with one endogenous regressor)
    endog = f.endog[0]
    fs = lm.first_stage.individual[endog]
    inst = list(f.instruments)
    b = fs.params[inst].to_numpy()
    Vfs = fs.cov.loc[inst, inst].to_numpy() * _g_factor(df)
    F = float(b @ np.linalg.solve(Vfs, b)) / len(inst)
    np.testing.assert_allclose(res.first_stage[endog]["F_cluster"], F, rtol=1e-6)
    np.testing.assert_allclose(res.first_stage[endog]["kleibergen_paap_F"], F, rtol=1e-6)


@pytest.mark.parametrize("spec", ["eq16", "eq16_rta", "eq17", "eq19", "eq19_iiy", "gsp"])
def test_ols_matches_linearmodels_sim(sim, spec):
    _check_ols(sim, SPECS[spec])


def test_ols_nonrta_sample_sim(sim):
    _check_ols(sim, SPECS["eq16"], sample="nonrta")
    res = fit_reduced_form(sim, "eq16", sample="nonrta")
    n_rta = int((sim.df["rta"] == 1).sum())
    assert dict(res.dropped)["sample 'nonrta': RTA in force"] == n_rta
    assert res.nobs + n_rta == len(sim.df)


@pytest.mark.parametrize(
    "formula",
    [
        "tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services + log_dva_lag",
    ],
)
def test_iv_matches_linearmodels_sim(sim, formula):
    _check_iv(sim, formula)
    if "log_dva_lag" in formula:
        res = fit_reduced_form(sim, formula, estimator="iv")
        n_first = int((sim.df["year"] == sim.df["year"].min()).sum())
        reason = "no earlier WIOD year for lagged instrument 'log_dva_lag' (earliest year 1995)"
        assert dict(res.dropped)[reason] == n_first


@pytest.mark.parametrize("spec", ["eq16", "eq17", "eq19", "eq19_iiy"])
def test_ols_matches_linearmodels_real(real, spec):
    _check_ols(real, SPECS[spec])


def test_iv_matches_linearmodels_real(real):
    _check_iv(
        real,
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
        sample="nonrta",
    )


def test_results_interface(sim):
    res = fit_reduced_form(sim.df, "tariff ~ log_dva + rta | imp_ind_year + exp_ind_year")
    assert list(res.params.index) == ["log_dva", "rta"]
    assert list(res.se.index) == ["log_dva", "rta"]
    assert res.vcov.shape == (2, 2)
    assert 0 < res.r2 <= 1
    assert res.cluster == "pair" and res.n_clusters == sim.df["pair"].nunique()
    assert "log_dva" in res.summary() and "pair" in res.summary()
    frame = res.to_frame()
    assert list(frame.columns[:2]) == ["coef", "se"]


def test_eq19_iiy_reports_sum(sim):
    res = fit_reduced_form(sim, "eq19_iiy")
    assert "g_IP + g_FVA" in res.label("log_ip_ratio")
    assert any("g_IP + g_FVA" in n for n in res.notes)
    with pytest.raises(SpecError, match="collinear"):
        fit_reduced_form(
            sim, "preference ~ log_fva_ratio + log_ip_ratio | imp_ind_year + exp_ind_year"
        )


def test_errors(sim):
    with pytest.raises(SpecError, match="no_such_column"):
        fit_reduced_form(sim, "tariff ~ log_dva + no_such_column | imp_ind_year")
    with pytest.raises(SpecError, match="ttb"):
        fit_reduced_form(sim, "ttb")
    with pytest.raises(SpecError, match="unknown estimator"):
        fit_reduced_form(sim, "eq16", estimator="probit")
    with pytest.raises(SpecError, match="unknown specification"):
        fit_reduced_form(sim, "eq99")
    with pytest.raises(SpecError, match="unknown sample"):
        fit_reduced_form(sim, "eq16", sample="mars")
    with pytest.raises(SpecError, match="IV part"):
        fit_reduced_form(sim, "eq16", estimator="iv")


def test_ttb_spec_runs_when_column_present(sim):
    df = sim.df.copy()
    rng = np.random.default_rng(0)
    df["ttb"] = np.clip(0.1 - 0.02 * df["log_dva_ratio"] + rng.normal(0, 0.05, len(df)), 0, 1)
    res = fit_reduced_form(df, "ttb")
    b, _ = _lm_absorbing(
        df, "ttb", list(res.params.index), ["imp_ind", "imp_year", "ind_year", "exp_ind_year"]
    )
    np.testing.assert_allclose(res.params.to_numpy(), b.to_numpy(), rtol=1e-6)
