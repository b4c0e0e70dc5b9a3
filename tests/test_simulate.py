"""The synthetic world: calibration to the paper's facts, reproducibility, scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import structest
from structest.equations import implied_coefficients
from structest.errors import StructestError
from structest.structural.design import build_design
from structest.structural.spec import available_models, load_model


def test_reproducible():
    a, ta = structest.simulate(seed=3)
    b, tb = structest.simulate(seed=3)
    c, _ = structest.simulate(seed=4)
    assert ta == tb
    np.testing.assert_array_equal(a.df["tariff"], b.df["tariff"])
    assert not np.allclose(a.df["tariff"], c.df["tariff"])


def test_calibrated_facts(sim):
    panel, truth = sim
    d = panel.df
    assert len(d) == 14 * 13 * 14 * 4
    pref_share = (~d["censored"]).mean()
    assert 0.28 < pref_share < 0.45  # about a third with preferences
    pref = d.loc[d["preference"] < -1e-9, "preference"]
    assert -3.0 < pref.median() < -1.0  # median preference about -2 pp
    assert 6.0 < d["tariff"].median() < 10.0  # median tariff about 8 %
    spread = d.groupby("imp_ind_year")["log_dva"].agg(lambda s: s.quantile(0.95) - s.quantile(0.05))
    assert 3.5 < spread.median() < 6.0  # about 5 log points within importer-industry-year
    assert 0.65 < np.corrcoef(d["log_dva"], d["log_imports"])[0, 1] < 0.85
    assert (d["tariff"] <= d["mfn"] + 1e-12).all() and (d["tariff"] >= 0).all()


def test_structure_matches_truth(sim):
    """Uncensored, non-RTA observations satisfy the structural equation up to FE and noise."""
    panel, truth = sim
    d = panel.df
    g = implied_coefficients(truth)
    assert g["g_DVA"] == pytest.approx(truth["g_DVA"])
    # latent t* respects the MFN cap and the zero lower bound
    inside = (d["tstar_true"] < d["mfn"]) & (d["tstar_true"] > 0)
    np.testing.assert_allclose(d.loc[inside, "tariff"], d.loc[inside, "tstar_true"])
    assert (d["censored"] == (d["tstar_true"] >= d["mfn"])).all()
    # regressing t* on the ratios within cells recovers g_DVA (no censoring on t*); within
    # importer-industry-year cells ln(FVA/IM) and ln(FG/IM) differ by a cell constant, so
    # only g_IP + g_FVA is identified: the coefficient on ln(FG/IM) estimates that sum
    import pyfixest as pf

    nr = d[d["rta"] == 0]
    fit = pf.feols("tstar_true ~ log_dva_ratio + log_ip_ratio | imp_ind_year + exp_ind_year", nr)
    assert fit.coef()["log_dva_ratio"] == pytest.approx(truth["g_DVA"], abs=0.1)
    assert fit.coef()["log_ip_ratio"] == pytest.approx(truth["g_IP"] + truth["g_FVA"], abs=0.1)


def test_overrides_and_errors():
    p, t = structest.simulate(seed=0, economies=("USA", "CHN", "JPN"), years=(2005,), eps=5.0)
    assert t["eps"] == 5.0 and t["intercept"] == pytest.approx(20.0)
    assert set(p.df["year"]) == {2005}
    with pytest.raises(StructestError, match="unknown parameter"):
        structest.simulate(seed=0, epsilon=3)
    with pytest.raises(StructestError, match="'sigma' must be > 0"):
        structest.simulate(seed=0, sigma=0)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"economies": 5}, "'economies' must be a non-empty sequence"),
        ({"industries": "c1"}, "'industries' must be a non-empty sequence"),
        ({"years": ()}, "'years' must be a non-empty sequence"),
        ({"years": ("2005",)}, "'years' must be integers"),
        ({"eps": "five"}, "'eps' must be a number"),
        ({"n_products": None}, "'n_products' must be a number"),
        ({"nu": "x"}, "'nu' must be a number"),
        ({"delta_rta": "x"}, "'delta_rta' must be a number"),
    ],
)
def test_bad_world_arguments_name_the_argument(bad, message):
    with pytest.raises(StructestError, match=message):
        structest.simulate(seed=0, **bad)


def test_scales_with_products():
    p, _ = structest.simulate(seed=0, n_products=10)
    assert len(p) == 14 * 13 * 14 * 4 * 10
    assert p.df.duplicated(["importer", "exporter", "industry", "year", "product"]).sum() == 0
    assert (p.df["tariff"] <= p.df["mfn"] + 1e-12).all()


def test_no_lower_bound_gives_negative_tariffs():
    p, t = structest.simulate(seed=0, lower=None)
    assert t["lower"] is None
    assert (p.df["tariff"] < 0).any()
    assert (p.df["tariff"] <= p.df["mfn"] + 1e-12).all()


@pytest.mark.parametrize("model", available_models())
def test_every_bundled_model_can_be_simulated(model):
    """simulate_model draws each model's process; the world has its features."""

    small = {
        "economies": ("USA", "CHN", "MEX", "CAN", "JPN", "IND"),
        "industries": ("c3", "c4", "c9"),
    }
    panel, truth = structest.simulate_model(model, seed=2, **small)
    spec = load_model(model)
    assert truth["model"] == spec.name
    design = build_design(panel, spec)  # every effect and group column exists
    assert design.n == len(panel)
    resid = panel.df["tstar_true"].to_numpy()
    if spec.gsp_regime:
        assert truth["gsp_shift"] != 0
    if not spec.rta_regime:
        assert truth["rta_regime"] is False
    for p, col in spec.hierarchy.items():
        if p != "sigma":
            assert len(set(truth[f"{p}_by_{col}"].values())) > 1
    assert np.isfinite(resid).all()


