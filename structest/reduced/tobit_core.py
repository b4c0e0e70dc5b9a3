"""Fixed-effects Tobit maximum likelihood in JAX: pure numerical core.

Model: ``y* = X b + D a + e``, ``e ~ N(0, s^2)``; observed ``y = min(y*, U)`` (and
``max(., L)`` when a lower bound is given), with observation-specific censoring points.

Algorithm
---------
Full Newton on *all* parameters (slopes, every fixed effect, scale), in Olsen's
parametrisation ``(g = b/s, a/s, t = 1/s)`` where the log-likelihood is globally concave,
with a backtracking line search. The Newton system is solved exactly by block elimination:
the fixed-effect block ``D' Q D`` is handled matrix-free (integer codes, ``take`` and
``segment_sum``, see :mod:`structest.reduced.hdfe`), so the slope step is
``P^{-1} sum_i s~_i`` with ``P`` the Schur complement ``A - B C^{-1} B'`` and ``s~`` the
scores with the fixed effects partialled out (weighted projection with weights
``-d2 l / d eta2``). Per-observation first and second derivatives of the log-likelihood are
exact (``jax.grad`` / ``jax.hessian`` of the scalar per-observation log-density).

Standard errors
---------------
At the optimum, in the natural parametrisation ``(b, a, log s)``, the slope block of the
cluster-robust sandwich ``H^{-1} S H^{-1}`` is ``P^{-1} (sum_c s~_c s~_c') P^{-1}`` with
``s~`` the partialled-out scores: exactly the slope block of the full sandwich, because the
rows of ``H^{-1}`` for the slopes are ``P^{-1} [I, -B C^{-1}]``. Multiplied by ``G/(G-1)``.

64-bit floats: every entry point runs inside ``jax.enable_x64(True)`` (a context manager,
so the global JAX configuration of other modules is untouched).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from ..errors import EstimationError, OptionError
from ..special import log_ndtr
from .hdfe import (
    FixedEffects,
    fe_label,
    fe_rank,
    no_dof_message,
    project,
    unidentified_regressors,
)
from .results import EXPLODING_SE, EstimationWarning

UNCENSORED, RIGHT, LEFT = 0, 1, 2

#: sigma below this fraction of the outcome's spread is a perfect fit (sigma -> 0 and the
#: log-likelihood -> +inf): the estimate is refused.
SIGMA_COLLAPSE: float = 1e-6
#: Smallest eigenvalue of the scaled information matrix (unit diagonal) at the optimum:
#: below ``SINGULAR_TOL`` the slopes are not identified (refused); below
#: ``NEAR_SINGULAR_TOL`` their standard errors are unreliable (EstimationWarning).
SINGULAR_TOL: float = 1e-12
NEAR_SINGULAR_TOL: float = 1e-9


# ---------------------------------------------------------------- per-observation densities
def _ll_olsen(v: jax.Array, y: jax.Array, U: jax.Array, L: jax.Array, st: jax.Array) -> jax.Array:
    """Log-density in Olsen's parameters ``v = (eta, tau)``, ``eta = mu/s``, ``tau = 1/s``."""
    eta, tau = v[0], v[1]
    unc = jnp.log(tau) + norm.logpdf(tau * y - eta)
    right = log_ndtr(eta - tau * U)
    left = log_ndtr(tau * L - eta)
    return jnp.where(st == UNCENSORED, unc, jnp.where(st == RIGHT, right, left))


def _ll_natural(v: jax.Array, y: jax.Array, U: jax.Array, L: jax.Array, st: jax.Array) -> jax.Array:
    """Log-density in natural parameters ``v = (mu, log s)``."""
    mu, s = v[0], v[1]
    sig = jnp.exp(s)
    unc = -s + norm.logpdf((y - mu) / sig)
    right = log_ndtr((mu - U) / sig)
    left = log_ndtr((L - mu) / sig)
    return jnp.where(st == UNCENSORED, unc, jnp.where(st == RIGHT, right, left))


def _derivs(f):  # type: ignore[no-untyped-def]
    """Vectorised value, gradient and Hessian of a per-observation log-density."""
    g = jax.grad(f)
    h = jax.hessian(f)

    def one(v, y, U, L, st):  # type: ignore[no-untyped-def]
        return f(v, y, U, L, st), g(v, y, U, L, st), h(v, y, U, L, st)

    return jax.vmap(one)


_d_olsen = _derivs(_ll_olsen)
_d_natural = _derivs(_ll_natural)


