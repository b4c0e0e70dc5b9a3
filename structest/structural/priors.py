"""Prior families shared by the NumPyro and PyMC front ends.

A prior is written either as a list ``[family, *args]`` (positional, e.g.
``["lognormal", 1.6, 1.0]``) or as a table with the family under ``dist`` and named
arguments, as PyMC and bambi name them (e.g. ``{dist = "gamma", alpha = 2.0, beta = 0.1}``).
Both become the same normalised tuple ``(family, *args)``, which builds a NumPyro
distribution (:func:`numpyro_dist`) and a PyMC distribution (:func:`pymc_dist`) with
identical densities, so both front ends target the same posterior.

Families (arguments in positional order, named as PyMC names them):

=========== ============================================= ==========================
family      arguments                                     support
=========== ============================================= ==========================
lognormal   mu, sigma (of the log)                        (0, inf)
normal      mu, sigma                                     real
halfnormal  sigma                                         (0, inf)
beta        alpha, beta                                   (0, 1)
gamma       alpha (shape), beta (rate)                    (0, inf)
truncnormal mu, sigma, lower (PyMC: ``TruncatedNormal``)  (lower, inf)
exponential lam (rate)                                    (0, inf)
=========== ============================================= ==========================

Family names are case-insensitive; ``truncatednormal`` (PyMC's class name) is accepted for
``truncnormal``. A named prior must give every argument of its family exactly once and no
other; other parametrisations (``tau``, ``sd``, ``rate``...) are refused with the accepted
names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

#: family -> the name of each argument, as messages call it
ARG_NAMES: dict[str, tuple[str, ...]] = {
    "lognormal": ("location (mean of the log)", "sd (of the log)"),
    "normal": ("location", "sd"),
    "halfnormal": ("sd",),
    "beta": ("alpha", "beta"),
    "gamma": ("shape", "rate"),
    "truncnormal": ("location", "sd", "low"),
    "exponential": ("rate",),
}

#: family -> the name of each argument in a named prior (PyMC's and bambi's keyword names)
KWARGS: dict[str, tuple[str, ...]] = {
    "lognormal": ("mu", "sigma"),
    "normal": ("mu", "sigma"),
    "halfnormal": ("sigma",),
    "beta": ("alpha", "beta"),
    "gamma": ("alpha", "beta"),
    "truncnormal": ("mu", "sigma", "lower"),
    "exponential": ("lam",),
}
#: other spellings of a family (lower case) -> its name here
FAMILY_ALIASES: dict[str, str] = {"truncatednormal": "truncnormal"}
#: the key of a named prior that holds its family
DIST_KEY = "dist"
#: argument names of other libraries or parametrisations -> the name to use, per family
#: (``None``: any family), for the hint of an unknown-name message
_SYNONYMS: dict[str, dict[str | None, str]] = {
    "loc": {None: "mu"},
    "mean": {None: "mu"},
    "location": {None: "mu"},
    "sd": {None: "sigma"},
    "scale": {None: "sigma"},
    "std": {None: "sigma"},
    "low": {"truncnormal": "lower"},
    "rate": {"gamma": "beta", "exponential": "lam"},
    "lambda": {"exponential": "lam"},
    "lambda_": {"exponential": "lam"},
    "shape": {"gamma": "alpha"},
    "a": {"beta": "alpha"},
    "b": {"beta": "beta"},
    "concentration": {"gamma": "alpha"},
    "family": {None: DIST_KEY},
    "distribution": {None: DIST_KEY},
}

#: family -> indices of the arguments that must be > 0 (scales, shapes, rates)
POSITIVE_ARGS: dict[str, tuple[int, ...]] = {
    "lognormal": (1,),
    "normal": (1,),
    "halfnormal": (0,),
    "beta": (0, 1),
    "gamma": (0, 1),
    "truncnormal": (1,),
    "exponential": (0,),
}

#: Largest absolute value of a prior argument: tariffs are in pp and parameters are O(1)
#: to O(100), so a larger number is a typo (and overflows the sampler's arithmetic).
ARG_MAX: float = 1e6
#: Log-normal priors: largest |location| and largest sd of the log (exp(50) ~ 5e21 already
#: dwarfs any parameter of the model; beyond these ``exp`` overflows to inf).
LOGNORMAL_LOC_MAX: float = 50.0
LOGNORMAL_SD_MAX: float = 10.0
#: Truncated normal: ``low`` must lie below ``location + TRUNC_SDS * sd``, else the prior
#: has (numerically) no mass above its bound.
TRUNC_SDS: float = 8.0

#: Families whose support is (0, inf): such parameters may vary by group (log-scale shrinkage).
POSITIVE_FAMILIES = frozenset({"lognormal", "halfnormal", "gamma", "exponential"})
#: How a parameter varies by group ([hierarchy]), by its prior's support: ``"log"``
#: (positive: ``p exp(sd z)``), ``"logit"`` (in (0, 1), beta prior: ``expit(logit p + sd
#: z)``) or ``"additive"`` (the real line, normal prior: ``p + sd z``).
HETEROGENEITY: dict[str, str] = {
    **{f: "log" for f in POSITIVE_FAMILIES},
    "beta": "logit",
    "normal": "additive",
}

PriorTuple = tuple[Any, ...]


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _family(where: str, name: str, fam: Any) -> str | None:
    """The family's name here (lower case, aliases resolved), or None when unknown."""
    if not isinstance(fam, str):
        return None
    family = FAMILY_ALIASES.get(fam.lower(), fam.lower())
    return family if family in FAMILIES else None


