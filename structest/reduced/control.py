"""Tobit-IV by the control-function (Rivers-Vuong / Smith-Blundell) two-step estimator.

Step 1: for each endogenous regressor, FE-OLS on the exogenous regressors and excluded
instruments (same fixed effects); residuals ``v``. Step 2: FE-Tobit of the outcome on the
exogenous and endogenous regressors and ``v``. The coefficients on the endogenous
regressors are the structural ones; the coefficients ``rho`` on ``v`` test exogeneity
(``rho = 0``).

Standard errors: analytic two-step correction (stacked-estimating-equation / Murphy-Topel
form), cluster-robust. With ``s~_i`` the step-2 scores with the fixed effects partialled out
and ``P`` their Schur-complement information, the influence of cluster ``c`` is
``P^{-1} sum_{i in c} [s~_i + sum_k G_k (Z~'Z~)^{-1} z~_i v_ik]`` where
``G_k = -sum_i (d s~_i / d v_ik) z~_i'`` and ``z~`` are the FE-demeaned step-1 regressors
(``d s~_i / d v_ik = -rho_k q_i R~_i + e_rho_k dl_i/dmu``; see
:mod:`structest.reduced.tobit_core`). The covariance is multiplied by ``G/(G-1)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import EstimationError, SpecError
from ..panel import MFN_TOL
from .data import Sample
from .formula import Formula
from .hdfe import encode, project, unidentified_regressors
from .ols_iv import check_ssc
from .results import Results
from .tobit import check_tobit_options, prepare_tobit, regressor_matrix, results_from_fit
from .tobit_core import fit_tobit_arrays

CONTROL_PREFIX = "cf_resid_"


def first_stage_residuals(
    f: Formula, df: pd.DataFrame, drop: tuple[str, ...] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """FE-OLS first stages (own FE demeaning, JAX).

    ``drop`` names exogenous regressors left out (those the Tobit step dropped as constant
    or collinear with the fixed effects in this sample).

    Returns ``(V, Zt, Pi, names)``: residuals ``(n, k_endog)``, demeaned first-stage
    regressors ``(n, k1)``, coefficients ``(k1, k_endog)`` and the regressor names.
    """
    Z, names = regressor_matrix(f, df, (*f.exog, *f.instruments))
    if drop:
        keep = [k for k, nm in enumerate(names) if nm not in drop or nm in f.instruments]
        Z, names = Z[:, keep], [names[k] for k in keep]
    E = df[list(f.endog)].to_numpy(dtype=float)
    fe = encode(df, f.fe)
    kinds = ["instrument" if nm in f.instruments else "regressor" for nm in names]
    problems, _ = unidentified_regressors(
        np.column_stack([Z, E]),
        [*names, *f.endog],
        fe,
        kinds=[*kinds, *(["endogenous regressor"] * len(f.endog))],
    )
    if problems:
        raise EstimationError(f"first stage of '{f.text}': " + "; ".join(problems))
    with jax.enable_x64(True):
        M = jnp.concatenate([jnp.asarray(Z), jnp.asarray(E)], axis=1)
        proj = project(jnp.ones(len(df)), M, fe)
        Mt = np.asarray(M - proj)
    Zt, Et = Mt[:, : Z.shape[1]], Mt[:, Z.shape[1] :]
    Pi = np.linalg.lstsq(Zt, Et, rcond=None)[0]
    rank = np.linalg.matrix_rank(Zt)
    if rank < Zt.shape[1]:
        raise EstimationError(
            f"first stage of '{f.text}': regressors/instruments are collinear with the fixed effects"
        )
    return Et - Zt @ Pi, Zt, Pi, names


def fit_tobit_iv(
    f: Formula,
    sample: Sample,
    *,
    cluster: str | None = "pair",
    upper: str | float | None = "mfn",
    lower: str | float | None = None,
    censor_tol: float = MFN_TOL,
    max_iter: int = 100,
    ssc: dict | None = None,
) -> Results:
    """Control-function Tobit-IV with analytic two-step cluster-robust SEs.

    Parameters
    ----------
    f
        Formula with an IV part (``dep ~ exog | fe | endog ~ instruments``).
    sample
        Estimation sample.
    cluster, upper, lower, censor_tol, max_iter
        As in :func:`structest.reduced.tobit.fit_tobit`.
    ssc
        Checked (:func:`~structest.reduced.ols_iv.check_ssc`) but otherwise ignored (accepted
        for symmetry with the linear estimators).

    Returns
    -------
    Results
        Coefficients on exogenous and endogenous regressors; ``tests["exogeneity"]`` holds
        the Wald test of ``rho = 0`` (chi-squared, two-step-corrected covariance) and
        ``extra["control"]`` the control-function coefficients.
    """
    upper, lower, censor_tol, max_iter = check_tobit_options(upper, lower, censor_tol, max_iter)
    check_ssc(ssc)
    if not f.is_iv:
        raise SpecError(f"formula '{f.text}' has no IV part 'endog ~ instruments' for tobit_iv")
    # the Tobit sample rules (all-censored cells) first, so both steps use the same rows
    base = f.without_iv()
    _, kept = prepare_tobit(
        base, sample, base.exog, cluster=cluster, upper=upper, lower=lower, censor_tol=censor_tol
    )
    # exogenous regressors the Tobit step drops (e.g. rta in a non-RTA sample) leave the
    # first stage too, as OLS, IV and Tobit drop them
    exog_names = regressor_matrix(base, sample.df, base.exog)[1] if base.exog else []
    absorbed = tuple(n for n in exog_names if n not in kept)
    Vhat, Zt, _, _ = first_stage_residuals(f, sample.df, drop=absorbed)
    controls = tuple(f"{CONTROL_PREFIX}{e}" for e in f.endog)
    sample.df = sample.df.assign(**{c: Vhat[:, k] for k, c in enumerate(controls)})
    f2 = f.without_iv(extra_exog=controls)
    data, names = prepare_tobit(
        f2, sample, f2.exog, cluster=cluster, upper=upper, lower=lower, censor_tol=censor_tol
    )
    if len(data.y) != len(Vhat):  # pragma: no cover - the first call already dropped them
        raise SpecError("internal: Tobit-IV sample changed between the two steps")
    lost = [c[len(CONTROL_PREFIX) :] for c in controls if c not in names]
    if lost:
        raise EstimationError(
            f"Tobit-IV '{f.text}': the first-stage residual of {lost} is collinear with the "
            "fixed effects and regressors of the second step: the instruments carry no "
            "information beyond them"
        )
    fit = fit_tobit_arrays(data, max_iter=max_iter, names=names)

    # ---- two-step correction
    p = len(names)
    ZtZ_inv = np.linalg.inv(Zt.T @ Zt)
    scores = fit.scores.copy()  # (n, p+1)
    for k, c in enumerate(controls):
        j = names.index(c)
        rho = fit.beta[j]
        ds = -rho * fit.q_mumu[:, None] * fit.R_tilde
        ds[:, j] += fit.dl_dmu
        Gk = -(ds.T @ Zt)  # (p+1, k1)
        scores += (Zt * Vhat[:, [k]]) @ ZtZ_inv.T @ Gk.T
    cl = data.cluster if data.cluster is not None else np.arange(len(data.y))
    G = int(cl.max()) + 1
    S = np.zeros((G, p + 1))
    np.add.at(S, cl, scores)
    V = fit.bread @ (S.T @ S) @ fit.bread * (G / (G - 1) if G > 1 else 1.0)

    res = results_from_fit(
        fit, f2, sample, names, data, estimator="tobit_iv", cluster=cluster, vcov=V
    )
    idx = [names.index(c) for c in controls]
    rho = fit.beta[idx]
    Vr = V[np.ix_(idx, idx)]
    try:
        wald = float(rho @ np.linalg.solve(Vr, rho))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            f"Tobit-IV '{f.text}': the covariance of the control-function coefficients is "
            "singular: the exogeneity test is undefined"
        ) from exc
    res.tests["exogeneity"] = {
        "stat": wald,
        "df": len(idx),
        "pvalue": float(stats.chi2.sf(wald, len(idx))),
        "distribution": "chi2",
    }
    res.extra["control"] = pd.DataFrame(
        {"coef": rho, "se": np.sqrt(np.diag(Vr)), "se_naive": np.sqrt(np.diag(fit.vcov)[idx])},
        index=list(controls),
    )
    keep = [n for n in names if n not in controls]
    res.params = res.params[keep]
    res.se = res.se[keep]
    res.vcov = res.vcov.loc[keep, keep]
    res.formula = f.text
    res.notes.append(
        "Tobit-IV: control function (Rivers-Vuong/Smith-Blundell), SEs with the analytic "
        "two-step correction (first-stage estimation error), cluster-robust"
    )
    return res
