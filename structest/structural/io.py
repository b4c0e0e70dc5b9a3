"""InferenceData of a structural fit: assembly, the stored spec and panel, NetCDF files.

Groups: ``posterior`` (the program's stored sites, dims named after the effect columns and
grouping columns), ``prior`` (scalar parameters and implied coefficients), ``sample_stats``,
``log_likelihood`` (``tariff``, dim ``obs``), ``log_prior`` (log prior density of each
scalar parameter per draw, for power-scaling sensitivity), ``observed_data`` (``tariff``),
``constant_data`` (``mfn``, ``threshold``, ``rta``, ``x_ip``, ``x_fva``, ``x_dva``, ``lower``, ``kind``) and
``panel`` (every column of the panel the model was fitted to, so that a saved fit carries
its data). ``obs`` groups carry the coordinates ``importer, exporter, industry,
year``. ``posterior.attrs`` holds ``model_spec`` (JSON), ``model_toml``, ``model_name``,
``panel_fingerprint``, ``panel_source``, ``panel_n_obs``, ``panel_dropped``, ``panel_meta``
(JSON) and ``sampler_*``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write
from ..errors import StructestError
from ..panel import Panel
from .design import Design
from .program import Sites
from .spec import ModelSpec, spec_from_json

#: the InferenceData group holding the fitted panel's input columns
PANEL_GROUP = "panel"


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence ArviZ's note that the ``panel`` group is not in its standard schema."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not defined in the InferenceData scheme.*")
        yield


def assemble_idata(
    samples: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    prior: Mapping[str, np.ndarray],
    log_likelihood: np.ndarray,
    log_prior: Mapping[str, np.ndarray] | None,
    spec: ModelSpec,
    sites: Sites,
    design: Design,
    panel: Panel,
    info: Mapping[str, Any],
) -> Any:
    """Build the InferenceData of a fit (either backend); see the module docstring."""
    import arviz as az
    import xarray as xr

    names = [k for k in sites.stored() if k in samples]
    coords: dict[str, Any] = {"obs": np.arange(design.n), **design.coords}
    dims = {k: list(sites.dims[k]) for k in names if sites.dims[k]}
    arr = design.arrays
    keys = ("mfn", "threshold", "rta", "x_ip", "x_fva", "x_dva", "lower", "kind")
    const = {k: arr[k] for k in keys}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        idata = az.from_dict(
            posterior={k: np.asarray(samples[k]) for k in names},
            sample_stats=dict(sample_stats),
            log_likelihood={"tariff": log_likelihood},
            observed_data={"tariff": arr["tariff"]},
            constant_data=const,
            prior=dict(prior) if prior else None,
            coords=coords,
            dims={**dims, "tariff": ["obs"], **{k: ["obs"] for k in const}},
        )
    obs_coords = {
        k: ("obs", v.astype(np.int64) if k == "year" else v.astype(str))
        for k, v in panel.obs_coords().items()
    }
    for g in ("log_likelihood", "observed_data", "constant_data"):
        setattr(idata, g, getattr(idata, g).assign_coords(obs_coords))
    groups = {PANEL_GROUP: panel_dataset(panel)}
    if log_prior:
        post = idata.posterior
        groups["log_prior"] = xr.Dataset(
            {k: ([*post[k].dims], np.asarray(v)) for k, v in log_prior.items()},
            coords={d: post[d] for k in log_prior for d in post[k].dims},
        )
    with _quiet():
        idata.add_groups(groups)
    idata.posterior.attrs.update(
        {
            "model_spec": spec.to_json(),
            "model_toml": spec.to_toml(),
            "model_name": spec.name,
            "panel_fingerprint": panel.fingerprint(),
            "panel_source": str(panel.meta.get("source", "unknown")),
            "panel_n_obs": int(design.n),
            "panel_dropped": json.dumps([list(d) for d in panel.dropped]),
            "panel_meta": json.dumps(dict(panel.meta), default=str),
            **{
                f"sampler_{k}": (v if isinstance(v, (int, float, str)) else str(v))
                for k, v in info.items()
            },
        }
    )
    return idata


def panel_dataset(panel: Panel) -> Any:
    """Every column of the panel as an ``obs``-indexed :class:`xarray.Dataset`."""
    import xarray as xr

    data = {}
    for i, c in enumerate(panel.df.columns):
        v = panel.df[c].to_numpy()
        if v.dtype == object or pd.api.types.is_string_dtype(panel.df[c]):
            v = panel.df[c].astype(str).to_numpy(dtype=object)
        # stored under safe names (NetCDF refuses some characters); the column name is an attr
        data[f"column_{i:04d}"] = xr.Variable("obs", v, attrs={"column": str(c)})
    return xr.Dataset(data, coords={"obs": np.arange(len(panel))})


def stored_panel(idata: Any) -> Panel:
    """The panel a fit was made on, rebuilt from its ``panel`` group (checked by fingerprint).

    Raises
    ------
    StructestError
        The fit has no ``panel`` group, or the rebuilt panel does not match the fingerprint.
    """
    if PANEL_GROUP not in idata.groups():
        raise StructestError(
            "this fit does not carry its panel (no 'panel' group); pass the panel it was "
            "fitted to explicitly"
        )
    ds = getattr(idata, PANEL_GROUP)
    frame = pd.DataFrame({ds[v].attrs.get("column", v): ds[v].values for v in sorted(ds.data_vars)})
    attrs = idata.posterior.attrs
    dropped = tuple((str(w), int(n)) for w, n in json.loads(attrs.get("panel_dropped", "[]")))
    meta = json.loads(attrs.get("panel_meta", "{}"))
    panel = Panel(df=frame, dropped=dropped, meta=meta)
    want = attrs.get("panel_fingerprint")
    if want is not None and panel.fingerprint() != want:
        raise StructestError(
            "the panel stored in this fit does not match its fingerprint (the file was altered)"
        )
    return panel


def idata_of(fit: Any) -> Any:
    """The InferenceData of a :class:`StructuralFit`, or the argument itself."""
    return getattr(fit, "idata", fit)


def fit_spec(idata: Any) -> ModelSpec:
    """The :class:`ModelSpec` stored in ``idata.posterior.attrs['model_spec']``."""
    try:
        text = idata.posterior.attrs["model_spec"]
    except (KeyError, AttributeError) as exc:
        raise StructestError(
            "this InferenceData was not produced by structest.fit (no 'model_spec' attr)"
        ) from exc
    return spec_from_json(text)


def save_idata(idata: Any, path: str | Path) -> Path:
    """Write NetCDF atomically (temporary file in the same directory, then ``os.replace``)."""
    return atomic_write(path, idata.to_netcdf)


def load_idata(path: str | Path) -> Any:
    """Read a fit written by :func:`save_idata` fully into memory (spec validated)."""
    import arviz as az

    path = Path(path)
    if not path.exists():
        raise StructestError(f"fit file not found: {path}")
    with _quiet():
        idata = az.from_netcdf(path)
    for g in idata.groups():
        getattr(idata, g).load()
    fit_spec(idata)  # validates
    return idata
