"""Prior families shared by the NumPyro and PyMC front ends.

A prior is written as a tuple ``(family, *args)``, e.g. ``("lognormal", 1.6, 1.0)``.
The same tuple builds a NumPyro distribution (:func:`numpyro_dist`) and a PyMC
distribution (:func:`pymc_dist`) with identical densities, so both front ends target the
same posterior.

Families (parameters in order):

========== ============================ ==========================
family     arguments                    support
========== ============================ ==========================
lognormal  mu, sigma (of the log)       (0, inf)
normal     mu, sigma                    real
halfnormal sigma                        (0, inf)
beta       alpha, beta                  (0, 1)
gamma      alpha (shape), beta (rate)   (0, inf)
truncnormal mu, sigma, low              (low, inf)
exponential rate                        (0, inf)
========== ============================ ==========================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import SpecError

#: family -> number of arguments
FAMILIES: dict[str, int] = {
    "lognormal": 2,
    "normal": 2,
    "halfnormal": 1,
    "beta": 2,
    "gamma": 2,
    "truncnormal": 3,
    "exponential": 1,
}

#: Families whose support is (0, inf): such parameters may vary by group (log-scale shrinkage).
POSITIVE_FAMILIES = frozenset({"lognormal", "halfnormal", "gamma", "exponential"})

PriorTuple = tuple[Any, ...]


def check_prior(name: str, prior: Sequence[Any]) -> PriorTuple:
    """Validate a prior tuple and return it normalised (lower-case family, float args).

    Raises
    ------
    SpecError
        Naming the parameter when the family is unknown, the arity is wrong or a scale is
        not positive.
    """
    if isinstance(prior, str) or not isinstance(prior, Sequence) or len(prior) == 0:
        raise SpecError(
            f"prior for '{name}' must be a tuple (family, *args), e.g. ('lognormal', 1.6, 1.0); "
            f"got {prior!r}"
        )
    family = str(prior[0]).lower()
    if family not in FAMILIES:
        raise SpecError(
            f"prior for '{name}': unknown family {prior[0]!r}; known: {sorted(FAMILIES)}"
        )
    args = tuple(prior[1:])
    if len(args) != FAMILIES[family]:
        raise SpecError(
            f"prior for '{name}': family '{family}' takes {FAMILIES[family]} argument(s), "
            f"got {len(args)} ({prior!r})"
        )
    try:
        vals = tuple(float(a) for a in args)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"prior for '{name}': arguments must be numbers, got {args!r}") from exc
    scale_pos = {
        "lognormal": (1,),
        "normal": (1,),
        "halfnormal": (0,),
        "beta": (0, 1),
        "gamma": (0, 1),
        "truncnormal": (1,),
        "exponential": (0,),
    }[family]
    for k in scale_pos:
        if not vals[k] > 0:
            raise SpecError(
                f"prior for '{name}': argument {k + 1} of '{family}' must be > 0, got {vals[k]}"
            )
    return (family, *vals)


def numpyro_dist(prior: PriorTuple) -> Any:
    """NumPyro distribution of a (checked) prior tuple."""
    import numpyro.distributions as nd

    family, *a = prior
    if family == "lognormal":
        return nd.LogNormal(a[0], a[1])
    if family == "normal":
        return nd.Normal(a[0], a[1])
    if family == "halfnormal":
        return nd.HalfNormal(a[0])
    if family == "beta":
        return nd.Beta(a[0], a[1])
    if family == "gamma":
        return nd.Gamma(a[0], a[1])
    if family == "truncnormal":
        return nd.TruncatedNormal(a[0], a[1], low=a[2])
    if family == "exponential":
        return nd.Exponential(a[0])
    raise SpecError(f"unknown prior family {family!r}")  # pragma: no cover


def pymc_dist(name: str, prior: PriorTuple, **kwargs: Any) -> Any:
    """PyMC random variable of a (checked) prior tuple (call inside a model context)."""
    import pymc as pm

    family, *a = prior
    if family == "lognormal":
        return pm.LogNormal(name, mu=a[0], sigma=a[1], **kwargs)
    if family == "normal":
        return pm.Normal(name, mu=a[0], sigma=a[1], **kwargs)
    if family == "halfnormal":
        return pm.HalfNormal(name, sigma=a[0], **kwargs)
    if family == "beta":
        return pm.Beta(name, alpha=a[0], beta=a[1], **kwargs)
    if family == "gamma":
        return pm.Gamma(name, alpha=a[0], beta=a[1], **kwargs)
    if family == "truncnormal":
        return pm.TruncatedNormal(name, mu=a[0], sigma=a[1], lower=a[2], **kwargs)
    if family == "exponential":
        return pm.Exponential(name, lam=a[0], **kwargs)
    raise SpecError(f"unknown prior family {family!r}")  # pragma: no cover


def scipy_dist(prior: PriorTuple) -> Any:
    """The same prior as a frozen :mod:`scipy.stats` distribution (log densities of draws)."""
    from scipy import stats

    family, *a = prior
    if family == "lognormal":
        return stats.lognorm(s=a[1], scale=float(np.exp(a[0])))
    if family == "normal":
        return stats.norm(a[0], a[1])
    if family == "halfnormal":
        return stats.halfnorm(scale=a[0])
    if family == "beta":
        return stats.beta(a[0], a[1])
    if family == "gamma":
        return stats.gamma(a[0], scale=1.0 / a[1])
    if family == "truncnormal":
        return stats.truncnorm((a[2] - a[0]) / a[1], np.inf, loc=a[0], scale=a[1])
    if family == "exponential":
        return stats.expon(scale=1.0 / a[0])
    raise SpecError(f"unknown prior family {family!r}")  # pragma: no cover
