"""Formulas (pyfixest syntax), the paper's named specifications and sample rules.

A formula is ``"dep ~ x1 + x2 | fe1 + fe2 | endog ~ inst1 + inst2"``; the fixed-effect
part and the instrumental-variable part are optional (``"dep ~ x | endog ~ z"`` is an IV
formula without fixed effects). It is the single interface of every estimator.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from ..errors import SpecError

#: Named specifications of the paper (Blanchard, Bown & Johnson 2016).
#:
#: - ``eq16``: eq. 16 with importer-industry-year FE (Table 2 panel B col. 5, Table 3).
#: - ``eq16_decile``: eq. 16 with importer-industry-year x import-decile FE (Table 2 panel A).
#: - ``eq16_rta``: eq. 16 plus the RTA level effect (Table 2 col. 6).
#: - ``eq17``: eq. 17, DVA slopes outside / inside RTAs (Table 2 col. 7).
#: - ``eq17_decile``: eq. 17 with decile FE (Table 2 col. 3).
#: - ``eq19``: eq. 19 in tariff preferences with importer-industry, importer-year,
#:   industry-year and exporter-industry-year FE (Table 5 col. 1).
#: - ``eq19_iiy``: eq. 19 with importer-industry-year FE; FG and FVA are absorbed so the
#:   coefficient on ``log_ip_ratio`` is ``g_IP + g_FVA`` (Table 5 col. 2).
#: - ``eq19_rta``: eq. 19 with coefficients outside / inside RTAs (Table 6 panel A col. 1).
#: - ``eq19_rta_iiy``: Table 6 panel A col. 2: with importer-industry-year FE the paper
#:   regresses on ``log_ip_ratio`` + RTA x ln(FVA/IM) + RTA x ln(FG/IM); the coefficient on
#:   ``log_ip_ratio`` is ``g_IP + g_FVA`` outside RTAs and those on ``log_fva_ratio_rta`` and
#:   ``log_ip_ratio_rta`` are the inside-minus-outside differences of ``g_FVA`` and ``g_IP``.
#:   (Until issue 15 this spec left RTA x ln(FVA/IM) out, which is not absorbed by the
#:   effects, and labelled RTA x ln(FG/IM) as ``g_IP + g_FVA`` inside RTAs.)
#: - ``gsp``: eq. 16 split by GSP eligibility; default sample ``"nonrta"`` (Table 4 panel A
#:   col. 2; :data:`SPEC_DEFAULTS`).
#: - ``eq16_iv``: eq. 16 instrumenting log DVA with DVA-in-services (Table 3 panel B uses
#:   the non-RTA sample: ``table3_col5``; this name keeps the full-sample default).
#: - ``ttb``: temporary-trade-barrier coverage ratio on value-added ratios (Table 7 col. 1;
#:   with one importer FVA and FG are not separately identified: see ``table7_col2``).
#:
#: Every column of the paper's Tables 2-7 and C1-C3 is a named spec too
#: (``table2_col1`` ... ``tableC3_col8``, with its estimator, sample, cluster and options):
#: :data:`structest.reduced.paper.PAPER_SPECS`.
SPECS: dict[str, str] = {
    "eq16": "tariff ~ log_dva | imp_ind_year + exp_ind_year",
    "eq16_decile": "tariff ~ log_dva | imp_ind_year_decile + exp_ind_year",
    "eq16_rta": "tariff ~ log_dva + rta | imp_ind_year + exp_ind_year",
    "eq17": "tariff ~ rta + log_dva_nonrta + log_dva_rta | imp_ind_year + exp_ind_year",
    "eq17_decile": "tariff ~ rta + log_dva_nonrta + log_dva_rta | imp_ind_year_decile + exp_ind_year",
    "eq19": (
        "preference ~ log_dva_ratio + log_fva_ratio + log_ip_ratio + rta"
        " | imp_ind + imp_year + ind_year + exp_ind_year"
    ),
    "eq19_iiy": "preference ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year + exp_ind_year",
    "eq19_rta": (
        "preference ~ log_dva_ratio_nonrta + log_dva_ratio_rta + log_fva_ratio_nonrta"
        " + log_fva_ratio_rta + log_ip_ratio_nonrta + log_ip_ratio_rta + rta"
        " | imp_ind + imp_year + ind_year + exp_ind_year"
    ),
    "eq19_rta_iiy": (
        "preference ~ log_dva_ratio_nonrta + log_dva_ratio_rta + log_ip_ratio"
        " + log_fva_ratio_rta + log_ip_ratio_rta + rta | imp_ind_year + exp_ind_year"
    ),
    "gsp": "tariff ~ log_dva_nongsp + log_dva_gsp + gsp | imp_ind_year + exp_ind_year",
    "eq16_iv": "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
    "ttb": (
        "ttb ~ log_dva_ratio + log_fva_ratio + log_ip_ratio + rta"
        " | imp_ind + imp_year + ind_year + exp_ind_year"
    ),
}

#: Defaults of the named specs in :data:`SPECS` other than the library's (estimator
#: ``"ols"``, sample ``"all"``, cluster ``"pair"``); an explicit argument of
#: :func:`~structest.reduced.fit_reduced_form` always wins. ``gsp`` is Table 4 panel A,
#: estimated in the non-RTA sample by the paper.
SPEC_DEFAULTS: dict[str, dict[str, object]] = {
    "gsp": {"sample": "nonrta"},
    # the paper clusters Table 7 by importer-exporter-industry (its footnote 52)
    "ttb": {"cluster": "imp_exp_ind"},
    # an IV formula: its own estimator by default
    "eq16_iv": {"estimator": "iv"},
}

#: Human-readable labels of regressors (used by tables and summaries).
LABELS: dict[str, str] = {
    "log_dva": "Log DVA",
    "log_dva_nonrta": "Log DVA outside RTAs",
    "log_dva_rta": "Log DVA inside RTAs",
    "log_dva_nongsp": "Log DVA (GSP ineligible)",
    "log_dva_gsp": "Log DVA (GSP eligible)",
    "gsp": "GSP eligible",
    "rta": "Reciprocal trade agreement",
    "log_dva_ratio": "Log DVA-ratio",
    "log_fva_ratio": "Log FVA-ratio",
    "log_ip_ratio": "Log inv. IP-ratio",
    "log_dva_ratio_nonrta": "Log DVA-ratio outside RTAs",
    "log_dva_ratio_rta": "Log DVA-ratio inside RTAs",
    "log_fva_ratio_nonrta": "Log FVA-ratio outside RTAs",
    "log_fva_ratio_rta": "Log FVA-ratio inside RTAs",
    "log_ip_ratio_nonrta": "Log inv. IP-ratio outside RTAs",
    "log_ip_ratio_rta": "Log inv. IP-ratio inside RTAs",
    "log_imports": "Log bilateral FG imports",
    "log_dist": "Log distance",
    "colony": "Colony",
    "comlang": "Common language",
    "contig": "Contiguity",
    "rta_broad": "Reciprocal trade agreement (broad)",
    "log_dva_nonrta_broad": "Log DVA outside RTAs (broad)",
    "log_dva_rta_broad": "Log DVA inside RTAs (broad)",
    "log_dva_ratio_china": "Log DVA-ratio x exporter = China",
    "log_dva_ratio_nonchina": "Log DVA-ratio x exporter != China",
    "log_fva_ratio_china": "Log FVA-ratio x exporter = China",
    "log_fva_ratio_nonchina": "Log FVA-ratio x exporter != China",
}

#: Labels of fixed-effect keys (rows of the "fixed effects" block of tables).
FE_LABELS: dict[str, str] = {
    "imp_ind_year_decile": "Importer-industry-year-decile",
    "imp_ind_year": "Importer-industry-year",
    "exp_ind_year": "Exporter-industry-year",
    "imp_ind": "Importer-industry",
    "imp_year": "Importer-year",
    "ind_year": "Industry-year",
    "exp_ind": "Exporter-industry",
    "exp_year": "Exporter-year",
    "pair": "Importer-exporter",
}

#: Sample rules: name -> (mask function, reason recorded for the dropped rows).
SAMPLES: dict[str, tuple[Callable[[pd.DataFrame], np.ndarray] | None, str]] = {
    "all": (None, ""),
    "nonrta": (lambda d: _col(d, "rta") == 0, "sample 'nonrta': RTA in force"),
    "rta": (lambda d: _col(d, "rta") == 1, "sample 'rta': no RTA in force"),
    "nonrta_gsp": (
        lambda d: (_col(d, "rta") == 0) & (_col(d, "gsp") == 1),
        "sample 'nonrta_gsp': RTA in force or not GSP eligible",
    ),
    "nonrta_nongsp": (
        lambda d: (_col(d, "rta") == 0) & (_col(d, "gsp") == 0),
        "sample 'nonrta_nongsp': RTA in force or GSP eligible",
    ),
    "nonrta_broad": (
        lambda d: _col(d, "rta_broad") == 0,
        "sample 'nonrta_broad': RTA in force (broad definition)",
    ),
}

#: Columns each sample rule reads (carried into the estimation sample).
SAMPLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "all": (),
    "nonrta": ("rta",),
    "rta": ("rta",),
    "nonrta_gsp": ("rta", "gsp"),
    "nonrta_nongsp": ("rta", "gsp"),
    "nonrta_broad": ("rta_broad",),
}


def _col(d: pd.DataFrame, name: str) -> np.ndarray:
    if name not in d.columns:
        raise SpecError(f"the sample rule needs column '{name}', which the panel lacks")
    return d[name].to_numpy(dtype=float)


# ---------------------------------------------------------------- the formula whitelist
#: The forms a formula may use (quoted in every refusal).
ALLOWED_FORMS = (
    "allowed: column names, numbers, I(<arithmetic with + - * / ** on columns>), log(x), "
    "exp(x), np.log(x), np.exp(x), C(col), i(col), i(col, col2, ref=<number>), a:b "
    "interactions, 1 / 0 / -1 (intercept), and a^b interactions in the fixed-effect part"
)
#: Longest formula accepted (characters).
MAX_FORMULA_LEN = 2000
#: Largest absolute exponent in ``I(x ** p)``.
MAX_POWER = 100.0

#: Functions allowed inside arithmetic (and as terms), with their NumPy equivalents.
_MATH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": np.log,
    "exp": np.exp,
    "np.log": np.log,
    "np.exp": np.exp,
}
#: Functions allowed only as (factors of) terms.
_TERM_FUNCS = {"I", "C", "i"}
_I_KEYWORDS = {"ref", "ref2"}
_OPS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitXor: "^",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
_ARITH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
#: Characters refused anywhere in a formula, with what they are.
_BAD_CHARS: dict[str, str] = {
    "`": "backtick '`'",
    ";": "semicolon ';'",
    "'": 'string quote "\'" (string literals)',
    '"': "string quote '\"' (string literals)",
    "\\": "backslash '\\'",
    "#": "comment sign '#'",
    "[": "subscript bracket '['",
    "]": "subscript bracket ']'",
    "{": "brace '{'",
    "}": "brace '}'",
    "@": "'@'",
    "$": "'$'",
    "!": "'!'",
    "?": "'?'",
}


def _show(text: str, limit: int = 200) -> str:
    """The formula quoted for a one-line message (control characters escaped, truncated)."""
    out = "".join(c if c.isprintable() and ord(c) < 128 else ascii(c)[1:-1] for c in text)
    if len(out) > limit:
        out = out[:limit] + "..."
    return f"'{out}'"


def _refuse(text: str, problem: str) -> NoReturn:
    """Raise the one-line :class:`SpecError` of a formula that breaks the whitelist."""
    raise SpecError(f"formula {_show(text)}: {problem}; {ALLOWED_FORMS}")


def _piece(node: ast.AST, limit: int = 80) -> str:
    """Source of an AST node for a message."""
    try:
        src = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        src = type(node).__name__
    return src if len(src) <= limit else src[:limit] + "..."


def _describe(node: ast.AST) -> str:
    """What a refused AST node is, in words."""
    if isinstance(node, ast.Attribute):
        return f"attribute access '{_piece(node)}'"
    if isinstance(node, ast.Subscript):
        return f"subscript '{_piece(node)}'"
    if isinstance(node, ast.Lambda):
        return f"lambda '{_piece(node)}'"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str | bytes):
            return f"string literal {_piece(node)}"
        return f"constant '{_piece(node)}'"
    if isinstance(node, ast.NamedExpr):
        return f"assignment expression ':=' in '{_piece(node)}'"
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return f"comprehension '{_piece(node)}'"
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        return f"container literal '{_piece(node)}'"
    if isinstance(node, ast.Compare):
        return f"comparison '{_piece(node)}'"
    if isinstance(node, ast.BoolOp):
        return f"boolean operator in '{_piece(node)}'"
    if isinstance(node, ast.IfExp):
        return f"conditional expression '{_piece(node)}'"
    if isinstance(node, ast.Starred):
        return f"star argument '{_piece(node)}'"
    if isinstance(node, ast.JoinedStr | ast.FormattedValue):
        return f"f-string '{_piece(node)}'"
    if isinstance(node, ast.BinOp):
        return f"operator '{_OPS.get(type(node.op), type(node.op).__name__)}' in '{_piece(node)}'"
    if isinstance(node, ast.UnaryOp):
        return f"unary operator in '{_piece(node)}'"
    if isinstance(node, ast.Call):
        return f"call '{_piece(node)}'"
    return f"expression '{_piece(node)}' ({type(node).__name__})"


def _check_chars(text: str) -> None:
    if len(text) > MAX_FORMULA_LEN:
        _refuse(text, f"longer than {MAX_FORMULA_LEN} characters")
    for c in text:
        if c in _BAD_CHARS:
            _refuse(text, f"{_BAD_CHARS[c]} is not allowed")
        if c in "\n\r":
            _refuse(text, "line breaks are not allowed")
        if not (c.isprintable() or c == "\t") or ord(c) > 126:
            _refuse(text, f"character {ascii(c)} is not allowed (ASCII only)")


def _split_top(text: str, seps: str, whole: str) -> list[tuple[str, str]]:
    """Split ``text`` at the characters in ``seps`` outside parentheses.

    Returns ``(separator before the piece, piece)`` pairs (the first separator is ``""``).
    """
    out: list[tuple[str, str]] = []
    depth, start, sep = 0, 0, ""
    for k, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                _refuse(whole, f"unbalanced parentheses in {_show(text.strip(), 80)}")
        elif depth == 0 and ch in seps:
            out.append((sep, text[start:k]))
            sep, start = ch, k + 1
    if depth != 0:
        _refuse(whole, f"unbalanced parentheses in {_show(text.strip(), 80)}")
    out.append((sep, text[start:]))
    return out


def _parse_expr(src: str, whole: str) -> ast.expr:
    try:
        return ast.parse(src.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        _refuse(whole, f"cannot parse {_show(src.strip(), 80)}")


def _check_name(node: ast.Name, whole: str) -> str:
    if node.id.startswith("__") or node.id.endswith("__"):
        _refuse(whole, f"dunder name '{node.id}' is not allowed")
    return node.id


def _func_name(node: ast.Call, whole: str) -> str:
    """Name of the called function (``np.log`` for attributes of ``np``) or a refusal."""
    func = node.func
    if isinstance(func, ast.Name):
        _check_name(func, whole)
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "np"
        and f"np.{func.attr}" in _MATH
    ):
        return f"np.{func.attr}"
    if isinstance(func, ast.Attribute):
        _refuse(whole, f"{_describe(func)} is not allowed")
    _refuse(whole, f"call of '{_piece(func)}' is not allowed")


def _number(node: ast.expr) -> float | None:
    """Value of a numeric literal (optionally signed), else None."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        v = node.value
        if isinstance(v, int) and abs(v) >= 2**63:
            return None
        v = float(v)
        return sign * v if np.isfinite(v) else None
    return None


