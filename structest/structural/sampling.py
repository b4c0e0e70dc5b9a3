"""Fit a structural model: NUTS through NumPyro (or PyMC) -> :class:`StructuralFit`.

Both backends run the same program (:mod:`structest.structural.program`); their draws go
through one InferenceData assembly (:mod:`structest.structural.io`). All JAX work here
runs in 64-bit floats, scoped (``jax.enable_x64``), never switched on globally.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import SpecError
from ..panel import Panel
from .backends import NutsRun
from .design import Design, build_design
from .diagnostics import SamplingWarning, check_sampling
from .io import assemble_idata
from .posterior import log_prior_draws, loglik_draws
from .program import Layout, Sites, coef_names, site_table
from .results import StructuralFit
from .spec import DEFAULT_MODEL, ModelSpec, load_model

Backend = Literal["numpyro", "pymc"]
ChainMethod = Literal["auto", "parallel", "sequential", "vectorized"]


def _show_progress(progress_bar: bool | None) -> bool:
    if progress_bar is None:
        return not os.environ.get("CI")
    return bool(progress_bar)


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"fit: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def fit(
    panel: Panel | None = None,
    model: str | Path | ModelSpec = DEFAULT_MODEL,
    *,
    priors: Mapping[str, Any] | None = None,
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    progress_bar: bool | None = None,
    chain_method: ChainMethod = "auto",
    backend: Backend = "numpyro",
    target_accept: float = 0.95,
    n_prior: int = 1000,
) -> StructuralFit:
    """Fit the structural model to a panel.

    Parameters
    ----------
    panel
        The data; None loads the bundled panel (:func:`structest.load_panel`).
    model
        A bundled model name (see :func:`~structest.structural.spec.available_models`), a
        path to a TOML file or a :class:`ModelSpec`.
    priors
        Overrides, e.g. ``{"eps": ("lognormal", 2.3, 0.5)}``.
    chains, draws, tune, seed
        NUTS settings (``tune`` warm-up iterations per chain).
    progress_bar
        None: on unless the ``CI`` environment variable is set.
    chain_method
        ``"auto"``: chains in parallel over the XLA CPU devices (one per core, see
        :func:`structest.set_host_devices`, which this calls when JAX has not started yet),
        in batches when there are more chains than devices; sequential with one device.
        Or NumPyro's ``"parallel"``, ``"sequential"``, ``"vectorized"``.
    backend
        ``"numpyro"`` or ``"pymc"`` (PyMC NUTS on the same program and JAX likelihood).
    target_accept
        NUTS target acceptance probability, in (0, 1).
    n_prior
        Prior draws stored in the ``prior`` group (for contraction); 0 for none.

    Returns
    -------
    StructuralFit
        ``.idata`` holds the InferenceData; sampling problems raise a
        :class:`SamplingWarning`.
    """
    chains = _positive_int("chains", chains, 1)
    draws = _positive_int("draws", draws, 1)
    tune = _positive_int("tune", tune, 0)
    n_prior = _positive_int("n_prior", n_prior, 0)
    seed = _positive_int("seed", seed, 0)
    if backend not in ("numpyro", "pymc"):
        raise SpecError(f"fit: backend must be 'numpyro' or 'pymc', got {backend!r}")
    if chain_method not in ("auto", "parallel", "sequential", "vectorized"):
        raise SpecError(f"fit: unknown chain_method {chain_method!r}")
    try:
        ta = float(target_accept)
    except (TypeError, ValueError):
        ta = float("nan")
    if not 0.0 < ta < 1.0:
        raise SpecError(f"fit: target_accept must lie in (0, 1), got {target_accept!r}")
    spec = (model if isinstance(model, ModelSpec) else load_model(model)).with_priors(priors)
    if panel is None:
        from ..data.load import load_panel

        panel = load_panel()
    if not isinstance(panel, Panel):
        raise SpecError(
            f"fit: panel must be a structest Panel (Panel.from_frame(df) validates a "
            f"DataFrame), got {type(panel).__name__}"
        )
    if backend == "numpyro" and chain_method == "auto" and chains > 1:
        # before any JAX work (the program's dry run below starts JAX): one device per chain
        from .._devices import default_host_devices, set_host_devices

        set_host_devices(min(chains, default_host_devices()), strict=False)
    design = build_design(panel, spec)
    layout = Layout.of(design)
    sites = site_table(spec, layout, design.arrays)
    show = _show_progress(progress_bar)
    if backend == "numpyro":
        from .backends.numpyro import sample
    else:
        from .backends.pymc import sample
    run = NutsRun(design, spec, layout, sites, chains, draws, tune, seed, show, ta, chain_method)
    samples, stats, info = sample(run)
    prior_sites = (*spec.scalar_params, *spec.vector_params, *coef_names(spec))
    prior = prior_draws(design, spec, n_prior, seed + 1, prior_sites)
    prior = {k: v[None, ...] for k, v in prior.items()}
    post_ds = _posterior_dataset(samples, sites, design)
    ll = loglik_draws(post_ds, spec, design.arrays)
    lp = log_prior_draws(post_ds, spec)
    idata = assemble_idata(
        samples, stats, prior, ll, lp, spec, sites, design, panel,
        {**info, "backend": backend, "seed": seed},
    )  # fmt: skip
    result = StructuralFit(idata=idata, spec=spec, panel=panel, design=design)
    for msg in check_sampling(idata):
        warnings.warn(msg, SamplingWarning, stacklevel=2)
    return result


def _posterior_dataset(samples: Mapping[str, np.ndarray], sites: Sites, design: Design) -> Any:
    """The stored draws as a Dataset with named dims (input of the posterior maths)."""
    import xarray as xr

    coords = design.coords
    return xr.Dataset(
        {k: (["chain", "draw", *sites.dims[k]], np.asarray(v)) for k, v in samples.items()},
        coords=coords,
    )


def prior_draws(
    design: Design, spec: ModelSpec, n: int, seed: int, sites: tuple[str, ...] | list[str]
) -> dict[str, np.ndarray]:
    """``n`` draws of the named sites from the prior (the program without its likelihood).

    Returns ``site -> float[n, ...]``; sites the model lacks are left out.
    """
    import jax
    import jax.numpy as jnp
    from numpyro.infer import Predictive

    from .backends.numpyro import model

    if n < 1:
        return {}
    with jax.enable_x64(True):
        arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
        pred = Predictive(model, num_samples=n, return_sites=list(sites))
        out = pred(jax.random.PRNGKey(seed), arrays, spec, Layout.of(design), False)
        return {k: np.asarray(out[k]) for k in sites if k in out}
