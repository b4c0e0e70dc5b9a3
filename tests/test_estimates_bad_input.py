"""Degenerate estimates and bad counterfactual scenarios: refused with one clear line.

Reduced form: samples that carry no information (one row, one importer, one cluster,
everything censored, a regressor or instrument absorbed by the fixed effects, a perfect
fit) raise :class:`~structest.EstimationError`; fits whose standard errors are unreliable
issue an :class:`~structest.reduced.EstimationWarning` and report ``converged=False``.

Counterfactuals: scenario values that make levels zero/infinite, non-finite or mistyped
options and unknown groupings raise before any computation; a scenario that changes
nothing says so; non-finite draws raise instead of giving NaN intervals.

The structural fit used by the counterfactual cases is built by hand with every draw at
the simulation's true parameters (the layout of :func:`structest.fit`), so no sampling is
needed (a tiny NUTS fit alone takes about a minute on a small machine).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import structest
from structest.codes import ECONOMIES, INDUSTRIES
from structest.counterfactuals import (
    BY_CHOICES,
    Scenario,
    check_by,
    format_summary,
    load_counterfactual,
    summary_table,
)
from structest.counterfactuals import compute as cf_compute
from structest.errors import EstimationError, InputFileError, SpecError, StructestError
from structest.reduced import EstimationWarning, Results
from structest.reduced.hdfe import FixedEffects, encode, fe_rank, unidentified_regressors
from structest.reduced.results import check_estimates
from structest.reduced.tobit_core import TobitData, fit_tobit_arrays

pytestmark = pytest.mark.filterwarnings("ignore:fva growth shifts log_fva:UserWarning")


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """120 observations: 5 economies, 3 industries, 2 years (about 70% censored)."""
    panel, _ = structest.simulate(
        seed=0, economies=ECONOMIES[:5], industries=INDUSTRIES[:3], years=(1995, 2009)
    )
    return panel.df


@pytest.fixture(scope="module")
def world(fit_at_truth) -> tuple[structest.Panel, Any]:
    """A small panel with both regimes and a structural fit at its true parameters."""
    panel, truth = structest.simulate(
        seed=1,
        economies=ECONOMIES[:4],
        industries=INDUSTRIES[:2],
        years=(1995, 2009),
        rta_pair_share=0.5,
    )
    assert 0 < panel.df["rta"].mean() < 1
    return panel, fit_at_truth(panel, truth)


# ---------------------------------------------------------------------- reduced form
def _aus(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["importer"] == "AUS"]


def _perfect(df: pd.DataFrame) -> pd.DataFrame:
    """Tariff = an importer-industry-year effect + 0.5 log DVA exactly (MFN far above)."""
    code = pd.factorize(df["imp_ind_year"])[0].astype(float)
    return df.assign(tariff=code + 0.5 * df["log_dva"], mfn=1000.0)


def _one_uncensored_per_cell(df: pd.DataFrame, gap: float) -> pd.DataFrame:
    """The issue's eq16_decile case in miniature: one uncensored row per effect cell.

    The first row of each importer-industry-year cell is uncensored at ``effect + 0.5 log
    DVA``; the others are censored at MFN = that prediction ``- gap``. With ``gap > 0`` the
    censored rows agree with an exact fit (sigma -> 0: a perfect fit); with ``gap < 0``
    they contradict it and only they pin sigma down.
    """
    code = pd.factorize(df["imp_ind_year"])[0].astype(float)
    pred = 10.0 + code + 0.5 * df["log_dva"].to_numpy()
    first = ~df["imp_ind_year"].duplicated().to_numpy()
    mfn = np.where(first, pred + 50.0, pred - gap)
    return df.assign(tariff=np.where(first, pred, mfn), mfn=mfn)


REDUCED_CASES = [
    # (id, data, formula, estimator, options, error, regex)
    (
        "ols-one-row",
        lambda d: d.iloc[:1],
        "tariff ~ log_dva | imp_ind_year",
        "ols",
        {"cluster": None},
        EstimationError,
        r"no residual degrees of freedom after absorbing imp_ind_year: 1 observation, "
        r"1 effect level$",
    ),
    (
        "ols-3-obs-3-levels",
        lambda d: _aus(d).iloc[[0, 2, 4]],
        "tariff ~ log_dva | imp_ind_year",
        "ols",
        {"cluster": None},
        EstimationError,
        r"after absorbing imp_ind_year: 3 observations, 3 effect levels$",
    ),
    (
        "ols-one-row-clustered",
        lambda d: d.iloc[:1],
        "tariff ~ log_dva | imp_ind_year",
        "ols",
        {},
        EstimationError,
        r"at least 2 clusters: column 'pair' has 1 value in the 1 observation",
    ),
    (
        "ols-one-pair",
        lambda d: d[d["pair"] == "AUS_BRA"],
        "tariff ~ log_dva",
        "ols",
        {},
        EstimationError,
        r"at least 2 clusters: column 'pair' has 1 value",
    ),
    (
        "ols-one-importer",
        _aus,
        "eq16",
        "ols",
        {},
        EstimationError,
        r"after absorbing imp_ind_year \+ exp_ind_year: 24 observations, 30 effect levels "
        r"\(rank 24\)",
    ),
    (
        "ols-constant-outcome",
        lambda d: d.assign(tariff=1.0),
        "tariff ~ log_dva | imp_ind_year",
        "ols",
        {},
        EstimationError,
        r"'tariff' does not vary in the estimation sample \(all 120 values equal 1\)",
    ),
    (
        "ols-perfect-fit",
        _perfect,
        "tariff ~ log_dva | imp_ind_year",
        "ols",
        {},
        EstimationError,
        r"perfect fit: the fixed effects \(imp_ind_year\) and regressors explain 'tariff' exactly",
    ),
    (
        "ols-regressor-absorbed",
        lambda d: d,
        "tariff ~ log_dist | pair",
        "ols",
        {},
        EstimationError,
        r"every regressor \(log_dist\) is absorbed by the fixed effects pair",
    ),
    (
        "iv-instrument-absorbed",
        lambda d: d,
        "tariff ~ 1 | imp_ind_year + pair | log_dva ~ log_dist",
        "iv",
        {},
        EstimationError,
        r"every regressor \(log_dva; or the excluded instruments log_dist\) is absorbed",
    ),
    (
        "iv-one-importer",
        _aus,
        "eq16_iv",
        "iv",
        {},
        EstimationError,
        r"no residual degrees of freedom after absorbing imp_ind_year \+ exp_ind_year",
    ),
    (
        "tobit-all-censored-fe",
        lambda d: d.assign(tariff=d["mfn"]),
        "eq16",
        "tobit",
        {},
        EstimationError,
        r"all 120 observations censored \('tariff' at its censoring bound\): the Tobit needs "
        r"uncensored rows",
    ),
    (
        "tobit-all-censored-no-fe",
        lambda d: d.assign(tariff=d["mfn"]),
        "tariff ~ log_dva",
        "tobit",
        {},
        EstimationError,
        r"all 120 observations censored",
    ),
    (
        "tobit-all-left-censored",
        lambda d: d.assign(tariff=0.0),
        "tariff ~ log_dva | imp_ind_year",
        "tobit",
        {"lower": 0.0},
        EstimationError,
        r"all 120 observations censored",
    ),
    (
        "tobit-iv-all-censored",
        lambda d: d.assign(tariff=d["mfn"]),
        "eq16_iv",
        "tobit_iv",
        {},
        EstimationError,
        r"all 120 observations censored",
    ),
    (
        "tobit-one-row",
        lambda d: d.iloc[:1],
        "tariff ~ log_dva | imp_ind_year",
        "tobit",
        {"cluster": None},
        EstimationError,
        r"no residual degrees of freedom after absorbing imp_ind_year: 1 observation",
    ),
    (
        "tobit-one-cluster",
        lambda d: d[d["pair"] == "AUS_BRA"],
        "tariff ~ log_dva",
        "tobit",
        {},
        EstimationError,
        r"at least 2 clusters",
    ),
    (
        "tobit-decile-effects",
        lambda d: d,
        "eq16_decile",
        "tobit",
        {},
        EstimationError,
        r"every regressor \(log_dva\) is absorbed by the fixed effects "
        r"imp_ind_year_decile \+ exp_ind_year",
    ),
    (
        "tobit-perfect-fit",
        _perfect,
        "tariff ~ log_dva | imp_ind_year",
        "tobit",
        {},
        EstimationError,
        r"Tobit: perfect fit, sigma -> 0 and the log-likelihood -> \+inf",
    ),
    (
        "tobit-one-uncensored-row-per-cell",
        lambda d: _one_uncensored_per_cell(d, gap=5.0),
        "tariff ~ log_dva | imp_ind_year",
        "tobit",
        {},
        EstimationError,
        r"perfect fit, sigma -> 0 .*no residual degrees of freedom after absorbing "
        r"imp_ind_year: 30 uncensored observations, 30 effect levels and 1 regressor",
    ),
    (
        "tobit-iv-instrument-absorbed",
        lambda d: d,
        "tariff ~ 1 | imp_ind_year + pair | log_dva ~ log_dist",
        "tobit_iv",
        {},
        EstimationError,
        r"instrument 'log_dist' is absorbed by the fixed effects pair",
    ),
    (
        "tobit-iv-endogenous-absorbed",
        lambda d: d,
        "tariff ~ 1 | imp_ind_year + pair | log_dist ~ log_dva",
        "tobit_iv",
        {},
        EstimationError,
        r"log_dist'?\)? is absorbed by the fixed effects",
    ),
    (
        "tobit-iv-one-importer",
        _aus,
        "eq16_iv",
        "tobit_iv",
        {},
        EstimationError,
        r"no residual degrees of freedom after absorbing imp_ind_year \+ exp_ind_year",
    ),
]


@pytest.mark.parametrize(
    ("data", "formula", "estimator", "options", "error", "match"),
    [pytest.param(*c[1:], id=c[0]) for c in REDUCED_CASES],
)
def test_reduced_form_refuses_data_without_information(
    small, data, formula, estimator, options, error, match
):
    df = data(small).reset_index(drop=True)
    with pytest.raises(error, match=match) as info:
        structest.fit_reduced_form(df, formula, estimator=estimator, **options)
    assert "\n" not in str(info.value)  # one line


def test_unreliable_tobit_warns_and_is_not_converged(small):
    # one uncensored row per cell, censored rows contradicting an exact fit: sigma rests on
    # the censored rows only (same array shapes as the perfect-fit case: no new compile)
    df = _one_uncensored_per_cell(small, gap=-1.0)
    fml = "tariff ~ log_dva | imp_ind_year"
    with pytest.warns(EstimationWarning, match=r"identified only by the censored observations"):
        res = structest.fit_reduced_form(df, fml, estimator="tobit")
    assert res.converged is False
    assert any("30 uncensored observations, 30 effect levels" in d for d in res.diagnostics)
    assert np.isfinite(res.sigma) and res.sigma > 0.01
    text = res.summary()
    assert "converged: False" in text
    assert "WARNING: Tobit: no residual degrees of freedom" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimationWarning)
        with pytest.raises(EstimationWarning, match="identified only by the censored"):
            structest.fit_reduced_form(df, fml, estimator="tobit")
    with warnings.catch_warnings():  # silenced warnings still reach the result
        warnings.simplefilter("ignore")
        quiet = structest.fit_reduced_form(df, fml, estimator="tobit")
    assert quiet.converged is False and quiet.diagnostics == res.diagnostics


def test_collinear_regressor_is_named_when_dropped(small):
    df = small.assign(x2=2.0 * small["log_dva"])
    with pytest.warns(EstimationWarning, match=r"dropped as collinear.*'x2'"):
        res = structest.fit_reduced_form(df, "tariff ~ log_dva + x2 | imp_ind_year")
    assert list(res.params.index) == ["log_dva"]  # never a coefficient 0 with SE 0
    assert (res.se > 0).all()
    assert res.converged is True


def test_good_fit_has_no_diagnostics(small):
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimationWarning)
        res = structest.fit_reduced_form(small, "eq16", estimator="ols")
    assert res.converged and not res.diagnostics
    assert "WARNING" not in res.summary()


# ------------------------------------------------ numerical core and checks, directly
def _tobit_data(X: np.ndarray, fe_cols: dict[str, np.ndarray], seed: int = 0) -> TobitData:
    rng = np.random.default_rng(seed)
    n = len(X)
    y = X[:, 0] + rng.normal(size=n)
    U = np.full(n, y.max() + 1.0)
    df = pd.DataFrame({k: v.astype(str) for k, v in fe_cols.items()})
    return TobitData(
        y=y,
        X=X,
        upper=U,
        lower=np.zeros(n),
        status=np.zeros(n, dtype=np.int32),
        fe=encode(df, tuple(fe_cols)),
        cluster=np.arange(n) % 10,
    )


def test_core_names_absorbed_and_collinear_slopes():
    n = 60
    g = np.arange(n) % 6
    x = np.random.default_rng(1).normal(size=n)
    absorbed = _tobit_data(np.column_stack([x, g * 1.5]), {"grp": g})
    with pytest.raises(
        EstimationError, match=r"regressor 'gx' is absorbed by the fixed effects grp"
    ):
        fit_tobit_arrays(absorbed, names=["x", "gx"])
    collinear = _tobit_data(np.column_stack([x, 3 * x]), {"grp": g})
    with pytest.raises(EstimationError, match=r"regressor 'x3' is collinear with \['x'\]"):
        fit_tobit_arrays(collinear, names=["x", "x3"])
    zero = _tobit_data(np.column_stack([x, np.zeros(n)]), {"grp": g})
    with pytest.raises(EstimationError, match=r"'z' is zero in every observation"):
        fit_tobit_arrays(zero, names=["x", "z"])


def test_fe_rank_counts_connected_components():
    df = pd.DataFrame({"a": ["1", "1", "2", "3"], "b": ["x", "y", "z", "z"]})
    fe = encode(df, ("a", "b"))
    # levels 1,2,3 / x,y,z; components {1,x,y} and {2,3,z}: rank 6 - 2
    assert fe_rank(fe) == (4, 6, True)
    assert fe_rank(encode(df, ("a",))) == (3, 3, True)
    three = encode(df.assign(c=["p", "q", "p", "q"]), ("a", "b", "c"))
    rank, levels, exact = fe_rank(three)
    dummies = pd.get_dummies(df.assign(c=["p", "q", "p", "q"]).astype(str)).to_numpy(float)
    assert (rank, levels, exact) == (np.linalg.matrix_rank(dummies), 8, True)
    empty = FixedEffects(codes=np.zeros((0, 1), dtype=np.int64), sizes=(0,), names=("a",))
    assert fe_rank(empty) == (0, 0, True)


def test_unidentified_regressors_lists_nothing_for_good_columns():
    g = np.arange(40) % 4
    x = np.random.default_rng(2).normal(size=(40, 2))
    problems, sd = unidentified_regressors(x, ["a", "b"], encode(pd.DataFrame({"g": g}), ("g",)))
    assert problems == []
    assert sd.shape == (2,) and (sd > 0).all()


def _results(params: dict[str, float], se: dict[str, float]) -> Results:
    p, s = pd.Series(params), pd.Series(se)
    return Results("ols", "y ~ x", p, s, pd.DataFrame(np.diag(s**2), p.index, p.index), 100)


@pytest.mark.parametrize(
    ("params", "se", "match"),
    [
        ({"x": 1.0}, {"x": 0.0}, r"standard error\(s\) x=0 are zero or not finite"),
        ({"x": 1.0}, {"x": np.nan}, r"standard error\(s\) x=nan"),
        ({"x": 1.0, "z": 2.0}, {"x": 0.1, "z": np.inf}, r"z=inf"),
        ({"x": np.inf}, {"x": 1.0}, r"coefficient\(s\) \['x'\] are not finite"),
        ({"x": np.nan}, {"x": 1.0}, r"coefficient\(s\) \['x'\] are not finite"),
    ],
)
def test_check_estimates_refuses_meaningless_numbers(params, se, match):
    with pytest.raises(EstimationError, match=match):
        check_estimates(_results(params, se))


def test_check_estimates_flags_exploding_se():
    res = _results({"x": 1.0}, {"x": 5e7})
    check_estimates(res, y_sd=1.0, x_sd=pd.Series({"x": 1.0}))
    assert res.converged is False
    assert "exploding" in res.diagnostics[0]
    ok = _results({"x": 1.0}, {"x": 0.5})
    check_estimates(ok, y_sd=1.0, x_sd=pd.Series({"x": 1.0}))
    assert ok.converged and not ok.diagnostics


# ---------------------------------------------------------------------- counterfactuals
N_WORLD = 48  # 4 importers x 3 exporters x 2 industries x 2 years


def _row_array(value: float, at: int = 3) -> np.ndarray:
    a = np.zeros(N_WORLD)
    a[at] = value
    return a


CF_CASES = [
    # (id, kwargs, error, regex)
    (
        "fva-plus-1000",
        {"fva_growth": 1000.0},
        SpecError,
        r"fva_growth: a log change of 1000 makes fva infinite at 48 observation",
    ),
    (
        "fva-minus-1000",
        {"fva_growth": -1000.0},
        SpecError,
        r"fva_growth: a log change of -1000 makes fva zero",
    ),
    ("dva-plus-800", {"dva_growth": 800}, SpecError, r"dva_growth: .* makes dva infinite"),
    ("fg-plus-709", {"fg_growth": 709.0}, SpecError, r"fg_growth: .* makes fg infinite"),
    (
        "imports-minus-800",
        {"imports_growth": -800.0},
        SpecError,
        r"imports_growth: .* makes imports zero",
    ),
    (
        "imports-minus-745",
        {"imports_growth": -745.0},
        (SpecError, EstimationError),
        r"scenario \(imports_growth\): the changed levels give non-finite derived columns"
        r"|is not finite",
    ),
    (
        "fva-dict-one-importer",
        {"fva_growth": {"AUS": 2000.0}},
        SpecError,
        r"fva_growth: a log change of 2000 makes fva infinite at 12 observation",
    ),
    (
        "fva-array-one-row",
        {"fva_growth": _row_array(1e3)},
        SpecError,
        r"fva_growth: .* at 1 observation\(s\), e\.g\. row 3 \(",
    ),
    ("fva-inf", {"fva_growth": float("inf")}, SpecError, r"fva_growth: value inf is not finite"),
    ("fva-nan", {"fva_growth": float("nan")}, SpecError, r"fva_growth: value nan is not finite"),
    (
        "dva-array-nan",
        {"dva_growth": _row_array(np.nan)},
        SpecError,
        r"dva_growth: 1 non-finite value",
    ),
    (
        "fg-series-nan",
        {"fg_growth": pd.Series({"AUS": np.nan}).rename_axis("importer")},
        SpecError,
        r"fg_growth: value nan is not finite",
    ),
    ("dva-bool", {"dva_growth": True}, SpecError, r"dva_growth: expected a log change"),
    (
        "mfn-overflow",
        {"mfn": 1e308},
        SpecError,
        r"mfn: multiplier 1e\+308 give \d+ infinite MFN rate",
    ),
    ("mfn-dict-overflow", {"mfn": {"AUS": 1e308}}, SpecError, r"infinite MFN rate"),
    ("mfn-nan", {"mfn": float("nan")}, SpecError, r"mfn: value nan is not finite"),
    ("mfn-inf", {"mfn": float("inf")}, SpecError, r"mfn: value inf is not finite"),
    ("mfn-negative", {"mfn": -0.5}, SpecError, r"MFN multiplier must be >= 0"),
    ("mfn-bool", {"mfn": True}, SpecError, r"mfn: expected a multiplier"),
    ("mfn-rates-nan", {"mfn": _row_array(np.nan) + 5.0}, SpecError, r"mfn: 1 non-finite"),
    ("rta-nan", {"rta": {"AUS-BRA": float("nan")}}, SpecError, r"must be 0 or 1"),
    (
        "rta-symmetric-str",
        {"rta_symmetric": "no"},
        SpecError,
        r"rta_symmetric: expected True or False",
    ),
    ("by-unknown", {"by": "nope"}, SpecError, r"by column\(s\) \['nope'\] are not in the panel"),
    ("by-unknown-in-list", {"by": ("importer", "nope")}, SpecError, r"\['nope'\]"),
    ("by-not-str", {"by": ("importer", 3)}, SpecError, r"by entries must be column names"),
    ("by-number", {"by": 5}, SpecError, r"by must be a column name or a list"),
    ("thin-zero", {"thin": 0}, SpecError, r"thin must be >= 1"),
    ("thin-float", {"thin": 0.5}, SpecError, r"thin must be an integer"),
    ("thin-too-large", {"thin": 10**6}, SpecError, r"thin = 1000000 exceeds the 2 draws per chain"),
    ("interval-nan", {"interval": float("nan")}, SpecError, r"interval must lie in \(0, 1\)"),
    ("interval-str", {"interval": "0.9"}, SpecError, r"interval must be a number"),
    ("interval-one", {"interval": 1.0}, SpecError, r"interval must lie in \(0, 1\)"),
    ("lower-nan", {"lower": float("nan")}, SpecError, r"lower must be finite"),
    ("lower-list", {"lower": [0.0]}, SpecError, r"lower must be a number, None or 'model'"),
    ("noise-str", {"noise": "yes"}, SpecError, r"noise must be True or False"),
    ("seed-negative", {"seed": -1}, SpecError, r"seed must lie in \[0, 2\*\*32\)"),
    ("seed-float", {"seed": 1.5}, SpecError, r"seed must be an integer"),
    ("scenario-str", {"scenario": "x"}, SpecError, r"scenario must be a Scenario or a dict"),
    ("scenario-unknown-key", {"scenario": {"fva": 0.5}}, SpecError, r"unknown key\(s\) \['fva'\]"),
    ("scenario-name-int", {"scenario": {"name": 3}}, SpecError, r"name: expected a string"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"), [pytest.param(*c[1:], id=c[0]) for c in CF_CASES]
)
def test_counterfactual_refuses_bad_scenarios(world, kwargs, error, match):
    panel, fit = world
    assert len(panel) == N_WORLD
    with pytest.raises(error, match=match) as info:
        structest.counterfactual(fit, panel, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_by_is_refused_before_any_computation(world, monkeypatch):
    panel, fit = world

    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("computation started")

    monkeypatch.setattr(cf_compute, "fit_for_baseline", boom)
    monkeypatch.setattr(cf_compute, "tstar_draws", boom)
    with pytest.raises(SpecError, match=r"by column\(s\) \['pair_x'\]"):
        structest.counterfactual(fit, panel, fva_growth=0.5, by=("importer", "pair_x"))
    with pytest.raises(SpecError, match="thin"):
        structest.counterfactual(fit, panel, thin=-2)


def test_by_choices_for_a_command_line():
    assert BY_CHOICES == ("importer", "industry", "exporter", "year", "rta")
    assert check_by("importer") == ("importer",)
    assert check_by(["year", "rta", "year"]) == ("year", "rta")
    with pytest.raises(SpecError, match=r"\['pair'\] are not groupings; choose from importer"):
        check_by("pair")
    assert check_by("pair", columns=["pair", "importer"]) == ("pair",)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-change"),
        pytest.param({"fva_growth": 0.0, "mfn": 1.0}, id="zero-growth-unit-mfn"),
        pytest.param({"fva_growth": {"AUS": 0.0}}, id="zero-dict"),
    ],
)
def test_scenario_that_changes_nothing_says_so(world, kwargs):
    panel, fit = world
    with pytest.warns(UserWarning, match="the scenario changes nothing"):
        ds = structest.counterfactual(fit, panel, **kwargs)
    assert "changes nothing" in ds.attrs["scenario_notes"]
    assert float(np.abs(ds["d_tstar_all"]).max()) == 0.0


def test_removing_an_absent_rta_changes_nothing(world):
    panel, fit = world
    df = panel.df
    with_rta = {frozenset(p) for p in df.loc[df["rta"] == 1, ["importer", "exporter"]].to_numpy()}
    pairs = {frozenset(p) for p in df[["importer", "exporter"]].to_numpy()} - with_rta
    a, b = sorted(sorted(pairs, key=sorted)[0])
    with pytest.warns(UserWarning, match="changes nothing"):
        structest.counterfactual(fit, panel, rta={f"{a}-{b}": 0})


def test_a_real_change_gives_no_note(world):
    panel, fit = world
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*changes nothing.*")
        ds = structest.counterfactual(fit, panel, fva_growth=0.5)
    assert ds.attrs["scenario_notes"] == ""
    assert np.isfinite(ds["d_tstar_all_summary"].values).all()


def test_non_finite_draws_raise_instead_of_nan(world, monkeypatch):
    panel, fit = world
    real = cf_compute.tstar_draws
    calls = {"n": 0}

    def nan_in_cf(post: Any, spec: Any, arrays: Any) -> np.ndarray:
        calls["n"] += 1
        out = real(post, spec, arrays)
        if calls["n"] == 2:  # the counterfactual state
            out = out.copy()
            out[..., 5] = np.nan
        return out

    monkeypatch.setattr(cf_compute, "tstar_draws", nan_in_cf)
    with pytest.raises(
        EstimationError, match=r"counterfactual t\* is not finite for 1 observation"
    ):
        structest.counterfactual(fit, panel, fva_growth=0.5)


def test_scenario_object_validates_on_construction():
    with pytest.raises(SpecError, match="fg_growth: value inf is not finite"):
        Scenario(fg_growth=float("inf"))
    with pytest.raises(SpecError, match="expected a dict of fields"):
        Scenario.from_dict([("fva_growth", 1.0)])  # type: ignore[arg-type]


# ---------------------------------------------------------------------- result files/tables
@pytest.fixture(scope="module")
def cf_result(world):
    panel, fit = world
    return structest.counterfactual(fit, panel, fva_growth=0.5)


def test_tables_refuse_unknown_quantities_groups_and_nan(cf_result):
    with pytest.raises(SpecError, match=r"no quantity \['nope'\]; available: \["):
        summary_table(cf_result, quantities=["nope"])
    with pytest.raises(SpecError, match="must be a list of names"):
        summary_table(cf_result, quantities="d_tstar")
    with pytest.raises(StructestError, match=r"no aggregate by 'pair'"):
        summary_table(cf_result, by="pair")
    broken = cf_result.copy(deep=True)
    broken["d_tstar_all_summary"][0] = np.nan
    with pytest.raises(EstimationError, match=r"d_tstar_all_summary has non-finite values"):
        format_summary(broken)


def test_load_counterfactual_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        load_counterfactual(tmp_path / "missing.nc")
    with pytest.raises(InputFileError, match="is not a regular file \\(a folder\\)"):
        load_counterfactual(tmp_path)
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(InputFileError, match="is not a readable NetCDF file"):
        load_counterfactual(junk)


# ------------------------------------------------------- counterfactuals: sweep findings
CF_SWEEP_CASES = [
    # (id, kwargs, error, regex)
    ("rta-int", {"rta": 5}, SpecError, r"rta: expected pairs .* got 5 \(int\)"),
    ("rta-float", {"rta": 0.5}, SpecError, r"rta: expected pairs .* got 0\.5 \(float\)"),
    ("rta-array", {"rta": np.array(["AUS-BRA"])}, SpecError, r"rta: expected pairs"),
    (
        "rta-contradictory-symmetric",
        {"rta": {"AUS-BRA": 1, "BRA-AUS": 0}},
        SpecError,
        r"rta: pair 'BRA-AUS' sets RTA = 0 where pair 'AUS-BRA' sets 1 \(rta_symmetric",
    ),
    (
        "rta-contradictory-same-pair",
        {"rta": {"AUS-BRA": 1, ("AUS", "BRA"): 0}},
        SpecError,
        r"sets RTA = 0 where pair 'AUS-BRA' sets 1",
    ),
    (
        "fva-str-array-numeric",
        {"fva_growth": np.array(["0.5"] * N_WORLD)},
        SpecError,
        r"fva_growth: values must be numbers, got an array of strings",
    ),
    (
        "fva-str-array-junk",
        {"fva_growth": np.array(["abc"] * N_WORLD)},
        SpecError,
        r"fva_growth: values must be numbers, got an array of strings",
    ),
    (
        "dva-bool-array",
        {"dva_growth": np.ones(N_WORLD, bool)},
        SpecError,
        r"dva_growth: values must be numbers, got an array of booleans",
    ),
    (
        "fg-object-array-none",
        {"fg_growth": np.array([None] * N_WORLD, dtype=object)},
        SpecError,
        r"fg_growth: values must be numbers, got None \(NoneType\)",
    ),
    (
        "imports-str-series",
        {"imports_growth": pd.Series(["0.1"] * N_WORLD)},
        SpecError,
        r"imports_growth: values must be numbers, got an array of strings",
    ),
    (
        "mfn-bool-array",
        {"mfn": np.ones(N_WORLD, bool)},
        SpecError,
        r"mfn: values must be numbers, got an array of booleans",
    ),
    (
        "mfn-str-array",
        {"mfn": np.array(["5"] * N_WORLD)},
        SpecError,
        r"mfn: values must be numbers, got an array of strings",
    ),
    ("mfn-np-bool", {"mfn": np.bool_(True)}, SpecError, r"mfn: expected a multiplier"),
    ("fva-np-bool", {"fva_growth": np.bool_(True)}, SpecError, r"fva_growth: expected a log"),
    (
        "fva-400-digit-int",
        {"fva_growth": 10**400},
        SpecError,
        r"fva_growth: value 1000\d*\.\.\.\(401 characters\) is too large for a float",
    ),
    (
        "mfn-400-digit-int",
        {"mfn": 10**400},
        SpecError,
        r"mfn: value 1000\d*\.\.\.\(401 characters\) is too large for a float",
    ),
    (
        "dva-dict-400-digit-int",
        {"dva_growth": {"AUS": -(10**400)}},
        SpecError,
        r"dva_growth\['AUS'\]: value -1000\d*\.\.\.\(402 characters\) is too large",
    ),
    (
        "by-value-column",
        {"fva_growth": 0.5, "by": "tariff"},
        SpecError,
        r"by column\(s\) \['tariff'\] are continuous values or names of the result's "
        r"variables, not grouping columns; grouping columns: importer, exporter, industry",
    ),
    (
        "by-continuous-column",
        {"fva_growth": 0.5, "by": ("importer", "log_dva")},
        SpecError,
        r"\['log_dva'\] are continuous values .*grouping columns: importer",
    ),
    ("by-result-dim", {"by": "obs"}, SpecError, r"\['obs'\] are not in the panel; grouping"),
    (
        "lower-huge",
        {"fva_growth": 0.5, "lower": 1e300},
        SpecError,
        r"lower must lie in \[-1000, 1000\] pp .*got 1e\+300",
    ),
    ("lower-below", {"lower": -1000.5}, SpecError, r"lower must lie in \[-1000, 1000\]"),
    (
        "wiod-year-not-available",
        {"fva_growth": "wiod:1800-1801"},
        structest.OptionError,
        r"^fva_growth='wiod:1800-1801': va_contents: year 1800 not available",
    ),
    (
        "wiod-end-year-not-available",
        {"dva_growth": "wiod:1995-2050"},
        structest.OptionError,
        r"^dva_growth='wiod:1995-2050': va_contents: year 2050 not available",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"), [pytest.param(*c[1:], id=c[0]) for c in CF_SWEEP_CASES]
)
def test_counterfactual_refuses_sweep_findings(world, kwargs, error, match):
    panel, fit = world
    with pytest.raises(error, match=match) as info:
        structest.counterfactual(fit, panel, **kwargs)
    assert "\n" not in str(info.value)


def test_rta_pairs_that_agree_are_accepted_and_one_way_does_not_clash(world):
    panel, fit = world
    df = panel.df
    ds = structest.counterfactual(fit, panel, rta={"AUS-BRA": 1, "BRA-AUS": 1})
    both = ((df["importer"] == "AUS") & (df["exporter"] == "BRA")) | (
        (df["importer"] == "BRA") & (df["exporter"] == "AUS")
    )
    assert (ds["rta_cf"].values[both.to_numpy()] == 1).all()
    ds = structest.counterfactual(fit, panel, rta={"AUS-BRA": 1, "BRA-AUS": 0}, rta_symmetric=False)
    ab = ((df["importer"] == "AUS") & (df["exporter"] == "BRA")).to_numpy()
    ba = ((df["importer"] == "BRA") & (df["exporter"] == "AUS")).to_numpy()
    assert (ds["rta_cf"].values[ab] == 1).all() and (ds["rta_cf"].values[ba] == 0).all()


def test_numpy_bool_is_stored_as_a_plain_bool(world):
    panel, fit = world
    scen = Scenario(rta=["AUS-BRA"], rta_symmetric=np.bool_(False))
    assert scen.rta_symmetric is False
    ds = structest.counterfactual(fit, panel, rta=["AUS-BRA"], rta_symmetric=np.bool_(False))
    import json

    assert json.loads(ds.attrs["scenario"])["rta_symmetric"] is False
    assert "np." not in ds.attrs["scenario"]


def test_by_a_grouping_column_that_is_not_a_default(world):
    panel, fit = world
    ds = structest.counterfactual(fit, panel, fva_growth=0.5, by=("importer", "pair"))
    assert ds["d_tstar_by_pair_summary"].shape == (panel.df["pair"].nunique(), 4)
    assert "pair" in cf_compute.grouping_columns(panel.df)
    assert "tariff" not in cf_compute.grouping_columns(panel.df)


def test_save_counterfactual_never_overwrites_other_files(cf_result, tmp_path):
    from structest.counterfactuals import save_counterfactual
    from structest.errors import OutputError

    keep = tmp_path / "keep.txt"
    keep.write_text("keep me\n")
    with pytest.raises(OutputError, match=r"keep\.txt: exists and is not a NetCDF file"):
        save_counterfactual(cf_result, keep)
    assert keep.read_text() == "keep me\n"
    png = tmp_path / "fig.nc"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(OutputError, match="not a NetCDF file"):
        save_counterfactual(cf_result, png)
    with pytest.raises(OutputError, match="is a folder"):
        save_counterfactual(cf_result, tmp_path)
    fifo = tmp_path / "fifo.nc"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        save_counterfactual(cf_result, fifo)
    with pytest.raises(StructestError, match="expected a counterfactual Dataset"):
        save_counterfactual(cf_result.drop_vars("tstar_base"), tmp_path / "x.nc")
    out = tmp_path / "cf.nc"
    save_counterfactual(cf_result, out)
    save_counterfactual(cf_result, out)  # a NetCDF file is replaced
    assert float(load_counterfactual(out)["d_tstar_all"].mean()) == pytest.approx(
        float(cf_result["d_tstar_all"].mean())
    )
    empty = tmp_path / "empty.nc"
    empty.write_bytes(b"")
    save_counterfactual(cf_result, empty)  # an empty file holds nothing to lose
    assert empty.read_bytes().startswith(b"\x89HDF\r\n\x1a\n")
