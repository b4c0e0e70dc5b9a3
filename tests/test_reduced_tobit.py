"""FE-Tobit: agreement with an independent dummy-variable MLE, sample rules, consistency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.optimize
from scipy import stats

import structest
from structest import SpecError
from structest.reduced import fit_reduced_form

SMALL = {
    "economies": ("USA", "CHN", "JPN", "MEX", "BRA", "IND"),
    "industries": ("c3", "c4", "c9"),
    "years": (1995, 2005),
}
FML = "tariff ~ log_dva_ratio + log_ip_ratio + rta | imp_ind_year + exp_ind_year"


# ----------------------------------------------------------------------------- reference
def _drop_all_censored(df: pd.DataFrame, fes: list[str], cens_cols: list[str]) -> pd.DataFrame:
    """Independent re-implementation of the non-existence rule (iterate to a fixed point)."""
    while True:
        bad = np.zeros(len(df), dtype=bool)
        for fe in fes:
            for c in cens_cols:
                bad |= df.groupby(fe)[c].transform("all").to_numpy()
        if not bad.any():
            return df
        df = df.loc[~bad].reset_index(drop=True)


def _dummy_design(df: pd.DataFrame, xcols: list[str], fes: list[str]) -> tuple[np.ndarray, int]:
    X = df[xcols].to_numpy(dtype=float)
    D = np.column_stack([pd.get_dummies(df[fe]).to_numpy(dtype=float) for fe in fes])
    Z = np.column_stack([X, D])
    # keep a maximal linearly independent set of dummies (slopes first)
    _, R, piv = scipy.linalg.qr(Z, pivoting=True, mode="economic")
    rank = int((np.abs(np.diag(R)) > 1e-9 * np.abs(R[0, 0])).sum())
    keep = np.sort(piv[:rank])
    assert all(k in keep for k in range(X.shape[1]))
    return Z[:, keep], X.shape[1]


def _reference_tobit(df: pd.DataFrame, xcols: list[str], fes: list[str], lower: float | None):
    """Tobit MLE on the full dummy design with scipy; cluster sandwich by pair, G/(G-1)."""
    y = df["tariff"].to_numpy(float)
    U = df["mfn"].to_numpy(float)
    right = y >= U - 1e-6
    left = (y <= lower + 1e-6) & ~right if lower is not None else np.zeros(len(y), bool)
    unc = ~right & ~left
    Z, p = _dummy_design(df, xcols, fes)
    k = Z.shape[1]

    def obs_ll(th: np.ndarray) -> np.ndarray:
        mu, s = Z @ th[:k], np.exp(th[k])
        out = np.empty(len(y))
        out[unc] = stats.norm.logpdf((y[unc] - mu[unc]) / s) - np.log(s)
        out[right] = stats.norm.logcdf((mu[right] - U[right]) / s)
        if left.any():
            out[left] = stats.norm.logcdf((lower - mu[left]) / s)
        return out

    def obs_score(th: np.ndarray) -> np.ndarray:
        mu, s = Z @ th[:k], np.exp(th[k])
        dmu, ds = np.empty(len(y)), np.empty(len(y))
        e = (y[unc] - mu[unc]) / s
        dmu[unc], ds[unc] = e / s, e**2 - 1
        zr = (mu[right] - U[right]) / s
        m = np.exp(stats.norm.logpdf(zr) - stats.norm.logcdf(zr))
        dmu[right], ds[right] = m / s, -m * zr
        if left.any():
            zl = (lower - mu[left]) / s
            m = np.exp(stats.norm.logpdf(zl) - stats.norm.logcdf(zl))
            dmu[left], ds[left] = -m / s, -m * zl
        return np.column_stack([Z * dmu[:, None], ds])

    th0 = np.concatenate([np.linalg.lstsq(Z, y, rcond=None)[0], [np.log(y.std())]])
    res = scipy.optimize.minimize(
        lambda t: -obs_ll(t).sum(),
        th0,
        jac=lambda t: -obs_score(t).sum(0),
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 20000},
    )
    th = res.x
    # Newton polish with a finite-difference Hessian of the analytic score
    for _ in range(5):
        H = _fd_jac(lambda t: obs_score(t).sum(0), th)
        th = th - np.linalg.solve(H, obs_score(th).sum(0))
    H = _fd_jac(lambda t: obs_score(t).sum(0), th)
    Hinv = np.linalg.inv(-H)
    cl = pd.factorize(df["pair"])[0]
    G = cl.max() + 1
    S = np.zeros((G, k + 1))
    np.add.at(S, cl, obs_score(th))
    V = Hinv @ (S.T @ S) @ Hinv * G / (G - 1)
    idx = [*range(p), k]
    return th[idx], V[np.ix_(idx, idx)], obs_ll(th).sum()


def _fd_jac(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    cols = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return np.column_stack(cols)


# ----------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def small():
    panel, _ = structest.simulate(seed=3, **SMALL)
    return panel


@pytest.mark.parametrize("lower", [None, 0.0])
def test_tobit_matches_dummy_mle(small, lower):
    res = fit_reduced_form(small, FML, estimator="tobit", lower=lower)
    df = small.df.copy()
    df["rc"] = df["tariff"] >= df["mfn"] - 1e-6
    cens = ["rc"]
    if lower is not None:
        df["lc"] = (df["tariff"] <= lower + 1e-6) & ~df["rc"]
        cens.append("lc")
    df = _drop_all_censored(df, ["imp_ind_year", "exp_ind_year"], cens)
    xcols = ["log_dva_ratio", "log_ip_ratio", "rta"]
    th, V, ll = _reference_tobit(df, xcols, ["imp_ind_year", "exp_ind_year"], lower)
    assert res.nobs == len(df)
    assert res.nobs + sum(n for _, n in res.dropped) == len(small.df)
    np.testing.assert_allclose(res.params[xcols].to_numpy(), th[:3], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(res.sigma, np.exp(th[3]), rtol=1e-4)
    np.testing.assert_allclose(res.se[xcols].to_numpy(), np.sqrt(np.diag(V)[:3]), rtol=1e-4)
    np.testing.assert_allclose(res.sigma_se, np.exp(th[3]) * np.sqrt(V[3, 3]), rtol=1e-4)
    np.testing.assert_allclose(res.loglik, ll, rtol=1e-8)


def test_tobit_drops_all_censored_cells_with_reasons(small):
    res = fit_reduced_form(small, FML, estimator="tobit")
    assert res.dropped, "this panel has all-censored cells"
    assert all("Tobit MLE does not exist" in why for why, _ in res.dropped)
    assert len(res.dropped_obs) == sum(n for _, n in res.dropped)
    kept = small.df.merge(
        res.dropped_obs, on=["importer", "exporter", "industry", "year"], how="left"
    )
    assert kept["reason"].notna().sum() == len(res.dropped_obs)
    # no remaining cell is all-censored: refit on the kept rows drops nothing
    rest = kept.loc[kept["reason"].isna()].drop(columns="reason")
    res2 = fit_reduced_form(rest, FML, estimator="tobit")
    assert res2.dropped == ()
    np.testing.assert_allclose(res2.params, res.params, rtol=1e-8)


def test_tobit_preference_equals_tariff_with_shifted_bound(small):
    """preference = tariff - mfn censored at 0 is the same model (absorbed by importer FE)."""
    a = fit_reduced_form(small, FML, estimator="tobit")
    b = fit_reduced_form(small, FML.replace("tariff ~", "preference ~"), estimator="tobit")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-6)


def test_tobit_errors(small):
    with pytest.raises(SpecError, match="nosuchcol"):
        fit_reduced_form(small, "tariff ~ nosuchcol | imp_ind_year", estimator="tobit")
    with pytest.raises(SpecError, match="upper_col"):
        fit_reduced_form(small, FML, estimator="tobit", upper="upper_col")
    with pytest.raises(SpecError, match="unknown option"):
        fit_reduced_form(small, FML, estimator="tobit", bogus=1)


def _bias(n_econ: int, seed: int) -> tuple[float, float]:
    econ = tuple(f"E{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n_econ))
    panel, truth = structest.simulate(
        seed=seed, economies=econ, industries=("c3", "c9"), years=(1995, 2005), pref_share=0.5
    )
    fml = "tariff ~ log_dva_ratio + log_ip_ratio | imp_ind_year + exp_ind_year"
    tob = fit_reduced_form(panel, fml, estimator="tobit", lower=0.0, sample="nonrta")
    ols = fit_reduced_form(panel, fml, estimator="ols", sample="nonrta")
    return tob.params["log_dva_ratio"] - truth["g_DVA"], ols.params["log_dva_ratio"] - truth[
        "g_DVA"
    ]


def test_tobit_consistent_ols_attenuated():
    """Two-sided Tobit on the synthetic world: bias shrinks as cells grow; OLS is attenuated."""
    small_b = np.mean([_bias(8, s)[0] for s in range(2)])
    big_tob, big_ols = zip(*[_bias(30, s) for s in range(2)], strict=True)
    big_b = np.mean(big_tob)
    assert abs(big_b) < abs(small_b)
    assert abs(big_b) < 0.1  # true g_DVA = -1
    # OLS on censored tariffs is attenuated toward zero (true slope -1)
    assert np.mean(big_ols) > 0.2
