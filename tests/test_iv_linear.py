"""2SLS with several endogenous regressors, the 'stata' small-sample correction, first-stage
diagnostics: agreement with explicit-dummy computations in numpy, and bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.linalg

import structest
from structest import EstimationError, OptionError, SpecError
from structest.reduced import fit_reduced_form, parse
from structest.reduced.data import build_sample
from structest.reduced.iv_linear import fit_iv_linear
from structest.reduced.ols_iv import check_ssc, fit_iv, ssc_factor, stata_k

FML2 = "y ~ w | fe1 + fe2 | e1 + e2 ~ z1 + z2 + z3"
FML1 = "y ~ w | fe1 + fe2 | e1 ~ z1 + z2"


def _world(seed: int = 0, n: int = 400) -> pd.DataFrame:
    """Two effect dimensions in two disconnected blocks (rank = levels - 2), 40 clusters."""
    rng = np.random.default_rng(seed)
    block = rng.integers(0, 2, n)
    fe1 = np.where(block == 0, rng.integers(0, 3, n), 3 + rng.integers(0, 3, n))
    fe2 = np.where(block == 0, rng.integers(0, 3, n), 3 + rng.integers(0, 2, n))
    a1, a2 = rng.normal(size=6)[fe1], rng.normal(size=5)[fe2]
    z1, z2, z3 = rng.normal(size=(3, n)) + 0.3 * a1
    w = rng.normal(size=n) + a2
    u = rng.normal(size=n)
    e1 = 0.8 * z1 + 0.3 * z2 + 0.2 * w + a1 + 0.5 * u + rng.normal(size=n)
    e2 = 0.2 * z1 + 0.7 * z3 - 0.4 * z2 + a2 - 0.3 * u + rng.normal(size=n)
    y = 1.0 * w - 0.5 * e1 + 0.8 * e2 + a1 + a2 + u * (1 + 0.5 * np.abs(z1))
    cl = rng.integers(0, 40, n)
    return pd.DataFrame(
        {
            "y": y,
            "w": w,
            "e1": e1,
            "e2": e2,
            "z1": z1,
            "z2": z2,
            "z3": z3,
            "fe1": [f"a{k}" for k in fe1],
            "fe2": [f"b{k}" for k in fe2],
            "cl": cl,
            "cl_fe": [f"c{k}" for k in cl],  # an effect nested in the clusters
        }
    )


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    return _world()


def _full_rank_dummies(df: pd.DataFrame, fes: list[str]) -> np.ndarray:
    """Dummies of the effects, redundant columns removed (QR with column pivoting)."""
    D = np.column_stack([pd.get_dummies(df[fe], dtype=float).to_numpy() for fe in fes])
    _, R, piv = scipy.linalg.qr(D, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int((d > 1e-10 * d[0]).sum())
    return D[:, np.sort(piv[:rank])]


def _numpy_2sls(
    df: pd.DataFrame,
    exog: list[str],
    endog: list[str],
    inst: list[str],
    fes: list[str],
    cluster: str | None,
    ssc: str = "cluster",
    k_fes: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2SLS with explicit dummies and a numpy cluster sandwich (independent of structest)."""
    D = _full_rank_dummies(df, fes) if fes else np.ones((len(df), 1))
    X = np.column_stack([df[exog + endog].to_numpy(float), D])
    Zf = np.column_stack([df[exog + inst].to_numpy(float), D])
    y = df["y"].to_numpy(float)
    Xhat = Zf @ np.linalg.lstsq(Zf, X, rcond=None)[0]
    A = Xhat.T @ Xhat
    beta = np.linalg.solve(A, Xhat.T @ y)
    u = y - X @ beta
    S = Xhat * u[:, None]
    if cluster is not None:
        S = pd.DataFrame(S).groupby(df[cluster].to_numpy()).sum().to_numpy()
    Ai = np.linalg.inv(A)
    V = Ai @ (S.T @ S) @ Ai
    N, G = len(df), len(S)
    if cluster is not None:
        V *= G / (G - 1)
    if ssc == "stata":
        counted = fes if k_fes is None else k_fes
        Dk = _full_rank_dummies(df, counted) if counted else np.ones((N, 1))
        K = np.linalg.matrix_rank(np.column_stack([df[exog + endog].to_numpy(float), Dk]))
        V *= (N - 1) / (N - K) if cluster is not None else N / (N - K)
    k = len(exog) + len(endog)
    return beta[:k], np.sqrt(np.diag(V)[:k])


