"""The results of a sweep on disk: one NetCDF file per finished rep and a manifest.

Layout of a sweep folder::

    manifest.json      kind, the settings every rep shares, structest version, times
    reps/<rep>.nc      one table per rep (rows of the task's result), attributes:
                       rep, status ("ok" or "failed"), error, seconds, worker

Every file is written atomically (a temporary file, then a rename), so a sweep killed at
any moment leaves whole files only. A re-run on the same folder reads ``reps/`` and skips
the reps found there (resumable); its settings must match the manifest's (more reps may
be asked for). Only the process that runs the sweep writes (the workers return their
results to it), so the workers need no shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._io import atomic_write, atomic_write_bytes, check_output
from ..errors import InputFileError, OptionError, OutputError

#: manifest file name and the folder of per-rep files
MANIFEST = "manifest.json"
REPS = "reps"
#: a rep id: letters, digits, ``_ . -`` (it names a file)
REP_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
#: manifest format version
FORMAT = 1

_log = logging.getLogger(__name__)


def _jsonable(x: Any) -> Any:
    """``x`` as plain JSON values (tuples as lists, NumPy scalars as numbers, paths as str)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


def check_rep_id(rep: str) -> str:
    """Refuse a rep id that cannot name a file (:data:`REP_ID`).

    Raises
    ------
    OptionError
        ``rep`` is not a string of letters, digits, ``_ . -`` (first not ``.`` or ``-``).
    """
    if not isinstance(rep, str) or not REP_ID.match(rep):
        raise OptionError(
            f"sweep: rep id {rep!r} must be 1-100 letters, digits, '_', '.' or '-' "
            "(not starting with '.' or '-')"
        )
    return rep


