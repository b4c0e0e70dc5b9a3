"""Paper-style regression tables (coefficient, SE in parentheses, stars, N, FE rows).

:func:`regression_table` takes a list of reduced-form :class:`~structest.reduced.Results`
and, optionally, pre-computed columns (e.g. Bayesian posteriors) given as
``name -> (coef Series, se Series or interval)``, and renders Markdown, LaTeX or a
DataFrame. Stars: ``*`` p < .1, ``**`` p < .05, ``***`` p < .01 (only for fitted results).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StructestError
from .formula import FE_LABELS, LABELS
from .results import Results

ExtraColumn = tuple[pd.Series, Any]

#: the one label of each estimator, in tables, the report and plots
ESTIMATOR_NAMES = {"ols": "OLS", "iv": "Linear-IV", "tobit": "Tobit", "tobit_iv": "Tobit-IV"}


def stars(p: float) -> str:
    """Significance stars: * p<.1, ** p<.05, *** p<.01."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _fmt(x: float, digits: int) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:.{digits}f}"


def _interval(second: Any, name: str) -> pd.Series:
    """Normalise the uncertainty of an extra column to strings '(se)' or '[lo, hi]'."""
    if isinstance(second, pd.DataFrame):
        if second.shape[1] != 2:
            raise StructestError(
                f"extra column '{name}': an interval frame needs 2 columns (lower, upper)"
            )
        return second.apply(lambda r: ("interval", float(r.iloc[0]), float(r.iloc[1])), axis=1)
    if isinstance(second, pd.Series):
        return second.map(
            lambda v: (
                ("interval", float(v[0]), float(v[1]))
                if isinstance(v, tuple | list | np.ndarray)
                else ("se", float(v))
            )
        )
    raise StructestError(
        f"extra column '{name}': second element must be a Series (SE or (lo, hi)) or a 2-column DataFrame"
    )


#: formats of :func:`regression_table`
TABLE_FORMATS = ("markdown", "latex", "html", "frame")

#: stat row label of the old ``extra_stats`` -> maketables key
_STAT_KEYS = {"Observations": "N", "R-squared": "r2", "Log-likelihood": "ll"}


def se_note(results: Sequence[Any]) -> str:
    """The footnote sentence on standard errors: "clustered by <col>" only for clustered
    columns, "heteroskedasticity-robust" for the others; posterior columns say so."""
    fitted = [r for r in results if isinstance(r, Results)]
    clusters = [r.cluster for r in fitted]
    parts = []
    if fitted:
        named = list(dict.fromkeys(c for c in clusters if c))
        if not named:
            parts.append("Heteroskedasticity-robust standard errors in parentheses.")
        elif len(named) == 1 and all(clusters):
            parts.append(f"Standard errors clustered by {named[0]} in parentheses.")
        else:
            cols = ", ".join(
                f"({k + 1}) {'clustered by ' + c if c else 'heteroskedasticity-robust'}"
                for k, c in enumerate(clusters)
            )
            parts.append(f"Standard errors in parentheses: {cols}.")
    others = [r for r in results if not isinstance(r, Results)]
    if others:
        levels = {getattr(o, "interval_level", None) for o in others} - {None}
        lev = f"{round(100 * levels.pop())}% " if len(levels) == 1 else ""
        parts.append(
            f"Other columns: estimate with standard deviation in parentheses or {lev}"
            "interval in brackets (no stars)."
        )
    if fitted:
        parts.append("* p<.1, ** p<.05, *** p<.01.")
    return " ".join(parts)


