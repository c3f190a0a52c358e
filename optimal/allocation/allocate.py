"""Compute-optimal allocation: the (N, D) that minimise L(N, D) under the budget C = k N D.

On the budget line D = C / (k N), the loss is a function of u = log N alone. For the laws shipped here log L
is a log-sum-exp of affine functions of u, hence convex, so a Newton iteration in u with a step cap converges
from anywhere, quadratically, in a fixed small number of steps and without line search (which ``vmap`` would
run for every budget until the slowest finished: see PITFALLS). The step is an Optax gradient transformation
(``scale_by_newton`` then ``optax.clip``), applied with ``optax.apply_updates``.

Caps on D (``max_tokens``) and N (``max_params``) are bounds on u; for a one-dimensional convex problem the
capped optimum is the free optimum clipped to the bounds. Derivatives with respect to the law's coefficients
come from the implicit function theorem at the optimum (``jax.lax.custom_root``), not from unrolling.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..errors import BudgetError, UnreachableLossError
from ..laws import Chinchilla, as_law
from ..precision import concrete_to_numpy, float64_scope, resolve_dtype

BOUND_NAMES = (None, "max_tokens", "max_params")
_MAX_STEP = 2.0  # at most a factor e^2 in N per Newton step
_MAX_ITER = 100


class Allocation(NamedTuple):
    """Compute-optimal allocations, every field an array of the budgets' shape.

    compute: budget C in FLOPs; n_params: N* (parameters); n_tokens: D* (tokens); loss: L(N*, D*) in nats;
    tokens_per_param: D*/N*; converged: whether the solve met its tolerance; bound: 0 none, 1 the
    ``max_tokens`` cap binds, 2 the ``max_params`` cap binds (names in ``BOUND_NAMES``).
    """

    compute: Any
    n_params: Any
    n_tokens: Any
    loss: Any
    tokens_per_param: Any
    converged: Any
    bound: Any

    def to_records(self):
        """A list of plain dicts, one per budget, with the CLI's JSON keys."""
        fields = [np.ravel(np.asarray(x)) for x in self]
        return [
            {
                "compute": float(c),
                "N": float(n),
                "D": float(d),
                "loss": float(l),
                "tokens_per_param": float(t),
                "converged": bool(ok),
                "bound": BOUND_NAMES[int(b)],
            }
            for c, n, d, l, t, ok, b in zip(*fields)
        ]


def scale_by_newton(max_step: float = _MAX_STEP) -> optax.GradientTransformationExtraArgs:
    """Optax transformation: divide the gradient by the ``curvature`` extra argument (Newton's step).

    Where the curvature is not positive (far from a convex optimum) the step is a full ``max_step`` downhill.
    Combine with ``optax.clip(max_step)`` to cap the step.
    """

    def init(params):
        return optax.EmptyState()

    def update(grads, state, params=None, *, curvature, **extra):
        step = jnp.where(curvature > 0, grads / jnp.where(curvature > 0, curvature, 1.0), jnp.sign(grads) * max_step)
        return -step, state

    return optax.GradientTransformationExtraArgs(init, update)


def _tolerance(u):
    """Newton-step size (in log N) below which a solve counts as converged: a few ulps of u."""
    return 32 * jnp.finfo(u.dtype).eps * (1 + jnp.abs(u))


def _newton_minimise(objective, u0):
    """Minimise a scalar convex ``objective(u)`` from ``u0`` (scalar) by capped Newton steps."""
    grad = jax.grad(objective)
    curvature = jax.grad(grad)
    optimiser = optax.chain(scale_by_newton(_MAX_STEP), optax.clip(_MAX_STEP))

    def cond(carry):
        u, step, i, _ = carry
        return (i < _MAX_ITER) & ~(jnp.abs(step) <= _tolerance(u))

    def body(carry):
        u, _, i, state = carry
        update, state = optimiser.update(grad(u), state, u, curvature=curvature(u))
        return optax.apply_updates(u, update), update, i + 1, state

    init = (u0, jnp.full_like(u0, jnp.inf), 0, optimiser.init(u0))
    return jax.lax.while_loop(cond, body, init)[0]


