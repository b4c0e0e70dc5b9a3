"""Counterfactual scenarios: what changes in the panel, and how it is applied.

A :class:`Scenario` bundles any combination of

- growth of FVA, DVA, imports or final-goods output (``*_growth``, in log points: the
  level is multiplied by ``exp(g)``);
- RTA formation or removal for chosen pairs (``rta``: the regime switches between
  eq. 11 and eq. 14);
- MFN rate changes (``mfn``: the cap on applied tariffs moves).

With a GSP regime (``gsp_regime``): forming an RTA replaces the pair's GSP preference (its
``gsp`` flag is set to 0 and its t* follows eq. 14); removing an RTA does not restore GSP
eligibility (the flag stays 0); FVA/DVA/import growth and MFN changes leave the GSP shift as
it is. Counterfactual applied tariffs are ``min(max(t* + e, lower), MFN)``, the economic
object; the panel's recording rule (``mfn_threshold``, small preferences recorded at MFN)
enters only the likelihood and the posterior predictive checks.

:meth:`Scenario.apply` returns the counterfactual :class:`~structest.panel.Panel`: the
changed input columns, with logs, ratios and interactions recomputed by
:func:`structest.panel.add_derived_columns` and the observation order and effect keys of
the baseline kept (an observation stays in its fitted cells).

Forms of a growth value (``GrowthLike``)
---------------------------------------
``None`` or a number
    The same log change for every observation.
``dict``
    Keys are importer codes (``"USA"``), industry codes (``"c3"``) or
    ``(importer, industry)`` tuples; values are log changes. Observations matched by several
    keys get the sum (log changes compose additively); unmatched ones get 0. An unknown key
    raises :class:`~structest.errors.SpecError` naming it.
``pandas.Series`` with named index levels
    Index names among ``importer, exporter, industry, year`` (e.g. the output of
    :func:`measured_growth`); matched like a dict, unmatched rows get 0, labels absent from
    the panel raise.
``numpy`` array or unnamed ``Series`` of the panel's length
    One value per observation (a Series must carry the panel's index).
``"wiod:START-END"``
    The growth measured in the bundled WIOD value-added contents between two years (see
    :func:`measured_growth`; FVA, DVA and FG only). Every observation must be covered.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OptionError, PanelError, SpecError
from ..panel import KEYS, Panel, add_derived_columns

GrowthLike = float | int | Mapping[Any, float] | pd.Series | np.ndarray | str | None
RtaLike = Iterable[Any] | Mapping[Any, int] | None
MfnLike = float | int | Mapping[Any, float] | pd.Series | np.ndarray | None

#: panel column scaled by each growth field of :class:`Scenario`
GROWTH_COLUMNS: dict[str, str] = {
    "fva_growth": "fva",
    "dva_growth": "dva",
    "imports_growth": "imports",
    "fg_growth": "fg",
}

#: derived key columns kept from the baseline (effects/groups must not move)
_KEEP_KEYS: tuple[str, ...] = (
    "imp_ind_year",
    "exp_ind_year",
    "imp_ind",
    "imp_year",
    "ind_year",
    "exp_ind",
    "exp_year",
    "pair",
    "imp_ind_year_decile",
)

_WIOD = re.compile(r"^\s*wiod\s*:\s*(\d{4})\s*-\s*(\d{4})\s*$", re.IGNORECASE)


# ---------------------------------------------------------------------- measured growth
def measured_growth(kind: str = "fva", start: int = 1995, end: int = 2009) -> pd.Series:
    """Log growth ``ln X[end] - ln X[start]`` measured in the bundled WIOD value added.

    Parameters
    ----------
    kind
        ``"fva"``: foreign value added in the importer's own final goods,
        ``FVA_ix = sum_{s != i} VA[s, i, x]`` (index ``importer, industry``);
        ``"dva"``: the importer's value added in the exporter's final goods,
        ``DVA_ijx = VA[i, j, x]`` (index ``importer, exporter, industry``);
        ``"fg"``: the importer's final-goods output ``sum_s VA[s, i, x]``
        (index ``importer, industry``).
    start, end
        WIOD years (1995-2011).

    Returns
    -------
    pandas.Series
        Log changes named ``"<kind>_growth"``; cells with a non-positive value in either
        year are left out.
    """
    from ..data.load import va_contents

    kind = str(kind).lower()
    if kind not in ("fva", "dva", "fg"):
        raise SpecError(f"measured_growth: kind must be 'fva', 'dva' or 'fg', got {kind!r}")
    v0, v1 = va_contents(int(start)), va_contents(int(end))

    def level(va: Any) -> pd.Series:
        vals = va.values  # (source, producer, industry)
        regions = [str(r) for r in va["source"].values]
        inds = [str(x) for x in va["industry"].values]
        if kind == "dva":
            idx = pd.MultiIndex.from_product(
                [regions, regions, inds], names=["importer", "exporter", "industry"]
            )
            return pd.Series(vals.reshape(-1), index=idx)
        total = vals.sum(axis=0)  # (producer, industry)
        if kind == "fva":
            total = total - np.einsum("iix->ix", vals)
        idx = pd.MultiIndex.from_product([regions, inds], names=["importer", "industry"])
        return pd.Series(total.reshape(-1), index=idx)

    a, b = level(v0), level(v1)
    ok = (a > 0) & (b > 0)
    if kind == "dva":
        ok &= a.index.get_level_values(0) != a.index.get_level_values(1)
    out = np.log(b[ok]) - np.log(a[ok])
    return out.rename(f"{kind}_growth")


# ---------------------------------------------------------------------- resolvers
def _labels(df: pd.DataFrame, col: str) -> set[str]:
    return set(df[col].astype(str).unique())


def _key_mask(key: Any, df: pd.DataFrame, what: str) -> np.ndarray:
    """Rows matched by a dict key: importer code, industry code or (importer, industry)."""
    imps, inds = _labels(df, "importer"), _labels(df, "industry")
    if isinstance(key, tuple):
        if len(key) != 2 or str(key[0]) not in imps or str(key[1]) not in inds:
            raise SpecError(
                f"{what}: key {key!r} is not an (importer, industry) pair of the panel; "
                f"importers: {sorted(imps)}, industries: {sorted(inds)}"
            )
        mask = (df["importer"].astype(str) == str(key[0])) & (
            df["industry"].astype(str) == str(key[1])
        )
        if not mask.any():
            raise SpecError(f"{what}: key {key!r} matches no observation of the panel")
        return mask.to_numpy()
    k = str(key)
    if k in imps:
        return (df["importer"].astype(str) == k).to_numpy()
    if k in inds:
        return (df["industry"].astype(str) == k).to_numpy()
    raise SpecError(
        f"{what}: unknown key {key!r}: neither an importer {sorted(imps)} nor an industry "
        f"{sorted(inds)} of the panel (or give an (importer, industry) tuple)"
    )


def _finite(v: Any, what: str) -> float:
    if isinstance(v, (bool, np.bool_)):
        raise SpecError(f"{what}: expected a number, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{what}: value {_short(v)} is not a number") from exc
    except OverflowError:
        raise SpecError(f"{what}: value {_short(v)} is too large for a float") from None
    if not np.isfinite(f):
        raise SpecError(f"{what}: value {f!r} is not finite")
    return f


def _short(v: Any, limit: int = 60) -> str:
    """``repr(v)`` cut to ``limit`` characters (a 400-digit number stays one short line)."""
    r = repr(v)
    return r if len(r) <= limit else f"{r[: limit - 20]}...({len(r)} characters)"


def _check_values_dtype(value: Any, what: str) -> None:
    """Refuse an array/Series whose values are not numbers (strings, booleans, objects)."""
    if not isinstance(value, (np.ndarray, pd.Series)):
        return
    kind = value.dtype.kind
    if kind in "iuf" and not pd.api.types.is_bool_dtype(value.dtype):
        return
    if pd.api.types.is_bool_dtype(value.dtype):
        kind = "b"
    elif kind not in "US" and pd.api.types.is_string_dtype(value.dtype) and kind != "O":
        kind = "U"
    elif isinstance(value.dtype, pd.StringDtype):
        kind = "U"
    if kind == "O":
        bad = [x for x in np.asarray(value).reshape(-1) if not _is_number(x)]
        if not bad:
            return
        raise SpecError(
            f"{what}: values must be numbers, got {_short(bad[0])} ({type(bad[0]).__name__})"
        )
    name = {"b": "booleans", "U": "strings", "S": "bytes"}.get(kind, f"dtype {value.dtype}")
    raise SpecError(f"{what}: values must be numbers, got an array of {name}")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _norm(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    out = frame[names].copy()
    for n in names:
        out[n] = out[n].astype(int) if n == "year" else out[n].astype(str)
    return out


def _series_by_labels(s: pd.Series, df: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Align a Series indexed by panel key columns; returns (values, covered mask)."""
    names = [str(n) for n in s.index.names]
    bad = [n for n in names if n not in KEYS]
    if bad:
        raise SpecError(f"{what}: Series index level(s) {bad} are not panel keys {list(KEYS)}")
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()][:3].tolist()
        raise SpecError(f"{what}: Series index has duplicate labels, e.g. {dup}")
    right = _norm(s.rename_axis(names).reset_index(name="__value__"), names)
    right["__value__"] = pd.to_numeric(s.to_numpy(), errors="coerce")
    merged = _norm(df, names).merge(right, on=names, how="left", validate="many_to_one")
    arr = merged["__value__"].to_numpy(float)
    return arr, ~np.isnan(arr)


