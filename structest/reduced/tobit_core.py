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

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr
from jax.scipy.stats import norm

from ..errors import StructestError
from .hdfe import FixedEffects, project

UNCENSORED, RIGHT, LEFT = 0, 1, 2


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

    Returns
    -------
    TobitFit
    """
    with jax.enable_x64(True):
        return _fit(data, max_iter=max_iter, tol=tol, cg_tol=cg_tol, init=init)


def _fit(data: TobitData, *, max_iter: int, tol: float, cg_tol: float, init) -> TobitFit:  # type: ignore[no-untyped-def]
    y = jnp.asarray(data.y, dtype=jnp.float64)
    X = jnp.asarray(data.X, dtype=jnp.float64).reshape(len(data.y), -1)
    U = jnp.asarray(data.upper, dtype=jnp.float64)
    L = jnp.asarray(data.lower, dtype=jnp.float64)
    st = jnp.asarray(data.status, dtype=jnp.int32)
    n, p = X.shape
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
    converged, it = False, 0
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
            raise StructestError(
                "Tobit Newton step is not finite (perfect prediction or collinearity?)"
            )
        step = 1.0
        while True:
            g_new = gam + step * dtheta[:p]
            t_new = tau + step * dtheta[p]
            e_new = efe + step * dfe
            if float(t_new) > 0:
                ll_new = total(g_new, t_new, e_new)
                if dec < 1e-8 or ll_new >= ll + 1e-4 * step * dec:
                    break
            step *= 0.5
            if step < 1e-12:
                break
        gam, tau, efe, ll = g_new, t_new, e_new, ll_new
        if dec < tol:
            converged = True
            break

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
    Pinv = np.linalg.inv(np.asarray(P))
    scores_np = np.asarray(scores)
    if data.cluster is None:
        cl = np.arange(n)
    else:
        cl = np.asarray(data.cluster)
    G = int(cl.max()) + 1 if n else 0
    S_c = np.asarray(jax.ops.segment_sum(scores, jnp.asarray(cl), num_segments=G))
    meat = S_c.T @ S_c * (G / (G - 1) if G > 1 else 1.0)
    V = Pinv @ meat @ Pinv
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
    )
