"""ESS per second: structest's NumPyro NUTS vs the same model as plain PyMC (pm.Censored).

Usage: ``python benchmarks/bench_nuts.py [--chains 2] [--draws 500] [--tune 500] [--sim]``

Both fit model ``bbj`` (log ratios, Normal errors, RTA regime, partially pooled
importer-industry-year and exporter-industry-year effects, left bound 0, MFN cap) with the
default priors on the bundled panel (``--sim``: a synthetic one). The PyMC version writes
the mean with PyTensor ops and the censored likelihood with ``pm.Censored`` and samples with
``pm.sample`` defaults (chains on up to 4 cores; structest likewise runs chains in
parallel, one XLA CPU device per core via :func:`structest.set_host_devices`). Observations
with MFN <= 0 carry no information and are dropped from the PyMC model. The PyMC version
writes both effects non-centred, as a user would; structest samples the
importer-industry-year effect through its cell means (``centred_effect`` in
``models/bbj.toml``): the parametrisation is part of what is compared. ESS/s = bulk ESS of
each g (and sigma) / wall time including compilation; the table prints both and the ratio
NumPyro / PyMC. Each front end runs in its own subprocess, so its peak resident memory
(``ru_maxrss`` of the largest process: PyMC's chain workers are child processes) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import pandas as pd

os.environ.setdefault("CI", "1")
KEYS = ("intercept", "g_IP", "g_FVA", "g_DVA", "g_IP_rta", "g_FVA_rta", "sigma")


def plain_pymc(panel, spec):  # noqa: ANN001, ANN201
    import pymc as pm
    import pytensor.tensor as pt

    from structest.structural.design import build_design
    from structest.structural.priors import pymc_dist

    d = build_design(panel, spec)
    a = d.arrays
    keep = a["mfn"] > 0
    pri = spec.priors
    with pm.Model() as m:
        s = {p: pymc_dist(p, pri[p]) for p in spec.structural}
        sigma = pymc_dist("sigma", pri["sigma"])
        mu = pymc_dist("mu", pri["mu"])
        fe = []
        for k, e in enumerate(spec.effects):
            tau = pymc_dist(f"tau_{e}", pri[f"tau_{e}"])
            z = pm.Normal(f"z_{e}", 0, 1, shape=len(d.levels[e]))
            fe.append(((mu if k == 0 else 0.0) + tau * z)[a[f"idx_{e}"][keep]])
        el = s["eps"] * s["lambda_abs"]
        fva = (1 - s["delta_star"]) * s["eps_r_home"]
        g = {
            "intercept": pm.Deterministic("intercept", 100 / s["eps"]),
            "g_IP": pm.Deterministic("g_IP", 100 * s["delta"] / el),
            "g_FVA": pm.Deterministic("g_FVA", -100 * fva / el),
            "g_DVA": pm.Deterministic(
                "g_DVA", -100 * (1 + s["delta_dstar"]) * s["eps_r_abroad"] / s["eps"]
            ),
            "g_IP_rta": pm.Deterministic(
                "g_IP_rta", 100 * s["delta"] / (s["eps_tilde"] * s["lambda_tilde"])
            ),
            "g_FVA_rta": pm.Deterministic(
                "g_FVA_rta", -100 * fva / (s["eps_tilde"] * s["lambda_tilde"])
            ),
        }
        x = {k: a[k][keep] for k in ("x_ip", "x_fva", "x_dva")}
        out = (
            g["intercept"]
            + g["g_IP"] * x["x_ip"]
            + g["g_FVA"] * x["x_fva"]
            + g["g_DVA"] * x["x_dva"]
        )
        ins = g["g_IP_rta"] * x["x_ip"] + g["g_FVA_rta"] * x["x_fva"]
        m_obs = pt.where(a["rta"][keep] > 0.5, ins, out) + sum(fe)
        pm.Censored(
            "tariff",
            pm.Normal.dist(m_obs, sigma),
            lower=0.0,
            upper=a["mfn"][keep],
            observed=a["tariff"][keep],
        )
    return m


def _run_one(which: str, args: argparse.Namespace) -> dict:
    """Sample with one front end in this process; ESS, wall time, divergences, peak RSS."""
    import arviz as az
    import pymc as pm

    import structest
    from structest.structural import fit, load_model

    if which == "numpyro":  # one XLA CPU device per core, before any JAX computation
        structest.set_host_devices()
    panel = structest.simulate(seed=0)[0] if args.sim else structest.load_panel()
    spec = load_model("bbj")
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if which == "numpyro":
        idata = fit(
            panel,
            spec,
            chains=args.chains,
            draws=args.draws,
            tune=args.tune,
            n_prior=0,
            progress_bar=False,
        ).idata  # StructuralFit -> its ArviZ InferenceData
    else:
        with plain_pymc(panel, spec):
            idata = pm.sample(
                draws=args.draws,
                tune=args.tune,
                chains=args.chains,
                random_seed=0,
                progressbar=False,
                compute_convergence_checks=False,
            )
    seconds = time.perf_counter() - t0
    ess = {k: float(az.ess(idata, var_names=[k], method="bulk")[k]) for k in KEYS}
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return {
        "panel": str(panel),
        "seconds": seconds,
        "ess": ess,
        "divergences": int(idata.sample_stats["diverging"].values.sum()),
        "peak_rss_mb": rss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--sim", action="store_true")
    ap.add_argument("--only", choices=("numpyro", "pymc"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only:  # child process: one front end, JSON on the last stdout line
        print(json.dumps(_run_one(args.only, args)))
        return
    res = {}
    for which in ("numpyro", "pymc"):
        cmd = [sys.executable, __file__, "--only", which, "--chains", str(args.chains)]
        cmd += ["--draws", str(args.draws), "--tune", str(args.tune)] + (
            ["--sim"] if args.sim else []
        )
        cp = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res[which] = json.loads(cp.stdout.strip().splitlines()[-1])
    a, b = res["numpyro"], res["pymc"]
    print(f"panel: {a['panel']}")
    rows = []
    for k in KEYS:
        ea, eb = a["ess"][k], b["ess"][k]
        rows.append(
            {
                "param": k,
                "ess_numpyro": ea,
                "ess_pymc": eb,
                "ess_s_numpyro": ea / a["seconds"],
                "ess_s_pymc": eb / b["seconds"],
                "ratio": (ea / a["seconds"]) / (eb / b["seconds"]),
            }
        )
    df = pd.DataFrame(rows).set_index("param")
    print(
        f"wall time: numpyro {a['seconds']:.1f} s, pymc {b['seconds']:.1f} s "
        f"({args.chains} chains x {args.draws} draws + {args.tune} tune)"
    )
    print(f"divergences: numpyro {a['divergences']}, pymc {b['divergences']}")
    print(
        f"peak RSS (largest process): numpyro {a['peak_rss_mb']:.0f} MB, "
        f"pymc {b['peak_rss_mb']:.0f} MB (ratio pymc / numpyro "
        f"{b['peak_rss_mb'] / a['peak_rss_mb']:.2f})"
    )
    print(df.to_string(float_format=lambda v: f"{v:.2f}"))
    print(
        f"min ESS/s ratio (numpyro / pymc): {df['ess_s_numpyro'].min() / df['ess_s_pymc'].min():.2f}; "
        f"median of per-parameter ratios: {df['ratio'].median():.2f}"
    )


if __name__ == "__main__":
    main()
