"""What a fit keeps of the pointwise log-likelihood: ``fit(log_likelihood=True|False|"float32")``.

Three fits of one tiny synthetic panel with the same seed (one chain: the same draws bit for
bit): the float64 log-likelihood is the reference; the float32 one equals it to float32
precision; without one, ``loo()``, ``ppc()`` and ``identification()`` compute it on demand and
agree with the reference exactly.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import structest
from structest.errors import OptionError
from structest.structural.worlds import simulate_model


@pytest.fixture(scope="module")
def fits():
    panel, _ = simulate_model("bbj", 5, economies=("AUS", "CHN", "USA"), years=(1995, 2005))
    kw = dict(chains=1, draws=40, tune=40, seed=2, progress_bar=False, n_prior=100)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: sampling warnings expected
        for keep in (True, "float32", False):
            out[keep] = structest.fit(panel, "bbj", log_likelihood=keep, **kw)
    return out


def test_same_draws_whatever_is_kept(fits) -> None:
    a, b, c = (fits[k].idata.posterior for k in (True, "float32", False))
    for v in ("g_IP", "g_DVA", "sigma"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
        np.testing.assert_array_equal(a[v].values, c[v].values)


def test_float64_and_float32(fits) -> None:
    ref = fits[True].idata.log_likelihood["tariff"]
    half = fits["float32"].idata.log_likelihood["tariff"]
    assert ref.dtype == np.float64 and half.dtype == np.float32
    assert ref.shape == half.shape == (1, 40, len(fits[True].panel))
    np.testing.assert_allclose(half.values, ref.values, rtol=1e-6, atol=1e-5)


def test_none_kept_then_computed_on_demand(fits) -> None:
    none = fits[False]
    assert "log_likelihood" not in none.idata.groups()
    loo = none.loo()
    assert "log_likelihood" in none.idata.groups()
    np.testing.assert_array_equal(
        none.idata.log_likelihood["tariff"].values,
        fits[True].idata.log_likelihood["tariff"].values,
    )
    assert loo.elpd_loo == pytest.approx(fits[True].loo().elpd_loo, rel=1e-12)


def test_identification_without_stored_log_likelihood(fits) -> None:
    # its own InferenceData: the on-demand step adds a group in place
    idata = fits[False].idata.copy()
    if "log_likelihood" in idata.groups():
        del idata.log_likelihood
    f = dataclasses.replace(fits[False], idata=idata)
    table = f.identification(["g_DVA", "sigma"])
    assert set(table.index) == {"g_DVA", "sigma"}
    assert np.isfinite(table["likelihood_sensitivity"].to_numpy(float)).all()
    ref = fits[True].identification(["g_DVA", "sigma"])
    np.testing.assert_allclose(
        table["likelihood_sensitivity"].to_numpy(float),
        ref["likelihood_sensitivity"].to_numpy(float),
    )


@pytest.mark.parametrize("bad", ["yes", "float64", 1, 0, None, 32])
def test_bad_option_refused_before_work(bad) -> None:
    shown = f"{type(bad).__name__} {bad!r}"
    with pytest.raises(OptionError) as exc:
        structest.fit(chains=1, draws=1, tune=1, log_likelihood=bad)
    assert str(exc.value) == (f"fit: log_likelihood must be True, False or 'float32', got {shown}")
