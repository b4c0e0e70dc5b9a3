"""Value-added contents of final goods (Los, Timmer & de Vries 2015; paper Appendix B.1).

Pure NumPy on arrays: no pandas, no I/O. With N = regions x industries,

    A = Z diag(y)^-1,  L = (I - A)^-1,  r = (y - 1'Z) / y,
    VA[c, k] = sum_{s in c} r_s L[s, k] f_k

is the value added of source region ``c`` embodied in the final goods ``f_k`` of
region-industry ``k``. ``R L`` is obtained with one linear solve of (I - A)' X' = R',
never an explicit inverse.
"""

from __future__ import annotations

import numpy as np


def coefficients(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Input coefficients ``A`` and value-added coefficients ``r``.

    ``r = 1 - 1'A``, i.e. ``(y - 1'Z) / y`` where output is positive. Columns whose output
    rounds to zero get ``A[:, k] = 0`` and ``r_k = 1``: WIOD rounds to whole millions, so a
    few sectors with zero output still deliver inputs; treating them as pure value added
    keeps ``v'L = 1`` exact.
    """
    Z = np.asarray(Z, dtype=float)
    y = np.asarray(y, dtype=float)
    pos = y > 0
    inv = np.zeros_like(y)
    inv[pos] = 1.0 / y[pos]
    A = Z * inv[None, :]
    r = 1.0 - A.sum(axis=0)
    return A, r


def source_multipliers(
    A: np.ndarray, r: np.ndarray, region_of: np.ndarray, n_regions: int
) -> np.ndarray:
    """``R L``: value added of each source region per unit of final output of each column.

    Parameters
    ----------
    A, r
        Input and value-added coefficients (N x N, N).
    region_of
        Region index (0..n_regions-1) of each of the N rows.
    n_regions
        Number of source regions.

    Returns
    -------
    numpy.ndarray
        (n_regions, N); columns with positive output sum to 1 (v'L = 1).
    """
    n = A.shape[0]
    R = np.zeros((n_regions, n))
    R[region_of, np.arange(n)] = r
    # X = R (I - A)^-1  <=>  (I - A)' X' = R'
    X = np.linalg.solve((np.eye(n) - A).T, R.T).T
    return X


def embodied_value_added(
    Z: np.ndarray, y: np.ndarray, f: np.ndarray, region_of: np.ndarray, n_regions: int
) -> np.ndarray:
    """Value added of each source region embodied in each region-industry's final goods.

    Returns
    -------
    numpy.ndarray
        (n_regions, N): ``VA[c, k] = sum_{s in c} r_s L[s, k] f_k``.
    """
    A, r = coefficients(Z, y)
    return source_multipliers(A, r, region_of, n_regions) * np.asarray(f, dtype=float)[None, :]
