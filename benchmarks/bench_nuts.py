"""ESS per second: structest's NumPyro NUTS vs the same model as plain PyMC (pm.Censored).

Usage: ``python benchmarks/bench_nuts.py [--chains 2] [--draws 500] [--tune 500] [--sim]``

Both fit model ``bbj`` (log ratios, Normal errors, RTA regime, non-centred
importer-industry-year and exporter-industry-year effects, left bound 0, MFN cap) with the
default priors on the bundled panel (``--sim``: a synthetic one). The PyMC version writes
the mean with PyTensor ops and the censored likelihood with ``pm.Censored`` and samples with
``pm.sample`` defaults (chains on up to 4 cores; structest likewise runs chains in
parallel over one XLA CPU device per core). Observations with MFN <= 0 carry no information and are
dropped from the PyMC model. ESS/s = bulk ESS of each g (and sigma) / wall time including
compilation; the table prints both and the ratio NumPyro / PyMC.
"""

from __future__ import annotations

import argparse
import os
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


def main() -> None:
    import arviz as az
    import pymc as pm

    import structest
    from structest.structural import fit, load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--sim", action="store_true")
    args = ap.parse_args()
    panel = structest.simulate(seed=0)[0] if args.sim else structest.load_panel()
    spec = load_model("bbj")
    print(f"panel: {panel}")
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    a = fit(
        panel,
        spec,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        n_prior=0,
        progress_bar=False,
    )
    t_np = time.perf_counter() - t0
    t0 = time.perf_counter()
    with plain_pymc(panel, spec):
        b = pm.sample(
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=0,
            progressbar=False,
            compute_convergence_checks=False,
        )
    t_pm = time.perf_counter() - t0
    rows = []
    for k in KEYS:
        ea = float(az.ess(a, var_names=[k], method="bulk")[k])
        eb = float(az.ess(b, var_names=[k], method="bulk")[k])
        rows.append(
            {
                "param": k,
                "ess_numpyro": ea,
                "ess_pymc": eb,
                "ess_s_numpyro": ea / t_np,
                "ess_s_pymc": eb / t_pm,
                "ratio": (ea / t_np) / (eb / t_pm),
            }
        )
    df = pd.DataFrame(rows).set_index("param")
    print(
        f"wall time: numpyro {t_np:.1f} s, pymc {t_pm:.1f} s ({args.chains} chains x {args.draws} draws + {args.tune} tune)"
    )
    print(
        f"divergences: numpyro {int(a.sample_stats.diverging.sum())}, pymc {int(b.sample_stats.diverging.sum())}"
    )
    print(df.to_string(float_format=lambda v: f"{v:.2f}"))
    print(
        f"min ESS/s ratio (numpyro / pymc): {df['ess_s_numpyro'].min() / df['ess_s_pymc'].min():.2f}; "
        f"median of per-parameter ratios: {df['ratio'].median():.2f}"
    )


if __name__ == "__main__":
    main()
