"""Locate bundled files (``data/`` and ``models/``) in a checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


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