@pytest.mark.parametrize("ssc", ["cluster", "stata"])
@pytest.mark.parametrize("cluster", ["cl", None])
def test_two_endogenous_equal_explicit_dummies(world, ssc, cluster):
    res = fit_reduced_form(world, FML2, estimator="iv", cluster=cluster, ssc=ssc)
    b, se = _numpy_2sls(
        world, ["w"], ["e1", "e2"], ["z1", "z2", "z3"], ["fe1", "fe2"], cluster, ssc
    )
    names = ["w", "e1", "e2"]
    assert list(res.params.index) == names
    np.testing.assert_allclose(res.params[names].to_numpy(), b, rtol=1e-8)
    np.testing.assert_allclose(res.se[names].to_numpy(), se, rtol=1e-8)
    assert res.nobs == len(world) and res.estimator == "iv"
    assert res.n_clusters == (40 if cluster else None)
    assert res.df_t == (39 if cluster else None)
    assert np.isfinite(res.r2) and 0 < res.r2 < 1


def test_nested_effect_not_counted_by_stata(world):
    fml = "y ~ w | fe1 + cl_fe | e1 + e2 ~ z1 + z2 + z3"
    res = fit_reduced_form(world, fml, estimator="iv", cluster="cl", ssc="stata")
    b, se = _numpy_2sls(
        world, ["w"], ["e1", "e2"], ["z1", "z2", "z3"], ["fe1", "cl_fe"], "cl", "stata", ["fe1"]
    )
    np.testing.assert_allclose(res.params.to_numpy(), b, rtol=1e-8)
    np.testing.assert_allclose(res.se.to_numpy(), se, rtol=1e-8)
    K, how = stata_k(world, ("fe1", "cl_fe"), 3, "cl")
    assert K == 3 + 6 and "cl_fe nested in the clusters" in how


def test_stata_k_counts_connected_components(world):
    # 6 + 5 levels in two disconnected blocks: rank 9 (reghdfe's count), not 10 (fixest's)
    K, how = stata_k(world, ("fe1", "fe2"), 1, "cl")
    assert K == 1 + 9
    assert stata_k(world, (), 2, "cl")[0] == 2
    assert stata_k(world, ("cl_fe",), 2, "cl")[0] == 3  # all nested: the constant is kept


@pytest.mark.parametrize("ssc", ["cluster", "stata"])
@pytest.mark.parametrize("cluster", ["cl", None])
def test_ols_stata_equals_explicit_dummies(world, ssc, cluster):
    res = fit_reduced_form(world, "y ~ w + e1 | fe1 + fe2", cluster=cluster, ssc=ssc)
    # OLS = 2SLS with the regressors as their own instruments
    b, se = _numpy_2sls(world, ["w", "e1"], [], [], ["fe1", "fe2"], cluster, ssc)
    np.testing.assert_allclose(res.params.to_numpy(), b, rtol=1e-8)
    np.testing.assert_allclose(res.se.to_numpy(), se, rtol=1e-8)
    if ssc == "stata":
        assert any("small-sample correction 'stata'" in n for n in res.notes)


def test_stata_over_cluster_ratio_on_bundled_eq16(real_panel):
    a = fit_reduced_form(real_panel, "eq16")
    b = fit_reduced_form(real_panel, "eq16", ssc="stata")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    N = a.nobs
    K = stata_k(real_panel.df, ("imp_ind_year", "exp_ind_year"), 1, "pair")[0]
    assert K == 642  # 669 effect levels, 29 connected components, 1 slope
    np.testing.assert_allclose(b.se / a.se, np.sqrt((N - 1) / (N - K)), rtol=1e-10)


@pytest.mark.parametrize(
    "ssc", [None, "stata", {"k_fixef": "full"}, {}, {"k_fixef": "nonnested", "G_adj": False}]
)
@pytest.mark.parametrize("cluster", ["cl", None])
def test_one_endogenous_equals_pyfixest_path(world, ssc, cluster):
    """The linearmodels route with one endogenous regressor reproduces pyfixest's 2SLS."""
    f = parse(FML1)
    a = fit_iv(f, build_sample(world, f, cluster=cluster), cluster=cluster, ssc=ssc)
    b = fit_iv_linear(f, build_sample(world, f, cluster=cluster), cluster=cluster, ssc=ssc)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.se.to_numpy(), b.se.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.vcov.to_numpy(), b.vcov.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.r2, b.r2, rtol=1e-8)
    np.testing.assert_allclose(a.r2_within, b.r2_within, rtol=1e-8)
    for key in ("F_cluster", "sanderson_windmeijer_F"):
        np.testing.assert_allclose(a.first_stage["e1"][key], b.first_stage["e1"][key], rtol=1e-8)


