"""Turning a panel plus a formula into the estimation sample, recording every exclusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..panel import KEYS, Panel
from .formula import SAMPLES, Formula, check_columns

#: Columns kept to identify dropped observations.
ID_COLUMNS: tuple[str, ...] = (*KEYS, "product")


@dataclass
class Sample:
    """The estimation sample and the record of what was excluded from it."""

    df: pd.DataFrame
    dropped: list[tuple[str, int]] = field(default_factory=list)
    dropped_obs: list[pd.DataFrame] = field(default_factory=list)

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


def build_sample(
    panel: Panel | pd.DataFrame,
    formula: Formula,
    *,
    sample: str = "all",
    cluster: str | None = "pair",
    extra_columns: tuple[str, ...] = (),
) -> Sample:
    """Select the columns a fit needs, apply the sample rule and drop non-finite rows.

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
    """
    df, _ = as_frame(panel)
    check_columns(formula, df)
    absent = [c for c in extra_columns if c not in df.columns]
    if absent:
        raise SpecError(f"column(s) {absent} (censoring bounds or helpers) are not in the panel")
    needed = [*formula.columns(), *extra_columns]
    if cluster is not None:
        if cluster not in df.columns:
            raise SpecError(f"cluster column '{cluster}' is not in the panel")
        needed.append(cluster)
    if sample not in SAMPLES:
        raise SpecError(f"unknown sample '{sample}'; choose one of {', '.join(SAMPLES)}")
    rule, reason = SAMPLES[sample]
    keep_cols = list(dict.fromkeys([*[c for c in ID_COLUMNS if c in df.columns], *needed]))
    if rule is not None:
        rule_cols = [c for c in ("rta", "gsp") if c in df.columns and c not in keep_cols]
        keep_cols += rule_cols
    out = Sample(df=df[keep_cols].reset_index(drop=True))
    if rule is not None:
        out.drop(~np.asarray(rule(out.df), dtype=bool), reason)
    fe_cols = {c for t in formula.fe for c in t.split("^")}
    for col in needed:
        if col in fe_cols or col == cluster:
            bad = out.df[col].isna().to_numpy()
        else:
            values = pd.to_numeric(out.df[col], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(values)
        out.drop(bad, f"missing or non-finite value in column '{col}'")
    if len(out.df) == 0:
        raise SpecError(f"no observations left for '{formula.text}' (sample '{sample}')")
    return out
