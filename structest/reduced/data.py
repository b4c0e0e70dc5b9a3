"""Turning a panel plus a formula into the estimation sample, recording every exclusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import OptionError, SpecError
from ..panel import KEYS, LAGGED, Panel
from .formula import (
    SAMPLE_COLUMNS,
    SAMPLES,
    Formula,
    check_columns,
    continuous_example,
    eval_factor,
)

#: Columns kept to identify dropped observations.
ID_COLUMNS: tuple[str, ...] = (*KEYS, "product")


@dataclass
class Sample:
    """The estimation sample and the record of what was excluded from it.

    ``notes`` collects remarks of the estimators on this sample (e.g. regressors dropped as
    collinear).
    """

    df: pd.DataFrame
    dropped: list[tuple[str, int]] = field(default_factory=list)
    dropped_obs: list[pd.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def drop(self, mask: np.ndarray, reason: str) -> None:
        """Drop rows where ``mask`` is True, recording the count and the keys."""
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n == 0:
            return
        ids = [c for c in ID_COLUMNS if c in self.df.columns]
        self.dropped_obs.append(self.df.loc[mask, ids].assign(reason=reason))
        self.dropped.append((reason, n))
        self.df = self.df.loc[~mask].reset_index(drop=True)

    def dropped_frame(self) -> pd.DataFrame:
        """All dropped observations with their reasons."""
        if not self.dropped_obs:
            ids = [c for c in ID_COLUMNS if c in self.df.columns]
            return pd.DataFrame(columns=[*ids, "reason"])
        return pd.concat(self.dropped_obs, ignore_index=True)


def as_frame(panel: Panel | pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """The observations of a :class:`Panel` (or a frame) and the panel's earlier exclusions."""
    if isinstance(panel, Panel):
        return panel.df, list(panel.dropped)
    if isinstance(panel, pd.DataFrame):
        return panel, []
    raise SpecError(
        f"panel must be a structest Panel or a pandas DataFrame, got {type(panel).__name__}"
    )


def _show_value(value: object) -> str:
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def check_sample_cluster(sample: object, cluster: object) -> None:
    """Refuse a ``sample`` that is not a known rule name and a ``cluster`` that is not a
    column name or ``None``.

    Raises
    ------
    OptionError
        ``sample`` not a string, ``cluster`` neither a non-empty string nor ``None``.
    SpecError
        ``sample`` not a key of :data:`~structest.reduced.formula.SAMPLES`.
    """
    if not isinstance(sample, str):
        raise OptionError(
            f"sample must be one of {', '.join(SAMPLES)} (a string), got {_show_value(sample)}"
        )
    if sample not in SAMPLES:
        raise SpecError(f"unknown sample {sample[:60]!r}; choose one of {', '.join(SAMPLES)}")
    if cluster is not None and (not isinstance(cluster, str) or not cluster.strip()):
        raise OptionError(
            "cluster must be a column name (e.g. 'pair') or None (heteroskedasticity-robust), "
            f"got {_show_value(cluster)}"
        )