def test_one_endogenous_without_effects(world):
    f = parse("y ~ w | e1 ~ z1 + z2")
    a = fit_iv(f, build_sample(world, f, cluster="cl"), cluster="cl", ssc="stata")
    b = fit_iv_linear(f, build_sample(world, f, cluster="cl"), cluster="cl", ssc="stata")
    assert list(b.params.index) == list(a.params.index) == ["w", "e1", "Intercept"]
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-8)


def _sw_numpy(df: pd.DataFrame, j: str, other: str, cluster: str) -> float:
    """Sanderson-Windmeijer F by explicit dummies: residual of the 2SLS of e_j on e_-j."""
    D = _full_rank_dummies(df, ["fe1", "fe2"])
    W = np.column_stack([df[["w"]].to_numpy(float), D])
    Z = df[["z1", "z2", "z3"]].to_numpy(float)

    def resid(M):
        return M - W @ np.linalg.lstsq(W, M, rcond=None)[0]

    ej, eo, Zt = resid(df[j].to_numpy(float)), resid(df[other].to_numpy(float)), resid(Z)
    fitted = Zt @ np.linalg.lstsq(Zt, eo, rcond=None)[0]
    delta = (fitted @ ej) / (fitted @ eo)
    e = ej - eo * delta
    full = np.column_stack([Z, W])
    coef = np.linalg.lstsq(full, e, rcond=None)[0]
    r = e - full @ coef
    Ai = np.linalg.inv(full.T @ full)
    S = pd.DataFrame(full * r[:, None]).groupby(df[cluster].to_numpy()).sum().to_numpy()
    G = len(S)
    V = Ai @ (S.T @ S) @ Ai * G / (G - 1)
    pi = coef[:3]
    return float(pi @ np.linalg.solve(V[:3, :3], pi)) / (3 - 2 + 1)


def test_sanderson_windmeijer_matches_numpy(world):
    res = fit_reduced_form(world, FML2, estimator="iv", cluster="cl")
    for j, other in (("e1", "e2"), ("e2", "e1")):
        np.testing.assert_allclose(
            res.first_stage[j]["sanderson_windmeijer_F"],
            _sw_numpy(world, j, other, "cl"),
            rtol=1e-7,
        )
        assert 0 <= res.first_stage[j]["sanderson_windmeijer_p"] <= 1
        assert res.first_stage[j]["F_cluster"] > 0
    assert "anderson_rubin" not in res.tests
    assert any("Anderson-Rubin set not computed" in n for n in res.notes)


