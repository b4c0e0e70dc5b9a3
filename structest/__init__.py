"""structest: Bayesian structural estimation of trade policy with global supply chains.

Public API (the issues' Contract names):

- data: :func:`load_panel`, :class:`Panel`, :func:`va_contents`, :func:`simulate`
- reduced form: :func:`fit_reduced_form`
- structural: :func:`fit`, :func:`load_model`
- after a fit: :func:`counterfactual`

Heavy modules (JAX, PyMC, pyfixest) are imported lazily on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._hostdevices import configure as _configure_host_devices

_configure_host_devices()  # before anything imports JAX: one CPU device per core

from .errors import PanelError, SpecError, StructestError  # noqa: E402
from .panel import Panel  # noqa: E402
from .simulate import simulate  # noqa: E402  # eager: the function must shadow its module's name

__version__ = "0.1.0"

_LAZY = {
    "load_panel": "structest.datasets",
    "va_contents": "structest.datasets",
    "fit_reduced_form": "structest.reduced",
    "fit": "structest.structural",
    "load_model": "structest.structural",
    "counterfactual": "structest.counterfactuals",
}

__all__ = ["Panel", "PanelError", "SpecError", "StructestError", "__version__", "simulate", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # cache; also shadows a same-named submodule attribute
        return value
    raise AttributeError(f"module 'structest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
