"""Every column of the paper's Tables 2-7 and C1-C3 as a named spec, and the paper beside.

The registry (``structest.reduced.paper.PAPER_SPECS``) against the paper's numbers
(``data/paper_tables.csv``), every supported OLS/IV column fitted on the bundled panel, the
spec defaults (explicit arguments win), the Table 6 col. 2 reparametrisation checked against
an explicit-dummy least-squares fit, the Tobit with a regressor constant in the sample, the
comparison with the paper, the CLI (``--table``/``--spec``) and bad inputs (one line each).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import structest
import structest.data.load
from structest import EstimationWarning, InputFileError, OptionError, SpecError
from structest.cli import app, main
from structest.reduced import ESTIMATORS, SAMPLES, SPECS, fit_reduced_form, parse
from structest.reduced import paper as paper_mod
from structest.reduced.paper import (
    PAPER_SPECS,
    TABLE_COLUMNS,
    TABLES,
    check_table,
    compare_to_paper,
    comparison_counts,
    fit_table,
    get_spec,
    paper_numbers,
    table_specs,
)

#: Columns agreed between the helpers of issue 15 (main panel, TTB panel, FE keys).
MAIN_COLUMNS = set(
    (
        "tariff preference mfn log_dva log_dva_rta log_dva_nonrta log_dva_gsp log_dva_nongsp gsp "
        "rta rta_broad log_dva_ratio log_dva_ratio_rta log_dva_ratio_nonrta log_fva_ratio "
        "log_fva_ratio_rta log_fva_ratio_nonrta log_ip_ratio log_ip_ratio_rta "
        "log_ip_ratio_nonrta log_imports log_dist colony comlang contig log_dva_services "
        "imp_ind_year exp_ind_year imp_ind imp_year ind_year pair imp_ind_year_decile "
        "log_dva_rta_broad log_dva_nonrta_broad log_dva_services_gsp log_dva_services_nongsp "
        "log_dva_lag log_dva_ratio_lag log_fva_ratio_lag log_ip_ratio_lag"
    ).split()
)
TTB_COLUMNS = set(
    (
        "ttb log_dva_ratio log_fva_ratio log_ip_ratio log_dva_ratio_china "
        "log_dva_ratio_nonchina log_fva_ratio_china log_fva_ratio_nonchina rta china imp_ind "
        "imp_year ind_year exp_ind_year imp_ind_year imp_exp_ind exp_ind exp_year"
    ).split()
)
PAPER_CSV = structest.data.load.data_dir() / "paper_tables.csv"


@pytest.fixture(scope="module")
def panel():
    return structest.load_panel()


@pytest.fixture(scope="module")
def subset(panel):
    """Six importers (1,598 rows, 190 inside RTAs): small enough for quick Tobit fits."""
    df = panel.df
    keep = df["importer"].isin(["USA", "MEX", "CAN", "TUR", "AUS", "JPN"])
    return df[keep].reset_index(drop=True)


def _needs_paper_csv() -> None:
    if not PAPER_CSV.is_file():
        pytest.skip("data/paper_tables.csv (helper D) is not there yet")


def _skip_unless_fittable(spec, df: pd.DataFrame) -> None:
    """Skip a column whose inputs (other helpers' columns / features) are not there yet."""
    missing = [c for c in parse(spec.formula).columns() if c not in df.columns]
    if missing:
        pytest.skip(f"{spec.name} needs column(s) {missing}, not yet in the panel")
    f = parse(spec.formula)
    if len(f.endog) > 1 and importlib.util.find_spec("structest.reduced.iv_linear") is None:
        pytest.skip(f"{spec.name}: IV with several endogenous regressors not available yet")
    lags = [c for c in f.columns() if c.endswith("_lag")]
    first = df["year"] == df["year"].min()
    if lags and not df.loc[first, lags].isna().all().all():
        pytest.skip(f"{spec.name}: {lags} still carry the regressor in the earliest year")


# ---------------------------------------------------------------- the registry
def test_registry_covers_every_column_of_every_table():
    assert tuple(TABLE_COLUMNS) == TABLES
    for t, n in TABLE_COLUMNS.items():
        specs = table_specs(t)
        assert [s.column for s in specs] == list(range(1, n + 1)), t
        assert all(s.name == f"table{t}_col{s.column}" for s in specs)
    assert len(PAPER_SPECS) == sum(TABLE_COLUMNS.values()) == 68


@pytest.mark.parametrize("name", sorted(PAPER_SPECS))
def test_registry_entry_is_consistent(name):
    s = PAPER_SPECS[name]
    f = parse(s.formula)
    assert parse(name).to_pyfixest() == f.to_pyfixest()  # the name resolves to the formula
    allowed = TTB_COLUMNS if s.data == "ttb" else MAIN_COLUMNS
    assert set(f.columns()) <= allowed, set(f.columns()) - allowed
    assert s.estimator in ESTIMATORS and s.sample in SAMPLES and s.data in ("panel", "ttb")
    assert f.is_iv == (s.estimator in ("iv", "tobit_iv"))
    assert f.depvar == s.outcome
    assert s.outcome == {"5": "preference", "6": "preference", "C3": "preference"}.get(
        s.table, "ttb" if s.table == "7" else "tariff"
    )
    assert s.cluster == ("imp_exp_ind" if s.table == "7" else "pair")
    assert s.supported == (not s.why_not)
    assert s.departure and s.departure == "; ".join(s.departures)
    if s.estimator in ("ols", "iv"):
        assert dict(s.options) == {"ssc": "stata"}
    else:
        assert dict(s.options) == {"upper": "mfn"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.formula = "x ~ y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.options["ssc"] = None  # type: ignore[index]


def test_samples_and_unsupported_columns_follow_the_paper():
    samples = {n: s.sample for n, s in PAPER_SPECS.items()}
    assert {samples[f"table2_col{c}"] for c in range(1, 9)} == {"all"}
    assert {samples[f"table3_col{c}"] for c in range(1, 10)} == {"nonrta"}
    assert [samples[f"table4_col{c}"] for c in (1, 5, 9)] == [
        "nonrta",
        "nonrta_gsp",
        "nonrta_nongsp",
    ]
    assert [samples[f"tableC1_col{c}"] for c in range(1, 6)] == ["all"] * 3 + ["nonrta_broad"] * 2
    assert {samples[f"tableC2_col{c}"] for c in range(1, 11)} == {"nonrta"}
    assert [samples[f"table6_col{c}"] for c in (1, 5)] == ["all", "nonrta"]
    unsupported = sorted(n for n, s in PAPER_SPECS.items() if not s.supported)
    assert unsupported == ["table7_col1", "table7_col3", "tableC3_col3", "tableC3_col7"]
    assert "ln(FVA/FG)" in PAPER_SPECS["table7_col1"].why_not
    assert "1995" in PAPER_SPECS["table3_col7"].departure
    assert "preference" in PAPER_SPECS["table5_col3"].departure
    est = {n: s.estimator for n, s in PAPER_SPECS.items()}
    assert [est[f"table3_col{c}"] for c in range(1, 10)] == [
        "ols", "ols", "tobit", "iv", "iv", "tobit_iv", "iv", "iv", "tobit_iv",
    ]  # fmt: skip
    assert parse("table4_col3").endog == ("log_dva_nongsp", "log_dva_gsp")
    assert parse("table3_col8").instruments == ("log_dva_lag",)


def test_registry_matches_the_paper_numbers():
    _needs_paper_csv()
    pn = paper_numbers()
    in_csv = set(zip(pn["table"], pn["column"], strict=True))
    in_registry = {(s.table, s.column) for s in PAPER_SPECS.values()}
    assert in_csv == in_registry
    for s in PAPER_SPECS.values():
        rows = pn[(pn["table"] == s.table) & (pn["column"] == s.column)]
        assert set(rows["panel"]) == {s.panel}, s.name
        terms = {t for t in rows["term"] if t not in ("nobs", "r2") and not t.startswith("stat_")}
        assert terms == set(parse(s.formula).regressors), s.name


# ---------------------------------------------------------------- fits on the bundled panel
SUPPORTED_LINEAR = sorted(
    n
    for n, s in PAPER_SPECS.items()
    if s.supported and s.estimator in ("ols", "iv") and s.data == "panel"
)


@pytest.mark.parametrize("name", SUPPORTED_LINEAR)
def test_supported_linear_column_runs_on_bundled_panel(panel, name):
    s = PAPER_SPECS[name]
    _skip_unless_fittable(s, panel.df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)
        res = fit_reduced_form(panel, name)
    assert res.spec == name and res.estimator == s.estimator
    assert res.sample == s.sample and res.cluster == s.cluster
    assert set(res.params.index) == set(parse(s.formula).regressors)
    assert np.isfinite(res.params).all() and (res.se > 0).all()
    n_sample = {
        "all": len(panel.df),
        "nonrta": int((panel.df["rta"] == 0).sum()),
        "nonrta_broad": int((panel.df["rta_broad"] == 0).sum()),
        "nonrta_gsp": int(((panel.df["rta"] == 0) & (panel.df["gsp"] == 1)).sum()),
        "nonrta_nongsp": int(((panel.df["rta"] == 0) & (panel.df["gsp"] == 0)).sum()),
    }[s.sample]
    lagged = any(c.endswith("_lag") for c in parse(s.formula).columns())
    assert res.nobs == n_sample if not lagged else 0 < res.nobs < n_sample
    assert any(n.startswith(f"{name} (") for n in res.notes)  # title and departures noted


def test_table7_columns_run_on_the_ttb_panel():
    """With the US as the only importer each exporter-industry-year cell holds one row: the
    paper's effects leave no degrees of freedom; the specs use exporter-industry +
    exporter-year, which absorb rta (exporter-year with one importer)."""
    loader = getattr(structest.data.load, "load_ttb_panel", None)
    if loader is None:
        pytest.skip("structest.data.load.load_ttb_panel (helper C) is not there yet")
    ttb = loader()
    assert ttb.groupby("exp_ind_year").size().max() == 1  # why the effects differ
    for name in ("table7_col2", "table7_col4"):
        spec = PAPER_SPECS[name]
        assert "exporter-industry + exporter-year" in spec.departure
        with pytest.warns(EstimationWarning, match=r"dropped as collinear.*'rta'"):
            res = fit_reduced_form(ttb, name)
        assert res.cluster == "imp_exp_ind" and res.estimator == "ols"
        assert set(res.params.index) == set(parse(name).regressors) - {"rta"}
        assert res.nobs == len(ttb)
    with pytest.raises(structest.EstimationError, match="no residual degrees of freedom"):
        fit_reduced_form(
            ttb, parse("table7_col2").text.replace("exp_ind + exp_year", "exp_ind_year")
        )


def test_spec_defaults_and_explicit_arguments(panel):
    df = panel.df
    n_nonrta = int((df["rta"] == 0).sum())
    # the paper's sample by default; an explicit argument wins and is recorded
    a = fit_reduced_form(panel, "table3_col2")
    assert (a.sample, a.nobs, a.estimator, a.cluster) == ("nonrta", n_nonrta, "ols", "pair")
    assert "overridden" not in a.extra
    b = fit_reduced_form(panel, "table3_col2", sample="all")
    assert (b.sample, b.nobs) == ("all", len(df)) and b.extra["overridden"] == ["sample"]
    ref = fit_reduced_form(panel, parse("table3_col2").text, ssc="stata")
    c = fit_reduced_form(panel, "table3_col2", sample="all", cluster=None, ssc="cluster")
    assert c.cluster is None and c.n_clusters is None
    assert c.extra["overridden"] == ["cluster", "sample", "ssc"]
    assert np.allclose(b.params, ref.params) and np.allclose(b.se, ref.se)
    # the classic names: gsp now defaults to the non-RTA sample (Table 4 panel A)
    g = fit_reduced_form(panel, "gsp")
    assert (g.sample, g.nobs) == ("nonrta", n_nonrta)
    assert fit_reduced_form(panel, "gsp", sample="all").nobs == len(df)
    e = fit_reduced_form(panel, "eq16")
    assert (e.sample, e.estimator, e.cluster, e.nobs) == ("all", "ols", "pair", len(df))
    # a passed value equal to the default is not an override; positional arguments work
    d = fit_reduced_form(panel, "table3_col2", "ols", "pair", sample="nonrta", ssc="stata")
    assert "overridden" not in d.extra and np.allclose(d.params, a.params)
    # overridden fits are not counted as the paper's column
    _needs_paper_csv()
    cmp = compare_to_paper([b])
    assert (
        cmp.loc[cmp["spec"] == "table3_col2", "status"]
        .str.startswith("estimated with overrides: sample 'all'")
        .all()
    )


def test_tobit_with_a_constant_regressor_drops_it(subset):
    """Before issue 15's fix (commit a11a723) the Tobit failed on eq19 in the non-RTA
    sample ('Newton step is not finite'): rta is constant there; it is now dropped with a
    note and a warning, as OLS does, and the slopes equal the fit without rta."""
    with pytest.warns(EstimationWarning, match=r"dropped as collinear.*\['rta'\]"):
        res = fit_reduced_form(subset, "eq19", estimator="tobit", sample="nonrta")
    assert list(res.params.index) == ["log_dva_ratio", "log_fva_ratio", "log_ip_ratio"]
    assert any("dropped as collinear" in n and "'rta'" in n for n in res.notes)
    assert res.converged and np.isfinite(res.se).all()
    fml = parse("eq19").text.replace(" + rta |", " |")
    ref = fit_reduced_form(subset, fml, estimator="tobit", sample="nonrta")
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(res.se.to_numpy(), ref.se.to_numpy(), rtol=1e-8)


def test_tobit_paper_column_uses_the_paper_settings(subset):
    res = fit_reduced_form(subset, "table3_col3")
    ref = fit_reduced_form(
        subset,
        "tariff ~ log_dva | imp_ind_year + exp_ind_year",
        estimator="tobit",
        sample="nonrta",
        upper="mfn",
    )
    assert (res.estimator, res.sample, res.nobs) == ("tobit", "nonrta", ref.nobs)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert res.nobs < int((subset["rta"] == 0).sum())  # all-censored cells dropped


def test_eq19_rta_iiy_differences_match_explicit_dummies(subset):
    """Table 6 col. 2: with importer-industry-year effects, log_ip_ratio + RTA x ln(FVA/IM)
    + RTA x ln(FG/IM) spans the same space as the six RTA-split ratios (one combination of
    which the effects absorb). Independent check: the explicit model (six split ratios, rta,
    the dummies of both effects) by numpy least squares; its identified combinations
    (FVA inside - outside, IP inside - outside, IP + FVA outside) equal structest's."""
    assert "log_fva_ratio_rta" in parse("eq19_rta_iiy").regressors
    res = fit_reduced_form(subset, "eq19_rta_iiy")
    split = [
        "log_dva_ratio_nonrta",
        "log_dva_ratio_rta",
        "log_fva_ratio_nonrta",
        "log_fva_ratio_rta",
        "log_ip_ratio_nonrta",
        "log_ip_ratio_rta",
        "rta",
    ]
    dummies = [pd.get_dummies(subset[c], dtype=float) for c in ("imp_ind_year", "exp_ind_year")]
    X = np.column_stack([subset[split].to_numpy(float), *[d.to_numpy() for d in dummies]])
    y = subset["preference"].to_numpy(float)
    b = dict(zip(split, np.linalg.lstsq(X, y, rcond=1e-10)[0][: len(split)], strict=True))
    expected = {
        "log_fva_ratio_rta": b["log_fva_ratio_rta"] - b["log_fva_ratio_nonrta"],
        "log_ip_ratio_rta": b["log_ip_ratio_rta"] - b["log_ip_ratio_nonrta"],
        "log_ip_ratio": b["log_ip_ratio_nonrta"] + b["log_fva_ratio_nonrta"],
        "log_dva_ratio_nonrta": b["log_dva_ratio_nonrta"],
        "log_dva_ratio_rta": b["log_dva_ratio_rta"],
        "rta": b["rta"],
    }
    for term, value in expected.items():
        assert res.params[term] == pytest.approx(value, rel=1e-6, abs=1e-8), term
    assert abs(expected["log_fva_ratio_rta"]) > 0.05  # not a trivial zero
    assert "inside - outside" in res.label("log_fva_ratio_rta")
    assert "inside - outside" in res.label("log_ip_ratio_rta")
    assert "g_IP + g_FVA" in res.label("log_ip_ratio") and "outside" in res.label("log_ip_ratio")
    assert "(g_IP + g_FVA) inside RTAs" not in res.label("log_ip_ratio_rta")
    # the four split FVA/IP ratios with importer-industry-year effects: refused (collinear)
    with pytest.raises(SpecError, match=r"four RTA-split .* collinear.*log_fva_ratio_rta"):
        fit_reduced_form(subset, parse("eq19_rta").text.replace(_FE19, "imp_ind_year"))


_FE19 = "imp_ind + imp_year + ind_year + exp_ind_year"


# ---------------------------------------------------------------- the paper beside
def test_compare_to_paper_rows_and_counts(panel):
    _needs_paper_csv()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)
        fits = fit_table(panel, "2", progress=False)
    assert [r.spec for r in fits] == [f"table2_col{c}" for c in range(1, 9)]
    cmp = compare_to_paper(fits)
    pn = paper_numbers("2")
    assert len(cmp) == len(pn)  # one row per number of the paper
    coef = cmp[cmp["kind"] == "coef"]
    assert len(coef) == 16 and (coef["status"] == "estimated").all()
    for _, r in coef.iterrows():
        res = next(f for f in fits if f.spec == r["spec"])
        assert r["coef"] == res.params[r["term"]] and r["se"] == res.se[r["term"]]
        assert bool(r["same_sign"]) == (np.sign(r["coef"]) == np.sign(r["paper_coef"]))
        assert bool(r["within_2se"]) == (abs(r["coef"] - r["paper_coef"]) <= 2 * r["paper_se"])
    row = cmp[(cmp["spec"] == "table2_col1") & (cmp["term"] == "log_dva")].iloc[0]
    assert (row["paper_coef"], row["paper_se"], row["paper_printed"]) == (
        -0.92,
        0.27,
        "-0.92*** (0.27)",
    )
    nobs = cmp[(cmp["spec"] == "table2_col5") & (cmp["term"] == "nobs")].iloc[0]
    assert (nobs["paper_coef"], nobs["coef"]) == (8853, len(panel.df))
    counts = comparison_counts(cmp)
    assert counts.iloc[0].to_dict() == {
        "table": "2",
        "paper_coefficients": 16,
        "estimated": 16,
        "same_sign": int(coef["same_sign"].sum()),
        "within_2se": int(coef["within_2se"].sum()),
    }


def test_compare_to_paper_lists_columns_not_estimated():
    _needs_paper_csv()
    cmp = compare_to_paper([], tables=["C3", "7"])
    status = cmp.groupby("spec")["status"].first()
    assert status["tableC3_col3"].startswith("unsupported: the lagged instruments")
    assert status["table7_col1"].startswith("unsupported: with the US as the only importer")
    assert status["tableC3_col4"] == "not estimated: no result given"
    assert cmp["same_sign"].isna().all() and cmp["coef"].isna().all()
    stats = cmp[cmp["term"].str.startswith("stat_")]
    assert set(stats["kind"]) == {"stat"} and len(stats) == 16
    assert list(comparison_counts(cmp)["estimated"]) == [0, 0]


# ---------------------------------------------------------------- the command line
def test_cli_table_prints_the_paper_beside():
    _needs_paper_csv()
    out = CliRunner().invoke(app, ["reduced-form", "--table", "2"])
    assert out.exit_code == 0, out.output
    text = out.output
    for printed in ("-0.92*** (0.27)", "-1.32*** (0.35)", "-7.86** (3.28)", "8,853"):
        assert printed in text
    assert re.search(r"same sign as the paper: \d+/16; within 2 paper SEs .*: \d+/16", text)
    assert "| (1) A | log_dva | Log DVA |" in text
    assert "departures from the paper" in text


def test_cli_spec_of_a_paper_column_shows_the_paper():
    _needs_paper_csv()
    out = CliRunner().invoke(app, ["reduced-form", "--spec", "table2_col5"])
    assert out.exit_code == 0, out.output
    assert "-1.32*** (0.35)" in out.output and "beside the paper" in out.output
    assert "table2_col5 (ols, sample all)" in out.output


def test_cli_table_lists_unsupported_columns(monkeypatch):
    _needs_paper_csv()
    loader = getattr(structest.data.load, "load_ttb_panel", None)
    if loader is None:
        pytest.skip("structest.data.load.load_ttb_panel (helper C) is not there yet")
    out = CliRunner().invoke(app, ["reduced-form", "--table", "7"])
    assert out.exit_code == 0, out.output
    assert "column (1) A not estimated: unsupported: with the US" in out.output
    assert "column (3) B not estimated: unsupported" in out.output


# ---------------------------------------------------------------- bad inputs
BAD_CLI = [
    (
        "spec-and-table",
        ["--spec", "eq16", "--table", "2"],
        r"^error: --spec and --table are exclusive",
    ),
    (
        "table-with-estimator",
        ["--table", "2", "--estimator", "tobit"],
        r"^error: --estimator cannot be combined with --table",
    ),
    (
        "table-with-sample",
        ["--table", "3", "--sample", "all"],
        r"^error: --sample cannot be combined with --table",
    ),
    ("table-unknown", ["--table", "9"], r"^error: .*'--table'.*'9'"),
    (
        "spec-typo",
        ["--spec", "tabel2_col1"],
        r"^error: unknown specification 'tabel2_col1' \(did you mean 'table2_col1'",
    ),
    (
        "spec-unsupported",
        ["--spec", "tableC3_col3"],
        r"^error: tableC3_col3 is not supported by the bundled data: the lagged instruments",
    ),
    (
        "lower-with-ols-column",
        ["--spec", "table2_col1", "--lower", "0"],
        r"^error: --lower applies to --estimator tobit or tobit_iv only, not 'ols'",
    ),
]


@pytest.mark.parametrize(("args", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in BAD_CLI])
def test_cli_refuses_in_one_line(capsys, monkeypatch, args, pattern):
    def no_work(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(structest.data.load, "load_panel", no_work)
    code = main(["reduced-form", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(pattern, err), err
    assert err.count("\n") == 1


# (id, call, error type, regex of the one-line message)
BAD = [
    ("table-8", lambda p: check_table("8"), SpecError, r"^unknown table '8'; the paper's"),
    (
        "table-C4",
        lambda p: check_table("C4"),
        SpecError,
        r"unknown table 'C4' \(did you mean .*'C3'",
    ),
    ("table-empty", lambda p: check_table(""), SpecError, r"^unknown table ''"),
    ("table-float", lambda p: check_table(2.0), OptionError, r"^table must be .*2\.0 \(float\)"),
    ("table-bool", lambda p: check_table(True), OptionError, r"^table must be .*True \(bool\)"),
    ("table-none", lambda p: table_specs(None), OptionError, r"^table must be .*None"),
    ("table-list", lambda p: fit_table(p, ["2"]), OptionError, r"^table must be .*\(list\)"),
    (
        "fit-table-on-error",
        lambda p: fit_table(p, 2, on_error="ignore"),
        OptionError,
        r"^on_error must be 'raise' or 'skip', got 'ignore'",
    ),
    (
        "fit-table-no-panel",
        lambda p: fit_table(None, "C2"),
        OptionError,
        r"^Table C2 needs the main panel",
    ),
    (
        "spec-unknown-column",
        lambda p: fit_reduced_form(p, "table2_col9"),
        SpecError,
        r"^unknown specification 'table2_col9': table 2 of the paper has columns 1-8 "
        r"\(table2_col1 \.\.\. table2_col8\)$",
    ),
    (
        "spec-wrong-case",
        lambda p: fit_reduced_form(p, "TABLE5_COL3"),
        SpecError,
        r"\(did you mean 'table5_col3'\?\)",
    ),
    (
        "spec-unsupported",
        lambda p: fit_reduced_form(p, "table7_col1"),
        SpecError,
        r"^paper column 'table7_col1' is not supported .*ln\(FVA/FG\).*fit its formula 'ttb ~",
    ),
    (
        "ttb-column-on-main-panel",
        lambda p: fit_reduced_form(p, "table7_col2"),
        SpecError,
        r"unknown column\(s\) 'ttb'.* needs a 'ttb' column",
    ),
    (
        "estimator-none",
        lambda p: fit_reduced_form(p, "table2_col1", estimator=None),
        OptionError,
        r"^estimator must be one of .*None \(NoneType\)",
    ),
    (
        "estimator-unknown",
        lambda p: fit_reduced_form(p, "table2_col1", estimator="probit"),
        SpecError,
        r"^unknown estimator 'probit'",
    ),
    (
        "sample-int",
        lambda p: fit_reduced_form(p, "table3_col1", sample=3),
        OptionError,
        r"^sample must be one of .*3 \(int\)",
    ),
    (
        "cluster-int",
        lambda p: fit_reduced_form(p, "table3_col1", cluster=5),
        OptionError,
        r"^cluster must be a column name .*5 \(int\)",
    ),
    (
        "tobit-option-to-ols-column",
        lambda p: fit_reduced_form(p, "table3_col2", upper="mfn"),
        SpecError,
        r"^unknown option\(s\) \['upper'\] for estimator 'ols'",
    ),
    (
        "ssc-typo",
        lambda p: fit_reduced_form(p, "table3_col2", ssc="statta"),
        OptionError,
        r"^ssc must be .*'statta'",
    ),
    (
        "broad-sample-without-column",
        lambda p: fit_reduced_form(p.df.drop(columns="rta_broad"), "tableC1_col4"),
        SpecError,
        r"^sample 'nonrta_broad' needs column\(s\) \['rta_broad'\], which the panel lacks",
    ),
    (
        "get-spec-int",
        lambda p: get_spec(5),
        OptionError,
        r"^spec name must be a string such as 'table5_col3', got int",
    ),
    (
        "get-spec-typo",
        lambda p: get_spec("table5_col33"),
        SpecError,
        r"^unknown paper column 'table5_col33' \(did you mean 'table5_col3'",
    ),
    (
        "compare-not-results",
        lambda p: compare_to_paper(["table2_col1"]),
        SpecError,
        r"^compare_to_paper takes structest Results, got str",
    ),
    (
        "compare-not-a-paper-column",
        lambda p: compare_to_paper([fit_reduced_form(p, "eq16")]),
        SpecError,
        r"^compare_to_paper: a result with spec 'eq16' is not a fit of one of the paper's",
    ),
    (
        "compare-formula-result",
        lambda p: compare_to_paper([fit_reduced_form(p, "tariff ~ log_dva | imp_ind_year")]),
        SpecError,
        r"^compare_to_paper: a result with no spec name is not a fit",
    ),
    (
        "compare-twice",
        lambda p: compare_to_paper([fit_reduced_form(p, "table2_col5")] * 2),
        SpecError,
        r"^compare_to_paper: two results for column 'table2_col5'",
    ),
    (
        "compare-bad-table",
        lambda p: compare_to_paper([], tables=["X"]),
        SpecError,
        r"^unknown table 'X'",
    ),
    (
        "paper-numbers-bad-table",
        lambda p: paper_numbers(11),
        SpecError,
        r"^unknown table '11'",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), [pytest.param(*c[1:], id=c[0]) for c in BAD])
def test_bad_input_refused_in_one_line(panel, call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call(panel)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (None, r"paper_tables\.csv' do not exist"),
        ("table,panel,column,term\n2,A,1,log_dva\n", r"missing column\(s\) \['paper_label'"),
        (
            "table,panel,column,term,paper_label,coef,se,stars,note\n2,A,1,log_dva,L,x,0.1,1,\n",
            r"column 'coef' needs a number, got 'x' in data row 1",
        ),
        (
            "table,panel,column,term,paper_label,coef,se,stars,note\n2,A,1.5,log_dva,L,1,0.1,1,\n",
            r"column 'column' needs an integer, got '1\.5' in data row 1",
        ),
        (
            "table,panel,column,term,paper_label,coef,se,stars,note\n2,A,1,log_dva,L,1,(0.1),1,\n",
            r"column 'se' needs a number or nothing, got '\(0\.1\)'",
        ),
    ],
    ids=["absent", "missing-column", "coef-text", "column-fraction", "se-parentheses"],
)
def test_paper_numbers_refuses_bad_files(tmp_path, monkeypatch, content, pattern):
    if content is not None:
        (tmp_path / "paper_tables.csv").write_text(content)
    monkeypatch.setattr(structest.data.load, "data_dir", lambda: tmp_path)
    with pytest.raises(InputFileError, match=pattern) as info:
        paper_numbers()
    assert "\n" not in str(info.value)


def test_classic_spec_names_are_unchanged_except_the_issue_fixes():
    assert set(SPECS) >= {"eq16", "eq16_decile", "eq17", "eq19", "eq19_iiy", "gsp", "eq16_iv"}
    assert parse("eq19_rta_iiy").regressors == (
        "log_dva_ratio_nonrta",
        "log_dva_ratio_rta",
        "log_ip_ratio",
        "log_fva_ratio_rta",
        "log_ip_ratio_rta",
        "rta",
    )
    assert paper_mod.PAPER_SPECS["table6_col2"].formula == SPECS["eq19_rta_iiy"]
    assert PAPER_SPECS["table5_col1"].formula == SPECS["eq19"]
    assert PAPER_SPECS["table2_col5"].formula == SPECS["eq16"]


def test_ttb_name_runs_on_a_panel_with_two_importers_clustered_as_the_paper():
    """``ttb`` (Table 7 col. 1 as written) needs several importers; with two it runs,
    clustered by importer-exporter-industry as the paper's Table 7."""
    from structest.data.load import data_dir, load_ttb_panel

    raw = pd.read_csv(data_dir() / "ttb_usa.csv")
    rng = np.random.default_rng(0)
    covered = rng.permutation(raw["covered"].to_numpy())
    other = raw.assign(
        importer="NZL",
        dva=raw["dva"] * np.exp(rng.normal(0, 0.3, len(raw))),
        fva=raw["fva"] * np.exp(rng.normal(0, 0.3, len(raw))),
        fg=raw["fg"] * np.exp(rng.normal(0, 0.3, len(raw))),
        covered=covered,
        ttb=100.0 * covered / raw["lines"],
    )
    two = load_ttb_panel(pd.concat([raw, other], ignore_index=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = structest.fit_reduced_form(two, "ttb")
    assert res.cluster == "imp_exp_ind"
    assert {"log_dva_ratio", "log_fva_ratio", "log_ip_ratio"} <= set(res.params.index)