@jax.jit
def _loglik_olsen(eta: jax.Array, tau: jax.Array, y, U, L, st) -> jax.Array:  # type: ignore[no-untyped-def]
    v = jnp.stack([eta, jnp.broadcast_to(tau, eta.shape)], axis=1)
    return jnp.sum(jax.vmap(_ll_olsen)(v, y, U, L, st))


@partial(jax.jit, static_argnames=("natural",))
def _obs_derivs(a: jax.Array, b: jax.Array, y, U, L, st, natural: bool = False):  # type: ignore[no-untyped-def]
    v = jnp.stack([a, jnp.broadcast_to(b, a.shape)], axis=1)
    return (_d_natural if natural else _d_olsen)(v, y, U, L, st)


# ---------------------------------------------------------------- data container
@dataclass(frozen=True)
class TobitData:
    """Arrays of a FE-Tobit problem (already cleaned of non-existence cells).

    Attributes
    ----------
    y, X
        Outcome ``(n,)`` and slope regressors ``(n, p)``.
    upper, lower
        Censoring points ``(n,)`` (placeholders where unused).
    status
        0 uncensored, 1 right-censored at ``upper``, 2 left-censored at ``lower``.
    fe
        Encoded fixed effects.
    cluster
        Integer cluster codes ``(n,)`` (``None``: one cluster per observation).
    """

    y: np.ndarray
    X: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    status: np.ndarray
    fe: FixedEffects
    cluster: np.ndarray | None = None


@dataclass(frozen=True)
class TobitFit:
    """Raw output of :func:`fit_tobit_arrays` (natural parameters)."""

    beta: np.ndarray
    sigma: float
    vcov: np.ndarray  # (p+1, p+1) for (beta, log sigma), clustered, G/(G-1)
    vcov_oim: np.ndarray  # inverse observed information, slope block
    loglik: float
    fe_fit: np.ndarray  # (n,) fitted fixed-effect part D a
    n_iter: int
    converged: bool
    n_clusters: int
    scores: np.ndarray  # (n, p+1) partialled-out scores (natural parameters)
    bread: np.ndarray  # P^{-1}
    dl_dmu: np.ndarray  # (n,) d l_i / d mu_i at the optimum
    q_mumu: np.ndarray  # (n,) -d2 l_i / d mu_i^2
    R_tilde: np.ndarray  # (n, p+1) [X, q_mus/q_mumu] minus its weighted FE projection
    diagnostics: tuple[str, ...] = ()  # EstimationWarning messages issued by the fit


def _schur_pieces(X, qaa, qab, qbb, la, lb, fe: FixedEffects, tol: float):  # type: ignore[no-untyped-def]
    """Partial the fixed effects out: returns ``(P, scores~, h, extra)``.

    ``P`` is the Schur complement of the FE block in the negative Hessian (slopes + scale),
    ``scores~`` the per-observation partialled scores, ``h`` the weighted FE projection of
    ``[X, qab/qaa]`` and ``extra`` the projection of ``la/qaa`` (the FE part of the
    Newton step).
    """
    p = X.shape[1]
    # observations deep in a censored tail carry (numerically) no curvature; give them a
    # tiny weight and zero ratios so the FE solve stays well scaled (their contribution to
    # every sum below is ~qaa and therefore negligible either way)
    live = qaa > 1e-14 * jnp.max(qaa)
    qaa = jnp.where(live, qaa, 1e-14 * jnp.max(qaa))
    R = jnp.concatenate([X, jnp.where(live, qab / qaa, 0.0)[:, None]], axis=1)
    V = jnp.concatenate([R, jnp.where(live, la / qaa, 0.0)[:, None]], axis=1)
    proj = project(qaa, V, fe, tol=tol)
    h, extra = proj[:, : p + 1], proj[:, p + 1]
    A = jnp.zeros((p + 1, p + 1))
    A = A.at[:p, :p].set(X.T @ (qaa[:, None] * X))
    A = A.at[:p, p].set(X.T @ qab)
    A = A.at[p, :p].set(X.T @ qab)
    A = A.at[p, p].set(jnp.sum(qbb))
    P = A - h.T @ (qaa[:, None] * h)
    s_theta = jnp.concatenate([X * la[:, None], lb[:, None]], axis=1)
    scores = s_theta - h * la[:, None]
    return P, scores, h, extra


