"""The structural model body, written once for every backend.

:func:`structural_program` states the model of a :class:`~structest.structural.spec.ModelSpec`
(priors, group-varying parameters, effects, deterministics and the likelihood factor)
against the small :class:`Builder` interface. The NumPyro and PyMC adapters in
:mod:`structest.structural.backends` implement that interface in a few lines each, so a new
model feature is written here and nowhere else.

Sites
-----
Structural parameters (population values); for a parameter ``p`` in ``[hierarchy]``:
``sd_<p>``, the auxiliary ``z_<p>`` and ``<p>_group = p exp(sd_<p> z_<p>)`` (logit-normal
for a beta prior, ``p + sd_<p> z_<p>`` for a normal one: :func:`_by_group`); ``sigma``;
``nu`` and the auxiliary latent precisions ``prec`` (Student-t as a scale mixture; also
``sigma`` may vary by group, ``sigma_group``); ``mu``; for each effect ``e``: ``tau_<e>`` and ``fe_<e>``, sampled
non-centred through the auxiliary ``z_<e>`` (``fe = loc + tau z``; for a Mundlak effect
``loc`` adds ``xbar_<e> gamma_<e>``, see :attr:`ModelSpec.mundlak`) or, for
``spec.centred_effect``, through its auxiliary cell means ``m_<e> ~ Normal(loc + s, tau)``
(``s``: the cell means of the structural part of t*, ``fe = m - s``); ``mu`` is then carried
by ``m_<e>_mean = mu + mean(s)`` when the centred effect is the first one (see
:func:`mu_site`). Deterministics: the implied coefficients (:data:`COEF_NAMES`), the ratio
:data:`RATIO` and ``<g>_by_<col>`` for coefficients that vary by group. The log-likelihood
enters as the factor ``loglik``.

Every site is registered with its role and dims in :class:`Sites`; the InferenceData of
either backend is built from that one table (:func:`site_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from ..equations import (
    COEFS_INSIDE,
    COEFS_OPTIONAL,
    COEFS_OUTSIDE,
    SCALE,
    group_link,
    group_value,
    implied_coefficients,
)
from ..errors import StructestError
from .likelihood import cell_means, loglik, tstar_structural
from .priors import HETEROGENEITY, PriorTuple
from .spec import ModelSpec

#: -g_FVA/g_IP = (1 - delta_star) eps_r_home / delta: free of eps and lambda
RATIO = "ratio_g_fva_g_ip"

Role = Literal["parameter", "auxiliary", "deterministic"]


def coef_names(spec: ModelSpec) -> tuple[str, ...]:
    """Implied coefficients reported for this spec, then :data:`RATIO`."""
    inside = COEFS_INSIDE if spec.rta_regime else ()
    optional = tuple(c for p, c in COEFS_OPTIONAL.items() if p in spec.structural)
    return (*COEFS_OUTSIDE, *inside, *optional, RATIO)


#: every implied coefficient a model may report
COEF_NAMES: tuple[str, ...] = (*COEFS_OUTSIDE, *COEFS_INSIDE, *COEFS_OPTIONAL.values(), RATIO)


def mu_site(spec: ModelSpec) -> str:
    """The sample site that carries ``mu`` (the first effect's mean): ``mu`` itself, or a
    level that adds to it what the data cannot tell apart from it.

    With a normal prior on ``mu``, ``mu`` is a deterministic and the sampler works on
    ``m_<e>_mean = mu + mean(s)`` when the centred effect is the first one (``s``: the
    cell means of the structural part of t*), else on ``mu_level = mu + 100/eps`` (the
    intercept outside RTAs), with the prior of ``mu`` shifted by the same amount. Same
    model; it removes the curved ridge in which ``mu`` trades off against ``100/eps``
    (weakly identified ``eps``: divergences at small ``eps`` on the bundled panel).
    """
    if spec.priors["mu"][0] != "normal" or not spec.effects:
        return "mu"
    e = spec.centred_effect
    if e is not None and e == spec.effects[0]:
        return f"m_{e}_mean"
    return "mu_level"


@dataclass(frozen=True)
class Layout:
    """Sizes the program needs from a design: effect levels and parameter groups.

    Attributes
    ----------
    levels
        ``effect -> number of levels``.
    groups
        ``parameter -> (grouping column, number of groups)`` for group-varying parameters.
    n_obs
        Number of observations (latent precisions of the Student-t scale mixture).
    """

    levels: Mapping[str, int]
    groups: Mapping[str, tuple[str, int]]
    n_obs: int = 0

    @classmethod
    def of(cls, design: Any) -> Layout:
        """The layout of a :class:`~structest.structural.design.Design`."""
        return cls(
            levels={e: len(v) for e, v in design.levels.items()},
            groups={p: (design.group_cols[p], len(v)) for p, v in design.groups.items()},
            n_obs=design.n,
        )

    def __hash__(self) -> int:  # static argument of jitted NumPyro code
        return hash(
            (tuple(sorted(self.levels.items())), tuple(sorted(self.groups.items())), self.n_obs)
        )


@dataclass
class Sites:
    """Every site the program declared: role and dims (names of the vector dimensions)."""

    role: dict[str, Role] = field(default_factory=dict)
    dims: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, name: str, role: Role, dims: tuple[str, ...]) -> None:
        self.role[name] = role
        self.dims[name] = tuple(dims)

    def stored(self) -> list[str]:
        """Sites kept in the posterior (parameters and deterministics), in program order."""
        return [k for k, r in self.role.items() if r != "auxiliary"]

    def sampled_scalars(self) -> list[str]:
        """The dense mass-matrix block: sampled scalars and the Mundlak coefficients."""
        return [
            k
            for k, r in self.role.items()
            if r != "deterministic" and self.dims[k] in ((), ("regressor",))
        ]


class Builder:
    """The interface a backend implements (values are the backend's tensors).

    Subclasses implement :meth:`_prior`, :meth:`_normal`, :meth:`_deterministic`,
    :meth:`factor`, :meth:`call`, :meth:`exp` and :meth:`mean`; the public methods also
    register each site in :attr:`sites`.
    """

    def __init__(self) -> None:
        self.sites = Sites()
        #: ``auxiliary site -> its value from a draw's stored sites`` (see :class:`_Replay`)
        self.recover: dict[str, Callable[[Mapping[str, Any]], Any]] = {}

    # -- the interface used by the program
    def prior(
        self, name: str, prior: PriorTuple, size: int | None = None, dims: tuple[str, ...] = ()
    ) -> Any:
        """A random variable with a prior tuple ``(family, *args)``: a scalar, or ``size``
        independent draws over ``dims``."""
        self.sites.add(name, "parameter", dims)
        return self._prior(name, prior, size)

    def normal(
        self,
        name: str,
        loc: Any,
        scale: Any,
        size: int | None = None,
        dims: tuple[str, ...] = (),
        *,
        recover: Callable[[Mapping[str, Any]], Any],
    ) -> Any:
        """An auxiliary Normal site (scalar, or a vector of ``size`` over ``dims``).

        Auxiliary sites are not stored; ``recover`` computes the site's value from the
        stored sites of a draw (``name -> value``), inverting what the program makes of it.
        """
        self.sites.add(name, "auxiliary", dims)
        self.recover[name] = recover
        return self._normal(name, loc, scale, size)

    def gamma(self, name: str, shape: Any, rate: Any, size: int, dims: tuple[str, ...]) -> Any:
        """An auxiliary vector of ``size`` independent Gamma(shape, rate) draws."""
        self.sites.add(name, "auxiliary", dims)
        return self._gamma(name, shape, rate, size)

    def deterministic(self, name: str, value: Any, dims: tuple[str, ...] = ()) -> Any:
        """A stored function of other sites."""
        self.sites.add(name, "deterministic", dims)
        return self._deterministic(name, value)

    # -- backend hooks
    def _prior(self, name: str, prior: PriorTuple, size: int | None) -> Any:
        raise NotImplementedError

    def _normal(self, name: str, loc: Any, scale: Any, size: int | None) -> Any:
        raise NotImplementedError

    def _gamma(self, name: str, shape: Any, rate: Any, size: int) -> Any:
        raise NotImplementedError

    def _deterministic(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def factor(self, name: str, value: Any) -> None:
        """Add ``value`` to the log density."""
        raise NotImplementedError

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """Apply a pure JAX function to a pytree of backend values."""
        raise NotImplementedError

    def exp(self, x: Any) -> Any:
        raise NotImplementedError

    def mean(self, x: Any) -> Any:
        raise NotImplementedError


def _coefs_by_group(spec: ModelSpec, layout: Layout) -> dict[str, list[str]]:
    """``col -> implied coefficients that vary over the groups of col`` (by shape)."""
    import jax

    out: dict[str, list[str]] = {}
    for col in sorted({c for c, _ in layout.groups.values()}):
        shapes = {p: jax.ShapeDtypeStruct((), np.float32) for p in spec.structural}
        for p, (c, n) in layout.groups.items():
            if c == col and p in shapes:
                shapes[p] = jax.ShapeDtypeStruct((n,), np.float32)
        res = jax.eval_shape(implied_coefficients, shapes)
        out[col] = [k for k, v in res.items() if len(v.shape) == 1]
    return out


def _by_group(b: Builder, spec: ModelSpec, layout: Layout, p: str, pop: Any) -> Any:
    """``<p>_group``: the population value ``pop`` of ``p`` varied over the groups of its
    ``[hierarchy]`` column, as its prior's support says (:data:`~.priors.HETEROGENEITY`):
    ``pop exp(sd z)``, ``expit(logit(pop) + sd z)`` or ``pop + sd z``, ``z ~ Normal(0, 1)``."""
    col, n = layout.groups[p]
    sd = b.prior(f"sd_{p}", spec.priors[f"sd_{p}"])
    kind = HETEROGENEITY[spec.priors[p][0]]

    def recover(v: Mapping[str, Any]) -> Any:
        return (group_link(kind, v[f"{p}_group"], jnp) - group_link(kind, pop, jnp)) / sd

    z = b.normal(f"z_{p}", 0.0, 1.0, n, (col,), recover=recover)
    value = b.call(lambda a: group_value(kind, a[0], a[1] * a[2], jnp), (pop, sd, z))
    return b.deterministic(f"{p}_group", value, (col,))


def structural_program(
    b: Builder,
    spec: ModelSpec,
    layout: Layout,
    arrays: Mapping[str, Any],
    likelihood: bool = True,
) -> dict[str, Any]:
    """The model of ``spec`` on the design ``arrays``, stated through the builder ``b``.

    Returns the likelihood's ``params`` (structural values, ``sigma``, ``nu``, ``prec``,
    ``fe_<e>``).
    """
    pri = spec.priors
    pop: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for p in (*spec.structural, "sigma", *spec.scale_params, *spec.error_params):
        pop[p] = b.prior(p, pri[p])
        params[p] = _by_group(b, spec, layout, p, pop[p]) if p in spec.hierarchy else pop[p]
    pop = {p: pop[p] for p in spec.structural}
    if spec.errors == "student_t":
        # Student-t as a scale mixture of normals: e_i ~ Normal(0, sigma^2 / prec_i) with
        # prec_i ~ Gamma(nu/2, nu/2), so the censored terms stay on log_ndtr
        nu = params["nu"]
        params["prec"] = b.gamma("prec", nu / 2.0, nu / 2.0, layout.n_obs, ("obs",))
    centred = spec.centred_effect
    shift = None
    if centred is not None:
        idx, n_cells = arrays[f"idx_{centred}"], layout.levels[centred]
        structural = {p: params[p] for p in spec.structural}
        shift = b.call(lambda q: cell_means(tstar_structural(q, arrays), idx, n_cells), structural)
    site = mu_site(spec)
    if site == "mu":
        mu = b.prior("mu", pri["mu"])
    else:
        level = SCALE / pop["eps"] if site == "mu_level" else b.mean(shift)
        _, loc0, scale0 = pri["mu"]
        m = b.normal(site, loc0 + level, scale0, recover=lambda v: v["mu"] + level)
        mu = b.deterministic("mu", m - level)
    gamma_mfn = b.prior("gamma_mfn", pri["gamma_mfn"]) if spec.mfn_effect else None
    for k, e in enumerate(spec.effects):
        tau = b.prior(f"tau_{e}", pri[f"tau_{e}"])
        loc = mu if k == 0 else 0.0
        if k == 0 and gamma_mfn is not None:
            loc = loc + b.call(lambda g, m=arrays[f"mfnbar_{e}"]: g * m, gamma_mfn)
        n = layout.levels[e]
        if e in spec.mundlak:
            name = f"gamma_{e}"
            gamma = b.prior(name, pri[name], len(spec.mundlak_regressors), ("regressor",))
            xbar = arrays[f"xbar_{e}"]
            loc = loc + b.call(lambda g, xb=xbar: xb @ g, gamma)
        if e == centred:
            m_e = b.normal(
                f"m_{e}", loc + shift, tau, n, (e,), recover=lambda v, e=e: v[f"fe_{e}"] + shift
            )
            fe = m_e - shift
        else:
            z_e = b.normal(
                f"z_{e}",
                0.0,
                1.0,
                n,
                (e,),
                recover=lambda v, e=e, loc=loc, tau=tau: (v[f"fe_{e}"] - loc) / tau,
            )
            fe = loc + tau * z_e
        params[f"fe_{e}"] = b.deterministic(f"fe_{e}", fe, (e,))
    coefs = b.call(implied_coefficients, pop)
    for name in coef_names(spec)[:-1]:
        b.deterministic(name, coefs[name])
    b.deterministic(RATIO, -coefs["g_FVA"] / coefs["g_IP"])
    for col, names in _coefs_by_group(spec, layout).items():
        mixed = {**pop, **{p: params[p] for p, (c, _) in layout.groups.items() if c == col}}
        by = b.call(implied_coefficients, mixed)
        for name in names:
            b.deterministic(f"{name}_by_{col}", by[name], (col,))
    if likelihood:
        b.factor("loglik", b.call(lambda q: loglik(q, arrays), params))
    return params


class _DryRun(Builder):
    """Runs the program on placeholder values to list its sites (no backend needed)."""

    def _prior(self, name: str, prior: PriorTuple, size: int | None) -> Any:
        return np.full(size, 0.5) if size is not None else np.float64(0.5)

    def _normal(self, name: str, loc: Any, scale: Any, size: int | None) -> Any:
        return np.full(size, 0.5) if size is not None else np.float64(0.5)

    def _gamma(self, name: str, shape: Any, rate: Any, size: int) -> Any:
        return np.ones(size)

    def _deterministic(self, name: str, value: Any) -> Any:
        return value

    def factor(self, name: str, value: Any) -> None:
        return None

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        import jax

        with jax.enable_x64(True):
            return jax.tree_util.tree_map(np.asarray, fn(arg))

    def exp(self, x: Any) -> Any:
        return np.exp(x)

    def mean(self, x: Any) -> Any:
        return np.mean(x)


class JaxBuilder(Builder):
    """A :class:`Builder` whose values are JAX arrays (:meth:`call`, :meth:`exp`,
    :meth:`mean` as JAX computes them)."""

    def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return fn(arg)

    def exp(self, x: Any) -> Any:
        return jnp.exp(x)

    def mean(self, x: Any) -> Any:
        return jnp.mean(x)


class _Replay(JaxBuilder):
    """Runs the program on one stored draw (JAX values): parameters take their stored
    values, auxiliary sites their recovered ones (``Builder.normal``'s ``recover``), and
    :attr:`latent` collects every sampled site, as the sampler saw it."""

    def __init__(self, stored: Mapping[str, Any]) -> None:
        super().__init__()
        self.stored = stored
        self.latent: dict[str, Any] = {}

    def _prior(self, name: str, prior: PriorTuple, size: int | None) -> Any:
        self.latent[name] = self.stored[name]
        return self.latent[name]

    def _normal(self, name: str, loc: Any, scale: Any, size: int | None) -> Any:
        self.latent[name] = self.recover[name](self.stored)
        return self.latent[name]

    def _gamma(self, name: str, shape: Any, rate: Any, size: int) -> Any:
        raise StructestError(
            f"the fit does not store the auxiliary '{name}' (latent precisions of the "
            "Student-t scale mixture, one per observation), and they cannot be recovered "
            "from the stored draws"
        )

    def _deterministic(self, name: str, value: Any) -> Any:
        return value

    def factor(self, name: str, value: Any) -> None:
        return None


def latent_values(
    stored: Mapping[str, Any], spec: ModelSpec, layout: Layout, arrays: Mapping[str, Any]
) -> dict[str, Any]:
    """Every sampled site (parameters and auxiliaries) of one draw, from its stored sites.

    A pure JAX function (``vmap`` it over draws): the inverse of what the program stores.

    Raises
    ------
    StructestError
        For a model whose auxiliaries cannot be recovered (Student-t latent precisions).
    """
    b = _Replay(stored)
    structural_program(b, spec, layout, arrays, likelihood=False)
    return b.latent


def site_table(spec: ModelSpec, layout: Layout, arrays: Mapping[str, Any]) -> Sites:
    """Roles and dims of every site of ``spec`` (the program run without a backend)."""
    b = _DryRun()
    structural_program(b, spec, layout, arrays, likelihood=False)
    return b.sites
