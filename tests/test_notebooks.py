"""Every notebook in notebooks/ executes top to bottom (small draws under CI=true)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    stale = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs")]
    assert not stale, f"{path.name}: commit notebooks with outputs stripped (cells {stale})"
    os.environ.setdefault("CI", "true")  # notebooks read CI to use small draws
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    if path.stem == "tables":
        _check_table_files(tmp_path / "tables_out")


def _check_table_files(out: Path) -> None:
    """The tables notebook's LaTeX compiles (pdflatex, where installed) and its HTML
    renders in headless Chromium (where installed)."""
    import shutil
    import subprocess

    from conftest import CHROMIUM, run_chromium

    tex, html = out / "table.tex", out / "table.html"
    assert tex.stat().st_size > 0 and html.stat().st_size > 0
    if shutil.which("pdflatex"):
        doc = out / "doc.tex"
        doc.write_text(
            "\\documentclass{article}\n\\usepackage{booktabs,makecell,threeparttable}\n"
            "\\begin{document}\n" + tex.read_text() + "\n\\end{document}\n"
        )
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
            cwd=out,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0 and (out / "doc.pdf").exists(), run.stdout[-2000:]
    if CHROMIUM is not None:
        dom = run_chromium("--dump-dom", html.resolve().as_uri(), cwd=out)
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert "Posterior" in dom.stdout and "FE-Tobit" in dom.stdout
