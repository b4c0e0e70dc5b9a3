"""Sweeps on Dask (structest.sweeps): engine, store, SBC statistics, tasks and CLI.

The engine tests run cheap injected tasks (no NUTS) on real LocalClusters of worker
processes; one tiny NUTS SBC rep goes through the real task in-process.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import time
import uuid
import warnings
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import structest
from structest import EstimationError, InputFileError, OptionError, OutputError, SpecError
from structest._cli_root import root_options
from structest.sweeps import SweepStore, run_sweep, runner, sbc, tasks
from structest.sweeps import cli as sweep_cli
from structest.sweeps.runner import check_scheduler, plan, run_plan

pytest.importorskip("dask.distributed")

# the injected tasks below are shipped to the worker processes by value (they cannot
# import this test module)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


# ----------------------------------------------------------------------------- tasks
def counting_task(rep: int, marker_dir: str, kill_rep: int | None = None, **_) -> pd.DataFrame:
    """A cheap coverage-like rep; one file per execution; kills its worker once on ``kill_rep``."""
    d = Path(marker_dir)
    (d / f"exec-{rep}-{uuid.uuid4().hex[:8]}").touch()
    if kill_rep is not None and rep == kill_rep and not (d / "killed").exists():
        (d / "killed").touch()
        os._exit(1)  # the worker process dies mid-run (as if killed)
    time.sleep(0.05)
    return pd.DataFrame(
        {
            "param": ["x", "y"],
            "truth": [rep, rep],
            "lo": [0.0, 0.0],
            "hi": [1.0, 1.0],
            "covered": [rep % 2 == 0, True],
            "divergences": [0, 0],
        }  # fmt: skip
    )


def normal_sbc_task(world_seed: int, fit_seed: int, rank_draws: int, **_) -> pd.DataFrame:
    """SBC of a conjugate Normal model: theta ~ N(0, 1), y_i ~ N(theta, 1), i = 1..5, with
    exact posterior draws N(sum y / 6, 1 / 6) (``theta``) and, deliberately wrong, draws
    from a posterior 3 times too narrow (``theta_narrow``)."""
    rng = np.random.default_rng(world_seed)
    theta = rng.normal()
    y = rng.normal(theta, 1.0, 5)
    mean, sd = y.sum() / 6.0, 6.0**-0.5
    z = np.random.default_rng(fit_seed).standard_normal(rank_draws)
    ranks = [sbc.rank_of(theta, mean + sd * z), sbc.rank_of(theta, mean + sd / 3.0 * z)]
    return pd.DataFrame(
        {
            "param": ["theta", "theta_narrow"],
            "truth": [theta, theta],
            "rank": ranks,
            "n_draws": [rank_draws] * 2,
            "divergences": [0, 0],
        }  # fmt: skip
    )


def failing_task(rep: int, **_) -> pd.DataFrame:
    if rep == 1:
        raise EstimationError("no uncensored observation in this world")
    return counting_task(rep, marker_dir=_["marker_dir"])


def executions(d: Path) -> int:
    return len(list(d.glob("exec-*")))


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes shared by the engine tests (its address)."""
    import logging

    from dask.distributed import LocalCluster

    warnings.filterwarnings("ignore", message="Port .* is already in use")
    c = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, env=dict(runner.WORKER_ENV),
    )  # fmt: skip
    yield c.scheduler_address
    c.close()


# ----------------------------------------------------------------------------- engine
def test_killed_worker_sweep_completes(tmp_path):
    """4 reps on the default LocalCluster (2 processes); rep 1 kills its worker the first
    time: Dask runs it again and all 4 results are stored."""
    marks = tmp_path / "marks"
    marks.mkdir()
    task = functools.partial(counting_task, marker_dir=str(marks), kill_rep=1)
    res = run_sweep("coverage", out=tmp_path / "sw", reps=4, task=task, workers=2, progress=False)
    assert (marks / "killed").exists()
    assert sorted(res.ran) == [f"rep-{i:05d}" for i in range(4)]
    assert not res.lost and not res.failed
    assert sorted(res.table["truth"].unique()) == [0, 1, 2, 3]
    assert len(list((tmp_path / "sw" / "reps").glob("*.nc"))) == 4
    # rep 1 ran twice (killed, then retried); a result a dying worker still held may be
    # recomputed by Dask, so the others ran at least once
    assert len(list(marks.glob("exec-1-*"))) == 2
    assert all(len(list(marks.glob(f"exec-{r}-*"))) >= 1 for r in (0, 2, 3))
    # coverage summary: x covered in reps 0 and 2 of 4, y always; binomial s.e. at 0.9
    assert res.summary.loc["x", "coverage"] == pytest.approx(0.5)
    assert res.summary.loc["y", "coverage"] == pytest.approx(1.0)
    assert res.summary.loc["x", "se"] == pytest.approx(math.sqrt(0.09 / 4))
    m = json.loads((tmp_path / "sw" / "manifest.json").read_text())
    assert m["kind"] == "coverage" and m["finished"] == 4


