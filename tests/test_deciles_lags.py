"""Pooled import deciles (Stata xtile rule), derived RTA-broad / GSP-services columns and the
lagged instruments: values, validation and the rows estimation drops for them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import structest
from structest import Panel, PanelError, SpecError
from structest.panel import LAGGED, add_derived_columns, xtile
from structest.reduced import fit_reduced_form

KEY = ["importer", "exporter", "industry"]


# ---------------------------------------------------------------- the xtile rule
def test_xtile_known_values():
    np.testing.assert_array_equal(xtile(np.arange(1.0, 11.0)), np.arange(1, 11))
    np.testing.assert_array_equal(xtile(np.arange(1.0, 21.0)), np.repeat(np.arange(1, 11), 2))
    # Stata: cuts 1, 1, 1, 1, 1.5, 2.5, 3.5, 4.5, 5.5 -> the five 1s share bin 1
    np.testing.assert_array_equal(
        xtile(np.array([1, 1, 1, 1, 1, 2, 3, 4, 5, 6.0])), [1, 1, 1, 1, 1, 6, 7, 8, 9, 10]
    )
    np.testing.assert_array_equal(xtile(np.array([7.0])), [1])
    assert xtile(np.array([])).shape == (0,)
    np.testing.assert_array_equal(xtile(np.arange(1.0, 5.0), n=4), [1, 2, 3, 4])


def test_xtile_is_a_function_of_the_value_not_the_row_order():
    rng = np.random.default_rng(0)
    v = rng.integers(1, 30, 500).astype(float)  # many ties, as WIOD's whole USD millions
    b = xtile(v)
    perm = rng.permutation(len(v))
    np.testing.assert_array_equal(xtile(v[perm]), b[perm])
    assert pd.Series(b).groupby(v).nunique().max() == 1
    assert b.min() == 1 and b.max() == 10


# ---------------------------------------------------------------- pooled deciles on the panel
def test_bundled_deciles_are_pooled(real_panel):
    d = real_panel.df
    bins = d["imp_ind_year_decile"].str.rsplit("_d", n=1).str[1].astype(int)
    np.testing.assert_array_equal(bins.to_numpy(), xtile(d["imports"].to_numpy()))
    # one pooled distribution: equal imports share a bin in both years
    assert bins.groupby(d["imports"]).nunique().max() == 1
    assert (d["imp_ind_year_decile"].str.rsplit("_d", n=1).str[0] == d["imp_ind_year"]).all()
    # the within-cell ranks gave 2,935 levels for 3,071 rows (R^2 0.999); pooled bins do not
    assert d["imp_ind_year_decile"].nunique() == 1856


def test_bundled_eq16_eq17_with_decile_effects(real_panel):
    """Table 2 panel A on the bundled panel (paper, 8,853 obs: -0.92 (0.27); col 3 +0.26)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit_reduced_form(real_panel, "eq16_decile")
        c = fit_reduced_form(real_panel, "eq17_decile")
    np.testing.assert_allclose(a.params["log_dva"], -1.1151, atol=5e-4)
    np.testing.assert_allclose(a.se["log_dva"], 0.2311, atol=5e-4)
    assert 0.9 < a.r2 < 0.99
    np.testing.assert_allclose(c.params["log_dva_nonrta"], -0.9354, atol=5e-4)
    np.testing.assert_allclose(c.params["log_dva_rta"], -0.4170, atol=5e-4)
    assert abs(c.params["log_dva_rta"]) < 1.96 * c.se["log_dva_rta"]  # inside RTAs: no effect


def test_deciles_do_not_change_when_a_sample_is_taken(real_panel):
    sub = real_panel.subset(real_panel.df["rta"] == 0, "no RTA")
    keep = real_panel.df["rta"].to_numpy() == 0
    np.testing.assert_array_equal(
        sub.df["imp_ind_year_decile"].to_numpy(),
        real_panel.df.loc[keep, "imp_ind_year_decile"].to_numpy(),
    )


# ---------------------------------------------------------------- derived columns
def test_broad_rta_and_services_gsp_columns(real_panel):
    d = real_panel.df
    np.testing.assert_allclose(d["log_dva_rta_broad"] + d["log_dva_nonrta_broad"], d["log_dva"])
    np.testing.assert_allclose(d["log_dva_rta_broad"], d["rta_broad"] * d["log_dva"])
    np.testing.assert_allclose(
        d["log_dva_services_gsp"] + d["log_dva_services_nongsp"], d["log_dva_services"]
    )
    np.testing.assert_allclose(d["log_dva_services_gsp"], d["gsp"] * d["log_dva_services"])


def test_add_derived_columns_is_pure(real_panel):
    raw = real_panel.df[[c for c in real_panel.df.columns if not c.startswith("log_")]].copy()
    before = raw.copy()
    out = add_derived_columns(raw)
    pd.testing.assert_frame_equal(raw, before)
    assert set(LAGGED) <= set(out.columns)


