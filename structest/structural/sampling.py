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

from ..errors import OptionError
from ..panel import Panel
from .backends import NutsRun
from .design import Design, InformationWarning, build_design, check_information
from .diagnostics import SamplingWarning, check_sampling
from .io import assemble_idata
from .posterior import log_prior_draws, loglik_draws
from .program import Layout, Sites, coef_names, site_table
from .results import StructuralFit
from .sharding import check_shard_option, for_sampling
from .spec import DEFAULT_MODEL, ModelSpec, load_model, validate_spec

Backend = Literal["numpyro", "pymc"]
ChainMethod = Literal["auto", "parallel", "sequential", "vectorized"]


def _show_progress(progress_bar: bool | None) -> bool:
    if progress_bar is None:
        return not os.environ.get("CI")
    return bool(progress_bar)


#: largest accepted values of the NUTS settings (beyond them: a typo, or out of memory)
MAX_CHAINS = 128
MAX_DRAWS = 1_000_000
#: seeds are 32-bit (PRNGKey, NumPy); the prior draws use ``(seed + 1) mod 2**32``
MAX_SEED = 2**32 - 1


def _int_option(name: str, value: Any, minimum: int, maximum: int) -> int:
    """An integer option in ``[minimum, maximum]`` or a one-line :class:`OptionError`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise OptionError(
            f"fit: {name} must be an integer in [{minimum}, {maximum}], got "
            f"{type(value).__name__} {value!r}"
        )
    if not minimum <= value <= maximum:
        raise OptionError(
            f"fit: {name} must be an integer in [{minimum}, {maximum}], got {value!r}"
        )
    return int(value)


def _check_options(
    chains: Any,
    draws: Any,
    tune: Any,
    seed: Any,
    n_prior: Any,
    backend: Any,
    chain_method: Any,
    target_accept: Any,
    progress_bar: Any,
    priors: Any,
) -> tuple[int, int, int, int, int, float, str, str]:
    """Validate :func:`fit`'s options before any work; one-line OptionError otherwise."""
    chains = _int_option("chains", chains, 1, MAX_CHAINS)
    draws = _int_option("draws", draws, 1, MAX_DRAWS)
    tune = _int_option("tune", tune, 0, MAX_DRAWS)
    n_prior = _int_option("n_prior", n_prior, 0, MAX_DRAWS)
    seed = _int_option("seed", seed, 0, MAX_SEED)
    backend = getattr(backend, "value", backend)  # the CLI's Enum
    chain_method = getattr(chain_method, "value", chain_method)
    if not isinstance(backend, str) or backend not in ("numpyro", "pymc"):
        raise OptionError(f"fit: backend must be 'numpyro' or 'pymc', got {backend!r}")
    methods = ("auto", "parallel", "sequential", "vectorized")
    if not isinstance(chain_method, str) or chain_method not in methods:
        raise OptionError(f"fit: chain_method must be one of {list(methods)}, got {chain_method!r}")
    if isinstance(target_accept, (bool, np.bool_)) or not isinstance(
        target_accept, (int, float, np.integer, np.floating)
    ):
        raise OptionError(
            f"fit: target_accept must be a number in (0, 1), got "
            f"{type(target_accept).__name__} {target_accept!r}"
        )
    ta = float(target_accept)
    if not 0.0 < ta < 1.0:  # also NaN
        raise OptionError(f"fit: target_accept must lie in (0, 1), got {target_accept!r}")
    if progress_bar is not None and not isinstance(progress_bar, (bool, np.bool_)):
        raise OptionError(f"fit: progress_bar must be True, False or None, got {progress_bar!r}")
    if priors is not None and not isinstance(priors, Mapping):
        raise OptionError(
            "fit: priors must be a mapping name -> (family, *args), e.g. "
            f"{{'eps': ('lognormal', 1.6, 0.5)}}, got {type(priors).__name__} {priors!r}"
        )
    return chains, draws, tune, seed, n_prior, ta, str(backend), str(chain_method)


