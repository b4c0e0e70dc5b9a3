"""How many XLA CPU devices JAX exposes: NUTS runs one chain per device in parallel.

Nothing here runs on import. :func:`set_host_devices` is the one explicit global setting;
the CLI calls it first thing, and :func:`structest.fit` calls it for parallel chains when
no JAX computation has run yet in the process.
"""

from __future__ import annotations

import os

from .errors import OptionError, SpecError

#: environment variable with the default device count (``1`` keeps JAX's single device)
ENV = "STRUCTEST_HOST_DEVICES"


def default_host_devices() -> int:
    """``$STRUCTEST_HOST_DEVICES`` if set (a positive integer), else the number of cores.

    Read when a command that runs JAX starts (not on import, not for ``--help``).

    Raises
    ------
    OptionError
        The variable is set to something other than a positive integer.
    """
    raw = os.environ.get(ENV, "")
    text = raw.strip()
    if not text:
        return os.cpu_count() or 1
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise OptionError(
            f"environment variable {ENV} must be a positive integer (e.g. {ENV}=1), got {raw!r}"
        )
    return n


def set_host_devices(n: int | None = None, *, strict: bool = True) -> int:
    """Expose ``n`` XLA CPU devices to JAX (``jax_num_cpu_devices``); returns the count in use.

    Parameters
    ----------
    n
        Devices wanted; None: :func:`default_host_devices`.
    strict
        JAX fixes the count when it runs its first computation. If that has happened and
        the count differs: raise (True) or keep the current count (False).

    Raises
    ------
    OptionError
        ``n`` (or ``$STRUCTEST_HOST_DEVICES``) is not a positive integer.
    SpecError
        (``strict``) JAX has started with another count.
    """
    import jax

    want = default_host_devices() if n is None else n
    if isinstance(want, bool) or not isinstance(want, int) or want < 1:
        raise OptionError(f"set_host_devices: n must be a positive integer, got {n!r}")
    try:
        jax.config.update("jax_num_cpu_devices", want)
    except RuntimeError as exc:
        have = jax.local_device_count()
        if have != want and strict:
            raise SpecError(
                f"set_host_devices({want}): JAX has already started with {have} device(s); "
                "call it before any JAX computation in the process"
            ) from exc
        return have
    return want