def test_outlier_share_by_regime_widens_only_that_regimes_shocks():
    """With the same seed, a world whose wide shocks are 20 times the scale differs from
    one with scale 1 exactly on the wide shocks: only in the regime given a share, and on
    about that share of its observations."""
    from structest.data.describe import regime

    kw = {"seed": 3, "economies": ("USA", "CHN", "MEX", "CAN", "JPN", "IND", "BRA", "KOR")}
    shares = {"other": 0.0, "GSP-eligible": 0.4, "RTA": 0.0}
    base, _ = structest.simulate(outlier_share=shares, outlier_scale=1.0, **kw)
    wide, truth = structest.simulate(outlier_share=shares, outlier_scale=20.0, **kw)
    assert truth["outlier_share"] == shares
    lab = regime(base.df).to_numpy()
    moved = ~np.isclose(base.df["tstar_true"], wide.df["tstar_true"], rtol=0, atol=1e-9)
    assert not moved[lab != "GSP-eligible"].any()
    frac = moved[lab == "GSP-eligible"].mean()
    n = (lab == "GSP-eligible").sum()
    assert n > 200 and abs(frac - 0.4) < 4 * np.sqrt(0.4 * 0.6 / n)


def test_level_shifts_vary_additively_by_group():
    """rta_shift and gsp_shift by importer are the population value plus pp deviations
    (negative and positive), as the model's additive hierarchy writes them."""
    _, truth = structest.simulate(
        seed=1,
        rta_shift=-2.0,
        gsp_shift=-1.0,
        hierarchy={"rta_shift": ("importer", 3.0), "gsp_shift": ("importer", 1.0, "additive")},
    )
    for name, pop in (("rta_shift", -2.0), ("gsp_shift", -1.0)):
        dev = np.array(list(truth[f"{name}_by_importer"].values())) - pop
        assert (dev < 0).any() and (dev > 0).any()
    # a logit hierarchy keeps a share parameter inside (0, 1)
    _, truth = structest.simulate(seed=1, hierarchy={"delta_star": ("industry", 3.0, "logit")})
    vals = np.array(list(truth["delta_star_by_industry"].values()))
    assert ((vals > 0) & (vals < 1)).all() and vals.std() > 0.1


@pytest.mark.parametrize(
    "bad",
    [
        {"outlier_share": {"RTA": 1.5}},
        {"outlier_share": {"nowhere": 0.1}},
        {"outlier_share": {"all": 0.1}},  # a dict names regimes; a number means all
        {"outlier_share": "x"},
        {"hierarchy": {"delta_star": ("industry", 0.3, "probit")}},
        {"hierarchy": {"eps": ("industry", "0.3")}},
    ],
)
def test_bad_group_options_are_refused(bad):
    with pytest.raises(StructestError, match="simulate: "):
        structest.simulate(seed=0, **bad)


def test_regime_mfn_slopes_move_tstar_with_mfn_outside_rtas():
    """With the same seed, slopes of 0.5 (other) and -0.3 (GSP) move each pair's t* by
    slope x (MFN - 10) in its regime, and RTA pairs not at all, up to the one constant
    that recalibrates the effects' mean."""
    from structest.data.describe import regime
    from structest.equations import MFN_REF

    kw = {"seed": 5, "gsp_shift": -1.0}
    base, _ = structest.simulate(**kw)
    moved, truth = structest.simulate(mfn_slope_other=0.5, mfn_slope_gsp=-0.3, **kw)
    assert (truth["g_MFN_other"], truth["g_MFN_GSP"]) == (0.5, -0.3)
    lab = regime(base.df).to_numpy()
    slope = np.select([lab == "other", lab == "GSP-eligible"], [0.5, -0.3], 0.0)
    mfn = base.df["mfn"].to_numpy()
    np.testing.assert_allclose(moved.df["mfn"], mfn)
    rest = moved.df["tstar_true"] - base.df["tstar_true"] - slope * (mfn - MFN_REF)
    assert {"other", "GSP-eligible", "RTA"} <= set(lab)
    assert np.ptp(rest) < 1e-9


def test_sigma_mfn_by_group_scales_only_the_errors():
    """The error scale's MFN power by industry: with sd 0 every industry has the population
    power and the world is the one without the hierarchy, draw for draw; with sd > 0 the
    industries' powers differ and only the errors move (the truth's structural part, the
    MFN rates and the flags stay)."""
    kw = {"seed": 4, "economies": ("USA", "CHN", "MEX", "CAN", "JPN", "IND"), "sigma_mfn": 0.8}
    base, _ = structest.simulate(**kw)
    flat, t0 = structest.simulate(hierarchy={"sigma_mfn": ("industry", 0.0)}, **kw)
    np.testing.assert_array_equal(base.df["tstar_true"], flat.df["tstar_true"])
    assert set(t0["sigma_mfn_by_industry"].values()) == {0.8}
    wide, t1 = structest.simulate(hierarchy={"sigma_mfn": ("industry", 0.3)}, **kw)
    powers = pd.Series(t1["sigma_mfn_by_industry"])
    assert powers.std() > 0.1 and abs(powers.mean() - 0.8) < 0.5
    for col in ("mfn", "rta", "gsp", "log_dva_ratio"):
        np.testing.assert_array_equal(base.df[col], wide.df[col])
    assert not np.allclose(base.df["tstar_true"], wide.df["tstar_true"])
    with pytest.raises(StructestError, match="sigma_mfn"):
        structest.simulate(hierarchy={"sigma_mfn": ("regime", 0.3)}, **kw)
