"""The ``structest`` command line: assembles each step's commands, nothing else.

Subcommands live next to the code they drive (``<step>/cli.py`` with ``register(app)``).
Before any command runs, JAX is given one CPU device per core
(:func:`structest.set_host_devices`; ``STRUCTEST_HOST_DEVICES`` overrides) so that NUTS
chains run in parallel.
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
    "structest.data.cli",
    "structest.reduced.cli",
    "structest.structural.cli",
    "structest.counterfactuals.cli",
    "structest.report.cli",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        from ._devices import default_host_devices

        default_host_devices()  # validates STRUCTEST_HOST_DEVICES before any work
        app()
    except StructestError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