def _unknown_family(where: str, name: str, fam: Any) -> SpecError:
    return SpecError(
        f"{where}: the prior for '{name}' has unknown family {_short(fam)}; known: "
        f"{sorted(FAMILIES)}"
    )


def _hint(key: str, family: str | None) -> str:
    """`` (did you mean 'x'?)`` for a known other spelling of an argument name, else ''."""
    names = KWARGS.get(family, ()) if family else ()
    syn = _SYNONYMS.get(key.lower(), {})
    target = syn.get(family) or syn.get(None)
    if target is None and key.lower() in names:
        target = key.lower()
    return f" (did you mean '{target}'?)" if target and target != key else ""


def _named(where: str, name: str, prior: Mapping[Any, Any]) -> tuple[str, list[Any]]:
    """``(family, args in positional order)`` of a named prior ``{dist = ..., kw = ...}``."""
    bad_keys = [k for k in prior if not isinstance(k, str)]
    if bad_keys:
        raise SpecError(f"{where}: argument names must be strings, got {_short(bad_keys)}")
    if DIST_KEY not in prior:
        extra = _hint(next(iter(prior)), None) if len(prior) else ""
        raise SpecError(
            f"{where}: the prior for '{name}' must be a list [family, *args] or a table with "
            f'{DIST_KEY} = "<family>" and named arguments (e.g. {{dist = "gamma", alpha = 2.0, '
            f"beta = 0.1}}); got {_short(dict(prior))} (no '{DIST_KEY}' key){extra}"
        )
    fam = prior[DIST_KEY]
    family = _family(where, name, fam)
    if family is None:
        raise _unknown_family(where, name, fam)
    names = KWARGS[family]
    given = [k for k in prior if k != DIST_KEY]
    takes = f"{where}: {family} takes {', '.join(names)}"
    folded: dict[str, list[str]] = {}
    for k in given:
        folded.setdefault(k.lower(), []).append(k)
    twice = [ks for ks in folded.values() if len(ks) > 1]
    if twice:
        raise SpecError(
            f"{takes}; got argument '{twice[0][0].lower()}' more than once "
            f"({', '.join(map(repr, twice[0]))})"
        )
    unknown = [k for k in given if k not in names]
    if unknown:
        hints = "".join(_hint(k, family) for k in unknown[:1])
        raise SpecError(f"{takes}; got {', '.join(repr(k) for k in unknown)}{hints}")
    missing = [k for k in names if k not in prior]
    if missing:
        raise SpecError(f"{takes}; missing {', '.join(repr(k) for k in missing)}")
    return family, [prior[k] for k in names]


