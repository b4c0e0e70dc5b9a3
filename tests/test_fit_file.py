"""Fit files: zlib by default, float32 draws, the log-likelihood left out and computed again.

Fits are built without sampling (see ``test_fit_summary.synthetic_fit``); the CLI runs
in-process with the sampler replaced by that fit.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_fit_summary import synthetic_fit  # tests/ is on sys.path
from typer.testing import CliRunner

import structest
from structest.cli import app
from structest.errors import OptionError, OutputError, StructestError
from structest.structural import StructuralFit, io
from structest.structural.io import save_idata


@pytest.fixture(scope="module")
def sfit():
    return synthetic_fit(n_draws=30, seed=3)


@pytest.fixture(scope="module")
def files(sfit, tmp_path_factory):
    d = tmp_path_factory.mktemp("fits")
    variants = {
        "raw": {"compress": False},
        "default": {},
        "float32": {"float32": True},
        "no_ll": {"log_likelihood": False},
        "float32_no_ll": {"float32": True, "log_likelihood": False},
    }
    # this fit is tiny: compress arrays from 1 kB on (the default threshold is 64 kB)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(io, "COMPRESS_MIN_BYTES", 1024)
        return {k: sfit.save(d / f"{k}.nc", **kw) for k, kw in variants.items()}


def test_compressed_by_default_and_sizes_ordered(files) -> None:
    size = {k: p.stat().st_size for k, p in files.items()}
    with h5py.File(files["default"]) as f:
        assert f["log_likelihood/tariff"].compression == "gzip"
        assert f["log_likelihood/tariff"].shuffle
        assert f["posterior"].attrs["storage_log_likelihood"] == "stored"
    with h5py.File(files["raw"]) as f:
        assert f["log_likelihood/tariff"].compression is None
    with h5py.File(files["float32"]) as f:
        assert f["log_likelihood/tariff"].dtype == np.float32
        assert f["posterior/g_IP"].dtype == np.float32
        assert f["observed_data/tariff"].dtype == np.float64  # the data keep full precision
    with h5py.File(files["no_ll"]) as f:
        assert "log_likelihood" not in f and f["posterior"].attrs["storage_dtype"] == "float64"
    # zlib stores the log-likelihood in fewer bytes (on a fit this small the HDF5 index of
    # a chunked array costs more than that: the file sizes are compared on large fits)
    with h5py.File(files["default"]) as f, h5py.File(files["raw"]) as g:
        ll_zip = f["log_likelihood/tariff"].id.get_storage_size()
        ll_raw = g["log_likelihood/tariff"].id.get_storage_size()
    assert ll_zip < ll_raw
    assert size["float32"] < size["default"]
    assert size["no_ll"] < size["default"] and size["float32_no_ll"] < size["no_ll"]


def test_roundtrip_default_is_exact(sfit, files) -> None:
    back = StructuralFit.load(files["default"])
    for g in ("posterior", "log_likelihood", "observed_data", "constant_data"):
        a, b = getattr(sfit.idata, g), getattr(back.idata, g)
        for k in a.data_vars:
            np.testing.assert_array_equal(np.asarray(b[k].values), np.asarray(a[k].values))
    assert back.panel.fingerprint() == sfit.panel.fingerprint()


def test_roundtrip_float32_to_float32_precision(sfit, files) -> None:
    back = StructuralFit.load(files["float32"])
    for k in sfit.posterior.data_vars:
        got = back.posterior[k].values
        assert got.dtype == np.float64  # read back as float64 for the maths downstream
        np.testing.assert_array_equal(got, sfit.posterior[k].values.astype(np.float32))
    ll = back.idata.log_likelihood["tariff"].values
    want = sfit.idata.log_likelihood["tariff"].values
    np.testing.assert_allclose(ll, want, rtol=1e-6, atol=1e-37)  # float32's subnormals
    assert back.panel.fingerprint() == sfit.panel.fingerprint()


@pytest.mark.parametrize("name", ["no_ll", "float32_no_ll"])
def test_log_likelihood_recomputed_on_load(sfit, files, name) -> None:
    back = StructuralFit.load(files[name])
    assert back.posterior.attrs["log_likelihood_recomputed"] == 1
    want = sfit.idata.log_likelihood["tariff"]
    got = back.idata.log_likelihood["tariff"]
    assert got.dims == want.dims and list(got["importer"].values) == list(want["importer"].values)
    rtol = 1e-5 if "float32" in name else 1e-12
    np.testing.assert_allclose(got.values, want.values, rtol=rtol, atol=1e-9)
    # LOO and the compare check see an ordinary fit
    loo, ref = back.loo(reff=1.0, pointwise=True), sfit.loo(reff=1.0, pointwise=True)
    assert np.isfinite(loo.loo_i.values).sum() > 20  # of 36 (30 draws: some k-hat bad)
    np.testing.assert_allclose(loo.loo_i.values, ref.loo_i.values, rtol=1e3 * rtol, atol=1e-6)


@pytest.mark.parametrize("name", ["default", "float32", "float32_no_ll"])
def test_later_steps_run_on_loaded_fit(sfit, files, name) -> None:
    back = StructuralFit.load(files[name])
    ident = back.identification(["g_IP", "sigma"])
    ref = sfit.identification(["g_IP", "sigma"])
    np.testing.assert_allclose(ident["contraction"], ref["contraction"], rtol=1e-4)
    assert list(ident["verdict"]) == list(ref["verdict"])
    cf = structest.counterfactual(back, fva_growth=0.1)
    cf_ref = structest.counterfactual(sfit, fva_growth=0.1)
    np.testing.assert_allclose(cf["tstar_base"].values, cf_ref["tstar_base"].values, rtol=1e-5)


def test_no_ll_file_without_panel_refuses_in_one_line(sfit, tmp_path) -> None:
    idata = sfit.idata.copy()
    del idata.panel
    path = save_idata(idata, tmp_path / "bare.nc", log_likelihood=False)
    with pytest.raises(StructestError, match="does not carry its panel") as info:
        StructuralFit.load(path)
    assert len(str(info.value).splitlines()) == 1


# ------------------------------------------------------------------------- bad input
BAD_SAVE = [
    ({"float32": "yes"}, "fit.nc", OptionError, r"float32 must be True or False, got str 'yes'"),
    ({"compress": 1}, "fit.nc", OptionError, r"compress must be True or False, got int 1"),
    ({"log_likelihood": None}, "fit.nc", OptionError, r"log_likelihood must be True or False"),
    ({"float32": True}, "data.csv", OutputError, r"not a NetCDF"),
    ({"log_likelihood": False}, "folder", OutputError, r"folder|directory"),
]


@pytest.mark.parametrize(("kw", "target", "exc", "msg"), BAD_SAVE)
def test_save_bad_input(sfit, tmp_path, kw, target, exc, msg) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "folder").mkdir()
    with pytest.raises(exc, match=msg) as info:
        sfit.save(tmp_path / target, **kw)
    assert len(str(info.value).splitlines()) == 1
    assert (tmp_path / "data.csv").read_text() == "a,b\n1,2\n"  # never replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "folder"]


def test_save_idata_refuses_non_idata(tmp_path) -> None:
    with pytest.raises(StructestError, match="expected an arviz InferenceData, got dict"):
        save_idata({"posterior": 1}, tmp_path / "x.nc")


@pytest.fixture
def cli_fit(sfit, monkeypatch, tmp_path):
    """``structest fit`` with the sampler replaced by the synthetic fit."""
    import structest.structural.sampling as sampling

    monkeypatch.setattr(sampling, "fit", lambda panel, spec, **kw: sfit)
    monkeypatch.setenv("CI", "true")
    data = tmp_path / "panel.parquet"
    sfit.panel.df.to_parquet(data)

    def run(*args: str):
        return CliRunner().invoke(app, ["fit", "--data", str(data), "--model", "bbj", *args])

    return run


def test_cli_fit_prints_size_and_stores_options(cli_fit, tmp_path) -> None:
    out = tmp_path / "f32.nc"
    res = cli_fit("--out", str(out), "--float32", "--no-log-likelihood")
    assert res.exit_code == 0, res.output
    m = re.search(
        r"wrote (\S+): ([\d.]+) (kB|MB|B) \(zlib, float32 draws, no log-likelihood", res.output
    )
    assert m and Path(m[1]) == out
    scale = {"B": 1, "kB": 1e3, "MB": 1e6}[m[3]]
    assert abs(float(m[2]) * scale - out.stat().st_size) <= 0.05 * scale + 1
    assert "min tail ESS" in res.output and "ess_tail" in res.output
    with h5py.File(out) as f:
        assert "log_likelihood" not in f and f["posterior/g_IP"].dtype == np.float32
    res = cli_fit("--out", str(tmp_path / "plain.nc"))
    assert res.exit_code == 0 and "(zlib, float64, with log-likelihood)" in res.output


BAD_CLI = [
    (
        ["--out", "{d}/fit.csv", "--float32"],
        OptionError,
        r"written as NetCDF, not \.csv; name it e\.g\. \S+fit\.nc",
    ),
    (["--out", "{d}/fit.parquet", "--no-log-likelihood"], OptionError, r"not \.parquet"),
    (["--out", "{d}/FIT.HTML"], OptionError, r"not \.html"),
    (["--out", "{d}/fit.json", "--no-compress"], OptionError, r"not \.json"),
    (["--out", "{d}/old.nc", "--float32"], OutputError, r"exists and is not a NetCDF file"),
    (["--out", "{d}", "--float32"], OutputError, r"is a folder"),
    (["--out", "{d}/fit.nc", "--float32=yes"], None, r"does not take a value"),
    (["--out", "{d}/fit.nc", "--no-float32"], None, r"No such option: --no-float32"),
    (
        ["--out", "{d}/fit.nc", "--log-likelihood", "no"],
        None,
        r"unexpected extra argument\(s\) \(no\)",
    ),
]


@pytest.mark.parametrize(("args", "exc", "msg"), BAD_CLI)
def test_cli_fit_bad_storage_options(cli_fit, tmp_path, args, exc, msg) -> None:
    (tmp_path / "old.nc").write_text("not netcdf\n")
    res = cli_fit(*[a.format(d=tmp_path) for a in args])
    if exc is None:  # a usage error of the parser: exit 2 with the message
        assert res.exit_code == 2 and re.search(msg, res.output), res.output
    else:
        assert isinstance(res.exception, exc), res.output
        assert re.search(msg, str(res.exception)) and len(str(res.exception).splitlines()) == 1
    assert (tmp_path / "old.nc").read_text() == "not netcdf\n"
    assert not list(tmp_path.glob("fit.*")) and not list(tmp_path.glob("FIT.*"))
