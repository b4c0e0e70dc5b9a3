"""Importing structest changes no global state: XLA_FLAGS, JAX's x64 switch, JAX's device
count and matplotlib's backend are the caller's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, os
import matplotlib
backend = matplotlib.get_backend()
flags = os.environ.get("XLA_FLAGS")
import jax
x64 = bool(jax.config.jax_enable_x64)
cpu = jax.config.jax_num_cpu_devices
import structest
import structest.structural.likelihood
import structest.structural.sampling
import structest.report.plots
import structest.report.html
import structest.checks
import structest.counterfactuals
import structest.cli
print(json.dumps({
    "flags_same": os.environ.get("XLA_FLAGS") == flags,
    "x64_same": bool(jax.config.jax_enable_x64) == x64,
    "cpu_same": jax.config.jax_num_cpu_devices == cpu,
    "backend_same": matplotlib.get_backend() == backend,
    "backend": matplotlib.get_backend(),
}))
"""


def test_import_has_no_global_side_effects() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "MPLBACKEND")}
    env["MPLBACKEND"] = "svg"  # a backend that is not Agg, to see a switch
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res == {
        "flags_same": True,
        "x64_same": True,
        "cpu_same": True,
        "backend_same": True,
        "backend": "svg",
    }, out.stderr


def test_set_host_devices_is_explicit() -> None:
    """set_host_devices sets JAX's CPU device count before JAX starts, and refuses after."""
    script = (
        "import structest, jax\n"
        "n = structest.set_host_devices(3)\n"
        "print(n, jax.local_device_count())\n"
        "try:\n"
        "    structest.set_host_devices(2)\n"
        "except structest.StructestError as e:\n"
        "    print('refused')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["3", "3", "refused"], out.stderr


def test_reduced_forms_leave_logging_alone() -> None:
    """pyfixest configures the root logger at INFO when imported; structest's estimators
    import it without that change (else JAX's and others' INFO lines reach stderr)."""
    script = (
        "import logging, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import structest\n"
        "sim, _ = structest.simulate(seed=0)\n"
        "structest.fit_reduced_form(sim, 'tariff ~ log_dva | imp_ind_year + exp_ind_year')\n"
        "structest.fit_reduced_form(sim, 'tariff ~ log_dva | imp_ind_year', estimator='tobit')\n"
        "root = logging.getLogger()\n"
        "print(root.level, len(root.handlers))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(30), "0"], out.stderr
    assert "INFO" not in out.stderr
