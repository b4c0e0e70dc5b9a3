"""Every column of the paper's reduced-form tables as a named spec, and the paper beside.

Blanchard, Bown & Johnson (2016), Tables 2-7 and C1-C3: :data:`PAPER_SPECS` maps
``table<T>_col<C>`` (``T`` in 2-7, C1-C3; ``C`` the paper's column number) to a
:class:`PaperSpec` (formula, estimator, sample, cluster, options, what the bundled data
change, and whether the bundled data support the column at all).
``structest.fit_reduced_form(panel, "table5_col3")`` fits one column with the paper's
settings; :func:`fit_table` fits every supported column of a table; :func:`paper_numbers`
reads the paper's own numbers (``data/paper_tables.csv``) and :func:`compare_to_paper` puts
them beside structest's.

Choices (each column's ``departure`` repeats the ones that apply to it):

- Outcomes: Tables 2-4, C1, C2 the applied tariff; Tables 5, 6 and C3 (eq. 19) the tariff
  *preference* ``tariff - mfn``. The notes of Tables 5/6 say "applied bilateral tariff",
  but Section 2.2 defines the dependent variable of eq. 19 as "explicitly ... tariff
  preferences", and the R-squared of Table 5 col. 2 (0.536, importer-industry-year and
  exporter-industry-year effects) is far from that of the applied tariff with the same
  effects (Table 2 col. 5: 0.967), so the preference it is. With importer-industry-year
  effects and one MFN rate per cell both outcomes give the same slopes; they differ in the
  columns with importer-industry + importer-year + industry-year effects, and in the
  bundled panel also wherever ``mfn`` varies within a cell (censored rows carry their own
  rate as ``mfn``, data/README.md).
- Tobit columns are one-sided, censored at each row's MFN rate (``upper="mfn"``), as the
  paper (its footnote 45); cells whose rows are all censored are dropped, as the paper.
- OLS/IV columns use the Stata small-sample correction of the clustered covariance
  (``ssc="stata"``, ``(N-1)/(N-K) x G/(G-1)``, as the paper's Stata estimates) where the
  installed structest offers it; otherwise ``G/(G-1)`` only and a note says so.
- The bundled panel has two WIOD years (1995 with 1993 tariffs, 2005) and 12 importers
  (data/README.md): there is no 1970 data, so the "1970" instruments become the values of
  the same importer-exporter-industry in 1995, for 2005 rows only (``*_lag`` columns).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._logging import progress as progress_line
from ..errors import InputFileError, OptionError, SpecError, StructestError

if TYPE_CHECKING:  # pragma: no cover
    from ..panel import Panel
    from .results import Results

#: The paper's tables covered, in order.
TABLES: tuple[str, ...] = ("2", "3", "4", "5", "6", "7", "C1", "C2", "C3")
#: Number of columns of each table in the paper.
TABLE_COLUMNS: dict[str, int] = {
    "2": 8,
    "3": 9,
    "4": 12,
    "5": 4,
    "6": 8,
    "7": 4,
    "C1": 5,
    "C2": 10,
    "C3": 8,
}
#: Titles of the tables.
TABLE_TITLES: dict[str, str] = {
    "2": "Bilateral tariffs and domestic value added in foreign production",
    "3": "Censoring and instrumental variables in the non-RTA sample",
    "4": "GSP eligible vs. GSP ineligible country pairs",
    "5": "Bilateral tariffs and value-added content",
    "6": "Value-added content inside versus outside RTAs",
    "7": "Temporary trade barriers and value-added content",
    "C1": "Broad definition of RTAs",
    "C2": "Imports and gravity controls",
    "C3": "Instrumental variables for value-added content",
}
#: Columns of ``data/paper_tables.csv``.
PAPER_COLUMNS: tuple[str, ...] = (
    "table",
    "panel",
    "column",
    "term",
    "paper_label",
    "coef",
    "se",
    "stars",
    "note",
)
PAPER_FILE = "paper_tables.csv"

Estimator = Literal["ols", "tobit", "iv", "tobit_iv"]

# ---------------------------------------------------------------- fixed effects
_FE = {
    "decile": (
        "imp_ind_year_decile + exp_ind_year",
        "importer-industry-year-decile, exporter-industry-year",
    ),
    "iiy": ("imp_ind_year + exp_ind_year", "importer-industry-year, exporter-industry-year"),
    "eq19": (
        "imp_ind + imp_year + ind_year + exp_ind_year",
        "importer-industry, importer-year, industry-year, exporter-industry-year",
    ),
    "ttb_iiy": (
        "imp_ind_year + exp_ind + exp_year",
        "importer-industry-year, exporter-industry, exporter-year (paper: exporter-industry-year)",
    ),
}

# ---------------------------------------------------------------- departures
_DATA = "bundled panel (12 importers, WIOD 1995 with 1993 tariffs and 2005; data/README.md)"
_DECILE = (
    "import deciles: 'imp_ind_year_decile' (deciles of bilateral imports x "
    "importer-industry-year, as built by structest.panel)"
)
_TOBIT = "Tobit censored at each row's MFN rate (one-sided, as the paper)"
_SERVICES = "instrument: DVA-in-services of the bundled WIOD 2013 (as the paper)"
_LAG_DVA = (
    "instrument: log_dva_lag = the 1995 DVA of the same importer-exporter-industry for 2005 "
    "rows, in place of DVA-in-1970; 2005 rows only (1995 rows have no earlier WIOD year)"
)
_GSP = (
    "gsp: potential eligibility from the country lists of the paper's footnote 40 "
    "(data/README.md); the paper's formulas beside the GSP rows look swapped: terms are "
    "mapped by the words eligible / ineligible"
)
_GSP_IV = (
    "two endogenous regressors (log_dva_nongsp, log_dva_gsp) instrumented with "
    "DVA-in-services split the same way (log_dva_services_nongsp, log_dva_services_gsp)"
)
_PREF = (
    "outcome: the tariff preference (tariff - mfn): the paper's Section 2.2 defines eq. 19 "
    "in preferences and Table 5 col. 2's R-squared (0.536) is not the applied tariff's "
    "(0.967 with the same effects in Table 2), although the table notes say 'applied tariff'"
)
_IIY19 = (
    "importer-industry-year effects absorb FVA and FG: the coefficient on log_ip_ratio is "
    "g_IP + g_FVA"
)
_RTA_IIY = (
    "with importer-industry-year effects the paper regresses on log_ip_ratio + RTA x "
    "ln(FVA/IM) + RTA x ln(FG/IM): the interactions' coefficients are the "
    "inside-minus-outside differences"
)
_BROAD = "broad RTA definition: rta_broad from data/trade_agreements.csv (paper Table B1)"
_GRAVITY = (
    "gravity: CEPII; pairs with the EU averaged over its 27 members weighted by 1995 WIOD "
    "gross output (the paper: GDP weights), so contig/comlang/colony are shares there"
)
_IMPORTS = "log_imports: WIOD final-goods imports (consumption + GFCF)"
_LAG_RATIOS = (
    "instruments: the ratios of the same importer-exporter-industry in 1995 ('*_lag') for "
    "2005 rows only, in place of the paper's 1970 DVA and final-goods-import instruments"
)
_TTB = (
    "TTB panel (structest.load_ttb_panel): the US as only importer, coverage ratio of "
    "final-goods HS6 lines under antidumping measures (not import-weighted); value-added "
    "ratios lagged five years (data/README.md, TTB section)"
)
_TTB_NOT = (
    "with the US as the only importer FVA_ixt and FG_ixt vary by industry-year only: "
    "ln(FVA/IM) - ln(FG/IM) = ln(FVA/FG) is absorbed by the industry-year effects, so the "
    "FVA and IP coefficients are not separately identified (only their sum: column {alt}); "
    "and every exporter-industry-year cell holds one observation"
)
_TTB_FE = (
    "effects: exporter-industry + exporter-year in place of exporter-industry-year (with the "
    "US as the only importer every exporter-industry-year cell holds one observation: no "
    "residual degrees of freedom); rta then varies by exporter-year only and is absorbed "
    "(no RTA coefficient)"
)
_C3_NOT = (
    "the lagged instruments exist for 2005 rows only: within one year ln(FVA/IM) - "
    "ln(FG/IM) = ln(FVA/FG) varies by importer-industry only and is absorbed by the "
    "importer-industry effects (and so is the instruments' difference), so the FVA and IP "
    "coefficients are not separately identified (only their sum: column {alt})"
)


@dataclass(frozen=True)
class PaperSpec:
    """One column of one of the paper's tables.

    Attributes
    ----------
    name
        ``table<T>_col<C>``.
    table, panel, column
        The paper's table (``"2"``... ``"C3"``), panel (``"A"``/``"B"``/``"C"`` or ``""``)
        and column number.
    formula
        structest formula (regressor names follow the term rules of ``data/paper_tables.csv``).
    estimator, sample, cluster
        The paper's estimator, sample rule (:data:`~structest.reduced.formula.SAMPLES`)
        and cluster column.
    data
        ``"panel"`` (the main panel) or ``"ttb"`` (the TTB coverage panel, Table 7).
    options
        Further options of :func:`~structest.reduced.fit_reduced_form` (``ssc``, ``upper``,
        ``lower``...).
    outcome
        Dependent variable.
    fe
        Fixed effects in words.
    departure
        How the bundled data / this estimate depart from the paper for this column (the
        items of ``departures`` joined by ``"; "``).
    departures
        The same, one item per departure.
    supported
        False when the bundled data cannot identify the column; ``why_not`` says why.
    title
        One line: table, panel, column, estimator, sample.
    """

    name: str
    table: str
    panel: str
    column: int
    formula: str
    estimator: Estimator
    sample: str
    cluster: str | None
    data: Literal["panel", "ttb"]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    outcome: str = "tariff"
    fe: str = ""
    departures: tuple[str, ...] = ()
    supported: bool = True
    why_not: str = ""
    title: str = ""

    @property
    def departure(self) -> str:
        """The departures joined by ``"; "`` (one line)."""
        return "; ".join(self.departures)


_EST_NAMES = {"ols": "OLS", "iv": "Linear-IV", "tobit": "Tobit", "tobit_iv": "Tobit-IV"}


def _spec(
    table: str,
    panel: str,
    column: int,
    rhs: str,
    estimator: Any,
    fe: str,
    *,
    sample: str = "all",
    outcome: str = "tariff",
    iv: str = "",
    departure: Sequence[str] = (),
    why_not: str = "",
    cluster: str = "pair",
    data: Any = "panel",
) -> PaperSpec:
    fe_terms, fe_words = _FE[fe]
    formula = f"{outcome} ~ {rhs} | {fe_terms}" + (f" | {iv}" if iv else "")
    options: dict[str, Any] = {}
    if estimator in ("ols", "iv"):
        options["ssc"] = "stata"
    else:
        options["upper"] = "mfn"
    dep = [_TTB if data == "ttb" else _DATA, *departure]
    if estimator in ("tobit", "tobit_iv"):
        dep.append(_TOBIT)
    if fe == "decile" and data == "panel":
        dep.append(_DECILE)
    name = f"table{table}_col{column}"
    where = f"Table {table}" + (f" panel {panel}" if panel else "") + f" col. {column}"
    return PaperSpec(
        name=name,
        table=table,
        panel=panel,
        column=column,
        formula=formula,
        estimator=estimator,
        sample=sample,
        cluster=cluster,
        data=data,
        options=MappingProxyType(options),
        outcome=outcome,
        fe=fe_words,
        departures=tuple(dict.fromkeys(dep)),
        supported=not why_not,
        why_not=why_not,
        title=f"{where}: {_EST_NAMES[estimator]}, sample '{sample}', effects {fe_words}",
    )


def _build() -> dict[str, PaperSpec]:
    out: list[PaperSpec] = []
    add = out.append
    # ---- Table 2: eq. 16/17, all observations; panel A decile effects, panel B iiy
    for panel, fe, first in (("A", "decile", 1), ("B", "iiy", 5)):
        for k, rhs in enumerate(
            (
                "log_dva",
                "log_dva + rta",
                "rta + log_dva_nonrta + log_dva_rta",
                "rta + log_dva_nonrta",
            )
        ):
            add(_spec("2", panel, first + k, rhs, "ols", fe))
    # ---- Table 3: non-RTA sample; A OLS/Tobit, B IV DVA-in-services, C IV lagged DVA
    for panel, first, inst, dep in (
        ("A", 1, "", ()),
        ("B", 4, "log_dva_services", (_SERVICES,)),
        ("C", 7, "log_dva_lag", (_LAG_DVA,)),
    ):
        iv = f"log_dva ~ {inst}" if inst else ""
        rhs = "1" if inst else "log_dva"
        ests: tuple[Estimator, ...] = ("iv", "iv", "tobit_iv") if inst else ("ols", "ols", "tobit")
        for k, (est, fe) in enumerate(zip(ests, ("decile", "iiy", "iiy"), strict=True)):
            add(_spec("3", panel, first + k, rhs, est, fe, sample="nonrta", iv=iv, departure=dep))
    # ---- Table 4: GSP; A non-RTA (split slopes), B non-RTA & GSP, C non-RTA & non-GSP
    split_iv = "log_dva_nongsp + log_dva_gsp ~ log_dva_services_nongsp + log_dva_services_gsp"
    for panel, first, sample in (
        ("A", 1, "nonrta"),
        ("B", 5, "nonrta_gsp"),
        ("C", 9, "nonrta_nongsp"),
    ):
        for k, (est, fe) in enumerate(
            (("ols", "decile"), ("ols", "iiy"), ("iv", "decile"), ("iv", "iiy"))
        ):
            if panel == "A":
                rhs = "log_dva_nongsp + log_dva_gsp + gsp" if est == "ols" else "gsp"
                iv = split_iv if est == "iv" else ""
                dep: tuple[str, ...] = (_GSP, _GSP_IV) if est == "iv" else (_GSP,)
            else:
                rhs = "log_dva" if est == "ols" else "1"
                iv = "log_dva ~ log_dva_services" if est == "iv" else ""
                dep = (_GSP, _SERVICES) if est == "iv" else (_GSP,)
            add(_spec("4", panel, first + k, rhs, est, fe, sample=sample, iv=iv, departure=dep))
    # ---- Table 5: eq. 19, all observations, preference
    full19 = "log_dva_ratio + log_fva_ratio + log_ip_ratio"
    iiy19 = "log_dva_ratio + log_ip_ratio"
    for col, est, fe in (
        (1, "ols", "eq19"),
        (2, "ols", "iiy"),
        (3, "tobit", "eq19"),
        (4, "tobit", "iiy"),
    ):
        rhs = (full19 if fe == "eq19" else iiy19) + " + rta"
        dep = (_PREF,) if fe == "eq19" else (_PREF, _IIY19)
        add(_spec("5", "", col, rhs, est, fe, outcome="preference", departure=dep))
    # ---- Table 6: A all observations with RTA heterogeneity; B non-RTA sample
    rta19 = (
        "log_dva_ratio_nonrta + log_dva_ratio_rta + log_fva_ratio_nonrta + log_fva_ratio_rta"
        " + log_ip_ratio_nonrta + log_ip_ratio_rta + rta"
    )
    rta19_iiy = (
        "log_dva_ratio_nonrta + log_dva_ratio_rta + log_ip_ratio + log_fva_ratio_rta"
        " + log_ip_ratio_rta + rta"
    )
    for col, est, fe in (
        (1, "ols", "eq19"),
        (2, "ols", "iiy"),
        (3, "tobit", "eq19"),
        (4, "tobit", "iiy"),
    ):
        rhs = rta19 if fe == "eq19" else rta19_iiy
        dep = (_PREF,) if fe == "eq19" else (_PREF, _RTA_IIY)
        add(_spec("6", "A", col, rhs, est, fe, outcome="preference", departure=dep))
    for col, est, fe in (
        (5, "ols", "eq19"),
        (6, "ols", "iiy"),
        (7, "tobit", "eq19"),
        (8, "tobit", "iiy"),
    ):
        rhs = full19 if fe == "eq19" else iiy19
        dep = (_PREF,) if fe == "eq19" else (_PREF, _IIY19)
        add(
            _spec("6", "B", col, rhs, est, fe, sample="nonrta", outcome="preference", departure=dep)
        )
    # ---- Table 7: TTB coverage (US), OLS, clustered by importer-exporter-industry
    ttb: dict[str, Any] = {"outcome": "ttb", "cluster": "imp_exp_ind", "data": "ttb"}
    add(_spec("7", "A", 1, full19 + " + rta", "ols", "eq19", why_not=_TTB_NOT.format(alt=2), **ttb))
    add(_spec("7", "A", 2, iiy19 + " + rta", "ols", "ttb_iiy", departure=(_TTB_FE, _IIY19), **ttb))
    china = (
        "log_dva_ratio_china + log_dva_ratio_nonchina + log_fva_ratio_china"
        " + log_fva_ratio_nonchina + log_ip_ratio + rta"
    )
    add(_spec("7", "B", 3, china, "ols", "eq19", why_not=_TTB_NOT.format(alt=4), **ttb))
    add(
        _spec(
            "7",
            "B",
            4,
            "log_dva_ratio_china + log_dva_ratio_nonchina + log_ip_ratio + rta",
            "ols",
            "ttb_iiy",
            departure=(_TTB_FE, _IIY19),
            **ttb,
        )
    )
    # ---- Table C1: broad RTAs; cols 1-3 all observations, 4-5 non-RTA (broad)
    for col, rhs in (
        (1, "log_dva + rta_broad"),
        (2, "rta_broad + log_dva_nonrta_broad + log_dva_rta_broad"),
        (3, "rta_broad + log_dva_nonrta_broad"),
    ):
        add(_spec("C1", "", col, rhs, "ols", "decile", departure=(_BROAD,)))
    add(_spec("C1", "", 4, "log_dva", "ols", "decile", sample="nonrta_broad", departure=(_BROAD,)))
    add(
        _spec(
            "C1",
            "",
            5,
            "1",
            "iv",
            "decile",
            sample="nonrta_broad",
            iv="log_dva ~ log_dva_services",
            departure=(_BROAD, _SERVICES),
        )
    )
    # ---- Table C2: imports and gravity controls, non-RTA sample, decile effects
    controls = ("", "log_imports", "log_dist", "colony", "log_dist + colony")
    full_grav = "log_dist + colony + comlang + contig"
    for col, extra in enumerate((*controls, full_grav), start=1):
        rhs = "log_dva" + (f" + {extra}" if extra else "")
        dep = (_IMPORTS,) if extra == "log_imports" else ((_GRAVITY,) if extra else ())
        add(_spec("C2", "", col, rhs, "ols", "decile", sample="nonrta", departure=dep))
    for col, extra in enumerate(("log_dist", "colony", "log_dist + colony", full_grav), start=7):
        add(
            _spec(
                "C2",
                "",
                col,
                extra,
                "iv",
                "decile",
                sample="nonrta",
                iv="log_dva ~ log_dva_services",
                departure=(_GRAVITY, _SERVICES),
            )
        )
    # ---- Table C3: IV of eq. 19; A all observations, B non-RTA
    for panel, first, sample, rta in (("A", 1, "all", " + rta"), ("B", 5, "nonrta", "")):
        add(
            _spec(
                "C3",
                panel,
                first,
                full19 + rta,
                "ols",
                "eq19",
                sample=sample,
                outcome="preference",
                departure=(_PREF,),
            )
        )
        add(
            _spec(
                "C3",
                panel,
                first + 1,
                iiy19 + rta,
                "ols",
                "iiy",
                sample=sample,
                outcome="preference",
                departure=(_PREF, _IIY19),
            )
        )
        add(
            _spec(
                "C3",
                panel,
                first + 2,
                rta.removeprefix(" + ") or "1",
                "iv",
                "eq19",
                sample=sample,
                outcome="preference",
                iv=(
                    "log_dva_ratio + log_fva_ratio + log_ip_ratio ~ log_dva_ratio_lag"
                    " + log_fva_ratio_lag + log_ip_ratio_lag"
                ),
                departure=(_PREF, _LAG_RATIOS),
                why_not=_C3_NOT.format(alt=first + 3),
            )
        )
        add(
            _spec(
                "C3",
                panel,
                first + 3,
                rta.removeprefix(" + ") or "1",
                "iv",
                "iiy",
                sample=sample,
                outcome="preference",
                iv="log_dva_ratio + log_ip_ratio ~ log_dva_ratio_lag + log_ip_ratio_lag",
                departure=(_PREF, _IIY19, _LAG_RATIOS),
            )
        )
    return {s.name: s for s in out}


#: Every column of Tables 2-7 and C1-C3, by name (``table2_col1`` ... ``tableC3_col8``).
PAPER_SPECS: dict[str, PaperSpec] = _build()


# ---------------------------------------------------------------- lookup and validation
def check_table(table: object) -> str:
    """The table's canonical name (``"2"``... ``"7"``, ``"C1"``... ``"C3"``).

    Accepts ``2``, ``"2"``, ``"c1"``, ``"Table 5"``, ``"tableC2"``.

    Raises
    ------
    OptionError
        ``table`` is not a string or an integer (booleans refused).
    SpecError
        Not one of the paper's tables (with the closest name).
    """
    if isinstance(table, bool | np.bool_) or not isinstance(table, str | numbers.Integral):
        shown = repr(table)
        shown = shown if len(shown) <= 60 else shown[:60] + "..."
        raise OptionError(
            f"table must be one of {', '.join(TABLES)} (a string or an integer), got {shown} "
            f"({type(table).__name__})"
        )
    text = str(int(table)) if isinstance(table, numbers.Integral) else table
    key = text.strip().upper().replace(" ", "").removeprefix("TABLE")
    if key in TABLES:
        return key
    import difflib

    close = difflib.get_close_matches(key, TABLES, n=2, cutoff=0.5)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    shown = text if len(text) <= 60 else text[:60] + "..."
    raise SpecError(
        f"unknown table {shown!r}{hint}; the paper's reduced-form tables are {', '.join(TABLES)}"
    )


def table_specs(table: object) -> list[PaperSpec]:
    """The specs of every column of ``table``, in column order (unsupported ones included)."""
    key = check_table(table)
    return sorted((s for s in PAPER_SPECS.values() if s.table == key), key=lambda s: s.column)


def get_spec(name: object) -> PaperSpec:
    """The :class:`PaperSpec` called ``name`` (:class:`SpecError` with close names if none)."""
    if not isinstance(name, str):
        raise OptionError(
            f"spec name must be a string such as 'table5_col3', got {type(name).__name__}"
        )
    if name in PAPER_SPECS:
        return PAPER_SPECS[name]
    import difflib

    close = difflib.get_close_matches(name, list(PAPER_SPECS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise SpecError(
        f"unknown paper column {name[:60]!r}{hint}; names are table<T>_col<C> with T in "
        f"{', '.join(TABLES)} and C the paper's column number"
    )


# ---------------------------------------------------------------- the paper's numbers
def paper_numbers(table: object = None) -> pd.DataFrame:
    """The paper's numbers (``data/paper_tables.csv``), optionally of one table.

    Returns
    -------
    DataFrame
        Columns ``table, panel, column, term, paper_label, coef, se, stars, note``
        (``table``/``panel``/``term`` strings, ``column`` int, ``coef``/``se`` float; ``se``
        NaN for ``nobs``/``r2``/``stat_*`` rows) and ``coef_text``/``se_text``, the numbers
        as printed.

    Raises
    ------
    InputFileError
        The file is absent, unreadable, or lacks a column / holds non-numeric numbers.
    SpecError, OptionError
        An unknown ``table``.
    """
    key = None if table is None else check_table(table)
    from .._io import reading
    from ..data.load import data_dir

    path = data_dir() / PAPER_FILE
    if not path.is_file():
        raise InputFileError(
            f"the paper's numbers '{path}' do not exist (data/paper_tables.csv is bundled with "
            "structest: reinstall it)"
        )
    with reading("paper numbers", path):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in PAPER_COLUMNS if c not in df.columns]
    if missing:
        raise InputFileError(f"paper numbers '{path}': missing column(s) {missing}")
    df = df[list(PAPER_COLUMNS)].copy()
    for c in ("table", "panel", "term", "paper_label", "note", "coef", "se"):
        df[c] = df[c].str.strip()
    df["coef_text"], df["se_text"] = df["coef"], df["se"]
    for c, kind, required in (
        ("column", "an integer", True),
        ("coef", "a number", True),
        ("se", "a number or nothing", False),
        ("stars", "0-3 or nothing", False),
    ):
        vals = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
        bad = vals.isna() & (df[c].ne("") | required)
        if c == "column":
            bad |= vals.notna() & (vals != vals.round())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(
                f"paper numbers '{path}': column '{c}' needs {kind}, got "
                f"{df[c].iloc[row]!r} in data row {row + 1}"
            )
        df[c] = vals
    df["column"] = df["column"].astype(int)
    if key is not None:
        df = df[df["table"] == key]
    return df.reset_index(drop=True)


# ---------------------------------------------------------------- fitting
class PaperTable(list):
    """The results of :func:`fit_table`: a list of :class:`Results` (one per estimated
    column) with the columns that were not estimated.

    Attributes
    ----------
    table
        The table.
    unsupported
        ``name -> why`` for columns the bundled data cannot support (not run).
    failed
        ``name -> error message`` for columns that raised (only with ``on_error="skip"``).
    seconds
        ``name -> wall time`` of each fitted column.
    """

    def __init__(self, table: str, items: Iterable[Results] = ()) -> None:
        super().__init__(items)
        self.table = table
        self.unsupported: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.seconds: dict[str, float] = {}


def _load_ttb() -> Any:
    try:
        from ..data.load import load_ttb_panel  # type: ignore[attr-defined]
    except ImportError:
        raise InputFileError(
            "Table 7 needs the TTB coverage panel, but structest.data.load.load_ttb_panel is "
            "not available in this installation (pass ttb_panel=...)"
        ) from None
    return load_ttb_panel()


def fit_table(
    panel: Panel | pd.DataFrame | None,
    table: object,
    *,
    ttb_panel: pd.DataFrame | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    progress: bool = True,
) -> PaperTable:
    """Fit every supported column of one of the paper's tables.

    Parameters
    ----------
    panel
        The main panel (e.g. :func:`structest.load_panel`); may be ``None`` for Table 7.
    table
        ``"2"``... ``"7"``, ``"C1"``... ``"C3"`` (or an integer 2-7).
    ttb_panel
        The TTB coverage panel for Table 7; default :func:`structest.data.load.load_ttb_panel`.
    on_error
        ``"raise"``: the first column that fails raises; ``"skip"``: record its message in
        ``.failed`` and go on.
    progress
        Print one line per column on stderr.

    Returns
    -------
    PaperTable
        A list of :class:`Results`, one per estimated column (``res.spec`` its name), with
        ``.unsupported`` and ``.failed``.
    """
    from . import fit_reduced_form

    key = check_table(table)
    if on_error not in ("raise", "skip"):
        raise OptionError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    specs = table_specs(key)
    needs_ttb = any(s.data == "ttb" and s.supported for s in specs)
    needs_panel = any(s.data == "panel" and s.supported for s in specs)
    if needs_panel and panel is None:
        raise OptionError(f"Table {key} needs the main panel (e.g. structest.load_panel())")
    if needs_ttb and ttb_panel is None:
        ttb_panel = _load_ttb()
    out = PaperTable(key)
    n = len(specs)
    for k, s in enumerate(specs, start=1):
        head = f"table {key} column {s.column} ({k}/{n}, {s.name}, {_EST_NAMES[s.estimator]})"
        if not s.supported:
            out.unsupported[s.name] = s.why_not
            if progress:
                progress_line("reduced", f"{head}: not supported by the bundled data")
            continue
        data = ttb_panel if s.data == "ttb" else panel
        t0 = time.perf_counter()
        try:
            import warnings

            from .results import EstimationWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EstimationWarning)  # kept in res.notes
                res = fit_reduced_form(data, s.name)
        except StructestError as exc:
            if on_error == "raise":
                raise
            out.failed[s.name] = str(exc).splitlines()[0]
            if progress:
                progress_line("reduced", f"{head}: not estimated ({type(exc).__name__})")
            continue
        dt = time.perf_counter() - t0
        out.seconds[s.name] = dt
        out.append(res)
        if progress:
            progress_line("reduced", f"{head}: {dt:.1f} s")
    return out


# ---------------------------------------------------------------- comparison
#: Where :func:`compare_to_paper` looks for structest's weak-IV statistics (first match).
STAT_KEYS: dict[str, tuple[str, ...]] = {
    "stat_rk_lm": ("rk_lm", "kleibergen_paap_lm", "kp_lm", "underidentification_lm"),
    "stat_rk_f": ("rk_f", "kleibergen_paap_F", "kleibergen_paap_f", "kp_f", "kp_F"),
    "stat_cond_f": ("sw_F", "sanderson_windmeijer_F", "conditional_F", "cond_F", "sw_f"),
}


def _find(d: Any, keys: tuple[str, ...]) -> float | None:
    """The first of ``keys`` found in ``d`` or in a mapping inside it, as a float."""
    if not isinstance(d, Mapping):
        return None
    for k in keys:
        v = d.get(k)
        if isinstance(v, Mapping):
            v = v.get("stat", v.get("F", v.get("value")))
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            return float(v)
    for v in d.values():
        if isinstance(v, Mapping) and not any(k in v for k in ("coef",)):
            got = _find(v, keys)
            if got is not None:
                return got
    return None


def _our_stat(res: Results, term: str) -> float | None:
    """structest's value of a ``nobs``/``r2``/``stat_*`` row of the paper (None if absent)."""
    if term == "nobs":
        return float(res.nobs)
    if term == "r2":
        return None if res.r2 is None else float(res.r2)
    if term.startswith("stat_cond_f_"):
        endog = term.removeprefix("stat_cond_f_")
        fs = res.first_stage.get(endog) if isinstance(res.first_stage, Mapping) else None
        got = _find(fs, STAT_KEYS["stat_cond_f"]) if isinstance(fs, Mapping) else None
        if (
            got is None
            and len(getattr(res, "first_stage", {}) or {}) == 1
            and isinstance(fs, Mapping)
        ):
            got = fs.get("kleibergen_paap_F")  # one endogenous regressor: the first-stage F
        return got
    if term in STAT_KEYS:
        got = _find(res.tests, STAT_KEYS[term])
        if got is None:
            got = _find(
                {k: v for k, v in res.first_stage.items() if not isinstance(v, Mapping)},
                STAT_KEYS[term],
            )
        if got is None and term == "stat_rk_f" and len(res.first_stage) == 1:
            only = next(iter(res.first_stage.values()))
            if isinstance(only, Mapping):
                got = only.get("kleibergen_paap_F")
        return got
    return None


