"""``structest report``: render the HTML report of a fit (fits the default model if needed)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..structural.spec import DEFAULT_MODEL


def report(
    fit: Path | None = typer.Option(
        None, "--fit", help="NetCDF fit (structest fit --out); omitted: fit the default model"
    ),
    out: Path = typer.Option(Path("report"), "--out", help="output folder (index.html, figures/)"),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="panel file (CSV/parquet); default: the panel stored in --fit, else the bundled one",
    ),
    panel: Path | None = typer.Option(None, "--panel", hidden=True, help="alias of --data"),
    model: str = typer.Option(DEFAULT_MODEL, "--model", help="model to fit when --fit is omitted"),
    compare: list[Path] = typer.Option(
        [], "--compare", help="other fits of the same panel for PSIS-LOO (repeatable)"
    ),
    chains: int = typer.Option(4, help="chains when fitting (as structest fit)"),
    draws: int = typer.Option(1000, help="draws per chain when fitting"),
    tune: int = typer.Option(1000, help="warm-up per chain when fitting"),
    seed: int = typer.Option(0, help="seed (fit and predictive draws)"),
    reduced: bool = typer.Option(
        True, "--reduced/--no-reduced", help="reduced-form columns in the table"
    ),
) -> None:
    """Write a self-contained HTML report of a structural fit."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window

    from .._devices import set_host_devices
    from ..data.load import load_panel
    from ..errors import SpecError
    from ..panel import Panel
    from ..structural.io import load_idata
    from ..structural.results import StructuralFit
    from ..structural.sampling import fit as fit_model
    from .html import write_report

    set_host_devices(strict=False)  # one XLA CPU device per core: chains in parallel
    if data is not None and panel is not None:
        raise SpecError("give --data (or its old name --panel), not both")
    source = data if data is not None else panel
    pan = Panel.from_file(source) if source is not None else None
    if fit is None:
        pan = pan if pan is not None else load_panel()
        typer.echo(
            f"fitting '{model}' ({chains} chains x {draws} draws, {tune} warm-up) on {pan!r}",
            err=True,
        )
        result = fit_model(pan, model, chains=chains, draws=draws, tune=tune, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        result.save(out / "fit.nc")
    else:
        result = StructuralFit.load(fit, pan)
    fits = {p.stem: load_idata(p) for p in compare}
    estimators = ("ols", "tobit", "iv", "tobit_iv") if reduced else ()
    path = write_report(result, None, out, fits=fits or None, estimators=estimators, seed=seed)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the ``structest`` CLI."""
    app.command("report")(report)
