"""Inference-aware allocation (Sardana et al. 2023, "Beyond Chinchilla-Optimal: Accounting for Inference in
Language Model Scaling Laws"): the model size and training tokens that reach a loss for the least total FLOPs,
training plus serving ``D_inf`` inference tokens, and the dual: the least loss for a total FLOPs budget.

Total FLOPs ``T = f_train(N) D + f_inf(N) D_inf`` with the FLOPs per token of a ``FlopsPerToken`` model
(``6N`` and ``2N`` for a dense model). Serving a model costs FLOPs per token proportional to its size, so the
more inference tokens are expected, the smaller the model that is worth training, and the longer it is trained.

The dual (best loss for a total T) is ``compute_optimal`` on the curved budget line
``log D = log T + log(1 - f_inf(N) D_inf / T) - log f_train(N)``; ``log(T - c e^{...})`` is concave in
u = log N, so for the laws shipped here log L stays convex along it. Its end at ``f_inf(N) D_inf = T``
(no FLOPs left to train) is a hard wall, so the minimiser is the bracketed safeguarded Newton of
``allocate.bracketed_minimise`` between N = 1 and that wall. The primal (least T for a target loss) is a root
of ``log L*(T) = log target`` in log T, bracketed exactly: the training-only budget ``T0`` of
``compute_for_loss`` is a lower bound (serving costs extra), and ``T0 + f_inf(N0) D_inf`` (train the
training-only optimum N0, then serve it) an upper bound that reaches the target. With ``D_inf = 0`` the two
coincide and the answer is ``compute_for_loss``'s. Derivatives with respect to the law's coefficients, the
FLOPs model, the target or budget and ``D_inf`` come from the implicit function theorem at both solves
(``jax.lax.custom_root``).
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import BudgetError, float_array
from .._util.precision import concrete_to_numpy, float64_scope, resolve_dtype
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Status
from ..laws import CHINCHILLA
from .allocate import (
    _loss_floor,
    _pad,
    allocation_status,
    convergence_warnings,
    records_table,
    check_positive_values,
    is_concrete,
    law_in,
    solver_tolerance,
    allocate_law,
    bracketed_minimise,
    check_flops,
    check_target_loss,
    flag_as_float,
    log_budget_for_loss,
)

_MAX_ROOT_ITER = 200


class InferenceAllocation(NamedTuple):
    """Inference-aware allocations, every field an array of the broadcast shape of the inputs.

    n_params: N (parameters); n_tokens: D, training tokens; inference_tokens: D_inf; loss: L(N, D) in nats;
    training_flops: f_train(N) D; inference_flops: f_inf(N) D_inf; total_flops: their sum (FLOPs);
    converged: whether every solve met its tolerance.
    """

    n_params: Any
    n_tokens: Any
    inference_tokens: Any
    loss: Any
    training_flops: Any
    inference_flops: Any
    total_flops: Any
    converged: Any

    @property
    def status(self) -> Status:
        """SUCCESS when every solve converged, PARTIAL when some did, FAILED when none did (concrete arrays only:
        not under ``jit``)."""
        return allocation_status(self.converged)

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def warnings(self) -> tuple:
        """Solves that did not meet their tolerance ("not-converged"), counted."""
        return convergence_warnings(self.converged)

    def to_dict(self) -> dict:
        """``{"status", "allocations": to_records()}`` (strict JSON)."""
        return {"status": self.status.label, "allocations": self.to_records()}

    def summary(self) -> str:
        """A table, one row per entry of ``to_records()``."""
        return records_table(self.to_records())

    @property
    def notes(self) -> tuple:
        return ()

    def to_records(self):
        """A list of plain dicts, one per input, keys as the field names (N and D for n_params and n_tokens)."""
        keys = ("N", "D", "inference_tokens", "loss", "training_flops", "inference_flops", "total_flops", "converged")
        fields = [np.ravel(np.asarray(x)) for x in self]
        return [{k: (bool(v) if k == "converged" else float(v)) for k, v in zip(keys, row)} for row in zip(*fields)]


def _log_tokens(flops, log_total, inference_tokens):
    """Training tokens on the total-budget line as a function of u = log N: what is left after serving
    ``inference_tokens`` at f_inf(N) each, divided by f_train(N) (log; -inf or nan past the wall)."""

    def log_d(u):
        share = inference_tokens * jnp.exp(flops.log_inference(u) - log_total)
        return log_total + jnp.log1p(-share) - flops.log_training(u)

    return log_d


def _best_for_total(law, flops, log_total, inference_tokens):
    """The u = log N of least loss for one total budget (log), and a converged flag; implicit derivatives."""
    log_d = _log_tokens(flops, log_total, inference_tokens)

    def objective(u):
        return law.log_loss(u, log_d(u))

    # the wall: D = 1 when nothing is served, otherwise the N whose serving alone takes the whole budget
    wall = jnp.minimum(flops.log_n_for_training(log_total),
                       flops.log_n_for_inference(log_total - jnp.log(inference_tokens)))
    lo, hi = jnp.zeros_like(wall), wall

    def solve(g, u0):
        return flag_as_float(bracketed_minimise(objective, u0, lo, hi))

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    u, flag = jax.lax.custom_root(jax.grad(objective), 0.5 * (lo + hi), solve, tangent_solve, has_aux=True)
    return u, flag > 0.5


def _answer(law, flops, log_total, inference_tokens, u, converged):
    log_d = _log_tokens(flops, log_total, inference_tokens)(u)
    n, d = jnp.exp(u), jnp.exp(log_d)
    training = jnp.exp(flops.log_training(u) + log_d)
    serving = inference_tokens * jnp.exp(flops.log_inference(u))
    return InferenceAllocation(n, d, inference_tokens, jnp.exp(law.log_loss(u, log_d)), training, serving,
                               training + serving, converged & jnp.isfinite(log_d))


@jax.jit
def _for_totals(law, flops, log_total, inference_tokens):
    """``InferenceAllocation`` for flat arrays of log total budgets and inference tokens."""

    def one(t, d_inf):
        u, converged = _best_for_total(law, flops, t, d_inf)
        return _answer(law, flops, t, d_inf, u, converged)

    return jax.vmap(one)(log_total, inference_tokens)


def _bracketed_root(fn, lo, hi):
    """The root of a decreasing ``fn`` in ``[lo, hi]`` (``fn(lo) >= 0 >= fn(hi)``): Newton where it stays inside the
    bracket, bisection otherwise. Returns ``(t, converged)``; a bracket of zero width returns ``lo``."""

    def cond(carry):
        t, lo, hi, dx, i = carry
        return (i < _MAX_ROOT_ITER) & ~(hi - lo <= solver_tolerance(t)) & ~(jnp.abs(dx) <= solver_tolerance(t))

    def body(carry):
        t, lo, hi, _, i = carry
        value, slope = jax.value_and_grad(fn)(t)
        above = value > 0  # the loss is still above the target: the root is to the right
        lo, hi = jnp.where(above, t, lo), jnp.where(above, hi, t)
        newton = t - value / jnp.where(slope < 0, slope, -1.0)
        inside = (slope < 0) & (lo < newton) & (newton < hi)
        new = jnp.where(value == 0, t, jnp.where(inside, newton, 0.5 * (lo + hi)))
        return new, lo, hi, new - t, i + 1

    t, lo_end, hi_end, dx, i = jax.lax.while_loop(cond, body, (0.5 * (lo + hi), lo, hi, jnp.inf, 0))
    return t, (hi_end - lo_end <= 4 * solver_tolerance(t)) | (jnp.abs(dx) <= 4 * solver_tolerance(t))


@jax.jit
def _for_targets(law, flops, log_target, inference_tokens):
    """``InferenceAllocation`` for flat arrays of log target losses and inference tokens."""
    inf = jnp.asarray(jnp.inf, log_target.dtype)
    # training alone: the lower end of each bracket, and the size whose serving sets the upper end
    log_t0 = log_budget_for_loss(law, log_target, flops, inf, inf)
    n0 = allocate_law(law, jnp.exp(log_t0), flops, inf, inf).n_params

    def one(target, t0, n0, d_inf):
        def excess(t):  # log L*(t) - log target, decreasing in t
            u, _ = _best_for_total(law, flops, t, d_inf)
            return law.log_loss(u, _log_tokens(flops, t, d_inf)(u)) - target

        t_hi = jnp.logaddexp(t0, jnp.log(d_inf) + flops.log_inference(jnp.log(n0)))

        def solve(f, t_init):
            return flag_as_float(_bracketed_root(excess, t0, t_hi))

        def tangent_solve(g, y):
            return y / g(jnp.ones_like(y))

        t, root_flag = jax.lax.custom_root(excess, t0, solve, tangent_solve, has_aux=True)
        root_converged = root_flag > 0.5
        u, converged = _best_for_total(law, flops, t, d_inf)
        reached = jnp.abs(excess(t)) <= 1e3 * jnp.finfo(t.dtype).eps
        return _answer(law, flops, t, d_inf, u, converged & root_converged & reached)

    return jax.vmap(one)(log_target, jax.lax.stop_gradient(log_t0), jax.lax.stop_gradient(n0), inference_tokens)


def _check_inference_tokens(value, dtype):
    if not is_concrete(value):
        return jnp.asarray(value, dtype)
    raw = float_array(value, "inference_tokens", BudgetError, "finite", invalid=True)
    if raw.size == 0:
        raise BudgetError("inference_tokens: no values given")
    bad = ~np.isfinite(raw) | (raw < 0)
    if bad.any():
        raise BudgetError(f"inference_tokens must be >= 0 and finite, got {raw.ravel()[np.argmax(bad.ravel())]:g}")
    return jnp.asarray(raw, dtype)


@float64_scope
def inference_optimal(law, target_loss=None, *, compute=None, inference_tokens, flops=DEFAULT_FLOPS_PER_PARAM_TOKEN,
                      dtype=None):
    """The allocation that accounts for inference (Sardana et al. 2023): give exactly one of

    * ``target_loss``: minimise total FLOPs ``f_train(N) D + f_inf(N) D_inf`` subject to ``L(N, D) = target_loss``;
    * ``compute``: minimise ``L(N, D)`` subject to ``f_train(N) D + f_inf(N) D_inf = compute`` (total FLOPs).

    Args:
      law: a law as for ``compute_optimal``.
      target_loss: loss in nats to reach (scalar or array), or None.
      compute: total FLOPs budget, training plus inference (scalar or array), or None.
      inference_tokens: D_inf, tokens the model will process at inference over its life (>= 0; 0 gives
        ``compute_for_loss`` / ``compute_optimal``); broadcast against the target or budget.
      flops: k (training FLOPs k N per token, inference 2N) or a ``FlopsPerToken`` model.
      dtype: float64 (default) or float32.

    Returns:
      An ``InferenceAllocation`` of the broadcast shape. Differentiable with respect to the law's coefficients,
      the FLOPs model, the target or budget, and ``inference_tokens``.

    Raises:
      BudgetError: both or neither of target_loss and compute; a non-positive budget or target, negative
        inference tokens, a budget that cannot train one parameter on one token after serving.
      UnreachableLossError: a target at or below the law's irreducible loss.

    Example:
      >>> from optimal import inference_optimal, preset
      >>> law = preset("epoch2024")
      >>> a = inference_optimal(law, 2.2, inference_tokens=[0.0, 1e13])
      >>> bool(a.n_params[1] < a.n_params[0] and a.n_tokens[1] > a.n_tokens[0])
      True
    """
    if (target_loss is None) == (compute is None):
        raise BudgetError("give exactly one of target_loss and compute")
    dtype = resolve_dtype(dtype)
    law = law_in(law, dtype)
    flops = check_flops(flops, dtype, "flops", keep_model=True)
    d_inf = _check_inference_tokens(inference_tokens, dtype)
    if compute is not None:
        total, d_inf = _check_totals(compute, d_inf, flops, dtype)
        shape = total.shape
        result = _for_totals(law, flops, jnp.log(total).ravel(), d_inf.ravel())
    else:
        target = check_target_loss(law, target_loss, dtype)
        target, d_inf = jnp.broadcast_arrays(target, d_inf)
        shape = target.shape
        result = _for_targets(law, flops, jnp.log(target).ravel(), d_inf.ravel())
    return concrete_to_numpy(InferenceAllocation(*(x.reshape(shape) for x in result)))


def _check_totals(compute, d_inf, flops, dtype):
    """Total budgets (training plus serving FLOPs) checked positive and able to serve ``d_inf`` tokens and train one
    parameter on one token, broadcast against ``d_inf``."""
    total = check_positive_values(compute, dtype, "compute")
    total, d_inf = jnp.broadcast_arrays(total, d_inf)
    if is_concrete(total) and is_concrete(d_inf) and all(is_concrete(x) for x in flops):
        least = np.asarray(flops.training(jnp.asarray(1.0, dtype)) + d_inf * flops.inference(jnp.asarray(1.0, dtype)))
        short = np.asarray(total) <= least
        if short.any():
            i = np.argmax(short.ravel())
            raise BudgetError(f"compute {np.asarray(total).ravel()[i]:.3g} FLOPs cannot serve "
                              f"{np.asarray(d_inf).ravel()[i]:.3g} inference tokens and train a model "
                              f"(needs more than {least.ravel()[i]:.3g} FLOPs)")
    return total, d_inf


@float64_scope
def inference_optimal_draws(thetas, target_loss=None, *, compute=None, inference_tokens,
                            flops=DEFAULT_FLOPS_PER_PARAM_TOKEN, family=CHINCHILLA, covariates=None):
    """``inference_optimal`` for every draw's law at once (one vmapped program over the draws), where a draw that
    cannot reach a target is data, not an error.

    ``thetas`` (R, P): fitting-space draws of ``family`` (its ``law_from_theta``; ``covariates`` one number each,
    e.g. ``{"U": unique_tokens}``, defaults otherwise). Give one of ``target_loss`` (nats) and ``compute`` (total
    FLOPs, training plus serving), each a scalar or (m,), broadcast against ``inference_tokens``; ``flops`` as in
    ``inference_optimal`` (checked once: ``BudgetError`` naming a bad input).

    Returns an ``InferenceAllocation`` whose fields are (R, m): what ``inference_optimal`` gives each draw's law;
    for a target at or below a draw's irreducible loss, or not reached, ``n_params``, ``n_tokens`` and the FLOPs
    +inf ("needs unbounded compute"), ``loss`` NaN and ``converged`` False.
    """
    if (target_loss is None) == (compute is None):
        raise BudgetError("give exactly one of target_loss and compute")
    thetas = np.asarray(thetas, np.float64)
    dtype = thetas.dtype
    flops = check_flops(flops, dtype, "flops", keep_model=True)
    d_inf = _check_inference_tokens(inference_tokens, dtype)
    if compute is not None:
        given, d_inf = _check_totals(compute, d_inf, flops, dtype)
    else:
        given = check_positive_values(target_loss, dtype, "target_loss")
        given, d_inf = jnp.broadcast_arrays(given, d_inf)
    given, d_inf = jnp.ravel(given), jnp.ravel(d_inf)
    n_draws = thetas.shape[0]
    if n_draws == 0:
        shape = (0, given.shape[0])
        return InferenceAllocation(*(np.zeros(shape) for _ in range(7)), np.zeros(shape, bool))
    # padded to a power of two of draws (repeating the first), so that another bootstrap's count of converged draws
    # reuses the compiled program; the lanes are independent
    laws = family.law_from_theta(_pad(thetas, n_draws), covariates)
    size = _pad(thetas, n_draws).shape[0]
    laws = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), (size,)), laws)
    if compute is not None:
        result = jax.vmap(lambda law: _for_totals(law, flops, jnp.log(given), d_inf))(laws)
        reached = jnp.ones(result.converged.shape, bool)
    else:
        def one_law(law):
            floor = _loss_floor(law, jnp.inf, jnp.inf)
            possible = given > floor
            # an unreachable target would run every lane's root search to its cap: solve for a reachable stand-in
            # (the loss twice the floor) and mask the answer
            found = _for_targets(law, flops, jnp.where(possible, jnp.log(given), jnp.log(2 * floor)), d_inf)
            return found, possible & (jnp.abs(jnp.log(found.loss) - jnp.log(given)) <= 1e3 * jnp.finfo(dtype).eps)

        result, reached = jax.vmap(one_law)(laws)
    result = InferenceAllocation(*(np.asarray(x)[:n_draws] for x in concrete_to_numpy(result)))
    reached = np.asarray(reached)[:n_draws]
    unbounded = lambda x: np.where(reached, x, np.inf)  # noqa: E731
    return InferenceAllocation(unbounded(result.n_params), unbounded(result.n_tokens), result.inference_tokens,
                               np.where(reached, result.loss, np.nan), unbounded(result.training_flops),
                               unbounded(result.inference_flops), unbounded(result.total_flops),
                               result.converged & reached)
