"""NumPyro adapter: the program's sites as ``numpyro.sample``/``deterministic``/``factor``,
and NUTS over it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as nd

from ..priors import PriorTuple, numpyro_dist
from ..program import JaxBuilder, Layout, Sites, structural_program
from ..sharding import is_sharded
from ..spec import ModelSpec
from . import NutsRun, sample_stats


class NumpyroBuilder(JaxBuilder):
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


#: the deepest tree during warm-up (2**8 - 1 = 255 leapfrog steps; 10 after it). The first
#: warm-up window runs on a unit metric with step sizes near 0.002, where every tree reaches
#: the depth cap: on the bundled panel 40% of the default model's warm-up gradients went to
#: its first 100 iterations at depth 10 (1,023 steps each); at depth 8 warm-up takes 30%
#: less time and ends at the same step size and tree depth
WARMUP_TREE_DEPTH = 8


def _jit_init_nuts() -> type:
    """NUTS whose initialisation runs as one compiled program.

    NumPyro initialises a kernel op by op (it traces the model, draws ``init_to_median``
    candidates, evaluates the potential and its gradient, and searches a first step size),
    and JAX compiles each primitive it meets on its own: about 500 programs of about 40 ms
    each on a 2-core CPU, 20 s of every fit. Under ``jax.jit`` the same steps compile once.
    The model's array arguments enter the program as arguments (the rest, the spec and the
    layout, stay Python objects), so a large panel is not folded into it as constants.
    Unsharded designs only (a sharded design's arrays keep NumPyro's own path).
    """
    import jax
    from numpyro.infer import NUTS

    class JitInitNUTS(NUTS):  # type: ignore[misc]
        def init(  # type: ignore[no-untyped-def]
            self, rng_key, num_warmup, init_params=None, model_args=(), model_kwargs=None
        ):
            leaves, tree = jax.tree_util.tree_flatten(model_args)
            traced = tuple(isinstance(v, (jax.Array, np.ndarray)) for v in leaves)
            arrays = [v for v, t in zip(leaves, traced, strict=True) if t]
            # one compiled program for every chain of a run (chains share the kernel)
            static = (id(v) for v, t in zip(leaves, traced, strict=True) if not t)
            key = (num_warmup, tree, traced, *static)
            cache = self.__dict__.setdefault("_jit_inits", {})
            compiled = None if model_kwargs else cache.get(key)  # kwargs: not cached
            if compiled is None:
                parent = super().init

                def run(rng: Any, params: Any, given: list[Any]) -> Any:
                    it = iter(given)
                    values = [next(it) if t else v for v, t in zip(leaves, traced, strict=True)]
                    args = jax.tree_util.tree_unflatten(tree, values)
                    return parent(rng, num_warmup, params, args, model_kwargs or {})

                compiled = jax.jit(run)
                if not model_kwargs:
                    cache[key] = compiled
            return compiled(rng_key, init_params, arrays)

    return JitInitNUTS


def _nuts(
    sites: Sites, target_accept: float, fn: Callable[..., Any] = model, jit_init: bool = True
) -> Any:
    from numpyro.infer import NUTS, init_to_median

    kernel = _jit_init_nuts() if jit_init else NUTS
    return kernel(
        fn,
        max_tree_depth=(WARMUP_TREE_DEPTH, 10),
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


def chain_keys(seed: int, chains: int) -> Any:
    """One PRNG key per chain, ``fold_in(PRNGKey(seed), c)``: a function of the seed and the
    chain index only (not of the number of chains, devices or batches)."""
    import jax

    base = jax.random.PRNGKey(seed)
    return jnp.stack([jax.random.fold_in(base, c) for c in range(chains)])


#: seconds between the "still sampling" lines of a multi-chain run with progress on
HEARTBEAT_S = 30.0


class _ChainProgress:
    """Chain-level progress on stderr for :func:`_threaded_chains` (NumPyro turns its own
    bar off when ``chain_method`` is a callable): a line when the chains start, one every
    :data:`HEARTBEAT_S` seconds with the chains finished and the time elapsed, and one per
    finished chain."""

    def __init__(self, n: int, workers: int) -> None:
        import threading
        import time

        self.n, self.done, self.t0 = n, 0, time.perf_counter()
        self._stop = threading.Event()
        self._say(
            f"sampling {n} chains, {min(workers, n)} at a time (warm-up and draws; "
            "progress by chain)"
        )
        self._beat = threading.Thread(target=self._heartbeat, daemon=True)
        self._beat.start()

    def _say(self, text: str) -> None:
        from ..._logging import progress

        progress("fit", text)

    def _elapsed(self) -> str:
        import time

        m, sec = divmod(int(time.perf_counter() - self.t0), 60)
        return f"{m}:{sec:02d}"

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self._say(f"  ... {self.done}/{self.n} chains finished, {self._elapsed()} elapsed")

    def finished(self, c: int) -> None:
        self.done += 1
        self._say(f"  chain {c} finished ({self.done}/{self.n}, {self._elapsed()} elapsed)")

    def close(self) -> None:
        self._stop.set()


def _threaded_chains(
    workers: int, show: bool = False
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """A chain transform for :class:`numpyro.infer.MCMC` (its ``chain_method`` may be a
    callable): one chain is compiled once (``jax.jit``, ahead of time) and that one
    executable runs every chain, ``workers`` chains at a time in threads (XLA runs them
    concurrently on the CPU cores; the GIL is released while they run).

    Why not NumPyro's own methods: ``"parallel"`` (``pmap``) compiles one SPMD program for
    all the chains of a batch and ``"sequential"`` runs the chain's set-up op by op; their
    roundings differ in the last bits, and NUTS trajectories amplify such bits into
    different draws within a few iterations, so the draws of a seed depended on the number
    of XLA devices. Here every chain runs the same executable whatever the device count,
    batch or thread, so a seed gives bit-identical draws.
    """
    from concurrent.futures import ThreadPoolExecutor

    import jax

    def transform(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(xs: Any) -> Any:
            n = jax.tree.leaves(xs)[0].shape[0]
            per = [jax.tree.map(lambda x, c=c: x[c], xs) for c in range(n)]
            compiled = jax.jit(fn).lower(per[0]).compile()  # traced once, in this thread
            progress = _ChainProgress(n, workers) if show else None

            def one(c: int) -> Any:
                out = jax.block_until_ready(compiled(per[c]))
                if progress is not None:
                    progress.finished(c)
                return out

            try:
                if workers <= 1 or n == 1:
                    outs = [one(c) for c in range(n)]
                else:
                    with ThreadPoolExecutor(max_workers=min(workers, n)) as pool:
                        outs = list(pool.map(one, range(n)))
            finally:
                if progress is not None:
                    progress.close()
            return jax.tree.map(lambda *a: jnp.stack(a, axis=0), *outs)

        return run

    return transform


def sample(run: NutsRun) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """NumPyro NUTS (dense mass matrix over the scalar sites), chains over the XLA devices.

    Chain ``c`` starts from the key :func:`chain_keys` gives it. With ``chain_method``
    ``"auto"``, ``"parallel"`` or ``"sequential"``, chains run through
    :func:`_threaded_chains` (as many at a time as there are XLA devices; one at a time for
    ``"sequential"``), so the draws of a seed do not depend on the device count or the
    method; ``"vectorized"`` is NumPyro's own (same keys, other rounding). A single chain
    runs through NumPyro's plain path (no chain transform): its draws match chain 0 of a
    multi-chain fit only up to rounding.
    """
    from numpyro.infer import MCMC

    chains = run.chains
    method, n_dev = _devices(run.chain_method, chains)
    batch = 1 if method == "sequential" else max(1, min(chains, n_dev))
    extra = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")
    keep = set(run.sites.stored())
    with _x64_every_thread(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There are not enough devices")
        # a callable chain method turns NumPyro's bar off; _ChainProgress reports instead
        warnings.filterwarnings("ignore", message="Disabling progress bar")
        arrays = {k: jnp.asarray(v) for k, v in run.design.arrays.items()}
        keys = chain_keys(run.seed, chains)
        # observations split across devices: the arrays must enter the jitted sampler as
        # arguments (a closed-over array is an unsharded constant), and each chain's
        # program runs on every device, so chains go one after the other (or vectorized)
        sharded = is_sharded(run.design)
        if chains == 1:
            # NumPyro runs a single chain without any chain transform (its own path)
            how: Any = "sequential"
            keys = keys[0]
        elif method == "vectorized":
            how = "vectorized"
        elif sharded:
            how, method, batch = "sequential", "sequential", 1
        else:
            how = _threaded_chains(batch, run.show)
        if sharded:  # only arrays may be arguments of the jitted sampler
            fn: Callable[..., Any] = partial(
                model, spec=run.spec, layout=run.layout, likelihood=True
            )
            args: tuple[Any, ...] = (arrays,)
        else:
            fn, args = model, (arrays, run.spec, run.layout, True)
        mcmc = MCMC(
            _nuts(run.sites, run.target_accept, fn, jit_init=not sharded),
            num_warmup=run.tune,
            num_samples=run.draws,
            num_chains=chains,
            chain_method=how,
            progress_bar=run.show,
            jit_model_args=sharded,
        )
        mcmc.run(keys, *args, extra_fields=extra)
        s = {
            k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items() if k in keep
        }
        st = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    steps = st["num_steps"]
    depth = np.floor(np.log2(steps.astype(float) + 1.0))
    out = sample_stats(
        st["diverging"], steps, depth, st["accept_prob"], st["energy"], -st["potential_energy"]
    )
    info = {"chain_method": method, "devices": n_dev, "chain_batch": batch, "chain_keys": "fold_in"}
    if sharded:
        info["shard_devices"] = int(np.asarray(run.design.arrays["blk_exact"]).shape[0])
    return s, out, info