def _has_column(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _check_args(node: ast.Call, whole: str, fname: str, n_min: int, n_max: int) -> None:
    n = len(node.args)
    if not n_min <= n <= n_max:
        want = str(n_min) if n_min == n_max else f"{n_min} or {n_max}"
        _refuse(whole, f"'{_piece(node)}': {fname}() takes {want} argument(s), got {n}")
    for a in node.args:
        if isinstance(a, ast.Starred):
            _refuse(whole, f"{_describe(a)} is not allowed")
    allowed = _I_KEYWORDS if fname == "i" else set()
    for kw in node.keywords:
        if kw.arg is None or kw.arg not in allowed:
            what = "**" + _piece(kw.value) if kw.arg is None else kw.arg
            _refuse(whole, f"keyword '{what}' of {fname}() is not allowed in '{_piece(node)}'")
        if _number(kw.value) is None:
            _refuse(
                whole,
                f"{fname}(..., {kw.arg}=...) takes a number, got {_describe(kw.value)}",
            )


def _check_arith(node: ast.expr, whole: str) -> None:
    """An arithmetic expression: columns, numbers, + - * / **, log/exp."""
    if isinstance(node, ast.Name):
        _check_name(node, whole)
    elif isinstance(node, ast.Constant):
        if _number(node) is None:
            _refuse(whole, f"{_describe(node)} is not allowed")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check_arith(node.operand, whole)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH_OPS):
        if isinstance(node.op, ast.Pow):
            p = _number(node.right)
            if p is None or abs(p) > MAX_POWER or not _has_column(node.left):
                _refuse(
                    whole,
                    f"power '{_piece(node)}' needs a column expression as base and a number "
                    f"(at most {MAX_POWER:g} in absolute value) as exponent",
                )
        else:
            _check_arith(node.right, whole)
        _check_arith(node.left, whole)
    elif isinstance(node, ast.Call):
        fname = _func_name(node, whole)
        if fname not in _MATH and fname != "I":
            _refuse(whole, f"call of '{fname}()' is not allowed inside an expression")
        _check_args(node, whole, fname, 1, 1)
        _check_arith(node.args[0], whole)
    else:
        _refuse(whole, f"{_describe(node)} is not allowed")


