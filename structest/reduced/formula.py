"""Formulas (pyfixest syntax), the paper's named specifications and sample rules.

A formula is ``"dep ~ x1 + x2 | fe1 + fe2 | endog ~ inst1 + inst2"``; the fixed-effect
part and the instrumental-variable part are optional (``"dep ~ x | endog ~ z"`` is an IV
formula without fixed effects). It is the single interface of every estimator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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
#: - ``eq19_rta`` / ``eq19_rta_iiy``: eq. 19 with coefficients outside / inside RTAs
#:   (Table 6 panel A).
#: - ``gsp``: eq. 16 split by GSP eligibility, for the non-RTA sample (Table 4 panel A).
#: - ``eq16_iv``: eq. 16 instrumenting log DVA with DVA-in-services (Table 3 panel B).
#: - ``ttb``: temporary-trade-barrier coverage ratio on value-added ratios (Table 7 col. 1).
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
        "preference ~ log_dva_ratio_nonrta + log_dva_ratio_rta + log_ip_ratio_nonrta"
        " + log_ip_ratio_rta + rta | imp_ind_year + exp_ind_year"
    ),
    "gsp": "tariff ~ log_dva_nongsp + log_dva_gsp + gsp | imp_ind_year + exp_ind_year",
    "eq16_iv": "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
    "ttb": (
        "ttb ~ log_dva_ratio + log_fva_ratio + log_ip_ratio + rta"
        " | imp_ind + imp_year + ind_year + exp_ind_year"
    ),
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
}


def _col(d: pd.DataFrame, name: str) -> np.ndarray:
    if name not in d.columns:
        raise SpecError(f"the sample rule needs column '{name}', which the panel lacks")
    return d[name].to_numpy(dtype=float)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_FUNCS = {"C", "I", "i", "np", "log", "exp", "center", "scale", "poly", "bs", "Q", "T"}


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
        Exogenous right-hand-side terms, as written (``"1"`` and ``"0"`` removed).
    fe
        Fixed-effect terms (``a^b`` interactions allowed).
    endog
        Endogenous regressors (IV part), empty for OLS/Tobit.
    instruments
        Excluded instruments (IV part).
    intercept
        Whether an explicit ``1`` was on the right-hand side (only meaningful without FE).
    """

    text: str
    depvar: str
    exog: tuple[str, ...]
    fe: tuple[str, ...]
    endog: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    intercept: bool = False

    @property
    def is_iv(self) -> bool:
        """True when the formula has an IV part."""
        return bool(self.endog)

    @property
    def regressors(self) -> tuple[str, ...]:
        """Coefficient names in output order: exogenous terms, then endogenous ones."""
        return (*self.exog, *self.endog)

    def columns(self) -> list[str]:
        """Every data column the formula refers to (FE interactions split)."""
        cols: list[str] = [self.depvar]
        for term in (*self.exog, *self.endog, *self.instruments):
            cols.extend(term_columns(term))
        for term in self.fe:
            cols.extend(term.split("^"))
        return list(dict.fromkeys(c.strip() for c in cols))

    def without_iv(self, extra_exog: tuple[str, ...] = ()) -> Formula:
        """The formula with endogenous regressors treated as exogenous (plus ``extra_exog``)."""
        return Formula(
            text=self.text,
            depvar=self.depvar,
            exog=(*self.exog, *self.endog, *extra_exog),
            fe=self.fe,
            intercept=self.intercept,
        )

    def to_pyfixest(self) -> str:
        """The formula rewritten for pyfixest (identical syntax, normalised spacing)."""
        rhs = " + ".join(self.exog) if self.exog else "1"
        if self.intercept and self.exog:
            rhs = "1 + " + rhs
        out = f"{self.depvar} ~ {rhs}"
        if self.fe:
            out += " | " + " + ".join(self.fe)
        if self.endog:
            out += f" | {' + '.join(self.endog)} ~ {' + '.join(self.instruments)}"
        return out


