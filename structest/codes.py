"""Code lists: economies, industries, EU members, institutions (paper Tables 1 and B1)."""

from __future__ import annotations

#: The paper's 14 economies (Table 1); the EU is the composite ``EUN``.
ECONOMIES: tuple[str, ...] = (
    "AUS",
    "BRA",
    "CAN",
    "CHN",
    "EUN",
    "IND",
    "IDN",
    "JPN",
    "MEX",
    "RUS",
    "KOR",
    "TWN",
    "TUR",
    "USA",
)

#: The paper's 14 WIOD industries (Table 1; c2 mining and c8 petroleum excluded).
INDUSTRIES: tuple[str, ...] = (
    "c1",
    "c3",
    "c4",
    "c5",
    "c6",
    "c7",
    "c9",
    "c10",
    "c11",
    "c12",
    "c13",
    "c14",
    "c15",
    "c16",
)

INDUSTRY_NAMES: dict[str, str] = {
    "c1": "Agriculture, Hunting, Forestry and Fishing",
    "c2": "Mining and Quarrying",
    "c3": "Food, Beverages and Tobacco",
    "c4": "Textiles and Textile Products",
    "c5": "Leather and Footwear",
    "c6": "Wood and Products of Wood and Cork",
    "c7": "Pulp, Paper, Printing and Publishing",
    "c8": "Coke, Refined Petroleum and Nuclear Fuel",
    "c9": "Chemicals and Chemical Products",
    "c10": "Rubber and Plastics",
    "c11": "Other Non-Metallic Mineral",
    "c12": "Basic Metals and Fabricated Metal",
    "c13": "Machinery, NEC",
    "c14": "Electrical and Optical Equipment",
    "c15": "Transport Equipment",
    "c16": "Manufacturing, NEC; Recycling",
}

#: All WIOD (2013 release) industry codes; services are c17..c35.
WIOD_INDUSTRIES: tuple[str, ...] = tuple(f"c{k}" for k in range(1, 36))
SERVICES: tuple[str, ...] = tuple(f"c{k}" for k in range(17, 36))

#: The 27 EU members in WIOD 2013 (Romania is ``ROM`` there).
EU27: tuple[str, ...] = (
    "AUT",
    "BEL",
    "BGR",
    "CYP",
    "CZE",
    "DEU",
    "DNK",
    "ESP",
    "EST",
    "FIN",
    "FRA",
    "GBR",
    "GRC",
    "HUN",
    "IRL",
    "ITA",
    "LTU",
    "LUX",
    "LVA",
    "MLT",
    "NLD",
    "POL",
    "PRT",
    "ROM",
    "SVK",
    "SVN",
    "SWE",
)

#: GSP granting / receiving economies (paper footnote 40).
GSP_GRANTING: frozenset[str] = frozenset({"AUS", "CAN", "EUN", "JPN", "RUS", "TUR", "USA"})
GSP_RECEIVING: frozenset[str] = frozenset(
    {"BRA", "CHN", "IND", "IDN", "KOR", "MEX", "RUS", "TUR", "TWN"}
)

#: Other ISO3 codes a user panel may carry (Caliendo-Parro countries, WIOD regions).
OTHER_CODES: frozenset[str] = frozenset({"ARG", "CHL", "NZL", "NOR", "ZAF", "ROW", *EU27})

KNOWN_ECONOMIES: frozenset[str] = frozenset(ECONOMIES) | OTHER_CODES

#: Structural parameters of the optimal tariff, eq. (11)/(14), in reporting order:
#: elasticities, pass-throughs, political weights, then the reciprocal (RTA) elasticities.
STRUCTURAL_PARAMS: tuple[str, ...] = (
    "eps",
    "lambda_abs",
    "eps_r_home",
    "eps_r_abroad",
    "delta",
    "delta_star",
    "delta_dstar",
    "eps_tilde",
    "lambda_tilde",
)

#: Economies of the paper without tariff data in Caliendo-Parro.
NO_TARIFF_DATA: frozenset[str] = frozenset({"RUS", "TWN"})
