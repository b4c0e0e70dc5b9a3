"""``structest fit``: fit a structural model and write the posterior to NetCDF."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import typer

from .spec import DEFAULT_MODEL


def register(app: typer.Typer) -> None:
    """Add the ``fit`` subcommand to the structest CLI."""

    @app.command("fit")
    def fit_cmd(
        out: Path = typer.Option(..., "--out", help="NetCDF file to write (atomically)."),
        model: str = typer.Option(
            DEFAULT_MODEL, "--model", help="Bundled model name or path to a TOML file."
        ),
        data: Path | None = typer.Option(
            None, "--data", help="Panel CSV/parquet (default: the bundled panel)."
        ),
        chains: int = typer.Option(4, "--chains"),
        draws: int = typer.Option(1000, "--draws"),
        tune: int = typer.Option(1000, "--tune"),
        seed: int = typer.Option(0, "--seed"),
        target_accept: float = typer.Option(
            0.95,
            "--target-accept",
            help="NUTS target acceptance (higher: smaller steps, fewer divergences, slower).",
        ),
        backend: str = typer.Option("numpyro", "--backend", help="numpyro or pymc."),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Progress bar (off when CI is set)."
        ),
    ) -> None:
        """Fit the structural model (NumPyro NUTS), save it and print a summary."""
        from .._devices import set_host_devices
        from ..panel import Panel
        from .diagnostics import SamplingWarning
        from .sampling import fit

        set_host_devices(strict=False)  # one XLA CPU device per core: chains in parallel

        if data is None:
            from ..data.load import load_panel

            panel = load_panel()
        else:
            panel = Panel.from_file(data)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)  # printed below instead
            result = fit(
                panel,
                model,
                chains=chains,
                draws=draws,
                tune=tune,
                seed=seed,
                target_accept=target_accept,
                backend=backend,
                progress_bar=None if progress else False,
            )
        elapsed = time.perf_counter() - t0
        result.save(out)
        div = int(result.idata.sample_stats["diverging"].values.sum())
        table = result.summary()
        typer.echo(
            f"model {result.spec.name}: {len(panel)} obs, {chains} chains x {draws} draws "
            f"(+{tune} tune), sampled in {elapsed:.1f} s -> {out}"
        )
        typer.echo(
            f"divergences: {div}; max R-hat: {table['r_hat'].max():.3f}; min bulk ESS: {table['ess_bulk'].min():.0f}"
        )
        typer.echo(table.to_string(float_format=lambda v: f"{v:.3f}"))
        problems = result.diagnostics()
        for msg in problems:
            typer.echo(f"WARNING: {msg}", err=True)
        if not problems:
            typer.echo("sampling diagnostics OK (no divergences, R-hat <= 1.01, bulk ESS >= 400)")
