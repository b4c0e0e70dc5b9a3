"""Summaries of a panel: coverage, censoring, preference distribution by regime."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PanelError
from ..panel import Panel

#: the regime labels of :func:`regime`
REGIMES: tuple[str, ...] = ("other", "GSP-eligible", "RTA")


def regime(df: pd.DataFrame) -> pd.Series:
    """Label each observation 'RTA', 'GSP-eligible' or 'other' (GSP only outside RTAs)."""
    gsp = df["gsp"].astype(bool) if "gsp" in df.columns else pd.Series(False, index=df.index)
    lab = np.where(df["rta"].astype(bool), "RTA", np.where(gsp, "GSP-eligible", "other"))
    return pd.Series(lab, index=df.index, name="regime")


def coverage_table(panel: Panel) -> pd.DataFrame:
    """Observations by importer (rows) and year (columns), with totals."""
    tab = pd.crosstab(panel.df["importer"], panel.df["year"], margins=True, margins_name="total")
    tab.columns = [str(c) for c in tab.columns]
    return tab


def preference_summary(panel: Panel) -> pd.DataFrame:
    """By regime: N, share at MFN (censored), share at zero, and preference quantiles.

    Preferences (applied - MFN, pp) are summarised over the preferential observations.
    """
    d = panel.df.assign(regime=regime(panel.df))
    rows = []
    for name, g in [("all", d), *d.groupby("regime", sort=True)]:
        pref = g.loc[~g["censored"], "preference"]
        q = (
            pref.quantile([0.1, 0.5, 0.9])
            if len(pref)
            else pd.Series([np.nan] * 3, index=[0.1, 0.5, 0.9])
        )
        rows.append(
            {
                "regime": name,
                "obs": len(g),
                "share_at_mfn": g["censored"].mean(),
                "share_zero_tariff": (g["tariff"] <= 0).mean(),
                "mean_tariff": g["tariff"].mean(),
                "mean_mfn": g["mfn"].mean(),
                "pref_p10": q.iloc[0],
                "pref_median": q.iloc[1],
                "pref_p90": q.iloc[2],
            }
        )
    return pd.DataFrame(rows).set_index("regime")


def _corr(a: pd.Series, b: pd.Series) -> float | None:
    """Pearson correlation, or None with fewer than 2 rows or a constant column."""
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _corr_line(d: pd.DataFrame) -> str:
    levels, logs = _corr(d["dva"], d["imports"]), _corr(d["log_dva"], d["log_imports"])
    if levels is None or logs is None:
        return "corr(DVA, imports) = n/a (fewer than 2 rows or a constant column)"
    return f"corr(DVA, imports) = {levels:.3f} (levels), {logs:.3f} (logs)"


def describe(panel: Panel) -> str:
    """Plain-text description (what ``structest data describe`` prints).

    Raises
    ------
    PanelError
        ``panel`` is not a :class:`Panel`, or it has no rows.
    """
    if not isinstance(panel, Panel):
        raise PanelError([f"describe: expected a structest Panel, got {type(panel).__name__}"])
    panel.require_rows("describe")
    d = panel.df
    lines = [
        repr(panel),
        f"source: {panel.meta.get('source', 'user data')}",
        "",
        "Coverage (observations by importer and year):",
        coverage_table(panel).to_string(),
        "",
        "Tariffs and preferences by regime (preference = applied - MFN, over preferential obs):",
        preference_summary(panel).round(3).to_string(),
        "",
        "Regressors (logs):",
        d[["log_dva", "log_dva_ratio", "log_fva_ratio", "log_ip_ratio"]]
        .describe()
        .T.round(3)
        .to_string(),
        "",
        _corr_line(d),
        "",
        "Exclusions: " + panel.drop_report().replace("\n", "; "),
    ]
    return "\n".join(lines)
