"""Bad input to the structural step: fit options, model TOML files, uninformative panels,
sampler verdicts, fit files, and seeds that do not depend on the device count.

Every case names the expected error type and a regex of its one-line message. Nothing
here samples in-process; the only NUTS runs are the two subprocesses of
:func:`test_seed_gives_same_draws_with_1_and_2_host_devices`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import structest
from structest.errors import (
    EstimationError,
    InputFileError,
    OptionError,
    OutputError,
    PanelError,
    SpecError,
    StructestError,
)
from structest.structural import StructuralFit, check_sampling, fit
from structest.structural.design import InformationWarning, build_design, check_information
from structest.structural.spec import load_model, spec_from_dict, validate_spec

ECON = ("USA", "CHN", "DEU", "JPN")
INDS = ("c3", "c4")
CORE = ["importer", "exporter", "industry", "year", "tariff", "mfn", "dva", "fva", "fg", "imports", "rta"]  # fmt: skip


@pytest.fixture(scope="module")
def panel() -> structest.Panel:
    p, _ = structest.simulate(seed=2, economies=ECON, industries=INDS, years=(1995,))
    return p


@pytest.fixture(scope="module")
def raw(panel) -> pd.DataFrame:
    """The input columns of the small panel (what a user hands to Panel.from_frame)."""
    return panel.df[CORE].copy()


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text.strip(), "empty message"
    if not isinstance(exc, PanelError):
        assert "\n" not in text, f"message is not one line: {text!r}"
    assert "Traceback" not in text
    return text


# ---------------------------------------------------------------------------- fit options

OPTION_CASES = [
    ({"chains": 2.5}, r"fit: chains must be an integer in \[1, 128\], got float 2\.5"),
    ({"chains": 0}, r"fit: chains must be an integer .* got 0"),
    ({"chains": True}, r"fit: chains must be an integer .* got bool True"),
    ({"chains": 10**6}, r"fit: chains must be an integer in \[1, 128\]"),
    ({"draws": -1}, r"fit: draws must be an integer in \[1, 1000000\], got -1"),
    ({"draws": "100"}, r"fit: draws must be an integer .* got str '100'"),
    ({"tune": np.int64(-3)}, r"fit: tune must be an integer in \[0, "),
    ({"n_prior": -1}, r"fit: n_prior must be an integer in \[0, "),
    ({"target_accept": 1.5}, r"fit: target_accept must lie in \(0, 1\), got 1\.5"),
    ({"target_accept": 0}, r"fit: target_accept must lie in \(0, 1\), got 0"),
    ({"target_accept": float("nan")}, r"fit: target_accept must lie in \(0, 1\), got nan"),
    ({"target_accept": "0.9"}, r"fit: target_accept must be a number in \(0, 1\), got str"),
    ({"target_accept": True}, r"fit: target_accept must be a number .* got bool True"),
    ({"backend": "stan"}, r"fit: backend must be 'numpyro' or 'pymc', got 'stan'"),
    ({"backend": ["numpyro"]}, r"fit: backend must be 'numpyro' or 'pymc'"),
    ({"chain_method": "threads"}, r"fit: chain_method must be one of .*'threads'"),
    ({"seed": "a"}, r"fit: seed must be an integer in \[0, 4294967295\], got str 'a'"),
    ({"seed": 1.5}, r"fit: seed must be an integer .* got float 1\.5"),
    ({"seed": -1}, r"fit: seed must be an integer .* got -1"),
    ({"seed": 2**40}, r"fit: seed must be an integer in \[0, 4294967295\]"),
    ({"progress_bar": "yes"}, r"fit: progress_bar must be True, False or None, got 'yes'"),
    ({"priors": 5}, r"fit: priors must be a mapping .* got int 5"),
    ({"priors": [("eps", "lognormal")]}, r"fit: priors must be a mapping"),
]


@pytest.mark.parametrize(("kwargs", "match"), OPTION_CASES)
def test_fit_rejects_bad_options_before_any_work(panel, kwargs, match) -> None:
    with pytest.raises(OptionError, match=match) as info:
        fit(panel, "bbj", **{"chains": 1, "draws": 10, "tune": 10, **kwargs})
    one_line(info.value)


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ([1, 2], r"fit: panel must be a structest Panel, a pandas DataFrame .* got list"),
        ("panel.csv", r"fit: panel must be a structest Panel.* got str"),
    ],
)
def test_fit_rejects_a_panel_of_the_wrong_type(obj, match) -> None:
    with pytest.raises(OptionError, match=match):
        fit(obj, "bbj", chains=1, draws=10, tune=10)


def test_fit_accepts_a_dataframe_through_panel_from_frame(raw, panel) -> None:
    from structest.structural.sampling import _as_panel

    wrapped = _as_panel(raw)
    assert isinstance(wrapped, structest.Panel)
    assert wrapped.fingerprint() == structest.Panel.from_frame(raw).fingerprint()
    assert wrapped.fingerprint() == panel.fingerprint()
    # an invalid DataFrame: PanelError naming the column, before any sampling
    with pytest.raises(PanelError, match=r"column 'dva' must be > 0"):
        fit(raw.assign(dva=-1.0), "bbj", chains=1, draws=10, tune=10)
    # a DataFrame without information reaches the information check (so it was wrapped)
    with pytest.raises(EstimationError, match="none of the panel's 24 observations"):
        fit(raw.assign(mfn=0.0, tariff=0.0), "bbj", chains=1, draws=10, tune=10)


# ---------------------------------------------------------------------------- model TOML

TOML_CASES = [
    ('name="x"\n[priors]\neps = ["lognormal", nan, 0.5]\n', SpecError,
     r"priors\.eps: location \(mean of the log\) of 'eps' .* must be a finite number, got nan"),
    ('name="x"\n[priors]\neps = ["lognormal", 1.6, inf]\n', SpecError,
     r"priors\.eps: sd \(of the log\) of 'eps' .* must be a positive finite number, got inf"),
    ('name="x"\n[priors]\nmu = ["normal", 0.0, inf]\n', SpecError,
     r"priors\.mu: sd of 'mu' .* must be a positive finite number, got inf"),
    ('name="x"\n[priors]\nsigma = ["halfnormal", -1.0]\n', SpecError,
     r"priors\.sigma: sd of 'sigma' \(halfnormal argument 1\) must be a positive finite number, got -1\.0"),
    ('name="x"\n[priors]\ndelta_star = ["beta", 0.0, 2.0]\n', SpecError,
     r"priors\.delta_star: alpha of 'delta_star' .* positive finite number, got 0\.0"),
    ('name="x"\nerrors = "student_t"\n[priors]\nnu = ["gamma", 2.0, -0.1]\n', SpecError,
     r"priors\.nu: rate of 'nu' \(gamma argument 2\) must be a positive finite number"),
    ('name="x"\n[priors]\ndelta_dstar = ["truncnormal", 0.0, 0.5, nan]\n', SpecError,
     r"priors\.delta_dstar: low of 'delta_dstar' .* must be a finite number, got nan"),
    ('name="x"\n[priors]\ndelta_dstar = ["truncnormal", 0.0, 0.5, 100.0]\n', SpecError,
     r"priors\.delta_dstar: .*low = 100 must lie below location \+ 8 sd"),
    ('name="x"\n[priors]\neps = ["lognormal", 1e308, 1.0]\n', SpecError,
     r"priors\.eps: .* = 1e\+308 is beyond \+-1e\+06"),
    ('name="x"\n[priors]\neps = ["lognormal", 100.0, 1.0]\n', SpecError,
     r"priors\.eps: lognormal prior of 'eps' needs \|location\| <= 50"),
    ('name="x"\n[priors]\neps = ["cauchy", 0, 1]\n', SpecError,
     r"priors\.eps: the prior for 'eps' has unknown family 'cauchy'; known: \['beta'"),
    ('name="x"\n[priors]\neps = [5, 1.0, 0.5]\n', SpecError, r"priors\.eps: .*unknown family 5"),
    ('name="x"\n[priors]\neps = ["lognormal", 1.6]\n', SpecError,
     r"priors\.eps: .*family 'lognormal' takes 2 argument\(s\) .*got 1"),
    ('name="x"\n[priors]\nsigma = ["halfnormal", 1.0, 2.0, 3.0]\n', SpecError,
     r"priors\.sigma: .*'halfnormal' takes 1 argument\(s\) \(sd\), got 3"),
    ('name="x"\n[priors]\neps = ["lognormal", true, 0.5]\n', SpecError,
     r"priors\.eps: location .* must be a number, got True"),
    ('name="x"\n[priors]\neps = ["lognormal", "1.6", 0.5]\n', SpecError,
     r"priors\.eps: location .* must be a number, got '1\.6'"),
    ('name="x"\n[priors]\neps = "lognormal"\n', SpecError,
     r"priors\.eps: the prior for 'eps' must be a list \[family, \*args\]"),
    ('name="x"\n[priors.eps]\nfamily = "lognormal"\n', SpecError,
     r"priors\.eps: the prior for 'eps' must be a list .*got \{'family'"),
    ('name="x"\n[priors]\neps = [["lognormal", [1.6]], 0.5]\n', SpecError,
     r"priors\.eps: .*unknown family \['lognormal'"),
    ('name="x"\n[priors]\nepsilon = ["lognormal", 1.6, 0.5]\n', SpecError,
     r"\[priors\] unknown parameter\(s\) \['epsilon'\]"),
    ('name="x"\npriors = 5\n', SpecError, r"\[priors\] must be a table .*got 5"),
    ('name="x"\npriors = [1, 2]\n', SpecError, r"\[priors\] must be a table .*got \[1, 2\]"),
    ('name="x"\nhierarchy = ["eps"]\n', SpecError, r"\[hierarchy\] must be a table"),
    ('name="x"\n[hierarchy]\neps = 5\n', SpecError, r"\[hierarchy\] 'eps' must name a panel column, got 5"),
    ('name="x"\n[hierarchy]\neps = "ind\\u0000"\n', SpecError,
     r"hierarchy\.eps must not contain control characters"),
    ('name="x"\n[a.b.c.d.e]\nf = 1\n', SpecError, r"unknown key\(s\) \['a'\]"),
    ('name="x"\nfoo = 1\n', SpecError, r"unknown key\(s\) \['foo'\]"),
    ('name="x\\u0000y"\n', SpecError, r"key 'name' must not contain control characters"),
    ('name=5\n', SpecError, r"key 'name' must be a string \(the model's name\), got 5"),
    ('name=""\n', SpecError, r"key 'name' must be a non-empty string"),
    ('description = "no name"\n', SpecError, r"missing key 'name'"),
    ('name="x"\ndescription=5\n', SpecError, r"key 'description' must be a string, got 5"),
    ('name="x"\nlower = inf\n', SpecError, r"key 'lower' must be a finite number of pp .* got inf"),
    ('name="x"\nlower = nan\n', SpecError, r"key 'lower' must be a finite number .* got nan"),
    ('name="x"\nlower = -inf\n', SpecError, r"key 'lower' .*\"none\" \(no lower bound\), got -inf"),
    ('name="x"\nlower = "zero"\n', SpecError, r"key 'lower' must be a number or \"none\", got 'zero'"),
    ('name="x"\nratios = 5\n', SpecError, r"key 'ratios' must be 'log' or 'level', got 5"),
    ('name="x"\nerrors = ["normal"]\n', SpecError, r"key 'errors' must be one of .*got \['normal'\]"),
    ('name="x"\neffects = "imp_ind_year"\n', SpecError, r"key 'effects' must be a list of panel column names"),
    ('name="x"\neffects = ["imp\\u0000"]\n', SpecError, r"key 'effects\[0\]' must not contain control"),
    ('name="x"\neffects = ["pair", 3]\n', SpecError, r"key 'effects\[1\]' must be a string"),
    ('name="x"\nrta_regime = "yes"\n', SpecError, r"key 'rta_regime' must be true/false, got 'yes'"),
    ('name = "x\n[priors\n', InputFileError, r"\.toml: invalid TOML: "),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", InputFileError, r"invalid TOML"),
    ("", SpecError, r"missing key 'name'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "error", "match"), TOML_CASES)
def test_model_file_errors_name_the_key(tmp_path, text, error, match) -> None:
    path = tmp_path / "model.toml"
    path.write_text(text)
    with pytest.raises(error, match=match) as info:
        load_model(path)
    msg = one_line(info.value)
    assert str(path) in msg  # the file is named


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda d: d / "missing.toml", InputFileError, r"model file not found: .*missing\.toml"),
        (lambda d: d, InputFileError, r"model file .* is a directory, not a TOML file"),
        (lambda d: (d / "sub.toml").mkdir() or d / "sub.toml", InputFileError, r"is a directory"),
        (
            lambda d: (d / "bin.toml").write_bytes(b'name = "\xff\xfe"\n') and d / "bin.toml",
            InputFileError,
            r"bin\.toml: not UTF-8 text",
        ),
        (lambda d: "no_such_model", SpecError, r"unknown model 'no_such_model'; available: .*bbj"),
        (lambda d: None, SpecError, r"model must be a bundled model name, a path .* got NoneType"),
        (lambda d: 5, SpecError, r"model must be a bundled model name.* got int 5"),
    ],
)
def test_model_file_paths(tmp_path, make, error, match) -> None:
    with pytest.raises(error, match=match) as info:
        load_model(make(tmp_path))
    one_line(info.value)


def test_bad_model_file_fails_in_fit_before_sampling(tmp_path, panel) -> None:
    path = tmp_path / "nul.toml"
    path.write_text('name = "a\\u0000b"\n')
    with pytest.raises(SpecError, match="key 'name' must not contain control characters"):
        fit(panel, str(path), chains=1, draws=10, tune=10)
    # a ModelSpec built in Python is checked like a file (it used to fail when saved)
    with pytest.raises(SpecError, match="key 'name' must not contain control characters"):
        fit(panel, replace(load_model("bbj"), name="a\x00b"), chains=1, draws=10, tune=10)
    with pytest.raises(SpecError, match=r"priors\.eps: location .* finite number, got nan"):
        fit(panel, "bbj", priors={"eps": ("lognormal", float("nan"), 1.0)}, chains=1, draws=10)
    with pytest.raises(SpecError, match=r"key 'lower' must be a finite number"):
        fit(panel, replace(load_model("bbj"), lower=float("inf")), chains=1, draws=10)


def test_valid_specs_pass_unchanged(tmp_path) -> None:
    for name in ("bbj", "bbj_hier", "bbj_mfn_free", "pooled"):
        spec = load_model(name)
        assert validate_spec(spec) == spec
        path = tmp_path / f"{name}.toml"
        path.write_text(spec.to_toml())
        assert load_model(path) == spec
    assert spec_from_dict({"name": "x", "lower": -5}).lower == -5.0


# ---------------------------------------------------------------------------- information


def test_panel_without_uncensored_observations_is_refused(raw) -> None:
    spec = load_model("bbj")
    for frame, match in (
        (raw.assign(mfn=0.0, tariff=0.0), r"0 recorded at MFN, 0 at the lower bound 0, 24 with"),
        (raw.assign(tariff=raw["mfn"]), r"\(24 recorded at MFN, 0 at the lower bound"),
        (raw.assign(tariff=0.0), r"\(0 recorded at MFN, 24 at the lower bound 0"),
    ):
        design = build_design(structest.Panel.from_frame(frame), spec)
        with pytest.raises(EstimationError, match=match) as info:
            check_information(design, spec)
        assert "would return the prior as the posterior" in one_line(info.value)


def test_terms_without_data_are_named(raw) -> None:
    bbj, gsp = load_model("bbj"), load_model("bbj_gsp")
    no_rta = structest.Panel.from_frame(raw.assign(rta=0))
    msgs = check_information(build_design(no_rta, bbj), bbj)
    assert len(msgs) == 1
    assert "no uncensored observation inside RTAs" in msgs[0] and "eps_tilde" in msgs[0]
    assert "'pooled'" in msgs[0]
    # the pooled model needs no RTA rows
    assert check_information(build_design(no_rta, load_model("pooled")), load_model("pooled")) == []
    all_rta = structest.Panel.from_frame(raw.assign(rta=1))
    msgs = check_information(build_design(all_rta, bbj), bbj)
    assert len(msgs) == 1 and "no uncensored observation outside RTAs" in msgs[0]
    no_gsp = structest.Panel.from_frame(raw.assign(gsp=0))
    msgs = check_information(build_design(no_gsp, gsp), gsp)
    assert any("gsp_shift is identified by its prior only" in m for m in msgs)
    # the small panel itself is informative for every term
    assert check_information(build_design(structest.Panel.from_frame(raw), bbj), bbj) == []
    assert issubclass(InformationWarning, UserWarning)


def test_panel_without_derived_columns_is_refused(raw) -> None:
    bare = structest.Panel.from_frame(raw)
    object.__setattr__(bare, "df", bare.df.drop(columns=["log_ip_ratio"]))  # bypass checks
    with pytest.raises(PanelError, match=r"lacks column\(s\) \['log_ip_ratio'\].*from_frame"):
        build_design(bare, load_model("bbj"))


# ---------------------------------------------------------------------------- sampler verdicts


def _idata(chains: int = 4, draws: int = 1000, edit=None, div: int = 0):
    import arviz as az

    rng = np.random.default_rng(0)
    post = {k: rng.normal(size=(chains, draws)) for k in ("a", "b", "c")}
    if edit is not None:
        edit(post)
    diverging = np.zeros((chains, draws), bool)
    diverging.flat[:div] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ: "more chains than draws"
        return az.from_dict(posterior=post, sample_stats={"diverging": diverging})


def _const(post):
    post["b"][:] = 1.5


def _nan(post):
    post["c"][0, 5] = np.nan


def _stuck_chain(post):
    post["a"][1] = 0.25


DIAG_CASES = [
    ({"edit": _const}, r"R-hat is NaN \(not computable.*for 1 variable\(s\): b"),
    ({"edit": _const}, r"constant draws \(the sampler did not move\) in 1 variable\(s\): b"),
    ({"edit": _const, "chains": 1}, r"constant draws .* in 1 variable\(s\): b"),
    ({"edit": _nan}, r"non-finite \(NaN/inf\) draws in 1 variable\(s\): c"),
    ({"edit": _nan}, r"R-hat is NaN .*: c"),
    ({"edit": _stuck_chain}, r"R-hat > 1\.01 for 1 variable\(s\): a="),
    ({"chains": 1}, r"only 1 chain\(s\): R-hat .* cannot be computed"),
    ({"draws": 50}, r"only 50 draw\(s\) per chain: R-hat and ESS are unreliable below 100"),
    ({"draws": 3}, r"bulk ESS not computed \(3 draw\(s\) per chain\)"),
    ({"div": 3}, r"3 divergent transition\(s\) after warm-up"),
]


@pytest.mark.parametrize(("kw", "match"), DIAG_CASES)
def test_sampling_verdicts_cannot_be_fooled(kw, match) -> None:
    msgs = check_sampling(_idata(**kw))
    assert any(__import__("re").search(match, m) for m in msgs), msgs
    assert all("\n" not in m for m in msgs)


def test_clean_run_is_clean() -> None:
    assert check_sampling(_idata()) == []


# ---------------------------------------------------------------------------- fit files


@pytest.fixture(scope="module")
def fit_file(panel, tmp_path_factory) -> Path:
    """A structest fit file made without sampling: random draws of the right shapes."""
    from structest.structural.backends import sample_stats
    from structest.structural.io import assemble_idata, save_idata
    from structest.structural.program import Layout, site_table

    spec = load_model("bbj")
    design = build_design(panel, spec)
    sites = site_table(spec, Layout.of(design), design.arrays)
    rng = np.random.default_rng(0)
    shape = {k: tuple(len(design.coords[d]) for d in sites.dims[k]) for k in sites.stored()}
    samples = {k: rng.lognormal(size=(2, 10, *s)) for k, s in shape.items()}
    zeros = np.zeros((2, 10))
    stats = sample_stats(zeros, zeros + 3, zeros + 2, zeros + 0.9, zeros, zeros)
    idata = assemble_idata(
        samples, stats, {}, np.zeros((2, 10, design.n)), None, spec, sites, design, panel, {}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return save_idata(idata, tmp_path_factory.mktemp("fits") / "good.nc")


def _az_edit(src: Path, dst: Path, edit) -> Path:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = az.from_netcdf(src)
        for g in idata.groups():
            getattr(idata, g).load()
        idata = edit(idata) or idata
        idata.to_netcdf(str(dst))
    return dst


def _attr(key, value):
    def edit(idata):
        if value is None:
            del idata.posterior.attrs[key]
        else:
            idata.posterior.attrs[key] = value

    return edit


FILE_CASES = [
    ("truncated", lambda src, d: (d / "t.nc").write_bytes(src.read_bytes()[: src.stat().st_size // 2]) and d / "t.nc",
     r"t\.nc cannot be read as NetCDF \(truncated or damaged\?\)"),
    ("header only", lambda src, d: (d / "h.nc").write_bytes(src.read_bytes()[:10]) and d / "h.nc",
     r"h\.nc cannot be read as NetCDF"),
    ("zeroed middle", lambda src, d: (d / "z.nc").write_bytes(
        (lambda b: b[: len(b) // 3] + bytes(20000) + b[len(b) // 3 + 20000:])(src.read_bytes())) and d / "z.nc",
     r"z\.nc cannot be read as NetCDF"),
    ("text", lambda src, d: (d / "x.nc").write_text("hello\n") and d / "x.nc",
     r"x\.nc is not a NetCDF file \(it starts with b'hello\\n'\)"),
    ("empty", lambda src, d: (d / "e.nc").write_bytes(b"") or d / "e.nc",
     r"e\.nc is not a NetCDF file \(it is empty\)"),
    ("missing", lambda src, d: d / "nope.nc", r"fit file not found: .*nope\.nc"),
    ("directory", lambda src, d: d, r"is a directory, not a NetCDF file"),
    ("plain netcdf", lambda src, d: __import__("xarray").Dataset({"a": ("x", np.arange(3))}).to_netcdf(d / "p.nc") or d / "p.nc",
     r"p\.nc is not a structest fit: it lacks the group\(s\) \['posterior'"),
    ("no model_spec", lambda src, d: _az_edit(src, d / "s.nc", _attr("model_spec", None)),
     r"s\.nc is not a structest fit: its posterior has no 'model_spec'"),
    ("spec not json", lambda src, d: _az_edit(src, d / "j.nc", _attr("model_spec", "{not json")),
     r"j\.nc: the stored model is invalid: <stored spec>: not valid JSON"),
    ("spec bad key", lambda src, d: _az_edit(src, d / "k.nc", _attr("model_spec", '{"name": "x", "foo": 1}')),
     r"k\.nc: the stored model is invalid: .*unknown key\(s\) \['foo'\]"),
    ("no sample_stats", lambda src, d: _az_edit(src, d / "g.nc", lambda i: __import__("arviz").InferenceData(
        posterior=i.posterior, observed_data=i.observed_data)),
     r"g\.nc is not a structest fit: it lacks the group\(s\) \['sample_stats'\]"),
    ("posterior lacks fe", lambda src, d: _az_edit(src, d / "f.nc", lambda i: setattr(
        i, "posterior", i.posterior.drop_vars("fe_imp_ind_year"))),
     r"f\.nc: this fit's posterior lacks the variable\(s\) \['fe_imp_ind_year'\]"),
    ("stored panel edited", lambda src, d: _az_edit(src, d / "e2.nc", lambda i: setattr(
        i, "panel", i.panel.drop_vars(sorted(i.panel.data_vars)[4]))),
     r"e2\.nc: its stored panel is unusable: .*tariff"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "make", "match"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_fit_files_refused_in_one_line(fit_file, tmp_path, label, make, match) -> None:
    path = make(fit_file, tmp_path)
    with pytest.raises(InputFileError, match=match) as info:
        StructuralFit.load(path)
    one_line(info.value)


def test_good_fit_file_loads(fit_file, panel) -> None:
    back = StructuralFit.load(fit_file)
    assert back.spec == load_model("bbj") and back.panel.fingerprint() == panel.fingerprint()
    other, _ = structest.simulate(seed=3, economies=ECON, industries=INDS, years=(1995,))
    with pytest.raises(StructestError, match="not the one this model was fitted to"):
        StructuralFit.load(fit_file, other)


# ---------------------------------------------------------------------------- seeds


def test_chain_keys_depend_on_seed_and_chain_only() -> None:
    from structest.structural.backends.numpyro import chain_keys
    from structest.structural.backends.pymc import chain_seeds

    k2, k4 = np.asarray(chain_keys(3, 2)), np.asarray(chain_keys(3, 4))
    np.testing.assert_array_equal(k2, k4[:2])
    assert len({tuple(k) for k in k4}) == 4
    assert not np.array_equal(np.asarray(chain_keys(4, 2)), k2)
    assert chain_seeds(3, 2) == chain_seeds(3, 4)[:2] and len(set(chain_seeds(3, 4))) == 4


_SEED_SCRIPT = """
import sys, warnings
import numpy as np
import jax
import structest
panel, _ = structest.simulate(seed=2, economies={econ!r}, industries={inds!r}, years=(1995,))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = structest.fit(panel, "bbj", chains=2, draws=20, tune=20, seed=3, n_prior=0)
print("devices", jax.local_device_count())
post = r.idata.posterior
np.savez(sys.argv[1], **{{k: post[k].values for k in post.data_vars}})
"""


def test_seed_gives_same_draws_with_1_and_2_host_devices(tmp_path) -> None:
    """One seed, 1 vs 2 XLA host devices (chains one after the other vs in parallel):
    bit-identical posterior draws (two subprocesses, run at the same time)."""
    script = tmp_path / "run.py"
    script.write_text(_SEED_SCRIPT.format(econ=ECON, inds=INDS))
    procs = {}
    for n in (1, 2):
        env = {**os.environ, "CI": "true", "STRUCTEST_HOST_DEVICES": str(n)}
        env.pop("XLA_FLAGS", None)
        procs[n] = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / f"d{n}.npz")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outs = {n: p.communicate(timeout=900)[0] for n, p in procs.items()}
    for n, p in procs.items():
        assert p.returncode == 0, outs[n][-2000:]
        assert f"devices {n}" in outs[n]
    a, b = np.load(tmp_path / "d1.npz"), np.load(tmp_path / "d2.npz")
    assert sorted(a.files) == sorted(b.files) and "g_IP" in a.files
    for k in a.files:
        assert a[k].shape[:2] == (2, 20)
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert not np.array_equal(a["eps"][0], a["eps"][1])  # two different chains


# ------------------------------------------- issue 14 sweep: grouping columns, save, files
VALUE_COLUMN_CASES = [
    ('name="x"\neffects = ["tariff"]\n', r"key 'effects\[0\]' = 'tariff' is a value column"),
    ('name="x"\neffects = ["mfn"]\n', r"key 'effects\[0\]' = 'mfn' is a value column"),
    ('name="x"\neffects = ["pair", "dva"]\n', r"key 'effects\[1\]' = 'dva' is a value column"),
    ('name="x"\neffects = ["log_dva"]\n', r"key 'effects\[0\]' = 'log_dva' is a value column"),
    ('name="x"\neffects = ["preference"]\n', r"'preference' is a value column"),
    ('name="x"\neffects = ["dist"]\n', r"'dist' is a value column"),
    ('name="x"\neffects = ["fva_ratio"]\n', r"'fva_ratio' is a value column"),
    ('name="x"\n[hierarchy]\nsigma = "dva"\n', r"hierarchy\.sigma = 'dva' is a value column"),
    ('name="x"\n[hierarchy]\neps = "tariff"\n', r"hierarchy\.eps = 'tariff' is a value column"),
    ('name="x"\n[hierarchy]\neps = "imports"\n', r"hierarchy\.eps = 'imports' is a value column"),
    ('name="x"\n[hierarchy]\neps = "log_fg"\n', r"hierarchy\.eps = 'log_fg' is a value column"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "match"), VALUE_COLUMN_CASES)
def test_value_columns_are_not_grouping_columns(tmp_path, text, match) -> None:
    path = tmp_path / "model.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=match) as info:
        load_model(path)
    msg = one_line(info.value)
    assert str(path) in msg and "not a grouping column" in msg


@pytest.mark.parametrize(
    "text",
    [
        'name="x"\neffects = ["pair", "imp_ind_year"]\n',
        'name="x"\n[hierarchy]\neps = "industry"\n',
        'name="x"\n[hierarchy]\nsigma = "regime"\n',
    ],
)
def test_grouping_columns_still_pass(tmp_path, text) -> None:
    path = tmp_path / "model.toml"
    path.write_text(text)
    load_model(path)


def test_custom_continuous_column_refused_by_the_design(panel) -> None:
    df = panel.df.assign(weight=np.linspace(0.1, 0.9, len(panel.df)), code=1.0)
    p = structest.Panel(df)
    with pytest.raises(SpecError, match=r"column 'weight' \(effects/hierarchy\) holds continuous"):
        build_design(p, replace(load_model("bbj"), effects=("weight",)))
    build_design(p, replace(load_model("bbj"), effects=("code",)))  # whole numbers: labels


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"effects": "imp_ind_year"}, r"key 'effects' must be a list of column names, got 'imp_"),
        ({"effects": None}, r"key 'effects' must be a list of column names, got None"),
        ({"mundlak": "imp_ind_year"}, r"key 'mundlak' must be a list of column names"),
        ({"hierarchy": ["eps"]}, r"key 'hierarchy' must be a mapping parameter -> grouping"),
        ({"effects": ("tariff",)}, r"key 'effects\[0\]' = 'tariff' is a value column"),
    ],
)
def test_validate_spec_names_the_bad_field(changes, match) -> None:
    with pytest.raises(SpecError, match=match) as info:
        validate_spec(replace(load_model("bbj"), **changes))
    one_line(info.value)


def test_model_toml_with_a_byte_order_mark(tmp_path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + load_model("bbj").to_toml().encode())
    assert load_model(path) == load_model("bbj")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_model_and_fit_files_that_are_not_regular_files(tmp_path, kind) -> None:
    for name, load, what in (
        ("m.toml", load_model, "model file"),
        ("f.nc", StructuralFit.load, "fit file"),
    ):
        p = tmp_path / name
        os.mkfifo(p) if kind == "fifo" else os.symlink("/dev/zero", p)
        with pytest.raises(InputFileError, match=rf"{what} \S+: is not a regular file") as info:
            load(p)
        one_line(info.value)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: (d / "p.csv").write_text("importer,x\n") and d / "p.csv",
         r"StructuralFit\.save \S*p\.csv: exists and is not a NetCDF file; refusing to overwrite"),
        (lambda d: (d / "keep.txt").write_text("notes") and d / "keep.txt",
         r"keep\.txt: exists and is not a NetCDF file"),
        (lambda d: d, r"StructuralFit\.save \S+: is a folder; give a file name"),
        (lambda d: "", r"StructuralFit\.save: empty path"),
    ],
    ids=["csv", "text", "folder", "empty-path"],
)  # fmt: skip
def test_save_never_replaces_a_file_that_is_not_netcdf(fit_file, tmp_path, make, match) -> None:
    fitted = StructuralFit.load(fit_file)
    path = make(tmp_path)
    before = Path(path).read_bytes() if path and Path(path).is_file() else None
    with pytest.raises(OutputError, match=match) as info:
        fitted.save(path)
    one_line(info.value)
    if before is not None:
        assert Path(path).read_bytes() == before


def test_save_replaces_a_netcdf_or_empty_file(fit_file, tmp_path) -> None:
    fitted = StructuralFit.load(fit_file)
    (tmp_path / "old.nc").write_bytes(fit_file.read_bytes())
    (tmp_path / "empty.nc").write_bytes(b"")
    for name in ("old.nc", "empty.nc", "new.nc"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted.save(tmp_path / name)
        assert StructuralFit.load(tmp_path / name).spec == fitted.spec
