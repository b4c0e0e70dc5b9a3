"""Counterfactuals: exact analytic changes at known parameters, the MFN cap,
scenario forms and errors, aggregation, files, the CLI, and posterior uncertainty.

Most tests use a fit built by hand with the structural fit's layout
(:func:`structest.structural.io.assemble_idata`) and every draw at known parameters, so
they are exact and need no sampling. Real NUTS fits are in the ``slow`` test at the end.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import idata_at  # noqa: E402  (tests/ is on sys.path)

import structest
from structest.codes import ECONOMIES, INDUSTRIES, STRUCTURAL_PARAMS
from structest.counterfactuals import (
    Scenario,
    format_summary,
    group_means,
    load_counterfactual,
    measured_growth,
    resolve_growth,
    save_counterfactual,
    save_figures,
    summary_table,
)
from structest.equations import cap, implied_coefficients
from structest.errors import SpecError, StructestError

STRUCT = STRUCTURAL_PARAMS


def _params(truth: dict[str, Any], **change: float) -> dict[str, float]:
    return {**{k: float(truth[k]) for k in (*STRUCT, "sigma")}, **change}


@pytest.fixture(scope="module")
def world():
    panel, truth = structest.simulate(
        seed=1,
        economies=ECONOMIES[:6],
        industries=INDUSTRIES[:5],
        years=(1995, 2002, 2009),
        rta_pair_share=0.4,
    )
    assert 0 < panel.df["rta"].mean() < 1  # both regimes present
    return panel, truth


@pytest.fixture(scope="module")
def at_truth(world):
    panel, truth = world
    return idata_at(panel, [_params(truth), _params(truth)])


@pytest.fixture(scope="module")
def cf_fva(world, at_truth):
    panel, _ = world
    return structest.counterfactual(at_truth, panel, fva_growth=0.5)


# ---------------------------------------------------------------------- exact maths
def test_fva_growth_equals_analytic_change_for_every_observation(world, at_truth, cf_fva):
    panel, truth = world
    rta = panel.df["rta"].to_numpy() == 1
    expected = np.where(rta, truth["g_FVA_rta"], truth["g_FVA"]) * 0.5
    got = (cf_fva["tstar_cf"] - cf_fva["tstar_base"]).values
    assert got.shape == (1, 2, len(panel))
    np.testing.assert_allclose(got, np.broadcast_to(expected, got.shape), rtol=0, atol=1e-8)
    # the paper's arithmetic on this world: mean change inside RTAs = g_FVA_rta x 0.5
    inside = float(cf_fva["d_tstar_by_rta_summary"].sel(rta=1, stat="mean"))
    assert inside == pytest.approx(0.5 * truth["g_FVA_rta"], abs=1e-10)


def test_baseline_tstar_is_the_structural_equation(world, at_truth, cf_fva):
    panel, truth = world
    df = panel.df
    post = at_truth.posterior
    fe = (
        post["fe_imp_ind_year"].values[0, 0][
            pd.Index(post["imp_ind_year"].values).get_indexer(df["imp_ind_year"])
        ]
        + post["fe_exp_ind_year"].values[0, 0][
            pd.Index(post["exp_ind_year"].values).get_indexer(df["exp_ind_year"])
        ]
    )
    out = (
        truth["intercept"]
        + truth["g_IP"] * df["log_ip_ratio"]
        + truth["g_FVA"] * df["log_fva_ratio"]
        + truth["g_DVA"] * df["log_dva_ratio"]
    )
    inside = truth["g_IP_rta"] * df["log_ip_ratio"] + truth["g_FVA_rta"] * df["log_fva_ratio"]
    expected = np.where(df["rta"] == 1, inside, out) + fe
    np.testing.assert_allclose(cf_fva["tstar_base"].values[0, 1], expected, atol=1e-8)


def test_each_draw_uses_its_own_coefficients(world):
    panel, truth = world
    draws = [_params(truth), _params(truth, eps=5.0, eps_tilde=2.0, delta_star=0.4)]
    idata = idata_at(panel, draws)
    cf = structest.counterfactual(idata, panel, fva_growth=-0.3)
    rta = panel.df["rta"].to_numpy() == 1
    for s, d in enumerate(draws):
        g = implied_coefficients(d)
        expected = -0.3 * np.where(rta, g["g_FVA_rta"], g["g_FVA"])
        np.testing.assert_allclose(
            (cf["tstar_cf"] - cf["tstar_base"]).values[0, s], expected, atol=1e-8
        )
    assert not np.allclose(cf["tstar_cf"].values[0, 0], cf["tstar_cf"].values[0, 1])


def test_dva_imports_fg_growth_analytic(world, at_truth):
    panel, truth = world
    rta = panel.df["rta"].to_numpy() == 1
    cf = structest.counterfactual(
        at_truth, panel, dva_growth=0.2, imports_growth=0.1, fg_growth=-0.4
    )
    out = (
        0.2 * truth["g_DVA"]
        - 0.1 * (truth["g_IP"] + truth["g_FVA"] + truth["g_DVA"])
        - 0.4 * truth["g_IP"]
    )
    inside = -0.1 * (truth["g_IP_rta"] + truth["g_FVA_rta"]) - 0.4 * truth["g_IP_rta"]
    np.testing.assert_allclose(
        (cf["tstar_cf"] - cf["tstar_base"]).values[0, 0], np.where(rta, inside, out), atol=1e-8
    )


def test_level_form_analytic():
    panel, truth = structest.simulate(
        seed=2,
        economies=ECONOMIES[:5],
        industries=INDUSTRIES[:3],
        years=(1995, 2009),
        ratios="level",
        rta_pair_share=0.4,
    )
    idata = idata_at(panel, [_params(truth)], model="bbj_level")
    cf = structest.counterfactual(idata, panel, fva_growth=0.5)
    df = panel.df
    g = np.where(df["rta"] == 1, truth["g_FVA_rta"], truth["g_FVA"])
    expected = g * df["fva_ratio"].to_numpy() * (np.exp(0.5) - 1.0)
    np.testing.assert_allclose(
        (cf["tstar_cf"] - cf["tstar_base"]).values[0, 0], expected, atol=1e-8
    )


def test_rta_formation_and_removal_switch_the_regime(world, at_truth):
    panel, truth = world
    df = panel.df
    pairs = df.loc[df["rta"] == 0, ["importer", "exporter"]].drop_duplicates()
    a, b = pairs.iloc[0]
    cf = structest.counterfactual(at_truth, panel, rta=[(a, b)])
    d = (cf["tstar_cf"] - cf["tstar_base"]).values[0, 0]
    x_ip, x_fva, x_dva = (
        df[c].to_numpy() for c in ("log_ip_ratio", "log_fva_ratio", "log_dva_ratio")
    )
    eq14 = truth["g_IP_rta"] * x_ip + truth["g_FVA_rta"] * x_fva
    eq11 = (
        truth["intercept"] + truth["g_IP"] * x_ip + truth["g_FVA"] * x_fva + truth["g_DVA"] * x_dva
    )
    hit = ((df["importer"] == a) & (df["exporter"] == b)) | (
        (df["importer"] == b) & (df["exporter"] == a)
    )
    hit = hit.to_numpy()
    np.testing.assert_allclose(d[hit], (eq14 - eq11)[hit], atol=1e-8)
    np.testing.assert_array_equal(d[~hit], 0.0)
    assert (cf["rta_cf"].values[hit] == 1).all()
    # one direction only
    one = structest.counterfactual(at_truth, panel, rta=[f"{a}-{b}"], rta_symmetric=False)
    moved = (one["tstar_cf"] - one["tstar_base"]).values[0, 0] != 0
    assert moved.any()
    assert (df.loc[moved, "importer"] == a).all() and (df.loc[moved, "exporter"] == b).all()
    # removal: a pair inside an RTA, mapping form
    ra, rb = df.loc[df["rta"] == 1, ["importer", "exporter"]].iloc[0]
    rem = structest.counterfactual(at_truth, panel, rta={(ra, rb): 0})
    hit2 = (
        ((df["importer"] == ra) & (df["exporter"] == rb))
        | ((df["importer"] == rb) & (df["exporter"] == ra))
    ).to_numpy()
    hit2 = hit2 & (df["rta"].to_numpy() == 1)
    assert hit2.any()
    np.testing.assert_allclose(
        (rem["tstar_cf"] - rem["tstar_base"]).values[0, 0][hit2], (eq11 - eq14)[hit2], atol=1e-8
    )


# ---------------------------------------------------------------------- the MFN cap
def test_applied_tariffs_respect_the_cap(world, at_truth, cf_fva):
    panel, _ = world
    ts0, ts1 = cf_fva["tstar_base"].values, cf_fva["tstar_cf"].values
    ap0, ap1 = cf_fva["applied_base"].values, cf_fva["applied_cf"].values
    mfn = panel.df["mfn"].to_numpy()
    assert (ap0 <= mfn + 1e-12).all() and (ap1 <= mfn + 1e-12).all()
    assert (ap0 >= 0).all() and (ap1 >= 0).all()  # bbj's lower bound
    np.testing.assert_array_equal(ap1, np.clip(ts1, 0.0, mfn))
    above = (ts0 >= mfn) & (ts1 >= mfn)
    assert above.sum() > 10 and (~above).sum() > 10
    np.testing.assert_array_equal((ap1 - ap0)[above], 0.0)
    interior = (ts0 > 0) & (ts0 < mfn) & (ts1 > 0) & (ts1 < mfn)
    assert interior.any()
    np.testing.assert_allclose((ap1 - ap0)[interior], (ts1 - ts0)[interior], atol=1e-12)
    # the cap absorbs part of the effect: the applied change is smaller on average
    assert abs(float(cf_fva["d_applied_all"].mean())) < abs(float(cf_fva["d_tstar_all"].mean()))
    # a fall in t* never raises the share at MFN
    assert float(cf_fva["d_share_mfn_all"].max()) <= 0


def test_mfn_cut_moves_the_cap_not_tstar(world, at_truth):
    panel, _ = world
    mfn0 = panel.df["mfn"].to_numpy()
    cf = structest.counterfactual(at_truth, panel, mfn=0.5)
    np.testing.assert_array_equal(cf["tstar_cf"].values, cf["tstar_base"].values)
    np.testing.assert_allclose(cf["mfn_cf"].values, 0.5 * mfn0)
    np.testing.assert_array_equal(
        cf["applied_cf"].values, np.clip(cf["tstar_base"].values, 0, 0.5 * mfn0)
    )
    assert (cf["applied_cf"].values <= 0.5 * mfn0 + 1e-12).all()
    # preference (applied - MFN) shrinks towards 0 where MFN falls
    assert float(cf["d_pref_all"].mean()) >= 0
    # by-importer multipliers: only that importer's caps move
    imp = panel.df["importer"].iloc[0]
    one = structest.counterfactual(at_truth, panel, mfn={imp: 0.0})
    mask = (panel.df["importer"] == imp).to_numpy()
    np.testing.assert_array_equal(one["mfn_cf"].values[mask], 0.0)
    np.testing.assert_array_equal(one["mfn_cf"].values[~mask], mfn0[~mask])
    np.testing.assert_array_equal(one["applied_cf"].values[..., mask], 0.0)
    assert float(one["share_mfn_cf_by_importer"].sel(importer=imp).min()) == 1.0


def test_noise_is_common_to_both_states(world, at_truth):
    panel, _ = world
    quiet = structest.counterfactual(at_truth, panel, fva_growth=0.5)
    noisy = structest.counterfactual(at_truth, panel, fva_growth=0.5, noise=True, seed=3)
    np.testing.assert_array_equal(noisy["tstar_base"].values, quiet["tstar_base"].values)
    assert not np.allclose(noisy["applied_base"].values, quiet["applied_base"].values)
    none = structest.counterfactual(at_truth, panel, noise=True, seed=3)
    np.testing.assert_array_equal(none["applied_cf"].values, none["applied_base"].values)
    assert noisy.attrs["noise"] == 1 and "common" in noisy.attrs["applied_definition"]


def test_cap_helper():
    t = np.array([-1.0, 2.0, 9.0])
    np.testing.assert_array_equal(cap(t, np.array([5.0, 5.0, 5.0]), 0.0), [0.0, 2.0, 5.0])
    np.testing.assert_array_equal(cap(t, np.array([5.0, 1.0, 5.0]), None), [-1.0, 1.0, 5.0])


# ---------------------------------------------------------------------- aggregation
def test_aggregates_match_groupby(world, cf_fva):
    panel, _ = world
    df = panel.df
    d_applied = (cf_fva["applied_cf"] - cf_fva["applied_base"]).values[0, 1]
    by_hand = pd.Series(d_applied).groupby(df["industry"].to_numpy()).mean()
    got = cf_fva["d_applied_by_industry"].values[0, 1]
    np.testing.assert_allclose(got, by_hand.loc[cf_fva["industry"].values].to_numpy(), atol=1e-12)
    at = (cf_fva["applied_base"].values[0, 0] >= df["mfn"].to_numpy() - 1e-6).astype(float)
    share = pd.Series(at).groupby(df["exporter"].to_numpy()).mean()
    np.testing.assert_allclose(
        cf_fva["share_mfn_base_by_exporter"].values[0, 0],
        share.loc[cf_fva["exporter"].values].to_numpy(),
    )
    for dim in ("importer", "industry", "exporter", "year", "rta"):
        assert dim in cf_fva.dims
        summ = cf_fva[f"d_tstar_by_{dim}_summary"]
        assert summ.dims == (dim, "stat")
        np.testing.assert_allclose(
            summ.sel(stat="mean"), cf_fva[f"d_tstar_by_{dim}"].mean(("chain", "draw"))
        )
    s = cf_fva["d_tstar_all_summary"]
    assert float(s.sel(stat="lo")) <= float(s.sel(stat="median")) <= float(s.sel(stat="hi"))
    assert list(cf_fva["stat"].values) == ["mean", "median", "lo", "hi"]


def test_group_means_and_summary_table(cf_fva):
    levels, m = group_means(np.array([[1.0, 2.0, 3.0, 5.0]]), np.array(["b", "a", "b", "a"]))
    assert list(levels) == ["a", "b"]
    np.testing.assert_allclose(m, [[3.5, 2.0]])
    tab = summary_table(cf_fva, "importer")
    assert list(tab.index) == list(cf_fva["importer"].values)
    assert ("d_tstar", "mean") in tab.columns and ("share_mfn_cf", "hi") in tab.columns
    text = format_summary(cf_fva)
    assert "d_optimal" in text and "d_applied" in text and "at_MFN" in text
    with pytest.raises(StructestError, match="no aggregate by 'pair'"):
        summary_table(cf_fva, "pair")


# ---------------------------------------------------------------------- scenario forms
def test_growth_forms_agree(world, at_truth):
    panel, truth = world
    df = panel.df
    imp, ind = df["importer"].iloc[0], df["industry"].iloc[0]
    g = resolve_growth({imp: 0.2, ind: 0.1, (imp, ind): 0.05}, df, "fva_growth")
    expected = (
        0.2 * (df["importer"] == imp)
        + 0.1 * (df["industry"] == ind)
        + 0.05 * ((df["importer"] == imp) & (df["industry"] == ind))
    )
    np.testing.assert_allclose(g, expected.to_numpy())
    s = pd.Series({(imp, ind): 0.3}).rename_axis(["importer", "industry"])
    np.testing.assert_allclose(
        resolve_growth(s, df, "x"),
        0.3 * ((df["importer"] == imp) & (df["industry"] == ind)).to_numpy(),
    )
    arr = np.linspace(0, 1, len(df))
    np.testing.assert_array_equal(resolve_growth(arr, df, "x"), arr)
    np.testing.assert_array_equal(resolve_growth(pd.Series(arr, index=df.index), df, "x"), arr)
    # the dict form gives the analytic change only where it applies
    cf = structest.counterfactual(at_truth, panel, fva_growth={imp: 0.5})
    rta = df["rta"].to_numpy() == 1
    exp_d = np.where(df["importer"] == imp, 0.5, 0.0) * np.where(
        rta, truth["g_FVA_rta"], truth["g_FVA"]
    )
    np.testing.assert_allclose((cf["tstar_cf"] - cf["tstar_base"]).values[0, 0], exp_d, atol=1e-8)
    np.testing.assert_allclose(cf["dlog_fva"].values, np.where(df["importer"] == imp, 0.5, 0.0))


def test_scenario_object_dict_and_keywords_agree(world, at_truth):
    panel, _ = world
    a = structest.counterfactual(at_truth, panel, fva_growth=0.4, mfn=0.8)
    b = structest.counterfactual(at_truth, panel, scenario=Scenario(fva_growth=0.4, mfn=0.8))
    c = structest.counterfactual(at_truth, panel, scenario={"fva_growth": 0.4, "mfn": 0.8})
    for other in (b, c):
        np.testing.assert_array_equal(a["applied_cf"].values, other["applied_cf"].values)
    with pytest.raises(SpecError, match="not both"):
        structest.counterfactual(at_truth, panel, fva_growth=0.4, scenario=Scenario(mfn=0.8))
    with pytest.raises(SpecError, match="unknown key"):
        Scenario.from_dict({"fva": 0.4})
    # apply keeps rows, order and effect keys
    cf_panel = Scenario(imports_growth=0.3).apply(panel)
    pd.testing.assert_frame_equal(
        cf_panel.df[["importer", "exporter", "industry", "year", "imp_ind_year_decile"]],
        panel.df[["importer", "exporter", "industry", "year", "imp_ind_year_decile"]],
    )
    np.testing.assert_allclose(cf_panel.df["log_imports"], panel.df["log_imports"] + 0.3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fva_growth": {"XXX": 0.5}}, "unknown key 'XXX'"),
        ({"dva_growth": {("USA", "c99"): 0.5}}, "not an \\(importer, industry\\) pair"),
        ({"rta": [("AUS", "XXX")]}, "pair \\('AUS', 'XXX'\\) is not in the panel"),
        ({"rta": ["AUSBRA"]}, "cannot read pair"),
        ({"rta": {("AUS", "BRA"): 2}}, "must be 0 or 1"),
        ({"mfn": -0.5}, "MFN multiplier must be >= 0"),
        ({"mfn": {"AUS": -1}}, "MFN multiplier must be >= 0"),
        ({"fva_growth": "growth"}, "wiod:1995-2007"),
        ({"imports_growth": "wiod:1995-2009"}, "FVA, DVA and FG only"),
        ({"fva_growth": np.zeros(3)}, "3 values"),
        ({"fva_growth": float("nan")}, "not finite"),
        (
            {"fva_growth": pd.Series({"XXX": 1.0}).rename_axis("importer")},
            "importer label\\(s\\) \\['XXX'\\]",
        ),
        ({"interval": 1.5}, "interval"),
        ({"lower": "zero"}, "lower"),
        ({"by": ("nope",)}, "by column"),
    ],
)
def test_bad_input_names_the_problem(world, at_truth, kwargs, match):
    panel, _ = world
    with pytest.raises(SpecError, match=match):
        structest.counterfactual(at_truth, panel, **kwargs)


def test_negative_new_mfn_rates_raise(world, at_truth):
    panel, _ = world
    rates = panel.df["mfn"].to_numpy().copy()
    rates[4] = -1.0
    with pytest.raises(SpecError, match="row 4"):
        structest.counterfactual(at_truth, panel, mfn=rates)


def test_labels_outside_the_fit_raise(at_truth):
    other, _ = structest.simulate(
        seed=5, economies=ECONOMIES[6:10], industries=INDUSTRIES[:2], years=(1995,)
    )
    with pytest.raises(SpecError, match="not in the fitted model"):
        structest.counterfactual(at_truth, other, fva_growth=0.5)
    with pytest.raises(StructestError, match="InferenceData"):
        structest.counterfactual({"posterior": None}, other)


def test_measured_wiod_growth(real_panel):
    s = measured_growth("fva", 1995, 2009)
    assert s.index.names == ["importer", "industry"]
    v0, v1 = structest.va_contents(1995), structest.va_contents(2009)
    f0 = float(
        v0.sel(producer="USA", industry="c3").sum()
        - v0.sel(source="USA", producer="USA", industry="c3")
    )
    f1 = float(
        v1.sel(producer="USA", industry="c3").sum()
        - v1.sel(source="USA", producer="USA", industry="c3")
    )
    assert s.loc[("USA", "c3")] == pytest.approx(np.log(f1 / f0))
    d = measured_growth("dva", 1995, 2009)
    assert d.index.names == ["importer", "exporter", "industry"]
    g = resolve_growth("wiod:1995-2011", real_panel.df, "fva_growth", column="fva")
    row = real_panel.df.index[
        (real_panel.df["importer"] == "USA") & (real_panel.df["industry"] == "c3")
    ][0]
    assert g[row] == pytest.approx(measured_growth("fva", 1995, 2011).loc[("USA", "c3")])
    # cells with non-positive VA in a year are named, not silently set to 0
    with pytest.raises(SpecError, match="IDN', 'c12'"):
        resolve_growth("wiod:1995-2009", real_panel.df, "fva_growth", column="fva")
    with pytest.raises(SpecError, match="kind"):
        measured_growth("imports")


# ---------------------------------------------------------------------- files and CLI
def test_netcdf_roundtrip_and_figures(cf_fva, tmp_path):
    path = save_counterfactual(cf_fva, tmp_path / "sub" / "cf.nc")
    assert path.exists() and not list(path.parent.glob(".*tmp"))
    back = load_counterfactual(path)
    xr.testing.assert_allclose(back["tstar_cf"], cf_fva["tstar_cf"])
    assert back.attrs["scenario"] == cf_fva.attrs["scenario"]
    files = save_figures(cf_fva, tmp_path / "figs")
    assert {p.name for p in files} >= {"cf_importer.png", "cf_industry.png"}
    assert all(p.stat().st_size > 1000 for p in files)


def test_cli_counterfactual(world, at_truth, tmp_path):
    panel, _ = world
    fit_path = at_truth.save(tmp_path / "fit.nc")
    data = tmp_path / "panel.parquet"
    panel.df[
        [c for c in panel.df.columns if c in (*structest.panel.REQUIRED, *structest.panel.OPTIONAL)]
    ].to_parquet(data)
    a, b = panel.df.loc[panel.df["rta"] == 0, ["importer", "exporter"]].iloc[0]

    def run(*args: str) -> subprocess.CompletedProcess:
        cmd = [
            sys.executable,
            "-m",
            "structest.cli",
            "counterfactual",
            "--fit",
            str(fit_path),
            "--data",
            str(data),
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True)

    out = run(
        "--fva-growth",
        "0.5",
        "--rta-add",
        f"{a}-{b}",
        "--mfn-scale",
        "0.9",
        "--out",
        str(tmp_path / "cf.nc"),
        "--figures",
        str(tmp_path / "figs"),
        "--by",
        "industry",
    )
    assert out.returncode == 0, out.stderr
    assert "d_optimal" in out.stdout and "d_applied" in out.stdout and "industry" in out.stdout
    ds = load_counterfactual(tmp_path / "cf.nc")
    ref = structest.counterfactual(at_truth, panel, fva_growth=0.5, rta=[(a, b)], mfn=0.9)
    np.testing.assert_allclose(ds["applied_cf"].values, ref["applied_cf"].values)
    assert (tmp_path / "figs" / "cf_importer.png").exists()
    bad = run("--rta-add", "AUS-XXX")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "XXX" in bad.stderr
    bad = run("--fva-growth", "lots")
    assert bad.returncode == 2 and "--fva-growth" in bad.stderr


# ---------------------------------------------------------------------- uncertainty
def _spread_idata(panel, truth, scale: float, n: int = 200, seed: int = 0):
    """Draws of eps_tilde and eps around the truth with log-sd ``scale``."""
    rng = np.random.default_rng(seed)
    draws = [
        _params(
            truth,
            eps=truth["eps"] * np.exp(scale * rng.standard_normal()),
            eps_tilde=truth["eps_tilde"] * np.exp(scale * rng.standard_normal()),
        )
        for _ in range(n)
    ]
    return idata_at(panel, draws)


def _width(ds: xr.Dataset, var: str = "d_tstar_all_summary", **sel: Any) -> float:
    s = ds[var].sel(**sel) if sel else ds[var]
    return float(s.sel(stat="hi") - s.sel(stat="lo"))


def test_intervals_propagate_posterior_spread(world):
    """Fast variant: a posterior 4x tighter (as from a 16x larger panel) gives ~4x narrower
    counterfactual intervals; a point posterior gives zero width."""
    panel, truth = world
    wide = structest.counterfactual(_spread_idata(panel, truth, 0.4), panel, fva_growth=0.5)
    tight = structest.counterfactual(_spread_idata(panel, truth, 0.1), panel, fva_growth=0.5)
    ww, wt = _width(wide), _width(tight)
    assert wt < 0.5 * ww
    assert wt / ww == pytest.approx(0.25, rel=0.35)
    point = structest.counterfactual(idata_at(panel, [_params(truth)] * 3), panel, fva_growth=0.5)
    assert _width(point) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_intervals_shrink_with_panel_size():
    """Real NUTS fits on a small and a large synthetic world: narrower counterfactual
    intervals for the larger one (FVA +0.5 log points, inside RTAs and overall)."""
    widths = {}
    for label, ne, nx in (("small", 5, 3), ("large", 12, 10)):
        panel, _ = structest.simulate(
            seed=3,
            economies=ECONOMIES[:ne],
            industries=INDUSTRIES[:nx],
            years=(1995, 2009),
            rta_pair_share=0.3,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = structest.fit(
                panel, "bbj", chains=1, draws=200, tune=200, seed=1, progress_bar=False, n_prior=10
            )
        cf = structest.counterfactual(idata, panel, fva_growth=0.5)
        widths[label] = (_width(cf), _width(cf, "d_tstar_by_rta_summary", rta=1))
    assert widths["large"][0] < widths["small"][0]
    assert widths["large"][1] < widths["small"][1]


def test_thin_keeps_every_nth_draw(world):
    panel, truth = world
    idata = _spread_idata(panel, truth, 0.2, n=10)
    full = structest.counterfactual(idata, panel, fva_growth=0.5)
    half = structest.counterfactual(idata, panel, fva_growth=0.5, thin=2)
    assert half.sizes["draw"] == 5
    np.testing.assert_array_equal(half["tstar_cf"].values, full["tstar_cf"].values[:, ::2])
    with pytest.raises(SpecError, match="thin"):
        structest.counterfactual(idata, panel, thin=0)
