"""Sampling diagnostics and posterior summaries of a structural fit.

Functions take a :class:`~structest.structural.results.StructuralFit` or its
``InferenceData``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StructestError
from .io import fit_spec, idata_of
from .program import coef_names

#: sampler thresholds reported loudly
RHAT_MAX = 1.01
ESS_MIN = 400
#: fewest draws per chain for which R-hat and ESS mean anything
DRAWS_MIN = 100
#: fewest chains for R-hat (between-chain convergence)
CHAINS_MIN = 2


class SamplingWarning(UserWarning):
    """NUTS trouble: divergences, R-hat above 1.01 or bulk ESS below 400, R-hat or ESS not
    computable (NaN), or too few chains or draws to judge convergence."""


def key_variables(fit: Any) -> list[str]:
    """Implied coefficients and scalar parameters present in the posterior (report order)."""
    idata = idata_of(fit)
    spec = fit_spec(idata)
    names = [*coef_names(spec), *spec.scalar_params]
    return [n for n in names if n in idata.posterior]


def _worst(values: Any, worst: Any) -> float:
    """The worst finite entry of a diagnostic array, or NaN when any entry is NaN/inf."""
    v = np.asarray(values, float).reshape(-1)
    if v.size == 0:
        return float("nan")
    if not np.isfinite(v).all():
        return float("nan")
    return float(worst(v))


def _names(d: dict[str, float]) -> str:
    keys = sorted(d)
    return ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")


def check_sampling(fit: Any) -> list[str]:
    """Problems of the sampler, one line each (empty when the run can be trusted).

    Reported: divergences after warm-up; fewer than :data:`CHAINS_MIN` chains (R-hat
    undefined) or fewer than :data:`DRAWS_MIN` draws per chain (R-hat and ESS unreliable);
    non-finite draws; draws that never change (a stuck sampler: ArviZ then reports the full
    ESS); R-hat or bulk ESS that cannot be computed (NaN); R-hat > :data:`RHAT_MAX`; bulk ESS < :data:`ESS_MIN`. A NaN never counts
    as a pass.
    """
    import warnings

    import arviz as az

    idata = idata_of(fit)

    msgs: list[str] = []
    if "posterior" not in idata.groups():
        return ["no posterior draws (no 'posterior' group): nothing to diagnose"]
    post = idata.posterior
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        div = int(np.asarray(idata.sample_stats["diverging"]).sum())
        if div:
            msgs.append(f"{div} divergent transition(s) after warm-up; the posterior may be biased")
    else:
        msgs.append("no divergence record (sample_stats.diverging): divergences unchecked")
    n_chain, n_draw = int(post.sizes.get("chain", 0)), int(post.sizes.get("draw", 0))
    if n_chain < CHAINS_MIN:
        msgs.append(
            f"only {n_chain} chain(s): R-hat (convergence across chains) cannot be computed; "
            f"run at least {CHAINS_MIN} chains (4 recommended)"
        )
    if n_draw < DRAWS_MIN:
        msgs.append(
            f"only {n_draw} draw(s) per chain: R-hat and ESS are unreliable below "
            f"{DRAWS_MIN}; run more draws"
        )
    if not post.data_vars or n_draw == 0:
        msgs.append("the posterior holds no draws")
        return msgs
    nonfinite = {
        k: 1.0 for k in post.data_vars if not np.isfinite(np.asarray(post[k].values, float)).all()
    }
    if nonfinite:
        msgs.append(
            f"non-finite (NaN/inf) draws in {len(nonfinite)} variable(s): {_names(nonfinite)}"
        )
    frozen = {}
    for k in post.data_vars:
        v = np.asarray(post[k].values, float)
        flat = v.reshape(-1, *v.shape[2:]) if v.ndim > 2 else v.reshape(-1, 1)
        if k not in nonfinite and flat.shape[0] > 1 and (np.ptp(flat, axis=0) == 0).any():
            frozen[k] = 1.0
    if frozen:
        msgs.append(
            f"constant draws (the sampler did not move) in {len(frozen)} variable(s): "
            f"{_names(frozen)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ warns about few draws / NaN: reported here
        rh = az.rhat(post) if n_chain >= CHAINS_MIN else None
        ess = az.ess(post, method="bulk") if n_draw >= 4 else None
    if rh is not None:
        worst = {k: _worst(rh[k].values, np.max) for k in rh.data_vars}
        nan = {k: v for k, v in worst.items() if np.isnan(v)}
        bad = {k: v for k, v in worst.items() if v > RHAT_MAX}
        if nan:
            msgs.append(
                f"R-hat is NaN (not computable: constant or non-finite draws, a stuck chain?) "
                f"for {len(nan)} variable(s): {_names(nan)}"
            )
        if bad:
            top = sorted(bad.items(), key=lambda kv: -kv[1])[:6]
            msgs.append(
                f"R-hat > {RHAT_MAX} for {len(bad)} variable(s): "
                + ", ".join(f"{k}={v:.3f}" for k, v in top)
            )
    if ess is None:
        msgs.append(f"bulk ESS not computed ({n_draw} draw(s) per chain)")
    else:
        low = {k: _worst(ess[k].values, np.min) for k in ess.data_vars}
        nan = {k: v for k, v in low.items() if np.isnan(v)}
        bad_ess = {k: v for k, v in low.items() if v < ESS_MIN}
        if nan:
            msgs.append(
                f"bulk ESS is NaN (not computable: constant or non-finite draws) for "
                f"{len(nan)} variable(s): {_names(nan)}"
            )
        if bad_ess:
            top = sorted(bad_ess.items(), key=lambda kv: kv[1])[:6]
            msgs.append(
                f"bulk ESS < {ESS_MIN} for {len(bad_ess)} variable(s): "
                + ", ".join(f"{k}={v:.0f}" for k, v in top)
            )
    return msgs


@contextmanager
def arviz_quiet() -> Iterator[None]:
    """Silence ArviZ's warnings and its logger (shape notes, banners) inside the block."""
    log = logging.getLogger("arviz")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


