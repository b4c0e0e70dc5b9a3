"""PSIS-LOO moment matching: exact LOO of a Gaussian regression as the known truth, and
the unconstrained draws and density of structural fits against the sampler's own values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import structest
from structest.checks import loo_moment_match, moment_match_observation
from structest.checks.moment_match import psis
from structest.errors import StructestError
from structest.sweeps.tasks import WORLDS

# ---------------------------------------------------------------- a Gaussian regression
SIG, TAU, D = 1.0, 3.0, 4


def _world(seed: int):
    """n = 20, one high-leverage outlier (row 0); iid draws from the exact posterior."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, D))
    X[0] = [4.0, -3.0, 3.0, 2.0]
    y = X @ rng.normal(size=D) + SIG * rng.normal(size=20)
    y[0] += 6.0
    m, C = _posterior(X, y)
    return X, y, rng.multivariate_normal(m, C, size=4000)


def _posterior(X, y):
    P = X.T @ X / SIG**2 + np.eye(D) / TAU**2
    C = np.linalg.inv(P)
    return C @ X.T @ y / SIG**2, C


def _density(X, y, i):
    prior = stats.multivariate_normal(np.zeros(D), TAU**2 * np.eye(D))

    def density(u):
        lik = stats.norm.logpdf(y[:, None], X @ u.T, SIG)
        return prior.logpdf(u) + lik.sum(axis=0), lik[i]

    return density


def _exact_loo(X, y, i):
    m, C = _posterior(np.delete(X, i, 0), np.delete(y, i))
    return stats.norm.logpdf(y[i], X[i] @ m, np.sqrt(SIG**2 + X[i] @ C @ X[i]))


def test_moment_matching_recovers_exact_loo_where_psis_fails():
    errors, plain_errors, k_before, k_after = [], [], [], []
    for seed in range(8):
        X, y, u = _world(seed)
        density = _density(X, y, 0)
        lp, ll = density(u)
        exact = _exact_loo(X, y, 0)
        lw, k = psis(-ll, 1.0)
        res = moment_match_observation(u, lp, ll, density)
        assert res.k_before == pytest.approx(k) and res.transforms
        plain_errors.append(abs(logsumexp(lw + ll) - exact))
        errors.append(abs(res.elpd - exact))
        k_before.append(k)
        k_after.append(res.k)
    # plain PSIS: k > 0.7 and 0.4-2 log points off; moment matched: within 0.15
    assert min(k_before) > 0.7 and min(plain_errors) > 0.4
    assert max(errors) < 0.15, errors
    assert np.median(k_after) < np.median(k_before) - 0.3


def test_low_k_observation_is_plain_psis():
    X, y, u = _world(0)
    density = _density(X, y, 5)
    lp, ll = density(u)
    lw, k = psis(-ll, 1.0)
    assert k < 0.7
    res = moment_match_observation(u, lp, ll, density)
    assert res.transforms == () and res.k == k
    assert res.elpd == pytest.approx(logsumexp(lw + ll), abs=1e-12)
    assert abs(res.elpd - _exact_loo(X, y, 5)) < 0.05


# ---------------------------------------------------------------- structural fits
def _prior_draw(model: str, n: int = 3, seed: int = 0):
    """Every site of ``n`` draws of the NumPyro program from its prior, the sampler's
    latent ones included, on a small simulated panel."""
    import jax
    from numpyro.infer import Predictive

    from structest.structural.backends.numpyro import model as numpyro_model
    from structest.structural.design import build_design
    from structest.structural.program import Layout
    from structest.structural.spec import load_model

    spec = load_model(model)
    panel, _ = structest.simulate_model(spec, seed=1, **WORLDS["small"])
    design = build_design(panel, spec)
    layout = Layout.of(design)
    with jax.enable_x64(True):
        arrays = {k: jax.numpy.asarray(v) for k, v in design.arrays.items()}
        draws = Predictive(numpyro_model, num_samples=n)(
            jax.random.PRNGKey(seed), arrays, spec, layout, False
        )
    return spec, layout, arrays, {k: np.asarray(v) for k, v in draws.items()}


