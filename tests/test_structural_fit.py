"""End-to-end NumPyro fit on a small synthetic panel: InferenceData, I/O, predictions,
recovery, and the PyMC front end."""

from __future__ import annotations

import os
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import structest
from structest.errors import SpecError, StructestError
from structest.structural import (
    StructuralFit,
    contraction,
    fit,
    predict_applied,
    predict_tstar,
    summarize,
)
from structest.structural.backends.numpyro import model
from structest.structural.design import build_design
from structest.structural.program import Layout
from structest.structural.spec import load_model

ECON = ("USA", "CHN", "DEU", "JPN", "BRA", "IND")
INDS = ("c3", "c4", "c5", "c6")
GS = ("g_IP", "g_FVA", "g_DVA", "g_IP_rta", "g_FVA_rta")


def small(seed: int):
    return structest.simulate(seed=seed, economies=ECON, industries=INDS, years=(1995, 2005))


def quiet_fit(panel, **kw):
    """A fit of model ``bbj`` (the synthetic world's process) unless ``model`` is given."""
    kw.setdefault("model", "bbj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(panel, progress_bar=False, **kw)


@pytest.fixture(scope="module")
def fitted():
    panel, truth = small(2)
    result = quiet_fit(panel, chains=2, draws=300, tune=300, seed=0, n_prior=500)
    return panel, truth, result


def test_inferencedata_layout(fitted) -> None:
    panel, _, result = fitted
    assert isinstance(result, StructuralFit) and result.spec.name == "bbj"
    idata = result.idata
    for g in (
        "posterior",
        "prior",
        "sample_stats",
        "log_likelihood",
        "observed_data",
        "constant_data",
    ):
        assert g in idata.groups()
    ll = idata.log_likelihood["tariff"]
    assert ll.dims == ("chain", "draw", "obs") and ll.sizes["obs"] == len(panel)
    for c in ("importer", "exporter", "industry", "year"):
        np.testing.assert_array_equal(ll[c].values, panel.df[c].to_numpy().astype(ll[c].dtype))
    assert idata.posterior["fe_imp_ind_year"].dims[2] == "imp_ind_year"
    for v in (*GS, "intercept", "ratio_g_fva_g_ip", "sigma", "eps", "delta_star"):
        assert idata.posterior[v].dims == ("chain", "draw")
    assert not any(v.startswith("z_") for v in idata.posterior.data_vars)
    attrs = idata.posterior.attrs
    assert '"name": "bbj"' in attrs["model_spec"] and "simulate(seed=2)" in attrs["panel_source"]
    assert attrs["panel_fingerprint"] == panel.fingerprint()
    assert set(idata.constant_data.data_vars) >= {"mfn", "rta", "x_ip", "x_fva", "x_dva"}
    assert np.isfinite(ll.values).all()


def test_save_load_roundtrip(fitted, tmp_path) -> None:
    panel, _, result = fitted
    idata = result.idata
    path = result.save(tmp_path / "fit.nc")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    back = StructuralFit.load(path)
    np.testing.assert_allclose(back.posterior["g_IP"].values, idata.posterior["g_IP"].values)
    assert back.posterior.attrs["model_spec"] == idata.posterior.attrs["model_spec"]
    assert back.spec == result.spec
    # without a panel the fit uses the one it was made on, rebuilt from the file
    assert back.panel.fingerprint() == panel.fingerprint()
    cols = [c for c in panel.df.columns if c in back.panel.df.columns]
    assert cols == list(panel.df.columns)
    pd.testing.assert_frame_equal(back.panel.df, panel.df[cols], check_dtype=False)
    np.testing.assert_allclose(back.predict().values, result.predict().values, rtol=1e-12)
    # with the fitted panel: accepted; with another panel: a clear error, never a silent swap
    assert StructuralFit.load(path, panel).panel is panel
    other, _ = small(3)
    with pytest.raises(StructestError, match="not the one this model was fitted to"):
        StructuralFit.load(path, other)
    # a counterfactual without a panel runs on the fitted one (never the bundled panel)
    cf = structest.counterfactual(StructuralFit.load(path), fva_growth=0.1)
    assert cf.sizes["obs"] == len(panel)
    np.testing.assert_allclose(cf["tstar_base"].values, result.predict().values, rtol=1e-12)


def test_progress_bar_fit_and_x64_restored(capfd) -> None:
    """With progress on, several chains report by chain on stderr (NumPyro's own bar is off
    for the bit-reproducible chain runner); sampling works, and JAX's 64-bit switch is back
    to the caller's setting afterwards."""
    import jax

    panel, _ = small(8)
    before = bool(jax.config.jax_enable_x64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(panel, "bbj", chains=2, draws=20, tune=20, seed=0, n_prior=0, progress_bar=True)
    assert res.posterior.sizes["draw"] == 20
    assert bool(jax.config.jax_enable_x64) == before
    err = capfd.readouterr().err
    assert "sampling 2 chains" in err
    assert "(1/2," in err and "(2/2," in err


def test_functional_api_accepts_fit_and_idata(fitted) -> None:
    panel, _, result = fitted
    a = predict_tstar(result)
    b = predict_tstar(result.idata, panel)
    c = predict_tstar(result.idata)  # the panel stored in the InferenceData
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)
    plain = summarize(result.idata)
    assert result.summary()[list(plain.columns)].equals(plain)
    assert result.diagnostics() == structest.structural.check_sampling(result.idata)


def test_predictions(fitted) -> None:
    panel, _, idata = fitted
    idata = idata.idata
    ts = predict_tstar(idata, panel)
    assert ts.dims == ("chain", "draw", "obs") and ts.shape[2] == len(panel)
    # equals the posterior's own regression part + effects for one draw, recomputed by hand
    post = idata.posterior.isel(chain=0, draw=5)
    d = panel.df
    out = np.where(
        d["rta"] == 1,
        post["g_IP_rta"].item() * d["log_ip_ratio"] + post["g_FVA_rta"].item() * d["log_fva_ratio"],
        post["intercept"].item()
        + post["g_IP"].item() * d["log_ip_ratio"]
        + post["g_FVA"].item() * d["log_fva_ratio"]
        + post["g_DVA"].item() * d["log_dva_ratio"],
    )
    out = out + post["fe_imp_ind_year"].sel(imp_ind_year=d["imp_ind_year"].to_numpy()).values
    out = out + post["fe_exp_ind_year"].sel(exp_ind_year=d["exp_ind_year"].to_numpy()).values
    np.testing.assert_allclose(ts.isel(chain=0, draw=5).values, out, rtol=1e-10)
    # counterfactual: doubling DVA lowers t* outside RTAs by g_DVA * log 2 (g_DVA < 0 -> higher)
    df2 = panel.df[list(panel.df.columns[:20])].copy()
    df2["dva"] = df2["dva"] * 2
    p2 = structest.Panel.from_frame(df2)
    diff = (predict_tstar(idata, p2) - ts).isel(chain=0, draw=5).values
    g_dva = post["g_DVA"].item()
    np.testing.assert_allclose(diff[d["rta"].to_numpy() == 0], g_dva * np.log(2), rtol=1e-8)
    ap = predict_applied(idata, panel, seed=1)
    assert (ap.values <= panel.df["mfn"].to_numpy() + 1e-12).all() and (ap.values >= 0).all()
    nonoise = predict_applied(idata, panel, noise=False)
    np.testing.assert_allclose(
        nonoise.values, np.minimum(np.maximum(ts.values, 0), d["mfn"].to_numpy())
    )


def test_predict_unknown_labels(fitted) -> None:
    panel, _, idata = fitted
    other, _ = structest.simulate(
        seed=3, economies=("USA", "KOR", "MEX"), industries=INDS, years=(1995, 2005)
    )
    with pytest.raises(SpecError, match="not in the fitted model"):
        predict_tstar(idata, other)


def test_summary_and_contraction(fitted) -> None:
    _, _, idata = fitted
    s = summarize(idata)
    assert {"mean", "sd", "5%", "95%", "r_hat", "ess_bulk"} <= set(s.columns)
    c = contraction(idata)
    assert {"prior_sd", "posterior_sd", "contraction"} <= set(c.columns)
    assert (c.loc[list(GS), "contraction"] > 0.9).all()  # the data dominate the g's
    assert c.loc["delta_star", "contraction"] < 0.9  # delta_star vs eps_r_home: prior split


def test_identification_verdicts(fitted) -> None:
    """Data-identified coefficients, prior-driven splits, and a planted prior-data conflict."""
    panel, truth, result = fitted
    ident = result.identification()
    cols = {"contraction", "prior_sensitivity", "likelihood_sensitivity", "prior_tail", "verdict"}
    assert cols <= set(ident.columns)
    for g in ("g_DVA", "g_IP", "g_IP_rta", "sigma"):
        assert ident.loc[g, "verdict"] == "identified by data", ident.loc[g]
    # delta_star and eps_r_home enter only through their product, |lambda| only through
    # eps |lambda|: the splits are the priors'
    for p in ("delta_star", "lambda_abs"):
        assert ident.loc[p, "verdict"] == "driven by priors", ident.loc[p]
    assert "verdict" in result.summary().columns
    # sigma is 1.5 pp in this world; a prior that insists on 0.2 pp conflicts with the data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = fit(
            panel,
            "bbj",
            chains=2,
            draws=150,
            tune=150,
            seed=3,
            n_prior=300,
            progress_bar=False,
            priors={"sigma": ("lognormal", float(np.log(0.2)), 0.05)},
        )
    v = tight.identification(["sigma"]).loc["sigma"]
    assert v["verdict"] == "prior-data conflict", v