def _check_series_labels(s: pd.Series, df: pd.DataFrame, what: str) -> None:
    for n in s.index.names:
        got = set(map(str, s.index.get_level_values(n)))
        have = set(map(str, df[n].unique()))
        unknown = sorted(got - have)
        if unknown:
            raise SpecError(f"{what}: {n} label(s) {unknown[:8]} are not in the panel")


def _per_obs(value: Any, df: pd.DataFrame, what: str) -> np.ndarray | None:
    """An observation-aligned array, Series, or None when ``value`` is not of that form."""
    n = len(df)
    if isinstance(value, np.ndarray) or (
        isinstance(value, pd.Series) and all(x is None for x in value.index.names)
    ):
        arr = value
        if isinstance(value, pd.Series):
            if len(value) != n or not value.index.equals(df.index):
                raise SpecError(
                    f"{what}: an unnamed Series must carry the panel's index ({n} rows); "
                    "name its index levels (importer/industry/...) to give values by label"
                )
            arr = value.to_numpy()
        _check_values_dtype(value, what)
        arr = np.asarray(arr, dtype=float).reshape(-1)
        if arr.shape != (n,):
            raise SpecError(f"{what}: array has {arr.size} values, the panel has {n} observations")
        if not np.isfinite(arr).all():
            raise SpecError(f"{what}: {int((~np.isfinite(arr)).sum())} non-finite value(s)")
        return arr
    return None