#: columns of :func:`summarize` from ``arviz.summary`` (``kind="all"``) besides the intervals
SUMMARY_STATS = ("mean", "sd", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")


def _pct(q: float) -> str:
    return f"{100 * q:g}%"


def summarize(
    fit: Any, var_names: list[str] | None = None, *, hdi_prob: float = 0.9
) -> pd.DataFrame:
    """``arviz.summary`` of the key variables (default: :func:`key_variables`).

    Columns: ``mean, sd, hdi_<lo>%, hdi_<hi>%`` (highest-density interval of
    ``hdi_prob``), ``<lo>%, <hi>%`` (equal-tailed interval, e.g. ``5%, 95%``), ``mcse_mean,
    mcse_sd, ess_bulk, ess_tail, r_hat``, indexed by ``param``. Unrounded. ``r_hat`` is
    NaN with one chain (R-hat compares chains; see :func:`check_sampling`).

    Raises
    ------
    OptionError
        ``hdi_prob`` is not a number in (0, 1).
    StructestError
        A name in ``var_names`` is not a variable of the posterior.
    """
    import arviz as az

    from ..errors import OptionError

    if isinstance(hdi_prob, bool) or not isinstance(hdi_prob, (int, float, np.floating)):
        raise OptionError(f"hdi_prob must be a number in (0, 1), got {hdi_prob!r}")
    if not 0.0 < float(hdi_prob) < 1.0:
        raise OptionError(f"hdi_prob must be in (0, 1), got {hdi_prob}")
    idata = idata_of(fit)
    if var_names is not None and (
        isinstance(var_names, str) or not all(isinstance(n, str) for n in var_names)
    ):
        raise StructestError(f"var_names must be a list of names, got {var_names!r}")
    names = list(var_names) if var_names else key_variables(idata)
    missing = [n for n in names if n not in idata.posterior]
    if missing:
        raise StructestError(
            f"summary: {missing} not in the posterior; known: {sorted(key_variables(idata))}"
        )
    post = idata.posterior[names]
    lo, hi = (1.0 - hdi_prob) / 2, (1.0 + hdi_prob) / 2
    eti = {
        _pct(lo): lambda x: np.quantile(x, lo),
        _pct(hi): lambda x: np.quantile(x, hi),
    }
    with arviz_quiet():  # its notes on few chains/draws: check_sampling reports those
        table = az.summary(
            post, kind="all", hdi_prob=hdi_prob, round_to="none", stat_funcs=eti, extend=True
        )
    hdi = [c for c in table.columns if c.startswith("hdi_")]
    table = table[["mean", "sd", *hdi, *eti, *SUMMARY_STATS[2:]]].astype(float)
    if post.sizes["chain"] < CHAINS_MIN:
        table["r_hat"] = np.nan  # split R-hat of one chain does not judge convergence
    table.index.name = "param"
    return table


def contraction(fit: Any, var_names: list[str] | None = None) -> pd.DataFrame:
    """Prior-vs-posterior contraction per scalar parameter / implied coefficient.

    Returns a DataFrame indexed by parameter with ``prior_sd`` (from the stored prior
    draws), ``posterior_sd`` and ``contraction = 1 - posterior_var / prior_var`` (near 1:
    the data dominate; near 0: the prior does).
    """
    idata = idata_of(fit)
    if "prior" not in idata.groups():
        raise StructestError(
            "contraction: this InferenceData has no 'prior' group (fit with n_prior > 0)"
        )
    names = var_names or [n for n in key_variables(idata) if n in idata.prior]
    rows = []
    for n in names:
        pv = np.var(idata.prior[n].values.reshape(-1), ddof=1)
        qv = np.var(idata.posterior[n].values.reshape(-1), ddof=1)
        rows.append(
            {
                "param": n,
                "prior_sd": np.sqrt(pv),
                "posterior_sd": np.sqrt(qv),
                "contraction": 1.0 - qv / pv,
            }
        )
    return pd.DataFrame(rows).set_index("param")


#: power-scaling sensitivity above which a quantity counts as sensitive (Kallioinen et al.
#: 2023 use 0.05 for the cumulative Jensen-Shannon distance per unit log-scaling)
SENSITIVE = 0.05
#: contraction 1 - var_post/var_prior below which the posterior is mostly its prior
WEAK_CONTRACTION = 0.5

#: a posterior median beyond this prior tail probability counts as outside the prior's bulk
CONFLICT_TAIL = 0.05

Verdict = str  # "identified by data" | "driven by priors" | "prior-data conflict"


def _verdict(prior_s: float, lik_s: float, contraction: float, prior_tail: float) -> Verdict:
    """The plain verdict of :func:`identification` (see there)."""
    sensitive = prior_s >= SENSITIVE and lik_s >= SENSITIVE
    if sensitive and min(prior_tail, 1.0 - prior_tail) < CONFLICT_TAIL:
        return "prior-data conflict"
    if not contraction >= WEAK_CONTRACTION:
        return "driven by priors"
    if np.isnan(prior_s) or np.isnan(lik_s):  # a fit without log_prior: conflicts unseen
        return "identified by data (sensitivity not computed)"
    return "identified by data"


def identification(fit: Any, var_names: list[str] | None = None) -> pd.DataFrame:
    """What the data identify: contraction, power-scaling sensitivity and a plain verdict.

    For each implied coefficient and scalar parameter: ``contraction`` (1 - posterior
    variance / prior variance, from the ``prior`` group), ``prior_sensitivity`` and
    ``likelihood_sensitivity`` (``arviz.psens``, Kallioinen et al. 2023: how far the
    posterior moves when the prior or the likelihood is raised to a power near 1),
    ``prior_tail`` (the prior probability below the posterior median) and ``verdict``:

    - ``prior-data conflict``: sensitive to both prior and likelihood (>= 0.05) with the
      posterior median in a 5% tail of the prior: the data pull the posterior to where the
      prior puts little mass, and the prior pulls back (the posterior may then be no
      narrower than the prior);
    - ``driven by priors``: otherwise, contraction below 0.5: the posterior largely
      repeats the prior;
    - ``identified by data``: otherwise (contracted, and where the prior still matters,
      its bulk agrees with the data).

    Raises
    ------
    StructestError
        The fit has no ``prior`` group (fitted with ``n_prior=0``).
    """

    import arviz as az

    idata = idata_of(fit)
    known = set(key_variables(idata))
    unknown = [n for n in (var_names or []) if n not in known or n not in idata.prior]
    if unknown:
        raise StructestError(
            f"identification: {unknown} are not scalar quantities with prior draws; "
            f"known: {sorted(known)}"
        )
    table = contraction(idata, var_names)
    names = list(table.index)
    sens: dict[str, pd.Series] = {}
    for comp in ("prior", "likelihood"):
        if comp == "prior" and "log_prior" not in idata.groups():
            sens[comp] = pd.Series(np.nan, index=names)
            continue
        with arviz_quiet():
            ds = az.psens(idata, component=comp, var_names=names)
        if not hasattr(ds, "data_vars"):  # one variable comes back as a DataArray
            ds = ds.to_dataset(name=names[0])
        sens[comp] = pd.Series({n: float(ds[n].values) for n in names})
    table["prior_sensitivity"] = sens["prior"]
    table["likelihood_sensitivity"] = sens["likelihood"]
    table["prior_tail"] = [
        float(np.mean(idata.prior[n].values < np.median(idata.posterior[n].values))) for n in names
    ]
    table["verdict"] = [
        _verdict(*row)
        for row in table[
            ["prior_sensitivity", "likelihood_sensitivity", "contraction", "prior_tail"]
        ].itertuples(index=False)
    ]
    return table
