"""``StructuralFit.summary`` through ``arviz.summary`` plus the identification columns.

Fits are built without sampling (``conftest.idata_at``): draws scattered around the true
parameters, a by-hand prior group and the log-likelihood computed from the draws.
"""

from __future__ import annotations

import re

import arviz as az
import numpy as np
import pytest
import xarray as xr
from conftest import idata_at  # noqa: E402  (tests/ is on sys.path)

import structest
from structest.codes import STRUCTURAL_PARAMS
from structest.errors import OptionError, StructestError
from structest.structural import summarize
from structest.structural.diagnostics import key_variables
from structest.structural.io import add_log_likelihood

ECON = ("USA", "CHN", "DEU", "JPN")
INDS = ("c3", "c4", "c5")


def synthetic_fit(n_draws: int = 24, seed: int = 0, with_prior: bool = True):
    """A 1-chain fit of ``bbj`` on a small synthetic panel, draws around the truth."""
    panel, truth = structest.simulate(seed=seed, economies=ECON, industries=INDS, years=(2000,))
    rng = np.random.default_rng(seed)
    draws = [
        {
            **{k: float(truth[k]) * (1 + 0.02 * rng.standard_normal()) for k in STRUCTURAL_PARAMS},
            "sigma": 1.5 + 0.05 * rng.standard_normal(),
        }
        for _ in range(n_draws)
    ]
    fit = idata_at(panel, draws)
    idata = fit.idata
    del idata.log_likelihood  # idata_at stores zeros: compute the real one
    add_log_likelihood(idata, fit.design)
    if with_prior:
        names = [
            n
            for n in key_variables(idata)
            if idata.posterior[n].ndim == 2 and not n.startswith("tau_")
        ]
        prior = {
            n: (
                ("chain", "draw"),
                float(idata.posterior[n].mean()) + 5.0 * rng.standard_normal((1, 200)),
            )
            for n in names
        }
        idata.add_groups({"prior": xr.Dataset(prior, coords={"chain": [0], "draw": range(200)})})
    return fit


@pytest.fixture(scope="module")
def sfit():
    return synthetic_fit()


AZ_COLS = ["mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat"]


def test_summary_is_arviz_summary_plus_identification(sfit) -> None:
    table = sfit.summary()
    names = key_variables(sfit)
    assert list(table.index) == names and table.index.name == "param"
    want = ["mean", "sd", "hdi_5%", "hdi_95%", "5%", "95%", *AZ_COLS]
    assert list(table.columns[: len(want)]) == want
    ident = ["contraction", "prior_sensitivity", "likelihood_sensitivity", "verdict"]
    assert list(table.columns[len(want) :]) == ident
    ref = az.summary(sfit.idata.posterior[names], kind="all", hdi_prob=0.9, round_to="none")
    for col in ["mean", "sd", "hdi_5%", "hdi_95%", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail"]:
        np.testing.assert_allclose(table[col].to_numpy(float), ref[col].to_numpy(float))
    # the equal-tailed interval is the draws' own quantiles
    v = sfit.posterior["g_IP"].values.reshape(-1)
    assert table.loc["g_IP", "5%"] == pytest.approx(np.quantile(v, 0.05))
    assert table.loc["g_IP", "95%"] == pytest.approx(np.quantile(v, 0.95))
    # one chain: R-hat is not reported as a pass
    assert table["r_hat"].isna().all()
    # the identification columns are identification()'s
    full = sfit.identification(list(table.index.intersection(sfit.idata.prior.data_vars)))
    assert (table.loc[full.index, "verdict"] == full["verdict"]).all()
    np.testing.assert_allclose(table.loc[full.index, "contraction"], full["contraction"])
    assert (full["contraction"] > 0.99).all()  # prior sd 5, posterior sd ~2% of the value
    # the plain summarize is the arviz part
    plain = summarize(sfit)
    assert sfit.summary()[list(plain.columns)].equals(plain)


def test_summary_hdi_prob_and_var_names(sfit) -> None:
    t = sfit.summary(["g_IP", "sigma"], hdi_prob=0.5)
    assert list(t.index) == ["g_IP", "sigma"]
    assert {"hdi_25%", "hdi_75%", "25%", "75%"} <= set(t.columns)
    v = sfit.posterior["sigma"].values.reshape(-1)
    assert t.loc["sigma", "75%"] == pytest.approx(np.quantile(v, 0.75))
    assert t.loc["sigma", "hdi_25%"] < t.loc["sigma", "hdi_75%"]


def test_summary_without_prior_has_no_identification() -> None:
    f = synthetic_fit(n_draws=8, seed=1, with_prior=False)
    t = f.summary()
    assert "verdict" not in t.columns and "ess_tail" in t.columns


def test_summary_two_chains_reports_rhat(sfit) -> None:
    post = sfit.idata.posterior
    two = xr.concat([post, post.assign_coords(chain=[1])], dim="chain")
    t = summarize(az.InferenceData(posterior=two), ["g_IP", "sigma"])
    assert np.isfinite(t["r_hat"]).all() and (t["r_hat"] < 1.2).all()


BAD_SUMMARY = [
    ({"hdi_prob": 1.5}, OptionError, r"hdi_prob must be in \(0, 1\), got 1.5"),
    ({"hdi_prob": 0.0}, OptionError, r"hdi_prob must be in \(0, 1\), got 0.0"),
    ({"hdi_prob": "0.9"}, OptionError, r"hdi_prob must be a number in \(0, 1\), got '0.9'"),
    ({"hdi_prob": True}, OptionError, r"hdi_prob must be a number"),
    ({"var_names": ["nope"]}, StructestError, r"\['nope'\] not in the posterior; known: "),
    ({"var_names": "g_IP"}, StructestError, r"var_names must be a list of names, got 'g_IP'"),
    ({"var_names": [1, 2]}, StructestError, r"var_names must be a list of names"),
]


@pytest.mark.parametrize(("kw", "exc", "msg"), BAD_SUMMARY)
def test_summary_bad_input(sfit, kw, exc, msg) -> None:
    with pytest.raises(exc, match=msg) as info:
        sfit.summary(**kw)
    assert len(str(info.value).splitlines()) == 1
    with pytest.raises(exc, match=msg):
        summarize(sfit.idata, **kw)


def test_summary_identification_names_checked(sfit) -> None:
    # a posterior variable with no prior draws: summary leaves its verdict empty
    t = sfit.summary(["tau_imp_ind_year", "g_IP"])
    assert t.loc["g_IP", "verdict"].startswith("identified by data")
    assert re.match("nan", str(t.loc["tau_imp_ind_year", "verdict"]))