def test_resume_skips_finished_reps(tmp_path, cluster):
    marks = tmp_path / "marks"
    marks.mkdir()
    task = functools.partial(counting_task, marker_dir=str(marks))
    opts = {"out": tmp_path / "sw", "task": task, "scheduler": cluster, "progress": False}
    first = run_sweep("coverage", reps=4, **opts)
    assert executions(marks) == 4 and len(first.ran) == 4
    again = run_sweep("coverage", reps=4, **opts)  # nothing to do: no task runs
    assert executions(marks) == 4 and again.ran == [] and len(again.skipped) == 4
    assert len(again.table) == 8
    more = run_sweep("coverage", reps=6, **opts)  # two more reps: only they run
    assert executions(marks) == 6
    assert sorted(more.ran) == ["rep-00004", "rep-00005"] and len(more.skipped) == 4
    assert sorted(more.table["truth"].unique()) == list(range(6))
    # a rep file lost on disk runs again; the others are kept
    (tmp_path / "sw" / "reps" / "rep-00002.nc").unlink()
    redo = run_sweep("coverage", reps=6, **opts)
    assert redo.ran == ["rep-00002"] and executions(marks) == 7
    # other settings in the same folder are refused before any work
    with pytest.raises(OutputError, match=r"other settings \(draws: 300 there, 301 now\)"):
        run_sweep("coverage", reps=6, draws=301, **opts)
    assert executions(marks) == 7


def test_failed_rep_is_stored_not_retried(tmp_path, cluster):
    marks = tmp_path / "marks"
    marks.mkdir()
    task = functools.partial(failing_task, marker_dir=str(marks))
    opts = {"out": tmp_path / "sw", "task": task, "scheduler": cluster, "progress": False}
    res = run_sweep("coverage", reps=3, **opts)
    assert res.failed == {"rep-00001": "EstimationError: no uncensored observation in this world"}
    assert len(res.ran) == 3 and sorted(res.table["truth"].unique()) == [0, 2]
    assert "failed rep-00001: EstimationError" in res.format()
    again = run_sweep("coverage", reps=3, **opts)
    assert again.ran == [] and again.failed == res.failed


def test_sbc_engine_conjugate_normal(tmp_path, cluster):
    """100 SBC reps on Dask: ranks of the exact posterior are uniform (p > 0.01); of the
    too narrow one not (p < 0.01: the truth falls outside the draws, ranks 0 or 19)."""
    res = run_sweep(
        "sbc", out=tmp_path / "sw", reps=100, rank_draws=19, chains=1, draws=19, seed=3,
        task=normal_sbc_task, scheduler=cluster, progress=False,
    )  # fmt: skip
    ok, narrow = res.summary.loc["theta"], res.summary.loc["theta_narrow"]
    assert ok["reps"] == 100 and ok["rank_draws"] == 19 and ok["bins"] == 20
    assert ok["p_value"] > 0.01 and narrow["p_value"] < 0.01
    hist = [int(c) for c in narrow["histogram"].split()]
    assert hist[0] + hist[-1] > 30  # 10 expected
    assert "SBC rank uniformity" in res.format()


# ----------------------------------------------------------------------------- SBC maths
def test_rank_statistics_known_values():
    assert sbc.rank_of(0.5, np.array([0.1, 0.7, 0.2, 0.9])) == 2
    assert sbc.rank_of(-1.0, np.arange(3.0)) == 0 and sbc.rank_of(9.0, np.arange(3.0)) == 3
    assert list(sbc.thin_draws(np.arange(20.0).reshape(2, 10), 4)) == [0.0, 5.0, 10.0, 15.0]
    assert list(sbc.rank_histogram([0, 1, 2, 3, 3, 3], 3, bins=2)) == [2, 4]
    assert sbc.default_bins(1000, 99) == 20 and sbc.default_bins(20, 99) == 4
    chi2, df, p = sbc.uniformity_test([0, 1, 2, 3] * 25, 3, bins=4)
    assert (chi2, df) == (0.0, 3) and p == pytest.approx(1.0)
    chi2, df, p = sbc.uniformity_test([0] * 40 + [3] * 40, 3, bins=4)
    assert chi2 == pytest.approx(80.0) and p < 1e-15


