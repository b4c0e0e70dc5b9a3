"""``data/paper_tables.csv``: every number of the paper's Tables 2-7 and C1-C3, as data.

The file is a hand transcription of Blanchard, Bown & Johnson (2016). These tests check its
shape (header, tables, columns, terms, one ``nobs`` row per column), its internal consistency
(standard errors positive, significance stars compatible with the printed coefficient and
standard error given their rounding, R-squared in [0, 1]) and, when the paper's text is
available next to the checkout (``../shared/papers``), that every printed number of each
table appears in the file in the paper's row order.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "data" / "paper_tables.csv"
PAPER = (
    ROOT.parent
    / "shared"
    / "papers"
    / "blanchard_bown_johnson_2016_global_supply_chains_and_trade_policy.txt"
)

HEADER = ["table", "panel", "column", "term", "paper_label", "coef", "se", "stars", "note"]

# number of columns of each table in the paper
N_COLUMNS = {"2": 8, "3": 9, "4": 12, "5": 4, "6": 8, "7": 4, "C1": 5, "C2": 10, "C3": 8}

# panel of each column (columns listed per panel); tables without panels use ""
PANELS = {
    "2": {"A": range(1, 5), "B": range(5, 9)},
    "3": {"A": range(1, 4), "B": range(4, 7), "C": range(7, 10)},
    "4": {"A": range(1, 5), "B": range(5, 9), "C": range(9, 13)},
    "5": {"": range(1, 5)},
    "6": {"A": range(1, 5), "B": range(5, 9)},
    "7": {"A": range(1, 3), "B": range(3, 5)},
    "C1": {"": range(1, 6)},
    "C2": {"": range(1, 11)},
    "C3": {"A": range(1, 5), "B": range(5, 9)},
}

# columns for which the paper prints an R-squared (Tobit columns and Table C3 have none)
R2_COLUMNS = {
    "2": set(range(1, 9)),
    "3": {1, 2, 4, 5, 7, 8},
    "4": set(range(1, 13)),
    "5": {1, 2},
    "6": {1, 2, 5, 6},
    "7": {1, 2, 3, 4},
    "C1": set(range(1, 6)),
    "C2": set(range(1, 11)),
    "C3": set(),
}

COEF_TERMS = {
    # eq. 16/17 (Tables 2, 3, 4, C1, C2)
    "log_dva",
    "log_dva_nonrta",
    "log_dva_rta",
    "rta",
    "log_dva_nonrta_broad",
    "log_dva_rta_broad",
    "rta_broad",
    "log_dva_gsp",
    "log_dva_nongsp",
    "gsp",
    "log_imports",
    "log_dist",
    "colony",
    "comlang",
    "contig",
    # eq. 19 (Tables 5, 6, 7, C3)
    "log_dva_ratio",
    "log_fva_ratio",
    "log_ip_ratio",
    "log_dva_ratio_nonrta",
    "log_dva_ratio_rta",
    "log_fva_ratio_nonrta",
    "log_fva_ratio_rta",
    "log_ip_ratio_nonrta",
    "log_ip_ratio_rta",
    "log_dva_ratio_china",
    "log_dva_ratio_nonchina",
    "log_fva_ratio_china",
    "log_fva_ratio_nonchina",
}
STAT_TERMS = {
    "stat_rk_lm",
    "stat_rk_f",
    "stat_cond_f_log_dva_ratio",
    "stat_cond_f_log_fva_ratio",
    "stat_cond_f_log_ip_ratio",
}
VALUE_TERMS = {"nobs", "r2"} | STAT_TERMS
ALLOWED_TERMS = COEF_TERMS | VALUE_TERMS

# two-sided normal critical values for * p < .1, ** p < .05, *** p < .01
CRITICAL = (1.6448536269514722, 1.959963984540054, 2.5758293035489004)

# (table, column, term) whose printed stars cannot be reconciled with coef/se: none found
KNOWN_STAR_EXCEPTIONS: set[tuple[str, int, str]] = set()


def half_unit(printed: str) -> float:
    """Half of the last printed digit's unit (the rounding interval's half width).

    Parameters
    ----------
    printed : str
        A number as printed, e.g. ``"-0.090"`` or ``"14.3"``.

    Returns
    -------
    float
        ``0.5 * 10**-decimals``.
    """
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


def t_range(coef: str, se: str) -> tuple[float, float]:
    """Range of ``|coef / se|`` over the rounding intervals of the printed numbers.

    Parameters
    ----------
    coef, se : str
        The coefficient and standard error as printed.

    Returns
    -------
    tuple of float
        The smallest and largest ``|t|`` compatible with the printed digits.
    """
    c, s = abs(float(coef)), float(se)
    hc, hs = half_unit(coef), half_unit(se)
    lo = max(c - hc, 0.0) / (s + hs)
    hi = (c + hc) / (s - hs) if s > hs else math.inf
    return lo, hi


def stars_compatible(coef: str, se: str, stars: int) -> bool:
    """Whether ``stars`` asterisks are possible for some ``|t|`` in :func:`t_range`.

    Parameters
    ----------
    coef, se : str
        The coefficient and standard error as printed.
    stars : int
        Number of asterisks printed (0-3).

    Returns
    -------
    bool
        True when the band ``[c_stars, c_stars+1)`` of normal critical values meets the
        interval of ``|t|`` compatible with the rounding of ``coef`` and ``se``.
    """
    bounds = (0.0, *CRITICAL, math.inf)
    lo, hi = t_range(coef, se)
    return hi >= bounds[stars] and lo < bounds[stars + 1]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The CSV with every cell as the printed string (rounding needs the printed digits)."""
    return pd.read_csv(CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def df(raw: pd.DataFrame) -> pd.DataFrame:
    out = raw.copy()
    out["column"] = out["column"].astype(int)
    out["coef_value"] = pd.to_numeric(out["coef"])
    return out


@pytest.fixture(scope="module")
def coefs(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["term"].isin(COEF_TERMS)]


def test_header_exact() -> None:
    with CSV.open(encoding="ascii") as fh:
        assert fh.readline().rstrip("\n") == ",".join(HEADER)


def test_file_is_ascii_and_parses(raw: pd.DataFrame) -> None:
    CSV.read_bytes().decode("ascii")  # plain ASCII throughout
    assert list(raw.columns) == HEADER
    assert len(raw) > 250
    assert (raw["table"] != "").all() and (raw["term"] != "").all()
    assert (raw["paper_label"] != "").all()
    pd.to_numeric(raw["coef"])  # every value parses
    assert raw["column"].str.fullmatch(r"\d+").all()


def test_tables_and_columns(df: pd.DataFrame) -> None:
    assert set(df["table"]) == set(N_COLUMNS)
    for table, n in N_COLUMNS.items():
        cols = set(df.loc[df["table"] == table, "column"])
        assert cols == set(range(1, n + 1)), table


def test_panels(df: pd.DataFrame) -> None:
    for table, panels in PANELS.items():
        expected = {c: p for p, cols in panels.items() for c in cols}
        sub = df[df["table"] == table]
        got = sub.groupby("column")["panel"].agg(set).to_dict()
        assert got == {c: {p} for c, p in expected.items()}, table


def test_one_nobs_row_per_column(df: pd.DataFrame) -> None:
    for table, n in N_COLUMNS.items():
        nobs = df[(df["table"] == table) & (df["term"] == "nobs")]
        assert sorted(nobs["column"]) == list(range(1, n + 1)), table
    nobs = df[df["term"] == "nobs"]
    assert nobs["coef"].str.fullmatch(r"[1-9]\d*").all()
    assert nobs["coef_value"].between(1000, 10000).all()


def test_r2_rows(df: pd.DataFrame) -> None:
    r2 = df[df["term"] == "r2"]
    assert r2["coef_value"].between(0.0, 1.0).all()
    for table, cols in R2_COLUMNS.items():
        assert set(r2.loc[r2["table"] == table, "column"]) == cols, table
    assert not r2.duplicated(["table", "column"]).any()


def test_terms_allowed(df: pd.DataFrame) -> None:
    bad = sorted(set(df["term"]) - ALLOWED_TERMS)
    assert not bad, f"terms outside the agreed names: {bad}"
    # every column has at least one coefficient
    n_coef = df[df["term"].isin(COEF_TERMS)].groupby(["table", "column"]).size()
    assert len(n_coef) == sum(N_COLUMNS.values())


def test_unique_table_column_term(df: pd.DataFrame) -> None:
    dup = df[df.duplicated(["table", "column", "term"], keep=False)]
    assert dup.empty, dup[["table", "column", "term"]].to_string()


def test_value_rows_have_no_se_or_stars(df: pd.DataFrame) -> None:
    vals = df[df["term"].isin(VALUE_TERMS)]
    assert (vals["se"] == "").all() and (vals["stars"] == "").all()


def test_coefficient_rows(coefs: pd.DataFrame) -> None:
    assert coefs["stars"].isin(["0", "1", "2", "3"]).all()
    se = pd.to_numeric(coefs["se"])
    assert (se > 0).all()
    assert coefs["coef"].str.fullmatch(r"-?\d+\.\d+").all()
    assert coefs["se"].str.fullmatch(r"\d+\.\d+").all()


def test_stars_consistent_with_t(coefs: pd.DataFrame) -> None:
    bad = []
    for r in coefs.itertuples():
        key = (r.table, r.column, r.term)
        ok = stars_compatible(r.coef, r.se, int(r.stars))
        if ok == (key in KNOWN_STAR_EXCEPTIONS):
            bad.append((*key, r.coef, r.se, r.stars, t_range(r.coef, r.se)))
    assert not bad, bad


@pytest.mark.parametrize(
    ("coef", "se", "stars", "ok"),
    [
        ("-0.92", "0.27", 3, True),  # t = 3.41
        ("-0.92", "0.27", 2, False),
        ("-0.13", "0.07", 1, True),  # t in [1.67, 2.08]: * or ** both possible
        ("-0.13", "0.07", 2, True),
        ("-0.13", "0.07", 3, False),
        ("-0.13", "0.07", 0, False),
        ("-0.14", "0.06", 3, True),  # t in [2.08, 2.64]
        ("-0.099", "0.065", 0, True),  # t in [1.50, 1.54]
        ("-0.099", "0.065", 1, False),
        ("-14.3", "4.15", 3, True),
        ("0.025", "0.44", 0, True),
        ("0.025", "0.44", 1, False),
        ("-0.40", "0.26", 0, True),  # t in [1.52, 1.56]
        ("-0.40", "0.26", 1, False),
    ],
)
def test_stars_compatible_helper(coef: str, se: str, stars: int, ok: bool) -> None:
    assert stars_compatible(coef, se, stars) is ok


@pytest.mark.parametrize(
    ("table", "column", "term", "coef", "se", "stars"),
    [
        ("2", 1, "log_dva", "-0.92", "0.27", "3"),
        ("2", 3, "log_dva_rta", "0.26", "0.42", "0"),
        ("2", 4, "rta", "-7.00", "2.07", "3"),
        ("2", 8, "nobs", "8853", "", ""),
        ("3", 9, "log_dva", "-2.74", "0.93", "3"),
        ("3", 3, "nobs", "4431", "", ""),
        ("4", 1, "log_dva_nongsp", "-0.13", "0.07", "1"),
        ("4", 1, "log_dva_gsp", "-0.18", "0.07", "2"),
        ("4", 4, "gsp", "-0.40", "0.26", "0"),
        ("4", 1, "nobs", "8187", "", ""),
        ("4", 1, "r2", "0.998", "", ""),
        ("4", 12, "nobs", "5148", "", ""),
        ("5", 2, "log_ip_ratio", "0.63", "0.22", "3"),
        ("5", 4, "nobs", "6229", "", ""),
        ("6", 2, "log_fva_ratio_rta", "-2.74", "1.56", "1"),
        ("6", 4, "log_ip_ratio_rta", "4.58", "2.15", "2"),
        ("6", 3, "rta", "-14.3", "4.15", "3"),
        ("6", 7, "log_fva_ratio", "0.11", "0.21", "0"),
        ("7", 3, "log_dva_ratio_china", "-1.27", "0.41", "3"),
        ("7", 4, "log_dva_ratio_nonchina", "-0.16", "0.062", "2"),
        ("7", 2, "r2", "0.761", "", ""),
        ("C1", 2, "log_dva_rta_broad", "0.030", "0.30", "0"),
        ("C1", 1, "rta_broad", "-3.73", "0.65", "3"),
        ("C2", 2, "log_imports", "-0.091", "0.045", "2"),
        ("C2", 2, "nobs", "8104", "", ""),
        ("C2", 10, "comlang", "-0.24", "0.14", "1"),
        ("C2", 7, "log_dist", "0.090", "0.082", "0"),
        ("C3", 3, "log_fva_ratio", "-18.5", "7.45", "2"),
        ("C3", 3, "stat_cond_f_log_ip_ratio", "53.52", "", ""),
        ("C3", 8, "stat_rk_f", "9.60", "", ""),
        ("C3", 4, "stat_rk_lm", "21.3", "", ""),
    ],
)
def test_known_cells(
    df: pd.DataFrame, table: str, column: int, term: str, coef: str, se: str, stars: str
) -> None:
    row = df[(df["table"] == table) & (df["column"] == column) & (df["term"] == term)]
    assert len(row) == 1
    assert (row["coef"].iloc[0], row["se"].iloc[0], row["stars"].iloc[0]) == (coef, se, stars)


@pytest.mark.parametrize(
    ("table", "column", "term"),
    [
        ("2", 1, "rta"),  # Table 2 col 1 has no RTA regressor
        ("2", 4, "log_dva_rta"),  # inside-RTA DVA only in cols 3 and 7
        ("2", 8, "log_dva_rta"),
        ("3", 3, "r2"),  # Tobit: no R-squared
        ("5", 2, "log_fva_ratio"),  # importer-industry-year FE: only the sum is identified
        ("6", 2, "log_fva_ratio_nonrta"),
        ("6", 5, "rta"),  # No RTA sample
        ("7", 4, "log_fva_ratio_china"),
        ("C2", 3, "colony"),
        ("C3", 4, "stat_cond_f_log_fva_ratio"),
        ("C3", 1, "stat_rk_lm"),  # OLS column
        ("C3", 5, "rta"),
    ],
)
def test_cells_absent(df: pd.DataFrame, table: str, column: int, term: str) -> None:
    row = df[(df["table"] == table) & (df["column"] == column) & (df["term"] == term)]
    assert row.empty


def test_notes_record_the_papers_oddities(df: pd.DataFrame) -> None:
    t4 = df[df["table"] == "4"]
    gsp_rows = t4[t4["term"].isin(["log_dva_gsp", "log_dva_nongsp"])]
    assert len(gsp_rows) == 8 and gsp_rows["note"].str.contains("swapped").all()
    assert (
        gsp_rows.loc[gsp_rows["term"] == "log_dva_gsp", "paper_label"].str.contains(
            r"\(GSP eligible\)"
        )
    ).all()
    for term, label in (("nobs", "R-Squared"), ("r2", "Observations")):
        rows = t4[t4["term"] == term]
        assert len(rows) == 12
        assert (rows["paper_label"] == label).all()
        assert rows["note"].str.contains("swaps the row labels").all()
    sums = df[df["paper_label"].str.startswith("Log IP-Ratio + Log FVA")]
    assert set(sums["term"]) == {"log_ip_ratio"}
    assert sums["note"].str.contains("gamma_IP + gamma_FVA", regex=False).all()
    assert len(sums) == 2 + 2 + 2 + 1 + 1 + 4  # T5, T6 A, T6 B, T7 A, T7 B, C3


# ---------------------------------------------------------------- against the paper's text

NUMBER = re.compile(r"-?\d*\.\d+\**|\(\d*\.\d+\)|\d,\d{3}")


def _printed(row: pd.Series) -> tuple[str, str | None]:
    """The value (and standard error) of a CSV row as the paper prints them."""
    if row["term"] == "nobs":
        return f"{int(row['coef']):,}", None
    if row["se"] == "":
        return row["coef"], None
    return row["coef"] + "*" * int(row["stars"]), f"({row['se']})"


@pytest.fixture(scope="module")
def paper_bodies() -> dict[str, list[list[str]]]:
    """Per table, the numeric tokens of each body line (title to 'Note:'), left to right."""
    if not PAPER.is_file():
        pytest.skip(f"paper text not available at {PAPER}")
    lines = PAPER.read_text(encoding="utf-8").splitlines()
    title = re.compile(r"^\s*Table (" + "|".join(N_COLUMNS) + r"):")
    bodies: dict[str, list[list[str]]] = {}
    for i, line in enumerate(lines):
        m = title.match(line)
        if not m:
            continue
        body = []
        for later in lines[i + 1 :]:
            if later.lstrip().startswith("Note:"):
                break
            toks = [t for t in later.split() if NUMBER.fullmatch(t)]
            if toks:
                body.append(toks)
        bodies[m.group(1)] = body
    assert set(bodies) == set(N_COLUMNS)
    return bodies


@pytest.mark.parametrize("table", list(N_COLUMNS))
def test_same_numbers_as_the_paper(
    raw: pd.DataFrame, paper_bodies: dict[str, list[list[str]]], table: str
) -> None:
    paper = Counter(t for toks in paper_bodies[table] for t in toks)
    mine: Counter[str] = Counter()
    for _, row in raw[raw["table"] == table].iterrows():
        value, se = _printed(row)
        mine[value] += 1
        if se is not None:
            mine[se] += 1
    assert paper == mine, {"paper only": paper - mine, "csv only": mine - paper}


@pytest.mark.parametrize("table", list(N_COLUMNS))
def test_rows_in_the_papers_column_order(
    raw: pd.DataFrame, paper_bodies: dict[str, list[list[str]]], table: str
) -> None:
    lines = paper_bodies[table]
    sub = raw[raw["table"] == table].assign(column=lambda d: d["column"].astype(int))
    for (panel, label), grp in sub.groupby(["panel", "paper_label"]):
        grp = grp.sort_values("column")
        printed = [_printed(r) for _, r in grp.iterrows()]
        values = [v for v, _ in printed]
        assert values in lines, (table, panel, label, values)
        ses = [s for _, s in printed if s is not None]
        if ses:
            assert ses in lines, (table, panel, label, ses)
