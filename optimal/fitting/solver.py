"""Batched minimisation of the fitting objective: many starts (and many resamples) as lanes of one program.

The polish is a damped Newton method (Levenberg-Marquardt on the exact Hessian): each iteration solves
``(H + lam diag) step = -g`` per lane, tries the step once, keeps it only if the objective decreased, and
adapts ``lam``. There is no line search, so every iteration costs every lane the same: one objective, gradient
and Hessian. ``vmap`` of a whole solve runs every lane until the slowest finishes (PITFALLS); here the
lanes queue for a fixed number of slots and a slot whose lane has stopped takes the next one, so the work is
the sum of the lanes' own iterations, each bounded by ``max_iter``.

Stopping is scale-free (the objective is ~1e-3 at the optimum, so tests relative to max(|f|, 1) stop at once):
a lane stops when a step (accepted, or lightly damped) moved no coefficient by more than ``xtol`` (step), when every
gradient component is at the rounding floor of the sum that forms it (gradient: eps x the summed terms' sizes,
so neither ``delta`` nor the weights' scale can fake it), or when no damping makes any progress at float
precision (no decrease).
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._util.precision import float64_scope
from .options import Objective, Solver

REASONS = ("running", "step below xtol", "gradient at rounding floor", "no further decrease", "max iterations", "non-finite")
CONVERGED_REASONS = (1, 2, 3)
_LAM_MIN, _LAM_MAX = 1e-12, 1e12


class SolverConfig(NamedTuple):
    """Static solver settings (hashable, so they key the compile cache); internal: a fit builds it from its
    ``Objective`` and ``Solver`` with ``solver_config``.

    ``evaluate(theta, data, weights, delta, loss) -> (value, grad (P,), hess (P, P), grad_scale (P,))`` is the
    objective: ``optimal.fitting.problem.problem_evaluator(family, structure)`` (``data`` a ``RowData``) for every fit.
    ``delta`` is only the default Huber threshold: the solver takes it as a traced per-lane value (``polish``'s
    ``delta``), so fits at different thresholds share one compiled program and can be lanes of one solve.
    """

    delta: float = 1e-3
    loss: str = "huber"
    max_iter: int = 200
    xtol: float = 1e-10
    evaluate: Any = None


def solver_config(objective: Objective, solver: Solver, evaluate, dtype) -> SolverConfig:
    """The compiled polish's settings from the public ones: the objective's loss and threshold, the solver's budget
    and step tolerance (resolved for ``dtype``), and ``evaluate`` (the problem's objective, ``problem_evaluator``)."""
    return SolverConfig(objective.delta, objective.robust, solver.max_iter, solver.step_tolerance(dtype), evaluate)


class Lanes(NamedTuple):
    """Per-lane solver results, each with a leading lane axis.

    theta (L, P), objective (L,), grad_norm (L,) infinity norm, iterations (L,), reason (L,) index into
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


@float64_scope
def polish(theta0, data, weights, config: SolverConfig, delta=None, slots=None, free=None, max_iter=None):
    """Minimise the objective from every start at once: ``polish_with_curvature`` without its Hessians.

    Args:
      theta0: starts, shape (L, P): free vectors of the problem.
      data: what ``config.evaluate`` reads (a ``RowData``).
      weights: row weights, shape (n,) shared by all lanes or (L, n) one row of weights per lane.
      config: a ``SolverConfig``.
      delta: the Huber threshold, a scalar or one per lane (L,); None: ``config.delta``. A traced value, so
        every threshold runs the same compiled program (the cache is keyed on ``config`` without its delta).
      slots: lanes solved side by side (``polish_lanes``); None: ``default_slots``.
      free: which entries of each lane's start it may move, (L, P) bool; None: all. An entry held (False) keeps
        its start's value exactly (a profile's pinned parameter). Traced, as ``max_iter`` is.
      max_iter: each lane's iteration budget (L,) int; None: ``config.max_iter`` for every lane.

    Traced ``delta``, ``free`` and ``max_iter`` make one compiled program serve every threshold, every held
    entry and every budget: a fit's polish and its profile's pinned refits (``optimal.fitting.profile``) share it
    when their lanes have the same shape.

    Returns:
      ``Lanes``.
    """
    return polish_with_curvature(theta0, data, weights, config, delta, slots, free, max_iter)[0]


def polish_with_curvature(theta0, data, weights, config: SolverConfig, delta=None, slots=None, free=None,
                          max_iter=None):
    """``polish`` (its arguments), also returning each lane's Hessian of the objective at its result (L, P, P), the
    one its last accepted step evaluated (with a held entry's coupling removed): a fit's curvature check reads its
    best lane's, so no other program evaluates it. ``(Lanes, hessians)``; one compiled program with ``polish``."""
    lanes = theta0.shape[0]
    weights = jnp.broadcast_to(weights, (lanes, jnp.shape(weights)[-1]))
    delta = jnp.broadcast_to(jnp.asarray(config.delta if delta is None else delta, theta0.dtype), (lanes,))
    free = jnp.ones(theta0.shape, bool) if free is None else jnp.asarray(free, bool)
    max_iter = jnp.broadcast_to(jnp.asarray(config.max_iter if max_iter is None else max_iter, jnp.int32), (lanes,))
    return _polish(theta0, data, weights, config._replace(delta=None, max_iter=None), slots, delta=delta, free=free,
                   max_iter=max_iter, curvature=True)


_SLOT_ROWS = 1 << 20  # slots x rows per solver: the (slots, rows) intermediates stay near 8 MB each


def default_slots(n_rows=None):
    """Lanes solved side by side. On a CPU 256 (measured here: the per-lane cost triples once slots x rows
    leave the cache); an accelerator needs thousands of lanes in flight to be kept busy. With ``n_rows``, a
    power of two no larger than that which keeps slots x rows under ~1M, so memory does not grow with rows."""
    slots = 256 if jax.default_backend() == "cpu" else 8192
    if n_rows is not None:
        slots = min(slots, 1 << max(0, (_SLOT_ROWS // max(int(n_rows), 1)).bit_length() - 1))
    return slots


_LAM_START = 1e-3


class _Slots(NamedTuple):
    """The solver's state: ``S`` slots, each holding one lane (start) while it is being solved."""

    lane: Any  # (S,) which lane the slot holds
    active: Any  # (S,) False once the queue has no lane left for the slot
    fresh: Any  # (S,) the lane was just loaded: its start has not been evaluated yet
    weights: Any  # (S, n)
    theta: Any  # (S, P)
    value: Any  # (S,)
    grad: Any  # (S, P)
    hess: Any  # (S, P, P)
    grad_scale: Any  # (S, P) sizes of the terms each gradient component sums
    lam: Any  # (S,)
    iterations: Any  # (S,)
    data: Any = None  # the slot's own rows (leading axis S) when each lane has its own (``lane_data``)
    delta: Any = None  # (S,) the slot's lane's Huber threshold
    free: Any = None  # (S, P) the entries the slot's lane may move (None: all)
    max_iter: Any = None  # (S,) the slot's lane's iteration budget


def _where_lanes(mask, new, old):
    """``new`` where the per-slot ``mask`` (S,) holds, else ``old``; arrays with a leading slot axis."""
    return jnp.where(mask.reshape(mask.shape + (1,) * (old.ndim - 1)), new, old)


def _at_gradient_floor(grad, grad_scale):
    """Every gradient component is within rounding error of zero: below 16 eps x the sizes of its terms (S,)."""
    eps = jnp.finfo(grad.dtype).eps
    return jnp.all(jnp.abs(grad) <= 16 * eps * grad_scale + jnp.finfo(grad.dtype).tiny, axis=-1)


def polish_lanes(theta0, data, weights, config: SolverConfig, slots: int | None = None, lane_data: bool = False,
                 delta=None, free=None, max_iter=None, curvature=False):
    """``polish`` without ``jit``, for use inside other compiled programs (weights must be (L, n)); with
    ``curvature``, ``(Lanes, hessians (L, P, P))`` as ``polish_with_curvature``.

    ``delta``: each lane's Huber threshold (L,), traced; None: ``config.delta`` for every lane. ``free``: the
    entries each lane may move (L, P) bool, the others held exactly at their start (their gradient, rounding scale
    and Hessian coupling set to zero, a unit Hessian diagonal: the step leaves them); None: all. ``max_iter``: each
    lane's iteration budget (L,); None: ``config.max_iter``.

    With ``lane_data``, every leaf of ``data`` has a leading lane axis (L, ...): each lane fits its own rows (a
    group's resample, say, padded with weight-0 rows to a common n), instead of every lane reading the same rows.

    The lanes wait in a queue; ``slots`` of them are solved side by side, and a slot whose lane has stopped
    takes the next lane from the queue at once. So no slot idles while a slow lane finishes (what ``vmap``
    of a whole solve does), and the work is the lanes' own iterations, not lanes x the slowest lane's.
    A lane's arithmetic does not depend on which slot it runs in.
    """
    n_lanes = theta0.shape[0]
    n_slots = min(slots or default_slots(weights.shape[1]), n_lanes)
    dtype, dims = theta0.dtype, theta0.shape[1]
    lane_delta = jnp.broadcast_to(jnp.asarray(config.delta if delta is None else delta, dtype), (n_lanes,))
    lane_max_iter = jnp.broadcast_to(jnp.asarray(config.max_iter if max_iter is None else max_iter, jnp.int32),
                                     (n_lanes,))
    if lane_data:
        evaluate = jax.vmap(lambda th, w, dl, rows: config.evaluate(th, rows, w, dl, config.loss))
    else:
        evaluate = jax.vmap(lambda th, w, dl, rows: config.evaluate(th, data, w, dl, config.loss),
                            in_axes=(0, 0, 0, None))
    step_of = jax.vmap(_step)

    def held(state, grad, hess, grad_scale):
        """The derivatives with each slot's held entries decoupled (``free``); unchanged when all are free."""
        if free is None:
            return grad, hess, grad_scale
        both = state.free[:, :, None] & state.free[:, None, :]
        return (jnp.where(state.free, grad, 0.0), jnp.where(both, hess, jnp.eye(dims, dtype=hess.dtype)),
                jnp.where(state.free, grad_scale, 0.0))

    def load(state, lane, mask):
        """Put ``lane`` (S,) into the slots where ``mask`` (S,); those slots start afresh."""
        safe = jnp.clip(lane, 0, n_lanes - 1)
        rows = state.data if not lane_data else jax.tree.map(lambda x, old: _where_lanes(mask, x[safe], old), data,
                                                               state.data)
        return state._replace(
            lane=jnp.where(mask, lane, state.lane), fresh=mask,
            weights=_where_lanes(mask, weights[safe], state.weights), theta=_where_lanes(mask, theta0[safe], state.theta),
            data=rows, delta=_where_lanes(mask, lane_delta[safe], state.delta),
            free=None if free is None else _where_lanes(mask, free[safe], state.free),
            max_iter=_where_lanes(mask, lane_max_iter[safe], state.max_iter),
        )

    def body(carry):
        state, next_lane, out = carry
        step = jnp.where(state.fresh[:, None], 0.0, step_of(state.theta, state.grad, state.hess, state.lam))
        trial = state.theta + step
        value, grad, hess, grad_scale = evaluate(trial, state.weights, state.delta, state.data)
        grad, hess, grad_scale = held(state, grad, hess, grad_scale)
        # a fresh slot evaluates its start and takes it; otherwise a step is kept only if it lowered the objective
        accept = state.fresh | (jnp.isfinite(value) & (value < state.value))
        theta, value, grad, hess, grad_scale = (
            _where_lanes(accept, new, old) for new, old in
            ((trial, state.theta), (value, state.value), (grad, state.grad), (hess, state.hess), (grad_scale, state.grad_scale)))
        # a nearly undamped Newton step this small means the optimum is reached to float precision, whether or
        # not rounding let it lower the objective; a step made small by heavy damping means nothing
        tiny = jnp.max(jnp.abs(step) / (1 + jnp.abs(state.theta)), axis=1) <= config.xtol
        small_step = ~state.fresh & tiny & (accept | (state.lam <= 1.0))
        lam = jnp.where(state.fresh, _LAM_START, jnp.clip(jnp.where(accept, state.lam * 0.3, state.lam * 10.0), _LAM_MIN, _LAM_MAX))
        iterations = jnp.where(state.fresh, 0, state.iterations + 1)
        grad_norm = jnp.max(jnp.abs(grad), axis=1)
        reason = jnp.select(
            [
                ~jnp.isfinite(value),
                small_step,
                _at_gradient_floor(grad, grad_scale),
                ~accept & (lam >= _LAM_MAX),
                iterations >= state.max_iter,
            ],
            [5, 1, 2, 3, 4],
            0,
        )
        done = state.active & (reason != 0)
        converged = jnp.isin(reason, jnp.asarray(CONVERGED_REASONS))
        target = jnp.where(done, state.lane, n_lanes)  # out of range: dropped
        results = Lanes(theta, value, grad_norm, iterations, reason, converged)
        results = (results, hess) if curvature else results
        out = jax.tree_util.tree_map(lambda o, r: o.at[target].set(r, mode="drop"), out, results)
        state = state._replace(theta=theta, value=value, grad=grad, hess=hess, grad_scale=grad_scale, lam=lam,
                               iterations=iterations)
        lane = next_lane + jnp.cumsum(done) - 1
        refill = done & (lane < n_lanes)
        state = jax.lax.cond(jnp.any(refill), load, lambda s, l, m: s._replace(fresh=m), state, lane, refill)
        state = state._replace(active=jnp.where(done, refill, state.active))
        return state, next_lane + jnp.sum(refill), out

    first = jnp.arange(n_slots)
    start = _Slots(
        lane=first, active=jnp.ones(n_slots, bool), fresh=jnp.ones(n_slots, bool), weights=weights[:n_slots],
        theta=theta0[:n_slots], value=jnp.full(n_slots, jnp.inf, dtype), grad=jnp.zeros((n_slots, dims), dtype),
        hess=jnp.tile(jnp.eye(dims, dtype=dtype), (n_slots, 1, 1)), grad_scale=jnp.zeros((n_slots, dims), dtype), lam=jnp.full(n_slots, _LAM_START, dtype),
        iterations=jnp.zeros(n_slots, jnp.int32),
        data=jax.tree.map(lambda x: x[:n_slots], data) if lane_data else None, delta=lane_delta[:n_slots],
        free=None if free is None else free[:n_slots], max_iter=lane_max_iter[:n_slots],
    )
    out = Lanes(theta0, jnp.full(n_lanes, jnp.nan, dtype), jnp.zeros(n_lanes, dtype), jnp.zeros(n_lanes, jnp.int32),
                jnp.zeros(n_lanes, jnp.int32), jnp.zeros(n_lanes, bool))
    if curvature:
        out = (out, jnp.zeros((n_lanes, dims, dims), dtype))
    _, _, out = jax.lax.while_loop(lambda c: jnp.any(c[0].active), body, (start, jnp.asarray(n_slots), out))
    return out


_polish = functools.partial(jax.jit, static_argnames=("config", "slots", "lane_data", "curvature"))(polish_lanes)