def test_uniformity_test_calibration():
    """Exact uniform ranks reject at about the nominal 5% rate; skewed ranks nearly always."""
    rng = np.random.default_rng(0)
    ps = [sbc.uniformity_test(rng.integers(0, 100, 200), 99)[2] for _ in range(400)]
    assert 0.02 < np.mean(np.array(ps) < 0.05) < 0.09
    skewed = [
        sbc.uniformity_test(np.minimum(rng.integers(0, 100, 200), 80), 99)[2] for _ in range(20)
    ]
    assert max(skewed) < 0.01


# ----------------------------------------------------------------------------- tasks
@pytest.mark.slow  # 25-40 s alone, 75-90 s on a busy 2-core machine (JIT compile + NUTS)
def test_sbc_rep_nuts_end_to_end():
    """One tiny NUTS SBC rep through the real task: ranks of the drawn truths."""
    rep = tasks.sbc_rep(
        "bbj", world_seed=2, fit_seed=0, world="tiny", chains=1, draws=30, tune=30, rank_draws=29
    )
    drawn = {"eps", "lambda_abs", "delta", "sigma", "tau_imp_ind_year", "tau_exp_ind_year"}
    assert drawn <= set(rep["param"]) and {"g_IP", "g_FVA"} <= set(rep["param"])
    assert rep["rank"].between(0, 29).all() and (rep["n_draws"] == 29).all()
    spec = structest.load_model("bbj")
    overrides, names = tasks.prior_world(spec, np.random.default_rng(2))
    truth = rep.set_index("param")["truth"]
    assert truth["eps"] == pytest.approx(overrides["eps"])  # the world's truth is the prior draw
    assert truth["tau_imp_ind_year"] == pytest.approx(overrides["tau_imp"])


def test_coverage_rows_known_truth(fit_at_truth):
    panel, truth = structest.simulate_model("bbj", seed=2, **tasks.WORLDS["tiny"])
    fit = fit_at_truth(panel, truth)
    rows = tasks.coverage_rows(fit, truth).set_index("param")
    assert {"g_IP", "g_FVA", "g_DVA"} <= set(rows.index)
    assert rows.loc["g_IP", "lo"] == pytest.approx(truth["g_IP"])  # every draw at the truth
    assert rows["covered"].loc[["g_IP", "g_FVA", "g_DVA"]].all()
    off = dict(truth, g_IP=truth["g_IP"] + 1.0)
    assert not tasks.coverage_rows(fit, off).set_index("param").loc["g_IP", "covered"]


def test_scenarios_cli_end_to_end(tmp_path, cluster, fit_at_truth):
    """`sweep scenarios` on a fit at the truth: FVA up by 0.1 log points moves t* by
    0.1 g_FVA outside RTAs and 0.1 g_FVA_rta inside."""
    panel, truth = structest.simulate_model("bbj", seed=2, **tasks.WORLDS["tiny"])
    fit_at_truth(panel, truth).save(tmp_path / "fit.nc")
    (tmp_path / "fva.toml").write_text("name = 'fva'\nfva_growth = 0.1\n")
    (tmp_path / "none.toml").write_text("name = 'none'\n")
    args = ["sweep", "scenarios", "--out", str(tmp_path / "sw"), "--fit", str(tmp_path / "fit.nc"),
            "--scenario", str(tmp_path / "fva.toml"), "--scenario", str(tmp_path / "none.toml"),
            "--scheduler", cluster]  # fmt: skip
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "scenario effects" in res.output and "2 rep(s) run" in res.output
    table = SweepStore(tmp_path / "sw", "scenarios", {}).table()
    d = table.set_index(["scenario", "quantity"])["mean"]
    rta = panel.df["rta"].to_numpy(bool)
    want = 0.1 * np.where(rta, truth["g_FVA_rta"], truth["g_FVA"]).mean()
    assert d[("fva", "d_tstar")] == pytest.approx(want, rel=1e-9)
    assert d[("none", "d_tstar")] == 0.0