def test_bundled_gsp_split_iv_runs(real_panel):
    fml = (
        "tariff ~ rta | imp_ind_year + exp_ind_year | log_dva_gsp + log_dva_nongsp"
        " ~ log_dva_services_gsp + log_dva_services_nongsp"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_reduced_form(real_panel, fml, estimator="iv", sample="nonrta")
    assert list(res.params.index) == ["log_dva_gsp", "log_dva_nongsp"]  # rta is 0 outside RTAs
    assert res.nobs == int((real_panel.df["rta"] == 0).sum())
    assert np.isfinite(res.se).all() and (res.se > 0).all()
    assert any("collinear" in n and "rta" in n for n in res.notes)
    for e in ("log_dva_gsp", "log_dva_nongsp"):
        assert res.first_stage[e]["sanderson_windmeijer_F"] > 10
    assert "log_dva_gsp" in res.summary()


def test_ssc_names_and_factor(world):
    assert check_ssc("stata") == "stata" and check_ssc("cluster") == "cluster"
    base = fit_reduced_form(world, "y ~ w | fe1", cluster="cl")
    named = fit_reduced_form(world, "y ~ w | fe1", cluster="cl", ssc="cluster")
    np.testing.assert_allclose(base.se, named.se, rtol=1e-12)
    f, _ = ssc_factor("cluster", df=world, terms=(), n_coef=1, cluster="cl")
    assert f == pytest.approx(40 / 39)
    f, _ = ssc_factor(None, df=world, terms=(), n_coef=1, cluster=None)
    assert f == 1.0


def _endog_equals_iv_combination(df: pd.DataFrame) -> pd.DataFrame:
    """e2 moves with the instruments exactly as e1 does: they are not separately identified."""
    d = df.copy()
    W = np.column_stack(
        [d[["w", "z1", "z2", "z3"]].to_numpy(float), _full_rank_dummies(d, ["fe1", "fe2"])]
    )
    noise = np.random.default_rng(5).normal(size=len(d))
    noise -= W @ np.linalg.lstsq(W, noise, rcond=None)[0]
    d["e2"] = d["e1"] + noise  # same first stage as e1
    return d


BAD = [
    # (id, frame transform, formula, options, error, message regex)
    ("ssc-Stata-case", None, FML2, {"ssc": "Stata"}, OptionError, r"did you mean 'stata'"),
    (
        "ssc-unknown-name",
        None,
        FML2,
        {"ssc": "reghdfe"},
        OptionError,
        r"^ssc must be a mapping.*'reghdfe' \(str\)$",
    ),
    ("ssc-empty", None, FML1, {"ssc": ""}, OptionError, r"^ssc must be a mapping.*'' \(str\)$"),
    (
        "ssc-bytes",
        None,
        FML1,
        {"ssc": b"stata"},
        OptionError,
        r"^ssc must be a mapping.*\(bytes\)$",
    ),
    ("ssc-padded", None, FML1, {"ssc": " stata "}, OptionError, r"did you mean 'stata'"),
    (
        "ssc-bad-key",
        None,
        FML2,
        {"ssc": {"small": True}},
        OptionError,
        r"^ssc: unknown key 'small'",
    ),
    (
        "ssc-bad-value",
        None,
        FML2,
        {"ssc": {"k_fixef": "all"}},
        OptionError,
        r"ssc\['k_fixef'\] must be one of",
    ),
    (
        "iv-few-instruments",
        None,
        "y ~ w | fe1 | e1 + e2 ~ z1",
        {},
        SpecError,
        r"2 endogenous regressor\(s\) but only 1 instrument",
    ),
    (
        "iv-endog-also-exog",
        None,
        "y ~ w + e1 | fe1 | e1 + e2 ~ z1 + z2",
        {},
        SpecError,
        r"both as exogenous and endogenous",
    ),
    (
        "iv-endog-also-instrument",
        None,
        "y ~ w | fe1 | e1 + e2 ~ e1 + z2 + z3",
        {},
        SpecError,
        r"both as a regressor and as an instrument",
    ),
    (
        "iv-instrument-absorbed",
        lambda d: d.assign(zfe=d["fe1"].str[1:].astype(float)),
        "y ~ w | fe1 + fe2 | e1 + e2 ~ z1 + zfe",
        {},
        EstimationError,
        r"excluded instrument\(s\) \['zfe'\] are absorbed by the fixed effects \(fe1 \+ fe2\)",
    ),
    (
        "iv-endog-absorbed",
        lambda d: d.assign(efe=d["fe2"].str[1:].astype(float) * 2.0),
        "y ~ w | fe1 + fe2 | e1 + efe ~ z1 + z2",
        {},
        EstimationError,
        r"endogenous regressor\(s\) \['efe'\] are absorbed",
    ),
    (
        "iv-instruments-collinear",
        lambda d: d.assign(z4=2.0 * d["z1"] - d["z2"]),
        "y ~ w | fe1 | e1 + e2 ~ z1 + z2 + z4",
        {},
        EstimationError,
        r"excluded instrument\(s\) \['z4'\]",
    ),
    (
        "iv-instrument-collinear-with-exog",
        lambda d: d.assign(z4=3.0 * d["w"]),
        "y ~ w | fe1 | e1 + e2 ~ z1 + z4",
        {},
        EstimationError,
        r"excluded instrument\(s\) \['z4'\] .*collinear with the exogenous",
    ),
    (
        "iv-not-separately-identified",
        _endog_equals_iv_combination,
        FML2,
        {},
        EstimationError,
        r"do not identify the endogenous regressors \['e1', 'e2'\] separately",
    ),
    (
        "iv-one-cluster",
        lambda d: d.assign(cl=0),
        FML2,
        {},
        EstimationError,
        r"at least 2 clusters",
    ),
    (
        "iv-constant-outcome",
        lambda d: d.assign(y=1.0),
        FML2,
        {},
        EstimationError,
        r"'y' does not vary",
    ),
    (
        "iv-no-dof",
        lambda d: d.iloc[:12].assign(fe1=[f"a{k}" for k in range(12)]),
        FML2,
        {},
        EstimationError,
        r"no residual degrees of freedom",
    ),
    (
        "iv-unknown-instrument",
        None,
        "y ~ w | fe1 | e1 + e2 ~ z1 + z9",
        {},
        SpecError,
        r"unknown column\(s\) 'z9'",
    ),
    (
        "iv-nan-instrument-text",
        lambda d: d.assign(z3=d["fe1"]),
        FML2,
        {},
        SpecError,
        r"column 'z3' .* is not numeric",
    ),
    ("iv-bad-sample", None, FML2, {"sample": "rich"}, SpecError, r"unknown sample 'rich'"),
]


@pytest.mark.parametrize(
    ("transform", "formula", "options", "error", "match"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_inputs(world, transform, formula, options, error, match):
    df = transform(world) if transform is not None else world
    opts = dict(options)
    cluster = opts.pop("cluster", "cl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match) as err:
            fit_reduced_form(df, formula, estimator="iv", cluster=cluster, **opts)
    assert "\n" not in str(err.value)


def test_enough_bad_cases():
    assert len(BAD) >= 20


def test_bundled_multi_endogenous_names_structest_error(real_panel):
    """Several endogenous regressors on the bundled panel never surface a pyfixest error."""
    fml = (
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva_rta + log_dva_nonrta ~ log_dva_services"
    )
    with pytest.raises(SpecError, match="under-identified"):
        fit_reduced_form(real_panel, fml, estimator="iv")


def test_simulated_panel_multi_endogenous():
    panel, _ = structest.simulate(
        seed=11,
        economies=("USA", "CHN", "JPN", "MEX", "BRA", "IND", "KOR", "TUR"),
        industries=("c3", "c4", "c9", "c12", "c13", "c15"),
        years=(1995, 2005),
    )
    fml = (
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva_gsp + log_dva_nongsp"
        " ~ log_dva_services_gsp + log_dva_services_nongsp"
    )
    res = fit_reduced_form(panel, fml, estimator="iv", sample="nonrta")
    df = panel.df.loc[panel.df["rta"] == 0].reset_index(drop=True)
    d = df.rename(columns={"tariff": "y"})
    b, se = _numpy_2sls(
        d,
        [],
        ["log_dva_gsp", "log_dva_nongsp"],
        ["log_dva_services_gsp", "log_dva_services_nongsp"],
        ["imp_ind_year", "exp_ind_year"],
        "pair",
    )
    np.testing.assert_allclose(res.params.to_numpy(), b, rtol=1e-7)
    np.testing.assert_allclose(res.se.to_numpy(), se, rtol=1e-7)


def test_kleibergen_paap_rk(world):
    """m = 1: the cluster-robust first-stage F; invariant to mixing instruments or
    endogenous regressors; homoskedastic version n s_min^2 (explicit-dummy partialling)."""
    import dataclasses

    from structest.reduced.iv_linear import kleibergen_paap

    one = fit_reduced_form(world, FML1, estimator="iv", cluster="cl")
    kp = one.tests["kleibergen_paap"]
    np.testing.assert_allclose(kp["rk_f"], one.first_stage["e1"]["F_cluster"], rtol=1e-9)
    assert kp["df"] == 2
    two = fit_reduced_form(world, FML2, estimator="iv", cluster="cl")
    kp = two.tests["kleibergen_paap"]
    assert kp["df"] == 2 and kp["rk_f"] == pytest.approx(kp["rk_wald"] / 3)
    data = two.extra["iv_data"]
    rng = np.random.default_rng(1)
    mixed = dataclasses.replace(
        data, Z=data.Z @ rng.normal(size=(3, 3)), E=data.E @ rng.normal(size=(2, 2))
    )
    np.testing.assert_allclose(kleibergen_paap(mixed)["rk_wald"], kp["rk_wald"], rtol=1e-8)
    D = _full_rank_dummies(world, ["fe1", "fe2"])
    W = np.column_stack([world[["w"]].to_numpy(float), D])
    M = world[["e1", "e2", "z1", "z2", "z3"]].to_numpy(float)
    M = M - W @ np.linalg.lstsq(W, M, rcond=None)[0]
    E, Z = M[:, :2], M[:, 2:]
    Pi = np.linalg.lstsq(Z, E, rcond=None)[0]
    V = E - Z @ Pi
    s_min2 = np.linalg.eigvals(np.linalg.solve(V.T @ V, Pi.T @ Z.T @ Z @ Pi)).real.min()
    np.testing.assert_allclose(
        kleibergen_paap(data, robust=False)["rk_wald"], len(world) * s_min2, rtol=1e-8
    )


@pytest.mark.parametrize("ssc", [{}, {"k_fixef": "full"}, "stata"])
def test_nested_effect_pyfixest_keywords_match(world, ssc):
    """pyfixest's 'nonnested' count (an effect nested in the clusters) is reproduced."""
    f = parse("y ~ w | fe1 + cl_fe | e1 ~ z1 + z2")
    a = fit_iv(f, build_sample(world, f, cluster="cl"), cluster="cl", ssc=ssc)
    b = fit_iv_linear(f, build_sample(world, f, cluster="cl"), cluster="cl", ssc=ssc)
    np.testing.assert_allclose(a.se.to_numpy(), b.se.to_numpy(), rtol=1e-8)
