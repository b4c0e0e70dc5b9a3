"""The NumPyro model: priors from a :class:`ModelSpec`, likelihood from :func:`loglik`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpyro
import numpyro.distributions as nd

from .likelihood import cell_means, implied_coefficients, loglik, tstar_structural
from .priors import numpyro_dist
from .spec import ModelSpec

#: names of the implied reduced-form coefficients reported as deterministics
COEFS_RTA: tuple[str, ...] = ("intercept", "g_IP", "g_FVA", "g_DVA", "g_IP_rta", "g_FVA_rta")
COEFS_POOLED: tuple[str, ...] = ("intercept", "g_IP", "g_FVA", "g_DVA")
#: -g_FVA/g_IP = (1 - delta_star) eps_r_home / delta: free of eps and lambda
RATIO = "ratio_g_fva_g_ip"
#: prefixes of the sampler's auxiliary sites (standardised effects, cell means): not stored
AUXILIARY_PREFIXES: tuple[str, ...] = ("z_", "m_")


def coef_names(spec: ModelSpec) -> tuple[str, ...]:
    """Implied coefficients reported for this spec (plus :data:`RATIO`)."""
    return (*(COEFS_RTA if spec.rta_regime else COEFS_POOLED), RATIO)


def mu_site(spec: ModelSpec) -> str:
    """The sample site that carries ``mu``: ``mu`` itself, or ``m_<e>_mean``.

    When the centred effect is the first effect (mean ``mu``) and ``mu`` has a normal prior,
    the sampler works on the mean level of the cell means, ``m_<e>_mean = mu + mean(s)``
    (``s``: the cell means of :func:`tstar_structural`), with the prior of ``mu`` shifted by
    ``mean(s)``; ``mu`` is then a deterministic. Same model; it removes the ridge in which
    ``mu`` trades off against the non-RTA intercept ``100/eps``.
    """
    e = spec.centred_effect
    if e is not None and e == spec.effects[0] and spec.priors["mu"][0] == "normal":
        return f"m_{e}_mean"
    return "mu"


def sampled_scalars(spec: ModelSpec) -> tuple[str, ...]:
    """Scalar sample sites (``spec.scalar_params`` with ``mu`` -> :func:`mu_site`)."""
    site = mu_site(spec)
    return tuple(site if p == "mu" else p for p in spec.scalar_params)


def model(
    arrays: Mapping[str, Any],
    spec: ModelSpec,
    sizes: Mapping[str, int],
    group_sizes: Mapping[str, int],
    likelihood: bool = True,
) -> None:
    """NumPyro model of ``spec`` on the arrays of :func:`build_design`.

    Sites: structural parameters (population values), ``sd_<p>``/``z_<p>``/``<p>_group``
    for group-varying ones, ``sigma``, ``nu`` (Student-t), ``mu``, ``tau_<e>``/``z_<e>``
    and the non-centred effects ``fe_<e> = [mu] + tau_<e> z_<e>``; for
    ``spec.centred_effect`` the cell means ``m_<e> ~ Normal([mu] + s, tau_<e>)`` with ``s``
    the cell means of :func:`tstar_structural`, and ``fe_<e> = m_<e> - s`` (and ``mu`` through
    :func:`mu_site`); deterministics for the
    implied coefficients (population values, and ``<g>_by_<col>`` per group) and
    :data:`RATIO`; the log-likelihood enters as the factor ``loglik``.
    """
    pri = spec.priors
    params: dict[str, Any] = {}
    pop: dict[str, Any] = {}
    for p in spec.structural:
        pop[p] = numpyro.sample(p, numpyro_dist(pri[p]))
        if p in spec.hierarchy:
            sd = numpyro.sample(f"sd_{p}", numpyro_dist(pri[f"sd_{p}"]))
            z = numpyro.sample(f"z_{p}", nd.Normal(0.0, 1.0).expand([group_sizes[p]]).to_event(1))
            params[p] = numpyro.deterministic(f"{p}_group", pop[p] * jnp.exp(sd * z))
        else:
            params[p] = pop[p]
    params["sigma"] = numpyro.sample("sigma", numpyro_dist(pri["sigma"]))
    if spec.errors == "student_t":
        params["nu"] = numpyro.sample("nu", numpyro_dist(pri["nu"]))
    shift = None
    if spec.centred_effect is not None:
        e = spec.centred_effect
        shift = cell_means(tstar_structural(params, arrays), arrays[f"idx_{e}"], sizes[e])
    site = mu_site(spec)
    if site == "mu":
        mu = numpyro.sample("mu", numpyro_dist(pri["mu"]))
    else:
        level = jnp.mean(shift)
        _, loc0, scale0 = pri["mu"]
        mu = numpyro.deterministic(
            "mu", numpyro.sample(site, nd.Normal(loc0 + level, scale0)) - level
        )
    for k, e in enumerate(spec.effects):
        tau = numpyro.sample(f"tau_{e}", numpyro_dist(pri[f"tau_{e}"]))
        loc = mu if k == 0 else 0.0
        if e == spec.centred_effect:
            m = numpyro.sample(f"m_{e}", nd.Normal(loc + shift, tau).to_event(1))
            fe = m - shift
        else:
            z = numpyro.sample(f"z_{e}", nd.Normal(0.0, 1.0).expand([sizes[e]]).to_event(1))
            fe = loc + tau * z
        params[f"fe_{e}"] = numpyro.deterministic(f"fe_{e}", fe)
    coefs = implied_coefficients(pop)
    for name, val in coefs.items():
        numpyro.deterministic(name, val)
    numpyro.deterministic(RATIO, -coefs["g_FVA"] / coefs["g_IP"])
    for col in sorted(set(spec.hierarchy.values())):
        mixed = {**pop, **{p: params[p] for p, c in spec.hierarchy.items() if c == col}}
        for name, val in implied_coefficients(mixed).items():
            if jnp.ndim(val) == 1:
                numpyro.deterministic(f"{name}_by_{col}", val)
    if likelihood:
        numpyro.factor("loglik", loglik(params, dict(arrays)))
