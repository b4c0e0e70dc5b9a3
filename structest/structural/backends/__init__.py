"""Thin adapters of :func:`structest.structural.program.structural_program` to NumPyro and PyMC.

Each adapter implements :class:`structest.structural.program.Builder` and has a
``sample(run: NutsRun)`` returning ``(samples, sample_stats, info)``: the program's stored
sites as ``(chain, draw, ...)`` arrays, and the statistics of :func:`sample_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class NutsRun:
    """What a backend needs to sample: the model on its design and the NUTS settings."""

    design: Any
    spec: Any
    layout: Any
    sites: Any
    chains: int
    draws: int
    tune: int
    seed: int
    show: bool
    target_accept: float
    chain_method: str = "auto"


def sample_stats(
    diverging: np.ndarray,
    n_steps: np.ndarray,
    tree_depth: np.ndarray,
    acceptance_rate: np.ndarray,
    energy: np.ndarray,
    lp: np.ndarray,
) -> dict[str, np.ndarray]:
    """The ``sample_stats`` group both backends report, under ArviZ's names."""
    return {
        "diverging": np.asarray(diverging).astype(bool),
        "n_steps": np.asarray(n_steps).astype(np.int64),
        "tree_depth": np.asarray(tree_depth).astype(np.int64),
        "acceptance_rate": np.asarray(acceptance_rate, float),
        "energy": np.asarray(energy, float),
        "lp": np.asarray(lp, float),
    }
