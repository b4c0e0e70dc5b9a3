"""Model TOML syntax of issue 13: effects as fixest terms (``"importer^industry^year"``)
and priors with named arguments (``{dist = "gamma", alpha = 2.0, beta = 0.1}``).

A bundled model rewritten in the new syntax gives the same :class:`ModelSpec` (and JSON,
and log density) as the file; a term with no key column gets its column built by the
design, with the labels a hand-made column would have; every bad input is refused with one
line naming the key path.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import structest
from structest.errors import InputFileError, SpecError
from structest.structural.design import build_design, effect_labels
from structest.structural.priors import FAMILIES, KWARGS, check_prior
from structest.structural.spec import load_model, normalise_term, spec_from_dict

#: models/bbj.toml in the new syntax: fixest terms for the effects, named priors
BBJ_NEW = """
name = "bbj"
description = "log ratios (eq. 19), Normal errors, RTA regime (eq. 14), importer-industry-year and exporter-industry-year effects partially pooled, left-censored at 0"
ratios = "log"
errors = "normal"
rta_regime = true
lower = 0.0
effects = ["importer^industry^year", "year ^ industry ^ exporter"]
centred_effect = "industry^importer^year"

[priors]
eps = {dist = "lognormal", mu = 1.6, sigma = 0.5}
lambda_abs = {dist = "LogNormal", sigma = 0.5, mu = -0.7}
eps_r_home = {dist = "lognormal", mu = -1.6, sigma = 0.7}
eps_r_abroad = ["lognormal", -1.6, 0.7]
delta = {dist = "lognormal", mu = -3, sigma = 0.7}
delta_star = {dist = "beta", alpha = 2, beta = 2}
delta_dstar = {dist = "TruncatedNormal", mu = 0.0, sigma = 0.5, lower = -1.0}
eps_tilde = {dist = "lognormal", mu = 1.6, sigma = 0.5}
lambda_tilde = {dist = "lognormal", mu = -0.7, sigma = 0.5}
sigma = {dist = "halfnormal", sigma = 5.0}
mu = {dist = "normal", mu = 0, sigma = 10}
"tau_importer^industry^year" = {dist = "halfnormal", sigma = 5.0}
tau_exp_ind_year = ["halfnormal", 5.0]
"""

#: models/bbj_eq19.toml, models/bbj_cre.toml and models/bbj_hier.toml with fixest terms
REWRITES = {
    "bbj_eq19": {
        "effects": [
            "importer^year",
            "industry^importer",
            "year^industry",
            "exporter^industry^year",
        ],
        "centred_effect": "year^importer",
    },
    "bbj_cre": {
        "effects": ["importer^industry^year", "exporter^industry^year"],
        "centred_effect": "importer^industry^year",
        "mundlak": ["importer ^ industry ^ year", "exp_ind_year"],
    },
    "bbj_hier": {
        "effects": ["imp_ind^year", "exporter^ind_year"],
        "centred_effect": "imp_ind_year",
    },
}


@pytest.fixture(scope="module")
def panel() -> structest.Panel:
    p, _ = structest.simulate(
        seed=2, economies=("USA", "CHN", "DEU", "JPN"), industries=("c3", "c4"), years=(1995, 2005)
    )
    return p


def _log_density(spec, panel_like, point=None, seed: int = 1):
    """NumPyro joint log density of ``spec`` on a panel at ``point`` (default: a prior
    draw), and the point."""
    import jax
    from numpyro import handlers
    from numpyro.infer.util import log_density

    from structest.structural.backends.numpyro import model as numpyro_model
    from structest.structural.program import Layout

    design = build_design(panel_like, spec)
    layout = Layout.of(design)
    with jax.enable_x64(True):
        arrays = {k: jax.numpy.asarray(v) for k, v in design.arrays.items()}
        if point is None:
            tr = handlers.trace(handlers.seed(numpyro_model, jax.random.PRNGKey(seed))).get_trace(
                arrays, spec, layout, True
            )
            point = {
                k: s["value"]
                for k, s in tr.items()
                if s["type"] == "sample" and not s.get("is_observed") and k != "loglik"
            }
        lp, _ = log_density(numpyro_model, (arrays, spec, layout, True), {}, point)
    return float(lp), point


# ------------------------------------------------------------------------- same model


def test_bbj_in_new_syntax_is_the_same_spec_and_log_density(panel) -> None:
    old = load_model("bbj")
    new = spec_from_dict(tomllib.loads(BBJ_NEW), source="<bbj new>")
    assert new == old
    assert new.to_json() == old.to_json()
    assert new.effects == ("imp_ind_year", "exp_ind_year")
    lp_old, point = _log_density(old, panel)
    lp_new, _ = _log_density(new, panel, point)
    assert np.isfinite(lp_old)
    assert lp_new == lp_old


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_bundled_models_with_fixest_terms(name) -> None:
    old = load_model(name)
    d = old.to_dict()
    d.update(REWRITES[name])
    assert spec_from_dict(d).to_json() == old.to_json()


def test_toml_round_trip_with_a_derived_term(tmp_path, panel) -> None:
    spec = spec_from_dict(
        {
            "name": "x",
            "effects": ["year^exporter^importer", "importer^industry^year"],
            "centred_effect": "importer^industry^year",
            "mundlak": ["importer^exporter^year"],
            "hierarchy": {"eps": "industry^exporter"},
            "priors": {
                "tau_importer^year^exporter": {"dist": "halfnormal", "sigma": 2.0},
                "gamma_year^importer^exporter": {"dist": "normal", "mu": 0.0, "sigma": 3.0},
                "nu": {"dist": "gamma", "alpha": 2.0, "beta": 0.1},
            },
            "errors": "student_t",
        }
    )
    assert spec.effects == ("importer^exporter^year", "imp_ind_year")
    assert spec.mundlak == ("importer^exporter^year",)
    assert dict(spec.hierarchy) == {"eps": "exp_ind"}
    assert spec.priors["tau_importer^exporter^year"] == ("halfnormal", 2.0)
    assert spec.priors["gamma_importer^exporter^year"] == ("normal", 0.0, 3.0)
    assert spec.priors["nu"] == ("gamma", 2.0, 0.1)
    path = tmp_path / "m.toml"
    path.write_text(spec.to_toml())
    assert load_model(path) == spec
    assert structest.structural.spec.spec_from_json(spec.to_json()) == spec
    # the override API takes named priors and fixest-term keys too
    wide = spec.with_priors({"tau_year^importer^exporter": {"dist": "halfnormal", "sigma": 9}})
    assert wide.priors["tau_importer^exporter^year"] == ("halfnormal", 9.0)


def test_derived_term_design_equals_a_hand_made_column(panel) -> None:
    df = panel.df
    labels = effect_labels(df, "importer^exporter^year")
    want = df.importer.astype(str) + "_" + df.exporter.astype(str) + "_" + df.year.astype(str)
    assert (labels == want).all()
    assert labels.nunique() == df.groupby(["importer", "exporter", "year"]).ngroups
    # a key term's labels are the panel's key column
    assert (effect_labels(df, "imp_ind_year") == df.imp_ind_year).all()

    term = spec_from_dict(
        {"name": "t", "effects": ["importer^industry^year", "year^importer^exporter"]}
    )
    # the same model on a frame with the column made by hand under another name
    hand = replace(
        term,
        effects=("imp_ind_year", "iey"),
        priors={
            ("tau_iey" if k == "tau_importer^exporter^year" else k): v
            for k, v in term.priors.items()
        },
    )
    frame = SimpleNamespace(df=df.assign(iey=want))
    d_term, d_hand = build_design(panel, term), build_design(frame, hand)
    assert np.array_equal(d_term.arrays["idx_importer^exporter^year"], d_hand.arrays["idx_iey"])
    assert list(d_term.levels["importer^exporter^year"]) == list(d_hand.levels["iey"])
    lp_term, point = _log_density(term, panel)
    renamed = {k.replace("importer^exporter^year", "iey"): v for k, v in point.items()}
    lp_hand, _ = _log_density(hand, frame, renamed)
    assert np.isfinite(lp_term)
    assert lp_term == pytest.approx(lp_hand, rel=1e-12)


def test_derived_term_needs_its_columns(panel) -> None:
    spec = spec_from_dict({"name": "p", "effects": ["importer^product"]})
    assert spec.effects == ("importer^product",)
    with pytest.raises(
        SpecError, match=r"'importer\^product' needs the panel column\(s\) \['product'\]"
    ):
        build_design(panel, spec)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("importer^industry^year", "imp_ind_year"),
        ("year^industry^importer", "imp_ind_year"),
        (" exporter ^ industry ^ year ", "exp_ind_year"),
        ("exporter^importer", "pair"),
        ("industry^year", "ind_year"),
        ("imp_ind^year", "imp_ind_year"),
        ("importer^imp_ind", "imp_ind"),
        ("product^importer", "importer^product"),
        ("year^exporter^importer", "importer^exporter^year"),
        ("imp_ind_year", "imp_ind_year"),
        ("imp_ind_year_decile", "imp_ind_year_decile"),
    ],
)
def test_normalise_term(written, canonical) -> None:
    assert normalise_term(written, "effects[0]") == canonical


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_named_and_positional_priors_agree(family) -> None:
    args = {"lognormal": (0.3, 0.5), "truncnormal": (0.0, 1.0, -1.0)}.get(
        family, tuple(float(k + 2) for k in range(FAMILIES[family]))
    )
    named = {"dist": family.upper(), **dict(zip(KWARGS[family], args, strict=True))}
    assert check_prior("eps", named) == check_prior("eps", [family, *args]) == (family, *args)


# ------------------------------------------------------------------------ bad input

BASE = 'name = "x"\n'
BAD = [
    # effects as fixest terms
    ('effects = ["importer^tariff"]', SpecError,
     r"key 'effects\[0\]' = 'importer\^tariff': 'tariff' is a value column of the panel"),
    ('effects = ["importer^foo"]', SpecError,
     r"'effects\[0\]' = 'importer\^foo': 'foo' is not a grouping column; a\^b combines"),
    ('effects = ["imp_ind_year", "log_dva ^ year"]', SpecError,
     r"'effects\[1\]' = 'log_dva \^ year': 'log_dva' is a value column"),
    ('effects = ["importer^"]', SpecError, r"'effects\[0\]' = 'importer\^' has an empty term"),
    ('effects = ["^year"]', SpecError, r"'effects\[0\]' = '\^year' has an empty term"),
    ('effects = ["importer^^year"]', SpecError, r"has an empty term around '\^'"),
    ('effects = ["importer^importer"]', SpecError, r"'importer\^importer' names 'importer' twice"),
    ('effects = ["imp_ind_year", "industry^importer^year"]', SpecError,
     r"key 'effects' has duplicates: .*\('industry\^importer\^year' is 'imp_ind_year'\)"),
    ('effects = ["importer^regime"]', SpecError, r"'regime' is not a grouping column"),
    ('centred_effect = "importer^mfn"', SpecError,
     r"key 'centred_effect' = 'importer\^mfn': 'mfn' is a value column"),
    ('centred_effect = "importer^exporter"', SpecError,
     r"key 'centred_effect' = 'pair' is not one of effects"),
    ('mundlak = ["importer^dva"]', SpecError, r"key 'mundlak\[0\]' = 'importer\^dva': 'dva' is a value"),
    ('mundlak = ["exporter^importer"]', SpecError, r"key 'mundlak' = \['pair'\] must name distinct effects"),
    ('[hierarchy]\neps = "importer^tariff"', SpecError,
     r"hierarchy\.eps = 'importer\^tariff': 'tariff' is a value column"),
    ('[priors]\n"tau_importer^tariff" = ["halfnormal", 1.0]', SpecError,
     r"priors\.tau_importer\^tariff: effect = 'importer\^tariff': 'tariff' is a value column"),
    ('[priors]\ntau_imp_ind_year = ["halfnormal", 1.0]\n"tau_year^industry^importer" = ["halfnormal", 2.0]',
     SpecError, r"\[priors\] gives 'tau_imp_ind_year' twice \(as 'tau_imp_ind_year' and 'tau_year"),
    ('[priors]\n"tau_importer^exporter^year" = ["halfnormal", 1.0]', SpecError,
     r"\[priors\] unknown parameter\(s\) \['tau_importer\^exporter\^year'\]"),
    # named priors
    ('errors = "student_t"\n[priors]\nnu = {dist = "gamma", alpha = 2.0, rate = 0.1}', SpecError,
     r"priors\.nu: gamma takes alpha, beta; got 'rate' \(did you mean 'beta'\?\)$"),
    ('[priors]\neps = {dist = "lognormal", mu = 1.6}', SpecError,
     r"priors\.eps: lognormal takes mu, sigma; missing 'sigma'$"),
    ('[priors]\neps = {dist = "lognormal", mu = 1.6, sigma = 0.5, tau = 2.0}', SpecError,
     r"priors\.eps: lognormal takes mu, sigma; got 'tau'$"),
    ('[priors]\neps = {dist = "lognormal", loc = 1.6, sigma = 0.5}', SpecError,
     r"priors\.eps: lognormal takes mu, sigma; got 'loc' \(did you mean 'mu'\?\)"),
    ('[priors]\neps = {dist = "lognormal", mu = 1.6, sigma = 0.5, Mu = 1.0}', SpecError,
     r"priors\.eps: lognormal takes mu, sigma; got argument 'mu' more than once \('mu', 'Mu'\)"),
    ('[priors]\ndelta_dstar = {dist = "truncnormal", mu = 0.0, sigma = 0.5, low = -1.0}', SpecError,
     r"priors\.delta_dstar: truncnormal takes mu, sigma, lower; got 'low' \(did you mean 'lower'\?\)"),
    ('[priors]\nsigma = {dist = "exponential", rate = 0.2}', SpecError,
     r"priors\.sigma: exponential takes lam; got 'rate' \(did you mean 'lam'\?\)"),
    ('[priors]\neps = {mu = 1.6, sigma = 0.5}', SpecError,
     r"priors\.eps: the prior for 'eps' must be a list \[family, \*args\] or a table with dist = .*\(no 'dist' key\)"),
    ('[priors]\neps = {family = "lognormal", mu = 1.6, sigma = 0.5}', SpecError,
     r"priors\.eps: .*got \{'family': 'lognormal'.*\(no 'dist' key\) \(did you mean 'dist'\?\)"),
    ('[priors]\neps = {}', SpecError, r"priors\.eps: .*got \{\} \(no 'dist' key\)"),
    ('[priors]\neps = {dist = "cauchy", mu = 0.0, sigma = 1.0}', SpecError,
     r"priors\.eps: the prior for 'eps' has unknown family 'cauchy'; known: \['beta'"),
    ('[priors]\neps = {dist = 5, mu = 0.0}', SpecError, r"priors\.eps: .*unknown family 5"),
    ('[priors]\neps = {dist = "lognormal", mu = "1.6", sigma = 0.5}', SpecError,
     r"priors\.eps: mu of 'eps' \(lognormal argument 'mu'\) must be a number, got '1\.6'"),
    ('[priors]\neps = {dist = "lognormal", mu = true, sigma = 0.5}', SpecError,
     r"priors\.eps: mu of 'eps' .* must be a number, got True"),
    ('[priors]\neps = {dist = "lognormal", mu = nan, sigma = 0.5}', SpecError,
     r"priors\.eps: mu of 'eps' .* must be a finite number, got nan"),
    ('[priors]\nsigma = {dist = "halfnormal", sigma = -1.0}', SpecError,
     r"priors\.sigma: sigma of 'sigma' \(halfnormal argument 'sigma'\) must be a positive finite number, got -1\.0"),
    ('[priors]\ndelta_star = {dist = "beta", alpha = 2.0, beta = 0.0}', SpecError,
     r"priors\.delta_star: beta of 'delta_star' .* must be a positive finite number, got 0\.0"),
    ('[priors]\neps = {dist = "lognormal", mu = 100.0, sigma = 1.0}', SpecError,
     r"priors\.eps: lognormal prior of 'eps' needs \|location\| <= 50"),
    ('[priors]\neps = {dist = "lognormal", mu = [1.6], sigma = 0.5}', SpecError,
     r"priors\.eps: mu of 'eps' .* must be a number, got \[1\.6\]"),
    ('[priors]\nepsilon = {dist = "lognormal", mu = 1.6, sigma = 0.5}', SpecError,
     r"\[priors\] unknown parameter\(s\) \['epsilon'\]"),
    # a truncated normal says neither log, logit nor additive heterogeneity
    ('[hierarchy]\neps = "importer"\n[priors]\neps = {dist = "truncnormal", mu = 5.0, sigma = 1.0, lower = 0.5}', SpecError,
     r"\[hierarchy\] 'eps' needs a prior family whose support says how it varies"),
    ('[priors]\neps = {dist = "gamma", alpha = 2.0, alpha = 3.0, beta = 1.0}', InputFileError,
     r"invalid TOML: .*'alpha'.*\(at line 3, .*: 'eps = \{dist = \"gamma\", alpha = 2\.0, alpha = 3\.0"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "error", "pattern"), BAD)
def test_bad_model_files(tmp_path, body, error, pattern) -> None:
    path = tmp_path / "m.toml"
    path.write_text(BASE + body + "\n")
    with pytest.raises(error, match=pattern) as info:
        load_model(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path))


BAD_OVERRIDES = [
    ({"eps": {"dist": "gamma", "alpha": 2.0, "rate": 1.0}}, r"priors\.eps: gamma takes alpha, beta; got 'rate'"),
    ({"eps": {"dist": "gamma", 1: 2.0}}, r"priors\.eps: argument names must be strings, got \[1\]"),
    ({"tau_importer^foo": ["halfnormal", 1.0]}, r"'foo' is not a grouping column"),
    ({"eps": {"dist": "lognormal", "mu": np.float64("nan"), "sigma": 0.5}}, r"mu of 'eps' .* finite number, got nan"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "pattern"), BAD_OVERRIDES)
def test_bad_prior_overrides(overrides, pattern) -> None:
    with pytest.raises(SpecError, match=pattern) as info:
        load_model("bbj").with_priors(overrides)
    assert "\n" not in str(info.value)