def _check_factor(node: ast.expr, whole: str) -> None:
    """One factor of a right-hand-side term (the pieces of ``a:b``)."""
    if isinstance(node, ast.Name):
        _check_name(node, whole)
        return
    if isinstance(node, ast.Call):
        fname = _func_name(node, whole)
        if fname == "I":
            _check_args(node, whole, fname, 1, 1)
            _check_arith(node.args[0], whole)
        elif fname in _MATH:
            _check_args(node, whole, fname, 1, 1)
            _check_arith(node.args[0], whole)
        elif fname in ("C", "i"):
            _check_args(node, whole, fname, 1, 1 if fname == "C" else 2)
            for a in node.args:
                if not isinstance(a, ast.Name):
                    _refuse(
                        whole,
                        f"{fname}() takes column names, got {_describe(a)} in '{_piece(node)}'",
                    )
                _check_name(a, whole)
        else:
            _refuse(whole, f"call of '{fname}()' is not allowed")
        return
    if isinstance(node, ast.Constant) and _number(node) is not None:
        _refuse(
            whole,
            f"constant '{_piece(node)}' is not a term (only 1, 0 and -1, alone, set the intercept)",
        )
    if isinstance(node, ast.BinOp | ast.UnaryOp) and (
        isinstance(node, ast.UnaryOp) or isinstance(node.op, _ARITH_OPS)
    ):
        _refuse(
            whole,
            f"arithmetic outside I() in '{_piece(node)}': write I({_piece(node)}) for "
            "arithmetic, or a:b for an interaction",
        )
    _refuse(whole, f"{_describe(node)} is not allowed")


