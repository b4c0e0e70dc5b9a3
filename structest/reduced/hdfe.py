"""Weighted projections on high-dimensional fixed effects in JAX (no dummy matrices).

Fixed effects are integer codes per observation (``codes``, shape ``(n, F)``, each column
offset so that all levels live in one vector of length ``K``). The weighted projection of
columns ``V`` on the span of the dummies solves ``(D'WD) a = D'W V`` by Jacobi-preconditioned
conjugate gradients, with ``D a = sum_k a[codes[:, k]]`` (``take``) and ``D' u`` by
``segment_sum``. Memory is ``O(n F m)``; the normal matrix is never formed.

All functions here must run with 64-bit floats enabled (the callers wrap them in
``jax.enable_x64(True)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

#: Default relative tolerance of the conjugate-gradient solves.
CG_TOL: float = 1e-11
#: Default iteration cap of the conjugate-gradient solves.
CG_MAXITER: int = 5000


@dataclass(frozen=True)
class FixedEffects:
    """Integer-coded fixed effects.

    Attributes
    ----------
    codes
        ``(n, F)`` int array; column ``k`` holds ``offset_k + level``.
    sizes
        Number of levels per FE dimension.
    names
        FE term names.
    """

    codes: np.ndarray
    sizes: tuple[int, ...]
    names: tuple[str, ...]

    @property
    def n_levels(self) -> int:
        """Total number of levels ``K``."""
        return int(sum(self.sizes))


def encode(df: pd.DataFrame, terms: tuple[str, ...]) -> FixedEffects:
    """Integer codes for FE terms (``a^b`` interactions are concatenated keys)."""
    cols, sizes, off = [], [], 0
    for term in terms:
        parts = term.split("^")
        key = df[parts[0]].astype(str)
        for p in parts[1:]:
            key = key + "\x1f" + df[p].astype(str)
        codes, uniques = pd.factorize(key, sort=False)
        cols.append(codes.astype(np.int64) + off)
        sizes.append(len(uniques))
        off += len(uniques)
    n = len(df)
    arr = np.column_stack(cols) if cols else np.zeros((n, 0), dtype=np.int64)
    return FixedEffects(codes=arr, sizes=tuple(sizes), names=tuple(terms))


def _Dt(u: jax.Array, codes: jax.Array, K: int) -> jax.Array:
    """``D' u`` for ``u`` of shape ``(n, m)``."""
    out = jnp.zeros((K, u.shape[1]), dtype=u.dtype)
    for k in range(codes.shape[1]):
        out = out + jax.ops.segment_sum(u, codes[:, k], num_segments=K)
    return out


def _D(a: jax.Array, codes: jax.Array) -> jax.Array:
    """``D a`` for ``a`` of shape ``(K, m)``."""
    return jnp.sum(jnp.take(a, codes, axis=0), axis=1)