# ----------------------------------------------------------------------------- CLI
def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.callback()(root_options)
    sweep_cli.register(app)
    return app


def test_cli_help():
    res = CliRunner().invoke(_app(), ["sweep", "--help"])
    assert res.exit_code == 0
    for kind in ("coverage", "sbc", "priors", "scenarios"):
        assert kind in res.output
    res = CliRunner().invoke(_app(), ["sweep", "coverage", "--help"])
    assert res.exit_code == 0
    for opt in ("--scheduler", "--workers", "--out", "--reps", "--model", "--draws", "--seed"):
        assert opt in res.output


def test_cli_coverage_runs_and_resumes(tmp_path, cluster, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setattr(
        tasks, "coverage_rep", functools.partial(counting_task, marker_dir=str(marks))
    )
    args = ["sweep", "coverage", "--out", str(tmp_path / "sw"), "--reps", "3", "--scheduler",
            cluster, "--world", "tiny"]  # fmt: skip
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "90% interval coverage per parameter" in res.output and executions(marks) == 3
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0 and "3 found in" in res.output and executions(marks) == 3


def fake_prior_point(priors, point, **_) -> pd.DataFrame:
    eps = priors.get("eps", ("lognormal", 1.6, 0.5))[1]
    return pd.DataFrame({"param": ["eps"], "mean": [eps], "sd": [0.1], "median": [eps],
                         "lo": [eps - 1], "hi": [eps + 1], "divergences": [0]})  # fmt: skip


def test_cli_priors_grid(tmp_path, cluster, monkeypatch):
    """`sweep priors`: the baseline plus one point per --prior value, each fitted once."""
    monkeypatch.setattr(tasks, "prior_point", fake_prior_point)
    args = ["sweep", "priors", "--out", str(tmp_path / "sw"), "--prior", "eps=lognormal:2.3:0.5",
            "--prior", "eps=lognormal:1:0.5", "--scheduler", cluster]  # fmt: skip
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert "posterior under each prior point" in res.output
    table = SweepStore(tmp_path / "sw", "priors", {}).table().set_index("point")
    assert table.loc["eps=lognormal(2.3,0.5)", "mean"] == 2.3
    assert table.loc["model priors", "mean"] == 1.6 and len(table) == 3


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (
            ["sweep", "coverage", "--out", "x", "--workers", "0"],
            r"Invalid value for '--workers'.*(greater than or equal to 1|not in the range)",
        ),
        (
            ["sweep", "coverage", "--out", "x", "--reps", "0"],
            r"Invalid value for '--reps'.*(greater than or equal to 1|not in the range)",
        ),
        (["sweep", "coverage", "--out", "x", "--world", "huge"], r"--world.*'huge' is not one of"),
        (["sweep", "bootstrap", "--out", "x"], r"No such command 'bootstrap'"),
        (["sweep", "coverage"], r"Missing option '--out'"),
    ],
)
def test_cli_usage_errors(args, pattern):
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 2
    assert re.search(pattern, res.output.replace("\n", " ")), res.output


@pytest.mark.parametrize(
    ("args", "err", "pattern"),
    [
        (
            ["--scheduler", "not an address"],
            OptionError,
            r"expected 'local' or a Dask scheduler address",
        ),
        (["--scheduler", "tcp://host"], OptionError, r"\[tcp://\]HOST:PORT"),
        (["--level", "1.5"], OptionError, r"--level must lie in \(0, 1\)"),
        (["--model", "nosuchmodel"], SpecError, r"nosuchmodel"),
        (["--rank-draws", "1000"], OptionError, r"--rank-draws 1000 exceeds"),
    ],
)
def test_cli_option_errors(tmp_path, args, err, pattern):
    kind = "sbc" if "--rank-draws" in args else "coverage"
    args = [a for a in args if not (kind == "sbc" and a == "--level")]
    res = CliRunner().invoke(_app(), ["sweep", kind, "--out", str(tmp_path / "o"), *args])
    assert isinstance(res.exception, err), res.output
    assert re.search(pattern, str(res.exception))
    assert "\n" not in str(res.exception)
    assert not (tmp_path / "o").exists()  # nothing created


# ----------------------------------------------------------------------------- bad input
def _manifest(d: Path, kind: str = "sbc", text: str | None = None) -> Path:
    d.mkdir()
    body = json.dumps({"kind": kind, "config": {}}) if text is None else text
    (d / "manifest.json").write_text(body)
    return d


