"""structest's side of maketables' plug-in interface, and safe label text per format.

maketables (installed with pyfixest) builds publication tables from any object that has
``__maketables_coef_table__`` (a DataFrame with columns ``b``, ``se``, ``t``, ``p``...),
``__maketables_stat__(key)``, ``__maketables_depvar__``, ``__maketables_fixef_string__``
and ``__maketables_vcov_info__``. :class:`~structest.reduced.results.Results` implements
them through :func:`coef_table` and :func:`stat`; :class:`TableColumn` is a ready-made
column for numbers that are not a reduced-form fit (a posterior summary, a column of the
paper).

maketables writes cell text into LaTeX verbatim and HTML-escapes it for HTML, so labels
are prepared per format by :func:`tex_escape` (LaTeX specials escaped outside ``$...$``
math) and :func:`html_text` (simple ``$\\beta$``-style math shown as Unicode).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StructestError

#: LaTeX specials outside math and their text-mode replacements
_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIALS))
#: a ``$...$`` math segment (no ``$`` inside, not escaped as ``\$``)
_MATH_RE = re.compile(r"(?<!\\)\$([^$]+?)(?<!\\)\$")

#: LaTeX math commands shown as Unicode in HTML/Word
_MATH_UNICODE = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "Delta": "Δ",
    "Sigma": "Σ",
    "times": "×",
    "cdot": "·",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "pm": "±",
}


def _tex_plain(s: str) -> str:
    return _TEX_RE.sub(lambda m: _TEX_SPECIALS[m.group(0)], s)


def tex_escape(text: Any) -> str:
    r"""Text safe to place in a LaTeX table cell.

    Every LaTeX special (``\ & % $ # _ { } ~ ^ < >``) is escaped, except inside
    ``$...$`` math, which is kept as written (so ``$\beta$`` stays a beta).
    A lone ``$`` without its pair is escaped as ``\$``.

    Examples
    --------
    >>> tex_escape("FE: importer^year")
    'FE: importer\\textasciicircum{}year'
    >>> tex_escape(r"$\beta$ (log_dva)")
    '$\\beta$ (log\\_dva)'
    """
    s = str(text)
    out, pos = [], 0
    for m in _MATH_RE.finditer(s):
        out.append(_tex_plain(s[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_tex_plain(s[pos:]))
    return "".join(out)


def _math_to_unicode(math: str) -> str:
    s = re.sub(r"\\([A-Za-z]+)", lambda m: _MATH_UNICODE.get(m.group(1), m.group(0)), math)
    s = re.sub(r"\^\{?2\}?", "²", s)
    s = re.sub(r"_\{([^{}]*)\}", r"_\1", s)
    return s.replace("{", "").replace("}", "")


def html_text(text: Any) -> str:
    r"""Plain text for HTML/Word cells: ``$...$`` math as Unicode where simple
    (``$\beta$`` -> ``β``), unknown commands kept as written; maketables escapes the
    result for HTML."""
    s = str(text)
    return _MATH_RE.sub(lambda m: _math_to_unicode(m.group(1)), s)


# ---------------------------------------------------------------- columns
_COEF_COLUMNS = ("b", "se", "t", "p", "ci95l", "ci95u")


def coef_table(
    params: pd.Series,
    se: pd.Series,
    pvalues: pd.Series,
    lower: pd.Series | None = None,
    upper: pd.Series | None = None,
) -> pd.DataFrame:
    """The coefficient frame maketables reads (index ``Coefficient``; columns ``b``,
    ``se``, ``t``, ``p``, ``ci95l``, ``ci95u``)."""
    b = params.astype(float)
    s = se.reindex(b.index).astype(float)
    out = pd.DataFrame(
        {
            "b": b,
            "se": s,
            "t": b / s,
            "p": pvalues.reindex(b.index).astype(float),
            "ci95l": (lower if lower is not None else b * np.nan).reindex(b.index),
            "ci95u": (upper if upper is not None else b * np.nan).reindex(b.index),
        }
    )
    out.index = pd.Index([str(i) for i in out.index], name="Coefficient")
    return out


@dataclass
class TableColumn:
    """A table column from numbers (a posterior summary, published estimates...).

    Implements maketables' plug-in interface, so it sits in a ``maketables.ETable`` and in
    :func:`structest.tables.regression_table` beside fitted results.

    Attributes
    ----------
    coef
        Point estimates by term (e.g. posterior medians).
    se
        Standard errors (or posterior sd) by term; NaN where there is none.
    lower, upper
        Interval bounds by term (e.g. a 90% credible interval), or None.
    depvar
        Dependent-variable label of the column.
    stats
        Bottom rows by maketables key (``"N"``, ...) or free label.
    fe
        Fixed-effect terms (shown as ``x`` rows).
    name
        Column header.
    interval_level
        Level of ``lower``/``upper`` (for the footnote), e.g. ``0.9``.
    kind
        ``"posterior"`` (no stars, brackets) or ``"estimate"``.
    """

    coef: pd.Series
    se: pd.Series | None = None
    lower: pd.Series | None = None
    upper: pd.Series | None = None
    depvar: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    fe: tuple[str, ...] = ()
    name: str = ""
    interval_level: float | None = None
    kind: str = "posterior"

    def __post_init__(self) -> None:
        if not isinstance(self.coef, pd.Series) or self.coef.empty:
            raise StructestError(
                f"table column '{self.name}': coef must be a non-empty Series by term"
            )
        for what in ("se", "lower", "upper"):
            v = getattr(self, what)
            if v is not None and not isinstance(v, pd.Series):
                raise StructestError(
                    f"table column '{self.name}': {what} must be a Series by term, "
                    f"got {type(v).__name__}"
                )
        if (self.lower is None) != (self.upper is None):
            raise StructestError(
                f"table column '{self.name}': give both lower and upper, or neither"
            )
        bad = [t for t, v in self.coef.items() if not np.isfinite(float(v))]
        if bad:
            raise StructestError(f"table column '{self.name}': coef of {bad} is not finite")

    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        se = self.se if self.se is not None else self.coef * np.nan
        return coef_table(
            self.coef, se, pd.Series(np.nan, index=self.coef.index), self.lower, self.upper
        )

    def __maketables_stat__(self, key: str) -> Any:
        return self.stats.get(key)

    @property
    def __maketables_depvar__(self) -> str:
        return self.depvar

    @property
    def __maketables_fixef_string__(self) -> str | None:
        return "+".join(self.fe) or None

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return {"vcov_type": self.kind, "clustervar": None}


def as_column(name: str, coef: pd.Series, unc: Any, stats: Mapping[str, Any] | None) -> TableColumn:
    """An ``extra_columns`` entry of :func:`regression_table` as a :class:`TableColumn`.

    ``unc`` is a Series of SEs, a Series of ``(lower, upper)`` tuples or a 2-column
    DataFrame of bounds.
    """
    if not isinstance(coef, pd.Series):
        raise StructestError(
            f"extra column '{name}': first element must be a Series of estimates by term, "
            f"got {type(coef).__name__}"
        )
    se = lower = upper = None
    if isinstance(unc, pd.DataFrame):
        if unc.shape[1] != 2:
            raise StructestError(
                f"extra column '{name}': an interval frame needs 2 columns (lower, upper)"
            )
        lower, upper = unc.iloc[:, 0].astype(float), unc.iloc[:, 1].astype(float)
    elif isinstance(unc, pd.Series):
        tuples = unc.map(lambda v: isinstance(v, tuple | list | np.ndarray))
        if tuples.all() and len(unc):
            lower = unc.map(lambda v: float(v[0]))
            upper = unc.map(lambda v: float(v[1]))
        elif not tuples.any():
            se = unc.astype(float)
        else:
            raise StructestError(
                f"extra column '{name}': mix of SEs and (lower, upper) pairs; give one kind"
            )
    else:
        raise StructestError(
            f"extra column '{name}': second element must be a Series (SE or (lo, hi)) "
            "or a 2-column DataFrame"
        )
    return TableColumn(
        coef=coef.astype(float),
        se=se,
        lower=lower,
        upper=upper,
        stats=dict(stats or {}),
        name=name,
        kind="estimate" if se is not None else "posterior",
    )