def _factors(term: str, whole: str) -> list[ast.expr]:
    """The parsed and checked factors of a right-hand-side term ``a:b:...``."""
    out = []
    for _, piece in _split_top(term, ":", whole):
        if not piece.strip():
            _refuse(whole, f"empty factor in term '{term.strip()}'")
        node = _parse_expr(piece, whole)
        _check_factor(node, whole)
        out.append(node)
    return out


def _check_term(term: str, whole: str) -> str:
    """Check a right-hand-side term; return it normalised (formulaic's spelling)."""
    return ":".join(ast.unparse(n) for n in _factors(term, whole))


def _check_column_name(src: str, whole: str, what: str) -> str:
    """A piece that must be a plain column name (dependent variable, FE, IV parts)."""
    if not src.strip():
        _refuse(whole, f"empty {what}")
    node = _parse_expr(src, whole)
    if not isinstance(node, ast.Name):
        _refuse(whole, f"{what} '{src.strip()}' must be a column name, got {_describe(node)}")
    return _check_name(node, whole)


def _check_fe_term(term: str, whole: str) -> str:
    parts = term.split("^")
    names = [_check_column_name(p, whole, "fixed effect") for p in parts]
    return "^".join(names)


def _factor_columns(node: ast.expr) -> list[str]:
    """Columns referenced by a checked factor (function names excluded)."""
    funcs = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    funcs |= {
        id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute) and id(n) in funcs
    }
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in funcs]


