"""``structest fit``: fit a structural model and write the posterior to NetCDF.

Options are checked when parsed; the model, the input files and ``--out`` before any
work (``--out`` may not be ``--data`` or the model file, nor an existing folder or
non-NetCDF file); the fit is written atomically, so a fit killed at any point leaves an
existing ``--out`` as it was.
"""

from __future__ import annotations

import os
import time
import warnings
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from .._io import (
    check_input_file,
    check_output,
    data_dir,
    float_option,
    models_dir,
    reading,
    writing,
)
from .._logging import progress as progress_line
from ..errors import OptionError
from .spec import DEFAULT_MODEL

#: sampler backends of :func:`structest.fit` (an Enum: choices work with every typer)
Backend = Enum("Backend", {"numpyro": "numpyro", "pymc": "pymc"}, type=str)

#: largest seed (JAX and NumPy take 32-bit seeds)
MAX_SEED = 2**32 - 1


def model_file(model: str) -> Path | None:
    """The TOML file ``--model`` names: a ``.toml`` path, else the bundled model's file.

    Raises
    ------
    OptionError
        A ``.toml`` path that does not exist.
    InputFileError
        A ``.toml`` path that exists but is not a regular file (folder, FIFO, device).
    """
    path = Path(model).expanduser()
    if path.suffix == ".toml":
        if not os.path.exists(path):
            raise OptionError(f"--model {model}: file not found")
        return check_input_file(path, "--model")
    bundled = models_dir() / f"{model}.toml"
    return bundled if bundled.is_file() else None


def load_model_option(model: str) -> Any:
    """Load ``--model`` (a bundled name or a TOML path) before any other work."""
    from .spec import load_model

    model_file(model)
    with reading("--model", model):
        return load_model(str(Path(model).expanduser()) if model.endswith(".toml") else model)


def load_panel_option(data: Path | None, option: str = "--data") -> Any:
    """The panel of ``--data`` (None: the bundled one); unreadable files: InputFileError."""
    if data is None:
        from ..data.load import load_panel

        with reading("bundled panel", "data/panel.parquet"):
            return load_panel()
    from ..panel import Panel

    check_input_file(data, option)  # a FIFO or device: refused before any read
    with reading(option, data):
        return Panel.from_file(data)


def bundled_panel_file() -> Path:
    """The bundled panel file (an input when ``--data`` is not given)."""
    return data_dir() / "panel.parquet"


#: suffixes of files that are surely not NetCDF (``--out fit.csv`` is a slip, not a wish)
NOT_NETCDF = (
    ".csv", ".tsv", ".parquet", ".pq", ".json", ".toml", ".yaml", ".yml", ".html", ".htm",
    ".tex", ".md", ".txt", ".xlsx", ".xls", ".docx", ".png", ".pdf", ".svg", ".zarr", ".py",
)  # fmt: skip


def check_fit_suffix(out: Path, what: str = "--out") -> None:
    """Refuse a fit output named like another format (``.csv``, ``.parquet``, ``.html``...).

    Raises
    ------
    OptionError
        ``out`` ends in one of :data:`NOT_NETCDF`.
    """
    suffix = Path(out).suffix.lower()
    if suffix in NOT_NETCDF:
        raise OptionError(
            f"{what} {out}: a fit is written as NetCDF, not {suffix}; name it e.g. "
            f"{Path(out).with_suffix('.nc')}"
        )


#: The storage defaults of :meth:`StructuralFit.save`.
STORAGE_DEFAULTS: dict[str, bool] = {"compress": True, "float32": False, "log_likelihood": True}


def save_options(*, compress: bool, float32: bool, log_likelihood: bool) -> dict[str, bool]:
    """The keyword arguments of :meth:`StructuralFit.save` that differ from its defaults."""
    given = {"compress": compress, "float32": float32, "log_likelihood": log_likelihood}
    return {k: v for k, v in given.items() if v != STORAGE_DEFAULTS[k]}


def describe_storage(
    *, compress: bool = True, float32: bool = False, log_likelihood: bool = True
) -> str:
    """``"zlib, float64, with log-likelihood"`` and the like, for the CLI's output line."""
    return ", ".join(
        [
            "zlib" if compress else "uncompressed",
            "float32 draws" if float32 else "float64",
            "with log-likelihood" if log_likelihood else "no log-likelihood (recomputed on load)",
        ]
    )