def build_sample(
    panel: Panel | pd.DataFrame,
    formula: Formula,
    *,
    sample: str = "all",
    cluster: str | None = "pair",
    extra_columns: tuple[str, ...] = (),
) -> Sample:
    """Select the columns a fit needs, apply the sample rule and drop non-finite rows.

    Every dropped row is recorded with its reason. Rows where a lagged instrument
    (:data:`~structest.panel.LAGGED`, e.g. ``log_dva_lag``) is NaN by construction are
    dropped with a reason naming it: "no earlier WIOD year for lagged instrument
    'log_dva_lag' (earliest year 1995)" for earliest-year rows, "no row of the same
    importer-exporter-industry in the earliest year 1995 for lagged instrument ..." for
    later rows without an earliest-year observation.

    Parameters
    ----------
    panel
        A Panel or a DataFrame holding the columns.
    formula
        Parsed formula.
    sample
        A key of :data:`~structest.reduced.formula.SAMPLES` (``"all"``, ``"nonrta"``...).
    cluster
        Cluster column (must exist).
    extra_columns
        Further columns to carry (e.g. censoring bounds).

    Raises
    ------
    OptionError
        ``sample`` is not a string or ``cluster`` not a column name or ``None``.
    SpecError
        If the formula breaks the whitelist or names unknown columns, a column used as a
        number holds categories, a column used as categories (``C()``, ``i()``, fixed
        effects, cluster) is continuous, or no observation is left.
    """
    df, _ = as_frame(panel)
    check_sample_cluster(sample, cluster)
    check_columns(formula, df)
    absent = [c for c in extra_columns if c not in df.columns]
    if absent:
        raise SpecError(f"column(s) {absent} (censoring bounds or helpers) are not in the panel")
    needed = [*formula.columns(), *extra_columns]
    if cluster is not None:
        if cluster not in df.columns:
            raise SpecError(f"cluster column {cluster[:60]!r} is not in the panel")
        x = continuous_example(df[cluster])
        if x is not None:
            raise SpecError(
                f"cluster column {cluster!r} is continuous (e.g. {x!r}): clusters need a "
                "categorical column (labels or integer codes) such as 'pair'"
            )
        needed.append(cluster)
    rule, reason = SAMPLES[sample]
    keep_cols = list(dict.fromkeys([*[c for c in ID_COLUMNS if c in df.columns], *needed]))
    if rule is not None:
        rule_cols = [c for c in SAMPLE_COLUMNS[sample] if c in df.columns and c not in keep_cols]
        keep_cols += rule_cols
    out = Sample(df=df[keep_cols].reset_index(drop=True))
    if rule is not None:
        out.drop(~np.asarray(rule(out.df), dtype=bool), reason)
    categorical, maybe = formula.categorical_columns()
    categorical |= {c for c in maybe if not _is_numeric(out.df[c])}
    for col in dict.fromkeys(needed):
        if col in LAGGED and col not in categorical and col != cluster:
            _drop_lag_gaps(out, col, df, formula)
        if col in categorical or col == cluster:
            bad = out.df[col].isna().to_numpy()
        else:
            bad = ~np.isfinite(_numeric(out.df[col], col, formula))
        out.drop(bad, f"missing or non-finite value in column '{col}'")
    # computed terms (I(), log(), exp()): the rows where they are not finite, dropped here
    # and recorded, so that every estimator uses the same rows
    for src, node in formula.computed_factors():
        values = eval_factor(node, out.df)
        out.drop(~np.isfinite(values), f"non-finite value of '{src}'")
    if len(out.df) == 0:
        why = "; ".join(f"{n} dropped: {r}" for r, n in out.dropped)
        raise SpecError(
            f"no observations left for '{formula.text}' (sample '{sample}'"
            + (f"; {why})" if why else ")")
        )
    return out


def _drop_lag_gaps(out: Sample, col: str, full: pd.DataFrame, formula: Formula) -> None:
    """Drop the rows where a lagged column (:data:`~structest.panel.LAGGED`) is NaN by
    construction, with a reason naming it: rows of the earliest year of the panel (no earlier
    year to lag from) and rows whose importer-exporter-industry has no earliest-year row."""
    if "year" not in out.df.columns or "year" not in full.columns or len(full) == 0:
        return
    values = pd.to_numeric(out.df[col], errors="coerce").to_numpy(dtype=float)
    gap = np.isnan(values)
    if not gap.any():
        return
    y0 = int(pd.to_numeric(full["year"], errors="coerce").min())
    first = pd.to_numeric(out.df["year"], errors="coerce").to_numpy(dtype=float) == y0
    what = "lagged instrument" if col in formula.instruments else "lagged column"
    out.drop(gap & first, f"no earlier WIOD year for {what} '{col}' (earliest year {y0})")
    keep = ~(gap & first)
    out.drop(
        (gap & ~first)[keep],
        f"no row of the same importer-exporter-industry in the earliest year {y0} for "
        f"{what} '{col}'",
    )


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _numeric(s: pd.Series, col: str, formula: Formula) -> np.ndarray:
    """A column used as a number; :class:`SpecError` when it holds categories (strings)."""
    values = pd.to_numeric(s, errors="coerce")
    if not _is_numeric(s) and values.isna().all() and s.notna().any():
        example = s.dropna().iloc[0]
        hint = (
            f"; write C({col}) for a categorical regressor"
            if col in formula.columns() and col != formula.depvar
            else ""
        )
        raise SpecError(
            f"column '{col}' used in '{formula.text}' is not numeric (values such as "
            f"{str(example)!r}){hint}"
        )
    return values.to_numpy(dtype=float)
