"""Optional model features, each against an independent computation (scipy, NumPy):
GSP shift, free RTA level and ratio, sigma by group and with MFN, contaminated-normal and
scale-mixture Student-t errors; their spec validation and error draws."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import integrate, stats

from structest.equations import MFN_REF
from structest.errors import SpecError
from structest.structural.likelihood import (
    EXACT,
    LEFT,
    NONE,
    RIGHT,
    loglik,
    loglik_pointwise,
    tstar_structural,
)
from structest.structural.posterior import draw_errors
from structest.structural.spec import load_model, spec_from_dict

P = {
    "eps": 6.0,
    "lambda_abs": 0.7,
    "eps_r_home": 0.2,
    "eps_r_abroad": 0.15,
    "delta": 0.04,
    "delta_star": 0.6,
    "delta_dstar": 0.1,
    "eps_tilde": 4.0,
    "lambda_tilde": 0.9,
}


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _arrays(n: int = 12, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    kind = np.array([EXACT, RIGHT, LEFT, EXACT, NONE, RIGHT] * (n // 6))
    mfn = rng.uniform(1, 40, n)
    mfn[kind == NONE] = 0.0
    tariff = np.where(kind == RIGHT, mfn, np.where(kind == LEFT, 0.0, mfn * 0.4))
    tariff[kind == NONE] = 0.0
    return {
        "x_ip": rng.normal(2, 1, n),
        "x_fva": rng.normal(0, 1, n),
        "x_dva": rng.normal(-2, 1, n),
        "rta": (np.arange(n) % 4 == 3).astype(float),
        "gsp": (np.arange(n) % 4 == 1).astype(float),
        "tariff": tariff,
        "mfn": mfn,
        "lower": np.zeros(n),
        "kind": kind,
        "grp_sigma": np.arange(n) % 2,
        "mfn_rel": (1 + mfn) / (1 + MFN_REF),
    }


def _by_hand(p: dict, a: dict) -> np.ndarray:
    """Eq. (11)/(14) plus the optional terms, written out in NumPy."""
    el, elt = p["eps"] * p["lambda_abs"], p["eps_tilde"] * p["lambda_tilde"]
    fva = (1 - p["delta_star"]) * p["eps_r_home"]
    out = (
        100 / p["eps"]
        + 100 * p["delta"] / el * a["x_ip"]
        - 100 * fva / el * a["x_fva"]
        - 100 * (1 + p["delta_dstar"]) * p["eps_r_abroad"] / p["eps"] * a["x_dva"]
    )
    d_in = p.get("delta_rta", p["delta"])
    inside = p.get("rta_shift", 0.0) + 100 * d_in / elt * a["x_ip"] - 100 * fva / elt * a["x_fva"]
    out = np.where(a["rta"] > 0, inside, out)
    other = (a["rta"] == 0) & (a["gsp"] == 0)
    slopes = np.where(other, p.get("mfn_slope_other", 0.0), 0.0)
    slopes = np.where(a["gsp"] > 0, p.get("mfn_slope_gsp", 0.0), slopes)
    return out + p.get("gsp_shift", 0.0) * a["gsp"] + slopes * (a["mfn"] - MFN_REF)


def test_optional_terms_of_tstar_match_the_equation_by_hand() -> None:
    a = _arrays()
    for extra in (
        {},
        {"gsp_shift": -3.0},
        {"rta_shift": 2.5},
        {"delta_rta": 0.2},
        {"mfn_slope_other": 0.8},
        {"mfn_slope_gsp": -0.4, "gsp_shift": -1.0},
    ):
        p = {**P, **extra}
        np.testing.assert_allclose(np.asarray(tstar_structural(p, a)), _by_hand(p, a), rtol=1e-12)
    # the RTA regime ignores the GSP flag only through the design (gsp * (1 - rta)); the
    # shift moves exactly the flagged observations
    d = np.asarray(tstar_structural({**P, "gsp_shift": -3.0}, a)) - _by_hand(P, a)
    np.testing.assert_allclose(d, -3.0 * a["gsp"], atol=1e-12)


def _scipy_loglik(mu, sigma, a, dist) -> np.ndarray:
    out = np.zeros_like(mu)
    k = a["kind"]
    z = (a["tariff"] - mu) / sigma
    out[k == EXACT] = dist.logpdf(z[k == EXACT]) - np.log(sigma[k == EXACT])
    out[k == RIGHT] = dist.logsf(((a["mfn"] - mu) / sigma)[k == RIGHT])
    out[k == LEFT] = dist.logcdf(((a["lower"] - mu) / sigma)[k == LEFT])
    return out


class _Contaminated:
    """The two-component scale mixture through scipy (an independent formula)."""

    def __init__(self, share: float, k: float) -> None:
        self.s, self.k = share, k

    def logpdf(self, z):
        return np.log(
            (1 - self.s) * stats.norm.pdf(z) + self.s * stats.norm.pdf(z / self.k) / self.k
        )

    def logcdf(self, z):
        return np.log((1 - self.s) * stats.norm.cdf(z) + self.s * stats.norm.cdf(z / self.k))

    def logsf(self, z):
        return np.log((1 - self.s) * stats.norm.sf(z) + self.s * stats.norm.sf(z / self.k))


@pytest.mark.parametrize("errors", ["normal", "contaminated", "student_t"])
def test_loglik_with_sigma_by_group_and_mfn_matches_scipy(errors: str) -> None:
    a = _arrays()
    p = {**P, "sigma": np.array([2.0, 5.0]), "sigma_mfn": 0.7}
    sigma = p["sigma"][a["grp_sigma"]] * a["mfn_rel"] ** 0.7
    dist = stats.norm
    if errors == "contaminated":
        p |= {"outlier_share": 0.15, "outlier_scale": 6.0}
        dist = _Contaminated(0.15, 6.0)
    elif errors == "student_t":
        p |= {"nu": 3.5}
        dist = stats.t(3.5)
    mu = _by_hand(P, a)
    want = _scipy_loglik(mu, sigma, a, dist)
    got = np.asarray(loglik_pointwise(p, a))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    # the fast path (observations of each kind only) sums to the same total
    sel = {
        f"sel_{n}": np.flatnonzero(a["kind"] == k)
        for n, k in (("exact", EXACT), ("right", RIGHT), ("left", LEFT))
    }
    assert float(loglik(p, {**a, **sel})) == pytest.approx(want.sum(), rel=1e-10)


def test_scale_mixture_terms_are_normal_given_the_precisions_and_integrate_to_student_t() -> None:
    a = _arrays()
    prec = np.linspace(0.3, 2.0, len(a["kind"]))
    p = {**P, "sigma": 3.0, "nu": 4.0, "prec": prec}
    mu = _by_hand(P, a)
    want = _scipy_loglik(mu, 3.0 / np.sqrt(prec), a, stats.norm)
    np.testing.assert_allclose(np.asarray(loglik_pointwise(p, a)), want, rtol=1e-10, atol=1e-12)
    # summing the precisions out (quadrature over Gamma(nu/2, nu/2)) gives the marginal
    # Student-t term, which is what the stored pointwise log-likelihood (no prec) uses
    nu, z = 4.0, -1.7
    mix, _ = integrate.quad(
        lambda lam: stats.norm.cdf(z * np.sqrt(lam)) * stats.gamma.pdf(lam, nu / 2, scale=2 / nu),
        0,
        np.inf,
    )
    assert mix == pytest.approx(stats.t.cdf(z, nu), rel=1e-8)


def test_error_draws_follow_each_distribution() -> None:
    n = 200_000
    e = draw_errors(np.array(2.0), (n,), 0, {"outlier_share": 0.2, "outlier_scale": 5.0})
    # variance of the mixture: sigma^2 ((1 - p) + p k^2)
    assert np.var(e) == pytest.approx(4.0 * (0.8 + 0.2 * 25.0), rel=0.03)
    t = draw_errors(np.array(1.0), (n,), 0, {"nu": 5.0})
    assert stats.kstest(t[:5000], stats.t(5.0).cdf).pvalue > 0.01
    # common random numbers: the same seed gives the same standardized shocks
    s1 = draw_errors(np.array([1.0, 3.0]), (2,), 7)
    s2 = draw_errors(np.array([2.0, 6.0]), (2,), 7)
    np.testing.assert_allclose(2 * s1, s2)


def _spec(**kw):
    d = load_model("bbj").to_dict()
    d.update(kw)
    return spec_from_dict(d)


def test_spec_switches_add_their_parameters_and_validate() -> None:
    s = _spec(
        gsp_regime=True,
        free_rta_level=True,
        free_rta_ratio=True,
        regime_mfn_slopes=True,
        mfn_scaled_errors=True,
        errors="contaminated",
        hierarchy={"sigma": "regime"},
    )
    for p in (
        "gsp_shift",
        "rta_shift",
        "delta_rta",
        "mfn_slope_other",
        "mfn_slope_gsp",
        "sigma_mfn",
        "outlier_share",
        "outlier_scale",
        "sd_sigma",
    ):
        assert p in s.scalar_params and p in s.priors
    assert spec_from_dict(s.to_dict()) == s  # round trip through the file form
    with pytest.raises(SpecError, match="free_rta_level.*rta_regime"):
        _spec(rta_regime=False, free_rta_level=True)
    # without a GSP regime the slopes are "other" (every pair outside RTAs) only
    assert _spec(regime_mfn_slopes=True).structural[-1] == "mfn_slope_other"
    assert "mfn_slope_gsp" not in _spec(regime_mfn_slopes=True).scalar_params
    assert s.to_toml().count("regime_mfn_slopes") == 1  # one switch, two parameters
    with pytest.raises(SpecError, match="'gsp_regime' must be true/false"):
        _spec(gsp_regime="yes")
    with pytest.raises(SpecError, match="'errors' must be one of"):
        _spec(errors="cauchy")


def test_censoring_point_is_the_recording_threshold() -> None:
    """At-MFN observations are censored where the panel starts recording "at MFN"."""
    a = _arrays()
    thr = 0.85 * a["mfn"] - 0.05
    p = {**P, "sigma": 3.0}
    mu = _by_hand(P, a)
    got = np.asarray(loglik_pointwise(p, {**a, "threshold": thr}))
    right = a["kind"] == RIGHT
    want = stats.norm.logsf((thr - mu) / 3.0)
    np.testing.assert_allclose(got[right], want[right], rtol=1e-10)
    # without a threshold the censoring point is MFN
    got_mfn = np.asarray(loglik_pointwise(p, a))
    np.testing.assert_allclose(got_mfn[right], stats.norm.logsf((a["mfn"] - mu) / 3.0)[right])


def test_record_is_the_build_rule_and_cap_without_a_threshold() -> None:
    from structest.data.build.tariffs import flag_censored, mfn_threshold
    from structest.equations import cap, record

    rng = np.random.default_rng(3)
    latent = rng.normal(5, 6, 500)
    mfn_ref = rng.uniform(0.5, 20, 500)
    thr = mfn_threshold(mfn_ref, 0.15, 0.05)
    rec = record(latent, mfn_ref, thr, 0.0)
    applied = np.maximum(latent, 0.0)
    # recorded at MFN exactly where the data build flags the applied rate as censored
    np.testing.assert_array_equal(rec == mfn_ref, flag_censored(applied, mfn_ref, 0.15, 0.05))
    np.testing.assert_allclose(record(latent, mfn_ref, mfn_ref, 0.0), cap(latent, mfn_ref, 0.0))


def test_panel_checks_the_threshold_against_the_censoring_flag() -> None:
    import structest
    from structest.errors import PanelError
    from structest.panel import Panel

    panel, _ = structest.simulate(seed=1, economies=("USA", "CHN", "MEX"), industries=("c3",))
    df = panel.df.copy()
    df["mfn_threshold"] = df["mfn"]  # consistent: censored means tariff >= mfn
    Panel.from_frame(df)
    df.loc[df.index[~df["censored"].astype(bool)][0], "mfn_threshold"] = 0.0
    with pytest.raises(PanelError, match="'censored' disagrees with 'mfn_threshold'"):
        Panel.from_frame(df)
    df["mfn_threshold"] = df["mfn"] + 1.0
    with pytest.raises(PanelError, match="'mfn_threshold'.*exceeds 'mfn'"):
        Panel.from_frame(df)


def test_mfn_effect_uses_the_centred_cell_means_of_mfn() -> None:
    import structest
    from structest.structural.design import build_design

    panel, _ = structest.simulate(
        seed=2, economies=("USA", "CHN", "MEX", "IND"), industries=("c3", "c4")
    )
    spec = _spec(mfn_effect=True)
    d = build_design(panel, spec)
    e = spec.effects[0]
    means = panel.df.groupby(panel.df[e].astype(str))["mfn"].mean()
    want = means.reindex(d.levels[e]).to_numpy()
    np.testing.assert_allclose(d.arrays[f"mfnbar_{e}"], want - want.mean(), rtol=1e-12)
    assert "gamma_mfn" in spec.scalar_params


def test_group_varying_shifts_and_error_parameters_match_scipy() -> None:
    """rta_shift and gsp_shift by group move t* by each observation's own group value; a
    contaminated normal whose share of wide shocks and MFN elasticity of scale vary by
    group gives each observation its group's mixture (scipy, one group at a time)."""
    a = _arrays()
    n = len(a["kind"])
    grp = np.arange(n) % 3
    a |= {g: grp for g in ("grp_rta_shift", "grp_gsp_shift", "grp_outlier_share", "grp_sigma_mfn")}
    shifts_rta, shifts_gsp = np.array([-4.0, 1.0, 2.5]), np.array([-1.0, -3.0, 0.5])
    shares = np.array([0.05, 0.3, 0.6])
    p = {
        **P,
        "rta_shift": shifts_rta,
        "gsp_shift": shifts_gsp,
        "sigma": np.array([2.0, 5.0]),
        "sigma_mfn": np.array([0.5, 0.9, 0.7]),
        "outlier_share": shares,
        "outlier_scale": 4.0,
    }
    base = _by_hand(P, a)
    mu = np.where(a["rta"] > 0, base + shifts_rta[grp], base) + shifts_gsp[grp] * a["gsp"]
    np.testing.assert_allclose(np.asarray(tstar_structural(p, a)), mu, rtol=1e-12)
    sigma = p["sigma"][a["grp_sigma"]] * a["mfn_rel"] ** p["sigma_mfn"][grp]
    want = np.zeros(n)
    for g, share in enumerate(shares):
        m = grp == g
        sub = {k: v[m] for k, v in a.items() if np.ndim(v) == 1 and len(v) == n}
        want[m] = _scipy_loglik(mu[m], sigma[m], sub, _Contaminated(share, 4.0))
    np.testing.assert_allclose(np.asarray(loglik_pointwise(p, a)), want, rtol=1e-9, atol=1e-12)
    sel = {
        f"sel_{n}": np.flatnonzero(a["kind"] == k)
        for n, k in (("exact", EXACT), ("right", RIGHT), ("left", LEFT))
    }
    assert float(loglik(p, {**a, **sel})) == pytest.approx(want.sum(), rel=1e-10)


