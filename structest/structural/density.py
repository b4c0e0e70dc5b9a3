"""The posterior density of a fit on the sampler's unconstrained scale.

Importance sampling with transformed draws (PSIS-LOO moment matching,
:mod:`structest.checks.moment_match`) moves the draws of a fit and weighs them by the
posterior density at the new points. This module gives those draws and that density:
the stored draws with their auxiliary sites recovered
(:func:`~structest.structural.program.latent_values`), mapped to the unconstrained scale by
NumPyro's transforms of the one program, and a batched, jitted evaluator of the log
posterior density (with the transforms' Jacobians) and the pointwise log-likelihood.
Fits of either backend evaluate through the NumPyro program: the two backends have the
same log density (``tests/test_backends.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .posterior import BATCH, map_batches, param_sites

#: ``upars[B, D] -> (log posterior density[B], pointwise log-likelihood[B, n])``
Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class UnconstrainedDraws:
    """A fit's draws as the sampler saw them, and its log density.

    Attributes
    ----------
    upars
        float[S, D]: the ``S = chains x draws`` draws, chain-major, flattened over every
        sampled site on the unconstrained scale.
    evaluate
        ``upars[B, D] -> (lp[B], loglik[B, n])``: the log posterior density up to a
        constant (prior, likelihood and the Jacobians of the transforms: what NUTS
        sampled) and the pointwise log-likelihood of the ``n`` observations.
    names
        The sampled sites, in the order they are flattened.
    """

    upars: np.ndarray
    evaluate: Evaluator
    names: tuple[str, ...]


def unconstrained_draws(fit: Any, batch: int = BATCH) -> UnconstrainedDraws:
    """The draws of ``fit`` (:class:`~structest.structural.results.StructuralFit`) on the
    unconstrained scale, and the evaluator of its log density.

    Raises
    ------
    StructestError
        For a model whose auxiliary sites the stored draws do not determine (the Student-t
        scale mixture's latent precisions).
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import constrain_fn, potential_energy, unconstrain_fn

    from .backends.numpyro import model
    from .likelihood import loglik_pointwise
    from .program import Layout, latent_values, site_table

    spec, design = fit.spec, fit.design
    layout = Layout.of(design)
    post = fit.posterior
    s_total = post.sizes["chain"] * post.sizes["draw"]
    with jax.enable_x64(True):
        arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
        sites = site_table(spec, layout, design.arrays)
        stored = {
            k: post[k].values.reshape((s_total, *post[k].shape[2:]))
            for k in sites.stored()
            if k in post
        }
        kwargs = {"spec": spec, "layout": layout, "likelihood": False}
        args = (arrays,)

        def to_u(draw: Any) -> Any:
            latent = latent_values(draw, spec, layout, arrays)
            return ravel_pytree(unconstrain_fn(model, args, kwargs, latent))[0]

        upars = map_batches(jax.jit(jax.vmap(to_u)), stored, s_total, batch)
        first = jax.tree.map(lambda v: jnp.asarray(v[0]), stored)
        u0 = unconstrain_fn(model, args, kwargs, latent_values(first, spec, layout, arrays))
        _, unravel = ravel_pytree(u0)
        names = param_sites(spec)

        def one(u: Any) -> tuple[Any, Any]:
            p = unravel(u)
            log_prior = -potential_energy(model, args, kwargs, p)
            values = constrain_fn(model, args, kwargs, p, return_deterministic=True)
            ll = loglik_pointwise({k: values[site] for k, site in names.items()}, arrays)
            return log_prior + jnp.sum(ll), ll

        compiled = jax.jit(jax.vmap(one))

    def evaluate(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with jax.enable_x64(True):
            lp, ll = map_batches(compiled, jnp.asarray(u, dtype=jnp.float64), len(u), batch)
        return lp, ll

    return UnconstrainedDraws(np.asarray(upars), evaluate, tuple(sorted(u0)))
