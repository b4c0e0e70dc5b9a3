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

from .._io import atomic_write, check_input_file, refuse_overwrite_non_netcdf
from ..errors import InputFileError, OptionError, OutputError, SpecError, StructestError
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
    log_likelihood: np.ndarray | None,
    log_prior: Mapping[str, np.ndarray] | None,
    spec: ModelSpec,
    sites: Sites,
    design: Design,
    panel: Panel,
    info: Mapping[str, Any],
) -> Any:
    """Build the InferenceData of a fit (either backend); see the module docstring.

    ``log_likelihood`` None: no ``log_likelihood`` group (:func:`add_log_likelihood` adds it).
    """
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
            log_likelihood=None if log_likelihood is None else {"tariff": log_likelihood},
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
        if g in idata.groups():
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
        raise InputFileError(
            "the panel stored in this fit does not match its fingerprint (the file was altered)"
        )
    return panel


def idata_of(fit: Any) -> Any:
    """The InferenceData of a :class:`StructuralFit`, or the argument itself."""
    return getattr(fit, "idata", fit)


def fit_spec(idata: Any) -> ModelSpec:
    """The :class:`ModelSpec` stored in ``idata.posterior.attrs['model_spec']``.

    Raises
    ------
    StructestError
        No posterior or no ``model_spec`` attribute (not a fit of structest).
    SpecError
        The stored spec is not valid JSON or not a valid model.
    """
    try:
        text = idata.posterior.attrs["model_spec"]
    except (KeyError, AttributeError) as exc:
        raise StructestError(
            "this InferenceData was not produced by structest.fit (no 'model_spec' attr)"
        ) from exc
    return spec_from_json(text)


#: groups holding draws, stored in float32 with ``float32=True`` (the data, the panel and
#: the sampler statistics always keep their full precision: the fingerprint needs them)
DRAW_GROUPS = ("posterior", "prior", "log_likelihood", "log_prior", "posterior_predictive")
#: zlib level of saved fits (1-9; 4 is NetCDF's usual balance of size and speed)
COMPLEVEL = 4


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


#: numeric variables smaller than this are stored contiguous, uncompressed (a chunked
#: dataset costs a few kB of HDF5 index, more than zlib saves on a small array)
COMPRESS_MIN_BYTES = 64 * 1024
#: target size of one compressed chunk (whole trailing dims, a slice of chains/draws)
CHUNK_BYTES = 1024 * 1024


