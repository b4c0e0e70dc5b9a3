"""A structural posterior as one column of a publication table (maketables plug-in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import OptionError, StructestError
from ..reduced.maketables_plugin import TableColumn


def posterior_column(
    fit: Any,
    var_names: Sequence[str] | None = None,
    *,
    terms: Mapping[str, str] | None = None,
    level: float = 0.9,
    show: str = "interval",
    name: str = "Posterior",
) -> TableColumn:
    """Posterior medians with a credible interval (or sd) as a table column.

    Parameters
    ----------
    fit
        A :class:`~structest.structural.results.StructuralFit` or an InferenceData with
        a ``posterior`` group.
    var_names
        Posterior variables to show (default: every scalar variable). A vector variable
        gives one row per element, ``name[i]``.
    terms
        Row name by variable (e.g. ``{"g_dva": "log_dva"}``), to put a posterior in the
        row of the matching reduced-form coefficient.
    level
        Probability of the equal-tailed interval, in (0, 1).
    show
        ``"interval"`` (``[lo, hi]`` under the median) or ``"sd"`` (``(sd)``).
    name
        Column header.

    Returns
    -------
    TableColumn
        Usable in :func:`structest.tables.regression_table` and ``maketables.ETable``;
        its ``N`` stat is the number of observations of the fit, when known.

    Raises
    ------
    OptionError
        ``level`` not in (0, 1), or ``show`` not ``"interval"``/``"sd"``.
    StructestError
        ``fit`` has no posterior, or a name in ``var_names`` is not one of its variables.
    """
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise OptionError(f"level must be a number strictly between 0 and 1, got {level!r}")
    if show not in ("interval", "sd"):
        raise OptionError(f"show must be 'interval' or 'sd', got {show!r}")
    idata = getattr(fit, "idata", fit)
    post = getattr(idata, "posterior", None)
    if post is None:
        raise StructestError(
            f"posterior_column needs a StructuralFit or InferenceData with a posterior, "
            f"got {type(fit).__name__}"
        )
    if var_names is None:
        names = [v for v in post.data_vars if post[v].ndim == 2]
    else:
        if isinstance(var_names, str):
            var_names = [var_names]
        missing = [v for v in var_names if v not in post.data_vars]
        if missing:
            raise StructestError(
                f"posterior_column: {missing} not in the posterior (it has "
                f"{sorted(map(str, post.data_vars))})"
            )
        names = list(var_names)
    terms = dict(terms or {})
    a = (1 - level) / 2
    rows: dict[str, tuple[float, float, float, float]] = {}
    for v in names:
        draws = np.asarray(post[v].values, dtype=float)
        flat = draws.reshape(draws.shape[0] * draws.shape[1], -1)
        for j in range(flat.shape[1]):
            x = flat[:, j]
            label = terms.get(v, v) if flat.shape[1] == 1 else f"{terms.get(v, v)}[{j}]"
            rows[label] = (
                float(np.median(x)),
                float(np.std(x, ddof=1)) if len(x) > 1 else float("nan"),
                float(np.quantile(x, a)),
                float(np.quantile(x, 1 - a)),
            )
    if not rows:
        raise StructestError("posterior_column: no scalar variable to show (give var_names)")
    frame = pd.DataFrame(rows, index=["median", "sd", "lo", "hi"]).T
    design = getattr(fit, "design", None)
    n = getattr(design, "n", None)
    return TableColumn(
        coef=frame["median"],
        se=frame["sd"] if show == "sd" else None,
        lower=frame["lo"] if show == "interval" else None,
        upper=frame["hi"] if show == "interval" else None,
        stats={"N": int(n)} if n is not None else {},
        name=name,
        interval_level=level if show == "interval" else None,
        depvar="",
    )
