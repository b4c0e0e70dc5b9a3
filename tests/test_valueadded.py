"""Accounting identities of the value-added decomposition on real WIOD tables."""

from __future__ import annotations

import numpy as np
import pytest

from structest.codes import EU27, INDUSTRIES
from structest.data.build.leontief import coefficients, source_multipliers
from structest.data.build.wiod import REGIONS, _read_rdata, read_wiod_year, region_map
from structest.data.load import va_contents


@pytest.fixture(scope="module", params=[1995, 2005, 2011])
def wiod(request, raw_dir):
    d = _read_rdata(raw_dir / "wiod2013" / f"wiot_{request.param}.RData")
    Z = np.asarray(d["inter"], float)
    F = np.asarray(d["final"], float)
    y = np.asarray(d["output"], float)
    return request.param, [str(c) for c in d["countries"]], Z, F, y


def test_vL_equals_one(wiod):
    _, countries, Z, F, y = wiod
    A, r = coefficients(Z, y)
    RL = source_multipliers(A, r, np.repeat(np.arange(41), 35), 41)
    np.testing.assert_allclose(RL.sum(axis=0), 1.0, atol=1e-10)
    # independent check with an explicit Leontief inverse
    L = np.linalg.inv(np.eye(len(y)) - A)
    np.testing.assert_allclose(r @ L, 1.0, atol=1e-10)


def test_va_of_final_goods_equals_their_value(wiod):
    _, _, Z, F, y = wiod
    A, r = coefficients(Z, y)
    f = F.sum(axis=1)
    va = source_multipliers(A, r, np.repeat(np.arange(41), 35), 41) * f
    np.testing.assert_allclose(va.sum(axis=0), f, atol=1e-6)
    # WIOD output balance holds to rounding (whole millions)
    assert np.abs(y - Z.sum(axis=1) - f).max() <= 200


def test_fva_plus_domestic_equals_fg(wiod):
    """FVA (all foreign sources) + domestic VA = FG taken from the raw final-demand block."""
    year, countries, _, F, _ = wiod
    va = va_contents(year)
    f = F.sum(axis=1).reshape(41, 35)
    reg = region_map(countries)
    for k, p in enumerate(REGIONS):
        fg_raw = f[reg == k].sum(axis=0)
        dom = va.sel(source=p, producer=p).values
        fva = va.sel(producer=p).drop_sel(source=p).sum("source").values
        np.testing.assert_allclose(fva + dom, fg_raw, rtol=1e-9, atol=1e-6)


def test_eu_aggregation_consistent(wiod):
    year, countries, Z, F, y = wiod
    A, r = coefficients(Z, y)
    f = F.sum(axis=1)
    va41 = source_multipliers(A, r, np.repeat(np.arange(41), 35), 41) * f  # (41, 1435)
    va41 = va41.reshape(41, 41, 35)
    eu = [k for k, c in enumerate(countries) if c in EU27]
    assert len(eu) == 27
    bundled = va_contents(year)
    # EU's VA in its own final goods = sum over member pairs (intra-EU is domestic)
    np.testing.assert_allclose(
        bundled.sel(source="EUN", producer="EUN").values,
        va41[np.ix_(eu, eu)].sum(axis=(0, 1)),
        rtol=1e-9,
    )
    # US VA in EU final goods = sum over EU producers
    us = countries.index("USA")
    np.testing.assert_allclose(
        bundled.sel(source="USA", producer="EUN").values, va41[us, eu].sum(axis=0), rtol=1e-9
    )
    # the aggregate FG of EUN equals the members' final-goods output
    np.testing.assert_allclose(
        bundled.sel(producer="EUN").sum("source").values,
        f.reshape(41, 35)[eu].sum(axis=0),
        rtol=1e-9,
    )
    assert region_map(countries).max() == len(REGIONS) - 1


def test_panel_columns_match_va_contents(real_panel):
    d = real_panel.df
    row = d[
        (d.importer == "USA") & (d.exporter == "CHN") & (d.industry == "c14") & (d.year == 2005)
    ].iloc[0]
    va = va_contents(2005)
    assert row.dva == pytest.approx(
        float(va.sel(source="USA", producer="CHN", industry="c14")), rel=1e-12
    )
    fva = float(
        va.sel(producer="USA", industry="c14").sum("source")
        - va.sel(source="USA", producer="USA", industry="c14")
    )
    assert row.fva == pytest.approx(fva, rel=1e-12)
    # FG in the panel (row sums of the final block) equals total VA in those final goods
    fg = float(va.sel(producer="USA", industry="c14").sum("source"))
    assert row.fg == pytest.approx(fg, rel=1e-9)
    assert set(d.industry) == set(INDUSTRIES)


def test_read_wiod_year_reports_identities(raw_dir):
    w = read_wiod_year(raw_dir / "wiod2013" / "wiot_2009.RData")
    assert w.va41_colsum_error < 1e-10
    assert w.va41_fg_error < 1e-6
    assert w.va.shape == (len(REGIONS), len(REGIONS), 35)