def term_columns(term: str) -> list[str]:
    """Column names referenced in one right-hand-side term (``a:b`` -> ``[a, b]``)."""
    out = []
    for m in _IDENT.finditer(term):
        name = m.group(0)
        rest = term[m.end() :].lstrip()
        if rest.startswith("(") or name in _FUNCS:
            continue
        out.append(name)
    return out


def _terms(part: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in part.split("+") if t.strip())


def resolve(spec_or_formula: str) -> str:
    """Return the formula of a named spec, or the argument itself when it is a formula."""
    if "~" in spec_or_formula:
        return spec_or_formula
    if spec_or_formula in SPECS:
        return SPECS[spec_or_formula]
    raise SpecError(
        f"unknown specification '{spec_or_formula}'; named specs: {', '.join(SPECS)} "
        "(or pass a formula such as 'tariff ~ log_dva | imp_ind_year + exp_ind_year')"
    )


def parse(formula: str) -> Formula:
    """Parse a pyfixest-style formula (or the name of a spec in :data:`SPECS`).

    Raises
    ------
    SpecError
        If the formula is malformed (no ``~``, empty dependent variable, more than one IV
        part, an IV part without instruments...).
    """
    if not isinstance(formula, str) or not formula.strip():
        raise SpecError(f"formula must be a non-empty string, got {formula!r}")
    text = resolve(formula.strip())
    parts = [p.strip() for p in text.split("|")]
    head = parts[0]
    if head.count("~") != 1:
        raise SpecError(f"formula '{text}': the first part must be 'dep ~ regressors'")
    dep, rhs = (s.strip() for s in head.split("~"))
    if not _IDENT.fullmatch(dep):
        raise SpecError(f"formula '{text}': dependent variable '{dep}' must be a column name")
    exog_all = _terms(rhs)
    intercept = "1" in exog_all
    exog = tuple(t for t in exog_all if t not in ("1", "0", "-1"))
    fe: tuple[str, ...] = ()
    endog: tuple[str, ...] = ()
    inst: tuple[str, ...] = ()
    for part in parts[1:]:
        if not part:
            raise SpecError(f"formula '{text}': empty part between '|'")
        if "~" in part:
            if endog:
                raise SpecError(f"formula '{text}': only one IV part 'endog ~ instruments' allowed")
            lhs, r = (s.strip() for s in part.split("~", 1))
            endog, inst = _terms(lhs), _terms(r)
            if not endog or not inst:
                raise SpecError(
                    f"formula '{text}': IV part '{part}' needs endogenous variables and instruments"
                )
            if len(inst) < len(endog):
                raise SpecError(
                    f"formula '{text}': {len(endog)} endogenous regressor(s) but only "
                    f"{len(inst)} instrument(s) — the model is under-identified"
                )
        else:
            if fe:
                raise SpecError(f"formula '{text}': only one fixed-effects part allowed")
            fe = tuple(t for t in _terms(part) if t != "0")
    if not exog and not endog:
        raise SpecError(f"formula '{text}': no regressors")
    dup = [t for t in exog if t in endog]
    if dup:
        raise SpecError(f"formula '{text}': {dup} listed both as exogenous and endogenous")
    return Formula(text, dep, exog, fe, endog, inst, intercept)


def check_columns(f: Formula, df: pd.DataFrame) -> None:
    """Raise :class:`SpecError` naming every column the formula needs and ``df`` lacks."""
    missing = [c for c in f.columns() if c not in df.columns]
    if not missing:
        return
    hint = ""
    if "ttb" in missing:
        hint = (
            " — the TTB coverage-ratio regression (Table 7) needs a 'ttb' column, which "
            "this panel does not have"
        )
    raise SpecError(
        f"formula '{f.text}' refers to unknown column(s) {missing}{hint}; "
        f"available columns include: {', '.join(sorted(map(str, df.columns))[:60])}"
    )
