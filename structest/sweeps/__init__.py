"""Sweeps on Dask: coverage studies, SBC, prior-sensitivity grids and scenario batches.

``run_sweep(kind, out=..., scheduler="local"|ADDRESS, workers=N, ...)`` runs the reps of a
sweep as Dask tasks (:mod:`.runner`), stores each as it finishes in a resumable folder
(:mod:`.store`); the task of one rep is a plain function (:mod:`.tasks`); SBC's rank
statistics and uniformity test are in :mod:`.sbc`. Needs ``dask[distributed]``
(``pip install structest[sweep]``); importing this package does not import Dask.
"""

from __future__ import annotations

from .runner import KINDS, SweepResult, run_sweep
from .sbc import rank_histogram, rank_of, sbc_summary, thin_draws, uniformity_test
from .store import SweepStore

__all__ = [
    "KINDS",
    "SweepResult",
    "SweepStore",
    "rank_histogram",
    "rank_of",
    "run_sweep",
    "sbc_summary",
    "thin_draws",
    "uniformity_test",
]
