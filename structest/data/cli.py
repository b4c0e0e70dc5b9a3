"""``structest data build`` and ``structest data describe``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Attach the ``data`` command group to the main app."""
    data = typer.Typer(help="Build and inspect the bundled data.", no_args_is_help=True)

    @data.command("build")
    def build_cmd(
        raw: Path = typer.Option(
            None, help="Raw data folder (default: $STRUCTEST_RAW or ../shared/data/raw)."
        ),
        out: Path = typer.Option(None, help="Output folder (default: the bundled data/ folder)."),
        rel_tol: float = typer.Option(0.15, help="Relative tolerance of the at-MFN rule."),
        abs_tol: float = typer.Option(0.05, help="Absolute tolerance (pp) of the at-MFN rule."),
    ) -> None:
        """Rebuild data/ (value-added contents, panel, build report) from the raw sources."""
        from .build.build import build

        build(raw, out, rel_tol=rel_tol, abs_tol=abs_tol)

    @data.command("describe")
    def describe_cmd(
        data_path: Path = typer.Option(
            None, "--data", help="A panel file (.parquet/.csv); default: bundled panel."
        ),
    ) -> None:
        """Print coverage and summary statistics of a panel."""
        from ..panel import Panel
        from .describe import describe
        from .load import load_panel

        panel = load_panel() if data_path is None else Panel.from_file(data_path)
        typer.echo(describe(panel))

    app.add_typer(data, name="data")
