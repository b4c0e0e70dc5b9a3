"""``structest data build`` and ``structest data describe``.

Options and paths are checked before any work: ``--raw`` must be a folder, ``--out`` a
writable folder other than ``--raw``; a failed build leaves no empty folders behind.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .._io import check_input_file, check_output, cleanup_new_dirs, float_option, reading

#: files ``data build`` writes into its output folder
BUILD_OUTPUTS = (
    "va_contents.npz",
    "panel.parquet",
    "build_report.json",
    "build_report.md",
    "hs_wiod.csv",
    "ttb_usa.csv",
)


def register(app: typer.Typer) -> None:
    """Attach the ``data`` command group to the main app."""
    data = typer.Typer(help="Build and inspect the bundled data.", no_args_is_help=True)

    @data.command("build")
    def build_cmd(
        raw: Path = typer.Option(
            None,
            exists=True,
            file_okay=False,
            help="Raw data folder (default: $STRUCTEST_RAW or ../shared/data/raw).",
        ),
        out: Path = typer.Option(
            None, help="Output folder (default: the bundled data/ folder); not --raw."
        ),
        rel_tol: float = typer.Option(
            0.15,
            callback=float_option(low=0.0),
            help="Relative tolerance of the at-MFN rule (>= 0).",
        ),
        abs_tol: float = typer.Option(
            0.05,
            callback=float_option(low=0.0),
            help="Absolute tolerance (pp) of the at-MFN rule (>= 0).",
        ),
    ) -> None:
        """Rebuild data/ (value-added contents, panel, build report) from the raw sources."""
        from .._io import data_dir
        from ..errors import InputFileError
        from .build.build import build, default_raw_dir

        raw_dir = raw if raw is not None else default_raw_dir()
        if not raw_dir.is_dir():
            raise InputFileError(
                f"raw data folder not found: {raw_dir} (set --raw or STRUCTEST_RAW)"
            )
        target = out if out is not None else data_dir()
        target = check_output(
            target,
            inputs=[("--raw", raw_dir)],
            kind="dir",
            contents=dict.fromkeys(BUILD_OUTPUTS, ""),
        )
        with cleanup_new_dirs(target):
            build(raw_dir, target, rel_tol=rel_tol, abs_tol=abs_tol)

    @data.command("describe")
    def describe_cmd(
        data_path: Path = typer.Option(
            None,
            "--data",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A panel file (.parquet/.csv); default: bundled panel.",
        ),
    ) -> None:
        """Print coverage and summary statistics of a panel."""
        from ..panel import Panel
        from .describe import describe
        from .load import load_panel

        if data_path is None:
            panel = load_panel()
        else:
            check_input_file(data_path, "--data")  # a FIFO or device: never read
            with reading("--data", data_path):
                panel = Panel.from_file(data_path)
        typer.echo(describe(panel))

    app.add_typer(data, name="data")