@pytest.mark.parametrize("seed", [2, 7])
def test_recovery_truth_in_interval(seed, fitted) -> None:
    """Truth inside the central 99% interval (not 90%: with 2 seeds x 7 quantities a 90%
    interval would miss at least once ~2/3 of the time; 99% keeps the test non-flaky while
    still failing for a biased model). g_IP and g_FVA are separated only by between-cell
    variation (see structest.structural docs), so very small worlds are prior-sensitive; the
    second seed uses the coverage study's larger design. Nominal 90% coverage is checked in
    benchmarks/coverage_study.py."""
    if seed == 2:
        _, truth, result = fitted
        idata = result.idata
    else:  # the coverage study's design: 8 economies x 6 industries (96 cells)
        panel, truth = structest.simulate(
            seed=seed,
            economies=(*ECON, "KOR", "MEX"),
            industries=(*INDS, "c9", "c12"),
            years=(1995, 2005),
        )
        idata = quiet_fit(panel, chains=2, draws=300, tune=300, seed=1, n_prior=0).idata
    for p in (*GS, "sigma", "ratio_g_fva_g_ip"):
        v = idata.posterior[p].values.reshape(-1)
        lo, hi = np.quantile(v, [0.005, 0.995])
        assert lo <= truth[p] <= hi, (p, lo, truth[p], hi)
    assert int(idata.sample_stats["diverging"].sum()) <= 5


