"""Benchmark: how the structural model scales with rows and with effect levels.

For synthetic panels (:func:`structest.simulate`) it measures, each point in a fresh
subprocess (so that the peak resident memory, ``ru_maxrss``, is the point's own):

- the gradient of the model's log density (priors, centred-effect cell means and the
  censored likelihood: what NUTS evaluates at every leapfrog step), jitted, warm, median
  of ``--repeats`` calls;
- bytes per row of the design (the likelihood's arrays) and the peak RSS;
- for rows <= 10^4 (``--fit`` for every size, ``--no-fit`` for none): a short structural
  fit (1 chain, ``--tune`` + ``--draws``, default 100 + 100) and the bytes on disk of the
  saved fit (:meth:`StructuralFit.save`: default, ``float32=True``,
  ``log_likelihood=False`` and both), and the bytes per draw (and per row and draw) of
  each group the fit keeps in memory.

Two sweeps: rows at fixed effect levels (5 economies x 14 industries x 4 years = 560
importer- and exporter-industry-year levels; ``n_products`` = 1, 9, 89, 893 give 1,120 to
1,000,160 rows), and effect levels at about 10^5 rows (economies and years varied,
``n_products`` adjusted: 448 to 15,680 levels). The log-log slope of every curve is fitted
and printed with the table.

With ``--devices K`` the observations are sharded over K XLA devices
(:mod:`structest.structural.sharding`; on CPU, K host devices) and the gradient is that of
the sharded program; the fits stay unsharded.

Not a test. Run: ``python benchmarks/bench_scale.py`` (the sweep), ``--rows N`` (one size),
``--devices K``, ``--fit``/``--no-fit``, ``--json PATH``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: rows per n_products of the rows sweep (5 economies: 20 pairs x 14 industries x 4 years)
ROW_UNIT = 1120
ROWS_SWEEP = (1, 9, 89, 893)  # n_products: 1,120 ... 1,000,160 rows
#: effect-level sweep at ~10^5 rows: (economies, years, n_products)
LEVELS_SWEEP = ((4, 4, 149), (8, 4, 32), (14, 4, 10), (14, 20, 2), (14, 40, 1))
FIT_MAX_ROWS = 10_000


def _years(n: int) -> tuple[int, ...]:
    return (1995, 2000, 2005, 2009) if n == 4 else tuple(range(2010 - n, 2010))


def _world(economies: int, years: int, n_products: int) -> dict[str, Any]:
    from structest.codes import ECONOMIES

    return {
        "economies": tuple(ECONOMIES[:economies]),
        "years": _years(years),
        "n_products": n_products,
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _design_bytes(design: Any) -> tuple[float, float]:
    """Bytes per row of the per-observation arrays, and of all arrays."""
    import numpy as np

    n = design.n
    per_obs = sum(
        np.asarray(v).nbytes
        for k, v in design.arrays.items()
        if np.ndim(v) and np.shape(v)[0] == n and not k.startswith(("xbar_", "mfnbar_"))
    )
    every = sum(np.asarray(v).nbytes for v in design.arrays.values())
    return per_obs / n, every / n


def _grad_time(panel: Any, model: str, devices: int, repeats: int) -> dict[str, Any]:
    """Median warm time of the log density's gradient (and the first call, with JIT)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpyro import handlers
    from numpyro.infer.util import log_density

    from structest.structural import sharding
    from structest.structural.backends.numpyro import model as nmodel
    from structest.structural.design import build_design
    from structest.structural.program import Layout
    from structest.structural.spec import load_model

    spec = load_model(model)
    with jax.enable_x64(True):
        design = build_design(panel, spec)
        per_obs, every = _design_bytes(design)
        arrays = {k: jnp.asarray(v) for k, v in design.arrays.items()}
        layout = Layout.of(design)
        trace = handlers.trace(handlers.seed(nmodel, rng_seed=1)).get_trace(
            arrays, spec, layout, False
        )
        draw = {k: v["value"] for k, v in trace.items() if v["type"] == "sample"}
        if devices > 1:
            design = sharding.shard_design(design, devices)
            arrays, layout = design.arrays, Layout.of(design)

        def lp(q: dict[str, Any], a: dict[str, Any]) -> Any:
            return log_density(nmodel, (a, spec, layout, True), {}, q)[0]

        grad = jax.jit(jax.grad(lp))
        t0 = time.perf_counter()
        jax.block_until_ready(grad(draw, arrays))
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(grad(draw, arrays))
            times.append(time.perf_counter() - t0)
    return {
        "grad_ms": 1e3 * float(np.median(times)),
        "grad_first_s": first,
        "design_bytes_per_row": per_obs,
        "design_bytes_per_row_all": every,
        "levels": int(sum(len(v) for v in design.levels.values())),
    }


