"""Model specifications as data: :class:`ModelSpec` and :func:`load_model`.

Models live as TOML files in the bundled ``models/`` directory (found with
:func:`structest.resources.models_dir`, so it works in a checkout and an installed wheel).
A file has the keys::

    name = "bbj"
    description = "..."
    ratios = "log"            # "log" (eq. 19) or "level" (eq. 18)
    errors = "normal"         # "normal", "student_t" or "contaminated"
    rta_regime = true         # false: one set of coefficients for all observations
    lower = 0.0               # left-censoring bound in pp; "none" for no lower bound
    effects = ["imp_ind_year", "exp_ind_year"]   # panel columns, partially pooled
    centred_effect = "imp_ind_year"   # optional: sampled through its cell means (or "none")
    mundlak = ["imp_ind_year"]        # optional: effects whose mean depends on the cell means
                                      # of the regressors (correlated random effects)
    gsp_regime = false        # true: GSP-eligible pairs outside RTAs get a level shift gsp_shift
    free_rta_level = false    # true: inside RTAs t* has its own level rta_shift (not 0)
    free_rta_ratio = false    # true: own producer weight delta_rta inside RTAs
    mfn_scaled_errors = false # true: sigma scales with ((1 + MFN)/(1 + 10))^sigma_mfn
    regime_mfn_slopes = false # true: t* outside RTAs has its own MFN slopes (other, GSP)
    mfn_effect = false        # true: the first effect's mean moves with its cells' MFN
    [priors]                  # any subset; missing ones take DEFAULT_PRIORS
    eps = ["lognormal", 1.6, 1.0]
    [hierarchy]               # optional: parameter -> grouping column
    eps_r_abroad = "industry" # (log-normal; logit-normal for a beta prior, additive for a
    rta_shift = "importer"    #  normal one: see ModelSpec.hierarchy)

Effects as fixest terms. ``effects``, ``centred_effect``, ``mundlak`` and the columns of
``[hierarchy]`` may be written as fixest interactions ``a^b[^c]`` of the grouping columns
``importer``, ``exporter``, ``industry``, ``year``, ``product`` (or of the panel's keys),
in any order and with spaces around ``^``. A term with the grouping columns of a panel key
is that key (``"importer^industry^year"`` is ``imp_ind_year``, ``"exporter^importer"`` is
``pair``; the spec stores and reports the key's name, so both spellings give one model);
another combination (``"importer^exporter^year"``) is stored in :data:`GROUPING` order and
its column is built by the structural design (labels joined by ``_``, as the keys are).
Priors of such an effect may be keyed by the term: ``"tau_importer^industry^year"`` is
``tau_imp_ind_year`` (a TOML key with ``^`` needs quotes). A value column (``tariff``,
``log_dva``...), an unknown name, an empty part or a part given twice is refused, naming it.

Priors as PyMC and bambi write them. Besides the positional list ``[family, *args]`` a
prior may be a table with the family under ``dist`` and named arguments::

    [priors]
    eps = {dist = "lognormal", mu = 1.6, sigma = 0.5}
    nu = {dist = "gamma", alpha = 2.0, beta = 0.1}       # beta: the rate
    delta_dstar = {dist = "truncnormal", mu = 0.0, sigma = 0.5, lower = -1.0}

Names per family (:data:`structest.structural.priors.KWARGS`): lognormal and normal ``mu,
sigma``; halfnormal ``sigma``; beta and gamma ``alpha, beta``; truncnormal (or
``truncatednormal``) ``mu, sigma, lower``; exponential ``lam``. Every argument must be
given once and no other (``priors.nu: gamma takes alpha, beta; got 'rate' (did you mean
'beta'?)``). Both forms give the same :class:`ModelSpec`; :meth:`ModelSpec.to_toml` writes
the positional form.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .._io import check_input_file, models_dir
from ..codes import STRUCTURAL_PARAMS
from ..errors import InputFileError, SpecError
from ..panel import _DERIVED_FLOATS, NONNEGATIVE, POSITIVE, SHARES
from .priors import HETEROGENEITY, PriorTuple, _short, check_prior

#: The model :func:`structest.fit`, the CLI and the report use unless told otherwise: the
#: best bundled model by PSIS-LOO and the posterior predictive checks on the bundled panel
#: (evidence table: ``models/README.md``).
DEFAULT_MODEL: str = "bbj_mfn_slopes"

#: Structural parameters of eq. (11)/(14) in the order they are reported.
STRUCTURAL: tuple[str, ...] = STRUCTURAL_PARAMS
#: Parameters only present with an RTA regime.
RTA_ONLY: tuple[str, ...] = ("eps_tilde", "lambda_tilde")
#: Optional parameters of the equation and the model-file key that switches each on:
#: ``delta_rta`` (own producer weight inside RTAs, so g_IP_rta/g_IP and g_FVA_rta/g_FVA
#: differ), ``rta_shift`` (level of t* inside RTAs, pp; the structural model says 0) and
#: ``gsp_shift`` (level shift of t* for GSP-eligible pairs outside RTAs, pp);
#: ``mfn_slope_other`` and ``mfn_slope_gsp`` (pp of t* per pp of MFN for pairs outside RTAs
#: without and with GSP eligibility, beyond the effects' ``gamma_mfn``; see
#: :attr:`ModelSpec.regime_mfn_slopes`).
OPTIONAL_PARAMS: dict[str, str] = {
    "delta_rta": "free_rta_ratio",
    "rta_shift": "free_rta_level",
    "gsp_shift": "gsp_regime",
    "mfn_slope_other": "regime_mfn_slopes",
    "mfn_slope_gsp": "regime_mfn_slopes",
}
#: optional parameters that also need another switch on (``mfn_slope_gsp``: a GSP regime)
_ALSO_NEEDS: dict[str, str] = {"mfn_slope_gsp": "gsp_regime"}
#: Optional parameters of the error scale and the key that switches each on:
#: ``sigma_mfn`` (elasticity of sigma with respect to 1 + MFN, see :attr:`ModelSpec.sigma_mfn`).
SCALE_PARAMS: dict[str, str] = {"sigma_mfn": "mfn_scaled_errors"}
#: Optional parameters of the effects and their keys: ``gamma_mfn`` (pp of the first
#: effect's mean per pp of its cells' mean MFN, see :attr:`ModelSpec.mfn_effect`).
EFFECT_PARAMS: dict[str, str] = {"gamma_mfn": "mfn_effect"}
#: Shape parameters of each error distribution (besides the scale sigma).
ERROR_PARAMS: dict[str, tuple[str, ...]] = {
    "normal": (),
    "student_t": ("nu",),
    "contaminated": ("outlier_share", "outlier_scale"),
}
#: Error parameters a ``[hierarchy]`` may vary by group besides the structural ones and
#: ``sigma``: the contaminated normal's share of wide shocks (on the logit scale) and the
#: elasticity of the error scale with MFN (additively).
GROUPED_ERROR_PARAMS: tuple[str, ...] = ("outlier_share", "sigma_mfn")
#: Derived grouping columns a [hierarchy] may name besides the panel's own columns.
DERIVED_COLUMNS: tuple[str, ...] = ("regime",)

#: Continuous value columns of a panel (and the derived ones, plus every ``log_*``): never
#: a grouping column of ``effects``, ``mundlak`` or ``[hierarchy]``.
VALUE_COLUMNS: frozenset[str] = frozenset(
    {*POSITIVE, *NONNEGATIVE, *SHARES, *_DERIVED_FLOATS, "mfn_threshold", "preference"}
)


def _is_value_column(col: str) -> bool:
    return col in VALUE_COLUMNS or col.startswith("log_")


def _refuse_value_column(col: str, where: str) -> None:
    """SpecError when ``col`` is a continuous value column (tariff, dva, log_dva...)."""
    if _is_value_column(col):
        raise SpecError(
            f"{where} = '{col}' is a value column of the panel, not a grouping column; "
            "name a column of labels (e.g. imp_ind_year, exp_ind_year, importer, industry, "
            "pair, regime)"
        )


#: Grouping columns of a panel that a fixest-style term ``a^b`` may combine.
GROUPING: tuple[str, ...] = ("importer", "exporter", "industry", "year", "product")
#: The panel's key columns (:func:`structest.panel.add_derived_columns`) and the grouping
#: columns each combines: a term ``a^b`` with the same set is written as the key's name.
KEY_TERMS: dict[str, frozenset[str]] = {
    "imp_ind_year": frozenset({"importer", "industry", "year"}),
    "exp_ind_year": frozenset({"exporter", "industry", "year"}),
    "imp_ind": frozenset({"importer", "industry"}),
    "imp_year": frozenset({"importer", "year"}),
    "ind_year": frozenset({"industry", "year"}),
    "exp_ind": frozenset({"exporter", "industry"}),
    "exp_year": frozenset({"exporter", "year"}),
    "pair": frozenset({"importer", "exporter"}),
}
_TERM_HELP = (
    "a^b combines the grouping columns importer, exporter, industry, year, product (or the "
    "keys " + ", ".join(KEY_TERMS) + ")"
)


def term_columns(term: str) -> tuple[str, ...]:
    """Grouping columns of an effect or grouping name, in :data:`GROUPING` order.

    ``"importer^industry^year"`` and ``"imp_ind_year"`` both give ``("importer",
    "industry", "year")``; a grouping column gives itself; any other name (a panel column
    such as ``imp_ind_year_decile``, or ``regime``) gives ``()``. Assumes a checked term
    (see :func:`normalise_term`).
    """
    if term in GROUPING:
        return (term,)
    cols: set[str] = set(KEY_TERMS.get(term, ()))
    if "^" in term:
        for part in term.split("^"):
            part = part.strip()
            cols |= {part} if part in GROUPING else set(KEY_TERMS.get(part, ()))
    return tuple(c for c in GROUPING if c in cols)


def normalise_term(value: str, where: str) -> str:
    """The canonical name of an effect or grouping column written as a fixest term.

    A name without ``^`` is returned unchanged. ``a^b[^c...]`` combines grouping columns
    (:data:`GROUPING`) or key columns (:data:`KEY_TERMS`), in any order and with spaces
    around ``^``; the result is the key column with the same grouping columns when there
    is one (``"industry^importer^year"`` -> ``"imp_ind_year"``, ``"importer^exporter"`` ->
    ``"pair"``), else the grouping columns joined by ``^`` in :data:`GROUPING` order
    (``"year^exporter^importer"`` -> ``"importer^exporter^year"``; the structural design
    builds that column).

    Raises
    ------
    SpecError
        An empty part, a value column (``tariff``, ``log_dva``...), a name that is not a
        grouping or key column, or a part given twice; the message starts with ``where``.
    """
    if "^" not in value:
        return value
    parts = [p.strip() for p in value.split("^")]
    seen: set[str] = set()
    cols: set[str] = set()
    for part in parts:
        if not part:
            raise SpecError(f"{where} = {value!r} has an empty term around '^'; {_TERM_HELP}")
        if part in seen:
            raise SpecError(f"{where} = {value!r} names '{part}' twice; {_TERM_HELP}")
        seen.add(part)
        if part in GROUPING:
            cols.add(part)
        elif part in KEY_TERMS:
            cols |= KEY_TERMS[part]
        elif _is_value_column(part):
            raise SpecError(
                f"{where} = {value!r}: '{part}' is a value column of the panel, not a grouping "
                f"column; {_TERM_HELP}"
            )
        else:
            raise SpecError(f"{where} = {value!r}: '{part}' is not a grouping column; {_TERM_HELP}")
    for key, key_cols in KEY_TERMS.items():
        if key_cols == cols:
            return key
    ordered = [c for c in GROUPING if c in cols]
    return ordered[0] if len(ordered) == 1 else "^".join(ordered)


#: Default priors, ``name -> (family, *args)``. Sources are given in ``models/bbj.toml``
#: and in :mod:`structest.structural` docs; every one can be overridden per fit.
DEFAULT_PRIORS: dict[str, PriorTuple] = {
    # Widths were narrowed (log-sd 1.0 -> 0.5-0.7, mu centred at 0) after the prior
    # predictive check (structest.checks.prior_predictive_check on the bundled panel): the
    # share of latent tariffs in [0, 50] pp rose from 0.46 to 0.58 and the 1%/99% prior
    # quantiles shrank from -1189/+607 pp to -172/+130 pp; applied tariffs: 99.5% in range.
    # export-supply elasticity: Broda, Limao & Weinstein (2008) report median inverse
    # elasticities ~0.2-1 -> median 5, 90% prior range ~ (2.2, 11)
    "eps": ("lognormal", 1.6, 0.5),
    # |lambda| = |dp_j/dtau| / (dp_i/dtau): O(1) by construction (paper eq. 11) -> median 0.5
    "lambda_abs": ("lognormal", -0.7, 0.5),
    # pass-through of final-goods prices to VA returns (paper eq. 9-10, >= 0, below 1)
    "eps_r_home": ("lognormal", -1.6, 0.7),
    "eps_r_abroad": ("lognormal", -1.6, 0.7),
    # Grossman-Helpman weight on producers: small (Goldberg & Maggi 1999; Gawande &
    # Bandyopadhyay 2000 find weights of a few percent) -> median 0.05, 90% ~ (0.016, 0.16)
    "delta": ("lognormal", -3.0, 0.7),
    # weight on foreign VA at home, in [0, 1] (paper section 2): centred at 1/2
    "delta_star": ("beta", 2.0, 2.0),
    # weight on home VA abroad; (1 + delta_dstar) >= 0 keeps the DVA motive's sign
    "delta_dstar": ("truncnormal", 0.0, 0.5, -1.0),
    # reciprocal trade elasticity and price effect (eq. 14): same weak priors as outside
    "eps_tilde": ("lognormal", 1.6, 0.5),
    "lambda_tilde": ("lognormal", -0.7, 0.5),
    # tariff shock (pp): applied tariffs range 0-30 pp; half-normal with scale 5 pp
    "sigma": ("halfnormal", 5.0),
    # own producer weight inside RTAs (free_rta_ratio): the prior of delta
    "delta_rta": ("lognormal", -3.0, 0.7),
    # level of t* inside RTAs (free_rta_level, pp): structural value 0; vague
    "rta_shift": ("normal", 0.0, 10.0),
    # unilateral GSP preference (gsp_regime, pp): a level shift for GSP-eligible pairs
    #   outside RTAs. Preferences under GSP are granted unilaterally, outside the model's
    #   bargaining; applied GSP margins are a few pp below MFN, so the prior is centred
    #   at 0 with a wide scale of 10 pp (sign left to the data)
    "gsp_shift": ("normal", 0.0, 10.0),
    # pp of t* per pp of MFN beyond gamma_mfn for pairs outside RTAs without / with GSP
    #   eligibility (regime_mfn_slopes): 0 is the common slope, 1 one for one on top;
    #   Normal(0, 1) spans both signs
    "mfn_slope_other": ("normal", 0.0, 1.0),
    "mfn_slope_gsp": ("normal", 0.0, 1.0),
    # elasticity of the error scale with respect to 1 + MFN (mfn_scaled_errors): 0 is
    #   homoskedastic, 1 proportional; Normal(0.5, 0.5) spans both
    "sigma_mfn": ("normal", 0.5, 0.5),
    # pp of the first effect's mean per pp of its cells' MFN (mfn_effect): 1 is t* moving
    #   one for one with MFN; Normal(0.5, 1) spans none to more than proportional
    "gamma_mfn": ("normal", 0.5, 1.0),
    # Student-t degrees of freedom: Juarez & Steel (2010) gamma(2, 0.1)
    "nu": ("gamma", 2.0, 0.1),
    # contaminated normal (Box & Tiao 1968): share of shocks from the wide component,
    #   a minority (Beta(1.5, 6): mean 0.2, 90% (0.03, 0.45)), and its scale relative to
    #   sigma, above 1 (truncated at 1 so the components cannot swap labels)
    "outlier_share": ("beta", 1.5, 6.0),
    "outlier_scale": ("truncnormal", 5.0, 5.0, 1.0),
    # mean of the first effect (importer-industry-year tariff level, pp): MFN tariffs 0-30
    "mu": ("normal", 0.0, 10.0),
    # scale of the partially pooled effects (pp)
    "tau": ("halfnormal", 5.0),
    # scale of log-parameter heterogeneity across groups ([hierarchy])
    "sd": ("halfnormal", 0.5),
    # scale of logit-parameter heterogeneity across groups ([hierarchy] of a parameter with
    #   a beta prior, e.g. outlier_share): a factor of about 2.7 in the odds
    "sd_logit": ("halfnormal", 1.0),
    # (a parameter with a normal prior varies additively; the default scale of that
    #   heterogeneity is half its prior's: 5 pp for the level shifts rta_shift and
    #   gsp_shift, as agreements and GSP schemes cut from nothing to all of MFN, 0-20 pp)
    # Mundlak coefficients of the cell means of the regressors (pp per unit of the centred
    # cell mean of a log ratio): vague, each coefficient independently
    "gamma": ("normal", 0.0, 10.0),
}

#: the top-level keys of a model file, in file order; then the tables [priors], [hierarchy]
_TOP_KEYS: tuple[str, ...] = (
    "name",
    "description",
    "ratios",
    "errors",
    "rta_regime",
    "lower",
    "effects",
    "centred_effect",
    "mundlak",
    *dict.fromkeys(OPTIONAL_PARAMS.values()),
    *SCALE_PARAMS.values(),
    *EFFECT_PARAMS.values(),
)
#: every true/false switch of an optional parameter
_FLAGS: tuple[str, ...] = (
    *dict.fromkeys(OPTIONAL_PARAMS.values()),
    *SCALE_PARAMS.values(),
    *EFFECT_PARAMS.values(),
)
_KEYS = {*_TOP_KEYS, "priors", "hierarchy"}


def _freeze(d: Mapping[str, Any]) -> MappingProxyType:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class ModelSpec:
    """A structural model specification (immutable).

    Attributes
    ----------
    name, description
        Identification.
    ratios
        ``"log"`` (eq. 19, the paper's empirical form; default) or ``"level"`` (eq. 18).
    errors
        ``"normal"``; ``"student_t"`` (``nu``; sampled as a scale mixture of normals with
        latent precisions); ``"contaminated"``: a two-component scale mixture of normals,
        ``(1 - outlier_share) N(0, sigma) + outlier_share N(0, outlier_scale sigma)``
        (heavy tails at the Normal model's cost; the mixture is summed out).
    rta_regime
        True: eq. (14) inside RTAs (no 1/eps and DVA terms, own eps_tilde/lambda_tilde);
        False ("pooled"): eq. (11) for every observation.
    lower
        Left-censoring bound (pp) or None.
    effects
        Panel columns whose levels get partially pooled effects ``fe_<e> ~ Normal(loc,
        tau_<e>)``; the first has ``loc = mu``, the others 0. Sampled non-centred
        (``fe = loc + tau z``) except ``centred_effect``.
    centred_effect
        None, or one of ``effects`` sampled through its cell means: the site ``m_<e>`` is
        ``fe_<e>`` plus the cell's mean of the structural part of t* and has the centred
        prior ``Normal(loc + that mean, tau_<e>)``, i.e. the same model. The data pin the
        cell means down, so the coefficients no longer trade off against hundreds of
        effects: with ``imp_ind_year`` (FG and FVA are constant within its cells) this
        removes the g_IP/g_FVA ridge in which NUTS diverges.
    mundlak
        Effects whose mean depends on the cell means of the regressors (Mundlak 1978;
        correlated random effects): ``fe_<e> ~ Normal(loc + xbar_<e> gamma_<e>, tau_<e>)``
        with ``xbar_<e>`` the cell means of :attr:`mundlak_regressors` (centred over cells). The
        between-cell variation of the regressors then goes to ``gamma_<e>``, and the
        coefficients are identified by within-cell variation, as with fixed effects, while
        the effects are still partially pooled.
    gsp_regime
        GSP-eligible pairs outside RTAs (``gsp = 1``, ``rta = 0``) get the level shift
        ``gsp_shift`` (pp), a unilateral preference outside the bargaining model; an RTA
        formed in a counterfactual replaces it (the pair's ``gsp`` is set to 0).
    free_rta_level
        Relaxes the structural restriction that t* has no level inside RTAs (eq. 14: no
        ``1/eps``), so the RTA level gap is ``rta_shift - 100/eps`` instead of ``-100/eps``.
    free_rta_ratio
        Relaxes the common inside/outside ratio of g_IP and g_FVA: inside RTAs the
        producer weight is ``delta_rta`` instead of ``delta``.
    regime_mfn_slopes
        t* of pairs outside RTAs moves with their MFN rate at a rate of its own, beyond
        the effects' (``gamma_mfn``, which pairs inside RTAs follow alone): ``+
        mfn_slope_other (MFN - MFN_REF)`` for pairs with neither an RTA nor GSP
        eligibility, ``+ mfn_slope_gsp (MFN - MFN_REF)`` for GSP-eligible ones (with
        ``gsp_regime``). Reported as ``g_MFN_other`` and ``g_MFN_GSP``. On the bundled
        panel, pairs without an agreement have t* close to MFN at every MFN level, while
        RTA partners' t* does not rise with MFN (agreements cut to zero); one common slope
        put preferences of pairs without agreements at high-MFN lines, where the data have
        few. An RTA formed in a counterfactual leaves these terms (its pairs follow eq. 14).
    mfn_scaled_errors
        The error scale grows with the MFN rate: ``sigma_i = sigma ((1 + MFN_i) / (1 +
        MFN_REF))^sigma_mfn`` (``sigma`` is the scale at an MFN of :data:`structest.equations.MFN_REF` pp).
        Preferences are cut from MFN, so a 100 pp MFN line has room for shocks that a 3 pp
        line has not.
    mfn_effect
        The first effect's mean moves with the MFN rate of its cells: ``loc = mu +
        gamma_mfn mfnbar_<e>`` (cell means of MFN, centred over cells). MFN and t* are set
        by the same political forces, so cells with high MFN have high t*; without it the
        partially pooled effect shrinks every cell towards one level and the model puts
        latent tariffs far from MFN (too many deep preferences). MFN is exogenous in the
        likelihood (it conditions on MFN), and it is constant within the cells, so the
        within-cell variation that identifies the g's is untouched.
    priors
        Full prior table (defaults merged with the file and any overrides). Keys: the
        structural parameters, ``sigma``, ``nu``, ``mu``, ``tau_<effect>``, ``sd_<param>``,
        ``gamma_<effect>`` (one prior for each coefficient of the vector).
    hierarchy
        ``parameter -> grouping column`` for parameters that vary by group, partially
        pooled around the population value as the prior's support says: log-normally
        (positive parameters), logit-normally (beta priors: ``delta_star``,
        ``outlier_share``) or additively (normal priors: the level shifts ``rta_shift``,
        ``gsp_shift``, the MFN slopes, ``sigma_mfn``); ``sd_<param>`` is the scale.
    """

    name: str
    description: str = ""
    ratios: str = "log"
    errors: str = "normal"
    rta_regime: bool = True
    lower: float | None = 0.0
    effects: tuple[str, ...] = ("imp_ind_year", "exp_ind_year")
    centred_effect: str | None = None
    mundlak: tuple[str, ...] = ()
    gsp_regime: bool = False
    free_rta_level: bool = False
    free_rta_ratio: bool = False
    regime_mfn_slopes: bool = False
    mfn_scaled_errors: bool = False
    mfn_effect: bool = False
    priors: Mapping[str, PriorTuple] = field(default_factory=lambda: _freeze({}))
    hierarchy: Mapping[str, str] = field(default_factory=lambda: _freeze({}))

    # ------------------------------------------------------------------ derived
    @property
    def structural(self) -> tuple[str, ...]:
        """Parameters of the equation present in this model: the structural ones, then the
        optional ones switched on (:data:`OPTIONAL_PARAMS`)."""
        base = [p for p in STRUCTURAL if self.rta_regime or p not in RTA_ONLY]
        on = [
            p
            for p, key in OPTIONAL_PARAMS.items()
            if getattr(self, key) and getattr(self, _ALSO_NEEDS.get(p, key))
        ]
        return (*base, *on)

    @property
    def scalar_params(self) -> tuple[str, ...]:
        """Every sampled scalar parameter (population values), in report order."""
        out = [*self.structural, "sigma", *self.scale_params, *self.error_params, "mu"]
        out += [p for p, key in EFFECT_PARAMS.items() if getattr(self, key)]
        out += [f"tau_{e}" for e in self.effects]
        out += [f"sd_{p}" for p in self.hierarchy]
        return tuple(out)

    @property
    def scale_params(self) -> tuple[str, ...]:
        """Parameters of the error scale besides ``sigma`` (:data:`SCALE_PARAMS`)."""
        return tuple(p for p, key in SCALE_PARAMS.items() if getattr(self, key))

    @property
    def error_params(self) -> tuple[str, ...]:
        """Shape parameters of the error distribution (:data:`ERROR_PARAMS`)."""
        return ERROR_PARAMS[self.errors]

    @property
    def vector_params(self) -> tuple[str, ...]:
        """Sampled vector parameters with a prior in the table (``gamma_<e>``)."""
        return tuple(f"gamma_{e}" for e in self.mundlak)

    @property
    def mundlak_regressors(self) -> tuple[str, ...]:
        """Regressors whose cell means enter the Mundlak effects, as they enter t*: with an
        RTA regime the ratios outside RTAs (``*_out``), FG and FVA inside (``*_in``) and the
        RTA dummy; without, the three ratios."""
        gsp = ("gsp",) if self.gsp_regime else ()
        if not self.rta_regime:
            return ("x_ip", "x_fva", "x_dva", *gsp)
        return ("x_ip_out", "x_fva_out", "x_dva_out", "x_ip_in", "x_fva_in", "rta", *gsp)

    def with_priors(self, overrides: Mapping[str, Any] | None) -> ModelSpec:
        """Return a copy with some priors replaced (validated; unknown names raise)."""
        if not overrides:
            return self
        if isinstance(overrides, Mapping):
            overrides = _prior_keys(dict(overrides), f"model '{self.name}'")
        known = {*self.scalar_params, *self.vector_params}
        bad = sorted(set(overrides) - known)
        if bad:
            raise SpecError(
                f"priors: unknown parameter(s) {bad} for model '{self.name}'; known: {sorted(known)}"
            )
        new = dict(self.priors)
        for k, v in overrides.items():
            new[k] = check_prior(k, v)
        return replace(self, priors=_freeze(new))

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON/TOML friendly)."""
        return {
            "name": self.name,
            "description": self.description,
            "ratios": self.ratios,
            "errors": self.errors,
            "rta_regime": self.rta_regime,
            "lower": "none" if self.lower is None else self.lower,
            "effects": list(self.effects),
            "centred_effect": "none" if self.centred_effect is None else self.centred_effect,
            "mundlak": list(self.mundlak),
            **{key: getattr(self, key) for key in _FLAGS},
            "priors": {k: list(v) for k, v in self.priors.items()},
            "hierarchy": dict(self.hierarchy),
        }

    def to_json(self) -> str:
        """JSON string of :meth:`to_dict` (stored in fitted InferenceData attrs)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_toml(self) -> str:
        """TOML text that :func:`load_model` reads back to an equal spec."""
        d = self.to_dict()
        lines = [f"{k} = {_toml_value(d[k])}" for k in _TOP_KEYS]
        lines.append("\n[priors]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["priors"].items()]
        if d["hierarchy"]:
            lines.append("\n[hierarchy]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["hierarchy"].items()]
        return "\n".join(lines) + "\n"


def _toml_key(k: str) -> str:
    """A TOML key: bare when it can be (``tau_imp_ind_year``), else quoted
    (``"tau_importer^exporter^year"``)."""
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")  # pragma: no cover


#: control characters (NUL included) that no name, column or description may hold: they
#: break NetCDF attributes (a fit would fail only when saved, after sampling) and terminals
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: longest model name / column name accepted
_NAME_MAX = 200
#: largest |lower| (pp): a left-censoring bound beyond it is a typo
LOWER_MAX: float = 1000.0


def _label(value: Any, where: str, what: str) -> str:
    """A non-empty one-line string (model name, column name) or a SpecError naming ``where``."""
    if not isinstance(value, str):
        raise SpecError(f"{where} must be a string ({what}), got {_short(value)}")
    if not value.strip():
        raise SpecError(f"{where} must be a non-empty string ({what}), got {value!r}")
    if _CONTROL.search(value) or "\n" in value or "\r" in value or "\t" in value:
        raise SpecError(
            f"{where} must not contain control characters (NUL, newline...), got {_short(value)}"
        )
    if len(value) > _NAME_MAX:
        raise SpecError(f"{where} is longer than {_NAME_MAX} characters ({what})")
    return value


def _names(value: Any, source: str, key: str, what: str) -> tuple[str, ...]:
    """A list of labels (see :func:`_label`) or a SpecError naming ``key`` (and the item)."""
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{source}: key '{key}' must be a list of {what}, got {_short(value)}")
    return tuple(_label(v, f"{source}: key '{key}[{i}]'", what) for i, v in enumerate(value))


def _table(value: Any, where: str, example: str) -> dict[str, Any]:
    """A TOML table (mapping with string keys) or a SpecError naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be a table ({example}), got {_short(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise SpecError(f"{where}: keys must be strings, got {_short(bad)}")
    return dict(value)


def _prior_keys(file_priors: dict[str, Any], source: str) -> dict[str, Any]:
    """``[priors]`` with the effect of ``tau_<effect>``/``gamma_<effect>`` keys written as
    a fixest term replaced by its canonical name (``tau_importer^industry^year`` ->
    ``tau_imp_ind_year``); a parameter given under two spellings is refused."""
    out: dict[str, Any] = {}
    written: dict[str, str] = {}
    for k, v in file_priors.items():
        key = k
        for prefix in ("tau_", "gamma_"):
            if isinstance(k, str) and k.startswith(prefix) and "^" in k:
                key = prefix + normalise_term(k[len(prefix) :], f"{source}: priors.{k}: effect")
        if key in out:
            raise SpecError(
                f"{source}: [priors] gives '{key}' twice (as {written[key]!r} and {k!r})"
            )
        out[key], written[key] = v, k
    return out


def spec_from_dict(d: Mapping[str, Any], *, source: str = "<dict>") -> ModelSpec:
    """Validate a parsed model file and build a :class:`ModelSpec`.

    Every message starts with ``source`` and names the key path (``priors.eps``,
    ``hierarchy.eps``, ``effects[1]``...).

    Raises
    ------
    SpecError
        Naming the bad key (unknown key, bad value, unknown prior, bad hierarchy).
    """
    if not isinstance(d, Mapping):
        raise SpecError(f"{source}: a model must be a table of keys, got {_short(d)}")
    bad = sorted(map(str, set(d) - _KEYS))
    if bad:
        raise SpecError(f"{source}: unknown key(s) {bad}; allowed: {sorted(_KEYS)}")
    if "name" not in d:
        raise SpecError(f"{source}: missing key 'name'")
    name = _label(d["name"], f"{source}: key 'name'", "the model's name")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{source}: key 'description' must be a string, got {_short(description)}")
    if _CONTROL.search(description):
        raise SpecError(f"{source}: key 'description' must not contain control characters (NUL...)")
    ratios = d.get("ratios", "log")
    if not isinstance(ratios, str) or ratios not in ("log", "level"):
        raise SpecError(f"{source}: key 'ratios' must be 'log' or 'level', got {_short(ratios)}")
    errors = d.get("errors", "normal")
    if not isinstance(errors, str) or errors not in ERROR_PARAMS:
        raise SpecError(
            f"{source}: key 'errors' must be one of {list(ERROR_PARAMS)}, got {_short(errors)}"
        )
    rta_regime = d.get("rta_regime", True)
    if not isinstance(rta_regime, bool):
        raise SpecError(f"{source}: key 'rta_regime' must be true/false, got {_short(rta_regime)}")
    lower = d.get("lower", 0.0)
    if isinstance(lower, str) and lower.lower() == "none":
        lower = None
    elif not isinstance(lower, (int, float)) or isinstance(lower, bool):
        raise SpecError(f"{source}: key 'lower' must be a number or \"none\", got {_short(lower)}")
    elif not (abs(float(lower)) <= LOWER_MAX):  # also NaN
        raise SpecError(
            f"{source}: key 'lower' must be a finite number of pp in [-{LOWER_MAX:g}, "
            f'{LOWER_MAX:g}] or "none" (no lower bound), got {lower!r}'
        )
    effects = _names(
        d.get("effects", ["imp_ind_year", "exp_ind_year"]), source, "effects", "panel column names"
    )
    written = effects
    effects = tuple(
        normalise_term(e, f"{source}: key 'effects[{i}]'") for i, e in enumerate(written)
    )
    if len(set(effects)) != len(effects):
        same = [f"{w!r} is '{e}'" for w, e in zip(written, effects, strict=True) if w != e]
        raise SpecError(
            f"{source}: key 'effects' has duplicates: {list(written)!r}"
            + (f" ({'; '.join(same)})" if same else "")
        )
    for i, e in enumerate(effects):
        _refuse_value_column(e, f"{source}: key 'effects[{i}]'")
    centred = d.get("centred_effect", "none")
    if not isinstance(centred, str):
        raise SpecError(f"{source}: key 'centred_effect' must be a string, got {_short(centred)}")
    if centred.lower() == "none":
        centred = None
    elif (centred := normalise_term(centred, f"{source}: key 'centred_effect'")) not in effects:
        raise SpecError(
            f"{source}: key 'centred_effect' = {_short(centred)} is not one of effects "
            f"{list(effects)}"
        )
    mundlak = d.get("mundlak", [])
    if not isinstance(mundlak, (list, tuple)) or not all(isinstance(e, str) for e in mundlak):
        raise SpecError(f"{source}: key 'mundlak' must be a list of effects, got {_short(mundlak)}")
    mundlak = [normalise_term(e, f"{source}: key 'mundlak[{i}]'") for i, e in enumerate(mundlak)]
    unknown_m = [e for e in mundlak if e not in effects]
    if unknown_m or len(set(mundlak)) != len(mundlak):
        raise SpecError(
            f"{source}: key 'mundlak' = {list(mundlak)!r} must name distinct effects of "
            f"{list(effects)}"
        )
    flags = {}
    for key in _FLAGS:
        flags[key] = d.get(key, False)
        if not isinstance(flags[key], bool):
            raise SpecError(f"{source}: key '{key}' must be true/false, got {_short(flags[key])}")
    if flags["mfn_effect"] and not effects:
        raise SpecError(f"{source}: key 'mfn_effect' = true needs at least one effect")
    for key in ("free_rta_level", "free_rta_ratio"):
        if flags[key] and not rta_regime:
            raise SpecError(f"{source}: key '{key}' = true needs rta_regime = true")
    hierarchy = _table(
        d.get("hierarchy", {}), f"{source}: [hierarchy]", 'parameter = "grouping column"'
    )
    spec = ModelSpec(
        name=name,
        description=description,
        ratios=ratios,
        errors=errors,
        rta_regime=rta_regime,
        lower=None if lower is None else float(lower),
        effects=effects,
        centred_effect=centred,
        mundlak=tuple(mundlak),
        hierarchy=_freeze(hierarchy),
        **flags,
    )
    structural = {*spec.structural, "sigma"}
    structural |= {*spec.error_params, *spec.scale_params} & set(GROUPED_ERROR_PARAMS)
    for p, col in hierarchy.items():
        if p not in structural:
            raise SpecError(
                f"{source}: [hierarchy] key '{_short(p)[1:-1]}' is not a structural parameter of "
                f"this model, sigma or one of {list(GROUPED_ERROR_PARAMS)} (contaminated errors); "
                f"known: {sorted(structural)}"
            )
        if not isinstance(col, str):
            raise SpecError(
                f"{source}: [hierarchy] '{p}' must name a panel column, got {_short(col)}"
            )
        _label(col, f"{source}: hierarchy.{p}", "a grouping column of the panel")
        col = hierarchy[p] = normalise_term(col, f"{source}: hierarchy.{p}")
        _refuse_value_column(col, f"{source}: hierarchy.{p}")
    # full prior table: defaults, then the file
    priors: dict[str, PriorTuple] = {}
    for pname in (*spec.scalar_params, *spec.vector_params):
        if pname in DEFAULT_PRIORS:  # gamma_mfn has its own (not the Mundlak vectors')
            base = DEFAULT_PRIORS[pname]
        elif pname.startswith("gamma_"):
            base = DEFAULT_PRIORS["gamma"]
        elif pname.startswith("tau_"):
            base = DEFAULT_PRIORS["tau"]
        elif pname.startswith("sd_"):
            base = DEFAULT_PRIORS["sd"]
        else:
            base = DEFAULT_PRIORS[pname]
        priors[pname] = base
    file_priors = _prior_keys(
        _table(
            d.get("priors", {}),
            f"{source}: [priors]",
            'parameter = ["family", args...] or {dist = "family", name = value...}',
        ),
        source,
    )
    unknown = sorted(set(file_priors) - set(priors))
    if unknown:
        raise SpecError(
            f"{source}: [priors] unknown parameter(s) {[u[:40] for u in unknown][:8]}; "
            f"known: {sorted(priors)}"
        )
    for k, v in file_priors.items():
        try:
            priors[k] = check_prior(k, v)
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None
    for p in hierarchy:
        kind = HETEROGENEITY.get(priors[p][0])
        if kind is None:
            raise SpecError(
                f"{source}: [hierarchy] '{p}' needs a prior family whose support says how it "
                f"varies by group: {sorted(HETEROGENEITY)} (positive: log-normal; beta: "
                f"logit-normal; normal: additive), got '{priors[p][0]}'"
            )
        if f"sd_{p}" not in file_priors:
            priors[f"sd_{p}"] = _sd_prior(kind, priors[p])
    return replace(spec, priors=_freeze(priors), hierarchy=_freeze(hierarchy))


def _sd_prior(kind: str, prior: PriorTuple) -> PriorTuple:
    """Default prior of ``sd_<p>`` by how ``p`` varies (:data:`~.priors.HETEROGENEITY`):
    ``sd`` on the log scale, ``sd_logit`` on the logit scale and, additively, a half-normal
    with half the scale of ``p``'s own normal prior (5 pp for the level shifts' 10 pp)."""
    if kind == "additive":
        return ("halfnormal", float(prior[2]) / 2.0)
    return DEFAULT_PRIORS["sd" if kind == "log" else "sd_logit"]


def available_models() -> list[str]:
    """Names of the bundled models (files ``models/*.toml``)."""
    return sorted(p.stem for p in models_dir().glob("*.toml"))


def _looks_like_path(s: str) -> bool:
    return s.endswith(".toml") or "/" in s or os.sep in s


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> ModelSpec:
    """Load a bundled model by name (``"bbj_mfn"``, ``"bbj"``...) or a TOML file by path
    (default: :data:`DEFAULT_MODEL`).

    A string ending in ``.toml`` or holding a path separator is a file; anything else a
    bundled name.

    Raises
    ------
    SpecError
        Unknown bundled name (listing the available models), or a bad key or value in the
        file (naming the key path, e.g. ``priors.eps``).
    InputFileError
        The file is missing, a directory, unreadable, not UTF-8 text or not valid TOML.
    """
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise SpecError(
            "model must be a bundled model name, a path to a .toml file or a ModelSpec, got "
            f"{type(name_or_path).__name__} {_short(name_or_path)}"
        )
    s = str(name_or_path)
    if "\x00" in s:
        raise SpecError(f"model name or path contains a NUL character: {s!r}")
    if isinstance(name_or_path, Path) or _looks_like_path(s):
        path = Path(s).expanduser()
        if path.is_dir():
            raise InputFileError(f"model file {path} is a directory, not a TOML file")
        if not path.exists():
            raise InputFileError(f"model file not found: {path}")
        check_input_file(path, "model file")  # a FIFO or device: refused before any read
    else:
        path = models_dir() / f"{s}.toml"
        if not path.is_file():
            raise SpecError(
                f"unknown model {s!r}; available: {', '.join(available_models())} (or a path to a .toml file)"
            )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is accepted
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: not UTF-8 text (byte {exc.start}); a model file is TOML"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{path}: invalid TOML: {exc}{_toml_line(text, exc)}") from None
    except RecursionError:
        raise InputFileError(f"{path}: invalid TOML: values nested too deeply") from None
    return spec_from_dict(data, source=str(path))


def _toml_line(text: str, exc: Exception) -> str:
    """``: '<the line>'`` of a TOML error's line (e.g. a key given twice in a prior's
    table), cut to one short line; '' when the message names no line."""
    m = re.search(r"at line (\d+)", str(exc))
    lines = text.splitlines()
    if not m or not 1 <= int(m.group(1)) <= len(lines):
        return ""
    return f": {_short(lines[int(m.group(1)) - 1].strip(), 100)}"


def spec_from_json(text: str) -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_json` (used by :func:`load_fit`).

    Raises
    ------
    SpecError
        The text is not JSON, or not a valid model.
    """
    if not isinstance(text, str):
        raise SpecError(f"<stored spec>: expected JSON text, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SpecError(f"<stored spec>: not valid JSON ({exc})") from None
    return spec_from_dict(data, source="<stored spec>")


def validate_spec(spec: ModelSpec) -> ModelSpec:
    """Check a :class:`ModelSpec` built in Python (not through :func:`load_model`) as a
    model file would be checked: the same spec back, or a SpecError naming the key."""
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    for key in ("effects", "mundlak"):
        value = getattr(spec, key)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(
                f"model {_short(spec.name)}: key '{key}' must be a list of column names, "
                f"got {_short(value)}"
            )
    if not isinstance(spec.hierarchy, Mapping):
        raise SpecError(
            f"model {_short(spec.name)}: key 'hierarchy' must be a mapping parameter -> "
            f"grouping column, got {_short(spec.hierarchy)}"
        )
    try:
        d = spec.to_dict()
    except (TypeError, AttributeError) as exc:
        raise SpecError(f"model {spec.name!r}: malformed ModelSpec ({exc})") from None
    return spec_from_dict(d, source=f"model {_short(spec.name)}")
