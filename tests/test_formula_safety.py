"""Formulas are parsed and checked against a whitelist, never executed (issue 14).

Every user formula (OLS, IV, Tobit, Tobit-IV; Python API and CLI) is split on ``~``/``|``
at the top level, each term parsed with :mod:`ast` and checked before pyfixest/formulaic
sees it. Injection attempts must raise :class:`SpecError` and must not run: each payload
would create the sentinel file ``pwned`` in the working directory (a test proves that the
payloads are live), and every test asserts it was not created. Where OLS and Tobit both
accept a formula they must build the same design: an uncensored Tobit (``upper=None``) is
Gaussian ML, whose slopes equal OLS's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import structest
from structest import SpecError, StructestError
from structest.reduced import Formula, fit_reduced_form, parse
from structest.reduced.data import Sample, build_sample
from structest.reduced.formula import SPECS
from structest.reduced.ols_iv import fit_ols

SMALL = {
    "economies": ("USA", "CHN", "JPN", "MEX", "BRA", "IND"),
    "industries": ("c3", "c4", "c9", "c12"),
    "years": (1995, 2005),
}
ESTIMATORS = ("ols", "tobit", "iv", "tobit_iv")
SENTINEL = "pwned"


def _chr(s: str) -> str:
    """A string literal spelled without quotes (``chr(..)+chr(..)``)."""
    return "+".join(f"chr({ord(c)})" for c in s)


#: Live payloads (Python expressions without quotes) that create ``./pwned``.
OS = f"__import__({_chr('os')})"
SYSTEM = f"{OS}.system({_chr('touch ' + SENTINEL)})"
OPEN = f"open({_chr(SENTINEL)}, {_chr('w')})"

#: (id, formula, regex of the SpecError): code-injection attempts.
INJECTIONS = [
    (
        "issue_14",
        f"tariff ~ log_dva + I(__import__('os').system('touch {SENTINEL}')) | imp_ind_year",
        r"string quote",
    ),
    ("system_in_I", f"tariff ~ log_dva + I({SYSTEM}) | imp_ind_year", r"attribute access"),
    ("system_bare", f"tariff ~ log_dva + {SYSTEM}", r"attribute access '__import__"),
    ("system_in_log", f"tariff ~ log({SYSTEM})", r"attribute access"),
    ("eval", f"tariff ~ I(eval({_chr(SYSTEM)}))", r"call of 'eval\(\)'"),
    ("exec", f"tariff ~ exec({_chr(SYSTEM)})", r"call of 'exec\(\)'"),
    ("open", f"tariff ~ log_dva + I({OPEN})", r"call of 'open\(\)'"),
    ("open_bare", f"tariff ~ log_dva + {OPEN}", r"call of 'open\(\)'"),
    ("lambda", f"tariff ~ I((lambda: {SYSTEM})())", r"call of 'lambda"),
    ("generator", f"tariff ~ I(({SYSTEM} for _ in log_dva))", r"comprehension"),
    ("walrus", f"tariff ~ I((w := {OPEN}))", r"assignment expression ':='"),
    ("getattr", f"tariff ~ I(getattr({OS}, {_chr('system')})(log_dva))", r"call of 'getattr"),
    ("dunder", "tariff ~ I(__builtins__)", r"dunder name '__builtins__'"),
    ("np_attribute", f"tariff ~ np.os.system({_chr('touch ' + SENTINEL)})", r"attribute access"),
    ("i_ref", f"tariff ~ i(year, ref={SYSTEM})", r"i\(\.\.\., ref=\.\.\.\) takes a number"),
    ("C_argument", f"tariff ~ C({SYSTEM})", r"C\(\) takes column names"),
    ("bitor_in_I", f"tariff ~ I(log_dva | {SYSTEM})", r"operator '\|'"),
    ("fe_part", f"tariff ~ log_dva | imp_ind_year + {SYSTEM}", r"fixed effect .* column name"),
    ("iv_part", f"tariff ~ rta | imp_ind_year | log_dva ~ {SYSTEM}", r"instrument .* column"),
    ("endog_part", f"tariff ~ rta | {SYSTEM} ~ log_dva_services", r"endogenous variable"),
    ("depvar", f"{SYSTEM} ~ log_dva", r"dependent variable .* must be a column name"),
    ("backticks", f"tariff ~ `touch {SENTINEL}`", r"backtick"),
    ("semicolon", f"tariff ~ log_dva; {SYSTEM}", r"semicolon"),
    ("newline", f"tariff ~ log_dva\n{SYSTEM}", r"line breaks"),
]

#: (formula, regex of the SpecError): other formulas outside the whitelist or the panel.
BAD = [
    ("tariff ~ log_dva*rta", r"arithmetic outside I\(\) in 'log_dva \* rta'"),
    ("tariff ~ log_dva - rta", r"only the intercept can be removed"),
    ("tariff ~ 2 + log_dva", r"constant '2' is not a term"),
    ("tariff ~ log_dva + log_dva", r"term 'log_dva' appears more than once"),
    ("tariff ~ I(log_dva+rta) + I(log_dva + rta)", r"'I\(log_dva \+ rta\)' appears more"),
    ("tariff ~ tariff + log_dva", r"dependent variable 'tariff' also appears"),
    ("log(tariff) ~ log_dva", r"dependent variable 'log\(tariff\)' must be a column name"),
    (
        "tariff ~ log_dvaa | imp_ind_year",
        r"unknown column\(s\) 'log_dvaa' \(did you mean 'log_dva'",
    ),
    ("tariff ~ I(log_dva + rtaa)", r"'rtaa' \(did you mean 'rta'"),
    ("tariff ~ C(yeer)", r"'yeer' \(did you mean 'year'"),
    ("tariff ~ log_dva | importer^yeer", r"'yeer' \(did you mean 'year'"),
    ("tariff ~ zzz_qqq", r"unknown column\(s\) 'zzz_qqq'; available columns include: .*log_dva"),
    ("tariff ~ industry | imp_ind_year", r"'industry' .* not numeric .* write C\(industry\)"),
    (
        "tariff ~ log(preference) | imp_ind_year",
        r"no observations left .* non-finite value of 'log\(preference\)'",
    ),
    ("tariff ~ I(log_dva ** 9 ** 9)", r"power .* needs a column expression as base"),
    ("tariff ~ I(2 ** log_dva)", r"power '2 \*\* log_dva'"),
    ("tariff ~ I(log_dva ** 1000)", r"at most 100 in absolute value"),
    ("tariff ~ I(log_dva // 2)", r"operator '//'"),
    ("tariff ~ I(log_dva > 1)", r"comparison 'log_dva > 1'"),
    ("tariff ~ I(log_dva and rta)", r"boolean operator"),
    ("tariff ~ I(log_dva if rta else dva)", r"conditional expression"),
    ("tariff ~ I(True * log_dva)", r"constant 'True'"),
    ("tariff ~ I(1j * log_dva)", r"constant '1j'"),
    ("tariff ~ I(1e999 * log_dva)", r"constant '1e309'"),
    ("tariff ~ C(year, Sum)", r"C\(\) takes 1 argument"),
    ("tariff ~ log(dva, 2)", r"log\(\) takes 1 argument"),
    ("tariff ~ i(year, ref=1995, bin=2)", r"keyword 'bin' of i\(\)"),
    ("tariff ~ i(year, log_dva, rta)", r"i\(\) takes 1 or 2 argument"),
    ("tariff ~ log_dva[0]", r"subscript bracket"),
    ("tariff ~ log_dva.real", r"attribute access 'log_dva.real'"),
    ("tariff ~ sw(log_dva, rta)", r"call of 'sw\(\)'"),
    ("tariff ~ log_dva | csw0(imp_ind_year, exp_ind_year)", r"fixed effect .* column name"),
    ("tariff ~ log_dva | C(imp_ind_year)", r"fixed effect 'C\(imp_ind_year\)'"),
    ("tariff ~ log_dva + (rta", r"unbalanced parentheses"),
    ("tariff ~ log_dva)", r"unbalanced parentheses"),
    ("tariff ~ log_dva +", r"empty term"),
    ("tariff ~ log_dva:", r"empty factor"),
    ("tariff ~ 1 + 0 + log_dva", r"'1' and '0' / '-1' both given"),
    ("tariff ~ rta | imp_ind_year | log_dva ~", r"needs endogenous variables and instruments"),
    ("tariff ~ rta | log_dva ~ I(log_dva_services)", r"instrument 'I\(log_dva_services\)'"),
    ("tariff ~ rta | log_dva ~ rta", r"both as a regressor and as an instrument"),
    ("tariff ~ log dva", r"cannot parse 'log dva'"),
    ("tariff ~ \uff4c\uff4f\uff47(dva)", r"ASCII only"),
    ("tariff ~ " + "log_dva + " * 300 + "rta", r"longer than 2000 characters"),
    ("tariff ~ I(" + "(" * 200 + "log_dva" + ")" * 200 + ")", r"cannot parse"),
    ("tariff ~ log_dva | imp_ind_year | rta", r"only one fixed-effects part"),
    ("tariff ~ log_dva ~ rta", r"first part must be 'dep ~ regressors'"),
]


@pytest.fixture(scope="module")
def small() -> structest.Panel:
    panel, _ = structest.simulate(seed=0, **SMALL)
    return panel


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory; yield the sentinel path the payloads would create."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / SENTINEL


def test_payloads_are_live(in_tmp):
    """Positive control: evaluated by Python, the payloads do create the sentinel."""
    eval(SYSTEM)  # noqa: S307 - the point of the test
    assert in_tmp.exists()
    in_tmp.unlink()
    eval(OPEN).close()  # noqa: S307
    assert in_tmp.exists()


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("formula", "pattern"), [c[1:] for c in INJECTIONS], ids=[c[0] for c in INJECTIONS]
)
def test_injection_refused_not_run(small, in_tmp, formula, pattern, estimator):
    with pytest.raises(SpecError, match=pattern) as err:
        fit_reduced_form(small, formula, estimator=estimator)
    assert not in_tmp.exists(), "the formula was executed"
    assert "\n" not in str(err.value)
    assert "allowed:" in str(err.value)


@pytest.mark.parametrize(
    ("formula", "pattern"), [c[1:] for c in INJECTIONS], ids=[c[0] for c in INJECTIONS]
)
def test_injection_refused_by_parse(in_tmp, formula, pattern):
    with pytest.raises(SpecError, match=pattern):
        parse(formula)
    assert not in_tmp.exists()


@pytest.fixture(scope="module")
def panel_file(small, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("panel") / "small.parquet"
    base = (
        "importer exporter industry year tariff mfn censored dva fva fg imports dva_services "
        "dva_lag rta rta_broad gsp dist contig comlang colony"
    ).split()
    small.df[[c for c in base if c in small.df.columns]].to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("formula", "pattern"), [c[1:] for c in INJECTIONS[:8]], ids=[c[0] for c in INJECTIONS[:8]]
)
def test_injection_refused_by_cli(panel_file, in_tmp, formula, pattern):
    from structest.cli import app

    out = CliRunner().invoke(
        app, ["reduced-form", "--spec", formula, "--data", str(panel_file), "--estimator", "ols"]
    )
    assert out.exit_code != 0
    assert isinstance(out.exception, SpecError)
    assert re.search(pattern, str(out.exception))
    assert not in_tmp.exists()


@pytest.mark.parametrize(("formula", "pattern"), BAD)
def test_bad_formula_same_error_for_every_estimator(small, in_tmp, formula, pattern):
    messages = []
    for est in ESTIMATORS:
        with pytest.raises(SpecError, match=pattern) as err:
            fit_reduced_form(small, formula, estimator=est)
        messages.append(str(err.value))
    assert len(set(messages)) == 1, messages
    assert "\n" not in messages[0]


def test_hand_built_formula_is_checked_before_pyfixest(small, in_tmp):
    f = Formula(text="tariff ~ x", depvar="tariff", exog=(f"I({SYSTEM})",), fe=())
    with pytest.raises(SpecError, match="attribute access"):
        f.to_pyfixest()
    with pytest.raises(SpecError, match="attribute access"):
        fit_ols(f, Sample(df=small.df.copy()), cluster="pair")
    assert not in_tmp.exists()


# ---------------------------------------------------------------- parsing
def test_split_is_top_level_only():
    f = parse("tariff ~ I(log_dva+rta) + C(year) + i(year, log_dva, ref=1995) | imp^year")
    assert f.exog == ("I(log_dva + rta)", "C(year)", "i(year, log_dva, ref=1995)")
    assert f.fe == ("imp^year",)
    assert f.columns() == ["tariff", "log_dva", "rta", "year", "imp"]
    g = parse("tariff ~ log_dva + log_dva:rta | imp_ind_year | log_dva_rta ~ z1 + z2")
    assert g.exog == ("log_dva", "log_dva:rta")
    assert g.endog == ("log_dva_rta",) and g.instruments == ("z1", "z2")
    with pytest.raises(SpecError, match=r"operator '\|'"):
        parse("tariff ~ I(log_dva | rta)")  # not split into parts


@pytest.mark.parametrize("name", sorted(SPECS))
def test_named_specs_round_trip(name):
    f = parse(name)
    assert parse(f.to_pyfixest()).to_pyfixest() == f.to_pyfixest()


@pytest.mark.parametrize(
    "formula",
    ["tariff ~ 0 + log_dva + rta", "tariff ~ log_dva + rta - 1", "tariff ~ -1 + log_dva + rta"],
)
def test_intercept_removal_is_honoured(small, formula):
    """Before: '0'/'-1' were dropped silently and an intercept fitted anyway."""
    assert parse(formula).no_intercept
    df = small.df
    X, y = df[["log_dva", "rta"]].to_numpy(float), df["tariff"].to_numpy(float)
    truth = np.linalg.lstsq(X, y, rcond=None)[0]
    ols = fit_reduced_form(small, formula)
    tob = fit_reduced_form(small, formula, estimator="tobit", upper=None)
    assert list(ols.params.index) == ["log_dva", "rta"] == list(tob.params.index)
    np.testing.assert_allclose(ols.params.to_numpy(), truth, rtol=1e-8)
    np.testing.assert_allclose(tob.params.to_numpy(), truth, rtol=1e-6)


# ---------------------------------------------------------------- OLS / Tobit parity
#: Same shapes (n = 240, two slopes, importer-industry FE or none) keep JAX compiles few.
PARITY = [
    "tariff ~ I(log_dva + rta) + rta | imp_ind",
    "tariff ~ log_dva + C(year) | imp_ind",
    "tariff ~ log(dva) + np.exp(log_dva / 10) | imp_ind",
    "tariff ~ i(year, log_dva) | imp_ind",
    "tariff ~ log_dva + log_dva:rta | importer^industry",
    "tariff ~ C(year)",
]


@pytest.mark.parametrize("formula", PARITY)
def test_ols_and_uncensored_tobit_agree(small, formula):
    """Gaussian ML without censoring = OLS: the two designs must be the same."""
    ols = fit_reduced_form(small, formula)
    tob = fit_reduced_form(small, formula, estimator="tobit", upper=None)
    assert sorted(ols.params.index) == sorted(tob.params.index)
    assert ols.nobs == tob.nobs == len(small.df)
    np.testing.assert_allclose(
        tob.params[ols.params.index].to_numpy(), ols.params.to_numpy(), rtol=1e-6, atol=1e-9
    )


#: The IV counterparts: 2SLS and the uncensored control-function Tobit-IV give the same
#: coefficients (OLS on exog, endog and the first-stage residual = 2SLS), so both estimators
#: must build the same design from the same formula.
PARITY_IV = [
    "tariff ~ I(rta + gsp) + C(year) | imp_ind | log_dva ~ log_dva_services",
    "tariff ~ rta | importer^industry | log_dva ~ log_dva_services",
    "tariff ~ rta + log(mfn + 1) + i(year, rta) | imp_ind | log_dva ~ log_dva_services",
]


@pytest.mark.parametrize("formula", PARITY_IV)
def test_iv_and_uncensored_tobit_iv_agree(small, formula):
    iv = fit_reduced_form(small, formula, estimator="iv")
    tiv = fit_reduced_form(small, formula, estimator="tobit_iv", upper=None)
    assert list(iv.params.index) == list(tiv.params.index)
    assert iv.nobs == tiv.nobs
    np.testing.assert_allclose(tiv.params.to_numpy(), iv.params.to_numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("rhs", "pattern"),
    [
        ("I(log_dva + nosuch) | imp_ind", r"nosuch"),
        ("C(nosuch) | imp_ind", r"nosuch"),
        ("rta | importer^nosuch", r"nosuch"),
    ],
)
def test_same_refusal_for_every_estimator(small, rhs, pattern):
    """A term naming a missing column: one message, whichever estimator is asked."""
    messages = set()
    for est in ESTIMATORS:
        fml = f"tariff ~ {rhs}" + (" | log_dva ~ log_dva_services" if "iv" in est else "")
        with pytest.raises(StructestError, match=pattern) as err:
            fit_reduced_form(small, fml, estimator=est)
        messages.add(str(err.value).replace(" | log_dva ~ log_dva_services", ""))
    assert len(messages) == 1, messages


def test_collinear_regressor_dropped_by_both(small):
    """Before: Tobit kept a regressor constant within the FE cells and returned garbage."""
    df = small.df.assign(cell_mfn=small.df.groupby("imp_ind")["mfn"].transform("mean"))
    formula = "tariff ~ log_dva + rta + cell_mfn | imp_ind"
    ols = fit_reduced_form(df, formula)
    tob = fit_reduced_form(df, formula, estimator="tobit", upper=None)
    for res in (ols, tob):
        assert list(res.params.index) == ["log_dva", "rta"]
        assert any("collinear" in n and "cell_mfn" in n for n in res.notes)
    np.testing.assert_allclose(tob.params.to_numpy(), ols.params.to_numpy(), rtol=1e-6)


def test_all_regressors_collinear_same_error(small):
    """C(year) is absorbed by importer-industry-year effects: the same refusal for both."""
    errors = []
    for est in ("ols", "tobit"):
        with pytest.raises(StructestError, match="collinear") as err:
            fit_reduced_form(small, "tariff ~ C(year) | imp_ind_year", estimator=est)
        errors.append(err.value)
    assert type(errors[0]) is type(errors[1])
    assert all("C(year)" in str(e) and "\n" not in str(e) for e in errors)


def test_computed_term_equals_precomputed_column(small):
    """I(2 * rta) is rta scaled: same fit, coefficient halved (OLS, Tobit and IV)."""
    df = small.df.assign(two_rta=2.0 * small.df["rta"])
    for est, fml in [
        ("ols", "tariff ~ log_dva + {} | imp_ind"),
        ("tobit", "tariff ~ log_dva + {} | imp_ind"),
        ("iv", "tariff ~ {} | imp_ind | log_dva ~ log_dva_services"),
    ]:
        a = fit_reduced_form(df, fml.format("I(2 * rta)"), estimator=est)
        b = fit_reduced_form(df, fml.format("two_rta"), estimator=est)
        c = fit_reduced_form(df, fml.format("rta"), estimator=est)
        np.testing.assert_allclose(a.params["I(2 * rta)"], b.params["two_rta"], rtol=1e-7)
        np.testing.assert_allclose(a.params["I(2 * rta)"], c.params["rta"] / 2, rtol=1e-6)
        np.testing.assert_allclose(a.params["log_dva"], c.params["log_dva"], rtol=1e-6)
        np.testing.assert_allclose(a.se["I(2 * rta)"], b.se["two_rta"], rtol=1e-6)


def test_non_finite_term_rows_dropped_and_recorded(small):
    """Rows where a computed term is not finite are dropped before any estimator, recorded."""
    df = small.df.copy()
    df.loc[:9, "dva"] = 0.0  # log(0) = -inf
    formula = "tariff ~ log(dva) + rta | imp_ind"
    ols = fit_reduced_form(df, formula)
    iv = fit_reduced_form(df, "tariff ~ log(dva) | imp_ind | rta ~ rta_broad", estimator="iv")
    tobit_sample = build_sample(df, parse(formula), extra_columns=("mfn",))  # as Tobit does
    for dropped, nobs in ((ols.dropped, ols.nobs), (iv.dropped, iv.nobs)):
        assert nobs == len(df) - 10
        assert dict(dropped)["non-finite value of 'log(dva)'"] == 10
    assert len(tobit_sample.df) == len(df) - 10
    assert dict(tobit_sample.dropped)["non-finite value of 'log(dva)'"] == 10
    kept = np.log(df["dva"].iloc[10:].to_numpy())
    np.testing.assert_allclose(np.log(tobit_sample.df["dva"].to_numpy()), kept)


def test_censored_tobit_accepts_computed_terms(small):
    formula = "tariff ~ I(log_dva + rta) + C(year) | imp_ind"
    res = fit_reduced_form(small, formula, estimator="tobit")
    assert list(res.params.index) == ["I(log_dva + rta)", "C(year)[T.2005]"]
    assert np.isfinite(res.se.to_numpy()).all() and res.converged
    assert res.nobs_censored > 0
