"""Coverage of 90% posterior intervals over repeated synthetic worlds (default bbj priors).

Usage: ``python benchmarks/coverage_study.py [--reps 20] [--draws 300] [--tune 300]``

Each rep draws a world with :func:`structest.simulate` (8 economies x 6 industries x
2 years, ~670 observations, default structural truth) with a new seed, fits model ``bbj``
(2 chains) and records whether the central 90% interval covers the truth for g_IP, g_FVA,
g_DVA, g_IP_rta, g_FVA_rta, sigma and -g_FVA/g_IP. With R reps, the coverage estimate has
binomial s.e. sqrt(0.09/R) (0.067 at R = 20).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

os.environ.setdefault("CI", "1")  # no progress bars

PARAMS = ("g_IP", "g_FVA", "g_DVA", "g_IP_rta", "g_FVA_rta", "sigma", "ratio_g_fva_g_ip")
ECON = ("USA", "CHN", "DEU", "JPN", "BRA", "IND", "KOR", "MEX")
INDS = ("c3", "c4", "c5", "c6", "c9", "c12")


def main() -> None:
    import structest
    from structest.structural import fit

    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--tune", type=int, default=300)
    args = ap.parse_args()
    structest.set_host_devices()  # one XLA CPU device per core: the 2 chains run in parallel
    rows = []
    t0 = time.perf_counter()
    for rep in range(args.reps):
        panel, truth = structest.simulate(
            seed=1000 + rep, economies=ECON, industries=INDS, years=(1995, 2005)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit(panel, chains=2, draws=args.draws, tune=args.tune, seed=rep, n_prior=0)
        div = int(result.idata.sample_stats["diverging"].values.sum())
        for p in PARAMS:
            v = result.posterior[p].values.reshape(-1)
            lo, hi = np.quantile(v, [0.05, 0.95])
            rows.append(
                {
                    "rep": rep,
                    "param": p,
                    "truth": truth[p],
                    "lo": lo,
                    "hi": hi,
                    "covered": lo <= truth[p] <= hi,
                    "divergences": div,
                }
            )
        print(f"rep {rep}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    cov = df.groupby("param", sort=False)["covered"].agg(["mean", "count"])
    cov["se"] = np.sqrt(0.09 / cov["count"])
    print(f"\n90% interval coverage over {args.reps} reps ({time.perf_counter() - t0:.0f} s):")
    print(
        cov.rename(columns={"mean": "coverage", "count": "reps"}).to_string(
            float_format=lambda v: f"{v:.3f}"
        )
    )
    print(
        f"overall: {df['covered'].mean():.3f}; reps with divergences: {(df.groupby('rep')['divergences'].first() > 0).sum()}"
    )


if __name__ == "__main__":
    main()