@dataclass(frozen=True)
class Formula:
    """A parsed formula.

    Attributes
    ----------
    text
        The formula as written.
    depvar
        Dependent variable.
    exog
        Exogenous right-hand-side terms, normalised (``"1"``, ``"0"`` and ``"-1"`` removed).
    fe
        Fixed-effect terms (``a^b`` interactions allowed).
    endog
        Endogenous regressors (IV part), empty for OLS/Tobit.
    instruments
        Excluded instruments (IV part).
    intercept
        Whether an explicit ``1`` was on the right-hand side (only meaningful without FE).
    no_intercept
        Whether ``0`` or ``-1`` removed the intercept (only meaningful without FE).
    """

    text: str
    depvar: str
    exog: tuple[str, ...]
    fe: tuple[str, ...]
    endog: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    intercept: bool = False
    no_intercept: bool = False

    @property
    def is_iv(self) -> bool:
        """True when the formula has an IV part."""
        return bool(self.endog)

    @property
    def regressors(self) -> tuple[str, ...]:
        """Coefficient names in output order: exogenous terms, then endogenous ones."""
        return (*self.exog, *self.endog)

    def validate(self) -> None:
        """Check every piece against the whitelist again (:class:`SpecError` if one fails).

        Formulas from :func:`parse` pass; this guards hand-built :class:`Formula` objects
        before they reach pyfixest/formulaic.
        """
        _check_chars(self.text)
        whole = self.text
        _check_column_name(self.depvar, whole, "dependent variable")
        for term in self.exog:
            _check_term(term, whole)
        for name in self.endog:
            _check_column_name(name, whole, "endogenous variable")
        for name in self.instruments:
            _check_column_name(name, whole, "instrument")
        for term in self.fe:
            _check_fe_term(term, whole)

    def columns(self) -> list[str]:
        """Every data column the formula refers to (FE interactions split)."""
        cols: list[str] = [self.depvar]
        for term in (*self.exog, *self.endog, *self.instruments):
            cols.extend(term_columns(term))
        for term in self.fe:
            cols.extend(term.split("^"))
        return list(dict.fromkeys(c.strip() for c in cols))

    def categorical_columns(self) -> tuple[set[str], set[str]]:
        """Columns used as categories: ``(always, if_not_numeric)``.

        ``always``: fixed-effect columns and the arguments of ``C()`` and the first argument
        of ``i()``; ``if_not_numeric``: the second argument of ``i()`` (a continuous
        interaction when numeric, categorical otherwise).
        """
        always = {c.strip() for t in self.fe for c in t.split("^")}
        maybe: set[str] = set()
        for term in self.exog:
            for node in _factors(term, self.text):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    names = [a.id for a in node.args if isinstance(a, ast.Name)]
                    if node.func.id == "C":
                        always.update(names)
                    elif node.func.id == "i":
                        always.update(names[:1])
                        maybe.update(names[1:])
        return always, maybe - always

    def factor_columns(self) -> list[tuple[str, str]]:
        """Columns turned into categories, as ``(column, how)`` pairs, each once.

        ``how`` is ``"C(col)"``, ``"i(col)"`` (the first argument of ``i()``) or
        ``"fixed effect 'term'"``; the second argument of ``i()`` is not listed (it is a
        slope when numeric).
        """
        out: dict[str, str] = {}
        for term in self.exog:
            for node in _factors(term, self.text):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id == "C":
                    for a in node.args:
                        if isinstance(a, ast.Name):
                            out.setdefault(a.id, f"C({a.id})")
                elif node.func.id == "i" and node.args and isinstance(node.args[0], ast.Name):
                    out.setdefault(node.args[0].id, f"i({node.args[0].id})")
        for term in self.fe:
            for c in term.split("^"):
                out.setdefault(c.strip(), f"fixed effect '{term}'")
        return list(out.items())

    def computed_factors(self) -> list[tuple[str, ast.expr]]:
        """Factors of the exogenous terms computed from columns (``I()``, ``log``, ``exp``).

        Returns ``(source, node)`` pairs, each once.
        """
        out: dict[str, ast.expr] = {}
        for term in self.exog:
            for node in _factors(term, self.text):
                if isinstance(node, ast.Call) and _call_name(node) not in ("C", "i"):
                    out.setdefault(ast.unparse(node), node)
        return list(out.items())

    def without_iv(self, extra_exog: tuple[str, ...] = ()) -> Formula:
        """The formula with endogenous regressors treated as exogenous (plus ``extra_exog``)."""
        return Formula(
            text=self.text,
            depvar=self.depvar,
            exog=(*self.exog, *self.endog, *extra_exog),
            fe=self.fe,
            intercept=self.intercept,
            no_intercept=self.no_intercept,
        )

    def rhs(self) -> str:
        """The right-hand side of the main equation (intercept spelled out when set)."""
        if not self.exog:
            return "0" if self.no_intercept else "1"
        terms = " + ".join(self.exog)
        if self.no_intercept:
            return "0 + " + terms
        if self.intercept:
            return "1 + " + terms
        return terms

    def to_pyfixest(self) -> str:
        """The formula rewritten for pyfixest (checked again, normalised spacing)."""
        self.validate()
        out = f"{self.depvar} ~ {self.rhs()}"
        if self.fe:
            out += " | " + " + ".join(self.fe)
        if self.endog:
            out += f" | {' + '.join(self.endog)} ~ {' + '.join(self.instruments)}"
        return out


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""  # pragma: no cover - refused by the checks


