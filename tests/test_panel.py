"""Panel validation: every bad-input class raises an error naming rows and columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import structest
from structest import Panel, PanelError
from structest.panel import REQUIRED


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    panel, _ = structest.simulate(
        seed=1, economies=("USA", "CHN", "JPN", "EUN"), industries=("c1", "c3"), years=(2000, 2005)
    )
    cols = [
        c
        for c in panel.df.columns
        if c in (*REQUIRED, "censored", "dva_services", "dva_lag", "gsp", "dist")
    ]
    return panel.df[cols].copy()


def _raises(df: pd.DataFrame, *needles: str, **kw) -> str:
    with pytest.raises(PanelError) as err:
        Panel.from_frame(df, **kw)
    msg = str(err.value)
    for n in needles:
        assert n in msg, f"{n!r} not in message:\n{msg}"
    return msg


def test_good_frame_roundtrip(good, tmp_path):
    p = Panel.from_frame(good)
    assert len(p) == len(good)
    for ext in ("csv", "parquet"):
        path = tmp_path / f"p.{ext}"
        getattr(good, f"to_{ext}")(path, index=False)
        q = Panel.from_file(path)
        np.testing.assert_allclose(q.df["log_dva"], p.df["log_dva"])
    ds = p.to_xarray(["tariff", "mfn"])
    assert tuple(ds.tariff.dims) == ("importer", "exporter", "industry", "year")
    assert int(ds.tariff.notnull().sum()) == len(good)


def test_missing_column(good):
    _raises(good.drop(columns=["mfn", "fva"]), "missing required column", "mfn", "fva")


def test_nan(good):
    df = good.copy()
    df.loc[3, "dva"] = np.nan
    _raises(df, "'dva'", "NaN", "row 3")


def test_negative_tariff(good):
    df = good.copy()
    df.loc[5, "tariff"] = -1.0
    _raises(df, "'tariff'", "negative", "row 5")


def test_applied_above_mfn(good):
    df = good.copy()
    df.loc[7, "tariff"] = df.loc[7, "mfn"] + 1.0
    _raises(df, "exceeds 'mfn'", "row 7")
    # within tolerance it is accepted and set to MFN exactly
    df.loc[7, "tariff"] = df.loc[7, "mfn"] + 1e-9
    p = Panel.from_frame(df, tol=1e-6)
    assert (p.df["tariff"] <= p.df["mfn"]).all()


@pytest.mark.parametrize("col", ["dva", "fva", "fg", "imports", "dva_services", "dva_lag"])
def test_nonpositive_logged(good, col):
    df = good.copy()
    df.loc[2, col] = 0.0
    _raises(df, f"'{col}' must be > 0", "row 2")


def test_importer_equals_exporter(good):
    df = good.copy()
    df.loc[4, "exporter"] = df.loc[4, "importer"]
    _raises(df, "importer == exporter", "row 4")


def test_duplicates(good):
    df = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    _raises(df, "duplicate", f"row {len(good)}")


def test_unknown_codes(good):
    df = good.copy()
    df.loc[1, "industry"] = "c99"
    df.loc[2, "importer"] = "XXX"
    msg = _raises(df, "'industry'", "c99", "'importer'", "XXX")
    assert "row 1" in msg and "row 2" in msg
    # lenient mode accepts ISO3-shaped codes
    df2 = good.copy()
    df2["importer"] = df2["importer"].replace({"USA": "ZZZ"})
    df2["exporter"] = df2["exporter"].replace({"USA": "ZZZ"})
    assert len(Panel.from_frame(df2, strict_codes=False)) == len(good)


def test_bad_indicator_and_text(good):
    df = good.copy()
    df["rta"] = df["rta"].astype(float)
    df.loc[0, "rta"] = 2.0
    _raises(df, "'rta' must be 0/1", "row 0")
    df = good.copy()
    df["tariff"] = df["tariff"].astype(object)
    df.loc[0, "tariff"] = "high"
    _raises(df, "'tariff' must be numeric")


def test_all_problems_reported_together(good):
    df = good.drop(columns=["censored"])
    df.loc[0, "tariff"] = -1.0
    df.loc[1, "dva"] = -3.0
    err = _raises(df, "'tariff'", "'dva'")
    assert "2 problems" in err


def test_subset_records_drops(good):
    p = Panel.from_frame(good)
    q = p.subset(p.df["rta"] == 0, "RTA observations excluded")
    assert len(q) + int(p.df["rta"].sum()) == len(p)
    if p.df["rta"].sum():
        assert q.dropped == (("RTA observations excluded", int(p.df["rta"].sum())),)
        assert "RTA observations excluded" in q.drop_report()


def test_derived_columns(good):
    d = Panel.from_frame(good).df
    np.testing.assert_allclose(d["log_dva_ratio"], np.log(d["dva"] / d["imports"]))
    np.testing.assert_allclose(d["preference"], d["tariff"] - d["mfn"])
    assert (
        d["imp_ind_year"] == d["importer"] + "_" + d["industry"] + "_" + d["year"].astype(str)
    ).all()
    assert (d["pair"] == d["importer"] + "_" + d["exporter"]).all()
    np.testing.assert_allclose(d["log_dva_rta"] + d["log_dva_nonrta"], d["log_dva"])


def test_bundled_panel_contract(real_panel):
    cols = {
        "importer",
        "exporter",
        "industry",
        "year",
        "tariff",
        "mfn",
        "censored",
        "dva",
        "fva",
        "fg",
        "imports",
        "dva_services",
        "dva_lag",
        "rta",
        "rta_broad",
        "gsp",
        "dist",
        "contig",
        "comlang",
        "colony",
    }
    assert cols <= set(real_panel.df.columns)
    assert real_panel.df["censored"].dtype == bool
    assert "EUN" in set(real_panel.df["importer"])
    assert sum(n for _, n in real_panel.dropped) == 625
    ds = real_panel.to_xarray(["tariff"])
    assert set(ds.dims) == {"importer", "exporter", "industry", "year"}
