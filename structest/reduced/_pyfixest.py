"""pyfixest, imported without changing the caller's logging.

``pyfixest.estimation`` calls ``logging.basicConfig(level=logging.INFO)`` when imported,
which would print every library's INFO messages (e.g. JAX's backend probing) on stderr.
"""

from __future__ import annotations

import logging
from types import ModuleType


def import_pyfixest() -> ModuleType:
    """The ``pyfixest`` module, with the root logger's level and handlers left as they were."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    try:
        import pyfixest
        import pyfixest.estimation  # noqa: F401  (the module that configures logging)
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    return pyfixest
