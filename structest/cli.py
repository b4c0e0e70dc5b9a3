"""The ``structest`` command line.

Subcommands live next to the code they drive; each package exposes ``register(app)``.
Errors caused by user input (:class:`~structest.errors.StructestError`) are printed
without a traceback and exit with status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from .errors import StructestError

app = typer.Typer(
    help="structest: Bayesian structural estimation of trade policy with global supply chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that add subcommands (each has ``register(app: typer.Typer) -> None``).
_COMMAND_MODULES = (
    "structest.builder.cli",
    "structest.reduced.cli",
    "structest.structural.cli",
    "structest.counterfactual_cli",
    "structest.report_cli",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except StructestError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