def fit_tobit_arrays(
    data: TobitData,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
    cg_tol: float = 1e-11,
    init: tuple[np.ndarray, float] | None = None,
    names: Sequence[str] | None = None,
) -> TobitFit:
    """Maximum likelihood of the FE Tobit by exact Newton with FE block elimination.

    Parameters
    ----------
    data
        Problem arrays.
    max_iter
        Newton iteration cap.
    tol
        Convergence tolerance on the Newton decrement ``g' H^{-1} g``.
    cg_tol
        Relative tolerance of the FE conjugate-gradient solves.
    init
        Optional starting ``(beta, sigma)``; default from FE-OLS.
    names
        Slope names, used in error messages (default ``"slope column k"``).

    Returns
    -------
    TobitFit
        ``converged`` says whether Newton converged; ``diagnostics`` lists the
        :class:`~structest.reduced.results.EstimationWarning` messages issued (Newton stopped
        early, nearly singular information matrix, exploding SE, sigma identified only by
        the censored observations).

    Raises
    ------
    OptionError
        ``max_iter`` not an integer >= 1, ``tol`` or ``cg_tol`` not a finite number > 0.
    EstimationError
        The data cannot give an answer: every observation censored, fewer than two
        clusters, no residual degrees of freedom, a slope absorbed by the fixed effects or
        collinear, a perfect fit (sigma -> 0, log-likelihood -> +inf), a singular
        information matrix, or a zero/non-finite standard error.
    """
    if isinstance(max_iter, bool | np.bool_) or not isinstance(max_iter, numbers.Integral):
        raise OptionError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if max_iter < 1:
        raise OptionError(f"max_iter must be an integer >= 1, got {int(max_iter)}")
    for name, value in (("tol", tol), ("cg_tol", cg_tol)):
        if (
            isinstance(value, bool | np.bool_)
            or not isinstance(value, numbers.Real)
            or not (np.isfinite(float(value)) and float(value) > 0)
        ):
            raise OptionError(f"{name} must be a finite number > 0, got {value!r}")
    with jax.enable_x64(True):
        return _fit(data, max_iter=int(max_iter), tol=tol, cg_tol=cg_tol, init=init, names=names)


def _precheck(data: TobitData, names: list[str]) -> tuple[np.ndarray, str]:
    """Refuse data without information; returns the slopes' within-effects SDs and a note
    on the uncensored degrees of freedom (empty when there are some)."""
    y = np.asarray(data.y, dtype=float)
    n = len(y)
    X = np.asarray(data.X, dtype=float).reshape(n, -1)
    p = X.shape[1]
    fe = data.fe
    unc = np.asarray(data.status) == UNCENSORED
    if n == 0:
        raise EstimationError("Tobit: no observations to fit")
    if not unc.any():
        raise EstimationError(
            f"all {n} observations censored: the Tobit needs uncensored rows to identify "
            "the slopes and sigma"
        )
    G = n if data.cluster is None else int(np.unique(np.asarray(data.cluster)).size)
    if G < 2:
        raise EstimationError(
            f"Tobit: the {n} observation(s) form {G} cluster: cluster-robust standard errors "
            "need at least 2 clusters"
        )
    rank, levels, exact = fe_rank(fe)
    if exact and n - rank - p <= 0:
        raise EstimationError("Tobit: " + no_dof_message(n, fe, rank, levels, p, ""))
    problems, x_sd = unidentified_regressors(X, names, fe)
    if problems:
        raise EstimationError("Tobit: " + "; ".join(problems))
    n_unc = int(unc.sum())
    rank_u, levels_u, exact_u = fe_rank(fe, unc)
    note = ""
    if exact_u and n_unc - rank_u - p <= 0:
        note = no_dof_message(n_unc, fe, rank_u, levels_u, p, "uncensored ")
    return x_sd, note


def _warn(diag: list[str], msg: str) -> None:
    diag.append(msg)
    warnings.warn(msg, EstimationWarning, stacklevel=4)


