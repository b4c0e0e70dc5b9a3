"""Observations sharded across JAX devices (``jax.sharding``): one fit, several devices.

:func:`shard_design` puts the per-observation arrays of a
:class:`~structest.structural.design.Design` on a 1-D :class:`jax.sharding.Mesh` of the
devices (axis :data:`AXIS`), split along the observations with a
:class:`~jax.sharding.NamedSharding`; the arrays over effect levels (``xbar_<e>``,
``mfnbar_<e>``) are replicated, and so are the parameters (the sampler's values). Jitted
code on such arrays runs as one SPMD program: XLA splits the elementwise work and the sum
of the log-likelihood over the devices and adds the partial sums.

Each device gets the same number of rows: each kind's block is padded (at most
``n_dev - 1`` rows per kind) with copies of observation 0 marked uninformative
(``kind = NONE``), which add exactly 0 to the log-likelihood and to its gradient. Their
effect indices point one past the last level, which cell sums
(:func:`structest.structural.likelihood.cell_means`) drop and gathers clamp, so the cell
means of a centred effect are those of the real observations. The mask
``arrays["obs_weight"]`` (1.0 real, 0.0 padding) says which rows are real. A Student-t
scale mixture samples one latent precision per row (``Layout.of`` a sharded design counts
the padded rows): those of padding rows meet no data and keep their Gamma prior, so the
posterior of everything else is unchanged.

The likelihood's fast path gathers the observations of each kind (``sel_exact``,
``sel_right``, ``sel_left``), which would move observations between devices; a sharded
design drops those selectors and instead orders each shard by kind, so that every device
holds one block of uncensored, right- and left-censored observations.
:func:`~structest.structural.likelihood.loglik` then evaluates each term on those blocks
only (:func:`~structest.structural.likelihood.loglik_blocks`: the fast path's work, split
over the devices).

Jitted code keeps the split only when the arrays enter it as arguments: a closed-over
array becomes an (unsharded) constant of the program, so NumPyro must run with
``MCMC(..., jit_model_args=True)`` on a sharded design. Nothing here changes a JAX
setting; the device count of the CPU backend is fixed when JAX starts
(:func:`structest.set_host_devices`, or
``XLA_FLAGS=--xla_force_host_platform_device_count=K``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import OptionError
from .design import Design
from .likelihood import EXACT, LEFT, NONE, RIGHT, loglik_blocks

__all__ = [
    "AXIS",
    "PAD_WEIGHT",
    "check_shard_option",
    "for_sampling",
    "is_sharded",
    "loglik_blocks",
    "n_real",
    "obs_mesh",
    "resolve_devices",
    "shard_design",
    "unpad",
]

#: name of the mesh axis the observations are split along
AXIS = "obs"
#: key of the mask of real observations in a sharded design's arrays
PAD_WEIGHT = "obs_weight"
#: arrays over effect levels (replicated on every device), by key prefix
_PER_LEVEL = ("xbar_", "mfnbar_")
#: arrays of positions of the observations of each kind (the likelihood's fast path)
_SELECTORS = {"sel_exact": EXACT, "sel_right": RIGHT, "sel_left": LEFT}


def resolve_devices(devices: Any = None) -> list[Any]:
    """The JAX devices to shard over.

    Parameters
    ----------
    devices
        None or True: every device of JAX's default backend; an integer ``k``: the first
        ``k`` of them; or a sequence of :class:`jax.Device`.

    Raises
    ------
    OptionError
        ``k`` is not a positive integer, exceeds the devices there are, or the sequence is
        empty, holds something other than devices, or repeats one.
    """
    import jax

    have = jax.devices()
    hint = (
        "on CPU, start Python with XLA_FLAGS=--xla_force_host_platform_device_count=K "
        "or call structest.set_host_devices(K) before any JAX work"
    )
    if devices is None or devices is True:
        return list(have)
    if isinstance(devices, (bool, np.bool_)):
        raise OptionError(
            "shard_observations/devices must be True, a positive integer or a list of JAX "
            f"devices, got {devices!r}"
        )
    if isinstance(devices, (int, np.integer)):
        k = int(devices)
        if k < 1:
            raise OptionError(
                f"devices must be a positive integer (number of devices to shard over), got {k}"
            )
        if k > len(have):
            raise OptionError(
                f"devices={k}: JAX has only {len(have)} {have[0].platform} device(s); {hint}"
            )
        return list(have[:k])
    if isinstance(devices, (str, bytes)) or not isinstance(devices, Sequence):
        raise OptionError(
            "devices must be None, a positive integer or a list of JAX devices, got "
            f"{type(devices).__name__} {devices!r}"
        )
    out = list(devices)
    if not out:
        raise OptionError("devices: the list of devices to shard over is empty")
    bad = [d for d in out if not isinstance(d, jax.Device)]
    if bad:
        raise OptionError(
            f"devices: expected JAX devices (jax.devices()), got {type(bad[0]).__name__} {bad[0]!r}"
        )
    if len({d.id for d in out}) != len(out):
        raise OptionError(f"devices: a device appears more than once in {out}")
    return out


def obs_mesh(devices: Any = None) -> Any:
    """A 1-D :class:`jax.sharding.Mesh` of the devices with axis :data:`AXIS`."""
    from jax.sharding import Mesh

    return Mesh(np.asarray(resolve_devices(devices), dtype=object), (AXIS,))


def _is_per_obs(key: str, value: np.ndarray, n: int) -> bool:
    if key.startswith(_PER_LEVEL) or key in _SELECTORS:
        return False
    return value.ndim >= 1 and value.shape[0] == n


def _layout(kind: np.ndarray, n_dev: int) -> tuple[np.ndarray, dict[str, int]]:
    """Row order of the padded design and the width of each kind's block.

    Returns ``order`` (``order[j]``: the observation in row ``j``, -1 for padding) and
    ``kind -> B`` for the blocks ``exact``, ``right``, ``left``, ``rest``. Device ``d``
    holds rows ``d*L .. (d+1)*L - 1`` with ``L`` the sum of the widths: ``B_exact``
    uncensored observations, then ``B_right`` right-censored, ``B_left`` left-censored
    and ``B_rest`` uninformative ones; each kind is dealt to the devices in contiguous
    runs of ``B`` (``ceil(count / n_dev)``), and the devices whose run is short are padded.
    """
    kinds = {
        "exact": np.flatnonzero(kind == EXACT),
        "right": np.flatnonzero(kind == RIGHT),
        "left": np.flatnonzero(kind == LEFT),
        "rest": np.flatnonzero(~np.isin(kind, (EXACT, RIGHT, LEFT))),
    }
    widths = {k: int(-(-v.size // n_dev)) for k, v in kinds.items()}
    order = np.full((n_dev, sum(widths.values())), -1, dtype=np.int64)
    start = 0
    for k, idx in kinds.items():
        b = widths[k]
        for d in range(n_dev):
            part = idx[d * b : (d + 1) * b]
            order[d, start : start + part.size] = part
        start += b
    return order.reshape(-1), widths


def shard_design(design: Design, devices: Any = None) -> Design:
    """The design with its observations split across devices (see the module docstring).

    Parameters
    ----------
    design
        From :func:`~structest.structural.design.build_design`.
    devices
        As :func:`resolve_devices` (None: every device).

    Returns
    -------
    Design
        Same levels and groups; ``arrays`` are :class:`jax.Array` on the mesh: the
        per-observation arrays padded to ``n_dev * L`` rows and sharded along
        :data:`AXIS` (within each shard the observations are ordered by kind), the arrays
        over effect levels replicated. Added: ``obs_weight`` (1.0 real row, 0.0 padding),
        ``obs_order`` (original position of each row, -1 for padding) and the per-device
        block masks ``blk_exact``, ``blk_right``, ``blk_left`` (float[n_dev, B], sharded on
        their first axis). The selectors ``sel_*`` are dropped: on these arrays
        :func:`structest.structural.likelihood.loglik` evaluates each term on each
        device's own blocks (:func:`~structest.structural.likelihood.loglik_blocks`). :func:`unpad` brings a per-row result back to
        the original order.

    Raises
    ------
    OptionError
        Bad ``devices`` (:func:`resolve_devices`), or a design that is already sharded.
    """
    import jax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    if is_sharded(design):
        raise OptionError("shard_design: the design is already sharded (it has 'obs_weight')")
    devs = resolve_devices(devices)
    n_dev = len(devs)
    mesh = obs_mesh(devs)
    arrays = {k: np.asarray(v) for k, v in design.arrays.items()}
    n = design.n
    order, widths = _layout(arrays["kind"].astype(np.int64), n_dev)
    pad = order < 0
    src = np.where(pad, 0, order)  # padding: copies of observation 0 (finite values)
    rows: dict[str, np.ndarray] = {}
    for key, v in arrays.items():
        if not _is_per_obs(key, v, n):
            continue
        col = v[src]
        if key.startswith("idx_"):
            # one past the last level: cell sums drop it, gathers clamp it
            col[pad] = len(design.levels[key[4:]])
        rows[key] = col
    rows["kind"][pad] = NONE
    weight = (~pad).astype(np.float64)
    rows[PAD_WEIGHT] = weight
    rows["obs_order"] = order
    per_dev = weight.reshape(n_dev, -1)
    blocks: dict[str, np.ndarray] = {}
    start = 0
    for k in ("exact", "right", "left"):
        blocks[f"blk_{k}"] = np.ascontiguousarray(per_dev[:, start : start + widths[k]])
        start += widths[k]
    on_rows = NamedSharding(mesh, P(AXIS))
    on_blocks = NamedSharding(mesh, P(AXIS, None))
    every = NamedSharding(mesh, P())
    with jax.enable_x64(True):  # the data keep float64 / int64 whatever the caller's scope
        placed: dict[str, Any] = {k: jax.device_put(v, on_rows) for k, v in rows.items()}
        placed.update({k: jax.device_put(v, on_blocks) for k, v in blocks.items()})
        for key, v in arrays.items():
            if key not in rows and key not in _SELECTORS:
                placed[key] = jax.device_put(v, every)
    return replace(design, arrays=placed)


def check_shard_option(shard_observations: Any) -> bool | int:
    """Validate the fit option ``shard_observations`` without starting JAX.

    Returns False (no sharding), True (every device) or the device count ``k >= 1``.

    Raises
    ------
    OptionError
        Not True, False, None or a positive integer.
    """
    if shard_observations is None:
        return False
    if isinstance(shard_observations, (bool, np.bool_)):
        return bool(shard_observations)
    if not isinstance(shard_observations, (int, np.integer)) or shard_observations < 1:
        shown = (
            repr(shard_observations)
            if isinstance(shard_observations, (int, np.integer))
            else f"{type(shard_observations).__name__} {shard_observations!r}"
        )
        raise OptionError(
            "fit: shard_observations must be True, False or a positive integer (devices), "
            f"got {shown}"
        )
    return int(shard_observations)


def for_sampling(design: Design, shard_observations: Any = False) -> Design:
    """The design the sampler runs on: ``design`` itself (``shard_observations`` False), or
    :func:`shard_design` over every device (True) or the first ``k`` (an integer ``k``).

    Raises
    ------
    OptionError
        ``shard_observations`` is not True, False or a positive integer
        (:func:`check_shard_option`), or asks for more devices than JAX has.
    """
    value = check_shard_option(shard_observations)
    if value is False:
        return design
    return shard_design(design, None if value is True else value)


def is_sharded(design: Design) -> bool:
    """Whether ``design`` comes from :func:`shard_design`."""
    return PAD_WEIGHT in design.arrays


def n_real(design: Design) -> int:
    """Number of real (not padding) observations of a design, sharded or not."""
    if is_sharded(design):
        return int(np.asarray(design.arrays[PAD_WEIGHT]).sum())
    return design.n


def unpad(values: Any, design: Design) -> np.ndarray:
    """A per-row array of a sharded design (last axis: rows) in the original order,
    without the padding rows."""
    v = np.asarray(values)
    if not is_sharded(design):
        return v
    order = np.asarray(design.arrays["obs_order"])
    keep = order >= 0
    out = np.empty(v.shape[:-1] + (int(keep.sum()),), dtype=v.dtype)
    out[..., order[keep]] = v[..., keep]
    return out
