"""Observations sharded across JAX devices (structest.structural.sharding).

The equality checks run in ONE subprocess started with two XLA host devices
(``--xla_force_host_platform_device_count=2``) and 64-bit floats: the sharded log density
of the whole model (priors, centred-effect cell means, likelihood) and its gradient equal
the unsharded ones to 1e-10 (relative), on the bundled panel (3,071 rows, odd) and on odd
synthetic panels of the model variants (contaminated errors with sigma by regime and
MFN-scaled errors, Student-t scale mixture, group-varying parameters, Mundlak effects).
The in-process tests cover the layout, the bad options and a one-device mesh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import structest
from structest.errors import OptionError, StructestError
from structest.structural import sharding as sh
from structest.structural.design import build_design
from structest.structural.likelihood import EXACT, LEFT, NONE, RIGHT, loglik, loglik_pointwise
from structest.structural.spec import load_model

RTOL = 1e-10

#: run in the subprocess: prints one JSON line per case
SCRIPT = textwrap.dedent(
    r"""
    import json, os
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import numpyro.distributions as nd
    from numpyro import handlers
    from numpyro.infer.util import log_density

    import structest
    from structest.errors import OptionError
    from structest.panel import Panel
    from structest.structural import sharding as sh
    from structest.structural.backends.numpyro import NumpyroBuilder, model
    from structest.structural.design import build_design
    from structest.structural.likelihood import loglik
    from structest.structural.program import Layout, structural_program
    from structest.structural.spec import load_model
    from structest.structural.worlds import simulate_model

    assert jax.device_count() == 2, jax.devices()


    def odd_panel(name, seed):
        econ = ("AUS", "CHN", "USA")
        panel, _ = simulate_model(name, seed, economies=econ, years=(1995, 2000, 2009))
        df = panel.df.drop(columns=["tstar_true"]).iloc[:-1]
        return Panel.from_frame(df)


    def rel(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        scale = max(1.0, float(np.max(np.abs(a))) if a.size else 1.0)
        return float(np.max(np.abs(a - b)) / scale) if a.size else 0.0


    def case(label, panel, name, whole=True):
        spec = load_model(name)
        d = build_design(panel, spec)
        s = sh.shard_design(d, 2)
        lay, slay = Layout.of(d), Layout.of(s)
        arr = {k: jnp.asarray(v) for k, v in d.arrays.items()}
        tr = handlers.trace(handlers.seed(model, rng_seed=7)).get_trace(arr, spec, lay, False)
        draw = {k: v["value"] for k, v in tr.items() if v["type"] == "sample"}
        order = np.asarray(s.arrays["obs_order"])
        real = order >= 0
        sdraw = dict(draw)
        if "prec" in draw:  # latent precisions: one per row, padding rows at 1.0
            pr = np.ones(order.size)
            pr[real] = np.asarray(draw["prec"])[order[real]]
            sdraw["prec"] = jnp.asarray(pr)

        def full(q):
            return log_density(model, (arr, spec, lay, True), {}, q)[0]

        def sharded(q):
            out = log_density(model, (s.arrays, spec, slay, True), {}, q)[0]
            if "prec" in q:  # the padding rows' precisions enter through their prior only
                nu = q["nu"]
                out = out - jnp.sum(
                    jnp.where(real, 0.0, nd.Gamma(nu / 2, nu / 2).log_prob(q["prec"]))
                )
            return out

        v0 = v1 = 0.0
        g0, g1, gdiff = {}, {}, {"none": 0.0}
        if whole:  # the whole model's log density (priors, cell means, likelihood)
            v0, g0 = jax.jit(jax.value_and_grad(full))(draw)
            v1, g1 = jax.jit(jax.value_and_grad(sharded))(sdraw)
        for k in g0:
            b = np.asarray(g1[k])
            if k == "prec":
                assert np.all(b[~real] == 0.0)
                b = sh.unpad(b, s)
            gdiff[k] = rel(g0[k], b)
        # the likelihood alone: loglik vs loglik_blocks, same params
        with handlers.seed(rng_seed=7), handlers.substitute(data=draw):
            p0 = structural_program(NumpyroBuilder(), spec, lay, arr, likelihood=False)
        p1 = dict(p0)
        if "prec" in p1:
            p1["prec"] = sdraw["prec"]
        l0, h0 = jax.jit(jax.value_and_grad(loglik))(p0, arr)
        l1, h1 = jax.jit(jax.value_and_grad(sh.loglik_blocks))(p1, s.arrays)
        hdiff = {
            k: rel(h0[k], sh.unpad(h1[k], s) if k == "prec" else h1[k]) for k in h0
        }
        t = s.arrays["tariff"]
        return {
            "case": label,
            "n": d.n,
            "rows": s.n,
            "n_real": sh.n_real(s),
            "shards": sorted(x.data.shape[0] for x in t.addressable_shards),
            "devices": t.sharding.num_devices,
            "per_level_replicated": {
                k: v.sharding.is_fully_replicated
                for k, v in s.arrays.items()
                if k.startswith(("xbar_", "mfnbar_"))
            },
            "whole": whole,
            "logdensity": float(v0),
            "ld_rel": abs(float(v1) - float(v0)) / max(1.0, abs(float(v0))),
            "grad_rel": max(gdiff.values()),
            "grad_sites": sorted(gdiff),
            "loglik_rel": abs(float(l1) - float(l0)) / abs(float(l0)),
            "loglik_grad_rel": max(hdiff.values()),
        }


    out = [case("bundled/bbj", structest.load_panel(), "bbj")]
    out.append(case("odd/bbj_t", odd_panel("bbj_t", 1), "bbj_t"))
    for i, name in enumerate(["bbj_mfn", "bbj_hier"]):  # the likelihood only
        out.append(case(f"odd/{name}", odd_panel(name, i + 2), name, whole=False))
    d = build_design(structest.load_panel(), load_model("bbj"))
    errors = {}
    for k in (3, 0):
        try:
            sh.shard_design(d, k)
            errors[k] = None
        except OptionError as exc:
            errors[k] = str(exc)
    print(json.dumps({"cases": out, "errors": errors}))
    """
)


@pytest.fixture(scope="module")
def two_devices() -> dict:
    """Run :data:`SCRIPT` once with two XLA host devices and x64."""
    return _on_two_devices(SCRIPT, JAX_ENABLE_X64="1")


def _on_two_devices(script: str, **env: str) -> dict:
    """Run ``script`` in a Python with two XLA host devices; its last stdout line (JSON)."""
    full = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "STRUCTEST_HOST_DEVICES": "2",
        **env,
    }
    res = subprocess.run(
        [sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


CASES = ["bundled/bbj", "odd/bbj_t", "odd/bbj_mfn", "odd/bbj_hier"]


@pytest.mark.parametrize("label", CASES)
def test_sharded_log_density_equals_unsharded(two_devices: dict, label: str) -> None:
    case = {c["case"]: c for c in two_devices["cases"]}[label]
    assert case["n"] % 2 == 1  # every panel here has an odd number of rows
    assert case["devices"] == 2
    assert case["n_real"] == case["n"]
    assert case["rows"] % 2 == 0 and case["rows"] - case["n"] <= 4 * (2 - 1)
    assert case["shards"] == [case["rows"] // 2] * 2  # split evenly, each device its half
    if case["whole"]:
        assert np.isfinite(case["logdensity"]) and case["logdensity"] < 0
        assert case["ld_rel"] <= RTOL, case
        assert case["grad_rel"] <= RTOL, case
        assert {"sigma", "eps", "z_exp_ind_year", "m_imp_ind_year"} <= set(case["grad_sites"])
    assert case["loglik_rel"] <= RTOL, case
    assert case["loglik_grad_rel"] <= RTOL, case


def test_bundled_case_matches_known_size(two_devices: dict) -> None:
    case = two_devices["cases"][0]
    assert case["n"] == 3071 and case["rows"] == 3072  # one padding row
    mfn = {c["case"]: c for c in two_devices["cases"]}["odd/bbj_mfn"]
    # the cell means of MFN (over effect levels) sit whole on every device
    assert mfn["per_level_replicated"] == {"mfnbar_imp_ind_year": True}
    assert [c["whole"] for c in two_devices["cases"]] == [True, True, False, False]


@pytest.mark.parametrize(
    ("k", "pattern"),
    [
        (3, r"^devices=3: JAX has only 2 cpu device\(s\); on CPU, start Python with XLA_FLAGS"),
        (0, r"^devices must be a positive integer .* got 0$"),
    ],
)
def test_two_device_bad_counts(two_devices: dict, k: int, pattern: str) -> None:
    import re

    msg = two_devices["errors"][str(k)]
    assert msg is not None and "\n" not in msg
    assert re.search(pattern, msg), msg


# ---------------------------------------------------------------- in-process tests


@pytest.fixture(scope="module")
def design():
    return build_design(structest.load_panel(), load_model("bbj"))


def _many() -> int:
    return len(jax.devices()) + 1


BAD_DEVICES = [
    (lambda: 0, r"^devices must be a positive integer \(number of devices to shard over\), got 0$"),
    (lambda: -2, r"^devices must be a positive integer .*got -2$"),
    (_many, r"^devices=\d+: JAX has only \d+ cpu device\(s\); on CPU, start Python with"),
    (lambda: 10_000, r"^devices=10000: JAX has only \d+ cpu device\(s\)"),
    (lambda: False, r"^shard_observations/devices must be True, a positive integer or a list"),
    (lambda: 2.0, r"^devices must be None, a positive integer or a list of JAX devices, got float"),
    (lambda: "2", r"^devices must be None, a positive integer or a list .* got str '2'$"),
    (lambda: [], r"^devices: the list of devices to shard over is empty$"),
    (lambda: ["cpu:0"], r"^devices: expected JAX devices \(jax.devices\(\)\), got str 'cpu:0'$"),
    (lambda: [jax.devices()[0]] * 2, r"^devices: a device appears more than once in \["),
    (lambda: {"a": 1}, r"^devices must be None, a positive integer or a list .* got dict"),
]


@pytest.mark.parametrize(("make", "pattern"), BAD_DEVICES)
def test_bad_devices(design, make, pattern: str) -> None:
    with pytest.raises(OptionError, match=pattern) as exc:
        sh.shard_design(design, make())
    assert "\n" not in str(exc.value)
    assert isinstance(exc.value, StructestError)


BAD_FIT_OPTION = [
    (0, r"^fit: shard_observations must be True, False or a positive integer \(devices\), got 0$"),
    (-1, r"^fit: shard_observations must be .* got -1$"),
    ("yes", r"^fit: shard_observations must be .* got str 'yes'$"),
    (1.5, r"^fit: shard_observations must be .* got float 1.5$"),
    ([1], r"^fit: shard_observations must be .* got list \[1\]$"),
    (10_000, r"^devices=10000: JAX has only \d+ cpu device\(s\)"),
]


@pytest.mark.parametrize(("value", "pattern"), BAD_FIT_OPTION)
def test_bad_fit_option(design, value, pattern: str) -> None:
    with pytest.raises(OptionError, match=pattern) as exc:
        sh.for_sampling(design, value)
    assert "\n" not in str(exc.value)
    if not isinstance(value, int) or value < 1:  # the type check needs no JAX devices
        with pytest.raises(OptionError, match=pattern):
            sh.check_shard_option(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(False, False), (None, False), (True, True), (np.bool_(True), True), (1, 1), (np.int64(3), 3)],
)
def test_check_shard_option_good(value, expected) -> None:
    got = sh.check_shard_option(value)
    assert got == expected and type(got) is type(expected)


def test_for_sampling_off_returns_the_design(design) -> None:
    assert sh.for_sampling(design, False) is design
    assert sh.for_sampling(design, None) is design
    assert not sh.is_sharded(design) and sh.n_real(design) == design.n == 3071


def test_shard_twice_is_an_error(design) -> None:
    s = sh.shard_design(design, 1)
    with pytest.raises(OptionError, match=r"^shard_design: the design is already sharded"):
        sh.shard_design(s, 1)


def test_layout_blocks_hold_each_kind() -> None:
    """The layout deals each kind to the devices in contiguous runs, padded per device."""
    kind = np.array([EXACT] * 5 + [RIGHT] * 3 + [LEFT] * 1 + [NONE] * 2)
    rng = np.random.default_rng(0)
    kind = kind[rng.permutation(kind.size)]
    order, widths = sh._layout(kind, 3)
    assert widths == {"exact": 2, "right": 1, "left": 1, "rest": 1}
    per = order.reshape(3, -1)
    assert per.shape == (3, 5)
    # every observation exactly once
    assert sorted(order[order >= 0].tolist()) == list(range(kind.size))
    # block j of each device holds only that kind (or padding)
    for d in range(3):
        for cols, k in [((0, 2), EXACT), ((2, 3), RIGHT), ((3, 4), LEFT)]:
            rows = per[d, cols[0] : cols[1]]
            assert all(kind[r] == k for r in rows if r >= 0)
    # 5 exact obs over 3 devices in runs of 2: 2, 2, 1 (+1 padding)
    assert [(per[d, :2] >= 0).sum() for d in range(3)] == [2, 2, 1]


def test_one_device_mesh_equals_unsharded(design) -> None:
    """On a mesh of one device (padding none, order by kind) the likelihood is the same."""
    s = sh.shard_design(design, 1)
    assert s.n == design.n and sh.n_real(s) == 3071
    assert set(s.levels) == set(design.levels) and not any(k.startswith("sel_") for k in s.arrays)
    kind = np.asarray(s.arrays["kind"])
    assert np.all(np.diff(kind[kind != NONE]) >= 0)  # ordered by kind
    order = np.asarray(s.arrays["obs_order"])
    np.testing.assert_array_equal(np.asarray(s.arrays["tariff"]), design.arrays["tariff"][order])
    np.testing.assert_array_equal(
        sh.unpad(np.asarray(s.arrays["tariff"]), s), design.arrays["tariff"]
    )
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        params = {
            "eps": 4.0, "lambda_abs": 0.6, "eps_r_home": 0.2, "eps_r_abroad": 0.1,
            "delta": 0.04, "delta_star": 0.6, "delta_dstar": 0.05, "eps_tilde": 3.0,
            "lambda_tilde": 0.4, "sigma": 2.0,
            **{f"fe_{e}": jnp.asarray(rng.normal(0, 1, len(v))) for e, v in design.levels.items()},
        }  # fmt: skip
        arr = {k: jnp.asarray(v) for k, v in design.arrays.items()}
        v0, g0 = jax.jit(jax.value_and_grad(loglik))(params, arr)
        v1, g1 = jax.jit(jax.value_and_grad(sh.loglik_blocks))(params, s.arrays)
        # the masked path on the sharded layout (loglik itself dispatches to the blocks)
        v2 = jax.jit(lambda q, a: jnp.sum(loglik_pointwise(q, a)))(params, s.arrays)
        assert float(v0) < 0
        np.testing.assert_allclose(float(v1), float(v0), rtol=RTOL)
        np.testing.assert_allclose(float(v2), float(v0), rtol=RTOL)
        for k in g0:
            np.testing.assert_allclose(np.asarray(g1[k]), np.asarray(g0[k]), rtol=1e-9, atol=1e-9)


def test_padding_rows_are_neutral(design) -> None:
    """Padding rows: kind NONE, weight 0, effect indices one past the last level."""
    n_dev = len(jax.devices())
    s = sh.shard_design(design, n_dev)
    w = np.asarray(s.arrays["obs_weight"])
    kind = np.asarray(s.arrays["kind"])
    order = np.asarray(s.arrays["obs_order"])
    pad = order < 0
    assert (w[pad] == 0).all() and (w[~pad] == 1).all() and (kind[pad] == NONE).all()
    for e, labels in design.levels.items():
        idx = np.asarray(s.arrays[f"idx_{e}"])
        assert (idx[pad] == len(labels)).all() and (idx[~pad] < len(labels)).all()
    blocks = [np.asarray(s.arrays[f"blk_{k}"]) for k in ("exact", "right", "left")]
    counts = [int((design.arrays["kind"] == k).sum()) for k in (EXACT, RIGHT, LEFT)]
    assert [int(b.sum()) for b in blocks] == counts
    assert all(b.shape[0] == n_dev for b in blocks)


#: a sharded fit and an unsharded one of the same tiny panel, in a 2-device subprocess
FIT_SCRIPT = textwrap.dedent(
    r"""
    import json, warnings
    import jax
    import numpy as np
    import structest
    from structest.structural.worlds import simulate_model

    assert jax.device_count() == 2, jax.devices()
    econ = ("AUS", "CHN", "USA")
    panel, _ = simulate_model("bbj", 3, economies=econ, years=(1995, 2005))
    kw = dict(chains=1, draws=200, tune=200, seed=1, progress_bar=False, n_prior=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = structest.fit(panel, "bbj", shard_observations=2, **kw)
        b = structest.fit(panel, "bbj", **kw)
    pa, pb = a.idata.posterior, b.idata.posterior
    keys = ["g_IP", "g_FVA", "g_DVA", "sigma", "intercept"]
    print(json.dumps({
        "n": len(panel.df),
        "attrs": {k: v for k, v in pa.attrs.items() if k.startswith("sampler_")},
        "ll_obs": int(a.idata.log_likelihood.sizes["obs"]),
        "fe_dims": {k: int(pa[k].shape[-1]) for k in pa.data_vars if k.startswith("fe_")},
        "fe_dims_ref": {k: int(pb[k].shape[-1]) for k in pb.data_vars if k.startswith("fe_")},
        "z": {k: float(abs(pa[k].mean() - pb[k].mean()) / pb[k].std()) for k in keys},
        "finite": bool(all(np.isfinite(pa[k].values).all() for k in pa.data_vars)),
    }))
    """
)


@pytest.mark.slow  # about 60 s: on CPU the split costs a collective at every gradient
def test_sharded_fit_samples_the_same_posterior() -> None:
    """``fit(shard_observations=2)`` on two host devices: the observations split across
    both, no padding row reaches the outputs, and the posterior is the unsharded fit's
    (means within 0.6 posterior sd: two 200-draw chains of one posterior)."""
    out = _on_two_devices(FIT_SCRIPT)
    assert out["attrs"]["sampler_shard_devices"] == 2
    assert out["ll_obs"] == out["n"]
    assert out["fe_dims"] == out["fe_dims_ref"]
    assert out["finite"]
    assert max(out["z"].values()) < 0.6, out["z"]


def test_shard_option_needs_numpyro() -> None:
    with pytest.raises(OptionError, match=r"^fit: shard_observations needs backend='numpyro'$"):
        structest.fit(chains=1, draws=1, tune=1, backend="pymc", shard_observations=2)
