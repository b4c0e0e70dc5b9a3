"""The panel: one row per importer-exporter-industry-year, validated, with derived columns.

``Panel.from_frame`` is the single entry point for data: the bundled real panel, the
synthetic world and user data all pass through the same validation, so every later step
(reduced form, structural fit, checks, counterfactuals) can trust the columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .codes import KNOWN_ECONOMIES, WIOD_INDUSTRIES
from .errors import PanelError

#: Columns that identify an observation (``product`` joins the key when present).
KEYS: tuple[str, ...] = ("importer", "exporter", "industry", "year")

#: Columns every panel must carry.
REQUIRED: tuple[str, ...] = (
    *KEYS,
    "tariff",
    "mfn",
    "dva",
    "fva",
    "fg",
    "imports",
    "rta",
)

#: Columns the bundled panel carries and user panels may carry.
OPTIONAL: tuple[str, ...] = (
    "censored",
    "mfn_threshold",
    "dva_services",
    "dva_lag",
    "rta_broad",
    "gsp",
    "dist",
    "contig",
    "comlang",
    "colony",
    "ttb",
    "product",
)

#: Strictly positive columns (they are logged).
POSITIVE: tuple[str, ...] = ("dva", "fva", "fg", "imports", "dva_services", "dva_lag", "dist")
#: Non-negative percent columns.
NONNEGATIVE: tuple[str, ...] = ("tariff", "mfn", "ttb")
#: 0/1 indicator columns.
INDICATORS: tuple[str, ...] = ("rta", "rta_broad", "gsp", "censored")
#: Gravity dummies: 0/1 for country pairs, output-weighted shares in [0, 1] for EU pairs.
SHARES: tuple[str, ...] = ("contig", "comlang", "colony")

#: Default tolerance (percentage points) for "applied equals MFN" and "applied above MFN".
MFN_TOL: float = 1e-6

_MAX_LISTED = 8


def _row_label(df: pd.DataFrame, idx: Any) -> str:
    row = df.loc[idx]
    keys = [str(row[k]) for k in KEYS if k in df.columns]
    return f"row {idx} ({', '.join(keys)})" if keys else f"row {idx}"


def _list_rows(df: pd.DataFrame, mask: pd.Series, column: str | None = None) -> str:
    idx = df.index[np.asarray(mask, dtype=bool)]
    parts = []
    for i in idx[:_MAX_LISTED]:
        label = _row_label(df, i)
        if column is not None:
            value = df.at[i, column]
            label += (
                f" = {value:g}" if isinstance(value, (int, float, np.number)) else f" = {value!r}"
            )
        parts.append(label)
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return "; ".join(parts) + more


def validate_frame(
    df: pd.DataFrame,
    *,
    tol: float = MFN_TOL,
    strict_codes: bool = True,
    allow_negative_tariffs: bool = False,
) -> list[str]:
    """Return a list of problems (empty when the frame is a valid panel).

    Each problem names the column and the offending rows (index and key values).
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        problems.append(
            f"missing required column(s): {', '.join(missing)} "
            f"(present: {', '.join(map(str, df.columns))})"
        )
        return problems
    if len(df) == 0:
        return ["the frame has no rows"]

    numeric = [c for c in df.columns if c in (*REQUIRED, *OPTIONAL) and c not in (*KEYS, "product")]
    for col in numeric:
        if not pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            coerced = pd.to_numeric(df[col], errors="coerce")
            bad = coerced.isna() & df[col].notna()
            problems.append(
                f"column '{col}' must be numeric; non-numeric values at {_list_rows(df, bad, col)}"
            )

    for col in [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]:
        na = df[col].isna()
        if na.any():
            problems.append(
                f"column '{col}' has {int(na.sum())} missing (NaN) value(s): {_list_rows(df, na)}"
            )
    if problems:
        return problems

    if not pd.api.types.is_integer_dtype(df["year"]):
        yr = pd.to_numeric(df["year"], errors="coerce")
        bad = yr.isna() | (yr != np.round(yr))
        if bad.any():
            problems.append(f"column 'year' must hold whole years: {_list_rows(df, bad, 'year')}")
    for col in NONNEGATIVE:
        if col == "tariff" and allow_negative_tariffs:
            continue
        if col in df.columns:
            bad = df[col].astype(float) < 0
            if bad.any():
                problems.append(
                    f"column '{col}' has {int(bad.sum())} negative value(s): {_list_rows(df, bad, col)}"
                )
    above = df["tariff"].astype(float) > df["mfn"].astype(float) + tol
    if above.any():
        problems.append(
            f"column 'tariff' exceeds 'mfn' by more than {tol:g} pp in {int(above.sum())} row(s) "
            f"(the MFN rate caps every bilateral tariff): {_list_rows(df, above, 'tariff')}"
        )
    for col in POSITIVE:
        if col in df.columns:
            bad = df[col].astype(float) <= 0
            if bad.any():
                problems.append(
                    f"column '{col}' must be > 0 (it is logged); {int(bad.sum())} non-positive value(s): "
                    f"{_list_rows(df, bad, col)}"
                )
    for col in INDICATORS:
        if col in df.columns:
            bad = ~df[col].astype(float).isin([0.0, 1.0])
            if bad.any():
                problems.append(f"column '{col}' must be 0/1 (or bool): {_list_rows(df, bad, col)}")
    for col in SHARES:
        if col in df.columns:
            v = df[col].astype(float)
            bad = (v < 0) | (v > 1)
            if bad.any():
                problems.append(f"column '{col}' must lie in [0, 1]: {_list_rows(df, bad, col)}")
    same = df["importer"].astype(str) == df["exporter"].astype(str)
    if same.any():
        problems.append(f"importer == exporter in {int(same.sum())} row(s): {_list_rows(df, same)}")
    keys = [*KEYS, "product"] if "product" in df.columns else list(KEYS)
    dup = df.duplicated(subset=keys, keep=False)
    if dup.any():
        problems.append(
            f"duplicate observations on ({', '.join(keys)}) in {int(dup.sum())} row(s): {_list_rows(df, dup)}"
        )
    ind = df["industry"].astype(str)
    bad = ~ind.isin(WIOD_INDUSTRIES)
    if bad.any():
        problems.append(
            f"column 'industry' has unknown code(s) {sorted(set(ind[bad]))[:_MAX_LISTED]} "
            f"(expected WIOD codes c1..c35): {_list_rows(df, bad, 'industry')}"
        )
    for col in ("importer", "exporter"):
        codes = df[col].astype(str)
        if strict_codes:
            bad = ~codes.isin(KNOWN_ECONOMIES)
            hint = "known ISO3 codes, the EU as 'EUN'; pass strict_codes=False for others"
        else:
            bad = ~codes.str.fullmatch(r"[A-Z]{3}")
            hint = "three upper-case letters"
        if bad.any():
            problems.append(
                f"column '{col}' has unknown code(s) {sorted(set(codes[bad]))[:_MAX_LISTED]} ({hint}): "
                f"{_list_rows(df, bad, col)}"
            )
    threshold = "mfn_threshold" in df.columns and not problems
    if threshold:
        thr = df["mfn_threshold"].astype(float)
        bad = thr > df["mfn"].astype(float) + tol
        if bad.any():
            problems.append(
                "column 'mfn_threshold' (the applied rate from which a row is recorded at MFN) "
                f"exceeds 'mfn' in {int(bad.sum())} row(s): {_list_rows(df, bad, 'mfn_threshold')}"
            )
    if "censored" in df.columns:
        flag = df["censored"].astype(bool)
        tariff = df["tariff"].astype(float)
        bad = flag & (df["mfn"].astype(float) - tariff > max(tol, 0.5))
        if bad.any():
            problems.append(
                "column 'censored' is True but 'tariff' is more than 0.5 pp below 'mfn' in "
                f"{int(bad.sum())} row(s): {_list_rows(df, bad)}"
            )
        if threshold:
            bad = (flag & (tariff < thr - tol)) | (~flag & (tariff >= thr + tol))
            if bad.any():
                problems.append(
                    "column 'censored' disagrees with 'mfn_threshold' (censored means tariff >= "
                    f"mfn_threshold) in {int(bad.sum())} row(s): {_list_rows(df, bad, 'tariff')}"
                )
    return problems