class SweepStore:
    """A sweep folder (see the module docstring).

    Parameters
    ----------
    out
        The folder (created by :meth:`open`).
    kind
        ``"coverage"``, ``"sbc"``, ``"priors"``, ``"scenarios"`` or a caller's own kind.
    config
        The settings every rep shares (JSON values); a re-run must give the same.
    """

    def __init__(self, out: str | Path, kind: str, config: Mapping[str, Any]):
        self.out = Path(out).expanduser()
        self.kind = str(kind)
        self.config = _jsonable(dict(config))

    # ------------------------------------------------------------------ set-up
    @property
    def manifest_path(self) -> Path:
        return self.out / MANIFEST

    @property
    def reps_dir(self) -> Path:
        return self.out / REPS

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when the folder has none.

        Raises
        ------
        InputFileError
            The manifest exists but is not a JSON object of a sweep.
        """
        p = self.manifest_path
        if not os.path.lexists(p):
            return None
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            msg = " ".join(str(exc).split())[:160]
            raise InputFileError(
                f"--out {self.out}: {MANIFEST} is not readable JSON ({msg})"
            ) from None
        if not isinstance(d, dict) or "kind" not in d or "config" not in d:
            raise InputFileError(
                f"--out {self.out}: {MANIFEST} is not a sweep manifest (no 'kind'/'config')"
            )
        return d

    def check(self) -> None:
        """Refuse a folder that is not this sweep's (before any work; creates nothing).

        Raises
        ------
        OutputError
            ``out`` is a file, an unwritable place, a non-empty folder without a
            manifest, or a sweep of another kind or with other settings.
        InputFileError
            Its manifest is malformed.
        """
        check_output(self.out, kind="dir", contents={MANIFEST: "", REPS: "dir"})
        if not self.out.is_dir():
            return
        m = self.read_manifest()
        if m is None:
            if any(self.out.iterdir()):
                raise OutputError(
                    f"--out {self.out}: a non-empty folder that is not a sweep folder (no "
                    f"{MANIFEST}); give a new or empty folder"
                )
            return
        if m["kind"] != self.kind:
            raise OutputError(
                f"--out {self.out} holds a '{m['kind']}' sweep, not '{self.kind}'; give "
                "another folder"
            )
        if m["config"] != self.config:
            diff = sorted(
                k
                for k in set(m["config"]) | set(self.config)
                if m["config"].get(k) != self.config.get(k)
            )
            shown = ", ".join(
                f"{k}: {m['config'].get(k)!r} there, {self.config.get(k)!r} now" for k in diff[:4]
            )
            raise OutputError(
                f"--out {self.out} holds a sweep with other settings ({shown}); resume it "
                "with the same settings or give another folder"
            )

    def open(self) -> SweepStore:
        """:meth:`check`, then create the folder and its manifest (kept if present)."""
        self.check()
        self.reps_dir.mkdir(parents=True, exist_ok=True)
        if self.read_manifest() is None:
            self._write_manifest({"created": time.strftime("%Y-%m-%dT%H:%M:%S")})
        return self

    def _write_manifest(self, extra: Mapping[str, Any]) -> None:
        from .. import __version__

        old = self.read_manifest() or {}
        d = {
            "format": FORMAT,
            "kind": self.kind,
            "config": self.config,
            "structest": __version__,
            **{k: v for k, v in old.items() if k not in ("format", "kind", "config")},
            **_jsonable(dict(extra)),
        }
        atomic_write_bytes(self.manifest_path, (json.dumps(d, indent=2) + "\n").encode())

    def update_manifest(self, **extra: Any) -> None:
        """Add or replace top-level entries of the manifest (e.g. counts at the end)."""
        self._write_manifest(extra)

    # ------------------------------------------------------------------ reps
    def rep_path(self, rep: str) -> Path:
        return self.reps_dir / f"{check_rep_id(rep)}.nc"

    def write(self, rep: str, table: pd.DataFrame | None, **attrs: Any) -> Path:
        """Store one rep's table (atomically) with ``attrs`` (status, error, seconds...).

        The file is NetCDF-4 (``xarray.open_dataset(path)`` reads it): one variable per
        column over the dimension ``row``; strings variable-length, booleans as int8 with
        the attribute ``dtype = "bool"``.
        """
        path = self.rep_path(rep)
        df = pd.DataFrame() if table is None else pd.DataFrame(table).reset_index(drop=True)
        meta = {"rep": rep, "status": "ok", "error": "", **_jsonable(attrs)}
        meta["columns"] = [str(c) for c in df.columns]
        return atomic_write(path, lambda tmp: _write_table(tmp, df, meta))

    def attrs(self, rep: str) -> dict[str, Any]:
        """One rep's attributes (without reading its table).

        Raises
        ------
        InputFileError
            The file is missing or not a readable rep file.
        """
        return _read(self.rep_path(rep), table=False)[1]

    def read(self, rep: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        """One rep's table and attributes.

        Raises
        ------
        InputFileError
            The file is missing or not a readable rep file.
        """
        return _read(self.rep_path(rep), table=True)

    def finished(self) -> dict[str, dict[str, Any]]:
        """Reps on disk -> their attributes (status ``ok`` or ``failed``).

        A file that cannot be read (not written by a sweep: writes are atomic) is left out
        with a warning, so the rep runs again and replaces it.
        """
        out: dict[str, dict[str, Any]] = {}
        if not self.reps_dir.is_dir():
            return out
        for p in sorted(self.reps_dir.glob("*.nc")):
            rep = p.stem
            if not REP_ID.match(rep):
                continue
            try:
                attrs = self.attrs(rep)
            except InputFileError as exc:
                _log.warning("%s; the rep runs again", exc)
                continue
            out[rep] = attrs
        return out

    def table(self, reps: list[str] | None = None) -> pd.DataFrame:
        """The rows of every finished ``ok`` rep (or of those of ``reps`` on disk), with a
        ``rep`` column (the rep id, unless the task's table has its own)."""
        names = sorted(self.finished()) if reps is None else reps
        frames = []
        for rep in names:
            try:
                df, attrs = self.read(rep)
            except InputFileError:
                continue
            if attrs.get("status") != "ok":
                continue
            frames.append(df.assign(rep=rep) if "rep" not in df.columns else df)
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def failures(self) -> dict[str, str]:
        """Reps stored as failed -> their one-line error."""
        return {
            r: str(a.get("error", ""))
            for r, a in self.finished().items()
            if a.get("status") == "failed"
        }


def rep_ids(n: int) -> list[str]:
    """``["rep-00000", ...]``: the ids of ``n`` numbered reps."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OptionError(f"sweep: reps must be a positive integer, got {n!r}")
    return [f"rep-{i:05d}" for i in range(int(n))]


def _write_table(path: str, df: pd.DataFrame, meta: Mapping[str, Any]) -> None:
    """Write ``df`` and ``meta`` as a NetCDF-4 file (h5netcdf, no xarray: fast)."""
    import h5netcdf
    import h5py

    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"row": len(df)}
        for c in df.columns:
            col = df[c]
            kind = col.dtype.kind
            if kind == "b":
                v = f.create_variable(str(c), ("row",), dtype="i1")
                v[:] = col.to_numpy().astype("i1")
                v.attrs["dtype"] = "bool"
            elif kind in "iu":
                v = f.create_variable(str(c), ("row",), dtype="i8")
                v[:] = col.to_numpy().astype("i8")
            elif kind == "f":
                v = f.create_variable(str(c), ("row",), dtype="f8")
                v[:] = col.to_numpy().astype("f8")
            else:  # strings and anything else, as text
                v = f.create_variable(str(c), ("row",), dtype=h5py.string_dtype())
                v[:] = np.array([str(x) for x in col], dtype=object)
        for k, val in meta.items():
            f.attrs[k] = json.dumps(val) if isinstance(val, (dict, list)) else val


def _attr(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _read(path: Path, *, table: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A rep file's table (empty unless ``table``) and attributes."""
    import h5netcdf

    try:
        with h5netcdf.File(path, "r") as f:
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
            cols: dict[str, Any] = {}
            if table:
                for name in json.loads(attrs.get("columns", "[]")):
                    var = f.variables[name]
                    data = var[...]
                    if var.attrs.get("dtype") == "bool":
                        data = data.astype(bool)
                    elif data.dtype == object:
                        data = np.array([_attr(x) for x in data], dtype=object)
                    cols[name] = data
    except Exception as exc:  # h5py raises many types on a bad file
        msg = " ".join(str(exc).split())[:160]
        raise InputFileError(f"sweep: {path} is not a readable rep file ({msg})") from None
    if "status" not in attrs:
        raise InputFileError(f"sweep: {path} is not a rep file of a sweep (no 'status')")
    attrs["columns"] = json.loads(attrs.get("columns", "[]"))
    return pd.DataFrame(cols), attrs
