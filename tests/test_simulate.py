"""The synthetic world: calibration to the paper's facts, reproducibility, scale."""

from __future__ import annotations

import numpy as np
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
