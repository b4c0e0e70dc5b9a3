"""`structest data build` reproduces the committed data files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_frames_match  # (tests/ is on sys.path)

from structest._io import data_dir
from structest.data.build.build import build


@pytest.fixture(scope="module")
def rebuilt(raw_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    report = build(raw_dir, out, verbose=False)
    return out, report


def test_panel_reproduced(rebuilt):
    out, _ = rebuilt
    new = pd.read_parquet(out / "panel.parquet")
    old = pd.read_parquet(data_dir() / "panel.parquet")
    assert_frames_match(new, old)


def test_va_reproduced(rebuilt):
    out, _ = rebuilt
    with np.load(out / "va_contents.npz") as a, np.load(data_dir() / "va_contents.npz") as b:
        assert set(a.files) == set(b.files)
        np.testing.assert_allclose(a["va"], b["va"], rtol=1e-9, atol=1e-9)
        assert (a["regions"] == b["regions"]).all()


def test_report(rebuilt):
    _, report = rebuilt
    assert report.rows_kept + sum(report.dropped.values()) == report.rows_candidate
    assert 0.5 < report.censored_share < 0.8
    rules = {(s["rule"], s["rel_tol"]) for s in report.mfn_sensitivity}
    assert ("median", 0.15) in rules and ("max", 0.0) in rules
    # shares rise with the tolerance under every rule
    for rule in ("median", "max", "p75_all"):
        shares = [s["censored_share"] for s in report.mfn_sensitivity if s["rule"] == rule]
        assert shares == sorted(shares)


def test_tariff_facts(real_panel):
    d = real_panel.df
    # NAFTA: Mexico applies zero to the US in 2005; the EU-Turkey customs union
    mex = d[(d.importer == "MEX") & (d.exporter == "USA") & (d.year == 2005)]
    assert (mex.tariff < 0.5).mean() > 0.8 and mex.rta.eq(1).all()
    eut = d[(d.importer == "EUN") & (d.exporter == "TUR") & (d.year == 2005)]
    assert eut.rta.eq(1).all()
    # CUSFTA in the 1993 data, no NAFTA yet for Mexico
    assert d[(d.importer == "USA") & (d.exporter == "CAN") & (d.year == 1995)].rta.eq(1).all()
    assert d[(d.importer == "USA") & (d.exporter == "MEX") & (d.year == 1995)].rta.eq(0).all()
    # GSP: granting x receiving, outside RTAs
    assert d[(d.importer == "USA") & (d.exporter == "IND")].gsp.eq(1).all()
    assert d[(d.importer == "CHN")].gsp.eq(0).all()
    # paper facts: about a third preferential, median preference a few pp
    assert 0.25 < (~d.censored).mean() < 0.45
    pref = d.loc[~d.censored, "preference"]
    assert -5 < pref.median() < -1
    assert (d.tariff <= d.mfn + 1e-12).all()