@pytest.mark.parametrize(
    "model", ["bbj_mfn_free", "bbj_mfn_shifts", "bbj", "bbj_hier", "bbj_cre", "bbj_eq19"]
)
def test_latent_values_recover_the_sampled_auxiliaries(model):
    import jax

    from structest.structural.program import latent_values, site_table

    spec, layout, arrays, draws = _prior_draw(model)
    sites = site_table(spec, layout, arrays)
    aux = [k for k, r in sites.role.items() if r == "auxiliary"]
    assert aux  # every model here has some
    with jax.enable_x64(True):
        for s in range(3):
            stored = {k: draws[k][s] for k in sites.stored()}
            latent = latent_values(stored, spec, layout, arrays)
            sampled = [k for k, r in sites.role.items() if r != "deterministic"]
            assert sorted(latent) == sorted(sampled)
            for k in sampled:
                np.testing.assert_allclose(latent[k], draws[k][s], rtol=1e-9, atol=1e-9)


def test_student_t_latent_precisions_cannot_be_recovered():
    import jax

    from structest.structural.program import latent_values, site_table

    spec, layout, arrays, draws = _prior_draw("bbj_t", n=1)
    stored = {k: draws[k][0] for k in site_table(spec, layout, arrays).stored()}
    with jax.enable_x64(True), pytest.raises(StructestError, match="latent precisions"):
        latent_values(stored, spec, layout, arrays)


@pytest.fixture(scope="module")
def small_fit():
    panel, _ = structest.simulate_model("bbj_mfn_free", seed=1, **WORLDS["tiny"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short run: sampling warnings
        return structest.fit(panel, chains=2, draws=60, tune=60, seed=0)


def test_unconstrained_density_is_what_nuts_sampled(small_fit):
    from structest.structural.density import unconstrained_draws

    draws = unconstrained_draws(small_fit)
    assert draws.upars.shape[0] == 120
    lp, ll = draws.evaluate(draws.upars)
    np.testing.assert_allclose(lp, small_fit.idata.sample_stats["lp"].values.ravel(), atol=1e-8)
    stored = small_fit.idata.log_likelihood["tariff"].values.reshape(120, -1)
    np.testing.assert_allclose(ll, stored, atol=1e-10)


def test_loo_moment_match_updates_only_matched_observations(small_fit):
    import arviz as az

    plain = az.loo(small_fit.idata, pointwise=True)
    res = small_fit.loo(moment_match=True, k_threshold=0.5, progress=False)
    before = res["pareto_k_before"].values
    informative = small_fit.idata.constant_data["kind"].values != 3
    todo = informative & (before > 0.5)
    assert res["moment_matched"] == todo.sum() > 0
    np.testing.assert_allclose(res.loo_i.values[~todo], plain.loo_i.values[~todo], atol=1e-9)
    assert res["elpd_loo"] == pytest.approx(res.loo_i.values.sum())
    assert res["p_loo"] == pytest.approx(plain["p_loo"] + plain["elpd_loo"] - res["elpd_loo"])
    after = res.pareto_k.values[todo]
    assert (after <= before[todo]).all() and (after < before[todo]).any()
    changed = res.loo_i.values != plain.loo_i.values
    assert (changed == (res.pareto_k.values != before)).all()  # a new estimate, a new k


def test_loo_moment_match_takes_an_inference_data(small_fit):
    res = loo_moment_match(small_fit.idata, k_threshold=1e9, progress=False)
    assert res["moment_matched"] == 0
    assert res["elpd_loo"] == pytest.approx(small_fit.loo()["elpd_loo"], abs=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k_threshold": 0}, "k_threshold must be > 0"),
        ({"k_threshold": "0.7"}, "k_threshold must be a number"),
        ({"max_iters": 0}, "max_iters must be an integer >= 1"),
        ({"max_iters": 2.5}, "max_iters must be an integer >= 1"),
    ],
)
def test_bad_options_are_refused(small_fit, kwargs, message):
    with pytest.raises(StructestError, match=message):
        loo_moment_match(small_fit, progress=False, **kwargs)
