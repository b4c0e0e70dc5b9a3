"""The built wheel carries data/ and models/ and works outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(tmp.glob("structest-*.whl"))
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    return site


def test_wheel_loads_bundled_files(installed_wheel, tmp_path):
    code = textwrap.dedent(
        """
        import structest
        from structest._io import data_dir, models_dir
        assert "_bundled" in str(data_dir()), data_dir()
        p = structest.load_panel()
        assert len(p) > 3000
        va = structest.va_contents(2009)
        assert va.dims == ("source", "producer", "industry")
        print(structest.__file__)
        try:
            import structest.structural  # noqa: F401
        except ModuleNotFoundError:
            pass
        else:
            spec = structest.load_model("bbj")
            assert "_bundled" in str(models_dir())
            print(type(spec).__name__)
        """
    )
    env = {"PYTHONPATH": str(installed_wheel), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert str(installed_wheel) in out.stdout


def test_pymc_backend_without_pymc_says_how_to_get_it(monkeypatch):
    """PyMC is the optional extra structest[pymc]: without it the PyMC front end refuses in
    one line naming the extra, and the default NumPyro backend does not need it."""
    import sys

    import structest
    from structest.structural.backends.pymc import import_pymc

    monkeypatch.setitem(sys.modules, "pymc", None)  # `import pymc` raises ImportError
    with pytest.raises(structest.StructestError, match=r"structest\[pymc\]"):
        import_pymc()


def test_pymc_is_an_extra_not_a_core_dependency():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("pymc") for d in meta["dependencies"])
    assert any(d.startswith("pymc") for d in meta["optional-dependencies"]["pymc"])
    assert not any(d.startswith("tqdm") for d in meta["dependencies"])
