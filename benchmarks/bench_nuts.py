"""ESS per second and memory: structest's NumPyro NUTS against the samplers a user would pick.

Usage: ``python benchmarks/bench_nuts.py [--chains 2] [--draws 500] [--tune 500] [--sim]
[--peers structest,nutpie,pymc,stan] [--no-fixed-cost] [--keep DIR]``

Set-up of the peers: ``bash benchmarks/peers/setup_peers.sh`` (nutpie from PyPI into the
active environment; rstan from Debian's ``r-cran-rstan``). A peer that is absent is skipped
with a line saying so.

Every front end fits model ``bbj`` (log ratios, Normal errors, RTA regime, partially pooled
importer-industry-year and exporter-industry-year effects, left bound 0, right-censored at
MFN) with the default priors on the same data (the bundled panel; ``--sim``: a synthetic
one), each in its own subprocess:

``structest``
    :func:`structest.structural.fit` (NumPyro NUTS, dense mass over the scalars,
    target_accept 0.95, chains in parallel on one XLA CPU device per core), ``n_prior=0``;
    its wall time includes JIT compilation and the pointwise log-likelihood pass. Run twice:
    with an empty JAX persistent compilation cache (filled by the run) and with the filled
    cache (``structest, warm cache``): what the cache would save a second fit.
``nutpie``
    The PyMC model (below) compiled by ``nutpie.compile_pymc_model`` (numba) and sampled
    by ``nutpie.sample`` (its defaults: target_accept 0.8, chains in threads).
``pymc``
    The same PyMC model sampled by ``pm.sample`` defaults (target_accept 0.8).
``stan``
    ``peers/bbj.stan`` through rstan (``peers/run_stan.R`` under ``Rscript``; data as JSON,
    draws back as CSV), adapt_delta 0.95, chains in parallel (``cores = chains``).

The peers write the effects non-centred, as a user would (``a = mu + tau z``); structest
samples the importer-industry-year effect through its cell means (``centred_effect`` in
``models/bbj.toml``): the parametrisation is part of what is compared. Their likelihood is
structest's: the right-censoring point is the panel's ``mfn_threshold`` (where it starts
recording "at MFN"), the left bound 0 (``pm.Censored(lower=0, upper=threshold)`` on the
tariff clipped to that range; the same three terms in Stan), and rows whose threshold is at
or below the lower bound, which carry no information, are left out. The Stan program's
total log-likelihood is checked against structest's at a few of its draws.

Measured: wall time (from model building to draws in hand; imports and interpreter start
excluded), compile time where separable (structest: JAX trace, lowering and XLA compile,
from ``jax.monitoring``; nutpie and Stan: their compile calls; PyMC's ``pm.sample`` does
not separate it), divergences, bulk ESS (ArviZ, the same call for every front end) of the
intercept, the g's and sigma, ESS/s = bulk ESS / wall time, min ESS/s over those (also on
sampling time alone where separable), and memory, sampled every 0.25 s from /proc: the
largest process's peak RSS, and the peak of the whole process tree's memory (anonymous RSS
summed over processes plus the largest file-backed RSS, so shared libraries count once):
Stan's and PyMC's chain workers are separate processes, structest's chains threads of one.

``--no-fixed-cost`` skips structest's fixed-cost probe: 2-chain 10 + 10 fits with the
CLI's defaults (1,000 prior draws, NetCDF write) timed part by part, without the
persistent cache, with an empty one and with a filled one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("CI", "1")
HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE / "peers"
KEYS = ("intercept", "g_IP", "g_FVA", "g_DVA", "g_IP_rta", "g_FVA_rta", "sigma")
ALL_PEERS = ("structest", "nutpie", "pymc", "stan")
LABELS = {
    "structest": "structest (NumPyro)",
    "structest_warm": "structest, warm JAX cache",
    "nutpie": "PyMC + nutpie",
    "pymc": "PyMC (`pm.sample`)",
    "stan": "Stan (rstan)",
}
#: the prior families the peers write for model bbj (parameter -> family)
PRIOR_FAMILIES = {
    "eps": "lognormal",
    "lambda_abs": "lognormal",
    "eps_r_home": "lognormal",
    "eps_r_abroad": "lognormal",
    "delta": "lognormal",
    "delta_star": "beta",
    "delta_dstar": "truncnormal",
    "eps_tilde": "lognormal",
    "lambda_tilde": "lognormal",
    "sigma": "halfnormal",
    "mu": "normal",
    "tau_1": "halfnormal",
    "tau_2": "halfnormal",
}
STRUCTURAL = PRIOR_FAMILIES.keys() - {"sigma", "mu", "tau_1", "tau_2"}
#: what the peers hard-code (ModelSpec field -> bbj's value); effects: any two
BBJ_SHAPE: dict[str, Any] = {
    "ratios": "log",
    "errors": "normal",
    "rta_regime": True,
    "lower": 0.0,
    "mundlak": (),
    "gsp_regime": False,
    "free_rta_level": False,
    "free_rta_ratio": False,
    "mfn_scaled_errors": False,
    "mfn_effect": False,
    "hierarchy": {},
}


# ---------------------------------------------------------------------------------------
# the peers' data and models
# ---------------------------------------------------------------------------------------


def peer_data(panel: Any, spec: Any) -> dict[str, Any]:
    """The arrays the peers fit: structest's design restricted to informative rows.

    Returns x_ip, x_fva, x_dva, rta, y (tariff; the censoring point for censored rows),
    upper (the right-censoring point, the panel's ``mfn_threshold``), kind (0 exact,
    1 right, 2 left), idx1/idx2 (0-based effect levels), J1, J2, lower and priors
    (``tau_1``/``tau_2`` for the two effects' scales).

    Raises
    ------
    SpecError
        ``spec`` is not shaped like ``bbj`` (the peers hard-code its structure).
    PanelError
        An uncensored tariff lies outside (lower, threshold): ``pm.Censored`` would read
        it as censored, so the peers' likelihood would differ from structest's.
    """
    from structest.errors import PanelError, SpecError
    from structest.structural.design import build_design
    from structest.structural.likelihood import EXACT, LEFT, NONE, RIGHT

    differs = [f"{k}={getattr(spec, k)!r}" for k, v in BBJ_SHAPE.items() if getattr(spec, k) != v]
    if len(spec.effects) != 2:
        differs.append(f"effects={spec.effects!r}")
    if differs:
        raise SpecError(
            f"bench_nuts: the peers are written for model bbj; model '{spec.name}' differs in "
            + ", ".join(differs)
        )
    e1, e2 = spec.effects
    priors = {k: tuple(v) for k, v in spec.priors.items()}
    priors["tau_1"], priors["tau_2"] = priors.pop(f"tau_{e1}"), priors.pop(f"tau_{e2}")
    for name, family in PRIOR_FAMILIES.items():
        if priors[name][0] != family:
            raise SpecError(
                f"bench_nuts: prior of {name} must be {family} for the peers, got {priors[name]!r}"
            )
    d = build_design(panel, spec)
    a = d.arrays
    keep = a["kind"] != NONE
    kind = a["kind"][keep]
    upper = a["threshold"][keep]
    lower = float(spec.lower)
    tariff = a["tariff"][keep]
    y = np.where(kind == RIGHT, upper, np.where(kind == LEFT, lower, tariff))
    exact = kind == EXACT
    bad = exact & ((tariff <= lower) | (tariff >= upper))
    if bad.any():
        raise PanelError(
            [
                f"bench_nuts: {int(bad.sum())} uncensored tariff(s) lie outside (lower bound, "
                "mfn_threshold); pm.Censored would read them as censored"
            ]
        )
    return {
        "x_ip": a["x_ip"][keep],
        "x_fva": a["x_fva"][keep],
        "x_dva": a["x_dva"][keep],
        "rta": a["rta"][keep],
        "y": y,
        "upper": upper,
        "kind": np.where(exact, 0, np.where(kind == RIGHT, 1, 2)),
        "idx1": a[f"idx_{e1}"][keep],
        "idx2": a[f"idx_{e2}"][keep],
        "J1": len(d.levels[e1]),
        "J2": len(d.levels[e2]),
        "lower": lower,
        "priors": priors,
        "n_dropped": int((~keep).sum()),
    }


def save_peer_data(data: Mapping[str, Any], path: Path) -> None:
    """Write :func:`peer_data` to ``path`` (.npz; priors as JSON inside)."""
    arrays = {k: np.asarray(v) for k, v in data.items() if k != "priors"}
    np.savez(path, priors=json.dumps(data["priors"]), **arrays)


def load_peer_data(path: Path) -> dict[str, Any]:
    """Read what :func:`save_peer_data` wrote."""
    with np.load(path) as z:
        out: dict[str, Any] = {k: z[k] for k in z.files}
    out["priors"] = {k: tuple(v) for k, v in json.loads(str(out["priors"])).items()}
    for k in ("J1", "J2", "n_dropped"):
        out[k] = int(out[k])
    out["lower"] = float(out["lower"])
    return out


def stan_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The data block of ``peers/bbj.stan`` (1-based indices, JSON-ready lists)."""
    kind = np.asarray(data["kind"])
    pos = {k: np.flatnonzero(kind == i) for i, k in enumerate(("exact", "right", "left"))}
    p = data["priors"]
    out: dict[str, Any] = {
        "N": int(kind.size),
        "x_ip": data["x_ip"],
        "x_fva": data["x_fva"],
        "x_dva": data["x_dva"],
        "rta": data["rta"],
        "J1": int(data["J1"]),
        "J2": int(data["J2"]),
        "idx1": np.asarray(data["idx1"]) + 1,
        "idx2": np.asarray(data["idx2"]) + 1,
        **{f"N_{k}": int(v.size) for k, v in pos.items()},
        **{f"i_{k}": v + 1 for k, v in pos.items()},
        "y_exact": np.asarray(data["y"])[pos["exact"]],
        "c_right": np.asarray(data["upper"])[pos["right"]],
        "lower_bound": float(data["lower"]),
        "pr_sigma": p["sigma"][1],
        "pr_tau1": p["tau_1"][1],
        "pr_tau2": p["tau_2"][1],
        "pr_mu": list(p["mu"][1:]),
    }
    for name in STRUCTURAL:
        out[f"pr_{name}"] = list(p[name][1:])
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


def _pymc_prior(name: str, prior: Sequence[Any]) -> Any:
    import pymc as pm

    family, *a = prior
    if family == "lognormal":
        return pm.LogNormal(name, mu=a[0], sigma=a[1])
    if family == "beta":
        return pm.Beta(name, alpha=a[0], beta=a[1])
    if family == "truncnormal":
        return pm.TruncatedNormal(name, mu=a[0], sigma=a[1], lower=a[2])
    if family == "halfnormal":
        return pm.HalfNormal(name, sigma=a[0])
    return pm.Normal(name, mu=a[0], sigma=a[1])


def pymc_model(data: Mapping[str, Any]) -> Any:
    """Model bbj in plain PyMC, as a user would write it: non-centred effects,
    ``pm.Censored(Normal, lower=0, upper=threshold)`` on :func:`peer_data`'s ``y``."""
    import pymc as pm
    import pytensor.tensor as pt

    pri = data["priors"]
    with pm.Model() as m:
        s = {p: _pymc_prior(p, pri[p]) for p in sorted(STRUCTURAL)}
        sigma = _pymc_prior("sigma", pri["sigma"])
        mu = _pymc_prior("mu", pri["mu"])
        tau1 = _pymc_prior("tau_1", pri["tau_1"])
        tau2 = _pymc_prior("tau_2", pri["tau_2"])
        z1 = pm.Normal("z_1", 0.0, 1.0, shape=int(data["J1"]))
        z2 = pm.Normal("z_2", 0.0, 1.0, shape=int(data["J2"]))
        el = s["eps"] * s["lambda_abs"]
        elt = s["eps_tilde"] * s["lambda_tilde"]
        fva = (1 - s["delta_star"]) * s["eps_r_home"]
        g = {
            "intercept": pm.Deterministic("intercept", 100 / s["eps"]),
            "g_IP": pm.Deterministic("g_IP", 100 * s["delta"] / el),
            "g_FVA": pm.Deterministic("g_FVA", -100 * fva / el),
            "g_DVA": pm.Deterministic(
                "g_DVA", -100 * (1 + s["delta_dstar"]) * s["eps_r_abroad"] / s["eps"]
            ),
            "g_IP_rta": pm.Deterministic("g_IP_rta", 100 * s["delta"] / elt),
            "g_FVA_rta": pm.Deterministic("g_FVA_rta", -100 * fva / elt),
        }
        x_ip, x_fva, x_dva = data["x_ip"], data["x_fva"], data["x_dva"]
        out = g["intercept"] + g["g_IP"] * x_ip + g["g_FVA"] * x_fva + g["g_DVA"] * x_dva
        ins = g["g_IP_rta"] * x_ip + g["g_FVA_rta"] * x_fva
        m_obs = (
            pt.where(np.asarray(data["rta"]) > 0.5, ins, out)
            + (mu + tau1 * z1)[np.asarray(data["idx1"])]
            + (tau2 * z2)[np.asarray(data["idx2"])]
        )
        pm.Censored(
            "tariff",
            pm.Normal.dist(m_obs, sigma),
            lower=float(data["lower"]),
            upper=np.asarray(data["upper"]),
            observed=np.asarray(data["y"]),
        )
    return m


# ---------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------


def bulk_ess(draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """ArviZ bulk ESS of each ``name -> float[chain, draw]`` (the same call for every peer)."""
    import arviz as az
    import xarray as xr

    ds = xr.Dataset({k: (("chain", "draw"), np.asarray(v, float)) for k, v in draws.items()})
    ess = az.ess(ds, method="bulk")
    return {k: float(ess[k]) for k in draws}


def summarize(
    name: str,
    ess: Mapping[str, float],
    wall_s: float,
    divergences: int,
    rss_mb: float,
    tree_mb: float | None,
    compile_s: float | None = None,
) -> dict[str, Any]:
    """One row of the table: ESS/s per parameter (bulk ESS / wall), min ESS/s over
    :data:`KEYS`, and on sampling time alone (wall - compile) where compile is known."""
    per_s = {k: ess[k] / wall_s for k in KEYS}
    row: dict[str, Any] = {
        "peer": name,
        "wall_s": wall_s,
        "compile_s": compile_s,
        "divergences": int(divergences),
        "ess": {k: float(ess[k]) for k in KEYS},
        "ess_per_s": per_s,
        "min_ess_s": min(per_s.values()),
        "min_ess_s_sampling": (
            None if compile_s is None else min(ess[k] for k in KEYS) / (wall_s - compile_s)
        ),
        "rss_mb": rss_mb,
        "tree_mb": tree_mb,
    }
    return row


def ratios(rows: Sequence[Mapping[str, Any]], ours: str = "structest") -> dict[str, Any]:
    """structest's min ESS/s over the best peer's, and its memory over the leanest peer's
    (all processes' memory where measured, else the largest process's RSS)."""
    by = {r["peer"]: r for r in rows}
    peers = [r for r in rows if not r["peer"].startswith("structest")]
    if ours not in by or not peers:
        return {}
    best = max(peers, key=lambda r: r["min_ess_s"])

    def mem(r: Mapping[str, Any]) -> float:
        return r["tree_mb"] if r["tree_mb"] is not None else r["rss_mb"]

    lean = min(peers, key=mem)
    lean_rss = min(peers, key=lambda r: r["rss_mb"])
    return {
        "best_peer": best["peer"],
        "speed_ratio": by[ours]["min_ess_s"] / best["min_ess_s"],
        "leanest_peer": lean["peer"],
        "memory_ratio": mem(by[ours]) / mem(lean),
        "leanest_peer_rss": lean_rss["peer"],
        "memory_ratio_rss": by[ours]["rss_mb"] / lean_rss["rss_mb"],
    }


def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The peer table in markdown: one row per front end."""
    head = [
        "",
        "wall (s)",
        "compile (s)",
        "div.",
        *KEYS,
        "min ESS/s",
        "min ESS/s, sampling only",
        "peak RSS, largest process (MB)",
        "peak memory, all processes (MB)",
    ]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for r in rows:
        cells = [
            LABELS.get(r["peer"], r["peer"]),
            _fmt(r["wall_s"]),
            _fmt(r["compile_s"]),
            str(r["divergences"]),
            *(_fmt(r["ess_per_s"][k], 2) for k in KEYS),
            f"**{_fmt(r['min_ess_s'], 2)}**",
            _fmt(r["min_ess_s_sampling"], 2),
            _fmt(r["rss_mb"], 0),
            _fmt(r["tree_mb"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, RssShmem (kB) of a process from /proc (cheap to read)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1])
    return out


def run_measured(cmd: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``, sampling its process tree's memory every 0.25 s (/proc, psutil).

    Returns stdout, stderr, returncode, peak_rss_mb (the largest single process's RSS)
    and peak_tree_mb: the peak over time of the whole tree's anonymous and shared-memory
    RSS summed over processes plus the largest process's file-backed RSS (shared
    libraries counted once). PSS would be the textbook measure, but reading it costs
    ~45 ms per poll for a 1.5 GB process, a fifth of a core at this rate.
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        top = psutil.Process(proc.pid)
        peak_rss, peak_tree = 0, 0
        while proc.poll() is None:
            try:
                pids = [proc.pid, *(c.pid for c in top.children(recursive=True))]
            except psutil.Error:
                pids = []
            anon, file_max = 0, 0
            for pid in pids:
                try:
                    st = _status_kb(pid)
                except (OSError, ValueError):
                    continue
                peak_rss = max(peak_rss, st.get("VmRSS", 0))
                anon += st.get("RssAnon", 0) + st.get("RssShmem", 0)
                file_max = max(file_max, st.get("RssFile", 0))
            peak_tree = max(peak_tree, anon + file_max)
            time.sleep(0.25)
        out.seek(0)
        err.seek(0)
        return {
            "stdout": out.read(),
            "stderr": err.read(),
            "returncode": proc.returncode,
            "peak_rss_mb": peak_rss / 1024,
            "peak_tree_mb": peak_tree / 1024,
        }


# ---------------------------------------------------------------------------------------
# children: one front end each
# ---------------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    return (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )


class _Timers:
    """Wall time of named library functions (wrapped in place) and JAX compile events."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        import jax

        def listen(event: str, duration: float, **_: Any) -> None:
            if event.startswith("/jax/core/compile/") or "compilation_cache" in event:
                key = "jax:" + event.rsplit("/", 1)[-1]
                self.seconds[key] = self.seconds.get(key, 0.0) + duration

        jax.monitoring.register_event_duration_secs_listener(listen)

    def wrap(self, module: Any, attr: str, key: str | None = None) -> None:
        fn = getattr(module, attr)
        label = key or attr

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t0

        setattr(module, attr, timed)

    def compile_s(self) -> float:
        """Seconds spent tracing, lowering and compiling, or reading the persistent cache."""
        keys = ("jaxpr_trace_duration", "jaxpr_to_mlir_module_duration")
        keys += ("backend_compile_duration", "cache_retrieval_time_sec")
        return sum(self.seconds.get(f"jax:{k}", 0.0) for k in keys)


def _structest_child(args: argparse.Namespace) -> dict[str, Any]:
    """structest's fit (timed part by part); draws of :data:`KEYS` to ``args.out``."""
    import structest

    structest.set_host_devices()  # one XLA CPU device per core, before any JAX work
    import jax

    if args.jax_cache:
        jax.config.update("jax_compilation_cache_dir", args.jax_cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    from structest.structural import fit, load_model, sampling
    from structest.structural.backends import numpyro as nb

    timers = _Timers()
    timers.wrap(nb, "sample", "nuts (trace + compile + warm-up + draws)")
    for attr in ("build_design", "prior_draws", "loglik_draws", "log_prior_draws"):
        timers.wrap(sampling, attr)
    timers.wrap(sampling, "assemble_idata")
    timers.wrap(sampling, "check_sampling")
    panel = structest.simulate(seed=0)[0] if args.sim else structest.load_panel()
    spec = load_model("bbj")
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    res = fit(
        panel,
        spec,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        n_prior=args.n_prior,
        progress_bar=False,
    )
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"wall_s": wall}
    if args.save_nc:
        t1 = time.perf_counter()
        path = Path(args.save_nc)
        res.save(path)
        out["netcdf_write_s"] = time.perf_counter() - t1
        out["netcdf_mb"] = path.stat().st_size / 2**20
    idata = res.idata
    post = idata.posterior
    np.savez(
        args.out,
        **{k: post[k].values for k in KEYS},
        diverging=idata.sample_stats["diverging"].values,
    )
    out.update(
        panel=str(panel),
        compile_s=timers.compile_s(),
        parts=timers.seconds,
        divergences=int(idata.sample_stats["diverging"].values.sum()),
        maxrss_mb=_maxrss_mb(),
    )
    return out


def _pymc_child(args: argparse.Namespace, which: str) -> dict[str, Any]:
    """The PyMC peer, sampled by nutpie or by ``pm.sample``; draws to ``args.out``."""
    import pymc as pm

    warnings.simplefilter("ignore")
    data = load_peer_data(Path(args.data))
    t0 = time.perf_counter()
    model = pymc_model(data)
    compile_s = None
    if which == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)
        compile_s = time.perf_counter() - t0
        idata = nutpie.sample(
            compiled,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            progress_bar=False,
        )
    else:
        with model:
            idata = pm.sample(
                draws=args.draws,
                tune=args.tune,
                chains=args.chains,
                random_seed=args.seed,
                progressbar=False,
                compute_convergence_checks=False,
            )
    wall = time.perf_counter() - t0
    post = idata.posterior
    np.savez(
        args.out,
        **{k: post[k].values for k in KEYS},
        diverging=idata.sample_stats["diverging"].values,
    )
    return {
        "wall_s": wall,
        "compile_s": compile_s,
        "divergences": int(idata.sample_stats["diverging"].values.sum()),
        "maxrss_mb": _maxrss_mb(),
    }


# ---------------------------------------------------------------------------------------
# the parent: one run, one table
# ---------------------------------------------------------------------------------------


def _child_cmd(which: str, args: argparse.Namespace, out: Path, **extra: Any) -> list[str]:
    cmd = [sys.executable, __file__, "--only", which, "--out", str(out)]
    cmd += ["--chains", str(args.chains), "--draws", str(args.draws), "--tune", str(args.tune)]
    cmd += ["--seed", str(args.seed)] + (["--sim"] if args.sim else [])
    for k, v in extra.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


def _run_child(cmd: list[str], label: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Run a child; its JSON (last stdout line) and the memory measurement, or None."""
    r = run_measured(cmd)
    if r["returncode"] != 0:
        tail = (r["stderr"].strip().splitlines() or ["(no output)"])[-1]
        print(f"{label}: failed (exit {r['returncode']}): {tail}")
        return None
    return json.loads(r["stdout"].strip().splitlines()[-1]), r


def _draws(path: Path) -> tuple[dict[str, np.ndarray], int]:
    with np.load(path) as z:
        return {k: z[k] for k in KEYS}, int(z["diverging"].sum())


def _child_row(name: str, got: tuple[dict[str, Any], dict[str, Any]], npz: Path) -> dict[str, Any]:
    """The table row of a front end run as a child process (its result, memory, draws)."""
    res, mem = got
    draws, div = _draws(npz)
    peak = max(res["maxrss_mb"], mem["peak_rss_mb"])
    return summarize(
        name, bulk_ess(draws), res["wall_s"], div, peak, mem["peak_tree_mb"], res["compile_s"]
    )


def peer_available(which: str) -> str | None:
    """None when the peer can run here, else why not (one line)."""
    import importlib.util

    if which in ("nutpie", "pymc") and importlib.util.find_spec("pymc") is None:
        return "PyMC is not installed (pip install 'structest[pymc]')"
    if which == "nutpie" and importlib.util.find_spec("nutpie") is None:
        return "nutpie is not installed (bash benchmarks/peers/setup_peers.sh)"
    if which == "stan":
        rscript = shutil.which("Rscript")
        if rscript is None:
            return "Rscript is not on PATH (bash benchmarks/peers/setup_peers.sh)"
        probe = subprocess.run(
            [rscript, "-e", "suppressMessages(library(rstan)); library(jsonlite)"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            return "R lacks rstan or jsonlite (bash benchmarks/peers/setup_peers.sh)"
    return None


def stan_loglik_check(csv: Path, panel: Any, spec: Any, n: int = 3) -> float:
    """Largest |Stan's total log-likelihood - structest's| over ``n`` of Stan's draws."""
    import jax
    import pandas as pd

    from structest.structural.design import build_design
    from structest.structural.likelihood import loglik_pointwise

    df = pd.read_csv(csv)
    df = df.iloc[np.linspace(0, len(df) - 1, n).astype(int)]
    e1, e2 = spec.effects
    a = build_design(panel, spec).arrays
    worst = 0.0
    with jax.enable_x64(True):
        for _, r in df.iterrows():
            z1 = r[[c for c in df.columns if c.startswith("z1[")]].to_numpy(float)
            z2 = r[[c for c in df.columns if c.startswith("z2[")]].to_numpy(float)
            params = {k: float(r[k]) for k in STRUCTURAL | {"sigma"}}
            params[f"fe_{e1}"] = float(r["mu"]) + float(r["tau1"]) * z1
            params[f"fe_{e2}"] = float(r["tau2"]) * z2
            ours = float(loglik_pointwise(params, a).sum())
            worst = max(worst, abs(ours - float(r["log_lik"])))
    return worst


def run_stan(args: argparse.Namespace, data: Mapping[str, Any], work: Path) -> dict[str, Any]:
    """The Stan peer: JSON data, ``Rscript run_stan.R``, draws read back."""
    import pandas as pd

    sdir = work / "stan"
    sdir.mkdir()
    (sdir / "data.json").write_text(json.dumps(stan_data(data)))
    shutil.copy(PEERS_DIR / "bbj.stan", sdir / "bbj.stan")
    cmd = [
        shutil.which("Rscript") or "Rscript",
        str(PEERS_DIR / "run_stan.R"),
        str(sdir / "data.json"),
        str(sdir / "bbj.stan"),
        str(sdir),
        str(args.chains),
        str(args.draws),
        str(args.tune),
        str(args.seed + 1),
        str(args.adapt_delta),
    ]
    r = run_measured(cmd)
    if r["returncode"] != 0:
        tail = (r["stderr"].strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"Rscript failed (exit {r['returncode']}): {tail}")
    stats = json.loads((sdir / "stats.json").read_text())
    df = pd.read_csv(sdir / "draws.csv", usecols=["chain", "draw", *KEYS])
    draws = {k: df.pivot(index="chain", columns="draw", values=k).to_numpy(float) for k in KEYS}
    return {"stats": stats, "draws": draws, "mem": r, "csv": sdir / "draws.csv"}


def fixed_cost(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """structest's fixed cost: 10 + 10 fits (CLI defaults: 1,000 prior draws, NetCDF
    write) without the persistent cache, with an empty one and with the filled one."""
    cache = work / "jax_cache_probe"
    rows = []
    for label, cache_dir in (
        ("no persistent cache", None),
        ("empty cache (fills it)", cache),
        ("warm cache", cache),
    ):
        small = argparse.Namespace(**{**vars(args), "draws": 10, "tune": 10})
        cmd = _child_cmd(
            "structest",
            small,
            work / "probe.npz",
            n_prior=1000,
            jax_cache=cache_dir,
            save_nc=work / "probe.nc",
        )
        got = _run_child(cmd, f"fixed cost ({label})")
        if got is not None:
            rows.append({"label": label, **got[0], "rss_mb": got[1]["peak_rss_mb"]})
        (work / "probe.nc").unlink(missing_ok=True)
    return rows


def _print_fixed(rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    print("\nstructest fixed cost: 2 chains x 10 + 10, 1,000 prior draws, NetCDF write (s)\n")
    parts = [
        ("jax:jaxpr_trace_duration", "JAX trace"),
        ("jax:jaxpr_to_mlir_module_duration", "lowering"),
        ("jax:backend_compile_duration", "XLA compile"),
        ("jax:cache_retrieval_time_sec", "cache read"),
        ("nuts (trace + compile + warm-up + draws)", "NUTS call"),
        ("prior_draws", "prior draws"),
        ("loglik_draws", "pointwise log-lik"),
        ("log_prior_draws", "log prior"),
        ("assemble_idata", "InferenceData"),
    ]
    head = ["", "fit() wall", *(p[1] for p in parts), "NetCDF write", "total"]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for r in rows:
        p = r["parts"]
        cells = [
            r["label"],
            _fmt(r["wall_s"]),
            *(_fmt(p.get(k, 0.0)) for k, _ in parts),
            _fmt(r.get("netcdf_write_s")),
            _fmt(r["wall_s"] + r.get("netcdf_write_s", 0.0)),
        ]
        print("| " + " | ".join(cells) + " |")
    print(
        "\n(JAX trace, lowering and XLA compile sum JAX's compile events over the whole fit; "
        "they overlap the other columns.)"
    )


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> None:
    """Run every available front end in its own subprocess and print one table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sim", action="store_true", help="a synthetic panel, not the bundled one")
    ap.add_argument("--peers", default=",".join(ALL_PEERS), help="comma-separated subset")
    ap.add_argument("--adapt-delta", type=float, default=0.95, help="Stan's adapt_delta")
    ap.add_argument("--no-fixed-cost", action="store_true", help="skip the 10 + 10 probe")
    ap.add_argument("--no-warm", action="store_true", help="skip the warm-cache structest run")
    ap.add_argument("--keep", help="keep the work files (data, draws) in this folder")
    ap.add_argument("--json", help="also write the results as JSON here")
    # the children's options
    ap.add_argument("--only", choices=("structest", "nutpie", "pymc"), help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--n-prior", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--jax-cache", help=argparse.SUPPRESS)
    ap.add_argument("--save-nc", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.only:  # child process: one front end, JSON on the last stdout line
        if args.only == "structest":
            print(json.dumps(_structest_child(args)))
        else:
            print(json.dumps(_pymc_child(args, args.only)))
        return
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(ALL_PEERS))
    if unknown:
        ap.error(f"--peers: unknown {unknown}; choose from {list(ALL_PEERS)}")
    import structest
    from structest.structural import load_model

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_nuts_"))
    work.mkdir(parents=True, exist_ok=True)
    panel = structest.simulate(seed=0)[0] if args.sim else structest.load_panel()
    spec = load_model("bbj")
    data = peer_data(panel, spec)
    save_peer_data(data, work / "data.npz")
    print(f"panel: {panel}")
    print(f"started {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load {_load()}")
    print(
        f"{args.chains} chains x {args.draws} draws + {args.tune} warm-up; the peers fit "
        f"{data['y'].size} rows ({data['n_dropped']} rows with mfn_threshold <= 0 carry no "
        "information and are left out)"
    )
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for which in wanted:
        why = peer_available(which)
        if why:
            print(f"{which}: skipped: {why}")
            continue
        t0 = time.perf_counter()
        if which == "structest":
            cache = work / "jax_cache_main"
            runs = [("structest", cache)] + ([] if args.no_warm else [("structest_warm", cache)])
            for name, cache_dir in runs:
                cmd = _child_cmd("structest", args, work / f"{name}.npz", jax_cache=cache_dir)
                got = _run_child(cmd, name)
                if got is None:
                    break
                res = got[0]
                rows.append(_child_row(name, got, work / f"{name}.npz"))
                p = rows[-1]["parts"] = res["parts"]
                notes.append(
                    f"{name}: fit {res['wall_s']:.1f} s = NUTS call "
                    f"{p.get('nuts (trace + compile + warm-up + draws)', 0):.1f} s (of which "
                    f"JAX compile {res['compile_s']:.1f} s) + pointwise log-lik "
                    f"{p.get('loglik_draws', 0):.1f} s + InferenceData "
                    f"{p.get('assemble_idata', 0):.1f} s + rest"
                )
        elif which in ("nutpie", "pymc"):
            cmd = _child_cmd(which, args, work / f"{which}.npz", data=work / "data.npz")
            got = _run_child(cmd, which)
            if got is None:
                continue
            rows.append(_child_row(which, got, work / f"{which}.npz"))
        else:
            try:
                st = run_stan(args, data, work)
            except RuntimeError as exc:
                print(f"stan: failed: {exc}")
                continue
            s = st["stats"]
            wall = s["compile_s"] + s["sampling_s"]
            rows.append(
                summarize(
                    "stan",
                    bulk_ess(st["draws"]),
                    wall,
                    s["divergences"],
                    st["mem"]["peak_rss_mb"],
                    st["mem"]["peak_tree_mb"],
                    s["compile_s"],
                )
            )
            check = stan_loglik_check(st["csv"], panel, spec)
            chain_s = max(
                w + c for w, c in zip(s["chain_warmup_s"], s["chain_sample_s"], strict=True)
            )
            notes.append(
                f"stan: sampling {s['sampling_s']:.1f} s, of which the slowest chain's own "
                f"time {chain_s:.1f} s (the rest: rstan starting its worker processes); "
                f"rstan {s['rstan']}, adapt_delta {args.adapt_delta}, max tree depth "
                f"{s['max_treedepth']}, mean leapfrog steps {s['mean_leapfrog']:.0f}; its total "
                f"log-likelihood matches structest's to {check:.1e} at 3 draws"
            )
        print(f"{which}: done in {time.perf_counter() - t0:.0f} s")
    probe = [] if args.no_fixed_cost or "structest" not in wanted else fixed_cost(args, work)
    print()
    print(markdown_table(rows))
    print()
    for line in notes:
        print(line)
    r = ratios(rows)
    if r:
        print(
            f"\nmin ESS/s: structest / best peer ({r['best_peer']}) = {r['speed_ratio']:.2f} "
            f"(goal >= 10); memory: structest / leanest peer ({r['leanest_peer']}, all "
            f"processes) = {r['memory_ratio']:.2f}; largest process RSS against "
            f"{r['leanest_peer_rss']}: {r['memory_ratio_rss']:.2f} (goal <= 1.5)"
        )
    _print_fixed(probe)
    print(f"\nfinished {time.strftime('%Y-%m-%d %H:%M')}, load {_load()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "fixed": probe, "ratios": r}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
