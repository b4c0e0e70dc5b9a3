"""PyMC adapter: the same program, with the JAX maths entering through ``wrap_jax``.

JAX functions of the program (the log-likelihood, implied coefficients, cell means) are
wrapped with :func:`pytensor.link.jax.ops.wrap_jax` (gradients by JAX VJP), so PyMC's NUTS
targets the very posterior NumPyro samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import StructestError
from ..design import Design
from ..priors import PriorTuple, pymc_dist
from ..program import Builder, Layout, Sites, structural_program
from ..spec import ModelSpec
from . import NutsRun, sample_stats


def import_pymc() -> Any:
    """The ``pymc`` module; a one-line :class:`StructestError` saying how to get it when the
    installation has none (PyMC is the optional extra ``structest[pymc]``)."""
    try:
        import pymc
    except ImportError as exc:
        raise StructestError(
            f"backend='pymc' needs PyMC, which is not installed ({exc}); install it with "
            "pip install 'structest[pymc]' or use the default backend='numpyro'"
        ) from None
    return pymc


class PymcBuilder(Builder):
    """:class:`Builder` for PyMC (call inside a ``pm.Model`` context; values are tensors)."""

    def __init__(self) -> None:
        super().__init__()
        pm = import_pymc()
        import pytensor.tensor as pt

        self._pm, self._pt = pm, pt

    def _dims(self, name: str) -> Any:
        return self.sites.dims[name] or None

    def _prior(self, name: str, prior: PriorTuple, size: int | None) -> Any:
        return pymc_dist(name, prior, dims=self._dims(name))

    def _normal(self, name: str, loc: Any, scale: Any, size: int | None) -> Any:
        return self._pm.Normal(name, loc, scale, dims=self._dims(name))

    def _gamma(self, name: str, shape: Any, rate: Any, size: int) -> Any:
        return self._pm.Gamma(name, alpha=shape, beta=rate, dims=self._dims(name))

    def _deterministic(self, name: str, value: Any) -> Any:
        return self._pm.Deterministic(name, value, dims=self._dims(name))

    def factor(self, name: str, value: Any) -> None:
        self._pm.Potential(name, value)

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        from pytensor.link.jax.ops import wrap_jax

        return wrap_jax(fn)(arg)

    def exp(self, x: Any) -> Any:
        return self._pt.exp(x)

    def mean(self, x: Any) -> Any:
        return self._pt.mean(x)


def build_model(design: Design, spec: ModelSpec) -> tuple[Any, Sites]:
    """A ``pm.Model`` of ``spec`` on ``design`` and the program's site table.

    Coordinates are the effect levels and the parameter groups, so PyMC's own dims match
    the program's. Evaluate the model inside ``jax.enable_x64(True)`` (as :func:`sample`
    does): its JAX parts need 64-bit floats.
    """
    import jax
    import jax.numpy as jnp

    pm = import_pymc()

    with jax.enable_x64(True):
        arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
    coords = {k: list(v) for k, v in design.coords.items()}
    coords.setdefault("obs", list(range(design.n)))  # latent per-observation sites
    b = PymcBuilder()
    with pm.Model(coords=coords) as m, jax.enable_x64(True):
        structural_program(b, spec, Layout.of(design), arrays, likelihood=True)
    return m, b.sites


def chain_seeds(seed: int, chains: int) -> list[int]:
    """One seed per chain, a function of ``seed`` and the chain index only (PyMC's own
    split of one seed depends on the number of chains)."""
    return [int(np.random.SeedSequence([seed, c]).generate_state(1)[0]) for c in range(chains)]


def sample(run: NutsRun) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """PyMC's default NUTS (one core); the stored sites as ``(chain, draw, ...)`` arrays."""
    import jax

    pm = import_pymc()
    m, _ = build_model(run.design, run.spec)
    with m, jax.enable_x64(True):
        idata = pm.sample(
            draws=run.draws,
            tune=run.tune,
            chains=run.chains,
            cores=1,
            random_seed=chain_seeds(run.seed, run.chains),
            progressbar=run.show,
            target_accept=run.target_accept,
            compute_convergence_checks=False,
        )
    post = idata.posterior
    samples = {k: np.asarray(post[k].values) for k in run.sites.stored()}
    ss = idata.sample_stats
    names = ("diverging", "n_steps", "tree_depth", "acceptance_rate", "energy", "lp")
    stats = sample_stats(*(ss[k].values for k in names))
    return samples, stats, {"chain_method": "pymc", "devices": 1}
