"""Fit a structural model with NumPyro NUTS (or the PyMC front end) -> InferenceData.

The result is an :class:`arviz.InferenceData` with groups ``posterior`` (structural
parameters, ``sigma``, effects ``fe_<e>`` with dims named after the effect column,
implied coefficients ``intercept, g_IP, g_FVA, g_DVA, g_IP_rta, g_FVA_rta`` and
``ratio_g_fva_g_ip``), ``prior`` (prior draws of the scalar parameters and coefficients),
``sample_stats``, ``log_likelihood`` (``tariff``, dim ``obs``), ``observed_data``
(``tariff``) and ``constant_data`` (``mfn``, ``rta``, ``x_ip``, ``x_fva``, ``x_dva``,
``lower``, ``kind``). Every ``obs`` group carries the non-dimension coordinates
``importer, exporter, industry, year``. ``posterior.attrs`` holds ``model_spec`` (JSON),
``model_toml``, ``panel_source``, ``panel_n_obs``, ``panel_dropped`` (JSON) and
``panel_meta`` (JSON).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from ..errors import SpecError, StructestError
from ..panel import Panel
from .design import Design, build_design
from .spec import ModelSpec, load_model, spec_from_json

#: sampler thresholds reported loudly
RHAT_MAX = 1.01
ESS_MIN = 400


class SamplingWarning(UserWarning):
    """NUTS trouble: divergences, R-hat above 1.01 or bulk ESS below 400."""


def _resolve_spec(model: str | Path | ModelSpec, priors: Mapping[str, Any] | None) -> ModelSpec:
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    return spec.with_priors(priors)


def _show_progress(progress_bar: bool | None) -> bool:
    if progress_bar is None:
        return not os.environ.get("CI")
    return bool(progress_bar)


def fit(
    panel: Panel | None = None,
    model: str | Path | ModelSpec = "bbj",
    *,
    priors: Mapping[str, Any] | None = None,
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    progress_bar: bool | None = None,
    chain_method: str = "auto",
    backend: str = "numpyro",
    target_accept: float = 0.95,
    n_prior: int = 1000,
) -> Any:
    """Fit the structural model to a panel.

    Parameters
    ----------
    panel
        The data; None loads the bundled panel (:func:`structest.load_panel`).
    model
        A bundled model name (``bbj``, ``bbj_level``, ``bbj_t``, ``pooled``, ``bbj_hier``,
        ``bbj_eq19``), a path to a TOML file or a :class:`ModelSpec`.
    priors
        Overrides, e.g. ``{"eps": ("lognormal", 2.3, 0.5)}``.
    chains, draws, tune, seed
        NUTS settings (``tune`` warm-up iterations per chain).
    progress_bar
        None: on unless the ``CI`` environment variable is set.
    chain_method
        ``"auto"`` (parallel over the XLA devices when there are two or more, in batches
        if there are more chains than devices; else sequential), or NumPyro's
        ``"parallel"``, ``"sequential"``, ``"vectorized"``. ``import structest`` exposes one
        XLA CPU device per core when JAX is not yet imported (see
        :mod:`structest._hostdevices`): parallel chains about halve the wall time on
        2 cores (see ``benchmarks/README.md``).
    backend
        ``"numpyro"`` or ``"pymc"`` (PyMC NUTS on the same JAX likelihood).
    target_accept
        NUTS target acceptance probability. 0.95 by default: with model ``bbj`` on the
        bundled panel (4 x 1000 draws), no divergences for seeds 0-4 (see
        ``benchmarks/README.md``).
    n_prior
        Number of prior draws stored in the ``prior`` group (for contraction).

    Returns
    -------
    arviz.InferenceData
        See the module docstring; sampling problems raise a :class:`SamplingWarning`.
    """
    if chains < 1 or draws < 1 or tune < 0:
        raise SpecError(
            f"fit: need chains >= 1, draws >= 1, tune >= 0 (got {chains}, {draws}, {tune})"
        )
    if backend not in ("numpyro", "pymc"):
        raise SpecError(f"fit: backend must be 'numpyro' or 'pymc', got {backend!r}")
    if chain_method not in ("auto", "parallel", "sequential", "vectorized"):
        raise SpecError(f"fit: unknown chain_method {chain_method!r}")
    spec = _resolve_spec(model, priors)
    if panel is None:
        from ..datasets import load_panel

        panel = load_panel()
    design = build_design(panel, spec)
    show = _show_progress(progress_bar)
    if backend == "numpyro":
        samples, stats, info = _run_numpyro(
            design, spec, chains, draws, tune, seed, show, chain_method, target_accept
        )
    else:
        from .pymc_model import sample_pymc

        samples, stats, info = sample_pymc(
            design, spec, chains, draws, tune, seed, show, target_accept
        )
    prior = sample_prior(design, spec, n_prior, seed + 1)
    idata = assemble_idata(
        samples, stats, prior, spec, design, panel, {**info, "backend": backend, "seed": seed}
    )
    for msg in check_sampling(idata):
        warnings.warn(msg, SamplingWarning, stacklevel=2)
    return idata


def _nuts(spec: ModelSpec, target_accept: float) -> Any:
    from numpyro.infer import NUTS, init_to_median

    from .numpyro_model import model, sampled_scalars

    return NUTS(
        model,
        target_accept_prob=target_accept,
        dense_mass=[sampled_scalars(spec)],
        init_strategy=init_to_median(num_samples=15),
    )


def _run_numpyro(
    design: Design,
    spec: ModelSpec,
    chains: int,
    draws: int,
    tune: int,
    seed: int,
    show: bool,
    chain_method: str,
    target_accept: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC

    from .numpyro_model import AUXILIARY_PREFIXES

    arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
    sizes = {e: len(v) for e, v in design.levels.items()}
    gsizes = {p: len(v) for p, v in design.groups.items()}
    n_dev = jax.local_device_count()
    if chain_method == "auto":
        # chains in parallel over the devices (structest exposes one XLA CPU device per core,
        # see structest._hostdevices): about half the sequential wall time on 2 cores;
        # batches of n_dev chains when there are more chains than devices
        method = "parallel" if n_dev >= 2 else "sequential"
    else:
        method = chain_method
    batch = min(chains, n_dev) if method == "parallel" else chains
    extra = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")
    keys = jax.random.split(jax.random.PRNGKey(seed), -(-chains // batch))
    samples: dict[str, list[np.ndarray]] = {}
    stats: dict[str, list[np.ndarray]] = {}
    done = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="There are not enough devices")
        for key in keys:
            nc = min(batch, chains - done)
            mcmc = MCMC(
                _nuts(spec, target_accept),
                num_warmup=tune,
                num_samples=draws,
                num_chains=nc,
                chain_method=method if nc > 1 else "sequential",
                progress_bar=show,
            )
            mcmc.run(key, arrays, spec, sizes, gsizes, True, extra_fields=extra)
            for k, v in mcmc.get_samples(group_by_chain=True).items():
                if not k.startswith(AUXILIARY_PREFIXES):
                    samples.setdefault(k, []).append(np.asarray(v))
            for k, v in mcmc.get_extra_fields(group_by_chain=True).items():
                stats.setdefault(k, []).append(np.asarray(v))
            done += nc
    s = {k: np.concatenate(v, axis=0) for k, v in samples.items()}
    st = {k: np.concatenate(v, axis=0) for k, v in stats.items()}
    sample_stats = {
        "diverging": st["diverging"].astype(bool),
        "n_steps": st["num_steps"].astype(np.int64),
        "tree_depth": np.floor(np.log2(st["num_steps"].astype(float) + 1.0)).astype(np.int64),
        "acceptance_rate": st["accept_prob"],
        "energy": st["energy"],
        "lp": -st["potential_energy"],
    }
    return s, sample_stats, {"chain_method": method, "devices": n_dev}


def sample_prior(design: Design, spec: ModelSpec, n: int, seed: int) -> dict[str, np.ndarray]:
    """Prior draws of the scalar parameters and implied coefficients, shape (1, n)."""
    import jax
    from numpyro.infer import Predictive

    from .numpyro_model import coef_names, model

    if n < 1:
        return {}
    sizes = {e: len(v) for e, v in design.levels.items()}
    gsizes = {p: len(v) for p, v in design.groups.items()}
    keep = (*spec.scalar_params, *coef_names(spec))
    pred = Predictive(model, num_samples=n, return_sites=list(keep))
    out = pred(jax.random.PRNGKey(seed), design.arrays, spec, sizes, gsizes, False)
    return {k: np.asarray(out[k])[None, ...] for k in keep if k in out}


def pointwise_loglik_draws(
    params: Mapping[str, np.ndarray], arrays: Mapping[str, np.ndarray]
) -> np.ndarray:
    """:func:`loglik_pointwise` for every stacked draw -> float[n_draws, n_obs]."""
    import jax
    import jax.numpy as jnp

    from .likelihood import loglik_pointwise

    arr = {k: jnp.asarray(v) for k, v in arrays.items()}
    f = jax.jit(jax.vmap(lambda p: loglik_pointwise(p, arr)))
    n = next(iter(params.values())).shape[0]
    chunk = 500
    parts = [
        np.asarray(f({k: jnp.asarray(v[i : i + chunk]) for k, v in params.items()}))
        for i in range(0, n, chunk)
    ]
    return np.concatenate(parts, axis=0)


def _dims(spec: ModelSpec, design: Design, names: list[str]) -> dict[str, list[str]]:
    dims: dict[str, list[str]] = {}
    for e in spec.effects:
        dims[f"fe_{e}"] = [e]
    for p, col in spec.hierarchy.items():
        dims[f"{p}_group"] = [col]
    for name in names:
        for col in set(spec.hierarchy.values()):
            if name.endswith(f"_by_{col}"):
                dims[name] = [col]
    return dims


def assemble_idata(
    samples: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    prior: Mapping[str, np.ndarray],
    spec: ModelSpec,
    design: Design,
    panel: Panel,
    info: Mapping[str, Any],
) -> Any:
    """Build the InferenceData (shared by both front ends); see the module docstring."""
    import arviz as az
    import xarray as xr

    from .draws import posterior_params

    names = sorted(samples)
    coords: dict[str, Any] = {"obs": np.arange(design.n)}
    coords.update({e: np.asarray(v) for e, v in design.levels.items()})
    for p, col in design.group_cols.items():
        coords[col] = np.asarray(design.groups[p])
    dims = _dims(spec, design, names)
    posterior = {k: np.asarray(samples[k]) for k in names}
    post_ds = xr.Dataset(
        {k: (["chain", "draw", *dims.get(k, [])], v) for k, v in posterior.items()},
        coords={
            "chain": np.arange(next(iter(posterior.values())).shape[0]),
            "draw": np.arange(next(iter(posterior.values())).shape[1]),
            **{d: coords[d] for k in posterior for d in dims.get(k, [])},
        },
    )
    params = posterior_params(post_ds, spec)
    ll = pointwise_loglik_draws(params, design.arrays)
    n_chain, n_draw = post_ds.sizes["chain"], post_ds.sizes["draw"]
    ll = ll.reshape(n_chain, n_draw, design.n)
    arr = design.arrays
    const = {k: arr[k] for k in ("mfn", "rta", "x_ip", "x_fva", "x_dva", "lower", "kind")}
    idata = az.from_dict(
        posterior=posterior,
        sample_stats=dict(sample_stats),
        log_likelihood={"tariff": ll},
        observed_data={"tariff": arr["tariff"]},
        constant_data=const,
        prior=dict(prior) if prior else None,
        coords=coords,
        dims={**dims, "tariff": ["obs"], **{k: ["obs"] for k in const}},
    )
    obs_coords = {k: ("obs", np.asarray(v)) for k, v in panel.obs_coords().items()}
    obs_coords = {
        k: ("obs", v[1].astype(str) if k != "year" else v[1].astype(np.int64))
        for k, v in obs_coords.items()
    }
    for g in ("log_likelihood", "observed_data", "constant_data"):
        setattr(idata, g, getattr(idata, g).assign_coords(obs_coords))
    meta = {k: v for k, v in panel.meta.items()}
    idata.posterior.attrs.update(
        {
            "model_spec": spec.to_json(),
            "model_toml": spec.to_toml(),
            "model_name": spec.name,
            "panel_source": str(panel.meta.get("source", "unknown")),
            "panel_n_obs": int(design.n),
            "panel_dropped": json.dumps([list(d) for d in panel.dropped]),
            "panel_meta": json.dumps(meta, default=str),
            **{
                f"sampler_{k}": (v if isinstance(v, (int, float, str)) else str(v))
                for k, v in info.items()
            },
        }
    )
    return idata


def key_variables(idata: Any) -> list[str]:
    """Scalar parameters and implied coefficients present in the posterior (report order)."""
    spec = fit_spec(idata)
    from .numpyro_model import coef_names

    names = [*coef_names(spec), *spec.scalar_params]
    return [n for n in names if n in idata.posterior]


def check_sampling(idata: Any) -> list[str]:
    """Messages for divergences, R-hat > 1.01 and bulk ESS < 400 (empty when clean)."""
    import arviz as az

    msgs: list[str] = []
    div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    if div:
        msgs.append(f"{div} divergent transition(s) after warm-up; the posterior may be biased")
    post = idata.posterior
    n_chain = post.sizes["chain"]
    rh = az.rhat(post) if n_chain > 1 else None
    ess = az.ess(post, method="bulk")
    if rh is not None:
        worst = {k: float(np.nanmax(rh[k].values)) for k in rh.data_vars}
        bad = {k: v for k, v in worst.items() if v > RHAT_MAX}
        if bad:
            top = sorted(bad.items(), key=lambda kv: -kv[1])[:6]
            msgs.append(
                f"R-hat > {RHAT_MAX} for {len(bad)} variable(s): "
                + ", ".join(f"{k}={v:.3f}" for k, v in top)
            )
    low = {k: float(np.nanmin(ess[k].values)) for k in ess.data_vars}
    bad_ess = {k: v for k, v in low.items() if v < ESS_MIN}
    if bad_ess:
        top = sorted(bad_ess.items(), key=lambda kv: kv[1])[:6]
        msgs.append(
            f"bulk ESS < {ESS_MIN} for {len(bad_ess)} variable(s): "
            + ", ".join(f"{k}={v:.0f}" for k, v in top)
        )
    return msgs


def summarize(idata: Any, var_names: list[str] | None = None) -> pd.DataFrame:
    """mean, sd, 5%, 95%, r_hat, ess_bulk of the key variables (default: :func:`key_variables`)."""
    import arviz as az

    names = var_names or key_variables(idata)
    post = idata.posterior[names]
    rows = []
    rh = az.rhat(post) if post.sizes["chain"] > 1 else None
    ess = az.ess(post, method="bulk")
    for n in names:
        v = post[n].values.reshape(-1)
        rows.append(
            {
                "param": n,
                "mean": v.mean(),
                "sd": v.std(ddof=1),
                "5%": np.quantile(v, 0.05),
                "95%": np.quantile(v, 0.95),
                "r_hat": float(rh[n]) if rh is not None else np.nan,
                "ess_bulk": float(ess[n]),
            }
        )
    return pd.DataFrame(rows).set_index("param")


def contraction(idata: Any, var_names: list[str] | None = None) -> pd.DataFrame:
    """Prior-vs-posterior contraction per scalar parameter / implied coefficient.

    Returns a DataFrame indexed by parameter with ``prior_sd`` (from the stored prior
    draws), ``posterior_sd`` and ``contraction = 1 - posterior_var / prior_var`` (near 1:
    the data dominate; near 0: the prior does).
    """
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


def fit_spec(idata: Any) -> ModelSpec:
    """The :class:`ModelSpec` stored in ``idata.posterior.attrs['model_spec']``."""
    try:
        text = idata.posterior.attrs["model_spec"]
    except KeyError as exc:
        raise StructestError(
            "this InferenceData was not produced by structest.fit (no 'model_spec' attr)"
        ) from exc
    return spec_from_json(text)


def save_fit(idata: Any, path: str | Path) -> Path:
    """Write NetCDF atomically (temporary file in the same directory, then ``os.replace``)."""
    return atomic_write(path, idata.to_netcdf)


def load_fit(path: str | Path) -> Any:
    """Reload a fit written by :func:`save_fit` (or ``structest fit --out``), fully in memory."""
    import arviz as az

    path = Path(path)
    if not path.exists():
        raise StructestError(f"load_fit: file not found: {path}")
    idata = az.from_netcdf(path)
    for g in idata.groups():
        getattr(idata, g).load()
    fit_spec(idata)  # validates
    return idata