def _on_budget_line(law, log_c):
    """log L as a function of u = log N alone, with D = C'/N (C' = C/k, ``log_c`` its log)."""
    return lambda u: law.log_loss(u, log_c - u)


def _free_optimum(law, log_c):
    """argmin over u = log N of log L(N, C'/N) for one budget, with implicit derivatives. C' = C/k."""
    objective = _on_budget_line(law, log_c)

    def solve(g, u0):
        # custom_root hands us the gradient g; its antiderivative is the objective we minimise.
        return _newton_minimise(objective, u0)

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    return jax.lax.custom_root(jax.grad(objective), 0.5 * log_c, solve, tangent_solve)


def _allocate_one(law, log_c, log_n_min, log_n_max):
    """Optimal log N for one budget, clipped to [log_n_min, log_n_max], its converged flag and bound code."""
    u_free = _free_optimum(law, log_c)
    objective = _on_budget_line(law, log_c)
    g, h = jax.grad(objective)(u_free), jax.grad(jax.grad(objective))(u_free)
    step = jax.lax.stop_gradient(jnp.abs(g / h))
    converged = jnp.isfinite(u_free) & (h > 0) & (step <= 4 * _tolerance(u_free))
    u = jnp.clip(u_free, log_n_min, log_n_max)
    bound = jnp.where(u_free < log_n_min, 1, jnp.where(u_free > log_n_max, 2, 0))
    return u, converged, bound


@jax.jit
def allocate_law(law, compute, k, log_d_max, log_n_max):
    """Allocations for the budgets ``compute`` under ``law`` with k and log caps already checked (``check_budgets``):
    the compiled core of ``compute_optimal``, for callers that vmap it over laws (bootstrap draws)."""
    log_c = jnp.log(compute) - jnp.log(k)
    lo, hi = log_c - log_d_max, log_n_max
    shape = log_c.shape
    flat = jax.vmap(_allocate_one, in_axes=(None, 0, 0, None))
    u, converged, bound = flat(law, log_c.ravel(), jnp.broadcast_to(lo, shape).ravel(), hi)
    u, converged, bound = u.reshape(shape), converged.reshape(shape), bound.reshape(shape)
    log_d = log_c - u
    n, d = jnp.exp(u), jnp.exp(log_d)
    return Allocation(compute, n, d, jnp.exp(law.log_loss(u, log_d)), jnp.exp(log_d - u), converged, bound)


def _is_concrete(x):
    return not isinstance(x, jax.core.Tracer)


def _check_positive(value, dtype, name):
    """Validate a budget-like array (concrete values only; ``name`` as the user wrote it) as ``dtype``."""
    if not _is_concrete(value):
        return jnp.asarray(value, dtype)
    raw = np.asarray(value, dtype=np.float64)
    if raw.size == 0:
        raise BudgetError(f"{name}: no values given")
    bad = ~np.isfinite(raw) | (raw <= 0)
    if bad.any():
        raise BudgetError(f"{name} must be positive and finite, got {raw.ravel()[np.argmax(bad.ravel())]:g}")
    with np.errstate(over="ignore", under="ignore"):
        cast = raw.astype(dtype)
    lost = ~np.isfinite(cast) | (cast == 0)
    if lost.any():
        info = np.finfo(dtype)
        raise BudgetError(f"{name} {raw.ravel()[np.argmax(lost.ravel())]:.3g} is outside what {dtype} holds "
                          f"({info.tiny:.3g} to {info.max:.3g}); use float64")
    return jnp.asarray(cast)


def _law_in(law, dtype):
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), as_law(law))