def term_columns(term: str) -> list[str]:
    """Column names referenced in one right-hand-side term (``a:b`` -> ``[a, b]``).

    Raises
    ------
    SpecError
        If the term is not one of the allowed forms (:data:`ALLOWED_FORMS`).
    """
    out: list[str] = []
    for node in _factors(term, term):
        out.extend(_factor_columns(node))
    return list(dict.fromkeys(out))


def eval_factor(node: ast.expr, df: pd.DataFrame) -> np.ndarray:
    """Values of a checked numeric factor (``I(...)``, ``log(...)``...) on ``df``.

    Only the whitelisted node types are evaluated (no ``eval``): columns, numbers, unary
    signs, ``+ - * / **`` and ``log``/``exp``. Invalid operations give NaN/inf.
    """

    def ev(n: ast.expr) -> np.ndarray | float:
        if isinstance(n, ast.Name):
            return pd.to_numeric(df[n.id], errors="coerce").to_numpy(dtype=float)
        if isinstance(n, ast.Constant):
            return float(n.value)
        if isinstance(n, ast.UnaryOp):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.BinOp):
            a, b = ev(n.left), ev(n.right)
            op = type(n.op)
            if op is ast.Add:
                return a + b
            if op is ast.Sub:
                return a - b
            if op is ast.Mult:
                return a * b
            if op is ast.Div:
                return np.divide(a, b)
            return np.power(a, b)
        if isinstance(n, ast.Call):
            name = _call_name(n)
            v = ev(n.args[0])
            return v if name == "I" else _MATH[name](v)
        raise SpecError(f"cannot evaluate '{_piece(n)}'")  # pragma: no cover - checked before

    with np.errstate(all="ignore"):
        out = np.asarray(ev(node), dtype=float)
    return np.broadcast_to(out, (len(df),)).copy()


def _terms(part: str, whole: str) -> tuple[str, ...]:
    out = []
    for sep, piece in _split_top(part, "+", whole):
        if not piece.strip():
            if sep == "" and not part.strip():
                break
            _refuse(whole, f"empty term in '{part.strip()}'")
        out.append(piece.strip())
    return tuple(out)