def file_size(path: str | Path) -> str:
    """The size of a file in B, kB or MB (decimal), e.g. ``"12.3 MB"``."""
    n = os.path.getsize(path)
    for unit, div in (("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


#: Options shared by ``fit`` and ``report`` (one definition; typer reads them as defaults).
TARGET_ACCEPT_OPTION: Any = typer.Option(
    0.95,
    "--target-accept",
    callback=float_option(low=0.0, high=1.0, low_open=True, high_open=True),
    help="NUTS target acceptance in (0, 1) (higher: smaller steps, fewer divergences, slower).",
)
BACKEND_OPTION: Any = typer.Option(
    Backend.numpyro, "--backend", help="Sampler: numpyro (default) or pymc."
)
PROGRESS_OPTION: Any = typer.Option(
    True, "--progress/--no-progress", help="Progress bar (off when CI is set)."
)
FLOAT32_OPTION: Any = typer.Option(
    False,
    "--float32",
    help="Store draws and pointwise log-likelihood in float32 (about half the "
    "file; read back as float64).",
)
COMPRESS_OPTION: Any = typer.Option(
    True, "--compress/--no-compress", help="zlib-compress the NetCDF file."
)


def register(app: typer.Typer) -> None:
    """Add the ``fit`` subcommand to the structest CLI."""

    @app.command("fit")
    def fit_cmd(
        out: Path = typer.Option(
            ...,
            "--out",
            help="NetCDF file to write (atomically; not --data, not an existing folder).",
        ),
        model: str = typer.Option(
            DEFAULT_MODEL, "--model", help="Bundled model name or path to a TOML file."
        ),
        data: Path | None = typer.Option(
            None,
            "--data",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Panel CSV/parquet (default: the bundled panel).",
        ),
        chains: int = typer.Option(4, "--chains", min=1, help="Number of NUTS chains (>= 1)."),
        draws: int = typer.Option(
            1000, "--draws", min=1, help="Draws kept per chain after warm-up (>= 1)."
        ),
        tune: int = typer.Option(
            1000, "--tune", min=0, help="Warm-up iterations per chain (>= 0)."
        ),
        seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Random seed (>= 0)."),
        target_accept: float = TARGET_ACCEPT_OPTION,
        backend: Backend = BACKEND_OPTION,
        progress: bool = PROGRESS_OPTION,
        strict: bool = typer.Option(
            False,
            "--strict",
            help="Exit with status 1 when the sampler reports problems (divergences, "
            "R-hat, ESS); the fit is written anyway.",
        ),
        float32: bool = FLOAT32_OPTION,
        log_likelihood: bool = typer.Option(
            True,
            "--log-likelihood/--no-log-likelihood",
            help="Store the pointwise log-likelihood (the largest part of the file); "
            "without it, loading the fit computes it again for LOO.",
        ),
        compress: bool = COMPRESS_OPTION,
    ) -> None:
        """Fit the structural model (NumPyro NUTS), save it and print a summary."""
        from .._devices import default_host_devices

        # every check before any work: the environment, the model, the output
        default_host_devices()
        spec = load_model_option(model)
        if data is not None:
            check_input_file(data, "--data")
        inputs = [
            ("--data", data) if data is not None else ("bundled panel", bundled_panel_file()),
            ("--model", model_file(model)),
        ]
        out = check_output(out, inputs=inputs, kind="file", fmt="netcdf")
        check_fit_suffix(out)
        storage = save_options(compress=compress, float32=float32, log_likelihood=log_likelihood)

        from .._devices import set_compilation_cache, set_host_devices
        from .design import InformationWarning
        from .diagnostics import SamplingWarning
        from .sampling import fit

        set_host_devices(strict=False)  # one XLA CPU device per core: chains in parallel
        set_compilation_cache(strict=False)  # compiled programs kept for the next run
        panel = load_panel_option(data)
        progress_line(
            "fit",
            f"fitting '{spec.name}' ({chains} chains x {draws} draws, {tune} warm-up, "
            f"{backend.value}) on {len(panel)} obs -> {out}",
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit(
                panel,
                spec,
                chains=chains,
                draws=draws,
                tune=tune,
                seed=seed,
                target_accept=target_accept,
                backend=backend.value,
                progress_bar=None if progress else False,
            )
        elapsed = time.perf_counter() - t0
        for w in caught:  # sampling problems are printed below; library banners dropped
            if issubclass(w.category, InformationWarning):
                typer.echo(f"WARNING: {w.message}", err=True)
            elif issubclass(w.category, UserWarning) and not issubclass(
                w.category, SamplingWarning
            ):
                typer.echo(f"note: {w.message}", err=True)
        with writing("--out", out):
            result.save(out, **storage)
        div = int(result.idata.sample_stats["diverging"].values.sum())
        table = result.summary()
        typer.echo(
            f"model {result.spec.name}: {len(panel)} obs, {chains} chains x {draws} draws "
            f"(+{tune} tune), sampled in {elapsed:.1f} s -> {out}"
        )
        typer.echo(f"wrote {out}: {file_size(out)} ({describe_storage(**storage)})")
        tail = (
            f"; min tail ESS: {table['ess_tail'].min():.0f}" if "ess_tail" in table.columns else ""
        )
        typer.echo(
            f"divergences: {div}; max R-hat: {table['r_hat'].max():.3f}; "
            f"min bulk ESS: {table['ess_bulk'].min():.0f}{tail}"
        )
        typer.echo(table.to_string(float_format=lambda v: f"{v:.3f}"))
        problems = result.diagnostics()
        for msg in problems:
            typer.echo(f"WARNING: {msg}", err=True)
        if not problems:
            typer.echo("sampling diagnostics OK (no divergences, R-hat <= 1.01, bulk ESS >= 400)")
        elif strict:
            typer.echo(
                f"--strict: {len(problems)} sampling problem(s); exit status 1 ({out} written)",
                err=True,
            )
            raise typer.Exit(1)
