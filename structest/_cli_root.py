"""The options of the top-level ``structest`` command (``--version``, ``-q``, ``-v``)."""

from __future__ import annotations

import typer

from . import __version__
from ._logging import configure_logging
from .errors import OptionError


def print_version(ctx: typer.Context, value: bool) -> None:
    """``--version``: print ``structest <version>`` and exit 0."""
    if value:
        typer.echo(f"structest {__version__}")
        ctx.exit(0)


def root_options(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=print_version,
        help="Print 'structest <version>' and exit.",
    ),
    quiet: bool = typer.Option(
        False,
        "-q",
        "--quiet",
        help="Errors only on stderr: no progress lines, notes or warnings (results are still printed).",
    ),
    verbose: int = typer.Option(
        0,
        "-v",
        "--verbose",
        count=True,
        help="More detail on stderr: -v informational messages, -vv debugging messages.",
    ),
) -> None:
    """Options for every command; put them before the command (``structest -q report``)."""
    if quiet and verbose:
        raise OptionError("-q/--quiet and -v/--verbose: give one of them, not both")
    configure_logging(-1 if quiet else verbose)
