"""Batched minimisation of the fitting objective: many starts (and many resamples) as lanes of one program.

The polish is a damped Newton method (Levenberg-Marquardt on the exact Hessian): each iteration solves
``(H + lam diag) step = -g`` per lane, tries the step once, keeps it only if the objective decreased, and
adapts ``lam``. There is no line search, so every iteration costs every lane the same: one objective, gradient
and 5x5 Hessian. ``vmap`` of a line-search method runs every lane until the slowest finishes (PITFALLS);
here a fixed iteration budget with per-lane masking bounds the work, and finished lanes stop changing.

Stopping is scale-free (the objective is ~1e-3 at the optimum, so tests relative to max(|f|, 1) stop at once):
a lane stops when an accepted step moved no coefficient by more than ``xtol`` (step), when its gradient is at
the float rounding floor (gradient), or when no damping makes any progress at float precision (no decrease).
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .objective import value_grad_hessian

REASONS = ("running", "step below xtol", "gradient at rounding floor", "no further decrease", "max iterations", "non-finite")
CONVERGED_REASONS = (1, 2, 3)
_LAM_MIN, _LAM_MAX = 1e-12, 1e12


class SolverConfig(NamedTuple):
    """Static solver settings (hashable, so they key the compile cache)."""

    delta: float = 1e-3
    loss: str = "huber"
    max_iter: int = 200
    xtol: float = 1e-10


class Lanes(NamedTuple):
    """Per-lane solver results, each with a leading lane axis.

    theta (L, 5), objective (L,), grad_norm (L,) infinity norm, iterations (L,), reason (L,) index into
    ``REASONS``, converged (L,) bool.
    """

    theta: Any
    objective: Any
    grad_norm: Any
    iterations: Any
    reason: Any
    converged: Any


def _step(theta, grad, hess, lam):
    """Marquardt step: (H + lam * scale) s = -g, scale = |diag H| floored, so it is unit-free per coefficient."""
    diag = jnp.abs(jnp.diagonal(hess))
    scale = jnp.maximum(diag, 1e-12 * jnp.max(diag) + jnp.finfo(theta.dtype).tiny)
    return jnp.linalg.solve(hess + lam * jnp.diag(scale), -grad)


def polish(theta0, data, weights, config: SolverConfig):
    """Minimise the objective from every start at once.

    Args:
      theta0: starts, shape (L, 5), coefficients ``(e, a, b, alpha, beta)``.
      data: ``(log_n, log_d, log_loss)``, each shape (n,).
      weights: row weights, shape (n,) shared by all lanes or (L, n) one row of weights per lane.
      config: a ``SolverConfig``.

    Returns:
      ``Lanes``.
    """
    weights = jnp.broadcast_to(weights, (theta0.shape[0], data[0].shape[0]))
    return _polish(theta0, data, weights, config)


def _lane(theta0, data, weights, config):
    evaluate = lambda th: value_grad_hessian(th, *data, weights, config.delta, config.loss)  # noqa: E731
    f0, g0, h0 = evaluate(theta0)
    eps = jnp.finfo(theta0.dtype).eps
    # the gradient cannot get below the rounding error of summing n terms of size |rho'| |J|
    g_floor = 16 * eps * jnp.sum(weights) * config.delta * (1 + jnp.max(jnp.abs(data[0])))

    def cond(state):
        return state[-1] == 0

    def body(state):
        theta, f, g, h, lam, it, _ = state
        step = _step(theta, g, h, lam)
        trial = theta + step
        f_new, g_new, h_new = evaluate(trial)
        accept = jnp.isfinite(f_new) & (f_new < f)
        # a nearly undamped Newton step this small means the optimum is reached to float precision, whether
        # or not rounding let it lower the objective; a step made small by heavy damping means nothing
        small_step = (jnp.max(jnp.abs(step) / (1 + jnp.abs(theta))) <= config.xtol) & (accept | (lam <= 1.0))
        theta = jnp.where(accept, trial, theta)
        f = jnp.where(accept, f_new, f)
        g = jnp.where(accept, g_new, g)
        h = jnp.where(accept, h_new, h)
        lam = jnp.clip(jnp.where(accept, lam * 0.3, lam * 10.0), _LAM_MIN, _LAM_MAX)
        it = it + 1
        reason = jnp.select(
            [
                ~jnp.isfinite(f),
                small_step,
                jnp.max(jnp.abs(g)) <= g_floor,
                ~accept & (lam >= _LAM_MAX),
                it >= config.max_iter,
            ],
            [5, 1, 2, 3, 4],
            0,
        )
        return theta, f, g, h, lam, it, reason

    start_reason = jnp.where(jnp.isfinite(f0), 0, 5)
    init = (theta0, f0, g0, h0, jnp.asarray(1e-3, theta0.dtype), 0, start_reason)
    theta, f, g, _, _, it, reason = jax.lax.while_loop(cond, body, init)
    converged = (reason == 1) | (reason == 2) | (reason == 3)
    return Lanes(theta, f, jnp.max(jnp.abs(g)), it, reason, converged)


LANES_PER_BLOCK = 256  # measured: per-lane cost triples once a block's (lanes x rows) intermediates leave cache


def polish_lanes(theta0, data, weights, config: SolverConfig, block: int = LANES_PER_BLOCK):
    """``polish`` without ``jit``, for use inside other compiled programs (weights must be (L, n)).

    Lanes run in blocks of ``block`` one after another (``lax.map``): a block's intermediates stay in cache,
    and each block iterates only until its own slowest lane has finished.
    """
    n_lanes = theta0.shape[0]
    block = min(block, n_lanes)
    n_blocks = -(-n_lanes // block)
    pad = n_blocks * block - n_lanes
    padded = [jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) for x in (theta0, weights)]
    blocks = [x.reshape(n_blocks, block, *x.shape[1:]) for x in padded]
    solve = jax.vmap(_lane, in_axes=(0, None, 0, None))
    lanes = jax.lax.map(lambda xs: solve(xs[0], data, xs[1], config), blocks)
    return jax.tree_util.tree_map(lambda x: x.reshape(n_blocks * block, *x.shape[2:])[:n_lanes], lanes)


_polish = functools.partial(jax.jit, static_argnames=("config", "block"))(polish_lanes)