def _check_caps(k, max_tokens, max_params, dtype):
    """k and log(cap) as ``dtype`` arrays (a missing cap is inf), each checked to be one positive finite number."""
    for value, name in ((k, "flops_per_param_token"), (max_tokens, "max_tokens"), (max_params, "max_params")):
        if value is not None and _is_concrete(value) and np.ndim(value) != 0:
            raise BudgetError(f"{name} must be one number (the same for every budget), got shape {np.shape(value)}")
    k = _check_positive(k, dtype, "flops_per_param_token")
    log_d_max = jnp.inf if max_tokens is None else jnp.log(_check_positive(max_tokens, dtype, "max_tokens"))
    log_n_max = jnp.inf if max_params is None else jnp.log(_check_positive(max_params, dtype, "max_params"))
    return k, jnp.asarray(log_d_max, dtype), jnp.asarray(log_n_max, dtype)


def _check_budget_range(compute, k, log_d_max, log_n_max):
    """One parameter trained on one token is the least a budget can buy; both caps together set the most."""
    if not (_is_concrete(compute) and _is_concrete(k)):
        return
    c = np.asarray(compute) / float(k)
    if np.any(c < 1):
        raise BudgetError(f"compute {np.min(np.asarray(compute)):.3g} FLOPs is below one parameter trained on one token (k = {float(k):g} FLOPs)")
    ceiling = float(log_d_max) + float(log_n_max)
    if np.any(np.log(c) > ceiling):
        raise BudgetError(
            f"compute {np.max(np.asarray(compute)):.3g} FLOPs cannot be spent within max_tokens and max_params "
            f"(at most {float(k) * np.exp(ceiling):.3g} FLOPs); raise a cap"
        )


@float64_scope
def check_budgets(compute, flops_per_param_token=6.0, max_tokens=None, max_params=None, dtype=None):
    """Check compute budgets the way ``compute_optimal`` does; return ``(compute, k, log_d_max, log_n_max)`` as
    ``dtype`` arrays (the log of a missing cap is inf).

    Every budget must be positive, finite and held by ``dtype``, buy at least one parameter trained on one
    token (C >= k), and be spendable within the caps; k and the caps must be positive finite scalars.
    Raises ``BudgetError`` naming the first value that is not. Traced values (under ``jit``) pass unchecked.
    """
    dtype = resolve_dtype(dtype)
    k, log_d_max, log_n_max = _check_caps(flops_per_param_token, max_tokens, max_params, dtype)
    compute = _check_positive(compute, dtype, "compute")
    _check_budget_range(compute, k, log_d_max, log_n_max)
    return compute, k, log_d_max, log_n_max


@float64_scope
def compute_optimal(law, compute, flops_per_param_token=6.0, max_tokens=None, max_params=None, dtype=None):
    """Minimise ``L(N, D)`` subject to ``flops_per_param_token * N * D = compute``, for every budget at once.

    Args:
      law: a law from ``optimal.laws`` (e.g. ``optimal.preset("epoch2024")``), any object with
        ``log_loss(log_n, log_d)``, or a JAX function ``f(N, D)`` returning the loss.
      compute: training compute in FLOPs, a scalar or an array of any shape.
      flops_per_param_token: k in C = k N D (6 counts the forward and backward passes of a dense model).
      max_tokens: optional cap on D (unique tokens available); max_params: optional cap on N.
      dtype: float64 (default) or float32.

    Returns:
      An ``Allocation`` whose fields have the shape of ``compute``. Differentiable with respect to the law's
      coefficients (``jax.grad`` works through it).

    Example:
      >>> a = compute_optimal(preset("epoch2024"), 5.76e23)
      >>> round(float(a.tokens_per_param), 1)
      18.4
    """
    dtype = resolve_dtype(dtype)
    law = _law_in(law, dtype)
    compute, k, log_d_max, log_n_max = check_budgets(compute, flops_per_param_token, max_tokens, max_params, dtype)
    return concrete_to_numpy(allocate_law(law, compute, k, log_d_max, log_n_max))