def _fit(  # type: ignore[no-untyped-def]
    data: TobitData, *, max_iter: int, tol: float, cg_tol: float, init, names
) -> TobitFit:
    n, p = len(data.y), np.asarray(data.X).reshape(len(data.y), -1).shape[1]
    names = list(names) if names is not None else [f"slope column {k}" for k in range(p)]
    if len(names) != p:
        raise ValueError(f"names: {len(names)} given for {p} slope columns")
    x_sd, unc_note = _precheck(data, names)
    diag: list[str] = []
    y_np = np.asarray(data.y, dtype=float)
    unc_np = np.asarray(data.status) == UNCENSORED
    y_scale = (
        float(np.std(y_np[unc_np])) or float(np.std(y_np)) or max(float(np.abs(y_np).max()), 1.0)
    )
    y = jnp.asarray(data.y, dtype=jnp.float64)
    X = jnp.asarray(data.X, dtype=jnp.float64).reshape(len(data.y), -1)
    U = jnp.asarray(data.upper, dtype=jnp.float64)
    L = jnp.asarray(data.lower, dtype=jnp.float64)
    st = jnp.asarray(data.status, dtype=jnp.int32)
    fe = data.fe
    ones = jnp.ones(n)

    # ---- start: FE-OLS
    proj0 = project(ones, jnp.concatenate([X, y[:, None]], axis=1), fe, tol=cg_tol)
    Xt, yt = X - proj0[:, :p], y - proj0[:, p]
    if p:
        b0 = jnp.linalg.lstsq(Xt, yt)[0]
    else:
        b0 = jnp.zeros(0)
    resid = yt - Xt @ b0
    s0 = float(jnp.sqrt(jnp.mean(resid**2)))
    s0 = max(s0, 1e-3 * float(jnp.std(y)) + 1e-8)
    fe0 = proj0[:, p] - proj0[:, :p] @ b0
    if init is not None:
        b0 = jnp.asarray(init[0], dtype=jnp.float64)
        s0 = float(init[1])
        fe0 = project(ones, (y - X @ b0)[:, None], fe, tol=cg_tol)[:, 0]
    gam, tau, efe = b0 / s0, jnp.asarray(1.0 / s0), fe0 / s0

    def total(g, t, e):  # type: ignore[no-untyped-def]
        return float(_loglik_olsen(X @ g + e, t, y, U, L, st))

    ll = total(gam, tau, efe)
    converged, collapsed, it, dec = False, False, 0, float("inf")
    for it in range(1, max_iter + 1):  # noqa: B007
        eta = X @ gam + efe
        _, grad, hess = _obs_derivs(eta, tau, y, U, L, st)
        la, lb = grad[:, 0], grad[:, 1]
        qaa, qab, qbb = -hess[:, 0, 0], -hess[:, 0, 1], -hess[:, 1, 1]
        qaa = jnp.maximum(qaa, 1e-300)
        P, scores, h, extra = _schur_pieces(X, qaa, qab, qbb, la, lb, fe, cg_tol)
        gsum = jnp.sum(scores, axis=0)
        dtheta = jnp.linalg.solve(P, gsum)
        dfe = extra - h @ dtheta
        g_theta = jnp.concatenate([X.T @ la, jnp.sum(lb)[None]])
        dec = float(g_theta @ dtheta + la @ dfe)
        if not np.isfinite(dec):
            raise EstimationError(
                f"Tobit: the Newton step is not finite at iteration {it} (sigma = "
                f"{1.0 / float(tau):.3g}): the information matrix of "
                f"{', '.join(names) or 'sigma'} is singular given {fe_label(fe)}"
            )
        # backtracking line search; a step is taken only if the log-likelihood does not fall
        step, accepted = 1.0, False
        while step >= 1e-12:
            g_new = gam + step * dtheta[:p]
            t_new = tau + step * dtheta[p]
            e_new = efe + step * dfe
            if float(t_new) > 0:
                ll_new = total(g_new, t_new, e_new)
                if np.isfinite(ll_new) and (
                    ll_new >= ll + 1e-4 * step * dec
                    or (dec < 1e-8 and ll_new >= ll - 1e-10 * (1.0 + abs(ll)))
                ):
                    accepted = True
                    break
            step *= 0.5
        if accepted:
            gam, tau, efe, ll = g_new, t_new, e_new, ll_new
        if 1.0 / float(tau) < SIGMA_COLLAPSE * y_scale:
            collapsed = True
            break
        if dec < tol:
            converged = True
            break
        if not accepted:  # no ascent step at machine precision: at the maximum if dec is tiny
            converged = dec < 1e-8
            break

    if collapsed:
        why = (
            f"the fixed effects and regressors fit the uncensored observations exactly ({unc_note})"
            if unc_note
            else "the fixed effects and regressors fit the uncensored observations exactly"
        )
        raise EstimationError(
            f"Tobit: perfect fit, sigma -> 0 and the log-likelihood -> +inf (sigma = "
            f"{1.0 / float(tau):.3g} after {it} Newton steps, log-likelihood {ll:,.1f}): {why}; "
            "use coarser fixed effects or more data"
        )
    if not converged:
        _warn(
            diag,
            f"Tobit: Newton did not converge in {it} iteration(s) (decrement {dec:.3g} > "
            f"{tol:g}): the estimates and standard errors are not at the maximum",
        )
    if unc_note:
        _warn(
            diag,
            f"Tobit: {unc_note}: sigma is identified only by the censored observations; "
            "standard errors are unreliable",
        )

    # ---- natural parametrisation: clustered sandwich for (beta, log sigma)
    sig = 1.0 / float(tau)
    beta = gam * sig
    mufe = efe * sig
    mu = X @ beta + mufe
    val, grad, hess = _obs_derivs(mu, jnp.log(sig), y, U, L, st, natural=True)
    la, lb = grad[:, 0], grad[:, 1]
    qaa, qab, qbb = -hess[:, 0, 0], -hess[:, 0, 1], -hess[:, 1, 1]
    qaa = jnp.maximum(qaa, 1e-300)
    P, scores, h, _ = _schur_pieces(X, qaa, qab, qbb, la, lb, fe, cg_tol)
    live = qaa > 1e-14 * jnp.max(qaa)
    R_tilde = jnp.concatenate([X, jnp.where(live, qab / qaa, 0.0)[:, None]], axis=1) - h
    Pinv = _checked_inverse(np.asarray(P), [*names, "log sigma"], converged, diag)
    scores_np = np.asarray(scores)
    if data.cluster is None:
        cl = np.arange(n)
    else:
        cl = np.asarray(data.cluster)
    G = int(cl.max()) + 1 if n else 0
    S_c = np.asarray(jax.ops.segment_sum(scores, jnp.asarray(cl), num_segments=G))
    meat = S_c.T @ S_c * (G / (G - 1) if G > 1 else 1.0)
    V = Pinv @ meat @ Pinv
    se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    bad = [
        f"{nm}={v:g}"
        for nm, v, d in zip([*names, "log sigma"], se, np.diag(V), strict=True)
        if not np.isfinite(d) or d <= 0
    ]
    if bad:
        raise EstimationError(
            f"Tobit: standard error(s) {', '.join(bad)} are zero or not finite: the clustered "
            f"scores ({G} clusters) carry no information on them"
        )
    for k, nm in enumerate(names):
        if x_sd[k] > 0 and se[k] > EXPLODING_SE * y_scale / x_sd[k]:
            _warn(
                diag,
                f"Tobit: the standard error of '{nm}' ({se[k]:.3g}) is exploding (over "
                f"{EXPLODING_SE:g} x sd(y) / sd({nm}) within the effects): the data barely "
                "identify it",
            )
    return TobitFit(
        beta=np.asarray(beta),
        sigma=sig,
        vcov=V,
        vcov_oim=Pinv,
        loglik=float(jnp.sum(val)),
        fe_fit=np.asarray(mufe),
        n_iter=it,
        converged=converged,
        n_clusters=G,
        scores=scores_np,
        bread=Pinv,
        dl_dmu=np.asarray(la),
        q_mumu=np.asarray(qaa),
        R_tilde=np.asarray(R_tilde),
        diagnostics=tuple(diag),
    )