@pytest.mark.parametrize("name", ["bbj", "bbj_hier"])
def test_centred_effect_is_the_same_model(name) -> None:
    """Sampling an effect through its cell means changes coordinates, not the model: at the
    same parameters and effects, the joint density with m = fe + cell means s of the
    structural part (and mu + mean(s) for mu) equals the non-centred one in
    z = (fe - mu)/tau, less n log tau (the Jacobian of fe -> z)."""
    import jax
    from numpyro.infer import Predictive
    from numpyro.infer.util import log_density

    panel, _ = small(4)
    centred = load_model(name)
    e = centred.centred_effect
    assert e == "imp_ind_year"
    plain = replace(centred, centred_effect=None)
    d = build_design(panel, centred)
    sizes = {k: len(v) for k, v in d.levels.items()}
    layout = Layout.of(d)
    with jax.enable_x64(True):
        draw = Predictive(model, num_samples=1)(
            jax.random.PRNGKey(3), d.arrays, plain, layout, False
        )
    point = {k: np.asarray(v)[0] for k, v in draw.items()}
    fe = np.asarray(point[f"fe_{e}"])
    params = {
        p: point[f"{p}_group"] if p in centred.hierarchy else point[p] for p in centred.structural
    }
    with jax.enable_x64(True):
        fixed = np.asarray(structest.structural.likelihood.tstar_structural(params, d.arrays))
    idx = d.arrays[f"idx_{e}"]
    shift = np.array([fixed[idx == c].mean() for c in range(sizes[e])])
    values_c = {k: v for k, v in point.items() if k != f"z_{e}"}
    values_c[f"m_{e}"] = np.asarray(fe + shift)
    # mu is carried by the mean level of the cell means (unit Jacobian)
    del values_c["mu"]
    values_c[f"m_{e}_mean"] = point["mu"] + shift.mean()
    with jax.enable_x64(True):
        lp_plain, _ = log_density(model, (d.arrays, plain, layout, True), {}, point)
        lp_centred, _ = log_density(model, (d.arrays, centred, layout, True), {}, values_c)
    tau = float(point[f"tau_{e}"])
    assert float(lp_centred) == pytest.approx(float(lp_plain) - sizes[e] * np.log(tau), rel=1e-10)