def regression_table(
    results: Sequence[Any],
    labels: Mapping[str, str] | None = None,
    to: str = "markdown",
    *,
    column_names: Sequence[str] | None = None,
    extra_columns: Mapping[str, ExtraColumn] | None = None,
    extra_stats: Mapping[str, Mapping[str, Any]] | None = None,
    order: Sequence[str] | None = None,
    digits: int = 3,
    title: str | None = None,
) -> Any:
    """Build a regression table.

    Parameters
    ----------
    results
        Fitted :class:`Results`, one column each; also any object with maketables'
        plug-in interface, such as a :class:`~structest.reduced.maketables_plugin.TableColumn`
        (e.g. from :func:`structest.structural.table_column.posterior_column`).
    labels
        Display labels by regressor name (defaults: the results' own labels, then
        :data:`structest.reduced.formula.LABELS`). ``$...$`` math is kept in LaTeX.
    to
        ``"markdown"``, ``"latex"``, ``"html"`` or ``"frame"``; ``"maketables"`` returns
        the ``maketables.ETable`` (for ``.save("docx", ...)``, Typst...). LaTeX and HTML
        are rendered by maketables.
    column_names
        Column headers (default ``(1)``, ``(2)``... with the estimator).
    extra_columns
        Pre-computed columns appended on the right: ``name -> (coef, unc)`` with ``coef`` a
        Series by regressor and ``unc`` a Series of SEs (shown in parentheses), a Series of
        ``(lower, upper)`` tuples or a 2-column DataFrame (shown in brackets).
    extra_stats
        Rows below the coefficients for extra columns: ``name -> {"Observations": n, ...}``.
    order
        Regressor order (default: first appearance).
    digits
        Decimals.
    title
        Optional caption.

    Returns
    -------
    str, DataFrame or maketables.ETable
        The table text, a DataFrame whose index is the row label, or the ETable.

    Raises
    ------
    StructestError
        An unknown ``to``, no columns, a column that is neither a result nor a plug-in
        column, a bad extra column, or a column-name count that does not match.
    """
    from .maketables_plugin import TableColumn, as_column

    if to not in (*TABLE_FORMATS, "maketables"):
        raise StructestError(
            f"to must be one of {', '.join(repr(f) for f in TABLE_FORMATS)} or "
            f"'maketables', got {to!r}"
        )
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 10:
        raise StructestError(f"digits must be an integer from 0 to 10, got {digits!r}")
    if isinstance(results, Results | str) or not isinstance(results, Sequence | tuple | list):
        raise StructestError(
            f"results must be a list of Results (or table columns), got {type(results).__name__}"
        )
    results = list(results)
    for k, r in enumerate(results):
        if not isinstance(r, Results) and not hasattr(r, "__maketables_coef_table__"):
            raise StructestError(
                f"results[{k}] is a {type(r).__name__}, not a Results or a table column "
                "(an object with maketables' plug-in interface)"
            )
    if to in ("latex", "html", "maketables"):
        cols = results + [
            as_column(n, c, u, extra_stats.get(n) if extra_stats else None)
            for n, (c, u) in (extra_columns or {}).items()
        ]
        if not cols:
            raise StructestError("regression_table needs at least one result or extra column")
        heads = list(column_names) if column_names is not None else None
        if heads is not None:
            n_named = len(results)
            if len(heads) != n_named:
                raise StructestError(f"{len(heads)} column names for {n_named} results")
            heads += list(extra_columns or {})
        return _maketables(cols, labels, to, heads, order, digits, title)
    plain = [r for r in results if isinstance(r, Results)]
    if len(plain) != len(results):
        extra_columns = dict(extra_columns or {})
        extra_stats = dict(extra_stats or {})
        # column names given for every column: the plain results keep theirs, the other
        # columns are named by theirs (extra columns sit on the right, in order)
        given = list(column_names) if column_names is not None else None
        if given is not None and len(given) == len(results):
            column_names = [given[k] for k, r in enumerate(results) if isinstance(r, Results)]
        for k, r in enumerate(results):
            if isinstance(r, TableColumn):
                name = (
                    given[k]
                    if given is not None and len(given) == len(results)
                    else (r.name or f"({k + 1})")
                )
                unc = (
                    pd.DataFrame({"lower": r.lower, "upper": r.upper})
                    if r.lower is not None
                    else (r.se if r.se is not None else r.coef * np.nan)
                )
                extra_columns[name] = (r.coef, unc)
                extra_stats[name] = {
                    {v: k for k, v in _STAT_KEYS.items()}.get(s, s): v for s, v in r.stats.items()
                }
            elif not isinstance(r, Results):
                raise StructestError(
                    f"results[{k}] ({type(r).__name__}) can be shown in LaTeX or HTML only; "
                    "use to='latex' or to='html'"
                )
    return _plain_table(
        plain, labels, to, column_names, extra_columns, extra_stats, order, digits, title
    )


