"""Replication pins: every paper column on the bundled data, held to today's numbers.

In the spirit of pyblp's replication tests: ``docs/make_replication.py`` fits every column
of Tables 2-7 and C1-C3 that the bundled data support and writes each coefficient and SE to
``tests/data/replication_pins.csv`` (and the side-by-side document ``docs/replication.md``).
Any change of an estimator, a spec, the sample rules or the data that moves a number fails
here. Linear columns run by default; Tobit columns (10-30 s each) are marked slow.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import structest
from structest.reduced import PAPER_SPECS, fit_reduced_form

PINS = pd.read_csv(Path(__file__).parent / "data" / "replication_pins.csv")
SPECS = list(dict.fromkeys(PINS["spec"]))


def _param(spec: str):
    slow = PINS.loc[PINS["spec"] == spec, "estimator"].iloc[0] in ("tobit", "tobit_iv")
    return pytest.param(spec, marks=pytest.mark.slow) if slow else spec


@pytest.fixture(scope="module")
def panel():
    return structest.load_panel()


@pytest.fixture(scope="module")
def ttb():
    from structest.data.load import load_ttb_panel

    return load_ttb_panel()


def test_every_supported_paper_column_is_pinned():
    supported = {n for n, s in PAPER_SPECS.items() if s.supported}
    assert set(SPECS) == supported


@pytest.mark.parametrize("spec", [_param(s) for s in SPECS])
def test_paper_column_reproduces_its_pins(spec, panel, ttb):
    pins = PINS[PINS["spec"] == spec].set_index("term")
    data = ttb if PAPER_SPECS[spec].data == "ttb" else panel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_reduced_form(data, spec)
    assert res.estimator == pins["estimator"].iloc[0]
    assert res.nobs == int(pins["nobs"].iloc[0])
    assert list(res.params.index) == list(pins.index)
    np.testing.assert_allclose(res.params.to_numpy(), pins["coef"].to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.se.to_numpy(), pins["se"].to_numpy(), rtol=1e-5, atol=1e-9)
