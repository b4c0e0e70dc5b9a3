"""Model specs as data: loading, validation, prior overrides, round trips."""

from __future__ import annotations

import pytest

from structest.errors import SpecError
from structest.structural.spec import available_models, load_model, spec_from_dict, spec_from_json

BUNDLED = ("bbj", "bbj_level", "bbj_t", "pooled", "bbj_hier", "bbj_eq19", "bbj_cre")


def test_bundled_models_load() -> None:
    assert set(BUNDLED) <= set(available_models())
    for name in BUNDLED:
        spec = load_model(name)
        assert spec.name == name
        assert {*spec.scalar_params, *spec.vector_params} == set(spec.priors)
    assert load_model("bbj").ratios == "log" and load_model("bbj_level").ratios == "level"
    assert load_model("bbj_t").errors == "student_t" and "nu" in load_model("bbj_t").priors
    assert "eps_tilde" not in load_model("pooled").priors
    assert dict(load_model("bbj_hier").hierarchy) == {"eps_r_abroad": "industry", "eps": "importer"}


def test_unknown_model_lists_available() -> None:
    with pytest.raises(SpecError, match="bbj_level"):
        load_model("no_such_model")


def test_prior_override_and_errors() -> None:
    spec = load_model("bbj").with_priors({"eps": ("lognormal", 2.3, 0.5)})
    assert spec.priors["eps"] == ("lognormal", 2.3, 0.5)
    with pytest.raises(SpecError, match="epsilon"):
        load_model("bbj").with_priors({"epsilon": ("lognormal", 2.3, 0.5)})
    with pytest.raises(SpecError, match="'eps'.*unknown family"):
        load_model("bbj").with_priors({"eps": ("cauchy", 0, 1)})
    with pytest.raises(SpecError, match="'sigma'"):
        load_model("bbj").with_priors({"sigma": ("halfnormal", -1.0)})


def test_bad_keys_named() -> None:
    with pytest.raises(SpecError, match="ratio"):
        spec_from_dict({"name": "x", "ratio": "log"})
    with pytest.raises(SpecError, match="'errors'"):
        spec_from_dict({"name": "x", "errors": "cauchy"})
    with pytest.raises(SpecError, match=r"\[hierarchy\] key 'foo'"):
        spec_from_dict({"name": "x", "hierarchy": {"foo": "industry"}})
    # delta_dstar's truncated normal says neither log, logit nor additive heterogeneity
    with pytest.raises(SpecError, match="'delta_dstar' needs a prior family whose support"):
        spec_from_dict({"name": "x", "hierarchy": {"delta_dstar": "industry"}})
    # outlier_share varies by group only under contaminated errors
    with pytest.raises(SpecError, match=r"\[hierarchy\] key 'outlier_share'"):
        spec_from_dict({"name": "x", "hierarchy": {"outlier_share": "regime"}})
    with pytest.raises(SpecError, match="'centred_effect' = 'pair' is not one of effects"):
        spec_from_dict({"name": "x", "centred_effect": "pair"})
    with pytest.raises(SpecError, match="'centred_effect' must be a string"):
        spec_from_dict({"name": "x", "centred_effect": ["imp_ind_year"]})


def test_roundtrip_toml_and_json(tmp_path) -> None:
    spec = load_model("bbj_hier").with_priors({"delta": ("lognormal", -2.0, 0.7)})
    path = tmp_path / "m.toml"
    path.write_text(spec.to_toml())
    assert load_model(path) == spec
    assert spec_from_json(spec.to_json()) == spec
    assert spec.centred_effect == "imp_ind_year"
    assert load_model("bbj_eq19").centred_effect == "imp_year"
    assert spec_from_dict({"name": "x"}).centred_effect is None
    none_lower = spec_from_dict({"name": "x", "lower": "none"})
    assert none_lower.lower is None
    assert spec_from_json(none_lower.to_json()).lower is None


def test_mundlak_effects() -> None:
    cre = load_model("bbj_cre")
    assert cre.mundlak == ("imp_ind_year", "exp_ind_year")
    assert cre.vector_params == ("gamma_imp_ind_year", "gamma_exp_ind_year")
    assert cre.mundlak_regressors == (
        "x_ip_out",
        "x_fva_out",
        "x_dva_out",
        "x_ip_in",
        "x_fva_in",
        "rta",
    )
    assert load_model("pooled").mundlak_regressors == ("x_ip", "x_fva", "x_dva")
    assert spec_from_json(cre.to_json()) == cre
    assert load_model("bbj").mundlak == ()
    wide = cre.with_priors({"gamma_imp_ind_year": ("normal", 0.0, 50.0)})
    assert wide.priors["gamma_imp_ind_year"] == ("normal", 0.0, 50.0)
    with pytest.raises(SpecError, match="'mundlak'.*must name distinct effects"):
        spec_from_dict({"name": "x", "mundlak": ["pair"]})
    with pytest.raises(SpecError, match="'mundlak' must be a list"):
        spec_from_dict({"name": "x", "mundlak": "imp_ind_year"})


def test_named_priors_win_over_prefix_defaults() -> None:
    """gamma_mfn has its own default prior, not the Mundlak vectors' (gamma_<effect>)."""
    from structest.structural.spec import DEFAULT_PRIORS

    assert load_model("bbj_mfn").priors["gamma_mfn"] == DEFAULT_PRIORS["gamma_mfn"]
    assert DEFAULT_PRIORS["gamma_mfn"] != DEFAULT_PRIORS["gamma"]
    assert load_model("bbj_cre").priors["gamma_imp_ind_year"] == DEFAULT_PRIORS["gamma"]
