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


#: environment variable for the compilation cache: a folder, or ``off`` (see
#: :func:`set_compilation_cache`)
CACHE_ENV = "STRUCTEST_COMPILATION_CACHE"
_CACHE_OFF = ("off", "0", "no", "none", "false")


def default_compilation_cache() -> str | None:
    """``$STRUCTEST_COMPILATION_CACHE`` if set (None when it says ``off``), else
    ``$XDG_CACHE_HOME/structest/jax`` (``~/.cache/structest/jax``)."""
    raw = os.environ.get(CACHE_ENV, "").strip()
    if raw.lower() in _CACHE_OFF and raw:
        return None
    if raw:
        return os.path.expanduser(raw)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "structest", "jax")


def set_compilation_cache(
    path: str | os.PathLike[str] | None = "default", *, strict: bool = True
) -> str | None:
    """Keep JAX's compiled programs on disk, so a later process reuses them (explicit global
    setting; the CLI's fitting commands call it first thing). Returns the folder, or None.

    A fit compiles its sampler, its initialisation and a few hundred one-operation programs
    (NumPyro traces the model op by op); on a 2-core CPU that is 20-30 s of a bundled-panel
    fit, and with the cache warm a repeated 10 + 10 draw fit of the default model took
    11 s instead of 33 s. Every program is cached however quickly it compiled
    (``jax_persistent_cache_min_compile_time_secs = 0``); about 4 MB per model.

    Parameters
    ----------
    path
        The folder; ``"default"``: :func:`default_compilation_cache`; None: turn the cache
        off for this process.
    strict
        When the folder cannot be used: raise (True), or log a warning on the ``structest``
        logger and go on without a cache (False; what the CLI does, so a read-only home
        folder costs compilation time, not the run).

    Raises
    ------
    OptionError
        (``strict``) ``path`` exists and is not a folder, or cannot be created.
    """
    import jax

    where = default_compilation_cache() if path == "default" else path
    if where is None:
        jax.config.update("jax_compilation_cache_dir", None)
        return None
    where = os.fspath(where)
    try:
        os.makedirs(where, exist_ok=True)
    except OSError as exc:
        message = (
            f"set_compilation_cache: cannot use {where!r} as the compilation cache folder "
            f"({exc.strerror or exc}); pass another folder or set {CACHE_ENV}=off"
        )
        if strict:
            raise OptionError(message) from exc
        import logging

        logging.getLogger("structest").warning("%s; going on without it", message)
        return None
    jax.config.update("jax_compilation_cache_dir", where)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return where
