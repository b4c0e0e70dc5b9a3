"""WIOD 2013 tables -> value-added contents, final goods and final-goods imports.

Everything is computed at the 41-region level first; the 27 EU members are then summed
into ``EUN`` (intra-EU flows become domestic) and the regions outside the paper's 14
economies into ``ROW``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...codes import ECONOMIES, EU27, WIOD_INDUSTRIES
from ...errors import StructestError
from .leontief import coefficients, source_multipliers

#: Aggregated regions: the paper's 14 economies and the rest of the world.
REGIONS: tuple[str, ...] = (*ECONOMIES, "ROW")
N_IND = len(WIOD_INDUSTRIES)
N_FD = 5  # final-demand categories per destination: CONS_h, CONS_np, CONS_g, GFCF, INVEN
IMPORT_CATEGORIES = (0, 1, 2, 3)  # inventories (can be negative) are not purchases


@dataclass(frozen=True)
class WiodYear:
    """Aggregated arrays of one WIOD year (USD millions).

    va[s, p, x]   value added of source s in final goods of industry x produced by p
    fg[p, x]      final goods output of p in x (row sums of the final-demand block)
    im[i, j, x]   i's final-goods purchases of x from j (consumption + investment)
    va41_colsum_error  max |1 - sum over sources of (R L)| over producing columns (v'L = 1)
    va41_fg_error      max |sum over sources of VA - f| (VA of final goods = their value)
    """

    year: int
    va: np.ndarray
    fg: np.ndarray
    im: np.ndarray
    va41_colsum_error: float
    va41_fg_error: float


def _read_rdata(path: Path) -> dict:
    try:
        import rdata
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise StructestError(
            "reading WIOD needs the build extra: pip install 'structest[build]'"
        ) from exc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = rdata.read_rda(str(path))
    return next(iter(obj.values()))


def region_map(countries: list[str]) -> np.ndarray:
    """Index into :data:`REGIONS` of each WIOD country (EU members -> EUN, others -> ROW)."""
    out = []
    for c in countries:
        if c in EU27:
            out.append(REGIONS.index("EUN"))
        elif c in REGIONS:
            out.append(REGIONS.index(c))
        else:
            out.append(REGIONS.index("ROW"))
    return np.asarray(out)


def read_wiod_year(path: Path) -> WiodYear:
    """Read one ``wiot_YYYY.RData`` and compute the aggregated arrays."""
    d = _read_rdata(path)
    countries = [str(c) for c in d["countries"]]
    industries = [str(c) for c in d["industries"]]
    if industries != list(WIOD_INDUSTRIES) or len(countries) != 41:
        raise StructestError(
            f"{path}: unexpected WIOD layout ({len(countries)} countries, {len(industries)} industries)"
        )
    Z = np.asarray(d["inter"], dtype=float)
    F = np.asarray(d["final"], dtype=float)
    y = np.asarray(d["output"], dtype=float)
    n41 = len(countries)
    country_of_row = np.repeat(np.arange(n41), N_IND)
    f = F.sum(axis=1)
    A, r = coefficients(Z, y)
    RL = source_multipliers(A, r, country_of_row, n41)  # (41 sources, 1435 columns)
    va41 = RL * f[None, :]
    colsum_err = float(np.max(np.abs(RL.sum(axis=0) - 1.0)))
    fg_err = float(np.max(np.abs(va41.sum(axis=0) - f)))

    reg = region_map(countries)
    n_r = len(REGIONS)
    # aggregate sources (rows) and producers (columns)
    agg = np.zeros((n_r, n41))
    agg[reg, np.arange(n41)] = 1.0
    va_src = agg @ va41  # (15, 1435)
    va_src = va_src.reshape(n_r, n41, N_IND)
    va = np.einsum("pc,scx->spx", agg, va_src)
    fg = agg @ f.reshape(n41, N_IND)
    # final-goods purchases: F[(c, x), d*5 + k]
    Fk = F.reshape(n41, N_IND, n41, N_FD)[:, :, :, list(IMPORT_CATEGORIES)].sum(axis=3)  # (c, x, d)
    # im[i, j, x] = sum_{d in i, c in j} Fk[c, x, d]
    im = np.einsum("id,jc,cxd->ijx", agg, agg, Fk)
    return WiodYear(
        year=int(np.asarray(d["year"]).ravel()[0]),
        va=va,
        fg=fg,
        im=im,
        va41_colsum_error=colsum_err,
        va41_fg_error=fg_err,
    )