def _rhs_terms(rhs: str, whole: str) -> tuple[tuple[str, ...], bool, bool]:
    """Exogenous terms, explicit intercept ``1``, intercept removed (``0`` / ``-1``)."""
    pieces = _split_top(rhs, "+-", whole)
    terms: list[str] = []
    intercept = no_intercept = False
    for k, (sep, piece) in enumerate(pieces):
        t = piece.strip()
        if not t:
            if k + 1 < len(pieces) and pieces[k + 1][0] == "-" and sep != "-":
                continue  # '-1' at the start or after '+'
            _refuse(whole, f"empty term in '{rhs.strip()}'")
        if sep == "-":
            if t != "1":
                _refuse(
                    whole,
                    f"'- {t}': only the intercept can be removed with '-' (write '-1' or '0')",
                )
            no_intercept = True
        elif t == "1":
            intercept = True
        elif t == "0":
            no_intercept = True
        else:
            terms.append(_check_term(t, whole))
    if intercept and no_intercept:
        _refuse(whole, "'1' and '0' / '-1' both given: keep or remove the intercept, not both")
    dup = [t for t, n in Counter(terms).items() if n > 1]
    if dup:
        _refuse(whole, f"term '{dup[0]}' appears more than once")
    return tuple(terms), intercept, no_intercept


def _paper_specs() -> dict[str, Any]:
    """The paper's column specs (imported late: :mod:`.paper` imports this module)."""
    from .paper import PAPER_SPECS

    return PAPER_SPECS


def spec_names() -> list[str]:
    """Every named spec: :data:`SPECS`, then the paper's columns (``table2_col1``...)."""
    return [*SPECS, *_paper_specs()]


def resolve(spec_or_formula: str) -> str:
    """Return the formula of a named spec, or the argument itself when it is a formula.

    Names are those of :data:`SPECS` and of the paper's columns
    (:data:`structest.reduced.paper.PAPER_SPECS`, e.g. ``"table5_col3"``).

    Raises
    ------
    SpecError
        An unknown name, with the closest names ("did you mean ...?").
    """
    if "~" in spec_or_formula:
        return spec_or_formula
    if spec_or_formula in SPECS:
        return SPECS[spec_or_formula]
    paper = _paper_specs()
    if spec_or_formula in paper:
        return paper[spec_or_formula].formula
    m = re.fullmatch(r"table_?(c?[0-9])_?col_?([0-9]+)", spec_or_formula.strip().lower())
    if m:  # a paper column: the right table, a column that is not in it
        table, col = m.group(1).upper(), int(m.group(2))
        cols = sorted(s.column for s in paper.values() if s.table == table)
        if cols and col not in cols:
            raise SpecError(
                f"unknown specification {_show(spec_or_formula)}: table {table} of the paper has "
                f"columns {cols[0]}-{cols[-1]} (table{table}_col{cols[0]} ... "
                f"table{table}_col{cols[-1]})"
            )
    names = spec_names()
    close = difflib.get_close_matches(spec_or_formula, names, n=3, cutoff=0.6)
    low = spec_or_formula.strip().lower().replace(" ", "")
    exact = [n for n in names if n.lower() == low]
    close = exact or close
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise SpecError(
        f"unknown specification {_show(spec_or_formula)}{hint}; named specs: {', '.join(SPECS)}, "
        "and the paper's columns table<T>_col<C> (T = 2-7, C1-C3; e.g. 'table5_col3') "
        "(or pass a formula such as 'tariff ~ log_dva | imp_ind_year + exp_ind_year')"
    )


