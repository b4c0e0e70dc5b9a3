"""Options of ``fit_reduced_form``: every keyword checked up front, one clear line each.

Bad options are refused before any estimator runs (no Tobit is fitted here), with the
error type and a message naming the option and the value. Regression cases of the issue-14
sweep: a NaN bound or tolerance used to fit OLS silently, ``censor_tol=-5`` and
``upper=True`` gave misleading messages, ``max_iter=-1`` ran, ``ssc="x"`` and
``i(log_dva)`` leaked pyfixest internals ("argument after ** must be a mapping",
"division by zero").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import structest
from structest import OptionError, SpecError
from structest.reduced import fit_reduced_form, parse
from structest.reduced.data import Sample, build_sample
from structest.reduced.hdfe import encode
from structest.reduced.ols_iv import DEFAULT_SSC, check_ssc, fit_ols
from structest.reduced.tobit import check_tobit_options, fit_tobit
from structest.reduced.tobit_core import TobitData, fit_tobit_arrays

SMALL = {
    "economies": ("USA", "CHN", "JPN", "MEX", "BRA", "IND"),
    "industries": ("c3", "c4", "c9"),
    "years": (1995, 2005),
}
FML = "tariff ~ log_dva + rta | imp_ind_year + exp_ind_year"
FIV = "tariff ~ rta | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services"
NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def small():
    panel, _ = structest.simulate(seed=3, **SMALL)
    return panel


# (id, estimator, formula, keyword arguments, error type, regex of the message)
BAD = [
    # -- Tobit bounds: NaN used to disable the censoring silently (fitted OLS)
    ("upper-nan", "tobit", FML, {"upper": NAN}, OptionError, r"^upper must be a finite .*nan$"),
    ("lower-nan", "tobit", FML, {"lower": NAN}, OptionError, r"^lower must be a finite .*nan$"),
    ("iv-upper-nan", "tobit_iv", FIV, {"upper": NAN}, OptionError, r"^upper must be a finite"),
    ("upper-inf", "tobit", FML, {"upper": -INF}, OptionError, r"^upper must be a finite.*-inf"),
    ("lower-inf", "tobit", FML, {"lower": INF}, OptionError, r"^lower must be a finite.*inf"),
    ("upper-bool", "tobit", FML, {"upper": True}, OptionError, r"^upper must be .*True \(bool\)"),
    ("lower-bool", "tobit", FML, {"lower": False}, OptionError, r"^lower .*False \(bool\)"),
    (
        "upper-npbool",
        "tobit",
        FML,
        {"upper": np.bool_(True)},
        OptionError,
        r"^upper must be .*\(bool_?\)",
    ),
    ("upper-list", "tobit", FML, {"upper": [1.0]}, OptionError, r"^upper .*\[1\.0\] \(list\)"),
    ("upper-empty", "tobit", FML, {"upper": ""}, OptionError, r"^upper must be a column name"),
    (
        "lower-above-upper",
        "tobit",
        FML,
        {"upper": 1.0, "lower": 5.0},
        OptionError,
        r"^lower \(5\.0\) must be below upper \(1\.0\)$",
    ),
    (
        "lower-eq-upper",
        "tobit",
        FML,
        {"upper": 2, "lower": 2},
        OptionError,
        r"^lower \(2\.0\) must be below upper",
    ),
    (
        "upper-no-column",
        "tobit",
        FML,
        {"upper": "nosuch"},
        SpecError,
        r"^upper: censoring bound column 'nosuch' is not in the panel$",
    ),
    (
        "upper-text-column",
        "tobit",
        FML,
        {"upper": "importer"},
        SpecError,
        r"^upper: censoring bound column 'importer' is not numeric",
    ),
    (
        "lower-bool-column",
        "tobit_iv",
        FIV,
        {"lower": "censored"},
        SpecError,
        r"^lower: censoring bound column 'censored' is not numeric \(dtype bool",
    ),
    # -- censor_tol
    ("tol-nan", "tobit", FML, {"censor_tol": NAN}, OptionError, r"^censor_tol .*>= 0, got nan$"),
    ("tol-neg", "tobit", FML, {"censor_tol": -5}, OptionError, r"^censor_tol .*>= 0, got -5$"),
    ("tol-inf", "tobit", FML, {"censor_tol": INF}, OptionError, r"^censor_tol .*got inf$"),
    ("tol-str", "tobit", FML, {"censor_tol": "a"}, OptionError, r"^censor_tol .*'a' \(str\)$"),
    ("tol-bool", "tobit", FML, {"censor_tol": True}, OptionError, r"^censor_tol .*True \(bool\)"),
    ("iv-tol-neg", "tobit_iv", FIV, {"censor_tol": -1e-9}, OptionError, r"^censor_tol "),
    # -- max_iter
    ("iter-neg", "tobit", FML, {"max_iter": -1}, OptionError, r"^max_iter .*>= 1, got -1$"),
    ("iter-zero", "tobit", FML, {"max_iter": 0}, OptionError, r"^max_iter .*>= 1, got 0$"),
    ("iter-float", "tobit", FML, {"max_iter": 2.5}, OptionError, r"^max_iter .*2\.5 \(float\)$"),
    ("iter-str", "tobit", FML, {"max_iter": "10"}, OptionError, r"^max_iter .*'10' \(str\)$"),
    ("iter-bool", "tobit", FML, {"max_iter": True}, OptionError, r"^max_iter .*True \(bool\)$"),
    ("iv-iter-zero", "tobit_iv", FIV, {"max_iter": 0}, OptionError, r"^max_iter .*got 0$"),
    # -- ssc (pyfixest's "argument after ** must be a mapping" used to leak)
    ("ssc-str", "ols", FML, {"ssc": "x"}, OptionError, r"^ssc must be a mapping.*'x' \(str\)$"),
    ("ssc-list", "ols", FML, {"ssc": [1]}, OptionError, r"^ssc must be a mapping.*\(list\)$"),
    ("iv-ssc-int", "iv", FIV, {"ssc": 3}, OptionError, r"^ssc must be a mapping.*3 \(int\)$"),
    ("tiv-ssc-str", "tobit_iv", FIV, {"ssc": "x"}, OptionError, r"^ssc must be a mapping"),
    ("ssc-key", "ols", FML, {"ssc": {"bogus": 1}}, OptionError, r"^ssc: unknown key 'bogus'"),
    (
        "ssc-old-key",
        "ols",
        FML,
        {"ssc": {"adj": True}},
        OptionError,
        r"^ssc: unknown key 'adj' \(pyfixest's old name of 'k_adj'\)",
    ),
    (
        "ssc-value",
        "ols",
        FML,
        {"ssc": {"k_adj": "x"}},
        OptionError,
        r"^ssc\['k_adj'\] must be one of True, False, got 'x'$",
    ),
    (
        "ssc-value-int",
        "iv",
        FIV,
        {"ssc": {"G_adj": 1}},
        OptionError,
        r"^ssc\['G_adj'\] must be one of True, False, got 1$",
    ),
    (
        "ssc-gdf",
        "ols",
        FML,
        {"ssc": {"G_df": "max"}},
        OptionError,
        r"^ssc\['G_df'\] must be one of 'conventional', 'min', got 'max'$",
    ),
    # -- options an estimator does not take
    (
        "vcov",
        "ols",
        FML,
        {"vcov": "hetero"},
        SpecError,
        r"^unknown option\(s\) \['vcov'\] for estimator 'ols'.*cluster=",
    ),
    ("ssc-tobit", "tobit", FML, {"ssc": None}, SpecError, r"^unknown option\(s\) \['ssc'\]"),
    ("upper-ols", "ols", FML, {"upper": 0.0}, SpecError, r"^unknown option\(s\) \['upper'\]"),
    # -- sample and cluster
    ("sample-int", "ols", FML, {"sample": 5}, OptionError, r"^sample must be one of .*5 \(int\)$"),
    ("sample-list", "ols", FML, {"sample": ["all"]}, OptionError, r"^sample .*\['all'\] \(list\)"),
    ("sample-none", "tobit", FML, {"sample": None}, OptionError, r"^sample .*None \(NoneType\)$"),
    ("sample-name", "ols", FML, {"sample": "mars"}, SpecError, r"^unknown sample 'mars'; choose"),
    ("cluster-int", "ols", FML, {"cluster": 5}, OptionError, r"^cluster must be .*5 \(int\)$"),
    ("cluster-list", "iv", FIV, {"cluster": ["pair"]}, OptionError, r"^cluster .*\(list\)$"),
    ("cluster-empty", "ols", FML, {"cluster": ""}, OptionError, r"^cluster must be a column"),
    (
        "cluster-absent",
        "ols",
        FML,
        {"cluster": "nope"},
        SpecError,
        r"^cluster column 'nope' is not",
    ),
    (
        "cluster-continuous",
        "tobit",
        FML,
        {"cluster": "tariff"},
        SpecError,
        r"^cluster column 'tariff' is continuous \(e\.g\. -?\d",
    ),
    # -- names with line breaks stay on one line (repr)
    (
        "upper-newline",
        "tobit",
        FML,
        {"upper": "mf\nn"},
        SpecError,
        r"^upper: censoring bound column 'mf\\nn' is not in the panel$",
    ),
    ("cluster-newline", "ols", FML, {"cluster": "pa\nir"}, SpecError, r"'pa\\nir' is not in"),
    ("sample-newline", "ols", FML, {"sample": "a\nll"}, SpecError, r"^unknown sample 'a\\nll'"),
    ("est-newline", "ol\ns", FML, {}, SpecError, r"^unknown estimator 'ol\\ns'"),
    # -- estimator
    ("est-none", None, FML, {}, OptionError, r"^estimator must be one of .*None \(NoneType\)$"),
    ("est-list", ["ols"], FML, {}, OptionError, r"^estimator must be one of .*\(list\)$"),
    ("est-case", "OLS", FML, {}, SpecError, r"^unknown estimator 'OLS' \(did you mean 'ols'\?\)"),
    ("est-probit", "probit", FML, {}, SpecError, r"^unknown estimator 'probit'; choose one of"),
    # -- continuous columns used as categories (pyfixest said "division by zero")
    (
        "i-continuous",
        "ols",
        "tariff ~ i(log_dva)",
        {},
        SpecError,
        r"^formula 'tariff ~ i\(log_dva\)': i\(log_dva\) needs a categorical column.*"
        r"'log_dva' is continuous.*i\(<category>, log_dva\)",
    ),
    (
        "i-continuous-fe",
        "ols",
        "tariff ~ i(log_dva) + rta | imp_ind_year",
        {},
        SpecError,
        r"i\(log_dva\) needs a categorical column",
    ),
    (
        "i-continuous-ref",
        "ols",
        "tariff ~ i(log_dva, rta, ref=0)",
        {},
        SpecError,
        r"i\(log_dva\) needs a categorical column",
    ),
    (
        "C-continuous",
        "iv",
        "tariff ~ C(log_dva) | log_fva ~ log_dva_services",
        {},
        SpecError,
        r"C\(log_dva\) needs a categorical column.*write log_dva as a regressor$",
    ),
    (
        "i-continuous-tobit",
        "tobit",
        "tariff ~ i(log_dva) + rta",
        {},
        SpecError,
        r"i\(log_dva\) needs a categorical column",
    ),
    (
        "fe-continuous",
        "ols",
        "tariff ~ rta | imp_ind_year + log_dist",
        {},
        SpecError,
        r"fixed effect 'log_dist' needs a categorical column.*'log_dist' is continuous",
    ),
]


@pytest.mark.parametrize(
    ("estimator", "formula", "kwargs", "error", "pattern"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD],
)
def test_bad_option_refused_in_one_line(small, estimator, formula, kwargs, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        fit_reduced_form(small, formula, estimator=estimator, **kwargs)
    assert "\n" not in str(info.value)
    assert "division by zero" not in str(info.value)
    assert "pyfixest could not fit" not in str(info.value)


def test_enough_cases():
    assert len(BAD) >= 20


# ---------------------------------------------------------------- good values still pass
def test_tobit_options_normalised():
    up, lo, tol, it = check_tobit_options("mfn", np.float64(0.0), np.float32(1e-6), np.int64(7))
    assert (up, lo, it) == ("mfn", 0.0, 7)
    assert isinstance(lo, float) and isinstance(it, int) and isinstance(tol, float)
    assert tol == pytest.approx(1e-6)
    assert check_tobit_options(None, None, 0, 1) == (None, None, 0.0, 1)
    assert check_tobit_options(3, -1, 0.0, 100) == (3.0, -1.0, 0.0, 100)


def test_ssc_accepts_pyfixest_output_and_numpy_bools():
    import pyfixest as pf

    assert check_ssc(None) is None
    assert check_ssc(pf.ssc()) == pf.ssc()
    out = check_ssc({"k_adj": np.bool_(False), "G_adj": True})
    assert out == {"k_adj": False, "G_adj": True}
    assert type(out["k_adj"]) is bool


def test_valid_options_give_the_default_fit(small):
    """Explicit defaults (numpy-typed) give the default estimate; another ssc rescales SEs."""
    base = fit_reduced_form(small, FML)
    same = fit_reduced_form(
        small, FML, "ols", "pair", sample="all", ssc={**DEFAULT_SSC, "G_adj": np.bool_(True)}
    )
    np.testing.assert_allclose(same.params, base.params, rtol=1e-12)
    np.testing.assert_allclose(same.se, base.se, rtol=1e-12)
    no_g = fit_reduced_form(small, FML, ssc={**DEFAULT_SSC, "G_adj": False})
    G = small.df["pair"].nunique()
    np.testing.assert_allclose(no_g.se, base.se * np.sqrt((G - 1) / G), rtol=1e-8)


@pytest.mark.parametrize(
    "formula", ["tariff ~ i(rta, log_dva) | imp_ind_year", "tariff ~ log_dva + i(year)"]
)
def test_categorical_columns_still_accepted(small, formula):
    """Integer-valued columns (0/1 dummies, years) are categories; a numeric slope is fine."""
    res = fit_reduced_form(small, formula)
    assert res.nobs == len(small.df)
    assert np.isfinite(res.params).all()


# ------------------------------------------------------------ the lower-level entry points
def test_direct_calls_check_their_options(small):
    f = parse(FML)
    with pytest.raises(OptionError, match=r"^upper must be a finite .*nan$"):
        fit_tobit(f, Sample(df=small.df.copy()), upper=NAN)
    with pytest.raises(OptionError, match=r"^max_iter must be an integer >= 1, got 0$"):
        fit_tobit(f, Sample(df=small.df.copy()), max_iter=0)
    with pytest.raises(OptionError, match=r"^ssc must be a mapping"):
        fit_ols(f, Sample(df=small.df.copy()), ssc="x")
    with pytest.raises(OptionError, match=r"^cluster must be a column name.*\(list\)$"):
        build_sample(small, f, cluster=["pair"])
    with pytest.raises(OptionError, match=r"^sample must be one of .*\(list\)$"):
        build_sample(small, f, sample=["all"])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"max_iter": 0}, r"^max_iter must be an integer >= 1, got 0$"),
        ({"max_iter": 1.0}, r"^max_iter must be an integer >= 1, got 1\.0$"),
        ({"tol": NAN}, r"^tol must be a finite number > 0, got nan$"),
        ({"cg_tol": -1.0}, r"^cg_tol must be a finite number > 0, got -1\.0$"),
    ],
)
def test_core_checks_its_options(kwargs, pattern):
    n = 20
    x = np.linspace(0.0, 1.0, n)
    data = TobitData(
        y=x,
        X=x[:, None],
        upper=np.full(n, 2.0),
        lower=np.zeros(n),
        status=np.zeros(n, dtype=np.int32),
        fe=encode(pd.DataFrame({"g": (np.arange(n) % 2).astype(str)}), ("g",)),
    )
    with pytest.raises(OptionError, match=pattern):
        fit_tobit_arrays(data, **kwargs)
