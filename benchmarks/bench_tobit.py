"""Benchmark: FE-Tobit (structest, JAX) on 10^4, 10^5, 10^6 synthetic rows.

Each (size, method) runs in a fresh subprocess so that the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which also covers JAX/XLA buffers that
``tracemalloc`` cannot see) is its own. Peers measured in the same run:

- ``pyfixest`` OLS on the same formula and data (speed yardstick: one HDFE least squares);
- ``scipy`` dummy-variable Tobit (sparse dummy design, L-BFGS-B with analytic gradient) on
  the sizes where it is feasible (10^4 rows).

Fixed effects: ``imp_ind_year^product + exp_ind_year`` (about 1.5e3, 8.6e3 and 7.9e4 levels).
Not a test. Run: ``python benchmarks/bench_tobit.py [--sizes 1 10 100]`` (n_products).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FML = "tariff ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year^product + exp_ind_year"


def _data(n_products: int):  # type: ignore[no-untyped-def]
    import structest

    panel, _ = structest.simulate(seed=0, n_products=n_products)
    df = panel.df
    if "product" not in df.columns:
        df = df.assign(product="p0000")
    return df


def _scipy_dummy_tobit(df) -> float:  # type: ignore[no-untyped-def]
    """Independent dummy-variable Tobit (right-censored at MFN, left at 0) with scipy."""
    import numpy as np
    import pandas as pd
    import scipy.optimize
    import scipy.sparse as sp
    from scipy import stats

    key1 = df["imp_ind_year"] + "|" + df["product"]
    c1 = pd.factorize(key1)[0]
    c2 = pd.factorize(df["exp_ind_year"])[0][:, None]
    n = len(df)
    D = sp.hstack(
        [
            sp.csr_matrix((np.ones(n), (np.arange(n), c1))),
            sp.csr_matrix((np.ones(n), (np.arange(n), c2.ravel())))[:, 1:],
        ]
    ).tocsr()
    X = sp.csr_matrix(df[["log_dva_ratio", "log_ip_ratio", "rta"]].to_numpy(float))
    Z = sp.hstack([X, D]).tocsr()
    y, U = df["tariff"].to_numpy(float), df["mfn"].to_numpy(float)
    right, left = y >= U - 1e-6, (y <= 1e-6) & ~(y >= U - 1e-6)
    unc = ~right & ~left
    k = Z.shape[1]

    def f(th):  # type: ignore[no-untyped-def]
        mu, s = Z @ th[:k], np.exp(th[k])
        zr, zl, e = (mu - U) / s, (0 - mu) / s, (y - mu) / s
        ll = np.where(
            unc,
            stats.norm.logpdf(e) - np.log(s),
            np.where(right, stats.norm.logcdf(zr), stats.norm.logcdf(zl)),
        )
        mr = np.exp(stats.norm.logpdf(zr) - stats.norm.logcdf(zr))
        ml = np.exp(stats.norm.logpdf(zl) - stats.norm.logcdf(zl))
        dmu = np.where(unc, e / s, np.where(right, mr / s, -ml / s))
        ds = np.where(unc, e**2 - 1, np.where(right, -mr * zr, -ml * zl))
        return -ll.sum(), -np.concatenate([Z.T @ dmu, [ds.sum()]])

    th0 = np.zeros(k + 1)
    th0[k] = np.log(y.std())
    res = scipy.optimize.minimize(
        f, th0, jac=True, method="L-BFGS-B", options={"maxiter": 20000, "gtol": 1e-8}
    )
    return float(res.x[0])


def _one(method: str, n_products: int) -> dict:
    panel = _data(n_products)
    n = len(panel)
    t0 = time.perf_counter()
    if method == "structest":
        from structest.reduced import fit_reduced_form

        res = fit_reduced_form(panel, FML, estimator="tobit", lower=0.0)
        out = {
            "coef": float(res.params.iloc[0]),
            "nobs": res.nobs,
            "iters": res.n_iter,
            "fe_levels": sum(res.extra["fe_levels"].values()),
        }
        t1 = time.perf_counter()
        fit_reduced_form(panel, FML, estimator="tobit", lower=0.0)  # warm (compiled) run
        out["seconds_warm"] = time.perf_counter() - t1
    elif method == "pyfixest":
        import pyfixest as pf

        fit = pf.feols(FML, panel, vcov={"CRV1": "pair"})
        out = {"coef": float(fit.coef().iloc[0]), "nobs": n}
    else:
        out = {"coef": _scipy_dummy_tobit(panel), "nobs": n}
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rows"] = n
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 10, 100], help="n_products values")
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "N_PRODUCTS"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], int(args.one[1]))))
        return
    print(f"formula: {FML}")
    print(
        f"{'rows':>9} {'method':>10} {'sec(1st)':>9} {'sec(warm)':>9} {'peakMB':>8} {'coef':>9} {'ratio':>8}"
    )
    for m in args.sizes:
        row = {}
        methods = ["structest", "pyfixest"] + (["scipy"] if m == 1 else [])
        for meth in methods:
            cp = subprocess.run(
                [sys.executable, __file__, "--one", meth, str(m)], capture_output=True, text=True
            )
            if cp.returncode:
                print(f"{meth} n_products={m} failed: {cp.stderr[-500:]}")
                continue
            row[meth] = json.loads(cp.stdout.strip().splitlines()[-1])
        base = row.get("structest", {}).get("seconds_warm")
        for meth, r in row.items():
            ratio = "" if meth == "structest" or not base else f"{r['seconds'] / base:8.2f}"
            warm = f"{r['seconds_warm']:9.2f}" if "seconds_warm" in r else " " * 9
            print(
                f"{r['rows']:>9} {meth:>10} {r['seconds']:9.2f} {warm} {r['peak_rss_mb']:8.0f} {r['coef']:9.4f} {ratio:>8}"
            )
    print(
        "ratio = peer seconds / structest warm seconds (structest sec(1st) includes JIT compilation)"
    )


if __name__ == "__main__":
    main()