def test_hierarchy_follows_the_prior_support() -> None:
    """How a parameter varies by group follows its prior: log-normal (positive), logit-normal
    (beta) or additive (normal), each with its own default scale prior; the program's
    group values are those transforms of the population value (checked on a prior draw)."""
    from numpyro import handlers

    import structest
    from structest.structural.backends.numpyro import model as numpyro_model
    from structest.structural.design import build_design
    from structest.structural.program import Layout

    d = load_model("bbj_mfn_free").to_dict()
    d["priors"] = {k: v for k, v in d["priors"].items() if not k.startswith("sd_")}
    d["hierarchy"] = {
        "eps": "importer",
        "delta_star": "industry",
        "rta_shift": "importer",
        "outlier_share": "regime",
    }
    spec = spec_from_dict(d)
    assert spec.priors["sd_eps"] == ("halfnormal", 0.5)
    assert spec.priors["sd_delta_star"] == ("halfnormal", 1.0)
    assert spec.priors["sd_outlier_share"] == ("halfnormal", 1.0)
    assert spec.priors["sd_rta_shift"] == ("halfnormal", 5.0)
    panel, _ = structest.simulate_model(spec, seed=2, economies=("USA", "CHN", "DEU", "JPN"))
    design = build_design(panel, spec)
    arrays = {k: jax.numpy.asarray(v) for k, v in design.arrays.items()}
    tr = handlers.trace(handlers.seed(numpyro_model, jax.random.PRNGKey(3))).get_trace(
        arrays, spec, Layout.of(design), True
    )
    v = {k: np.asarray(s["value"]) for k, s in tr.items()}

    def logit(x):
        return np.log(x / (1 - x))

    np.testing.assert_allclose(v["eps_group"], v["eps"] * np.exp(v["sd_eps"] * v["z_eps"]))
    np.testing.assert_allclose(
        logit(v["delta_star_group"]),
        logit(v["delta_star"]) + v["sd_delta_star"] * v["z_delta_star"],
    )
    np.testing.assert_allclose(
        logit(v["outlier_share_group"]),
        logit(v["outlier_share"]) + v["sd_outlier_share"] * v["z_outlier_share"],
    )
    np.testing.assert_allclose(
        v["rta_shift_group"], v["rta_shift"] + v["sd_rta_shift"] * v["z_rta_shift"]
    )
    assert np.all((v["delta_star_group"] > 0) & (v["delta_star_group"] < 1))
    assert np.all((v["outlier_share_group"] > 0) & (v["outlier_share_group"] < 1))
    # a user's own scale prior wins over the default
    d["priors"] = {"sd_rta_shift": ["halfnormal", 2.0]}
    assert spec_from_dict(d).priors["sd_rta_shift"] == ("halfnormal", 2.0)


