"""PSIS-LOO model comparison of structural fits, with the censoring caveat enforced.

Functions take :class:`~structest.structural.results.StructuralFit` objects or their
``InferenceData``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StructestError
from ..structural.io import fit_spec, idata_of


def informative(idata: Any) -> np.ndarray:
    """bool[n]: the observations whose log-likelihood depends on the model. Where the
    censoring point is at or below the lower bound (kind ``NONE``) the log-likelihood is
    identically 0 and ArviZ gives Pareto k = inf."""
    from ..structural.likelihood import NONE

    return idata_of(idata).constant_data["kind"].values != NONE


def check_comparable(fits: Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """Problems that make PSIS-LOO comparison of ``fits`` invalid (empty: comparable).

    Pointwise log-likelihoods of censored observations are probability masses, of the others
    densities, so fits are comparable only on the same observations with the same
    censoring treatment: same observed tariffs, same MFN caps, same lower bound and the same
    per-observation censoring kind (``constant_data['kind']``).

    Raises
    ------
    StructestError
        With ``strict`` and any problem (otherwise the problems are returned for warnings).
    """
    fits = {k: idata_of(v) for k, v in fits.items()}
    names = list(fits)
    if len(names) < 2:
        raise StructestError("check_comparable: need at least two fits")
    ref_name, ref = names[0], fits[names[0]]
    problems: list[str] = []
    for name in names:
        if "log_likelihood" not in fits[name].groups():
            problems.append(f"'{name}' has no log_likelihood group")
    for name in names[1:]:
        other = fits[name]
        a, b = ref.observed_data["tariff"].values, other.observed_data["tariff"].values
        if a.shape != b.shape or not np.allclose(a, b):
            problems.append(
                f"'{name}' and '{ref_name}' are fitted to different observations ({a.shape[0]} vs {b.shape[0]})"
            )
            continue
        for key, what in (
            ("mfn", "MFN caps"),
            ("lower", "lower bounds"),
            ("kind", "censoring treatment"),
        ):
            x, y = ref.constant_data[key].values, other.constant_data[key].values
            same = np.array_equal(x, y) if key == "kind" else np.allclose(x, y, equal_nan=True)
            if not same:
                n = (
                    int((x != y).sum())
                    if key == "kind"
                    else int((~np.isclose(x, y, equal_nan=True)).sum())
                )
                problems.append(
                    f"'{name}' and '{ref_name}' differ in {what} ({n} observation(s)): their pointwise "
                    "log-likelihoods mix densities and probability masses differently and are not comparable"
                )
    if problems and strict:
        raise StructestError("models not comparable by LOO:\n  - " + "\n  - ".join(problems))
    return problems


def loo_compare(
    fits: Mapping[str, Any], *, strict: bool = True, k_threshold: float = 0.7
) -> pd.DataFrame:
    """PSIS-LOO comparison (``az.compare``) after :func:`check_comparable`.

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (rank, elpd_loo, p_loo, elpd_diff, weight, se, dse, warning)
        plus ``n_high_k`` (informative observations with Pareto k > ``k_threshold``) and
        ``model``.
    """
    import warnings

    import arviz as az

    fits = {k: idata_of(v) for k, v in fits.items()}
    problems = check_comparable(fits, strict=strict)
    for p in problems:
        warnings.warn(p, UserWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loos = {k: az.loo(v, pointwise=True) for k, v in fits.items()}
        table = az.compare(loos)
    table["n_high_k"] = [
        int((loos[m].pareto_k.values[informative(fits[m])] > k_threshold).sum())
        for m in table.index
    ]
    table["model"] = [fit_spec(fits[m]).name for m in table.index]
    return table


def pareto_k_table(fit: Any, *, k_threshold: float = 0.7) -> pd.DataFrame:
    """Observations with high Pareto k in PSIS-LOO, with their keys and censoring kind.

    Returns
    -------
    pandas.DataFrame
        ``importer, exporter, industry, year, tariff, mfn, kind, pareto_k`` for k >
        ``k_threshold``, sorted by k (descending); observations with ``mfn <= lower``
        (log-likelihood identically 0, k undefined) are left out.
    """
    import warnings

    import arviz as az

    idata = idata_of(fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(idata, pointwise=True)
    k = loo.pareto_k.values
    od = idata.observed_data
    frame = pd.DataFrame(
        {c: od[c].values for c in ("importer", "exporter", "industry", "year") if c in od.coords}
    )
    frame["tariff"] = od["tariff"].values
    frame["mfn"] = idata.constant_data["mfn"].values
    kinds = np.array(["exact", "at MFN", "at lower bound", "uninformative"])
    frame["kind"] = kinds[idata.constant_data["kind"].values.astype(int)]
    frame["pareto_k"] = k
    frame = frame[informative(idata)]  # log-likelihood identically 0: k undefined
    return (
        frame[frame["pareto_k"] > k_threshold]
        .sort_values("pareto_k", ascending=False)
        .reset_index(drop=True)
    )