@pytest.mark.slow
def test_pymc_front_end_same_posterior() -> None:
    """Posterior means of the g's from PyMC NUTS (same JAX likelihood) and NumPyro agree
    within 4 Monte Carlo standard errors of the difference (~70 s)."""
    import arviz as az

    panel, _ = small(5)
    a = quiet_fit(panel, chains=2, draws=400, tune=400, seed=0, n_prior=0).idata
    b = quiet_fit(panel, chains=2, draws=400, tune=400, seed=0, n_prior=0, backend="pymc").idata
    assert set(a.posterior.data_vars) == set(b.posterior.data_vars)
    for g in GS:
        ma, mb = float(a.posterior[g].mean()), float(b.posterior[g].mean())
        se = np.hypot(float(az.mcse(a, var_names=[g])[g]), float(az.mcse(b, var_names=[g])[g]))
        assert abs(ma - mb) < 4 * se + 1e-9, (g, ma, mb, se)


def test_cli_fit(tmp_path) -> None:
    from typer.testing import CliRunner

    from structest.cli import app

    panel, _ = small(6)
    csv = tmp_path / "p.csv"
    panel.df[list(panel.df.columns[:20])].to_csv(csv, index=False)
    out = tmp_path / "fit.nc"
    env = {**os.environ, "CI": "1"}
    res = CliRunner().invoke(
        app,
        [
            "fit",
            "--out",
            str(out),
            "--data",
            str(csv),
            "--chains",
            "1",
            "--draws",
            "100",
            "--tune",
            "100",
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert out.exists() and "g_DVA" in res.output and "divergences" in res.output
    assert StructuralFit.load(out).posterior.sizes["draw"] == 100


@pytest.mark.slow
def test_mundlak_effects_stay_honest_when_effects_correlate_with_fva() -> None:
    """Importer-industry-year effects that rise with the cell's FVA share break the
    random-effects assumption: plain partially pooled effects (bbj) then put g_IP and g_FVA
    confidently in the wrong place, while Mundlak effects (bbj_cre) cover the truth (~2 min)."""
    from structest.codes import ECONOMIES, INDUSTRIES

    panel, truth = structest.simulate(
        seed=11,
        economies=ECONOMIES[:8],
        industries=INDUSTRIES[:6],
        years=(1995, 2000, 2005, 2009),
        effect_fva_slope=8.0,
    )
    kw = {"chains": 2, "draws": 400, "tune": 400, "seed": 1, "n_prior": 400}
    re_fit, cre_fit = quiet_fit(panel, model="bbj", **kw), quiet_fit(panel, model="bbj_cre", **kw)

    def interval(f, g):
        return np.quantile(f.posterior[g].values.reshape(-1), [0.05, 0.95])

    misses = [
        g
        for g in ("g_IP", "g_FVA")
        if not interval(re_fit, g)[0] <= truth[g] <= interval(re_fit, g)[1]
    ]
    assert misses, "the random-effects fit should be biased here"
    for g in ("g_IP", "g_FVA", "g_DVA"):
        lo, hi = interval(cre_fit, g)
        assert lo <= truth[g] <= hi, (g, lo, truth[g], hi)
    assert "gamma_imp_ind_year" in cre_fit.posterior
    assert cre_fit.posterior["gamma_imp_ind_year"].dims[-1] == "regressor"