def _chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...] | None:
    """Chunks of about :data:`CHUNK_BYTES`: full trailing dims, the leading ones sliced."""
    chunks = list(shape)
    size = int(np.prod(shape)) * itemsize
    for i in range(len(shape) - 1):
        if size <= CHUNK_BYTES:
            break
        rest = size // max(shape[i], 1)
        chunks[i] = max(1, min(shape[i], CHUNK_BYTES // max(rest, 1)))
        size = rest * chunks[i]
    if size > 4 * CHUNK_BYTES:
        return None  # one row is too big: let HDF5 choose
    return tuple(max(1, c) for c in chunks)


def _encoding(ds: Any, compress: bool) -> dict[str, dict[str, Any]]:
    """zlib + byte shuffle for every numeric variable of at least
    :data:`COMPRESS_MIN_BYTES` (strings and small arrays are stored as they are)."""
    if not compress:
        return {}
    enc: dict[str, dict[str, Any]] = {}
    for k, v in ds.variables.items():
        if v.dtype.kind not in "biuf" or v.ndim == 0 or v.nbytes < COMPRESS_MIN_BYTES:
            continue
        enc[k] = {"zlib": True, "complevel": COMPLEVEL, "shuffle": True}
        chunks = _chunks(tuple(v.shape), v.dtype.itemsize)
        if chunks is not None:
            enc[k]["chunksizes"] = chunks
    return enc


def _as_float32(ds: Any) -> Any:
    """``ds`` with its float64 data variables cast to float32 (other dtypes unchanged)."""
    cast = {k: ds[k].astype(np.float32) for k in ds.data_vars if ds[k].dtype == np.float64}
    return ds.assign(cast) if cast else ds


def _write_netcdf(
    idata: Any, tmp: str, compress: bool, float32: bool, log_likelihood: bool
) -> None:
    """Write ``idata`` group by group with h5netcdf (what ``InferenceData.to_netcdf`` does,
    with byte shuffle, float32 draws and the log-likelihood optional)."""
    import xarray as xr

    mode = "w"
    root = dict(getattr(idata, "_attrs", None) or {})
    if root:
        xr.Dataset(attrs=root).to_netcdf(tmp, mode=mode, engine="h5netcdf")
        mode = "a"
    for group in idata._groups_all:
        if group == "log_likelihood" and not log_likelihood:
            continue
        ds = getattr(idata, group).drop_encoding()
        if group == "posterior":
            ds = ds.copy()
            ds.attrs = {
                **ds.attrs,
                "storage_dtype": "float32" if float32 else "float64",
                "storage_log_likelihood": "stored" if log_likelihood else "omitted",
            }
        if float32 and group in DRAW_GROUPS:
            ds = _as_float32(ds)
        with _quiet():
            ds.to_netcdf(
                tmp, mode=mode, group=group, engine="h5netcdf", encoding=_encoding(ds, compress)
            )
        mode = "a"
    if mode == "w":
        raise OutputError("cannot save an InferenceData with no groups")


def save_idata(
    idata: Any,
    path: str | Path,
    what: str = "save_idata",
    *,
    compress: bool = True,
    float32: bool = False,
    log_likelihood: bool = True,
) -> Path:
    """Write NetCDF atomically (temporary file in the same directory, then ``os.replace``).

    Parameters
    ----------
    idata
        The InferenceData of a fit.
    path
        The ``.nc`` file.
    what
        The caller, for messages.
    compress
        zlib (level :data:`COMPLEVEL`) with byte shuffle on every numeric variable.
    float32
        Store the draws (:data:`DRAW_GROUPS`) in float32 (about 7 significant digits);
        they are read back as float64.
    log_likelihood
        Store the pointwise log-likelihood; False leaves it out and :func:`load_idata`
        computes it again from the stored posterior and panel (for LOO, LOO-PIT and the
        likelihood sensitivity of the identification table).

    Sizes per option: see :meth:`structest.structural.StructuralFit.save`.

    Raises
    ------
    OutputError
        ``path`` exists and is a folder, not a regular file, or a non-empty file that is
        not NetCDF (a CSV given by mistake is never replaced); ``what`` names the caller.
    OptionError
        ``compress``, ``float32`` or ``log_likelihood`` is not a bool.
    """
    compress = _check_flag(compress, "compress")
    float32 = _check_flag(float32, "float32")
    log_likelihood = _check_flag(log_likelihood, "log_likelihood")
    if not hasattr(idata, "_groups_all"):
        raise StructestError(f"{what}: expected an arviz InferenceData, got {type(idata).__name__}")
    path = refuse_overwrite_non_netcdf(path, what)
    return atomic_write(
        path, lambda tmp: _write_netcdf(idata, tmp, compress, float32, log_likelihood)
    )


#: the first bytes of a NetCDF-4 (HDF5) and a classic NetCDF file
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
#: groups every fit written by structest carries
REQUIRED_GROUPS = ("posterior", "sample_stats", "observed_data")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_idata(path: str | Path) -> Any:
    """Read a fit written by :func:`save_idata` fully into memory (spec validated).

    Raises
    ------
    InputFileError
        One line naming the file: missing, a directory, unreadable, not NetCDF (or
        truncated), without the groups of a structest fit, or with a stored model spec
        that is missing or invalid.
    """
    import arviz as az

    if not isinstance(path, (str, Path)) or "\x00" in str(path):
        raise InputFileError(f"fit file: expected a path, got {type(path).__name__} {path!r}")
    path = Path(path).expanduser()
    if not path.exists():
        raise InputFileError(f"fit file not found: {path}")
    if path.is_dir():
        raise InputFileError(f"fit file {path} is a directory, not a NetCDF file")
    check_input_file(path, "fit file")  # a FIFO or device: refused before any read
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputFileError(f"cannot read fit file {path}: {exc.strerror or exc}") from None
    if not (head.startswith(_HDF5_MAGIC) or head[:4] in _CDF_MAGIC):
        what = "it is empty" if not head else f"it starts with {head[:8]!r}"
        raise InputFileError(
            f"fit file {path} is not a NetCDF file ({what}); write fits with "
            "StructuralFit.save or `structest fit --out`"
        )
    try:
        with _quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = az.from_netcdf(path)
            for g in idata.groups():
                getattr(idata, g).load()
    except Exception as exc:  # netCDF4/h5py/xarray raise many kinds on a damaged file
        raise InputFileError(
            f"fit file {path} cannot be read as NetCDF (truncated or damaged?): {_first_line(exc)}"
        ) from None
    missing = [g for g in REQUIRED_GROUPS if g not in idata.groups()]
    if missing:
        raise InputFileError(
            f"fit file {path} is not a structest fit: it lacks the group(s) {missing} "
            f"(has {list(idata.groups())})"
        )
    if "model_spec" not in idata.posterior.attrs:
        raise InputFileError(
            f"fit file {path} is not a structest fit: its posterior has no 'model_spec' attribute"
        )
    try:
        fit_spec(idata)  # validates
    except SpecError as exc:
        raise InputFileError(f"fit file {path}: the stored model is invalid: {exc}") from None
    _upcast_draws(idata)
    if "log_likelihood" not in idata.groups() and PANEL_GROUP in idata.groups():
        try:
            add_log_likelihood(idata)
        except StructestError as exc:
            raise InputFileError(
                f"fit file {path} was saved without its log-likelihood and it cannot be "
                f"computed again: {_first_line(exc)}"
            ) from None
    return idata


def _upcast_draws(idata: Any) -> None:
    """Draws stored in float32 (``save_idata(float32=True)``) back to float64, in place."""
    for g in DRAW_GROUPS:
        if g not in idata.groups():
            continue
        ds = getattr(idata, g)
        cast = {k: ds[k].astype(np.float64) for k in ds.data_vars if ds[k].dtype == np.float32}
        if cast:
            setattr(idata, g, ds.assign(cast))


def add_log_likelihood(idata: Any, design: Design | None = None) -> Any:
    """Compute the pointwise log-likelihood of every posterior draw and add it, in place.

    For fits saved with ``log_likelihood=False``: the same function the fit used
    (:func:`~structest.structural.posterior.loglik_draws`) on the stored posterior and
    the fitted panel's design (``design``; None: built from the stored panel). The
    posterior attribute ``log_likelihood_recomputed`` is set to 1.

    Raises
    ------
    StructestError
        No stored panel (and no ``design``), or a panel that does not match the fit.
    """
    import xarray as xr

    from .design import build_design
    from .posterior import loglik_draws

    spec = fit_spec(idata)
    if design is None:
        design = build_design(stored_panel(idata), spec)
    post = idata.posterior
    ll = loglik_draws(post, spec, design.arrays)
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    if "observed_data" in idata.groups():
        coords.update({k: v for k, v in idata.observed_data["tariff"].coords.items()})
    else:
        coords["obs"] = np.arange(design.n)
    da = xr.DataArray(ll, dims=("chain", "draw", "obs"), coords=coords, name="tariff")
    with _quiet():
        idata.add_groups({"log_likelihood": da.to_dataset()})
    idata.posterior.attrs["log_likelihood_recomputed"] = 1
    return idata