@partial(jax.jit, static_argnames=("K", "maxiter"))
def _pcg_project(
    w: jax.Array, V: jax.Array, codes: jax.Array, K: int, tol: float, maxiter: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Weighted projection of the columns of ``V`` on the FE span (batched PCG).

    Returns ``(P V, iterations, max relative residual)``.
    """
    wcol = w[:, None]
    b = _Dt(wcol * V, codes, K)
    diag = _Dt(wcol, codes, K)[:, 0]
    floor = 1e-300 + 1e-14 * jnp.max(diag)
    minv = 1.0 / jnp.maximum(diag, floor)[:, None]

    def matvec(a: jax.Array) -> jax.Array:
        return _Dt(wcol * _D(a, codes), codes, K)

    # scale of the residual test: the right-hand side built from |V| (it does not vanish when
    # D'WV does, e.g. for a gradient column at the optimum)
    babs = _Dt(wcol * jnp.abs(V), codes, K)
    bnorm = jnp.sqrt(jnp.sum(babs * babs, axis=0))
    bnorm = jnp.where(bnorm > 0, bnorm, 1.0)
    x0 = jnp.zeros_like(b)
    r0 = b
    z0 = minv * r0
    p0 = z0
    rz0 = jnp.sum(r0 * z0, axis=0)

    def cond(state):  # type: ignore[no-untyped-def]
        _, r, _, _, it = state
        rel = jnp.max(jnp.sqrt(jnp.sum(r * r, axis=0)) / bnorm)
        return (rel > tol) & (it < maxiter)

    def body(state):  # type: ignore[no-untyped-def]
        x, r, p, rz, it = state
        # columns that have converged are frozen (their tiny residuals would otherwise
        # feed round-off into the next directions)
        active = jnp.sqrt(jnp.sum(r * r, axis=0)) / bnorm > tol
        Ap = matvec(p)
        pAp = jnp.sum(p * Ap, axis=0)
        ok = active & (pAp > 0)
        alpha = jnp.where(ok, rz / jnp.where(ok, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        z = minv * r
        rz_new = jnp.sum(r * z, axis=0)
        okb = active & (rz > 0)
        beta = jnp.where(okb, rz_new / jnp.where(okb, rz, 1.0), 0.0)
        p = z + beta * p
        return x, r, p, rz_new, it + 1

    x, r, _, _, it = jax.lax.while_loop(cond, body, (x0, r0, p0, rz0, 0))
    rel = jnp.max(jnp.sqrt(jnp.sum(r * r, axis=0)) / bnorm)
    return _D(x, codes), it, rel


def project(
    w: jax.Array | np.ndarray,
    V: jax.Array | np.ndarray,
    fe: FixedEffects,
    *,
    tol: float = CG_TOL,
    maxiter: int = CG_MAXITER,
) -> jax.Array:
    """Weighted least-squares projection of each column of ``V`` on the fixed effects.

    Parameters
    ----------
    w
        Positive weights, shape ``(n,)``.
    V
        Columns to project, shape ``(n, m)``.
    fe
        Encoded fixed effects.
    tol, maxiter
        Conjugate-gradient relative tolerance and iteration cap.

    Returns
    -------
    jax.Array
        ``D (D'WD)^+ D'W V``, shape ``(n, m)`` (zeros when there are no fixed effects).
    """
    V = jnp.asarray(V, dtype=jnp.float64)
    if V.ndim == 1:
        V = V[:, None]
    if fe.codes.shape[1] == 0:
        return jnp.zeros_like(V)
    codes = jnp.asarray(fe.codes)
    out, _, _ = _pcg_project(jnp.asarray(w, dtype=jnp.float64), V, codes, fe.n_levels, tol, maxiter)
    return out


# ---------------------------------------------------------------- identification checks
#: Largest number of effect levels for which the rank of 3+ effect dimensions is computed
#: exactly (a dense eigen-decomposition of ``D'D``); above it only a bound is known.
DENSE_RANK_MAX: int = 2500
#: A regressor whose within-effects residual norm is below this fraction of its norm is
#: treated as absorbed by the fixed effects (constant within their cells).
ABSORBED_TOL: float = 1e-8


def fe_label(fe: FixedEffects) -> str:
    """The fixed-effect terms as written in a formula (``"imp_ind_year + exp_ind_year"``)."""
    return " + ".join(fe.names) if fe.names else "no fixed effects"


def fe_rank(fe: FixedEffects, rows: np.ndarray | None = None) -> tuple[int, int, bool]:
    """Rank of the fixed-effect dummy matrix (restricted to ``rows``).

    Parameters
    ----------
    fe
        Encoded fixed effects.
    rows
        Boolean mask of the observations to use (default: all).

    Returns
    -------
    (rank, levels, exact)
        ``levels`` is the number of levels that occur in the rows; ``rank`` is exact for one
        or two effect dimensions (levels minus connected components) and for more dimensions
        up to :data:`DENSE_RANK_MAX` levels; otherwise ``exact`` is False and ``rank`` is an
        upper bound (levels minus ``F - 1`` per connected component).
    """
    from scipy import sparse
    from scipy.sparse import csgraph

    codes = fe.codes if rows is None else fe.codes[np.asarray(rows, dtype=bool)]
    n, F = codes.shape
    if n == 0 or F == 0:
        return 0, 0, True
    used, inv = np.unique(codes, return_inverse=True)
    inv = inv.reshape(codes.shape)
    K = int(used.size)
    if F == 1:
        return K, K, True
    graph = sparse.coo_matrix(
        (np.ones(n * (F - 1)), (np.repeat(inv[:, 0], F - 1), inv[:, 1:].ravel())), shape=(K, K)
    )
    n_comp = int(csgraph.connected_components(graph, directed=False)[0])
    if F == 2:
        return K - n_comp, K, True
    if K <= DENSE_RANK_MAX:
        D = sparse.csr_matrix(
            (np.ones(n * F), (np.repeat(np.arange(n), F), inv.ravel())), shape=(n, K)
        )
        eig = np.linalg.eigvalsh((D.T @ D).toarray())
        return int((eig > 1e-9 * max(float(eig.max()), 1.0)).sum()), K, True
    return K - (F - 1) * n_comp, K, False


def no_dof_message(n: int, fe: FixedEffects, rank: int, levels: int, p: int, what: str) -> str:
    """One line: ``no residual degrees of freedom after absorbing ...: n obs, k levels``."""
    lv = f"{levels} effect level{'s' if levels != 1 else ''}"
    if rank != levels:
        lv += f" (rank {rank})"
    reg = f" and {p} regressor{'s' if p != 1 else ''}" if p else ""
    obs = f"{n} {what}observation{'s' if n != 1 else ''}"
    if fe.names:
        return f"no residual degrees of freedom after absorbing {fe_label(fe)}: {obs}, {lv}{reg}"
    return f"no residual degrees of freedom: {obs}{reg}"


def unidentified_regressors(
    X: np.ndarray,
    names: list[str] | tuple[str, ...],
    fe: FixedEffects,
    kinds: list[str] | tuple[str, ...] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Problems with slope regressors that the data cannot identify (empty when none).

    A regressor is *absorbed* when it is constant within the cells of the fixed effects (its
    within residual vanishes), named with the first single effect that absorbs it; it is
    *collinear* when its within residual is a combination of earlier regressors'.

    Parameters
    ----------
    X
        Slope design ``(n, p)``.
    names
        Column names (for the messages).
    fe
        Encoded fixed effects of the same rows.
    kinds
        What each column is, for the messages (default ``"regressor"`` for all; e.g.
        ``"instrument"``).

    Returns
    -------
    (problems, within_sd)
        One line per unidentified regressor, and each regressor's standard deviation within
        the fixed effects (root mean square of its within residual).
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    n, p = X.shape
    if p == 0:
        return [], np.zeros(0)
    kinds = list(kinds) if kinds is not None else ["regressor"] * p
    ones = np.ones(n)
    with jax.enable_x64(True):
        Xt = X - np.asarray(project(ones, X, fe)) if fe.names else X.copy()
    norm = np.linalg.norm(X, axis=0)
    rnorm = np.linalg.norm(Xt, axis=0)
    problems: list[str] = []
    kept: list[int] = []
    for k in range(p):
        if norm[k] == 0 or rnorm[k] <= ABSORBED_TOL * norm[k]:
            if norm[k] == 0:
                why = "is zero in every observation"
            else:
                by = fe_label(fe)
                if len(fe.names) > 1:
                    with jax.enable_x64(True):
                        for j, term in enumerate(fe.names):
                            single = FixedEffects(
                                codes=fe.codes[:, [j]] - int(sum(fe.sizes[:j])),
                                sizes=(fe.sizes[j],),
                                names=(term,),
                            )
                            r = X[:, k] - np.asarray(project(ones, X[:, [k]], single))[:, 0]
                            if np.linalg.norm(r) <= ABSORBED_TOL * norm[k]:
                                by = term
                                break
                why = (
                    f"is absorbed by the fixed effects {by} (constant within their cells)"
                    if fe.names
                    else "is constant"
                )
            problems.append(f"{kinds[k]} '{names[k]}' {why}: it carries no information; drop it")
            continue
        if kept:
            M = Xt[:, [*kept, k]] / rnorm[[*kept, k]]
            sv = np.linalg.svd(M, compute_uv=False)
            if sv[-1] <= 1e-7 * sv[0]:
                coef = np.linalg.lstsq(M[:, :-1], M[:, -1], rcond=None)[0]
                with_ = [names[kept[i]] for i in np.flatnonzero(np.abs(coef) > 1e-6)]
                problems.append(
                    f"{kinds[k]} '{names[k]}' is collinear with {with_}"
                    + (" (within the fixed effects)" if fe.names else "")
                    + ": it has no separate coefficient; drop one of them"
                )
                continue
        kept.append(k)
    return problems, rnorm / np.sqrt(max(n, 1))