def _maketables(
    cols: list[Any],
    labels: Mapping[str, str] | None,
    to: str,
    heads: list[str] | None,
    order: Sequence[str] | None,
    digits: int,
    title: str | None,
) -> Any:
    """Render ``cols`` (results and plug-in columns) through maketables."""
    import maketables as mt

    from .maketables_plugin import html_text, tex_escape

    esc = tex_escape if to == "latex" else html_text
    user = dict(labels or {})

    def label_of(c: Any, t: str) -> str:
        if t in user:
            return user[t]
        return c.label(t) if isinstance(c, Results) else LABELS.get(t, t)

    views = [_Relabeled(c, lambda t, c=c: esc(label_of(c, t))) for c in cols]
    if heads is None:
        heads = [
            ESTIMATOR_NAMES.get(c.estimator, c.estimator)
            if isinstance(c, Results)
            else (getattr(c, "name", "") or "Posterior")
            for c in cols
        ]
    fes: list[str] = []
    for c in cols:
        fes += [
            f
            for f in (getattr(c, "__maketables_fixef_string__", None) or "").split("+")
            if f and f not in fes
        ]
    felabels = {f: esc(f"FE: {FE_LABELS.get(f, f)}") for f in fes}
    stat_keys = [
        k
        for k in ("N", "r2", "ll")
        if any(
            c.__maketables_stat__(k) is not None for c in cols if hasattr(c, "__maketables_stat__")
        )
    ]
    stat_labels = {"N": "Observations", "r2": "R-squared", "ll": "Log-likelihood"}
    custom: dict[str, list[Any]] = {}
    if any(isinstance(c, Results) and c.sample != "all" for c in cols):
        custom["Sample"] = [esc(c.sample) if isinstance(c, Results) else "" for c in cols]
    free = [
        s
        for c in cols
        if not isinstance(c, Results)
        for s in getattr(c, "stats", {})
        if s not in _STAT_KEYS.values() and s not in _STAT_KEYS
    ]
    for s in dict.fromkeys(free):
        custom[esc(s)] = [
            esc(getattr(c, "stats", {}).get(s, "")) if not isinstance(c, Results) else ""
            for c in cols
        ]
    order_labels: list[str] = []
    if order is not None:
        for t in order:
            for c in cols:
                lb = esc(label_of(c, t))
                if lb not in order_labels:
                    order_labels.append(lb)
    fmt = f"b:.{digits}f* \n (se:.{digits}f)"
    et = mt.ETable(
        views,
        coef_fmt=fmt,
        model_stats=stat_keys,
        model_stats_labels=stat_labels,
        custom_model_stats=custom or None,
        stats_order="sc",
        labels={},
        cat_template="",
        felabels=felabels,
        order=order_labels or None,
        keep=[re.escape(x) for x in order_labels] or None,
        exact_match=False,
        model_heads=[esc(h) for h in heads],
        head_order="dh",
        caption=esc(title) if title else None,
        notes=esc(se_note(cols)),
    )
    # interval columns: estimate over [lower, upper] (maketables' format has one SE slot);
    # in LaTeX "\\[" would read as a line break with a length, hence {[}
    lb, rb = ("{[}", "{]}") if to == "latex" else ("[", "]")
    for j, c in enumerate(cols):
        ct = c.__maketables_coef_table__
        if not ct["ci95l"].notna().any() or ct["se"].notna().any():
            continue
        colname = et.df.columns[j]
        col = et.df[colname].astype(object)
        for term, row in ct.iterrows():
            key = ("coef", views[j].label_of(term))
            if key in col.index:
                col[key] = (
                    f"{row['b']:.{digits}f}\n{lb}{row['ci95l']:.{digits}f}, "
                    f"{row['ci95u']:.{digits}f}{rb}"
                ).replace("\\n", "\n")
        et.df[colname] = col
    if to == "maketables":
        return et
    if to == "latex":
        return et.make("tex", tex_style={"tab_width": None})
    return et.make("html")