def test_error_scale_from_the_designs_log_equals_the_power() -> None:
    """The design gives the MFN term as ``log mfn_rel`` (the likelihood takes
    ``exp(sigma_mfn log mfn_rel)``); NumPy callers give ``mfn_rel`` (a power): the same
    scale and log-likelihood, with sigma_mfn pooled or by group."""
    from structest.equations import sigma_per_obs

    a = _arrays()
    as_log = {k: v for k, v in a.items() if k != "mfn_rel"} | {"log_mfn_rel": np.log(a["mfn_rel"])}
    grp = np.arange(len(a["mfn"])) % 3
    for power in (0.7, np.array([0.5, 0.9, 0.7])):
        p = {**P, "sigma": np.array([2.0, 5.0]), "sigma_mfn": power}
        extra = {"grp_sigma_mfn": grp} if np.ndim(power) else {}
        with jax.enable_x64(True):
            want = sigma_per_obs(p, a | extra)
            got = np.asarray(sigma_per_obs(p, as_log | extra))
            np.testing.assert_allclose(got, want, rtol=1e-13)
            np.testing.assert_allclose(
                np.asarray(loglik_pointwise(p, as_log | extra)),
                np.asarray(loglik_pointwise(p, a | extra)),
                rtol=1e-12,
            )
