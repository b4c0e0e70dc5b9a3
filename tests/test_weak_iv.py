"""Anderson-Rubin confidence sets: exactness against a direct Wald computation, coverage under
weak instruments, the shapes of the set, the record on IV results, and bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from structest import EstimationError, OptionError, SpecError
from structest.reduced import fit_reduced_form
from structest.reduced.weak_iv import ConfidenceSet, _matrix_set, _quadratic_set, anderson_rubin


def _sim(rng, n=300, G=100, pi=0.09, rho=0.9, beta=1.0, L=1):
    """Weak instruments (first-stage F about 2-5 for pi = 0.09), strong endogeneity."""
    cl = np.repeat(np.arange(G), n // G)
    Z = rng.normal(size=(n, L))
    u = rng.normal(size=n)
    v = rho * u + np.sqrt(1 - rho**2) * rng.normal(size=n)
    x = Z @ np.full(L, pi) + v
    y = beta * x + u
    return y, x, Z, cl


def _ar_stat(y, x, Z, cl, b, factor=None):
    """W(b) / L by a direct regression of y - b x on Z with a numpy cluster sandwich."""
    G, L = int(cl.max()) + 1, Z.shape[1]
    e = y - b * x
    pi = np.linalg.lstsq(Z, e, rcond=None)[0]
    r = e - Z @ pi
    S = pd.DataFrame(Z * r[:, None]).groupby(cl).sum().to_numpy()
    Qi = np.linalg.inv(Z.T @ Z)
    V = Qi @ (S.T @ S) @ Qi * (G / (G - 1) if factor is None else factor)
    return float(pi @ np.linalg.solve(V, pi)) / L


def _wald_covers(y, x, Z, cl, beta):
    """The 2SLS Wald 95% interval (cluster-robust, G/(G-1), t(G-1)) covers beta?"""
    Pz = Z @ np.linalg.lstsq(Z, x, rcond=None)[0]
    b = (Pz @ y) / (Pz @ x)
    s = np.bincount(cl, Pz * (y - b * x))
    G = len(s)
    se = np.sqrt((s @ s) / (Pz @ x) ** 2 * G / (G - 1))
    return abs(b - beta) <= stats.t.ppf(0.975, G - 1) * se


def test_coverage_under_weak_instruments():
    """300 samples, n = 300, 100 clusters, first-stage F ~ 2-5: AR covers, Wald does not."""
    rng = np.random.default_rng(2024)
    reps, ar, wald, F = 300, 0, 0, []
    kinds = set()
    for _ in range(reps):
        y, x, Z, cl = _sim(rng)
        s = anderson_rubin({"y": y, "x": x, "Z": Z, "clusters": cl})
        kinds.add(s.kind)
        ar += s.contains(1.0)
        wald += _wald_covers(y, x, Z, cl, 1.0)
        g = Z[:, 0]
        p = (g @ x) / (g @ g)
        sc = np.bincount(cl, g * (x - p * g))
        F.append(p**2 / ((sc @ sc) / (g @ g) ** 2 * 100 / 99))
    assert 2 <= np.mean(F) <= 5
    assert 0.93 <= ar / reps <= 0.97
    assert wald / reps < 0.90
    assert kinds == {"interval", "two rays", "everything"}


def test_coverage_overidentified():
    rng = np.random.default_rng(7)
    hits = sum(
        anderson_rubin(
            dict(
                zip("yxZ", _sim(rng, L=3, pi=0.07)[:3], strict=True),
                clusters=np.repeat(np.arange(100), 3),
            )
        ).contains(1.0)
        for _ in range(200)
    )
    assert 0.92 <= hits / 200 <= 0.98


@pytest.mark.parametrize("L", [1, 2, 3])
def test_set_equals_direct_test_on_a_grid(L):
    """Membership equals W(b) <= critical value computed directly, and W = crit on the boundary."""
    rng = np.random.default_rng(100 + L)
    for _ in range(4):
        y, x, Z, cl = _sim(rng, L=L, pi=0.08)
        s = anderson_rubin({"y": y, "x": x, "Z": Z, "clusters": cl}, level=0.9)
        crit = stats.f.ppf(0.9, L, 99)
        grid = np.linspace(-15, 15, 121)
        direct = np.array([_ar_stat(y, x, Z, cl, b) <= crit for b in grid])
        np.testing.assert_array_equal(s.contains(grid), direct)
        for lo, hi in s.intervals:
            for b in (lo, hi):
                if np.isfinite(b):
                    np.testing.assert_allclose(_ar_stat(y, x, Z, cl, b), crit, rtol=1e-6)
        np.testing.assert_allclose(s.stat_zero, _ar_stat(y, x, Z, cl, 0.0), rtol=1e-8)
        np.testing.assert_allclose(s.p_zero, stats.f.sf(s.stat_zero, L, 99), rtol=1e-8)


def test_quadratic_and_matrix_paths_agree():
    rng = np.random.default_rng(3)
    for _ in range(50):
        a = rng.normal(size=3)
        q = _quadratic_set(*a)
        m = _matrix_set(np.array([[a[2]]]), np.array([[a[1]]]), np.array([[a[0]]]))
        assert len(q) == len(m)
        for (a1, b1), (a2, b2) in zip(q, m, strict=True):
            np.testing.assert_allclose([a1, b1], [a2, b2], rtol=1e-8)


def _orth(v, Z):
    return v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]


def test_shapes():
    rng = np.random.default_rng(0)
    n, cl = 200, np.repeat(np.arange(50), 4)
    Z = rng.normal(size=(n, 1))
    strong_x = 2 * Z[:, 0] + rng.normal(size=n)
    s = anderson_rubin({"y": strong_x + rng.normal(size=n), "x": strong_x, "Z": Z, "clusters": cl})
    assert s.kind == "interval" and s.bounded and 1.0 in s
    # x unrelated to Z (exactly), y too: no information, every value is in the set
    x0, y0 = _orth(rng.normal(size=n), Z), _orth(rng.normal(size=n), Z)
    s = anderson_rubin({"y": y0, "x": x0, "Z": Z, "clusters": cl})
    assert s.kind == "everything" and s.intervals == ((-np.inf, np.inf),) and not s.bounded
    assert str(s).startswith("Anderson-Rubin 95% set for x: (-inf, inf) (everything)")
    # x unrelated to Z, y strongly related: only large |b| (which mute y's part) stay in
    s = anderson_rubin({"y": y0 + 3 * Z[:, 0], "x": x0, "Z": Z, "clusters": cl, "name": "b"})
    assert s.kind == "two rays" and 0.0 not in s and 1e6 in s and -1e6 in s
    assert s.p_zero < 1e-6 and "U" in str(s)
    # over-identified and contradictory instruments: x moves with z1, y with z2 only
    Z2 = rng.normal(size=(n, 2))
    x = Z2[:, 0] + 0.1 * rng.normal(size=n)
    y = 3 * Z2[:, 1] + 0.1 * rng.normal(size=n)
    s = anderson_rubin({"y": y, "x": x, "Z": Z2, "clusters": cl})
    assert s.kind == "empty" and s.intervals == () and not s.contains(np.array([0.0, 1.0])).any()
    assert s.to_dict()["kind"] == "empty"


def test_exogenous_regressors_and_heteroskedastic_version():
    rng = np.random.default_rng(1)
    y, x, Z, cl = _sim(rng, pi=0.3)
    shift = 5.0
    a = anderson_rubin(
        {"y": y + shift, "x": x + shift, "Z": Z, "X": np.ones((len(y), 1)), "clusters": cl}
    )
    dm = {k: v - v.mean(axis=0) for k, v in {"y": y, "x": x, "Z": Z}.items()}
    b = anderson_rubin({**dm, "clusters": cl})
    np.testing.assert_allclose(np.array(a.intervals), np.array(b.intervals), rtol=1e-8)
    h = anderson_rubin({"y": y, "x": x, "Z": Z})
    assert h.df == (1, None)
    crit = stats.chi2.ppf(0.95, 1)
    for b0 in h.intervals[0]:
        e = y - b0 * x
        p = (Z[:, 0] @ e) / (Z[:, 0] @ Z[:, 0])
        r = e - p * Z[:, 0]
        V = np.sum((Z[:, 0] * r) ** 2) / (Z[:, 0] @ Z[:, 0]) ** 2
        np.testing.assert_allclose(p**2 / V, crit, rtol=1e-7)


def _explicit_partial(df: pd.DataFrame, cols: list[str], exog: list[str], fes: list[str]) -> dict:
    D = np.column_stack([pd.get_dummies(df[fe], dtype=float).to_numpy() for fe in fes])
    W = np.column_stack([df[exog].to_numpy(float), D]) if exog else D
    M = df[cols].to_numpy(float)
    return M - W @ np.linalg.lstsq(W, M, rcond=None)[0]


@pytest.fixture(scope="module")
def fe_world() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 300
    fe1, fe2 = rng.integers(0, 8, n), rng.integers(0, 5, n)
    a = rng.normal(size=8)[fe1] + rng.normal(size=5)[fe2]
    z1, z2, w = rng.normal(size=(3, n)) + a
    u = rng.normal(size=n)
    x = 0.15 * z1 + 0.1 * z2 + 0.3 * w + a + 0.8 * u + rng.normal(size=n)
    y = 1.5 * x - w + a + u
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "w": w,
            "z1": z1,
            "z2": z2,
            "fe1": fe1.astype(str),
            "fe2": fe2.astype(str),
            "cl": rng.integers(0, 30, n),
        }
    )


@pytest.mark.parametrize("ssc", ["cluster", "stata"])
def test_results_record_the_set_with_effects(fe_world, ssc):
    fml = "y ~ w | fe1 + fe2 | x ~ z1 + z2"
    res = fit_reduced_form(fe_world, fml, estimator="iv", cluster="cl", ssc=ssc)
    s = res.tests["anderson_rubin"]
    assert isinstance(s, ConfidenceSet) and s.parameter == "x" and s.level == 0.95
    assert "Anderson-Rubin 95% set for x" in res.summary()
    again = anderson_rubin(res, level=0.95)
    assert again.intervals == s.intervals
    M = _explicit_partial(fe_world, ["y", "x", "z1", "z2"], ["w"], ["fe1", "fe2"])
    cl = pd.factorize(fe_world["cl"])[0]
    N, G = len(fe_world), 30
    factor = G / (G - 1)
    if ssc == "stata":
        D = np.column_stack(
            [pd.get_dummies(fe_world[fe], dtype=float).to_numpy() for fe in ("fe1", "fe2")]
        )
        K = np.linalg.matrix_rank(np.column_stack([fe_world[["w", "z1", "z2"]].to_numpy(float), D]))
        factor *= (N - 1) / (N - K)
    crit = stats.f.ppf(0.95, 2, G - 1)
    for lo, hi in s.intervals:
        for b in (lo, hi):
            if np.isfinite(b):
                stat = _ar_stat(M[:, 0], M[:, 1], M[:, 2:], cl, b, factor=factor)
                np.testing.assert_allclose(stat, crit, rtol=1e-6)
    if ssc == "cluster":
        direct = anderson_rubin(
            {"y": M[:, 0], "x": M[:, 1], "Z": M[:, 2:], "clusters": fe_world["cl"]}
        )
        np.testing.assert_allclose(np.array(direct.intervals), np.array(s.intervals), rtol=1e-7)
    wider = anderson_rubin(res, level=0.99)
    assert all(wider.contains(b) for iv in s.intervals for b in iv if np.isfinite(b))


def test_bundled_strong_instrument_close_to_wald(real_panel):
    res = fit_reduced_form(
        real_panel,
        "tariff ~ 1 | imp_ind_year + exp_ind_year | log_dva ~ log_dva_services",
        estimator="iv",
        sample="nonrta",
    )
    s = res.tests["anderson_rubin"]
    ci = res.conf_int().loc["log_dva"]
    assert s.kind == "interval"
    np.testing.assert_allclose(s.intervals[0], [ci["lower"], ci["upper"]], atol=0.01)


@pytest.fixture(scope="module")
def fits(fe_world):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ols = fit_reduced_form(fe_world, "y ~ x + w | fe1", cluster="cl")
        two = fit_reduced_form(
            fe_world.assign(x2=fe_world["x"] ** 2 + fe_world["z2"]),
            "y ~ w | fe1 | x + x2 ~ z1 + z2",
            estimator="iv",
            cluster="cl",
        )
    return {"ols": ols, "two": two}


_Y = np.arange(10.0)
_OK = {"y": _Y, "x": _Y**2 % 7, "Z": np.column_stack([np.sin(_Y), np.cos(_Y)])}

BAD = [
    (
        "level-above-1",
        lambda f: _OK,
        {"level": 1.5},
        OptionError,
        r"^level must be a number strictly between 0 and 1",
    ),
    ("level-zero", lambda f: _OK, {"level": 0}, OptionError, r"got 0$"),
    ("level-bool", lambda f: _OK, {"level": True}, OptionError, r"got True$"),
    ("level-text", lambda f: _OK, {"level": "0.95"}, OptionError, r"got '0.95'$"),
    ("level-nan", lambda f: _OK, {"level": float("nan")}, OptionError, r"got nan$"),
    (
        "ols-result",
        lambda f: f["ols"],
        {},
        SpecError,
        r"needs a linear IV result .* got a 'ols' result",
    ),
    (
        "two-endogenous",
        lambda f: f["two"],
        {},
        SpecError,
        r"one endogenous regressor; this fit has 2 \(x, x2\)",
    ),
    ("not-a-mapping", lambda f: [1, 2, 3], {}, OptionError, r"takes an IV Results .* got list"),
    ("missing-Z", lambda f: {"y": _Y, "x": _Y}, {}, OptionError, r"lack \['Z'\]"),
    ("unknown-key", lambda f: {**_OK, "W": _Y}, {}, OptionError, r"unknown key\(s\) \['W'\]"),
    (
        "rows-mismatch",
        lambda f: {**_OK, "x": _Y[:9]},
        {},
        OptionError,
        r"'x' has 9 rows, 'y' has 10",
    ),
    (
        "nan-y",
        lambda f: {**_OK, "y": np.r_[np.nan, _Y[1:]]},
        {},
        OptionError,
        r"'y' has 1 non-finite",
    ),
    ("text-x", lambda f: {**_OK, "x": ["a"] * 10}, {}, OptionError, r"'x' must be numeric"),
    (
        "Z-3d",
        lambda f: {**_OK, "Z": np.zeros((10, 2, 2))},
        {},
        OptionError,
        r"'Z' must be 2-dimensional",
    ),
    (
        "clusters-short",
        lambda f: {**_OK, "clusters": [0, 1]},
        {},
        OptionError,
        r"'clusters' has 2 rows",
    ),
    (
        "clusters-missing",
        lambda f: {**_OK, "clusters": [None] + [1] * 9},
        {},
        OptionError,
        r"'clusters' has missing",
    ),
    (
        "one-cluster",
        lambda f: {**_OK, "clusters": [1] * 10},
        {},
        EstimationError,
        r"at least 2 clusters, got 1",
    ),
    (
        "x-constant-zero",
        lambda f: {**_OK, "x": np.zeros(10)},
        {},
        EstimationError,
        r"'x' does not vary",
    ),
    (
        "Z-collinear",
        lambda f: {**_OK, "Z": np.column_stack([_Y, 2 * _Y])},
        {},
        EstimationError,
        r"instrument\(s\) are collinear",
    ),
    ("bad-ssc", lambda f: _OK, {"ssc": "small"}, OptionError, r"^ssc must be a mapping"),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_inputs(fits, make, kwargs, error, match):
    with pytest.raises(error, match=match) as err:
        anderson_rubin(make(fits), **kwargs)
    assert "\n" not in str(err.value)


def test_multi_endogenous_fit_notes_why_no_set(fits):
    assert "anderson_rubin" not in fits["two"].tests
    assert any("Anderson-Rubin set not computed" in n for n in fits["two"].notes)