class _Relabeled:
    """A column with its coefficient names replaced by display labels (maketables
    would otherwise write raw names such as ``log_dva`` into LaTeX)."""

    def __init__(self, col: Any, label_of: Any) -> None:
        self._col = col
        self.label_of = label_of

    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        ct = self._col.__maketables_coef_table__.copy()
        ct.index = pd.Index([self.label_of(t) for t in ct.index], name="Coefficient")
        return ct[~ct.index.duplicated()]

    def __maketables_stat__(self, key: str) -> Any:
        f = getattr(self._col, "__maketables_stat__", None)
        return f(key) if f is not None else None

    @property
    def __maketables_depvar__(self) -> str:
        return self.label_of(getattr(self._col, "__maketables_depvar__", ""))

    @property
    def __maketables_fixef_string__(self) -> str | None:
        return getattr(self._col, "__maketables_fixef_string__", None)

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return getattr(self._col, "__maketables_vcov_info__", {}) or {}


def _plain_table(
    results: list[Results],
    labels: Mapping[str, str] | None,
    to: str,
    column_names: Sequence[str] | None,
    extra_columns: Mapping[str, ExtraColumn] | None,
    extra_stats: Mapping[str, Mapping[str, Any]] | None,
    order: Sequence[str] | None,
    digits: int,
    title: str | None,
) -> str | pd.DataFrame:
    """Markdown or a DataFrame of cells (the layout of the LaTeX/HTML table)."""
    extra_columns = dict(extra_columns or {})
    extra_stats = dict(extra_stats or {})
    if not results and not extra_columns:
        raise StructestError("regression_table needs at least one result or extra column")
    n_res = len(results)
    heads = (
        list(column_names)
        if column_names is not None
        else [
            f"({k + 1}) {ESTIMATOR_NAMES.get(r.estimator, r.estimator)}"
            for k, r in enumerate(results)
        ]
    )
    if len(heads) != n_res:
        raise StructestError(f"{len(heads)} column names for {n_res} results")
    heads += list(extra_columns)

    user = dict(labels or {})

    def label_of(r: Results | None, t: str) -> str:
        if t in user:
            return user[t]
        return r.label(t) if r is not None else LABELS.get(t, t)

    # rows are (term, label): one term shown under two labels (e.g. log_ip_ratio, which is
    # g_IP alone or g_IP + g_FVA depending on the fixed effects) gets two rows
    names: list[str] = list(order) if order is not None else []
    if order is None:
        for r in results:
            names += [t for t in r.params.index if t not in names]
        for coef, _ in extra_columns.values():
            names += [t for t in coef.index if t not in names]
    keys: list[tuple[str, str]] = []
    for t in names:
        labs = [label_of(r, t) for r in results if t in r.params.index]
        labs = labs or [label_of(None, t)]
        keys += [(t, lb) for lb in dict.fromkeys(labs) if (t, lb) not in keys]

    rows: list[tuple[str, list[str]]] = []
    for t, lb in keys:
        coef_cells, se_cells = [], []
        for r in results:
            if t in r.params.index and label_of(r, t) == lb and np.isfinite(r.params[t]):
                coef_cells.append(_fmt(r.params[t], digits) + stars(float(r.pvalues[t])))
                se_cells.append(f"({_fmt(r.se[t], digits)})")
            else:
                coef_cells.append("")
                se_cells.append("")
        first_label = next((k[1] for k in keys if k[0] == t), lb)
        for name, (coef, unc) in extra_columns.items():
            u = _interval(unc, name)
            if t in coef.index and lb == first_label:
                coef_cells.append(_fmt(float(coef[t]), digits))
                kind = u.get(t)
                if kind is None:
                    se_cells.append("")
                elif kind[0] == "se":
                    se_cells.append(f"({_fmt(kind[1], digits)})")
                else:
                    se_cells.append(f"[{_fmt(kind[1], digits)}, {_fmt(kind[2], digits)}]")
            else:
                coef_cells += [""]
                se_cells += [""]
        rows.append((lb, coef_cells))
        rows.append(("", se_cells))

    def stat_row(name: str, values: list[str]) -> None:
        extras = [str(extra_stats.get(c, {}).get(name, "")) for c in extra_columns]
        rows.append((name, values + extras))

    stat_row("Observations", [f"{r.nobs:,}" for r in results])
    if any(r.r2 is not None for r in results):
        stat_row("R-squared", [_fmt(r.r2, 3) if r.r2 is not None else "" for r in results])
    if any(r.loglik is not None for r in results):
        stat_row(
            "Log-likelihood", [_fmt(r.loglik, 1) if r.loglik is not None else "" for r in results]
        )
    fes: list[str] = []
    for r in results:
        fes += [f for f in r.fe if f not in fes]
    for fe in fes:
        stat_row(f"FE: {FE_LABELS.get(fe, fe)}", ["Y" if fe in r.fe else "N" for r in results])
    if any(r.sample != "all" for r in results):
        stat_row("Sample", [r.sample for r in results])
    names_extra = {k for s in extra_stats.values() for k in s} - {
        "Observations",
        "R-squared",
        "Log-likelihood",
        *(f"FE: {FE_LABELS.get(f, f)}" for f in fes),
        "Sample",
    }
    for name in sorted(names_extra):
        stat_row(name, [""] * n_res)

    index = [r[0] for r in rows]
    body = [r[1] for r in rows]
    if to == "frame":
        return pd.DataFrame(body, index=pd.Index(index, name=""), columns=heads)
    note = se_note([*results, *(_NoteColumn() for _ in extra_columns)])
    return _markdown(index, body, heads, title, note)


