"""One program, two backends: every bundled model has the same sites, dims and log density
under NumPyro and PyMC."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import structest
from structest.structural.backends.numpyro import model as numpyro_model
from structest.structural.backends.pymc import build_model
from structest.structural.design import build_design
from structest.structural.program import Layout, site_table
from structest.structural.spec import (
    DEFAULT_MODEL,
    available_models,
    load_model,
    spec_from_dict,
)

ECON = ("USA", "CHN", "DEU", "JPN", "BRA")
INDS = ("c3", "c4", "c5")


@pytest.fixture(scope="module")
def panel():
    p, _ = structest.simulate(seed=4, economies=ECON, industries=INDS, years=(1995, 2005))
    return p


@pytest.fixture(autouse=True)
def _x64():
    """The PyMC model calls the JAX maths through wrap_jax: evaluate it in 64-bit floats,
    as structest's own sampling does."""
    import jax

    with jax.enable_x64(True):
        yield


def _specs():
    out = {name: load_model(name) for name in available_models()}
    out["bbj non-centred"] = replace(load_model("bbj"), centred_effect=None)
    every = load_model("bbj").to_dict()
    every.update(
        name="every feature",
        errors="contaminated",
        gsp_regime=True,
        free_rta_level=True,
        free_rta_ratio=True,
        regime_mfn_slopes=True,
        mfn_scaled_errors=True,
        mfn_effect=True,
        mundlak=["exp_ind_year"],
        # every kind of group heterogeneity: log (eps), logit (delta_star, outlier_share),
        # additive (the level shifts)
        hierarchy={
            "sigma": "regime",
            "eps": "importer",
            "delta_star": "industry",
            "rta_shift": "importer",
            "gsp_shift": "importer",
            "outlier_share": "regime",
        },
    )
    out["every feature"] = spec_from_dict(every)
    return out


def _numpyro_trace(spec, design, seed: int):
    """Sites of one prior draw of the NumPyro model (values, with the likelihood factor)."""
    import jax
    from numpyro import handlers

    layout = Layout.of(design)
    with jax.enable_x64(True):
        arrays = {k: jax.numpy.asarray(v) for k, v in design.arrays.items()}
        tr = handlers.trace(handlers.seed(numpyro_model, jax.random.PRNGKey(seed))).get_trace(
            arrays, spec, layout, True
        )
    return tr, arrays, layout


#: checked in the default run: the paper's model, the default, the scale-mixture Student-t,
#: the non-centred variant and every optional feature at once; the other files run with -m slow
FAST = {"bbj", DEFAULT_MODEL, "bbj_t", "bbj non-centred", "every feature"}


@pytest.mark.parametrize(
    "name",
    [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in _specs()],
)
def test_backends_same_sites_dims_and_log_density(name, panel) -> None:
    import jax
    from numpyro.infer.util import log_density

    spec = _specs()[name]
    design = build_design(panel, spec)
    tr, arrays, layout = _numpyro_trace(spec, design, seed=1)
    m, pm_sites = build_model(design, spec)
    sites = site_table(spec, layout, design.arrays)

    # the same random variables and deterministics, with the same shapes
    np_sample = {k for k, s in tr.items() if s["type"] == "sample" and not s.get("is_observed")}
    np_sample -= {"loglik"}  # numpyro.factor is a sample site
    np_det = {k for k, s in tr.items() if s["type"] == "deterministic"}
    pm_free = {v.name for v in m.free_RVs}
    pm_det = {v.name for v in m.deterministics}
    assert np_sample == pm_free, name
    assert np_det == pm_det, name
    assert set(sites.role) == np_sample | np_det
    stored = set(sites.stored())
    assert {k for k in stored if sites.role[k] == "deterministic"} == np_det
    shapes_pm = {
        v.name: tuple(int(d) for d in m.initial_point()[m.rvs_to_values[v].name].shape)
        for v in m.free_RVs
    }
    for k in np_sample:
        assert tuple(np.shape(tr[k]["value"])) == shapes_pm[k], (name, k)

    # PyMC's own dims are the program's dims, for every site
    pm_dims = {k: tuple(v) for k, v in m.named_vars_to_dims.items()}
    for k, dims in sites.dims.items():
        assert pm_dims.get(k, ()) == dims, (name, k)

    # the same joint log density (constrained values, no Jacobian) at the NumPyro draw; the
    # libraries write the priors' normalising constants differently (about 2e-9 absolute
    # per scalar site, measured: up to 1.5e-9 relative for the every-feature spec's 30 sites)
    point = {k: tr[k]["value"] for k in np_sample}
    with jax.enable_x64(True):
        lp_np, _ = log_density(numpyro_model, (arrays, spec, layout, True), {}, point)
    values = {}
    for v in m.free_RVs:
        tr_v = m.rvs_to_transforms.get(v)
        x = np.asarray(point[v.name])
        values[m.rvs_to_values[v].name] = (
            x if tr_v is None else tr_v.forward(x, *v.owner.inputs).eval()
        )
    with jax.enable_x64(True):
        lp_pm = m.compile_logp(jacobian=False)(values)
    assert np.isfinite(float(lp_np))
    assert float(lp_pm) == pytest.approx(float(lp_np), rel=5e-9), name

    # and the same deterministics
    with jax.enable_x64(True):
        outs = m.replace_rvs_by_values([m[k] for k in sorted(np_det)])
        det = m.compile_fn(outs, inputs=m.value_vars, on_unused_input="ignore")(values)
    for k, v in zip(sorted(np_det), det, strict=True):
        np.testing.assert_allclose(np.asarray(v), np.asarray(tr[k]["value"]), rtol=1e-10)


def test_mundlak_cell_means_are_the_centred_group_means(panel) -> None:
    """xbar_<e>: per effect level, the mean of each regressor (as it enters t*) over its
    observations, centred over levels (computed here with pandas)."""
    import pandas as pd

    spec = load_model("bbj_cre")
    design = build_design(panel, spec)
    rta = panel.df["rta"].astype(float)
    ip, fva, dva = (panel.df[f"log_{k}_ratio"] for k in ("ip", "fva", "dva"))
    df = pd.DataFrame(  # the regressors as they enter t* in each regime
        {
            "x_ip_out": ip * (1 - rta),
            "x_fva_out": fva * (1 - rta),
            "x_dva_out": dva * (1 - rta),
            "x_ip_in": ip * rta,
            "x_fva_in": fva * rta,
            "rta": rta,
        }
    )
    for e in spec.mundlak:
        cells = df.groupby(panel.df[e].astype(str)).mean()
        want = (cells - cells.mean()).loc[design.levels[e], list(spec.mundlak_regressors)]
        want = want.to_numpy()
        np.testing.assert_allclose(design.arrays[f"xbar_{e}"], want, atol=1e-12)
    assert list(design.coords["regressor"]) == list(df.columns)