def resolve_growth(
    value: GrowthLike, df: pd.DataFrame, what: str, column: str | None = None
) -> np.ndarray:
    """Log change per observation (float[n]) from any ``GrowthLike`` form (module docs)."""
    n = len(df)
    if value is None:
        return np.zeros(n)
    if isinstance(value, str):
        m = _WIOD.match(value)
        if m is None:
            raise SpecError(f"{what}: string values must look like 'wiod:1995-2007', got {value!r}")
        if column not in ("fva", "dva", "fg"):
            raise SpecError(f"{what}: measured WIOD growth is available for FVA, DVA and FG only")
        try:
            s = measured_growth(column, int(m.group(1)), int(m.group(2)))
        except (OptionError, SpecError) as exc:
            raise type(exc)(f"{what}={value!r}: {exc}") from None
        arr, covered = _series_by_labels(s, df, what)
        if not covered.all():
            cols = [str(n) for n in s.index.names]
            cells = df.loc[~covered, cols].drop_duplicates()
            raise SpecError(
                f"{what}: WIOD growth {value!r} is undefined for {int((~covered).sum())} observation(s) "
                f"in {len(cells)} cell(s) ({', '.join(cols)}), e.g. "
                f"{[tuple(r) for r in cells.head(5).itertuples(index=False)]}: value added is "
                f"non-positive in one of the years. Use other years, or pass "
                f"measured_growth({column!r}, start, end) as a Series with the gaps filled"
            )
        return arr
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return np.full(n, _finite(value, what))
    arr = _per_obs(value, df, what)
    if arr is not None:
        return arr
    if isinstance(value, pd.Series):
        _check_series_labels(value, df, what)
        for v in value.to_numpy():
            _finite(v, what)
        arr, covered = _series_by_labels(value, df, what)
        return np.where(covered, arr, 0.0)
    if isinstance(value, Mapping):
        out = np.zeros(n)
        for k, v in value.items():
            out[_key_mask(k, df, what)] += _finite(v, f"{what}[{k!r}]")
        return out
    raise SpecError(f"{what}: unsupported value of type {type(value).__name__} (see Scenario docs)")


