"""Error types raised by structest.

Every error a user can trigger with bad input is a :class:`StructestError`; the CLI
catches it and prints the message without a traceback.
"""

from __future__ import annotations


class StructestError(Exception):
    """Base class of errors caused by user input (bad data, bad options)."""


class PanelError(StructestError, ValueError):
    """A panel failed validation.

    Parameters
    ----------
    problems
        One line per problem, each naming the column and the offending rows. With one
        problem the message is one line, ``panel validation failed: <problem>``; with
        several, a head line and one ``  - <problem>`` line each.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:  # one problem: one line
            super().__init__(f"panel validation failed: {self.problems[0]}")
            return
        head = f"panel validation failed ({len(self.problems)} problems):"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class SpecError(StructestError, ValueError):
    """A model specification or formula is invalid."""


class InputFileError(StructestError, ValueError):
    """An input file (panel, fit, model TOML, scenario) is missing, unreadable or malformed."""


class OutputError(StructestError, ValueError):
    """An output path is unusable: one of the inputs, a directory, or not writable."""


class OptionError(StructestError, ValueError):
    """An option has the wrong type or lies outside its range."""


class EstimationWarning(UserWarning):
    """An estimate exists but its standard errors (or the optimum) are unreliable.

    Issued as a warning and recorded in the result (``Results.diagnostics``, with
    ``converged=False``); turn it into an error with
    ``warnings.simplefilter("error", EstimationWarning)``.
    """


class EstimationError(StructestError, RuntimeError):
    """An estimator cannot give a usable answer on these data (degenerate or no information)."""
