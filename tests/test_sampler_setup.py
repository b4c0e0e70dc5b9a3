"""How NUTS is set up: the mass-matrix blocks, the warm-up tree depth, the compiled
initialisation and the on-disk compilation cache."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import structest
from structest._devices import CACHE_ENV, default_compilation_cache, set_compilation_cache
from structest.errors import OptionError
from structest.structural.backends.numpyro import WARMUP_TREE_DEPTH, _nuts, model
from structest.structural.design import build_design
from structest.structural.program import Layout, site_table
from structest.structural.spec import DEFAULT_MODEL, load_model


@pytest.fixture(scope="module")
def default_design():
    panel, _ = structest.simulate(
        seed=5, economies=("USA", "CHN", "DEU", "JPN", "BRA"), industries=("c3", "c4")
    )
    spec = load_model(DEFAULT_MODEL)
    design = build_design(panel, spec)
    return spec, design, Layout.of(design)


def test_kernel_settings(default_design):
    spec, design, layout = default_design
    sites = site_table(spec, layout, design.arrays)
    kernel = _nuts(sites, 0.9)
    # the scalars share one dense block; the vectors (effects, group deviations) stay diagonal
    assert kernel._dense_mass == [tuple(sites.sampled_scalars())]
    assert not any(k.startswith("z_") for k in kernel._dense_mass[0])
    # warm-up trees at most 2**8 - 1 steps, the draws' up to 2**10 - 1
    assert kernel._max_tree_depth == (WARMUP_TREE_DEPTH, 10)
    assert kernel._target_accept_prob == 0.9


def test_compiled_initialisation_matches_numpyros_own(default_design):
    """The jitted kernel initialisation and NumPyro's op-by-op one give the same first state
    (same point, potential, gradient and first step size) up to rounding."""
    spec, design, layout = default_design
    sites = site_table(spec, layout, design.arrays)
    with jax.enable_x64(True):
        arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
        args = (arrays, spec, layout, True)
        key = jax.random.PRNGKey(11)
        states = [
            _nuts(sites, 0.95, model, jit_init=j).init(key, 50, None, args, {})
            for j in (True, False)
        ]
    a, b = states
    assert a.z.keys() == b.z.keys()
    for k in a.z:
        np.testing.assert_allclose(np.asarray(a.z[k]), np.asarray(b.z[k]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(float(a.potential_energy), float(b.potential_energy), rtol=1e-10)
    for k in a.z_grad:
        np.testing.assert_allclose(
            np.asarray(a.z_grad[k]), np.asarray(b.z_grad[k]), rtol=1e-7, atol=1e-9
        )
    np.testing.assert_allclose(
        float(a.adapt_state.step_size), float(b.adapt_state.step_size), rtol=1e-6
    )


@pytest.fixture
def _restore_cache_config():
    keys = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )
    before = {k: getattr(jax.config, k) for k in keys}
    yield
    for k, v in before.items():
        jax.config.update(k, v)


def test_default_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_compilation_cache() == os.path.join(str(tmp_path), "structest", "jax")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert default_compilation_cache() == str(tmp_path / "mine")
    for off in ("off", "OFF", "0", "none"):
        monkeypatch.setenv(CACHE_ENV, off)
        assert default_compilation_cache() is None


def test_set_compilation_cache(monkeypatch, tmp_path, _restore_cache_config):
    where = tmp_path / "cache"
    assert set_compilation_cache(where) == str(where)
    assert where.is_dir()
    assert jax.config.jax_compilation_cache_dir == str(where)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
    monkeypatch.setenv(CACHE_ENV, "off")
    assert set_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir is None
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OptionError, match="a_file.*compilation cache folder"):
        set_compilation_cache(blocker)
    assert structest.set_compilation_cache is set_compilation_cache


def test_unusable_cache_folder_does_not_stop_the_cli(tmp_path, caplog, _restore_cache_config):
    """The CLI's call (strict=False): a warning naming the folder, no cache, and the run
    goes on."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with caplog.at_level("WARNING", logger="structest"):
        assert set_compilation_cache(blocker / "jax", strict=False) is None
    assert "a_file" in caplog.text and "going on without it" in caplog.text