def _overrides(res: Results, spec: PaperSpec) -> str:
    """The settings of a fit that differ from the paper spec's, in words ('' if none)."""
    diff = []
    if res.estimator != spec.estimator:
        diff.append(f"estimator {res.estimator!r}")
    if res.sample != spec.sample:
        diff.append(f"sample {res.sample!r}")
    if res.cluster != spec.cluster:
        diff.append(f"cluster {res.cluster!r}")
    given = res.extra.get("options_overridden") if isinstance(res.extra, Mapping) else None
    if given:
        diff.append(f"options {sorted(given)}")
    return ", ".join(diff)


#: Labels of the per-column statistics (whatever the paper printed beside them).
_STAT_LABELS = {"nobs": "Observations", "r2": "R-Squared"}


def compare_to_paper(
    results: Sequence[Results], tables: Iterable[object] | None = None
) -> pd.DataFrame:
    """structest's estimates beside the paper's, one row per number of the paper.

    Parameters
    ----------
    results
        Fits of paper specs (``res.spec`` a key of :data:`PAPER_SPECS`), e.g. the output of
        :func:`fit_table` (whose ``.unsupported``/``.failed`` columns are listed too).
    tables
        Tables to cover (default: those of ``results``); columns of these tables without
        a result get a row per paper number with the reason as ``status``.

    Returns
    -------
    DataFrame
        Columns ``table, panel, column, spec, term, kind`` (``"coef"`` or ``"stat"`` for
        ``nobs``/``r2``/weak-IV statistics), ``paper_label, paper_coef, paper_se,
        paper_stars, paper_printed`` (as in the paper), ``coef, se, p`` (structest), ``same_sign`` (sign of structest's estimate
        equals the paper's), ``within_2se`` (``|structest - paper| <= 2 x the paper's
        SE``: the paper's estimate as the reference, its SE as the yardstick), and
        ``status``: ``"estimated"``, ``"estimated with overrides: ..."`` (a setting differs
        from the paper's: not counted), ``"unsupported: ..."``, ``"not estimated: ..."``,
        ``"coefficient dropped as collinear"``, ``"coefficient not in the formula"``,
        ``"not computed by structest"`` (a statistic). ``same_sign``/``within_2se`` are
        NA unless the status is an estimate of a coefficient.

    Raises
    ------
    SpecError
        A result that is not a fit of a paper spec, or two results for the same column.
    InputFileError
        ``data/paper_tables.csv`` is absent or malformed.
    """
    from .results import Results

    if isinstance(results, Results):
        results = [results]
    by_spec: dict[str, Results] = {}
    for r in results:
        if not isinstance(r, Results):
            raise SpecError(f"compare_to_paper takes structest Results, got {type(r).__name__}")
        if r.spec not in PAPER_SPECS:
            shown = "no spec name" if r.spec is None else f"spec {r.spec!r}"
            raise SpecError(
                f"compare_to_paper: a result with {shown} is not a fit of one of the paper's "
                "columns (fit e.g. 'table2_col1', see structest.reduced.paper.PAPER_SPECS)"
            )
        if r.spec in by_spec:
            raise SpecError(f"compare_to_paper: two results for column {r.spec!r}")
        by_spec[r.spec] = r
    failed = dict(getattr(results, "failed", {}) or {})
    keys = [check_table(t) for t in tables] if tables is not None else []
    keys += [PAPER_SPECS[n].table for n in by_spec]
    keys += [PAPER_SPECS[n].table for n in failed if n in PAPER_SPECS]
    extra = getattr(results, "table", None)
    if extra is not None:
        keys.append(check_table(extra))
    keys = [t for t in TABLES if t in set(keys)]
    paper = paper_numbers()
    rows: list[dict[str, Any]] = []
    for t in keys:
        sub = paper[paper["table"] == t]
        for s in table_specs(t):
            res = by_spec.get(s.name)
            if res is None:
                if not s.supported:
                    why = f"unsupported: {s.why_not}"
                elif s.name in failed:
                    why = f"not estimated: {failed[s.name]}"
                else:
                    why = "not estimated: no result given"
            else:
                over = _overrides(res, s)
                why = f"estimated with overrides: {over}" if over else "estimated"
            from .formula import parse

            regressors = set(parse(s.formula).regressors)
            for _, p in sub[sub["column"] == s.column].iterrows():
                term = str(p["term"])
                kind = "stat" if term in ("nobs", "r2") or term.startswith("stat_") else "coef"
                coef = se = pval = np.nan
                status = why
                if res is not None:
                    if kind == "stat":
                        v = _our_stat(res, term)
                        if v is None:
                            status = "not computed by structest"
                        else:
                            coef = v
                    elif term in res.params.index:
                        coef, se = float(res.params[term]), float(res.se[term])
                        pval = float(res.pvalues[term])
                    elif term in regressors:
                        status = "coefficient dropped as collinear"
                    else:
                        status = "coefficient not in the formula"
                pc, ps = float(p["coef"]), float(p["se"])
                if kind == "coef":
                    st = "" if pd.isna(p["stars"]) else "*" * int(p["stars"])
                    printed = f"{p['coef_text']}{st} ({p['se_text']})"
                elif term == "nobs":
                    printed = f"{int(pc):,}"
                else:
                    printed = str(p["coef_text"])
                estimated = kind == "coef" and status == "estimated"
                rows.append(
                    {
                        "table": t,
                        "panel": s.panel,
                        "column": s.column,
                        "spec": s.name,
                        "term": term,
                        "kind": kind,
                        # the paper's Table 4 prints "R-Squared" beside the counts and
                        # vice versa: statistics get their own names
                        "paper_label": _STAT_LABELS.get(p["term"], p["paper_label"]),
                        "paper_coef": pc,
                        "paper_se": ps,
                        "paper_stars": p["stars"],
                        "paper_printed": printed,
                        "coef": coef,
                        "se": se,
                        "p": pval,
                        "same_sign": (bool(np.sign(coef) == np.sign(pc)) if estimated else pd.NA),
                        "within_2se": (
                            bool(abs(coef - pc) <= 2 * ps)
                            if estimated and np.isfinite(ps)
                            else pd.NA
                        ),
                        "status": status,
                    }
                )
    cols = [
        "table",
        "panel",
        "column",
        "spec",
        "term",
        "kind",
        "paper_label",
        "paper_coef",
        "paper_se",
        "paper_stars",
        "paper_printed",
        "coef",
        "se",
        "p",
        "same_sign",
        "within_2se",
        "status",
    ]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("same_sign", "within_2se"):
        out[c] = out[c].astype("boolean")
    return out


def comparison_counts(cmp: pd.DataFrame) -> pd.DataFrame:
    """Per table: coefficients of the paper, estimated, same sign, within 2 paper SEs.

    Only coefficients with status ``"estimated"`` count (not statistics, not fits with
    overridden settings).
    """
    rows = []
    for t in [t for t in TABLES if t in set(cmp["table"])]:
        sub = cmp[(cmp["table"] == t) & (cmp["kind"] == "coef")]
        est = sub[sub["status"] == "estimated"]
        rows.append(
            {
                "table": t,
                "paper_coefficients": len(sub),
                "estimated": len(est),
                "same_sign": int(est["same_sign"].fillna(False).sum()),
                "within_2se": int(est["within_2se"].fillna(False).sum()),
            }
        )
    return pd.DataFrame(
        rows, columns=["table", "paper_coefficients", "estimated", "same_sign", "within_2se"]
    )