BAD_PLANS = [
    (("bootstrap",), {"reps": 2}, OptionError, r"kind must be one of \['coverage', 'sbc'"),
    (("coverage",), {}, OptionError, r"give the number of reps \(--reps N\)"),
    (("coverage",), {"reps": 0}, OptionError, r"--reps must be an integer in \[1, "),
    (("coverage",), {"reps": "3"}, OptionError, r"--reps must be an integer .* got str '3'"),
    (("coverage",), {"reps": True}, OptionError, r"--reps must be an integer .* got bool"),
    (("coverage",), {"reps": 2, "chains": 0}, OptionError, r"--chains must be an integer in \[1, 128\]"),
    (("coverage",), {"reps": 2, "draws": -1}, OptionError, r"--draws must be an integer"),
    (("coverage",), {"reps": 2, "seed": -1}, OptionError, r"--seed must be an integer in \[0, "),
    (("coverage",), {"reps": 2, "level": 1.0}, OptionError, r"--level must lie in \(0, 1\), got 1.0"),
    (("coverage",), {"reps": 2, "level": float("nan")}, OptionError, r"--level must lie in \(0, 1\)"),
    (("coverage",), {"reps": 2, "world": "huge"}, OptionError, r"world must be one of \['full', 'small', 'tiny'\]"),
    (("coverage",), {"reps": 2, "nu": -1.0}, OptionError, r"--nu must be 0 .* or a finite number > 0"),
    (("coverage",), {"reps": 2, "nu": float("inf")}, OptionError, r"--nu must be 0"),
    (("sbc",), {"reps": 2, "nu": 5.0}, OptionError, r"--nu does not apply"),
    (("sbc",), {"reps": 2, "chains": 1, "draws": 50}, OptionError, r"--rank-draws 99 exceeds the posterior's 1 x 50"),
    (("sbc",), {"reps": 2, "model": "nosuchmodel"}, SpecError, r"nosuchmodel"),
    (("priors",), {}, OptionError, r"give at least one prior point"),
    (("priors",), {"reps": 3, "grid": [{}]}, OptionError, r"--reps does not apply"),
    (("priors",), {"grid": [{"eps": ("lognormale", 1.0, 0.5)}]}, SpecError, r"lognormale"),
    (("priors",), {"grid": [{"eps": ("lognormal", 1.0, -0.5)}]}, SpecError, r"eps"),
    (("scenarios",), {"scenarios": {"a": {}}}, OptionError, r"give --fit FIT.nc and at least one --scenario"),
    (("scenarios",), {"fit": "f.nc", "scenarios": {"a": {}}, "thin": 0}, OptionError, r"--thin must be an integer in \[1, "),
]  # fmt: skip


@pytest.mark.parametrize(("pos", "kw", "err", "pattern"), BAD_PLANS)
def test_bad_plan(pos, kw, err, pattern):
    with pytest.raises(err, match=pattern) as info:
        plan(*pos, **kw)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("foo", r"--scheduler 'foo': expected 'local' or a Dask scheduler address"),
        ("tcp://host", r"\[tcp://\]HOST:PORT \(port 1-65535\)"),
        ("host:99999", r"port 1-65535"),
        ("http://host:8786", r"expected 'local'"),
        ("", r"expected 'local'"),
        (8786, r"--scheduler must be 'local' or an address .* got int 8786"),
    ],
)
def test_bad_scheduler(value, pattern):
    with pytest.raises(OptionError, match=pattern):
        check_scheduler(value)