def markdown_grid(index: Sequence[Any], body: Sequence[Sequence[Any]], heads: Sequence[Any]) -> str:
    """A Markdown table: a header row of ``heads``, then one row per ``index`` entry with
    its ``body`` cells (right-aligned columns)."""
    lines = ["| | " + " | ".join(map(str, heads)) + " |", "|---|" + "---:|" * len(heads)]
    for name, cells in zip(index, body, strict=True):
        lines.append(f"| {name} | " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


class _NoteColumn:
    """Stands for an extra column in :func:`se_note`."""

    interval_level = None


def _markdown(
    index: list[str], body: list[list[str]], heads: list[str], title: str | None, note: str
) -> str:
    lines = [f"**{title}**", ""] if title else []
    lines.append(markdown_grid(index, body, heads))
    lines.append("")
    lines.append(note)
    return "\n".join(lines)


def _tex(s: str) -> str:
    """LaTeX-safe text (specials escaped, ``$...$`` math kept)."""
    from .maketables_plugin import tex_escape

    return tex_escape(s)


# ---------------------------------------------------------------- structest beside the paper
def _num(v: Any, digits: int | None = None) -> str:
    """A number as printed in a comparison (``g`` format unless ``digits``)."""
    if v is None or pd.isna(v):
        return ""
    v = float(v)
    return f"{v:.{digits}f}" if digits is not None else f"{v:g}"


def _stat_cell(term: str, v: Any) -> str:
    if v is None or pd.isna(v):
        return ""
    if term == "nobs":
        return f"{int(round(float(v))):,}"
    return _num(v, 3 if term == "r2" else 2)


def paper_comparison_table(
    cmp: pd.DataFrame, to: str = "markdown", *, title: str | None = None, digits: int = 3
) -> str | pd.DataFrame:
    """structest's estimates beside the paper's, one row per number of the paper.

    Parameters
    ----------
    cmp
        The output of :func:`structest.reduced.paper.compare_to_paper`.
    to
        ``"markdown"``, ``"latex"`` or ``"frame"``.
    title
        Optional caption.
    digits
        Decimals of structest's estimates (the paper's are shown as printed).

    Returns
    -------
    str or DataFrame
        Rows: the coefficients and statistics (``nobs``, ``r2``, weak-IV) of each
        estimated column; below the table (text formats), one line per column that was
        not estimated, with the reason, and the counts of same signs and of estimates
        within two paper SEs.
    """
    if to not in ("markdown", "latex", "frame"):
        raise StructestError(f"to must be 'markdown', 'latex' or 'frame', got {to!r}")
    need = {"table", "column", "spec", "term", "kind", "paper_label", "paper_coef", "paper_se"}
    if not isinstance(cmp, pd.DataFrame) or not need <= set(cmp.columns):
        raise StructestError(
            "paper_comparison_table takes the DataFrame of compare_to_paper (columns "
            f"{sorted(need)})"
        )
    heads = ["Column", "Term", "Paper label", "structest", "Paper", "Same sign", "Within 2 SE"]
    index: list[str] = []
    body: list[list[str]] = []
    skipped: dict[str, str] = {}
    for _, r in cmp.iterrows():
        status = str(r.get("status", "estimated"))
        col = f"({r['column']})" if not r.get("panel") else f"({r['column']}) {r['panel']}"
        if not status.startswith("estimated") and status not in (
            "coefficient dropped as collinear",
            "coefficient not in the formula",
            "not computed by structest",
        ):
            skipped.setdefault(col, status)
            continue
        term = str(r["term"])
        printed = r.get("paper_printed")
        if r["kind"] == "stat":
            ours = _stat_cell(term, r.get("coef"))
            paper = printed if isinstance(printed, str) else _stat_cell(term, r["paper_coef"])
        else:
            p = r.get("p")
            star = stars(float(p)) if p is not None and not pd.isna(p) else ""
            ours = (
                f"{_num(r['coef'], digits)}{star} ({_num(r['se'], digits)})"
                if not pd.isna(r.get("coef"))
                else ""
            )
            pstars = r.get("paper_stars")
            pst = "*" * int(pstars) if pstars is not None and not pd.isna(pstars) else ""
            paper = (
                printed
                if isinstance(printed, str)
                else f"{_num(r['paper_coef'])}{pst} ({_num(r['paper_se'])})"
            )
        if status not in ("estimated",):
            ours = f"{ours} [{status}]".strip()

        def yes(v: Any) -> str:
            return "" if v is None or pd.isna(v) else ("yes" if bool(v) else "no")

        index.append(col)
        body.append(
            [
                term,
                str(r["paper_label"]),
                ours,
                paper,
                yes(r.get("same_sign")),
                yes(r.get("within_2se")),
            ]
        )
    if to == "frame":
        return pd.DataFrame(body, index=pd.Index(index, name="Column"), columns=heads[1:])
    coef = cmp[(cmp["kind"] == "coef") & (cmp["status"] == "estimated")]
    n_all = int((cmp["kind"] == "coef").sum())
    n = len(coef)
    same = int(coef["same_sign"].fillna(False).sum()) if n else 0
    within = int(coef["within_2se"].fillna(False).sum()) if n else 0
    tail = [f"column {c} not estimated: {why}" for c, why in skipped.items()]
    tail.append(
        f"same sign as the paper: {same}/{n}; within 2 paper SEs of the paper's estimate: "
        f"{within}/{n} (coefficients estimated, of {n_all} in the paper)"
    )
    if to == "markdown":
        lines = [f"**{title}**", ""] if title else []
        lines.append(markdown_grid(index, body, heads[1:]).replace("| |", "| Column |", 1))
        lines.append("")
        lines.append(
            "structest: coefficient (clustered SE), stars * p<.1, ** p<.05, *** p<.01; paper: "
            "as printed. Within 2 SE: |structest - paper| <= 2 x the paper's SE."
        )
        lines.extend(tail)
        return "\n".join(lines)
    out = ["\\begin{table}[htbp]", "\\centering"]
    if title:
        out.append(f"\\caption{{{_tex(title)}}}")
    out += ["\\begin{tabular}{lllcccc}", "\\toprule"]
    out.append(" & ".join(_tex(h) for h in heads) + " \\\\")
    out.append("\\midrule")
    for name, cells in zip(index, body, strict=True):
        out.append(_tex(name) + " & " + " & ".join(_tex(c) for c in cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    out.append("\\par\\footnotesize " + " \\\\ ".join(_tex(t) for t in tail))
    out.append("\\end{table}")
    return "\n".join(out)
