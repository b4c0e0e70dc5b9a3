"""Deliberately misspecified variants of a panel and model, for checks that must fail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..panel import Panel
from ..structural.spec import DEFAULT_MODEL, load_model


def ignore_censoring(panel: Panel, model: Any = DEFAULT_MODEL) -> tuple[Panel, Any]:
    """The simplest honest misspecification: treat every tariff as uncensored.

    Returns a panel whose MFN caps are lifted (``mfn`` = 1000 pp, ``censored`` False, so the
    likelihood uses the density at every observation) and the model with no lower bound
    (``lower = None``). Fit them with :func:`structest.fit` and check against the original
    panel: the predictive then has no mass at MFN.

    Returns
    -------
    (Panel, ModelSpec)
    """
    spec = load_model(model)
    df = panel.df.copy()
    df["mfn"] = 1000.0
    if "mfn_threshold" in df.columns:
        df["mfn_threshold"] = 1000.0
    df["censored"] = False
    df["preference"] = df["tariff"] - df["mfn"]
    meta = {**panel.meta, "variant": "censoring ignored (mfn=1000, no lower bound)"}
    return Panel(df=df, dropped=panel.dropped, meta=meta), replace(
        spec, name=f"{spec.name}_uncensored", lower=None
    )