def _log_likelihood_option(value: Any) -> bool | str:
    """``fit(log_likelihood=...)``: True, False or ``"float32"``, else an OptionError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value == "float32":
        return value
    raise OptionError(
        f"fit: log_likelihood must be True, False or 'float32', got {type(value).__name__} "
        f"{value!r}"
    )


def _as_panel(panel: Any) -> Panel:
    """The bundled panel (None), a Panel, or a DataFrame validated by ``Panel.from_frame``."""
    import pandas as pd

    if panel is None:
        from ..data.load import load_panel

        return load_panel()
    if isinstance(panel, Panel):
        return panel
    if isinstance(panel, pd.DataFrame):
        return Panel.from_frame(panel, meta={"source": "DataFrame passed to fit"})
    raise OptionError(
        "fit: panel must be a structest Panel, a pandas DataFrame (validated with "
        f"Panel.from_frame) or None (the bundled panel), got {type(panel).__name__}"
    )


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
    shard_observations: bool | int = False,
    log_likelihood: bool | Literal["float32"] = True,
) -> StructuralFit:
    """Fit the structural model to a panel.

    Parameters
    ----------
    panel
        The data; None loads the bundled panel (:func:`structest.load_panel`); a pandas
        DataFrame is validated and wrapped with :meth:`Panel.from_frame` (default options;
        call it yourself for others, e.g. ``strict_codes=False``).
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
    shard_observations
        False (default): every chain sees all observations on one device. True, or a
        device count ``k``: the observations are split across the JAX devices (every
        device, or the first ``k``; :mod:`structest.structural.sharding`), each chain's
        log density runs as one program over all of them, and the chains run one after
        the other (``chain_method="vectorized"``: all at once). For several GPUs; on CPU
        the devices are XLA host devices (:func:`structest.set_host_devices`), and
        parallel chains are faster there. NumPyro backend only.
    log_likelihood
        What the fit keeps of the pointwise log-likelihood (chains x draws x observations,
        8 bytes each): True (float64), ``"float32"`` (half), or False (none; ``loo()`` and
        ``ppc()`` compute it on demand from the posterior and the panel, as
        :meth:`StructuralFit.load` does for a file saved without it).

    Returns
    -------
    StructuralFit
        ``.idata`` holds the InferenceData; sampling problems raise a
        :class:`SamplingWarning`; terms of the model without uncensored observations an
        :class:`~structest.structural.design.InformationWarning`.

    Raises
    ------
    OptionError
        A setting of the wrong type or out of range (checked before any work).
    SpecError, InputFileError
        A bad model (name, file or prior override).
    PanelError
        A DataFrame that fails validation.
    EstimationError
        No uncensored observation in the panel: nothing to learn from.

    Notes
    -----
    Chain ``c`` starts from a key derived from ``seed`` and ``c`` only, and every chain
    runs the same compiled program, so a seed gives the same draws whatever the number
    of XLA devices (:func:`structest.set_host_devices`, ``STRUCTEST_HOST_DEVICES``) and
    whichever of ``"auto"``, ``"parallel"`` and ``"sequential"`` runs them.
    """
    chains, draws, tune, seed, n_prior, ta, backend, chain_method = _check_options(
        chains, draws, tune, seed, n_prior, backend, chain_method, target_accept,
        progress_bar, priors,
    )  # fmt: skip
    keep_ll = _log_likelihood_option(log_likelihood)
    shard = check_shard_option(shard_observations)
    if shard is not False and backend != "numpyro":
        raise OptionError("fit: shard_observations needs backend='numpyro'")
    base = validate_spec(model) if isinstance(model, ModelSpec) else load_model(model)
    spec = base.with_priors(priors)
    panel = _as_panel(panel)
    from .._devices import default_host_devices, set_host_devices

    # before any JAX work (the program's dry run below starts JAX)
    if shard is not False:  # devices to split the observations over (CPU: host devices)
        set_host_devices(default_host_devices() if shard is True else shard, strict=False)
    elif backend == "numpyro" and chain_method == "auto" and chains > 1:
        set_host_devices(min(chains, default_host_devices()), strict=False)  # one per chain
    design = build_design(panel, spec)
    for msg in check_information(design, spec):  # raises when nothing is uncensored
        warnings.warn(msg, InformationWarning, stacklevel=2)
    layout = Layout.of(design)
    sites = site_table(spec, layout, design.arrays)
    on = for_sampling(design, shard)  # the design itself, or its observations sharded
    show = _show_progress(progress_bar)
    if backend == "numpyro":
        from .backends.numpyro import sample
    else:
        from .backends.pymc import sample
    run = NutsRun(on, spec, Layout.of(on), sites, chains, draws, tune, seed, show, ta, chain_method)
    samples, stats, info = sample(run)
    prior_sites = (*spec.scalar_params, *spec.vector_params, *coef_names(spec))
    prior = prior_draws(design, spec, n_prior, (seed + 1) % 2**32, prior_sites)
    prior = {k: v[None, ...] for k, v in prior.items()}
    post_ds = _posterior_dataset(samples, sites, design)
    ll = loglik_draws(post_ds, spec, design.arrays) if keep_ll else None
    if keep_ll == "float32":
        ll = np.asarray(ll, dtype=np.float32)
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