def _fit(panel: Any, model: str, draws: int, tune: int) -> dict[str, Any]:
    """A 1-chain fit: time, bytes of each kept group, bytes on disk of the saved fit."""
    import warnings

    import structest

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: sampling warnings expected
        fit = structest.fit(
            panel, model, chains=1, draws=draws, tune=tune, seed=0, progress_bar=False
        )
    out: dict[str, Any] = {"fit_s": time.perf_counter() - t0}
    idata = fit.idata
    n = len(panel.df)
    groups = {}
    for g in idata.groups():
        ds = idata[g]
        nbytes = int(sum(v.nbytes for v in ds.data_vars.values()))
        nd = int(ds.sizes.get("draw", 0)) * int(ds.sizes.get("chain", 1))
        per_obs = any(
            any(ds.sizes[d] == n for d in v.dims if d not in ("chain", "draw"))
            for v in ds.data_vars.values()
        )
        groups[g] = {
            "bytes": nbytes,
            "draws": nd,
            "per_draw": nbytes / nd if nd else None,
            "per_draw_row": nbytes / nd / n if nd and per_obs else None,
        }
    out["groups"] = groups
    stats = idata["sample_stats"]
    out["mean_steps"] = float(stats["n_steps"].mean())
    with tempfile.TemporaryDirectory() as tmp:
        for label, kw in {
            "disk_default": {},
            "disk_float32": {"float32": True},
            "disk_no_ll": {"log_likelihood": False},
            "disk_float32_no_ll": {"float32": True, "log_likelihood": False},
        }.items():
            path = fit.save(Path(tmp) / f"{label}.nc", **kw)
            out[label] = Path(path).stat().st_size
    return out


def worker(opts: dict[str, Any]) -> dict[str, Any]:
    """One point, in this process (the parent starts one subprocess per point)."""
    if opts["devices"] > 1:
        import structest

        structest.set_host_devices(opts["devices"])
    import structest

    t0 = time.perf_counter()
    panel, _ = structest.simulate(0, **_world(opts["economies"], opts["years"], opts["n_products"]))
    res: dict[str, Any] = {**opts, "rows": len(panel.df), "simulate_s": time.perf_counter() - t0}
    res.update(_grad_time(panel, opts["model"], opts["devices"], opts["repeats"]))
    if opts["fit"]:
        res.update(_fit(panel, opts["model"], opts["draws"], opts["tune"]))
    res["peak_rss_mb"] = _rss_mb()
    return res


