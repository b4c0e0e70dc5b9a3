"""Institutions and gravity: RTAs (paper Table B1), GSP (footnote 40), CEPII GeoDist.

EU values of the gravity variables are averages over the 27 members weighted by WIOD
gross output in 1995, so ``contig``, ``comlang`` and ``colony`` are shares in [0, 1] for
pairs involving the EU (e.g. the output share of EU members contiguous to Turkey).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ...codes import EU27, GSP_GRANTING, GSP_RECEIVING
from ...errors import StructestError

GRAVITY = {"dist": "dist", "contig": "contig", "comlang": "comlang_off", "colony": "colony"}


def agreements_in_force(agreements: pd.DataFrame, year: int, column: str) -> set[frozenset[str]]:
    """Unordered pairs with an agreement flagged ``column`` (rta / rta_broad) in force in ``year``."""
    rows = agreements[(agreements["entry_year"] <= year) & (agreements[column] == 1)]
    return {frozenset((a, b)) for a, b in zip(rows["member_a"], rows["member_b"], strict=True)}


def gsp_pair(importer: str, exporter: str) -> bool:
    """Potential GSP eligibility: importer grants GSP and exporter receives it (footnote 40)."""
    return importer in GSP_GRANTING and exporter in GSP_RECEIVING


def read_cepii(path: Path) -> pd.DataFrame:
    """CEPII ``dist_cepii`` as a frame (iso_o, iso_d, dist, contig, comlang_off, colony)."""
    try:
        import rdata
    except ImportError as exc:  # pragma: no cover
        raise StructestError(
            "reading CEPII needs the build extra: pip install 'structest[build]'"
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = rdata.read_rda(str(path))["dist_cepii"]
    d = d[["iso_o", "iso_d", *GRAVITY.values()]].copy()
    d["iso_o"] = d["iso_o"].astype(str)
    d["iso_d"] = d["iso_d"].astype(str)
    return d


def gravity_table(
    cepii: pd.DataFrame, economies: tuple[str, ...], eu_weights: dict[str, float]
) -> pd.DataFrame:
    """Symmetric gravity variables for every ordered pair of ``economies`` (EU output-weighted).

    Returns a frame indexed by (importer, exporter) with columns dist, contig, comlang, colony.
    """
    cep = cepii.set_index(["iso_o", "iso_d"])
    members = [m for m in EU27 if eu_weights.get(m, 0) > 0]
    w = np.array([eu_weights[m] for m in members])
    w = w / w.sum()

    def value(a: str, b: str) -> dict[str, float]:
        sa = members if a == "EUN" else [a]
        sb = members if b == "EUN" else [b]
        wa = w if a == "EUN" else np.ones(1)
        wb = w if b == "EUN" else np.ones(1)
        out = {}
        for name, col in GRAVITY.items():
            mat = np.empty((len(sa), len(sb)))
            for p, x in enumerate(sa):
                for q, y in enumerate(sb):
                    if (x, y) not in cep.index:
                        raise StructestError(f"CEPII has no pair ({x}, {y}) for '{col}'")
                    mat[p, q] = float(cep.at[(x, y), col])
            out[name] = float(wa @ mat @ wb)
        return out

    rows = []
    for a in economies:
        for b in economies:
            if a != b:
                rows.append({"importer": a, "exporter": b, **value(a, b)})
    return pd.DataFrame(rows).set_index(["importer", "exporter"])
