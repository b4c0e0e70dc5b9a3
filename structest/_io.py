"""Files: atomic writes (a temporary file in the target folder, then ``os.replace``) and
the bundled ``data/`` and ``models/`` folders (in a checkout or an installed wheel)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path`` in one step.

    A reader never sees a half-written file; on error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _bundled(kind: str) -> Path:
    # installed wheel: files are force-included under structest/_bundled/<kind>
    inside = Path(str(resources.files("structest"))) / "_bundled" / kind
    if inside.is_dir():
        return inside
    # checkout / editable install: <repo>/<kind>
    repo = Path(__file__).resolve().parent.parent / kind
    if repo.is_dir():
        return repo
    raise FileNotFoundError(
        f"bundled '{kind}/' directory not found (looked in {inside} and {repo})"
    )


def data_dir() -> Path:
    """Directory holding the bundled data files and data card."""
    return _bundled("data")


def models_dir() -> Path:
    """Directory holding the bundled model specifications."""
    return _bundled("models")
