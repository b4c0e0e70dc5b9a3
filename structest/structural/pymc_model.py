"""PyMC front end: the same priors and the *same* JAX likelihood, via ``wrap_jax``.

The log-likelihood (:func:`structest.structural.likelihood.loglik`) and the implied
coefficients are wrapped with :func:`pytensor.link.jax.ops.wrap_jax` (gradients by JAX
VJP) and enter the model as ``pm.Potential("loglik", ...)``, so PyMC's NUTS targets the
posterior NumPyro samples in :func:`structest.structural.fit`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .design import Design
from .likelihood import cell_means, implied_coefficients, loglik, tstar_structural
from .numpyro_model import AUXILIARY_PREFIXES, RATIO, mu_site
from .priors import pymc_dist
from .spec import ModelSpec


def build_pymc_model(design: Design, spec: ModelSpec) -> Any:
    """A ``pm.Model`` with the variables of :func:`structest.structural.numpyro_model.model`."""
    import jax.numpy as jnp
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor.link.jax.ops import wrap_jax

    arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}

    @wrap_jax
    def structest_loglik(params: dict[str, Any]) -> Any:
        return loglik(params, arrays)

    @wrap_jax
    def structest_coefs(params: dict[str, Any]) -> Any:
        return implied_coefficients(params)

    centred = spec.centred_effect

    @wrap_jax
    def structest_cell_shift(params: dict[str, Any]) -> Any:
        idx = arrays[f"idx_{centred}"]
        return cell_means(tstar_structural(params, arrays), idx, len(design.levels[centred]))

    pri = spec.priors
    with pm.Model() as m:
        pop: dict[str, Any] = {}
        params: dict[str, Any] = {}
        for p in spec.structural:
            pop[p] = pymc_dist(p, pri[p])
            if p in spec.hierarchy:
                sd = pymc_dist(f"sd_{p}", pri[f"sd_{p}"])
                z = pm.Normal(f"z_{p}", 0.0, 1.0, shape=len(design.groups[p]))
                params[p] = pm.Deterministic(f"{p}_group", pop[p] * pt.exp(sd * z))
            else:
                params[p] = pop[p]
        params["sigma"] = pymc_dist("sigma", pri["sigma"])
        if spec.errors == "student_t":
            params["nu"] = pymc_dist("nu", pri["nu"])
        if centred is not None:
            shift = structest_cell_shift({p: params[p] for p in spec.structural})
        site = mu_site(spec)
        if site == "mu":
            mu = pymc_dist("mu", pri["mu"])
        else:
            level = pt.mean(shift)
            _, loc0, scale0 = pri["mu"]
            mu = pm.Deterministic("mu", pm.Normal(site, loc0 + level, scale0) - level)
        for k, e in enumerate(spec.effects):
            tau = pymc_dist(f"tau_{e}", pri[f"tau_{e}"])
            loc = mu if k == 0 else 0.0
            if e == centred:
                m_e = pm.Normal(f"m_{e}", loc + shift, tau, shape=len(design.levels[e]))
                fe = m_e - shift
            else:
                z = pm.Normal(f"z_{e}", 0.0, 1.0, shape=len(design.levels[e]))
                fe = loc + tau * z
            params[f"fe_{e}"] = pm.Deterministic(f"fe_{e}", fe)
        coefs = structest_coefs(pop)
        for name, val in coefs.items():
            pm.Deterministic(name, val)
        pm.Deterministic(RATIO, -coefs["g_FVA"] / coefs["g_IP"])
        pm.Potential("loglik", structest_loglik(params))
    return m


def sample_pymc(
    design: Design,
    spec: ModelSpec,
    chains: int,
    draws: int,
    tune: int,
    seed: int,
    show: bool,
    target_accept: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Sample with PyMC's default NUTS; return posterior arrays and sample stats."""
    import pymc as pm

    m = build_pymc_model(design, spec)
    with m:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1,
            random_seed=seed,
            progressbar=show,
            target_accept=target_accept,
            compute_convergence_checks=False,
        )
    post = idata.posterior
    samples = {
        k: np.asarray(post[k].values)
        for k in post.data_vars
        if not k.startswith(AUXILIARY_PREFIXES)
    }
    ss = idata.sample_stats
    stats = {
        "diverging": ss["diverging"].values.astype(bool),
        "n_steps": ss["n_steps"].values.astype(np.int64),
        "tree_depth": ss["tree_depth"].values.astype(np.int64),
        "acceptance_rate": ss["acceptance_rate"].values,
        "energy": ss["energy"].values,
        "lp": ss["lp"].values,
    }
    return samples, stats, {"chain_method": "pymc", "devices": 1}
