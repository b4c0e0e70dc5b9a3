"""The ``structest`` command line: assembles each step's commands, nothing else.

Subcommands live next to the code they drive (``<step>/cli.py`` with ``register(app)``).
Every command checks its options (types, ranges, choices: at parse time), its input files
and its outputs (not an input, the right kind, a writable folder) before any work, and
writes each file atomically. Commands that run JAX give it one CPU device per core
(:func:`structest.set_host_devices`; ``STRUCTEST_HOST_DEVICES`` overrides and is read only
then) so that NUTS chains run in parallel.

Messages: results go to stdout; progress lines, notes and warnings to stderr through
:mod:`logging` (a handler on the ``structest`` logger only, see :func:`configure_logging`):
``structest -q CMD`` errors only, ``-v`` informational, ``-vv`` debugging messages.

Exit status:

* 0 - success;
* 1 - ``--strict`` (``fit``, ``report``): the outputs were written but the sampler reported
  problems (divergences, R-hat, ESS); ``sweep``: some reps did not finish (run the same
  command again);
* 2 - a user error: bad option, input file or output path
  (:class:`~structest.errors.StructestError`, or a usage error), printed as one
  ``error: ...`` line without a traceback;
* 3 - an unexpected internal error: one ``error: unexpected ...`` line, the full
  traceback in a file in the temporary folder (its path is printed);
* 130 - interrupted (Ctrl-C).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from . import __version__
from ._cli_root import root_options
from ._logging import PROGRESS_LOGGER, _StderrHandler, configure_logging  # noqa: F401
from .errors import StructestError

app = typer.Typer(
    help="structest: Bayesian structural estimation of trade policy with global supply chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# options of the top-level command (--version, -q, -v); logging set-up in structest._logging
app.callback()(root_options)


#: Modules that add subcommands (each has ``register(app: typer.Typer) -> None``).
_COMMAND_MODULES = (
    "structest.data.cli",
    "structest.reduced.cli",
    "structest.structural.cli",
    "structest.counterfactuals.cli",
    "structest.report.cli",
    "structest.sweeps.cli",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status (see the module docstring).

    Parameters
    ----------
    argv
        Arguments after the program name; None: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 success, 1 ``--strict`` sampler problems, 2 user error, 3 internal error,
        130 interrupted.
    """
    import os
    import tempfile
    import time
    import traceback

    try:  # typer >= 0.2x carries its own click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older typer uses click
        from click import exceptions as click_exc

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=args, prog_name="structest", standalone_mode=False)
    except StructestError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except click_exc.NoArgsIsHelpError as exc:  # the help (rich prints it on creation)
        if exc.format_message().strip():
            typer.echo(exc.format_message(), err=True)
        return 2
    except click_exc.ClickException as exc:
        msg = exc.format_message().strip().replace("\n", " ")
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {msg}{hint}", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        text = "".join(traceback.format_exception(exc))
        try:
            fd, where = tempfile.mkstemp(
                prefix=f"structest-traceback-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt"
            )
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"structest {__version__}\nargs: {args!r}\n\n{text}")
            saved = f"full traceback written to {where}"
        except OSError:
            sys.stderr.write(text)
            saved = "traceback above"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if len(first) > 200:
            first = first[:197] + "..."
        typer.echo(f"error: unexpected {type(exc).__name__}: {first} ({saved})", err=True)
        return 3
    if isinstance(rv, bool) or not isinstance(rv, int):
        return 0
    return rv


if __name__ == "__main__":
    sys.exit(main())
