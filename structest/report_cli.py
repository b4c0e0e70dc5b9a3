"""``structest report``: render the HTML report of a fit (fits the default model if needed)."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    fit: Path | None = typer.Option(
        None, "--fit", help="NetCDF fit (structest fit --out); omitted: fit the default model"
    ),
    out: Path = typer.Option(Path("report"), "--out", help="output folder (index.html, figures/)"),
    panel: Path | None = typer.Option(
        None, "--panel", help="panel file (CSV/parquet); default: the bundled panel"
    ),
    model: str = typer.Option("bbj", "--model", help="model to fit when --fit is omitted"),
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
    import structest

    from .report import write_report
    from .structural.fit import load_fit, save_fit

    data = structest.Panel.from_file(panel) if panel is not None else structest.load_panel()
    if fit is None:
        typer.echo(
            f"fitting '{model}' ({chains} chains x {draws} draws, {tune} warm-up) on {data!r}",
            err=True,
        )
        idata = structest.fit(data, model, chains=chains, draws=draws, tune=tune, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        save_fit(idata, out / "fit.nc")
    else:
        idata = load_fit(fit)
    fits = {}
    for p in compare:
        other = load_fit(p)
        fits[p.stem] = other
    estimators = ("ols", "tobit", "iv", "tobit_iv") if reduced else ()
    path = write_report(idata, data, out, fits=fits or None, estimators=estimators, seed=seed)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the ``structest`` CLI."""
    app.command("report")(report)
