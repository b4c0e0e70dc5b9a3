"""NumPyro adapter: the program's sites as ``numpyro.sample``/``deterministic``/``factor``,
and NUTS over it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as nd

from ..priors import PriorTuple, numpyro_dist
from ..program import Builder, Layout, Sites, structural_program
from ..spec import ModelSpec
from . import NutsRun, sample_stats


class NumpyroBuilder(Builder):
    """:class:`Builder` for NumPyro (values are JAX arrays)."""

    def _prior(self, name: str, prior: PriorTuple, size: int | None) -> Any:
        d = numpyro_dist(prior)
        return numpyro.sample(name, d if size is None else d.expand([size]).to_event(1))

    def _normal(self, name: str, loc: Any, scale: Any, size: int | None) -> Any:
        d = nd.Normal(loc, scale)
        return numpyro.sample(name, d if size is None else d.expand([size]).to_event(1))

    def _gamma(self, name: str, shape: Any, rate: Any, size: int) -> Any:
        return numpyro.sample(name, nd.Gamma(shape, rate).expand([size]).to_event(1))

    def _deterministic(self, name: str, value: Any) -> Any:
        return numpyro.deterministic(name, value)

    def factor(self, name: str, value: Any) -> None:
        numpyro.factor(name, value)

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return fn(arg)

    def exp(self, x: Any) -> Any:
        return jnp.exp(x)

    def mean(self, x: Any) -> Any:
        return jnp.mean(x)


def model(
    arrays: Mapping[str, Any], spec: ModelSpec, layout: Layout, likelihood: bool = True
) -> None:
    """NumPyro model of ``spec``: :func:`structural_program` through :class:`NumpyroBuilder`."""
    structural_program(NumpyroBuilder(), spec, layout, arrays, likelihood)


@contextmanager
def _x64_every_thread() -> Iterator[None]:
    """64-bit floats for every thread while NUTS runs, restored afterwards.

    NumPyro's progress bar reports from a host-callback thread, which a thread-local
    ``jax.enable_x64`` scope does not reach (its callback then returns int32 where the traced
    program expects int64), so the sampler switches the setting for its duration only.
    """
    import jax

    before = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        with jax.enable_x64(True):  # and this thread, whatever scope the caller set
            yield
    finally:
        jax.config.update("jax_enable_x64", before)


def _nuts(sites: Sites, target_accept: float) -> Any:
    from numpyro.infer import NUTS, init_to_median

    return NUTS(
        model,
        target_accept_prob=target_accept,
        dense_mass=[tuple(sites.sampled_scalars())],
        init_strategy=init_to_median(num_samples=15),
    )


def _devices(chain_method: str, chains: int) -> tuple[str, int]:
    """Chain method and device count (:func:`structest.structural.sampling.fit` has set the
    count, before any JAX work); ``auto``: parallel over two or more devices."""
    import jax

    n_dev = jax.local_device_count()
    if chain_method == "auto":
        return ("parallel" if n_dev >= 2 and chains > 1 else "sequential"), n_dev
    return chain_method, n_dev


def sample(run: NutsRun) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """NumPyro NUTS (dense mass matrix over the scalar sites), chains over the XLA devices."""
    import jax
    from numpyro.infer import MCMC

    chains = run.chains
    method, n_dev = _devices(run.chain_method, chains)
    batch = min(chains, n_dev) if method == "parallel" else chains
    extra = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")
    keep = set(run.sites.stored())
    samples: dict[str, list[np.ndarray]] = {}
    stats: dict[str, list[np.ndarray]] = {}
    done = 0
    with _x64_every_thread(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There are not enough devices")
        arrays = {k: jnp.asarray(v) for k, v in run.design.arrays.items()}
        keys = jax.random.split(jax.random.PRNGKey(run.seed), -(-chains // batch))
        for key in keys:
            nc = min(batch, chains - done)
            mcmc = MCMC(
                _nuts(run.sites, run.target_accept),
                num_warmup=run.tune,
                num_samples=run.draws,
                num_chains=nc,
                chain_method=method if nc > 1 else "sequential",
                progress_bar=run.show,
            )
            mcmc.run(key, arrays, run.spec, run.layout, True, extra_fields=extra)
            for k, v in mcmc.get_samples(group_by_chain=True).items():
                if k in keep:
                    samples.setdefault(k, []).append(np.asarray(v))
            for k, v in mcmc.get_extra_fields(group_by_chain=True).items():
                stats.setdefault(k, []).append(np.asarray(v))
            done += nc
    s = {k: np.concatenate(v, axis=0) for k, v in samples.items()}
    st = {k: np.concatenate(v, axis=0) for k, v in stats.items()}
    steps = st["num_steps"]
    depth = np.floor(np.log2(steps.astype(float) + 1.0))
    out = sample_stats(
        st["diverging"], steps, depth, st["accept_prob"], st["energy"], -st["potential_energy"]
    )
    return s, out, {"chain_method": method, "devices": n_dev}