@float64_scope
def closed_form(law: Chinchilla, compute, flops_per_param_token=6.0):
    """The exact Chinchilla optimum ``(N*, D*)`` in parameters and tokens, for arrays of budgets in FLOPs.

    ``N* = G (C/k)^(beta/(alpha+beta))``, ``D* = (C/k)/N*``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4), evaluated in log space.
    """
    log_c = jnp.log(compute) - jnp.log(flops_per_param_token)
    s = law.alpha + law.beta
    log_g = (jnp.log(law.alpha * law.A) - jnp.log(law.beta * law.B)) / s
    log_n = log_g + law.beta / s * log_c
    return concrete_to_numpy((jnp.exp(log_n), jnp.exp(log_c - log_n)))


def _loss_floor(law, log_d_max, log_n_max):
    """The loss an infinite budget approaches under the caps, where the law says (Chinchilla only)."""
    if not isinstance(law, Chinchilla):
        return law.irreducible_loss()
    floor = law.E
    floor = floor + jnp.where(jnp.isfinite(log_d_max), law.B * jnp.exp(-law.beta * log_d_max), 0.0)
    floor = floor + jnp.where(jnp.isfinite(log_n_max), law.A * jnp.exp(-law.alpha * log_n_max), 0.0)
    return floor


@float64_scope
def compute_for_loss(law, target_loss, flops_per_param_token=6.0, max_tokens=None, max_params=None, dtype=None):
    """The smallest budget whose compute-optimal loss equals ``target_loss`` (nats), for each target.

    Newton's method on log C, with d log L*/d log C from the implicit derivative of the allocation. Raises
    ``UnreachableLossError`` when a target is at or below the loss the law (and the caps) can reach.

    Returns:
      An ``Allocation`` at the budgets found (``compute`` holds them), shaped like ``target_loss``.
    """
    dtype = resolve_dtype(dtype)
    law = _law_in(law, dtype)
    k, log_d_max, log_n_max = _check_caps(flops_per_param_token, max_tokens, max_params, dtype)
    target = _check_positive(target_loss, dtype, "target_loss")
    floor = _loss_floor(law, log_d_max, log_n_max)
    if floor is not None and np.any(np.asarray(target) <= float(floor)):
        what = "the irreducible loss E" if max_tokens is None and max_params is None else "the floor set by the caps"
        raise UnreachableLossError(
            f"target loss {float(np.min(np.asarray(target))):.6g} is at or below {what} = {float(floor):.6g}; "
            "no budget reaches it"
        )
    log_c = _budget_for_loss(law, jnp.log(target), k, log_d_max, log_n_max)
    result = allocate_law(law, jnp.exp(log_c), k, log_d_max, log_n_max)
    reached = jnp.abs(jnp.log(result.loss) - jnp.log(target)) <= 1e3 * jnp.finfo(dtype).eps
    if not bool(jnp.all(reached)):
        raise UnreachableLossError(
            f"target loss {float(np.min(np.asarray(target))):.6g} could not be reached by this law within "
            f"{float(jnp.exp(log_c).max()):.3g} FLOPs"
        )
    return concrete_to_numpy(result._replace(converged=result.converged & reached))


@jax.jit
def _budget_for_loss(law, log_target, k, log_d_max, log_n_max):
    def log_loss_at(t):  # t = log C
        log_c = t - jnp.log(k)
        u, _, _ = _allocate_one(law, log_c, log_c - log_d_max, log_n_max)
        return law.log_loss(u, log_c - u)

    def solve(target):
        def body(carry):
            t, _, i = carry
            value, slope = jax.value_and_grad(log_loss_at)(t)
            step = jnp.clip((value - target) / jnp.minimum(slope, -1e-30), -3.0, 3.0)
            return t - step, step, i + 1

        def cond(carry):
            t, step, i = carry
            return (i < 200) & ~(jnp.abs(step) <= _tolerance(t))

        t0 = jnp.asarray(jnp.log(1e21), log_target.dtype)
        return jax.lax.while_loop(cond, body, (t0, jnp.asarray(jnp.inf, t0.dtype), 0))[0]

    return jax.vmap(solve)(log_target.ravel()).reshape(log_target.shape)
