"""Caliendo-Parro bilateral tariffs -> WIOD industries, the EU composite and inferred MFN rates.

Raw layout: 620 rows = 20 ISIC Rev.3 sectors x 31 importers (sector-major), 31 exporter
columns, percent. ``xbilat1993`` has the same layout (imports of the row country from the
column country, thousands USD).

Rules (documented in ``data/README.md``):

* **EU.** The EU importer row is the element-wise median of its members' rows (members as
  of the tariff year): the common external tariff makes the rows agree except for a few
  member-specific irregularities (Sweden's 2005 row differs in many cells), which the
  median ignores; the disagreement is reported per member. The EU as exporter is the
  mean over member columns (partners may treat members differently, e.g. by composition).
* **Sectors -> industries.** Many-to-one CP sectors are averaged with the importer's 1993
  total imports of each sector as weights (the same weights for every exporter, so the
  aggregation adds no partner-specific composition); CP *Textile* feeds both c4 and c5.
* **MFN.** Not in the data. ``MFN_ref`` of importer-industry-year is the median applied
  rate over *reference partners*: high-income exporters without a known preference
  (``data/known_preferences.csv``, RTAs, EU membership). An observation is at MFN
  (``censored``) when its applied rate is at least ``(1 - rel_tol) MFN_ref - abs_tol``;
  its ``mfn`` is then its own applied rate (composition-weighted averages of the same MFN
  schedule differ across partners). Otherwise it is preferential and ``mfn = MFN_ref``.
  The threshold itself is the column ``mfn_threshold``: the likelihood censors there (a
  preference smaller than the tolerance is recorded as no preference), and the posterior
  predictive checks record replicated tariffs by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...codes import ECONOMIES, NO_TARIFF_DATA
from ...errors import StructestError

CP_COUNTRIES: tuple[str, ...] = tuple(
    "ARG AUS AUT BRA CAN CHL CHN DNK FIN FRA DEU GRC HUN IND IDN IRL ITA JPN KOR MEX "
    "NLD NZL NOR PRT ZAF ESP SWE TUR GBR USA ROW".split()
)
CP_SECTORS: tuple[str, ...] = tuple(
    "Agriculture Mining Food Textile Wood Paper Petroleum Chemicals Plastic Minerals "
    "BasicMetals MetalProducts Machinery Office Electrical Communication Medical Auto "
    "OtherTransport Other".split()
)
#: EU members present in the Caliendo-Parro data, by tariff year.
EU_MEMBERS_CP: dict[int, tuple[str, ...]] = {
    1993: ("DNK", "FRA", "DEU", "GRC", "IRL", "ITA", "NLD", "PRT", "ESP", "GBR"),
    2005: (
        "AUT",
        "DNK",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "IRL",
        "ITA",
        "NLD",
        "PRT",
        "ESP",
        "SWE",
        "GBR",
    ),
}
#: Economies of the paper with tariff data (RUS and TWN are absent from Caliendo-Parro).
TARIFF_ECONOMIES: tuple[str, ...] = tuple(e for e in ECONOMIES if e not in NO_TARIFF_DATA)
#: High-income exporters eligible as MFN reference partners (never GSP recipients).
HIGH_INCOME: tuple[str, ...] = (
    "AUS",
    "AUT",
    "CAN",
    "DNK",
    "FIN",
    "FRA",
    "DEU",
    "GRC",
    "IRL",
    "ITA",
    "JPN",
    "NLD",
    "NZL",
    "NOR",
    "PRT",
    "ESP",
    "SWE",
    "GBR",
    "USA",
)
#: Tariff year -> WIOD year it is paired with.
TARIFF_YEARS: dict[int, int] = {1993: 1995, 2005: 2005}

DEFAULT_REL_TOL = 0.15
DEFAULT_ABS_TOL = 0.05


def read_cp(path: Path) -> np.ndarray:
    """Read a 620 x 31 Caliendo-Parro file as (sector, importer, exporter)."""
    arr = np.loadtxt(path)
    if arr.shape != (620, 31):
        raise StructestError(f"{path}: expected 620 x 31 values, got {arr.shape}")
    return arr.reshape(len(CP_SECTORS), len(CP_COUNTRIES), len(CP_COUNTRIES))


@dataclass(frozen=True)
class IndustryTariffs:
    """Applied tariffs by WIOD industry for one tariff year.

    ``applied`` is indexed (industry, importer, exporter) with importers
    :data:`TARIFF_ECONOMIES` and exporters ``CP_COUNTRIES`` (individual EU members) plus ``EUN``.
    ``eu_row_disagreement`` is, per EU member, the share of (sector, external exporter)
    cells where its row differs from the members' median by more than 0.01 pp.
    """

    tariff_year: int
    industries: tuple[str, ...]
    importers: tuple[str, ...]
    exporters: tuple[str, ...]
    applied: np.ndarray
    eu_row_disagreement: dict[str, float]


def _concordance(concordance: pd.DataFrame) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for row in concordance.itertuples():
        out.setdefault(str(row.wiod_industry), []).append(int(row.cp_index) - 1)
    return out


def to_industries(
    tariffs: np.ndarray,
    imports93: np.ndarray,
    tariff_year: int,
    concordance: pd.DataFrame,
    industries: tuple[str, ...],
) -> IndustryTariffs:
    """Aggregate CP sectors to WIOD industries and build the EU importer row and exporter column."""
    members = EU_MEMBERS_CP[tariff_year]
    idx = {c: k for k, c in enumerate(CP_COUNTRIES)}
    mem = [idx[c] for c in members]
    non_eu = [k for k, c in enumerate(CP_COUNTRIES) if c not in members]
    # EU importer row: members' rows must agree on external partners
    eu_rows = tariffs[:, mem, :][:, :, non_eu]
    common = np.median(eu_rows, axis=1, keepdims=True)
    deviates = np.abs(eu_rows - common) > 0.01  # (sector, member, exporter)
    disagreement = {m: float(deviates[:, k, :].mean()) for k, m in enumerate(members)}
    rows = []
    weights = []
    for imp in TARIFF_ECONOMIES:
        if imp == "EUN":
            rows.append(np.median(tariffs[:, mem, :], axis=1))
            weights.append(imports93[:, mem, :][:, :, non_eu].sum(axis=(1, 2)))
        else:
            rows.append(tariffs[:, idx[imp], :])
            weights.append(imports93[:, idx[imp], :].sum(axis=1))
    T = np.stack(rows, axis=1)  # (sector, importer, exporter31)
    W = np.stack(weights, axis=1)  # (sector, importer)
    T = np.concatenate([T, T[:, :, mem].mean(axis=2, keepdims=True)], axis=2)  # + EUN exporter
    conc = _concordance(concordance)
    out = np.empty((len(industries), len(TARIFF_ECONOMIES), T.shape[2]))
    for k, ind in enumerate(industries):
        secs = conc[ind]
        w = W[secs]  # (n_sec, importer)
        w = np.where(w.sum(axis=0, keepdims=True) > 0, w, 1.0)
        w = w / w.sum(axis=0, keepdims=True)
        out[k] = np.einsum("si,sie->ie", w, T[secs])
    return IndustryTariffs(
        tariff_year=tariff_year,
        industries=industries,
        importers=TARIFF_ECONOMIES,
        exporters=(*CP_COUNTRIES, "EUN"),
        applied=out,
        eu_row_disagreement=disagreement,
    )


def _has_preference(
    known: pd.DataFrame, importer: str, exporter: str, year: int, rta_pairs: set[frozenset[str]]
) -> bool:
    if frozenset((importer, exporter)) in rta_pairs:
        return True
    k = known[
        (known["importer"] == importer) & (known["from_year"] <= year) & (known["to_year"] >= year)
    ]
    return exporter in set(k["exporter"])


def reference_partners(
    importer: str, tariff_year: int, known: pd.DataFrame, rta_pairs: set[frozenset[str]]
) -> list[str]:
    """High-income exporters that get no known preference from ``importer`` in ``tariff_year``."""
    members = set(EU_MEMBERS_CP[tariff_year])
    out = []
    for exp in HIGH_INCOME:
        if exp == importer or (importer == "EUN" and exp in members):
            continue
        group = "EUN" if exp in members else exp
        if _has_preference(known, importer, group, tariff_year, rta_pairs) or _has_preference(
            known, importer, exp, tariff_year, rta_pairs
        ):
            continue
        out.append(exp)
    return out


def mfn_reference(
    it: IndustryTariffs, known: pd.DataFrame, rta_pairs: set[frozenset[str]], rule: str = "median"
) -> np.ndarray:
    """MFN_ref (industry, importer) by ``rule``: 'median' or 'max' over reference partners,
    or 'p75_all' (75th percentile over all partners, a rule that needs no reference list)."""
    ex = {c: k for k, c in enumerate(it.exporters)}
    out = np.empty((len(it.industries), len(it.importers)))
    for i, imp in enumerate(it.importers):
        members = set(EU_MEMBERS_CP[it.tariff_year])
        if rule == "p75_all":
            cols = [
                ex[c]
                for c in it.exporters
                if c not in (imp, "ROW", "EUN") and not (imp == "EUN" and c in members)
            ]
            out[:, i] = np.percentile(it.applied[:, i, cols], 75, axis=1)
            continue
        refs = reference_partners(imp, it.tariff_year, known, rta_pairs)
        if not refs:
            raise StructestError(f"no MFN reference partner for importer {imp} in {it.tariff_year}")
        vals = it.applied[:, i, [ex[c] for c in refs]]
        if rule == "median":
            out[:, i] = np.median(vals, axis=1)
        elif rule == "max":
            out[:, i] = vals.max(axis=1)
        else:
            raise StructestError(f"unknown MFN rule {rule!r} (use 'median', 'max' or 'p75_all')")
    return out


def mfn_threshold(mfn_ref: np.ndarray, rel_tol: float, abs_tol: float) -> np.ndarray:
    """The applied rate from which an observation is recorded at MFN:
    ``(1 - rel_tol) MFN_ref - abs_tol`` (the panel's ``mfn_threshold`` column)."""
    return (1.0 - rel_tol) * mfn_ref - abs_tol


def flag_censored(
    applied: np.ndarray, mfn_ref: np.ndarray, rel_tol: float, abs_tol: float
) -> np.ndarray:
    """True where an applied rate is at MFN up to composition noise (at or above
    :func:`mfn_threshold`)."""
    return applied >= mfn_threshold(mfn_ref, rel_tol, abs_tol)