def test_scheduler_forms():
    assert check_scheduler("local") == "local"
    assert check_scheduler("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_scheduler("tls://sched.example.org:8786") == "tls://sched.example.org:8786"
    assert check_scheduler("[::1]:8786") == "tcp://[::1]:8786"


def test_unreachable_scheduler(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", 1)
    with pytest.raises(
        OptionError, match=r"--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 1 s"
    ):
        run_sweep("coverage", out=tmp_path / "o", reps=1, scheduler="127.0.0.1:9",
                  task=functools.partial(counting_task, marker_dir=str(tmp_path)), progress=False)  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "kw", "err", "pattern"),
    [
        (lambda d: d.write_text("x"), {}, OutputError, r"exists and is not a folder"),
        (lambda d: (d.mkdir(), (d / "notes.txt").write_text("x")), {}, OutputError,
         r"a non-empty folder that is not a sweep folder \(no manifest.json\)"),
        (lambda d: _manifest(d, "sbc"), {}, OutputError, r"holds a 'sbc' sweep, not 'coverage'"),
        (lambda d: _manifest(d, text="{not json"), {}, InputFileError, r"manifest.json is not readable JSON"),
        (lambda d: _manifest(d, text="[1, 2]"), {}, InputFileError, r"is not a sweep manifest"),
        (lambda d: None, {"workers": 0}, OptionError, r"--workers must be an integer in \[1, 1024\], got 0"),
        (lambda d: None, {"retries": -1}, OptionError, r"--retries must be an integer in \[0, 100\]"),
        (lambda d: None, {"progress": "yes"}, OptionError, r"progress must be True or False"),
    ],
)  # fmt: skip
def test_bad_output_and_run_options(tmp_path, setup, kw, err, pattern):
    out = tmp_path / "o"
    setup(out)
    p = plan("coverage", reps=1, task=functools.partial(counting_task, marker_dir=str(tmp_path)))
    with pytest.raises(err, match=pattern) as info:
        run_plan(p, out, **kw)
    assert "\n" not in str(info.value)
    assert not list(tmp_path.glob("exec-*"))  # refused before any task ran


@pytest.mark.parametrize(
    ("call", "err", "pattern"),
    [
        (lambda: sbc.thin_draws(np.zeros(10), 11), OptionError, r"11 rank draws asked for but the posterior has 10"),
        (lambda: sbc.thin_draws(np.zeros(10), 0), OptionError, r"n must be a positive integer"),
        (lambda: sbc.rank_of(float("nan"), np.zeros(3)), EstimationError, r"must be finite"),
        (lambda: sbc.rank_of(0.0, np.array([0.0, np.inf])), EstimationError, r"must be finite"),
        (lambda: sbc.rank_histogram([0, 1], 99, bins=7), OptionError, r"bins \(7\) must divide .* \(100\)"),
        (lambda: sbc.rank_histogram([0, 120], 99, bins=10), EstimationError, r"ranks must lie in 0..99"),
        (lambda: sbc.uniformity_test([3], 99), EstimationError, r"need at least 2 ranks, got 1"),
        (lambda: sbc.sbc_summary(pd.DataFrame({"param": ["a", "a"], "rank": [1, 2], "n_draws": [9, 19]})),
         EstimationError, r"'a' was ranked among different numbers of draws \[9, 19\]"),
        (lambda: sweep_cli.parse_prior("eps"), OptionError, r"--prior 'eps': expected NAME=FAMILY:ARG"),
        (lambda: sweep_cli.parse_prior("eps=lognormal"), OptionError, r"expected NAME=FAMILY:ARG"),
        (lambda: sweep_cli.parse_prior("eps=lognormal:x:1"), OptionError, r"'x' is not a number"),
        (lambda: sweep_cli.parse_prior("eps=lognormal:inf:1"), OptionError, r"'inf' is not a finite number"),
        (lambda: sweep_cli.prior_grid(["eps=normal:1:1", "eps=normal:1:1"]), OptionError, r"given twice"),
        (lambda: sweep_cli.prior_grid([], baseline=False), OptionError, r"give at least one --prior"),
        (lambda: SweepStore("/tmp/x", "coverage", {}).rep_path("../evil"), OptionError, r"rep id '../evil' must be"),
        (lambda: tasks.world_options("huge"), OptionError, r"world must be one of"),
    ],
)  # fmt: skip
def test_bad_inputs_of_functions(call, err, pattern):
    with pytest.raises(err, match=pattern) as info:
        call()
    assert "\n" not in str(info.value)


def test_prior_grid_combinations():
    grid = sweep_cli.prior_grid(
        ["eps=lognormal:2.3:0.5", "eps=lognormal:1:0.5", "sigma=halfnormal:2"]
    )
    assert grid == [
        {},
        {"eps": ("lognormal", 2.3, 0.5), "sigma": ("halfnormal", 2.0)},
        {"eps": ("lognormal", 1.0, 0.5), "sigma": ("halfnormal", 2.0)},
    ]
    p = plan("priors", grid=grid)
    assert list(p.reps) == ["p000-model_priors", "p001-eps_lognormal_2.3_0.5_sigma_halfnormal_2",
                            "p002-eps_lognormal_1_0.5_sigma_halfnormal_2"]  # fmt: skip
