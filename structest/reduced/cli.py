"""``structest reduced-form``: fit a named specification and print a paper-style table.

The choices (``--estimator``, ``--sample``, ``--format``) and ``--lower`` are checked when
the command line is parsed, ``--data`` before any work.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .._io import float_option, reading
from ..errors import OptionError
from . import ESTIMATORS
from .formula import SAMPLES, SPECS, parse

# choices as Enums (typer lists them in --help and refuses others when parsing)
Estimator = Enum("Estimator", {e: e for e in ESTIMATORS}, type=str)
Sample = Enum("Sample", {s: s for s in SAMPLES}, type=str)
Format = Enum("Format", {"markdown": "markdown", "latex": "latex"}, type=str)

#: estimators that take ``--lower``
CENSORED = ("tobit", "tobit_iv")


def register(app: typer.Typer) -> None:
    """Add the ``reduced-form`` command to the structest CLI."""

    @app.command("reduced-form")
    def reduced_form(
        spec: str = typer.Option(
            "eq16", "--spec", help=f"Named spec ({', '.join(SPECS)}) or a formula."
        ),
        estimator: Estimator = typer.Option(Estimator.ols, "--estimator", help="The estimator."),
        data: Path | None = typer.Option(
            None,
            "--data",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Panel file (.parquet/.csv); default: bundled panel.",
        ),
        sample: Sample = typer.Option(Sample["all"], "--sample", help="Sample rule."),
        fmt: Format = typer.Option(Format.markdown, "--format", help="Table format."),
        lower: float | None = typer.Option(
            None,
            "--lower",
            callback=float_option(),
            help="Tobit (tobit, tobit_iv): also left-censor at this value (e.g. 0).",
        ),
    ) -> None:
        """Estimate a reduced-form specification (BBJ 2016 eq. 16/17/19...) and print the table."""
        from ..panel import Panel
        from . import fit_reduced_form, tables

        estimator, sample, fmt = estimator.value, sample.value, fmt.value
        if lower is not None and estimator not in CENSORED:
            raise OptionError(
                f"--lower applies to --estimator {' or '.join(CENSORED)} only, not {estimator!r}"
            )
        parse(spec)  # a bad formula fails before the data are read
        if data is None:
            from ..data.load import load_panel

            with reading("bundled panel", "data/panel.parquet"):
                panel = load_panel()
        else:
            with reading("--data", data):
                panel = Panel.from_file(data)
        options: dict[str, object] = {"sample": sample}
        if lower is not None:
            options["lower"] = lower
        res = fit_reduced_form(panel, spec, estimator=estimator, **options)
        typer.echo(
            tables.regression_table([res], to=fmt, title=f"{spec} ({estimator}, sample {sample})")
        )
        for why, n in res.dropped:
            typer.echo(f"dropped {n} obs: {why}")
        for note in res.notes:
            typer.echo(f"note: {note}")