def _row(df: pd.DataFrame, i: int) -> str:
    return "(" + ", ".join(str(df[k].iloc[i]) for k in KEYS if k in df.columns) + ")"


def _finite_rates(rates: np.ndarray, df: pd.DataFrame, what: str) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        bad = ~np.isfinite(rates)
    if bad.any():
        i = int(np.argmax(bad))
        raise SpecError(
            f"mfn: {what} give {int(bad.sum())} infinite MFN rate(s), e.g. row {i} "
            f"{_row(df, i)} (MFN {df['mfn'].iloc[i]:g}): new MFN rates must be finite"
        )
    return rates


def resolve_mfn(value: MfnLike, df: pd.DataFrame) -> np.ndarray:
    """Counterfactual MFN rates (pp, float[n]).

    A number, dict (keys as for growth) or label-indexed Series gives *multipliers* of the
    baseline MFN (unlisted observations keep theirs; several matching keys multiply); an
    observation-aligned array or unnamed Series gives the new *rates* in pp.
    """
    base = df["mfn"].to_numpy(float)
    if value is None:
        return base.copy()

    def mult(v: Any, what: str) -> float:
        f = _finite(v, what)
        if f < 0:
            raise SpecError(f"{what}: MFN multiplier must be >= 0, got {v!r}")
        return f

    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        with np.errstate(over="ignore", invalid="ignore"):
            rates = base * mult(value, "mfn")
        return _finite_rates(rates, df, f"multiplier {value!r}")
    arr = _per_obs(value, df, "mfn")
    if arr is not None:
        if (arr < 0).any():
            i = int(np.argmax(arr < 0))
            raise SpecError(
                f"mfn: new MFN rates must be >= 0; row {i} ({', '.join(str(df[k].iloc[i]) for k in KEYS)}) = {arr[i]:g}"
            )
        return arr
    if isinstance(value, pd.Series):
        _check_series_labels(value, df, "mfn")
        for v in value.to_numpy():
            mult(v, "mfn")
        m, covered = _series_by_labels(value, df, "mfn")
        with np.errstate(over="ignore", invalid="ignore"):
            rates = base * np.where(covered, m, 1.0)
        return _finite_rates(rates, df, "multipliers")
    if isinstance(value, Mapping):
        m = np.ones(len(df))
        with np.errstate(over="ignore", invalid="ignore"):
            for k, v in value.items():
                m[_key_mask(k, df, "mfn")] *= mult(v, f"mfn[{k!r}]")
            rates = base * m
        return _finite_rates(rates, df, "multipliers")
    raise SpecError(
        f"mfn: unsupported value of type {type(value).__name__} (number, dict, Series or array)"
    )


def _parse_pair(p: Any) -> tuple[str, str]:
    if isinstance(p, str):
        parts = [x.strip() for x in re.split(r"[-_/:]", p) if x.strip()]
    elif isinstance(p, (tuple, list)):
        parts = [str(x).strip() for x in p]
    else:
        parts = []
    if len(parts) != 2:
        raise SpecError(f"rta: cannot read pair {p!r}; use ('USA', 'CHN') or 'USA-CHN'")
    return parts[0], parts[1]


def resolve_rta(value: RtaLike, df: pd.DataFrame, symmetric: bool = True) -> np.ndarray:
    """Counterfactual RTA indicator per observation (float[n]).

    ``value``: an iterable of pairs (``("USA", "CHN")`` or ``"USA-CHN"``) switched *into* an
    RTA, or a mapping ``pair -> 0/1`` (0 removes the agreement). With ``symmetric`` (the
    default: an agreement is reciprocal) a pair also switches the reverse direction where
    the panel has it. Pairs with neither direction in the panel raise.
    """
    rta = df["rta"].to_numpy(float).copy()
    if value is None:
        return rta
    items = _rta_items(value)
    imp, exp_ = df["importer"].astype(str).to_numpy(), df["exporter"].astype(str).to_numpy()
    set_by: dict[int, tuple[Any, float]] = {}  # observation -> (item, flag) that set it
    for p, v in items:
        a, b = _parse_pair(p)
        try:
            flag = float(v)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"rta[{p!r}]: value must be 0 or 1, got {v!r}") from exc
        if flag not in (0.0, 1.0):
            raise SpecError(f"rta[{p!r}]: value must be 0 or 1, got {v!r}")
        mask = (imp == a) & (exp_ == b)
        if symmetric:
            mask |= (imp == b) & (exp_ == a)
        if not mask.any():
            direction = "in either direction " if symmetric else ""
            raise SpecError(
                f"rta: pair ({a!r}, {b!r}) is not in the panel {direction}(importer, exporter)"
            )
        for i in np.flatnonzero(mask):
            prev = set_by.get(int(i))
            if prev is not None and prev[1] != flag:
                how = " (rta_symmetric switches both directions)" if symmetric else ""
                raise SpecError(
                    f"rta: pair {p!r} sets RTA = {flag:g} where pair {prev[0]!r} sets "
                    f"{prev[1]:g}{how}, e.g. row {int(i)} {_row(df, int(i))}; give each pair once"
                )
            set_by[int(i)] = (p, flag)
        rta[mask] = flag
    return rta