def parse(formula: str) -> Formula:
    """Parse a pyfixest-style formula (or the name of a spec in :data:`SPECS`).

    The formula is split on ``|`` and ``~`` at the top level only (never inside
    parentheses: ``I(log_dva + rta)`` is one term), and every term is parsed with Python's
    :mod:`ast` and checked against a whitelist (:data:`ALLOWED_FORMS`) before anything can
    evaluate it: nothing in a formula is ever executed.

    Raises
    ------
    SpecError
        If the formula is malformed (no ``~``, empty dependent variable, more than one IV
        part, an IV part without instruments...) or uses anything outside the whitelist
        (attribute access, other functions, strings, subscripts, dunder names...).
    """
    if not isinstance(formula, str) or not formula.strip():
        raise SpecError(f"formula must be a non-empty string, got {formula!r}")
    _check_chars(formula)
    text = resolve(formula.strip())
    parts = [p.strip() for _, p in _split_top(text, "|", text)]
    head = _split_top(parts[0], "~", text)
    if len(head) != 2:
        raise SpecError(f"formula {_show(text)}: the first part must be 'dep ~ regressors'")
    dep_src, rhs = head[0][1], head[1][1]
    if not dep_src.strip():
        raise SpecError(f"formula {_show(text)}: empty dependent variable before '~'")
    dep = _check_column_name(dep_src, text, "dependent variable")
    if not rhs.strip():
        raise SpecError(f"formula {_show(text)}: no regressors after '~'")
    exog, intercept, no_intercept = _rhs_terms(rhs, text)
    fe: tuple[str, ...] = ()
    endog: tuple[str, ...] = ()
    inst: tuple[str, ...] = ()
    seen_fe = False
    for part in parts[1:]:
        if not part:
            raise SpecError(f"formula {_show(text)}: empty part between '|'")
        sides = _split_top(part, "~", text)
        if len(sides) > 2:
            raise SpecError(f"formula {_show(text)}: more than one '~' in part '{part}'")
        if len(sides) == 2:
            if endog:
                raise SpecError(
                    f"formula {_show(text)}: only one IV part 'endog ~ instruments' allowed"
                )
            endog = tuple(
                _check_column_name(t, text, "endogenous variable")
                for t in _terms(sides[0][1], text)
            )
            inst = tuple(
                _check_column_name(t, text, "instrument") for t in _terms(sides[1][1], text)
            )
            if not endog or not inst:
                raise SpecError(
                    f"formula {_show(text)}: IV part '{part}' needs endogenous variables "
                    "and instruments"
                )
            if len(inst) < len(endog):
                raise SpecError(
                    f"formula {_show(text)}: {len(endog)} endogenous regressor(s) but only "
                    f"{len(inst)} instrument(s) — the model is under-identified"
                )
        else:
            if seen_fe:
                raise SpecError(f"formula {_show(text)}: only one fixed-effects part allowed")
            seen_fe = True
            fe = tuple(_check_fe_term(t, text) for t in _terms(part, text) if t != "0")
    if not exog and not endog:
        raise SpecError(f"formula {_show(text)}: no regressors")
    for group, what in ((endog, "endogenous"), (inst, "instrument"), (fe, "fixed-effect")):
        dup = [t for t, n in Counter(group).items() if n > 1]
        if dup:
            raise SpecError(f"formula {_show(text)}: {what} term '{dup[0]}' appears more than once")
    dup = [t for t in exog if t in endog]
    if dup:
        raise SpecError(f"formula {_show(text)}: {dup} listed both as exogenous and endogenous")
    dup = [t for t in (*exog, *endog) if t in inst]
    if dup:
        raise SpecError(
            f"formula {_show(text)}: {dup} listed both as a regressor and as an instrument"
        )
    f = Formula(text, dep, exog, fe, endog, inst, intercept, no_intercept)
    rhs_cols = {c for t in (*exog, *endog, *inst) for c in term_columns(t)}
    if dep in rhs_cols:
        raise SpecError(
            f"formula {_show(text)}: the dependent variable '{dep}' also appears on the "
            "right-hand side"
        )
    return f


def check_columns(f: Formula, df: pd.DataFrame) -> None:
    """Check ``f`` against the whitelist and the columns of ``df``.

    Raises
    ------
    SpecError
        Naming every column the formula needs and ``df`` lacks, with close matches.
    """
    f.validate()
    available = [str(c) for c in df.columns]
    missing = [c for c in f.columns() if c not in df.columns]
    if not missing:
        check_categories(f, df)
        return
    hint = ""
    if "ttb" in missing:
        hint = (
            " — the TTB coverage-ratio regression (Table 7) needs a 'ttb' column, which "
            "this panel does not have: structest.load_ttb_panel() gives the US coverage panel, "
            "and its estimable columns are the specs table7_col2 and table7_col4"
        )
    described, any_close = [], False
    for c in missing:
        close = difflib.get_close_matches(c, available, n=3, cutoff=0.6)
        any_close |= bool(close)
        described.append(
            f"'{c}'" + (f" (did you mean {', '.join(repr(m) for m in close)}?)" if close else "")
        )
    tail = "" if any_close else f"; available columns include: {', '.join(sorted(available)[:60])}"
    raise SpecError(
        f"formula {_show(f.text)} refers to unknown column(s) {', '.join(described)}{hint}{tail}"
    )


def continuous_example(s: pd.Series) -> float | None:
    """A fractional value of a numeric (non-boolean) column, or ``None`` when it has none.

    Strings, booleans and whole numbers (years, 0/1 dummies, integer codes) can be
    categories; a column with fractional values is continuous.
    """
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return None
    v = s.to_numpy(dtype=float, na_value=np.nan)
    v = v[np.isfinite(v)]
    frac = v[v != np.round(v)]
    return float(frac[0]) if len(frac) else None


def check_categories(f: Formula, df: pd.DataFrame) -> None:
    """Refuse continuous columns used as categories (``C()``, ``i()``, fixed effects).

    As in fixest, ``i(x)`` and ``C(x)`` make one dummy per distinct value of ``x``: on a
    continuous column that is one dummy per observation (pyfixest then fails with
    "division by zero", or no degrees of freedom are left).

    Raises
    ------
    SpecError
        Naming the term and an example of a fractional value.
    """
    for col, how in f.factor_columns():
        if col not in df.columns:
            continue
        x = continuous_example(df[col])
        if x is None:
            continue
        if how.startswith("i("):
            fix = f"write {col} as a regressor, or i(<category>, {col}) for slopes by category"
        elif how.startswith("C("):
            fix = f"write {col} as a regressor"
        else:
            fix = "use a categorical column (labels or integer codes) as fixed effect"
        raise SpecError(
            f"formula {_show(f.text)}: {how} needs a categorical column (labels or whole "
            f"numbers), but '{col}' is continuous (e.g. {x!r}); {fix}"
        )