def check_prior(name: str, prior: Sequence[Any] | Mapping[str, Any]) -> PriorTuple:
    """Validate a prior and return it normalised: ``(family, *args)`` with a lower-case
    family and float arguments in positional order.

    ``prior`` is a list ``[family, *args]`` or a table ``{dist = family, <name> = value}``
    with the argument names of :data:`KWARGS` (PyMC's); both give the same tuple. Every
    message starts with the key path, ``priors.<name>:``.

    Raises
    ------
    SpecError
        Naming the parameter when the prior is neither a list nor a table, the family is
        unknown, the number of arguments is wrong, an argument name is unknown, missing or
        given twice, an argument is not a finite number, a scale is not positive, or a
        value is far outside any sensible range.
    """
    where = f"priors.{name}"
    if isinstance(prior, Mapping):
        family, args = _named(where, name, prior)
        labels = KWARGS[family]
        at = [f"({family} argument '{k}')" for k in labels]
    else:
        if isinstance(prior, (str, bytes)) or not isinstance(prior, Sequence) or len(prior) == 0:
            raise SpecError(
                f"{where}: the prior for '{name}' must be a list [family, *args], e.g. "
                f'["lognormal", 1.6, 0.5], or a table such as {{dist = "lognormal", mu = 1.6, '
                f"sigma = 0.5}}; got {_short(prior)}"
            )
        fam = prior[0]
        found = _family(where, name, fam)
        if found is None:
            raise _unknown_family(where, name, fam)
        family = found
        args = list(prior[1:])
        if len(args) != FAMILIES[family]:
            names = ", ".join(ARG_NAMES[family])
            raise SpecError(
                f"{where}: the prior for '{name}': family '{family}' takes {FAMILIES[family]} "
                f"argument(s) ({names}), got {len(args)} ({_short(list(prior))})"
            )
        labels = ARG_NAMES[family]
        at = [f"({family} argument {k + 1})" for k in range(len(args))]
    vals = []
    for k, a in enumerate(args):
        what = labels[k]
        if not _is_number(a):
            raise SpecError(
                f"{where}: {what} of '{name}' {at[k]} must be a number, got {_short(a)}"
            )
        v = float(a)
        positive = k in POSITIVE_ARGS[family]
        if positive and not (np.isfinite(v) and v > 0):
            raise SpecError(
                f"{where}: {what} of '{name}' {at[k]} must be a positive finite number, got {v!r}"
            )
        if not np.isfinite(v):
            raise SpecError(
                f"{where}: {what} of '{name}' {at[k]} must be a finite number, got {v!r}"
            )
        if abs(v) > ARG_MAX:
            raise SpecError(
                f"{where}: {what} of '{name}' {at[k]} = {v:g} is beyond +-{ARG_MAX:g}; a typo?"
            )
        vals.append(v)
    if family == "lognormal":
        if abs(vals[0]) > LOGNORMAL_LOC_MAX or vals[1] > LOGNORMAL_SD_MAX:
            raise SpecError(
                f"{where}: lognormal prior of '{name}' needs |location| <= "
                f"{LOGNORMAL_LOC_MAX:g} and sd <= {LOGNORMAL_SD_MAX:g} (they are on the log "
                f"scale; exp overflows beyond), got {vals[0]:g}, {vals[1]:g}"
            )
    if family == "truncnormal" and vals[2] >= vals[0] + TRUNC_SDS * vals[1]:
        raise SpecError(
            f"{where}: truncnormal prior of '{name}': low = {vals[2]:g} must lie below "
            f"location + {TRUNC_SDS:g} sd = {vals[0] + TRUNC_SDS * vals[1]:g} (else it has no "
            "mass above its bound)"
        )
    return (family, *vals)


def _short(x: Any, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters (messages stay one line)."""
    try:
        text = repr(x)
    except RecursionError:
        return "<a value nested too deeply>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
