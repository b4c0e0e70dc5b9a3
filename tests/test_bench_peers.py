"""benchmarks/bench_nuts.py's peers: their data, the Stan data writer, the PyMC peer's
likelihood against structest's, and the table maker (no sampling, no Stan run)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from structest.errors import PanelError, SpecError
from structest.structural import load_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_nuts", ROOT / "benchmarks" / "bench_nuts.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bbj():
    return load_model("bbj")


@pytest.fixture(scope="module")
def data(bench, real_panel, bbj):
    return bench.peer_data(real_panel, bbj)


def test_peer_data_is_structests_likelihood(data, real_panel, bbj) -> None:
    from structest.structural.design import build_design

    a = build_design(real_panel, bbj).arrays
    keep = a["kind"] != 3
    assert data["y"].size == keep.sum() == 3071 - data["n_dropped"]
    assert data["n_dropped"] == int((a["threshold"] <= 0).sum()) == 72
    # kinds as structest's; censored rows at their censoring point, the rest as recorded
    np.testing.assert_array_equal(data["kind"], a["kind"][keep])
    right, left, exact = (data["kind"] == k for k in (1, 2, 0))
    np.testing.assert_array_equal(data["y"][right], a["threshold"][keep][right])
    assert (data["y"][left] == 0.0).all()
    np.testing.assert_array_equal(data["y"][exact], a["tariff"][keep][exact])
    assert ((data["y"][exact] > 0) & (data["y"][exact] < data["upper"][exact])).all()
    assert (data["J1"], data["J2"]) == (335, 334)
    assert data["priors"]["tau_1"] == ("halfnormal", 5.0)


def test_peer_data_round_trip(bench, data, tmp_path) -> None:
    bench.save_peer_data(data, tmp_path / "d.npz")
    back = bench.load_peer_data(tmp_path / "d.npz")
    assert back["priors"] == data["priors"]
    assert (back["J1"], back["J2"], back["lower"]) == (data["J1"], data["J2"], 0.0)
    for k in ("y", "upper", "kind", "idx1", "idx2", "x_ip", "rta"):
        np.testing.assert_array_equal(back[k], data[k])


def _stan_data_names() -> dict[str, str]:
    text = (ROOT / "benchmarks" / "peers" / "bbj.stan").read_text()
    block = re.search(r"^data \{(.*?)^\}", text, re.S | re.M).group(1)
    names = {}
    for line in block.splitlines():
        line = line.split("//")[0].strip()
        if line:
            m = re.match(r"(int|real|vector)\b.*?\s(\w+)(\[[^\]]*\])?;$", line)
            assert m, line
            names[m.group(2)] = m.group(1)
    return names


def test_stan_data_fills_the_stan_programs_data_block(bench, data) -> None:
    sd = bench.stan_data(data)
    json.dumps(sd)  # JSON-ready
    assert set(sd) == set(_stan_data_names())
    assert sd["N_exact"] + sd["N_right"] + sd["N_left"] == sd["N"] == data["y"].size
    assert (sd["N_exact"], sd["N_right"], sd["N_left"]) == (862, 1937, 200)
    assert min(sd["idx1"]) == 1 and max(sd["idx1"]) == sd["J1"]
    assert min(sd["idx2"]) == 1 and max(sd["idx2"]) == sd["J2"]
    i = np.asarray(sd["i_right"]) - 1
    np.testing.assert_array_equal(sd["c_right"], data["upper"][i])
    np.testing.assert_array_equal(sd["y_exact"], data["y"][np.asarray(sd["i_exact"]) - 1])
    assert sd["pr_eps"] == [1.6, 0.5]
    assert sd["pr_delta_dstar"] == [0.0, 0.5, -1.0]
    assert (sd["pr_sigma"], sd["pr_tau1"], sd["pr_tau2"], sd["pr_mu"]) == (
        5.0,
        5.0,
        5.0,
        [0.0, 10.0],
    )


def test_pymc_peer_likelihood_equals_structests(bench, data, real_panel, bbj) -> None:
    pytest.importorskip("pymc")
    import jax

    from structest.structural.design import build_design
    from structest.structural.likelihood import loglik_pointwise

    m = bench.pymc_model(data)
    names = [*sorted(bench.STRUCTURAL), "sigma", "mu", "tau_1", "tau_2", "z_1", "z_2"]
    rng = np.random.default_rng(1)
    point = {k: v + rng.normal(0.0, 0.05, size=np.shape(v)) for k, v in m.initial_point().items()}
    fast = {"on_unused_input": "ignore", "mode": "FAST_COMPILE"}
    values_of = m.compile_fn(m.replace_rvs_by_values([m[n] for n in names]), **fast)
    values = dict(zip(names, values_of(point), strict=True))
    loglik = m.compile_fn(m.logp(vars=[m["tariff"]], jacobian=False), **fast)
    params = {k: float(values[k]) for k in [*bench.STRUCTURAL, "sigma"]}
    params["fe_imp_ind_year"] = values["mu"] + values["tau_1"] * values["z_1"]
    params["fe_exp_ind_year"] = values["tau_2"] * values["z_2"]
    with jax.enable_x64(True):
        ours = float(loglik_pointwise(params, build_design(real_panel, bbj).arrays).sum())
    assert np.isfinite(ours)
    assert float(loglik(point)) == pytest.approx(ours, rel=1e-9, abs=1e-6)


def _row(bench, name, ess, wall, compile_s=None, rss=100.0, tree=None):
    return bench.summarize(name, dict.fromkeys(bench.KEYS, ess), wall, 0, rss, tree, compile_s)


def test_summary_ratios_and_table(bench) -> None:
    ess = dict.fromkeys(bench.KEYS, 400.0)
    ess["sigma"] = 100.0
    ours = bench.summarize("structest", ess, 10.0, 0, 1200.0, 1000.0, 4.0)
    assert ours["min_ess_s"] == pytest.approx(10.0)
    assert ours["min_ess_s_sampling"] == pytest.approx(100.0 / 6.0)
    assert ours["ess_per_s"]["g_IP"] == pytest.approx(40.0)
    rows = [
        ours,
        _row(bench, "nutpie", 200.0, 50.0, 20.0, rss=800.0, tree=900.0),  # 4 ESS/s
        _row(bench, "pymc", 100.0, 100.0, rss=500.0, tree=600.0),  # 1 ESS/s
        _row(bench, "stan", 250.0, 100.0, 30.0, rss=300.0, tree=400.0),  # 2.5 ESS/s
    ]
    r = bench.ratios(rows)
    assert r["best_peer"] == "nutpie" and r["speed_ratio"] == pytest.approx(2.5)
    assert r["leanest_peer"] == "stan" and r["memory_ratio"] == pytest.approx(2.5)
    assert r["leanest_peer_rss"] == "stan" and r["memory_ratio_rss"] == pytest.approx(4.0)
    table = bench.markdown_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert "| PyMC + nutpie | 50.0 | 20.0 | 0 | 4.00 |" in table[3]
    assert "**10.00**" in table[2] and "| 16.67 | 1,200 | 1,000 |" in table[2]
    assert "| PyMC (`pm.sample`) | 100.0 | - |" in table[4]
    assert bench.ratios(rows[1:]) == {}  # no structest row: no ratio


def test_bulk_ess_of_independent_draws(bench) -> None:
    rng = np.random.default_rng(0)
    ess = bench.bulk_ess(
        {"a": rng.normal(size=(2, 500)), "b": np.repeat(rng.normal(size=(2, 50)), 10, axis=1)}
    )
    assert 800 < ess["a"] < 1200  # about the 1,000 draws
    assert ess["b"] < 200  # every value repeated 10 times: about 100


@pytest.mark.parametrize(
    ("model", "priors", "error", "match"),
    [
        ("bbj_t", None, SpecError, r"model 'bbj_t' differs in errors='student_t'"),
        ("bbj_level", None, SpecError, r"differs in ratios='level'"),
        ("pooled", None, SpecError, r"differs in rta_regime=False"),
        ("bbj_gsp", None, SpecError, r"differs in gsp_regime=True"),
        ("bbj_cre", None, SpecError, r"differs in mundlak="),
        ("bbj_hier", None, SpecError, r"differs in hierarchy="),
        ("bbj_eq19", None, SpecError, r"differs in effects="),
        ("bbj", {"eps": ("gamma", 2.0, 0.5)}, SpecError, r"prior of eps must be lognormal"),
        ("bbj", {"sigma": ("exponential", 0.2)}, SpecError, r"prior of sigma must be halfnormal"),
    ],
)
def test_peer_data_refuses_other_models(bench, real_panel, model, priors, error, match) -> None:
    spec = load_model(model).with_priors(priors)
    with pytest.raises(error, match=match):
        bench.peer_data(real_panel, spec)


def test_peer_data_refuses_uncensored_tariff_above_threshold(
    bench, real_panel, bbj, monkeypatch
) -> None:
    # Panel.from_frame already refuses such a row; a design built otherwise must not pass
    from structest.structural import design as design_mod

    real = design_mod.build_design

    def tampered(panel, spec):
        d = real(panel, spec)
        i = int(np.flatnonzero(d.arrays["kind"] == 0)[0])
        d.arrays["tariff"] = d.arrays["tariff"].copy()
        d.arrays["tariff"][i] = d.arrays["threshold"][i] + 0.5
        return d

    monkeypatch.setattr(design_mod, "build_design", tampered)
    with pytest.raises(PanelError, match=r"1 uncensored tariff\(s\) lie outside"):
        bench.peer_data(real_panel, bbj)


def test_unknown_peer_is_an_argparse_error(bench, capsys) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--peers", "structest,emcee"])
    assert "--peers: unknown ['emcee']" in capsys.readouterr().err


def test_run_measured_sees_every_process_of_the_tree(bench) -> None:
    import sys

    # a parent holding ~150 MB starts a child holding ~300 MB; both sleep, then exit
    code = (
        "import subprocess, sys, time\n"
        "a = bytearray(150 * 2**20)\n"
        "c = subprocess.Popen([sys.executable, '-c', "
        "'import time; b = bytearray(300 * 2**20); time.sleep(1.5)'])\n"
        "c.wait(); print('done')\n"
    )
    r = bench.run_measured([sys.executable, "-c", code])
    assert r["returncode"] == 0 and r["stdout"].strip() == "done"
    assert 300 < r["peak_rss_mb"] < 400  # the child, the largest process
    assert 450 < r["peak_tree_mb"] < 560  # both at once
