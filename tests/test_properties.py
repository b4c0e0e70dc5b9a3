"""Property-based tests (Hypothesis): inputs generated around the valid region.

Every case ends in one of two ways: a :class:`structest.StructestError` with a message, or a
result whose numbers are all finite. Any other exception, or a NaN/inf in a result, fails.
The number of examples is bounded so that the file runs in about a minute.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import structest  # noqa: E402
from structest.errors import StructestError  # noqa: E402

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # same examples every run: CI is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NUMERIC = ["tariff", "mfn", "dva", "fva", "fg", "imports", "rta"]

#: values that sit just inside, on and beyond the edges of every numeric column
ODD_VALUES = st.sampled_from(
    [0.0, -0.0, -1.0, 1e-300, 1e300, 1e20, math.nan, math.inf, -math.inf, 0.5, 2.0, 166.0]
)


@pytest.fixture(scope="module")
def small_frame() -> pd.DataFrame:
    sim, _ = structest.simulate(seed=0)
    df = sim.df
    keep = df["importer"].isin(sorted(df["importer"].unique())[:4])
    return df.loc[keep].head(240).reset_index(drop=True)


def _finite_numbers(frame: pd.DataFrame) -> bool:
    """Every number finite, except the lagged instruments, which are NaN (never infinite)
    on rows without an earlier year by construction."""
    from structest.panel import LAGGED

    num = frame.select_dtypes(include=[np.number])
    lagged = [c for c in num.columns if c in LAGGED]
    rest = num.drop(columns=lagged).to_numpy(dtype=float)
    return bool(np.isfinite(rest).all() and not np.isinf(num[lagged].to_numpy(dtype=float)).any())


@st.composite
def panel_edits(draw: st.DrawFn) -> list[tuple[str, str, object]]:
    """A few edits of a valid panel: (kind, column, value)."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["set", "column", "drop", "year", "duplicate"]))
        col = draw(st.sampled_from(NUMERIC + ["importer", "year", "industry"]))
        value = draw(
            st.one_of(
                ODD_VALUES,
                st.sampled_from(["x", "", None, True, 2005.5, 1e20, -3, "2005"]),
            )
        )
        edits.append((kind, col, value))
    return edits


def _apply(frame: pd.DataFrame, edits: list[tuple[str, str, object]], row: int) -> pd.DataFrame:
    df = frame.copy()
    for kind, col, value in edits:
        if kind == "set":
            df[col] = df[col].astype(object)
            df.loc[row % len(df), col] = value
        elif kind == "column":
            df[col] = value
        elif kind == "drop":
            df = df.drop(columns=[col])
        elif kind == "year":
            df["year"] = df["year"].astype(object)
            df.loc[row % len(df), "year"] = value
        elif kind == "duplicate":
            df = pd.concat([df, df[[col]]], axis=1)
    return df


@SETTINGS
@given(edits=panel_edits(), row=st.integers(0, 239))
def test_panel_edits_error_or_finite(small_frame, edits, row):
    df = _apply(small_frame, edits, row)
    try:
        panel = structest.Panel(df)
    except StructestError as exc:
        assert str(exc).strip(), "an error needs a message"
        return
    assert _finite_numbers(panel.df), f"accepted a panel with non-finite numbers after {edits}"


@SETTINGS
@given(edits=panel_edits(), row=st.integers(0, 239))
def test_reduced_form_on_edited_panels(small_frame, edits, row):
    df = _apply(small_frame, edits, row)
    try:
        panel = structest.Panel(df)
        res = structest.fit_reduced_form(panel, "tariff ~ log_dva + rta | imp_ind_year")
    except StructestError as exc:
        assert str(exc).strip()
        return
    values = np.r_[np.asarray(res.params, float), np.asarray(res.se, float)]
    assert np.isfinite(values).all(), f"non-finite estimates after {edits}: {values}"


PRIOR_FAMILIES = ["lognormal", "normal", "halfnormal", "beta", "gamma", "truncnormal", "bogus"]
ARG = st.one_of(
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 1e300]),
    st.sampled_from(["a", None, True, [1.0]]),
)


@st.composite
def spec_dicts(draw: st.DrawFn) -> dict:
    base = structest.load_model("bbj").to_dict()
    d = {k: v for k, v in base.items()}
    d["priors"] = dict(base["priors"])
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["prior", "lower", "errors", "effects", "key"]))
        if what == "prior":
            name = draw(st.sampled_from(sorted(d["priors"])))
            fam = draw(st.sampled_from(PRIOR_FAMILIES))
            args = draw(st.lists(ARG, min_size=0, max_size=4))
            d["priors"][name] = [fam, *args]
        elif what == "lower":
            d["lower"] = draw(st.one_of(ARG, st.just("none")))
        elif what == "errors":
            d["errors"] = draw(
                st.sampled_from(["normal", "student_t", "contaminated", "cauchy", 3])
            )
        elif what == "effects":
            d["effects"] = draw(
                st.sampled_from([[], ["imp_ind_year"], ["nope"], "imp_ind_year", [1], None])
            )
        else:
            d[draw(st.sampled_from(["nope", "name", "ratios"]))] = draw(ARG)
    return d


@pytest.fixture(scope="module")
def tiny_panel(small_frame) -> structest.Panel:
    return structest.Panel(small_frame.head(120))


@settings(SETTINGS, max_examples=5)
@given(d=spec_dicts())
def test_model_specs_error_or_finite_prior_predictive(tiny_panel, d):
    from structest.checks.prior_predictive import prior_predictive_draws
    from structest.structural.spec import spec_from_dict

    try:
        spec = spec_from_dict(d)
        draws = prior_predictive_draws(tiny_panel, spec, n=20, seed=0)
    except StructestError as exc:
        assert str(exc).strip()
        return
    assert np.isfinite(draws).all(), f"non-finite prior predictive draws for {d}"


@pytest.fixture(scope="module")
def world(fit_at_truth):
    """A small panel with both regimes and a posterior at its true parameters."""
    from structest.codes import ECONOMIES, INDUSTRIES

    panel, truth = structest.simulate(
        seed=1,
        economies=ECONOMIES[:4],
        industries=INDUSTRIES[:2],
        years=(1995, 2009),
        rta_pair_share=0.5,
    )
    return panel, fit_at_truth(panel, truth)


GROWTH = st.one_of(
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from([0.0, 1000.0, -1000.0, math.nan, math.inf, -math.inf, 50.0]),
)


@settings(SETTINGS, max_examples=30)
@given(
    fva=GROWTH,
    dva=GROWTH,
    mfn=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0, math.nan, math.inf, 1e6])),
    rta=st.sampled_from([None, [], "first", [("AAA", "BBB")], "x"]),
)
def test_scenarios_error_or_finite(world, fva, dva, mfn, rta):
    panel, fit = world
    if rta == "first":  # a pair of the panel outside an RTA
        row = panel.df.loc[panel.df["rta"] == 0].iloc[0]
        rta = [(row["importer"], row["exporter"])]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes on pooled cells, no change
            out = structest.counterfactual(
                fit, panel, fva_growth=fva, dva_growth=dva, mfn=mfn, rta=rta
            )
    except StructestError as exc:
        assert str(exc).strip()
        return
    for name in ("tstar_base", "tstar_cf", "applied_base", "applied_cf"):
        assert np.isfinite(out[name].values).all(), f"{name} not finite for {fva, dva, mfn, rta}"
