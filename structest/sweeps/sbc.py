"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

A rep draws a truth from the prior, data from the model at that truth, and ``L`` posterior
draws (thinned, so that they are close to independent); the rank of the truth among them,
``#{draws < truth}`` in ``0..L``, is uniform over reps when the fit is calibrated. The
ranks are binned into a histogram (``L + 1`` divisible by the number of bins) and tested
for uniformity with Pearson's chi-square.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import EstimationError, OptionError

#: smallest expected count per histogram bin for the chi-square test to hold
MIN_EXPECTED = 5.0
#: most bins of a rank histogram (Talts et al. use 20)
MAX_BINS = 20


def thin_draws(draws: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws evenly spaced over all chains and draws (flattened), in order.

    Raises
    ------
    OptionError
        ``n`` is not a positive integer or exceeds the number of draws.
    """
    flat = np.asarray(draws, dtype=float).reshape(-1)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OptionError(f"thin_draws: n must be a positive integer, got {n!r}")
    if n > flat.size:
        raise OptionError(
            f"thin_draws: {n} rank draws asked for but the posterior has {flat.size}; "
            "give fewer rank draws or more draws (x chains)"
        )
    idx = np.floor(np.arange(n) * (flat.size / n)).astype(int)
    return flat[idx]


def rank_of(truth: float, draws: np.ndarray) -> int:
    """The rank of ``truth`` among ``draws``: how many are smaller (``0..len(draws)``).

    Raises
    ------
    EstimationError
        ``truth`` or a draw is not finite (no silent NaN rank).
    """
    d = np.asarray(draws, dtype=float).reshape(-1)
    if not np.isfinite(truth) or not np.isfinite(d).all():
        raise EstimationError(
            f"rank_of: the truth ({truth!r}) and every draw must be finite to rank the truth"
        )
    return int(np.sum(d < truth))


def default_bins(n_ranks: int, n_draws: int) -> int:
    """Most bins (a divisor of ``n_draws + 1``, at most :data:`MAX_BINS`) with at least
    :data:`MIN_EXPECTED` ranks expected in each; at least 2 when ``n_draws >= 1``."""
    for b in range(min(MAX_BINS, n_draws + 1), 1, -1):
        if (n_draws + 1) % b == 0 and n_ranks / b >= MIN_EXPECTED:
            return b
    return 2 if n_draws >= 1 else 1


def rank_histogram(ranks: Iterable[int], n_draws: int, bins: int | None = None) -> np.ndarray:
    """Counts of ``ranks`` (each in ``0..n_draws``) in ``bins`` equal bins.

    Raises
    ------
    OptionError
        ``bins`` does not divide ``n_draws + 1`` or is < 1.
    EstimationError
        A rank outside ``0..n_draws``.
    """
    r = np.asarray(list(ranks), dtype=int)
    if bins is None:
        bins = default_bins(r.size, n_draws)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise OptionError(f"rank_histogram: bins must be a positive integer, got {bins!r}")
    if (n_draws + 1) % bins:
        raise OptionError(
            f"rank_histogram: bins ({bins}) must divide the number of possible ranks "
            f"({n_draws + 1}) so that every bin is equally likely"
        )
    if r.size and (r.min() < 0 or r.max() > n_draws):
        raise EstimationError(
            f"rank_histogram: ranks must lie in 0..{n_draws}, got {r.min()}..{r.max()}"
        )
    width = (n_draws + 1) // bins
    return np.bincount(r // width, minlength=bins)[:bins]


def uniformity_test(
    ranks: Iterable[int], n_draws: int, bins: int | None = None
) -> tuple[float, int, float]:
    """Pearson chi-square test that ranks are uniform on ``0..n_draws``.

    Returns
    -------
    (float, int, float)
        The statistic, its degrees of freedom (bins - 1) and the p-value.

    Raises
    ------
    EstimationError
        Fewer than 2 ranks, or too few to expect one per bin (no information).
    """
    from scipy import stats

    r = list(ranks)
    if len(r) < 2:
        raise EstimationError(f"uniformity_test: need at least 2 ranks, got {len(r)}")
    counts = rank_histogram(r, n_draws, bins)
    if counts.size < 2:
        raise EstimationError("uniformity_test: need at least 2 bins (rank draws >= 1)")
    if len(r) / counts.size < 1:
        raise EstimationError(
            f"uniformity_test: {len(r)} ranks in {counts.size} bins: fewer than one per bin"
        )
    res = stats.chisquare(counts)
    return float(res.statistic), int(counts.size - 1), float(res.pvalue)


def sbc_summary(ranks: pd.DataFrame, bins: int | None = None) -> pd.DataFrame:
    """Per parameter: reps, rank draws, bins, chi-square, its p-value and the histogram.

    Parameters
    ----------
    ranks
        One row per rep and parameter, columns ``param``, ``rank``, ``n_draws``.

    Raises
    ------
    EstimationError
        A parameter whose reps ranked against different numbers of draws.
    """
    rows = []
    for param, g in ranks.groupby("param", sort=False):
        sizes = g["n_draws"].unique()
        if sizes.size != 1:
            raise EstimationError(
                f"sbc_summary: parameter {param!r} was ranked among different numbers of "
                f"draws {sorted(int(s) for s in sizes)}; use one --rank-draws per sweep folder"
            )
        L = int(sizes[0])
        if len(g) < 2:
            rows.append({"param": param, "reps": len(g), "rank_draws": L, "bins": np.nan,
                         "chi2": np.nan, "df": np.nan, "p_value": np.nan, "histogram": ""})  # fmt: skip
            continue
        b = default_bins(len(g), L) if bins is None else bins
        chi2, df, p = uniformity_test(g["rank"].astype(int), L, b)
        hist = rank_histogram(g["rank"].astype(int), L, b)
        rows.append({"param": param, "reps": len(g), "rank_draws": L, "bins": b,
                     "chi2": chi2, "df": df, "p_value": p,
                     "histogram": " ".join(str(int(c)) for c in hist)})  # fmt: skip
    return pd.DataFrame(rows).set_index("param")