def _run_point(opts: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    if opts["devices"] > 1:
        env["XLA_FLAGS"] = (
            env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={opts['devices']}"
        ).strip()
    env.setdefault("STRUCTEST_HOST_DEVICES", "1")  # fits: one chain, one device
    res = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(opts)],
        env=env,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise SystemExit(f"point {opts} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y on log x (None with fewer than two points)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def _fmt(v: Any, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def _table(rows: list[dict[str, Any]], x: str) -> str:
    head = (
        "| rows | effect levels | grad (ms) | first call (s) | design B/row | peak RSS (MB) "
        "| fit 1x(tune+draws) (s) | steps/draw | saved fit: default / float32 / no LL / "
        "both (MB) |\n" + "| ---: " * 9 + "|\n"
    )
    body = ""
    for r in rows:
        disk = (
            " / ".join(
                f"{r[k] / 1e6:.2f}"
                for k in ("disk_default", "disk_float32", "disk_no_ll", "disk_float32_no_ll")
            )
            if "disk_default" in r
            else "-"
        )
        body += (
            f"| {r['rows']:,} | {r['levels']:,} | {r['grad_ms']:.2f} | {r['grad_first_s']:.1f} "
            f"| {r['design_bytes_per_row_all']:.0f} | {r['peak_rss_mb']:,.0f} "
            f"| {_fmt(r.get('fit_s'), '.1f')} | {_fmt(r.get('mean_steps'), '.0f')} | {disk} |\n"
        )
    xs = [float(r[x]) for r in rows]
    fits = {
        "grad": _slope(xs, [r["grad_ms"] for r in rows]),
        "peak RSS": _slope(xs, [r["peak_rss_mb"] for r in rows]),
        "fit": _slope(xs, [r.get("fit_s") for r in rows]),
        "saved fit (default)": _slope(xs, [r.get("disk_default") for r in rows]),
    }
    slopes = ", ".join(f"{k} {v:.2f}" for k, v in fits.items() if v is not None)
    return (
        head + body + f"\nlog-log slope against {x.replace('levels', 'effect levels')}: {slopes}\n"
    )


def _keeps(rows: list[dict[str, Any]]) -> str:
    """Bytes per draw (and per row and draw) that the largest measured fit keeps."""
    fitted = [r for r in rows if "groups" in r]
    if not fitted:
        return ""
    r = max(fitted, key=lambda r: r["rows"])
    lines = [f"\nwhat a fit keeps ({r['rows']:,} rows, {r['draws']} draws, 1 chain):"]
    for g, s in r["groups"].items():
        if s["per_draw"] is None:
            lines.append(f"  {g}: {s['bytes'] / 1e6:.2f} MB (no draws)")
            continue
        per_row = "" if s["per_draw_row"] is None else f", {s['per_draw_row']:.2f} B/row/draw"
        lines.append(f"  {g}: {s['bytes'] / 1e6:.2f} MB, {s['per_draw']:,.0f} B/draw{per_row}")
    nd = r["draws"]
    n = r["rows"]
    for k in ("disk_default", "disk_float32", "disk_no_ll", "disk_float32_no_ll"):
        lines.append(f"  on disk {k[5:]}: {r[k] / 1e6:.2f} MB")
    ll = (r["disk_default"] - r["disk_no_ll"]) / nd / n
    ll32 = (r["disk_float32"] - r["disk_float32_no_ll"]) / nd / n
    lines.append(
        f"  log-likelihood on disk: {ll:.2f} B/row/draw (float64, zlib), {ll32:.2f} (float32)"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, help=f"one size (rounded to a multiple of {ROW_UNIT})")
    ap.add_argument("--devices", type=int, default=1, help="shard the observations over K")
    ap.add_argument("--fit", action="store_true", help="fit at every size")
    ap.add_argument("--no-fit", action="store_true", help="no fits")
    ap.add_argument("--no-levels", action="store_true", help="skip the effect-level sweep")
    ap.add_argument("--model", default="bbj")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--tune", type=int, default=100)
    ap.add_argument("--json", type=Path, help="write every point here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    for name in ("devices", "repeats", "draws", "tune"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be a positive integer, got {getattr(a, name)}")
    if a.rows is not None and a.rows < 1:
        ap.error(f"--rows must be a positive integer, got {a.rows}")
    base = {
        "model": a.model, "devices": a.devices, "repeats": a.repeats,
        "draws": a.draws, "tune": a.tune,
    }  # fmt: skip

    def point(economies: int, years: int, n_products: int) -> dict[str, Any]:
        rows = economies * (economies - 1) * 14 * years * n_products
        fit = not a.no_fit and (a.fit or rows <= FIT_MAX_ROWS)
        opts = {**base, "economies": economies, "years": years, "n_products": n_products}
        r = _run_point({**opts, "fit": fit})
        print(
            f"  {r['rows']:>9,} rows, {r['levels']:>6,} levels: grad {r['grad_ms']:.2f} ms, "
            f"RSS {r['peak_rss_mb']:,.0f} MB, fit {_fmt(r.get('fit_s'), '.1f')} s",
            file=sys.stderr,
            flush=True,
        )
        return r

    sizes = [max(1, round(a.rows / ROW_UNIT))] if a.rows else list(ROWS_SWEEP)
    print(f"rows at fixed effect levels (devices={a.devices})", file=sys.stderr)
    by_rows = [point(5, 4, k) for k in sizes]
    by_levels: list[dict[str, Any]] = []
    if not a.rows and not a.no_levels:
        print("effect levels at ~10^5 rows", file=sys.stderr)
        by_levels = [point(e, y, k) for e, y, k in LEVELS_SWEEP]
    print(f"\nModel {a.model}, devices {a.devices}, {os.cpu_count()} cores.\n")
    print("Rows (560 effect levels):\n")
    print(_table(by_rows, "rows"))
    if by_levels:
        print("Effect levels (about 10^5 rows):\n")
        print(_table(by_levels, "levels"))
    print(_keeps(by_rows + by_levels))
    if a.json:
        a.json.write_text(json.dumps({"rows": by_rows, "levels": by_levels}, indent=1))


if __name__ == "__main__":
    main()