def _rta_items(value: Any) -> list[tuple[Any, Any]]:
    """``(pair, flag)`` items of an ``rta`` value (iterable of pairs or mapping)."""
    if isinstance(value, (str, bytes)):
        value = [value]
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, (np.ndarray, pd.Series)) or not isinstance(value, Iterable):
        raise SpecError(
            f"rta: expected pairs (['USA-CHN'] or [('USA', 'CHN')]) or a mapping pair -> 0/1, "
            f"got {_short(value)} ({type(value).__name__})"
        )
    return [(p, 1) for p in value]


# ---------------------------------------------------------------------- the scenario
@dataclass(frozen=True, eq=False)
class Scenario:
    """A composable counterfactual: any of the changes below, applied together.

    Attributes
    ----------
    fva_growth, dva_growth, imports_growth, fg_growth
        Log changes of FVA, DVA, imports (IM) and final-goods output (FG): the level is
        multiplied by ``exp(g)``. Any ``GrowthLike`` form (module docs).
    rta
        Pairs switched into an RTA, or ``{pair: 0/1}`` (see :func:`resolve_rta`).
    mfn
        MFN change (see :func:`resolve_mfn`): multiplier(s) or new rates.
    rta_symmetric
        Switch both directions of an RTA pair (default True).
    name
        A label stored with the results.
    """

    fva_growth: GrowthLike = 0.0
    dva_growth: GrowthLike = 0.0
    imports_growth: GrowthLike = 0.0
    fg_growth: GrowthLike = 0.0
    rta: RtaLike = None
    mfn: MfnLike = None
    rta_symmetric: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        for field in GROWTH_COLUMNS:
            v = getattr(self, field)
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                _finite(v, field)
            elif isinstance(v, (bool, np.bool_)):
                raise SpecError(f"{field}: expected a log change (number), got {v!r}")
            _check_values_dtype(v, field)
        if isinstance(self.mfn, (bool, np.bool_)):
            raise SpecError(f"mfn: expected a multiplier (number) or rates, got {self.mfn!r}")
        _check_values_dtype(self.mfn, "mfn")
        if self.rta is not None:
            _rta_items(self.rta)
        if not isinstance(self.rta_symmetric, (bool, np.bool_)):
            raise SpecError(f"rta_symmetric: expected True or False, got {self.rta_symmetric!r}")
        object.__setattr__(self, "rta_symmetric", bool(self.rta_symmetric))
        if not isinstance(self.name, str):
            raise SpecError(f"name: expected a string, got {self.name!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scenario:
        """Build from a dict with the attribute names as keys (unknown keys raise)."""
        if not isinstance(d, Mapping):
            raise SpecError(f"scenario: expected a dict of fields, got {type(d).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - fields)
        if bad:
            raise SpecError(f"scenario: unknown key(s) {bad}; known: {sorted(fields)}")
        return cls(**dict(d))

    def shocks(self, panel: Panel) -> dict[str, np.ndarray]:
        """Per-observation log changes ``{"fva": ..., "dva": ..., "imports": ..., "fg": ...}``."""
        df = panel.df
        return {
            col: resolve_growth(getattr(self, field), df, field, column=col)
            for field, col in GROWTH_COLUMNS.items()
        }

    def apply(self, panel: Panel) -> Panel:
        """The counterfactual panel (same rows, order and effect keys as ``panel``)."""
        df = panel.df
        new = df.copy()
        for col, g in self.shocks(panel).items():
            new[col] = _grown(df, col, g)
        new["rta"] = resolve_rta(self.rta, df, self.rta_symmetric).astype(int)
        if "gsp" in new.columns:  # preferences under GSP are only granted outside RTAs
            new["gsp"] = np.where(new["rta"].to_numpy() == 1, 0, new["gsp"].to_numpy()).astype(int)
        mfn = resolve_mfn(self.mfn, df)
        new["mfn"] = mfn
        new["tariff"] = np.minimum(df["tariff"].to_numpy(float), mfn)
        if "mfn_threshold" in new.columns:  # the recording rule moves with the MFN rate
            old = df["mfn"].to_numpy(float)
            scale = np.divide(mfn, old, out=np.ones_like(mfn), where=old > 0)
            new["mfn_threshold"] = np.minimum(df["mfn_threshold"].to_numpy(float) * scale, mfn)
        try:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                out = add_derived_columns(new)
            for k in _KEEP_KEYS:
                if k in df.columns:
                    out[k] = df[k].to_numpy()
            return Panel(
                df=out, dropped=panel.dropped, meta={**panel.meta, "scenario": self.describe()}
            )
        except PanelError as exc:
            moved = [
                f for f in (*GROWTH_COLUMNS, "mfn") if not _is_zero_default(getattr(self, f), f)
            ]
            first = exc.problems[0] if exc.problems else str(exc)
            raise SpecError(
                f"scenario ({', '.join(moved) or 'no change'}): the changed levels give "
                f"non-finite derived columns, {' '.join(first.split())[:300]}; use smaller "
                "changes"
            ) from None

    def changes(self, panel: Panel, cf: Panel | None = None) -> list[str]:
        """What the scenario changes in ``panel`` (one phrase per kind; empty: nothing).

        ``cf`` is ``self.apply(panel)`` when already computed.
        """
        cf = self.apply(panel) if cf is None else cf
        df, new = panel.df, cf.df
        out = []
        for col, g in self.shocks(panel).items():
            k = int(np.count_nonzero(g))
            if k:
                out.append(f"{col} grows at {k} observation(s)")
        for col in ("rta", "gsp", "mfn"):
            if col in df.columns:
                k = int((df[col].to_numpy(float) != new[col].to_numpy(float)).sum())
                if k:
                    out.append(f"{col} changes at {k} observation(s)")
        return out

    def describe(self) -> str:
        """A JSON description (stored in the result's attrs)."""

        def enc(v: Any) -> Any:
            if isinstance(v, np.generic):
                v = v.item()
            if v is None or isinstance(v, (bool, int, float, str)):
                return v
            if isinstance(v, np.ndarray):
                return f"<array of {v.size} values, mean {float(np.mean(v)):.4g}>"
            if isinstance(v, pd.Series):
                return f"<Series by {list(v.index.names)} ({len(v)} values, mean {float(v.mean()):.4g})>"
            if isinstance(v, Mapping):
                return {str(k): enc(x) for k, x in v.items()}
            if isinstance(v, Iterable):
                return [enc(x) if not isinstance(x, tuple) else "-".join(map(str, x)) for x in v]
            return repr(v)

        return json.dumps(
            {f.name: enc(getattr(self, f.name)) for f in dataclasses.fields(self)}, sort_keys=True
        )


def _grown(df: pd.DataFrame, col: str, g: np.ndarray) -> np.ndarray:
    """``level * exp(g)``, refusing log changes that make a positive level zero or infinite."""
    old = df[col].to_numpy(float)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        new = old * np.exp(g)
    bad = (old > 0) & ~(np.isfinite(new) & (new > 0))
    if bad.any():
        field = next(f for f, c in GROWTH_COLUMNS.items() if c == col)
        i = int(np.argmax(bad))
        kind = "infinite" if g[i] > 0 else "zero"
        raise SpecError(
            f"{field}: a log change of {g[i]:g} makes {col} {kind} at {int(bad.sum())} "
            f"observation(s), e.g. row {i} {_row(df, i)} ({col} = {old[i]:g}): log changes "
            "must keep levels positive and finite (exp(g) overflows above about 709 and "
            "underflows below about -745)"
        )
    return new


def _is_zero_default(v: Any, field: str) -> bool:
    """True when a scenario field holds its no-change default (for messages only)."""
    if field == "mfn":
        return v is None
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)