# ---------------------------------------------------------------- lagged instruments
def test_bundled_lags(real_panel):
    d = real_panel.df
    first = d["year"] == 1995
    for lag in LAGGED:
        assert d.loc[first, lag].isna().all(), lag
    # log_dva_lag: the WIOD DVA of 1995 (the dva_lag column), known for every 2005 row
    np.testing.assert_allclose(d.loc[~first, "log_dva_lag"], np.log(d.loc[~first, "dva_lag"]))
    later = d.loc[~first].merge(
        d.loc[first, [*KEY, "log_dva_ratio", "log_fva_ratio", "log_ip_ratio"]],
        on=KEY,
        how="left",
        suffixes=("", "_1995"),
    )
    for base in ("log_dva_ratio", "log_fva_ratio", "log_ip_ratio"):
        np.testing.assert_array_equal(
            later[f"{base}_lag"].to_numpy(), later[f"{base}_1995"].to_numpy()
        )
    # 2005 rows whose triple has no 1995 row (dropped for IM <= 0): no ratio lags
    assert int(d.loc[~first, "log_fva_ratio_lag"].isna().sum()) == 189
    assert int(d["log_fva_ratio_lag"].notna().sum()) == 1417
    both = d.loc[~first].merge(d.loc[first, [*KEY, "log_dva"]], on=KEY, suffixes=("", "_1995"))
    np.testing.assert_allclose(both["log_dva_lag"], both["log_dva_1995"], rtol=1e-12)


def test_lag_without_a_dva_lag_column_uses_the_earliest_row():
    panel, _ = structest.simulate(
        seed=3,
        economies=("USA", "CHN", "JPN", "MEX"),
        industries=("c3", "c4"),
        years=(1995, 2000, 2005),
    )
    d = panel.df
    raw = d[[c for c in d.columns if c in structest.panel.REQUIRED]].copy()
    built = Panel.from_frame(raw).df
    first = built.loc[built["year"] == 1995, [*KEY, "log_dva"]]
    later = built.loc[built["year"] > 1995].merge(first, on=KEY, suffixes=("", "_95"))
    np.testing.assert_allclose(later["log_dva_lag"], later["log_dva_95"])
    # the synthetic generator's dva_lag is the first year's DVA: the same values
    np.testing.assert_allclose(
        d.loc[d["year"] > 1995, "log_dva_lag"].to_numpy(),
        built.loc[built["year"] > 1995, "log_dva_lag"].to_numpy(),
    )


def test_validation_accepts_nan_lags_only(real_panel):
    assert len(Panel(real_panel.df)) == len(real_panel.df)  # a built frame with NaN lags
    assert len(real_panel.subset(real_panel.df["year"] == 2005, "2005 only")) == 1606


BAD_FRAMES = [
    (
        "inf-lag",
        lambda d: d.assign(log_dva_lag=np.where(d["year"] == 2005, np.inf, d["log_dva_lag"])),
        r"derived column 'log_dva_lag' is not finite in 1606 row",
    ),
    (
        "nan-derived-non-lag",
        lambda d: d.assign(log_dva_ratio=np.where(d.index == 3, np.nan, d["log_dva_ratio"])),
        r"derived column 'log_dva_ratio' is not finite in 1 row",
    ),
    (
        "nan-input-dva-lag",
        lambda d: d.assign(dva_lag=np.where(d.index == 5, np.nan, d["dva_lag"])),
        r"column 'dva_lag' has 1 missing \(NaN\) value",
    ),
]


@pytest.mark.parametrize(
    ("make", "match"), [c[1:] for c in BAD_FRAMES], ids=[c[0] for c in BAD_FRAMES]
)
def test_built_frame_problems(real_panel, make, match):
    with pytest.raises(PanelError, match=match):
        Panel(make(real_panel.df))


def test_estimation_drops_lag_gaps_with_reasons(real_panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_reduced_form(
            real_panel,
            "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_fva_ratio_lag",
            estimator="iv",
        )
    dropped = dict(res.dropped)
    assert (
        dropped[
            "no earlier WIOD year for lagged instrument 'log_fva_ratio_lag' (earliest year 1995)"
        ]
        == 1465
    )
    assert (
        dropped[
            "no row of the same importer-exporter-industry in the earliest year 1995 for lagged "
            "instrument 'log_fva_ratio_lag'"
        ]
        == 189
    )
    assert res.nobs == 1417
    assert set(res.dropped_obs["year"].astype(int)) == {1995, 2005}
    ols = fit_reduced_form(real_panel, "tariff ~ log_dva_lag | imp_ind_year + exp_ind_year")
    assert (
        dict(ols.dropped)[
            "no earlier WIOD year for lagged column 'log_dva_lag' (earliest year 1995)"
        ]
        == 1465
    )
    assert ols.nobs == 1606


def test_lag_on_a_single_year_panel_is_refused(real_panel):
    one = real_panel.df.loc[real_panel.df["year"] == 1995].reset_index(drop=True)
    raw = one[
        [c for c in one.columns if c in (*structest.panel.REQUIRED, *structest.panel.OPTIONAL)]
    ]
    panel = Panel.from_frame(raw)
    with pytest.raises(
        SpecError,
        match=r"no observations left .*no earlier WIOD year for lagged instrument 'log_dva_lag' \(earliest year 1995\)",
    ):
        fit_reduced_form(
            panel,
            "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_lag",
            estimator="iv",
        )


def test_simulated_panels_validate_with_lags():
    panel, _ = structest.simulate(
        seed=2, economies=("USA", "CHN", "JPN", "EUN"), industries=("c1", "c3")
    )
    d = panel.df
    assert d.loc[d["year"] == d["year"].min(), list(LAGGED)].isna().all().all()
    assert d.loc[d["year"] > d["year"].min(), list(LAGGED)].notna().all().all()
    assert len(Panel(d)) == len(d)