def _safe_log(x: pd.Series) -> np.ndarray:
    return np.log(x.to_numpy(dtype=float))


def add_derived_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Add log regressors, ratios, interactions and fixed-effect keys (pure function).

    The returned frame has, besides the input columns:
    ``preference`` (tariff - mfn), ``log_dva``, ``log_fva``, ``log_fg``, ``log_imports``,
    ``dva_ratio``/``fva_ratio``/``ip_ratio`` (levels over imports), their logs
    ``log_dva_ratio``/``log_fva_ratio``/``log_ip_ratio``, instruments in logs
    (``log_dva_services``, ``log_dva_lag``, ``log_dva_services_ratio``), RTA/GSP interactions
    (``log_dva_rta``, ``log_dva_nonrta``, ``log_dva_gsp``, ``log_dva_nongsp``, and the same for the
    ratios and the services instrument) and fixed-effect keys ``imp_ind_year``, ``exp_ind_year``, ``imp_ind``, ``imp_year``,
    ``ind_year``, ``exp_ind``, ``exp_year``, ``pair``, ``imp_ind_year_decile``.
    """
    out = df.copy()
    imp, exp_, ind = (out[c].astype(str) for c in ("importer", "exporter", "industry"))
    yr = out["year"].astype(int).astype(str)
    out["preference"] = out["tariff"].astype(float) - out["mfn"].astype(float)
    if "censored" not in out.columns:
        out["censored"] = (out["mfn"] - out["tariff"]) <= MFN_TOL
    out["censored"] = out["censored"].astype(bool)
    for col in ("rta", "rta_broad", "gsp"):
        if col in out.columns:
            out[col] = out[col].astype(int)
    for col in ("dva", "fva", "fg", "imports", "dva_services", "dva_lag", "dist"):
        if col in out.columns:
            out[f"log_{col}"] = _safe_log(out[col])
    out["dva_ratio"] = out["dva"] / out["imports"]
    out["fva_ratio"] = out["fva"] / out["imports"]
    out["ip_ratio"] = out["fg"] / out["imports"]
    for name in ("dva_ratio", "fva_ratio", "ip_ratio"):
        out[f"log_{name}"] = np.log(out[name].to_numpy(dtype=float))
    if "dva_services" in out.columns:
        out["log_dva_services_ratio"] = out["log_dva_services"] - out["log_imports"]
    rta = out["rta"].to_numpy(dtype=float)
    bases = ["log_dva", "log_dva_ratio", "log_fva_ratio", "log_ip_ratio"]
    if "log_dva_services_ratio" in out.columns:
        bases.append("log_dva_services_ratio")
    for base in bases:
        out[f"{base}_rta"] = rta * out[base]
        out[f"{base}_nonrta"] = (1.0 - rta) * out[base]
    if "gsp" in out.columns:
        gsp = out["gsp"].to_numpy(dtype=float)
        out["log_dva_gsp"] = gsp * out["log_dva"]
        out["log_dva_nongsp"] = (1.0 - gsp) * out["log_dva"]
    out["imp_ind_year"] = imp + "_" + ind + "_" + yr
    out["exp_ind_year"] = exp_ + "_" + ind + "_" + yr
    out["imp_ind"] = imp + "_" + ind
    out["imp_year"] = imp + "_" + yr
    out["ind_year"] = ind + "_" + yr
    out["exp_ind"] = exp_ + "_" + ind
    out["exp_year"] = exp_ + "_" + yr
    out["pair"] = imp + "_" + exp_
    # import decile within importer-industry-year (eq. 16 "x import-decile" FE)
    decile = (
        out.groupby("imp_ind_year")["imports"]
        .rank(method="first", pct=True)
        .mul(10)
        .apply(np.ceil)
        .clip(1, 10)
        .astype(int)
    )
    out["imp_ind_year_decile"] = out["imp_ind_year"] + "_d" + decile.astype(str)
    return out


@dataclass(frozen=True)
class Panel:
    """A validated importer-exporter-industry-year panel.

    Build it with :meth:`from_frame` or :meth:`from_file` (or :func:`structest.load_panel`
    for the bundled data, :func:`structest.simulate` for a synthetic world).

    Attributes
    ----------
    df
        The observations with input and derived columns (see :func:`add_derived_columns`).
    dropped
        ``(reason, count)`` for every row a step excluded; nothing is dropped silently.
    meta
        Free-form provenance (source, build notes, true parameters for synthetic data...).
    """

    df: pd.DataFrame
    dropped: tuple[tuple[str, int], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        tol: float = MFN_TOL,
        strict_codes: bool = True,
        allow_negative_tariffs: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> Panel:
        """Validate a user frame and build a panel.

        Parameters
        ----------
        df
            One row per importer-exporter-industry-year (and ``product`` if present).
        tol
            Tolerance (pp) for applied tariffs above MFN; within it they are set to MFN.
        strict_codes
            Require known ISO3 codes (else any three upper-case letters).
        allow_negative_tariffs
            Accept negative applied tariffs (synthetic worlds without a lower bound).
        meta
            Provenance stored on the panel.

        Raises
        ------
        PanelError
            Listing every problem with the offending column and rows.
        """
        if not isinstance(df, pd.DataFrame):
            raise PanelError([f"expected a pandas DataFrame, got {type(df).__name__}"])
        problems = validate_frame(
            df, tol=tol, strict_codes=strict_codes, allow_negative_tariffs=allow_negative_tariffs
        )
        if problems:
            raise PanelError(problems)
        clean = df.reset_index(drop=True).copy()
        for col in ("importer", "exporter", "industry"):
            clean[col] = clean[col].astype(str)
        clean["year"] = clean["year"].astype(int)
        # tariffs above MFN within tolerance are set to MFN exactly (censoring is exact)
        clean["tariff"] = np.minimum(clean["tariff"].astype(float), clean["mfn"].astype(float))
        for col in (*REQUIRED, *OPTIONAL):
            if col in clean.columns and col not in (*KEYS, "product") and col not in INDICATORS:
                clean[col] = clean[col].astype(float)
        sort = [*KEYS, "product"] if "product" in clean.columns else list(KEYS)
        clean = clean.sort_values(sort, kind="stable").reset_index(drop=True)
        return cls(df=add_derived_columns(clean), meta=dict(meta or {}))

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Panel:
        """Read a CSV or parquet file and validate it (see :meth:`from_frame`)."""
        path = Path(path)
        if not path.exists():
            raise PanelError([f"file not found: {path}"])
        if path.suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif path.suffix in (".csv", ".txt"):
            df = pd.read_csv(path)
        else:
            raise PanelError(
                [f"unsupported file type '{path.suffix}' for {path} (use .csv or .parquet)"]
            )
        meta = {"source": str(path)}
        meta.update(kwargs.pop("meta", {}) or {})
        return cls.from_frame(df, meta=meta, **kwargs)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        d = self.df
        return (
            f"Panel({len(d)} obs: {d['importer'].nunique()} importers x {d['exporter'].nunique()} "
            f"exporters x {d['industry'].nunique()} industries x years {sorted(int(y) for y in d['year'].unique())}; "
            f"censored share {d['censored'].mean():.3f})"
        )

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Sorted unique labels of each dimension."""
        return {k: np.sort(self.df[k].unique()) for k in KEYS}

    def to_xarray(self, variables: Sequence[str] | None = None) -> xr.Dataset:
        """Dense view with dims (importer, exporter, industry, year); absent cells are NaN.

        Panels with a ``product`` column are averaged over products first.
        """
        d = self.df
        if variables is None:
            variables = [
                c
                for c in d.columns
                if c not in (*KEYS, "product") and pd.api.types.is_numeric_dtype(d[c])
            ]
        variables = list(variables)
        unknown = [v for v in variables if v not in d.columns]
        if unknown:
            raise PanelError([f"to_xarray: unknown column(s) {unknown}"])
        frame = d[[*KEYS, *variables]].copy()
        for v in variables:
            frame[v] = frame[v].astype(float)
        if "product" in d.columns:
            frame = frame.groupby(list(KEYS)).mean()
        else:
            frame = frame.set_index(list(KEYS))
        return xr.Dataset.from_dataframe(frame)

    def fingerprint(self) -> str:
        """A hash of the observation keys (and ``product``) and tariffs, in row order.

        Fits store it, so that a fit is never evaluated against another panel by mistake.
        Tariffs are rounded to 1e-9 pp, so a file round trip does not change it.
        """
        import hashlib

        h = hashlib.sha256()
        keys = [*KEYS, "product"] if "product" in self.df.columns else list(KEYS)
        for k in keys:
            h.update("\x1f".join(self.df[k].astype(str)).encode())
            h.update(b"\x1e")
        tariff = np.round(self.df["tariff"].to_numpy(dtype=float), 9) + 0.0  # no -0.0
        h.update(np.ascontiguousarray(tariff).tobytes())
        return h.hexdigest()[:16]

    def obs_coords(self) -> dict[str, np.ndarray]:
        """Per-observation labels, for ``obs``-indexed InferenceData coords."""
        return {k: self.df[k].to_numpy() for k in KEYS}

    def subset(self, mask: Iterable[bool] | pd.Series, reason: str) -> Panel:
        """Keep rows where ``mask`` is True, recording how many were dropped and why."""
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self.df),):
            raise PanelError([f"subset mask has shape {m.shape}, expected ({len(self.df)},)"])
        n_drop = int((~m).sum())
        dropped = self.dropped + ((reason, n_drop),) if n_drop else self.dropped
        return Panel(
            df=self.df.loc[m].reset_index(drop=True), dropped=dropped, meta=dict(self.meta)
        )

    def drop_report(self) -> str:
        """Human-readable list of every exclusion applied so far."""
        if not self.dropped:
            return "no rows dropped"
        return "\n".join(f"{n} row(s) dropped: {why}" for why, n in self.dropped)
