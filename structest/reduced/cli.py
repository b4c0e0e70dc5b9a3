"""``structest reduced-form``: fit a named specification and print a paper-style table."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import SpecError
from .formula import SAMPLES, SPECS


def register(app: typer.Typer) -> None:
    """Add the ``reduced-form`` command to the structest CLI."""

    @app.command("reduced-form")
    def reduced_form(
        spec: str = typer.Option(
            "eq16", "--spec", help=f"Named spec ({', '.join(SPECS)}) or a formula."
        ),
        estimator: str = typer.Option("ols", "--estimator", help="ols | tobit | iv | tobit_iv"),
        data: Path | None = typer.Option(
            None, "--data", help="Panel file (.parquet/.csv); default: bundled panel."
        ),
        sample: str = typer.Option("all", "--sample", help=f"Sample rule: {' | '.join(SAMPLES)}"),
        fmt: str = typer.Option("markdown", "--format", help="markdown | latex"),
        lower: float | None = typer.Option(
            None, "--lower", help="Tobit: also left-censor at this value (e.g. 0)."
        ),
    ) -> None:
        """Estimate a reduced-form specification (BBJ 2016 eq. 16/17/19...) and print the table."""
        from ..panel import Panel
        from . import fit_reduced_form, tables

        if fmt not in ("markdown", "latex"):
            raise SpecError(f"--format must be 'markdown' or 'latex', got '{fmt}'")
        if data is None:
            from ..data.load import load_panel

            panel = load_panel()
        else:
            panel = Panel.from_file(data)
        options = {"sample": sample}
        if estimator in ("tobit", "tobit_iv") and lower is not None:
            options["lower"] = lower
        res = fit_reduced_form(panel, spec, estimator=estimator, **options)
        typer.echo(
            tables.regression_table([res], to=fmt, title=f"{spec} ({estimator}, sample {sample})")
        )
        for why, n in res.dropped:
            typer.echo(f"dropped {n} obs: {why}")
        for note in res.notes:
            typer.echo(f"note: {note}")