def _checked_inverse(
    P: np.ndarray, names: list[str], converged: bool, diag: list[str]
) -> np.ndarray:
    """Inverse of the (slopes, log sigma) information matrix, refusing a singular one.

    The check is on the matrix scaled to a unit diagonal, so it does not depend on units.
    """
    d = np.diag(P)
    if not np.isfinite(P).all() or (d <= 0).any():
        who = [nm for nm, v in zip(names, d, strict=True) if not np.isfinite(v) or v <= 0]
        raise EstimationError(
            f"Tobit: the information matrix is not positive at the optimum for {who or names}: "
            "the data carry no information on them"
            + ("" if converged else " (Newton did not converge)")
        )
    s = 1.0 / np.sqrt(d)
    Ps = P * np.outer(s, s)
    w, vec = np.linalg.eigh((Ps + Ps.T) / 2)
    if w[0] <= SINGULAR_TOL:
        order = np.argsort(-np.abs(vec[:, 0]))
        who = [names[k] for k in order[:2] if abs(vec[k, 0]) > 0.1] or [names[order[0]]]
        raise EstimationError(
            f"Tobit: the information matrix is singular at the optimum (smallest scaled "
            f"eigenvalue {w[0]:.2g}): {' and '.join(who)} are not separately identified"
            + ("" if converged else " (Newton did not converge)")
        )
    if w[0] < NEAR_SINGULAR_TOL:
        who = [names[k] for k in np.argsort(-np.abs(vec[:, 0]))[:2]]
        _warn(
            diag,
            f"Tobit: the information matrix is nearly singular (smallest scaled eigenvalue "
            f"{w[0]:.2g}, involving {' and '.join(who)}): standard errors are unreliable",
        )
    return np.linalg.inv(P)
