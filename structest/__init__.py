"""structest: Bayesian structural estimation of trade policy with global supply chains.

The data path, one step per subpackage::

    data (load, simulate, build) -> Panel
        -> reduced (fit_reduced_form -> Results)
        -> structural (fit -> StructuralFit)
            -> checks (PPC, LOO, prior predictive) -> counterfactuals -> report

Importing structest changes no global state: JAX's device count
(:func:`set_host_devices`), its 64-bit switch (scoped inside structest) and matplotlib's
backend (set by the command line only) stay the caller's. Heavy modules (JAX, PyMC,
pyfixest) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    EstimationError,
    EstimationWarning,
    InputFileError,
    OptionError,
    OutputError,
    PanelError,
    SpecError,
    StructestError,
)
from .panel import Panel

__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "load_panel": "structest.data.load",
    "load_ttb_panel": "structest.data.load",
    "va_contents": "structest.data.load",
    "simulate": "structest.data.synthetic",
    "simulate_model": "structest.structural.worlds",
    "fit_reduced_form": "structest.reduced",
    "fit": "structest.structural.sampling",
    "load_model": "structest.structural.spec",
    "StructuralFit": "structest.structural.results",
    "counterfactual": "structest.counterfactuals.compute",
    "set_host_devices": "structest._devices",
    "set_compilation_cache": "structest._devices",
}

__all__ = [
    "EstimationError",
    "EstimationWarning",
    "InputFileError",
    "OptionError",
    "OutputError",
    "Panel",
    "PanelError",
    "SpecError",
    "StructestError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'structest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
