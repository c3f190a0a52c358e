"""Compute-optimal allocation: the (N, D) that minimise L(N, D) under the budget C = k N D.

On the budget line D = C / (k N), the loss is a function of u = log N alone. For the laws shipped here log L
is a log-sum-exp of affine functions of u, hence convex, so a Newton iteration in u with a step cap converges
from anywhere, quadratically, in a fixed small number of steps and without line search (which ``vmap`` would
run for every budget until the slowest finished: see PITFALLS). The step is an Optax gradient transformation
(``scale_by_newton`` then ``optax.clip``), applied with ``optax.apply_updates``.

Caps on D (``max_tokens``) and N (``max_params``) are bounds on u; for a one-dimensional convex problem the
capped optimum is the free optimum clipped to the bounds. Derivatives with respect to the law's coefficients
come from the implicit function theorem at the optimum (``jax.lax.custom_root``), not from unrolling.

FLOPs per token as a model (``FlopsPerToken``: attention, mixture of experts) in place of k: the budget line is
``log D = log C - log f(N)``. For a model whose FLOPs are linear in N (dense, MoE without attention) that is
``C = k N D`` with ``k = training_per_param * active_fraction``, solved by exactly the code path of a plain k
(so ``FlopsPerToken.dense()`` and ``6.0`` give bitwise the same answers). With attention, ``log f`` is convex in
``u`` (a log-sum-exp of affine terms), so ``-beta log D`` stays convex and so does log L for the laws above:
the same capped Newton iteration applies.

The data-constrained law (Muennighoff et al. 2023) with finite unique data is not smooth along the line: its
``min(N, N_opt(U))`` and ``min(U, D)`` switch formulas, at points where the loss is continuous but its
curvature (and, at ``D = U`` with excess parameters, its slope) jumps, and where automatic differentiation
at the switch itself returns a wrong slope. Newton alone then stalls on the switch and reports "not
converged". For that law the minimiser is a safeguarded Newton in a bracket (``bracketed_minimise``, the
"rtsafe" scheme: a Newton step where it stays inside the bracket and shrinks it fast enough, bisection
otherwise), which keeps a point with a negative slope on the left and one with a positive slope on the right
and so ends on a minimum, smooth or not. The implicit derivative at the answer uses the curvature there: exact
where the loss is smooth at the optimum (the usual case, including the C1 switch of ``min(N, N_opt(D))`` where
both sides agree), one-sided where the optimum sits on a kink.
"""

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..errors import BudgetError, CoefficientsError, UnreachableLossError, float_array
from ..laws import CHINCHILLA, Chinchilla, DataConstrained, as_law
from ..laws.chinchilla import compute_optimal_log_params
from ..laws.coefficients import RULES, check_coefficients
from .._util.precision import concrete_to_numpy, float64_scope, resolve_dtype
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .._util.results import Issue, Status
from .._util.text import format_table
from .flops import FlopsPerToken, check_flops_per_param_token

BOUND_NAMES = (None, "max_tokens", "max_params")
_MAX_STEP = 2.0  # at most a factor e^2 in N per Newton step
_MAX_ITER = 100
_MAX_BRACKET_ITER = 200  # bisection alone halves a bracket of ~70 (in log N) to a few ulps in ~50 steps


def allocation_status(converged) -> Status:
    """SUCCESS when every solve converged, PARTIAL when some did, FAILED when none did."""
    converged = np.ravel(np.asarray(converged))
    if converged.size and converged.all():
        return Status.SUCCESS
    return Status.PARTIAL if converged.any() else Status.FAILED


def convergence_warnings(converged) -> tuple:
    """An ``Issue`` ("not-converged") counting the solves that did not converge, or nothing."""
    converged = np.ravel(np.asarray(converged))
    if converged.all():
        return ()
    return (Issue("not-converged", f"{int((~converged).sum())} of {converged.size} allocations did not converge"),)


def records_table(records) -> str:
    """``to_records()`` as a text table: numbers to 4 significant digits, flags yes/NO, None as -."""
    if not records:
        return "no allocations"
    cells = lambda v: (v if isinstance(v, str) else "-" if v is None else ("yes" if v else "NO")  # noqa: E731
                       if isinstance(v, bool) else f"{v:.4g}")
    return format_table(list(records[0]), [[cells(v) for v in r.values()] for r in records])


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
        """Budgets where a cap binds ("at-cap"), counted per cap."""
        bound = np.ravel(np.asarray(self.bound))
        return tuple(Issue("at-cap", f"the {name} cap binds at {int(np.sum(bound == i))} of {bound.size} budgets")
                     for i, name in enumerate(BOUND_NAMES) if name is not None and np.any(bound == i))

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


def solver_tolerance(u):
    """Newton-step size (in log N) below which a solve counts as converged: a few ulps of u."""
    return 32 * jnp.finfo(u.dtype).eps * (1 + jnp.abs(u))


def _newton_minimise(objective, u0):
    """Minimise a scalar convex ``objective(u)`` from ``u0`` (scalar) by capped Newton steps."""
    grad = jax.grad(objective)
    curvature = jax.grad(grad)
    optimiser = optax.chain(scale_by_newton(_MAX_STEP), optax.clip(_MAX_STEP))

    def cond(carry):
        u, step, i, _ = carry
        return (i < _MAX_ITER) & ~(jnp.abs(step) <= solver_tolerance(u))

    def body(carry):
        u, _, i, state = carry
        update, state = optimiser.update(grad(u), state, u, curvature=curvature(u))
        return optax.apply_updates(u, update), update, i + 1, state

    init = (u0, jnp.full_like(u0, jnp.inf), 0, optimiser.init(u0))
    return jax.lax.while_loop(cond, body, init)[0]


def bracketed_minimise(objective, u0, lo, hi, max_iter=_MAX_BRACKET_ITER):
    """Minimise a scalar ``objective(u)`` whose minimum lies in ``(lo, hi)``, starting at ``u0`` inside.

    Safeguarded Newton on the slope (Numerical Recipes' "rtsafe"): every evaluated point with a negative slope
    becomes the bracket's left end, with a positive (or non-finite) slope its right end; a Newton step is taken
    where it lands inside the bracket and at least halves the step before last, a bisection otherwise. It ends
    on a minimum whether or not the objective is smooth there, and never on a maximum.

    Returns ``(u, converged)``: of the bracket's ends the one with the smaller slope, and whether the bracket
    closed to a few ulps with both ends moved (a slope sign change seen) or a Newton step fell below them.
    """
    grad = jax.grad(objective)
    curvature = jax.grad(grad)
    lo0, hi0 = lo, hi
    inf = jnp.full_like(u0, jnp.inf)

    def cond(carry):
        u, lo, hi, _, _, dx, _, newton, i = carry
        small_step = newton & (jnp.abs(dx) <= solver_tolerance(u))
        return (i < max_iter) & ~(hi - lo <= solver_tolerance(u)) & ~small_step

    def body(carry):
        u, lo, hi, g_lo, g_hi, dx, dx_old, _, i = carry
        g, h = grad(u), curvature(u)
        left = g < 0
        right = ~left  # a positive, zero or non-finite slope: the minimum is not to the right of u
        lo, g_lo = jnp.where(left, u, lo), jnp.where(left, g, g_lo)
        hi, g_hi = jnp.where(right, u, hi), jnp.where(right, g, g_hi)
        lo, g_lo = jnp.where(g == 0, u, lo), jnp.where(g == 0, g, g_lo)  # an exact stationary point closes it
        newton_u = u - g / jnp.where(h > 0, h, 1.0)
        use_newton = (h > 0) & (lo < newton_u) & (newton_u < hi) & (jnp.abs(2 * g) <= jnp.abs(dx_old * h))
        new = jnp.where(use_newton, newton_u, 0.5 * (lo + hi))
        return new, lo, hi, g_lo, g_hi, new - u, dx, use_newton, i + 1

    init = (u0, lo, hi, -inf, inf, inf, hi - lo, jnp.asarray(False), 0)
    u, lo, hi, g_lo, g_hi, dx, _, newton, _ = jax.lax.while_loop(cond, body, init)
    best = jnp.where(jnp.abs(g_lo) <= jnp.abs(g_hi), lo, hi)
    closed = (hi - lo <= 4 * solver_tolerance(best)) & (lo > lo0) & (hi < hi0)
    converged = jnp.isfinite(best) & (closed | (newton & (jnp.abs(dx) <= 4 * solver_tolerance(best))))
    return best, converged


def flag_as_float(solution_and_flag):
    """``(u, converged)`` with the flag as u's float type: ``custom_root(..., has_aux=True)`` under ``jax.grad``
    gives a boolean aux a boolean tangent and fails (jax 0.10), a float aux passes. Read back with ``> 0.5``."""
    u, flag = solution_and_flag
    return u, flag.astype(u.dtype)


def _needs_bracket(law):
    """Laws whose loss along a budget line is not smooth (see the module docstring)."""
    return isinstance(law, DataConstrained)


def _line(log_c, flops):
    """log D on the budget line as a function of u = log N. ``flops`` None: ``log_c`` is log(C/k) and D = C/(kN);
    a ``FlopsPerToken``: ``log_c`` is log C and D = C / f(N)."""
    if flops is None:
        return lambda u: log_c - u
    return lambda u: log_c - flops.log_training(u)


def _on_budget_line(law, log_c, flops=None):
    """log L as a function of u = log N alone, on the budget line of ``_line``."""
    log_d = _line(log_c, flops)
    return lambda u: law.log_loss(u, log_d(u))


def _line_ends(log_c, flops):
    """The u of N = 1 and of D = 1 on the budget line: the widest bracket of an optimum, and its middle."""
    top = log_c if flops is None else flops.log_n_for_training(log_c)
    return jnp.zeros_like(top), top


def _free_optimum(law, log_c, flops=None):
    """argmin over u = log N of log L on one budget line, with implicit derivatives, and a converged flag for
    the bracketed solve (None for Newton, whose flag ``_allocate_one`` computes)."""
    objective = _on_budget_line(law, log_c, flops)

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    if _needs_bracket(law):
        lo, hi = _line_ends(log_c, flops)

        def solve_bracketed(g, u0):
            return flag_as_float(bracketed_minimise(objective, u0, lo, hi))

        u, flag = jax.lax.custom_root(jax.grad(objective), 0.5 * (lo + hi), solve_bracketed, tangent_solve,
                                      has_aux=True)
        return u, flag > 0.5

    def solve(g, u0):
        # custom_root hands us the gradient g; its antiderivative is the objective we minimise.
        return _newton_minimise(objective, u0)

    u0 = 0.5 * log_c if flops is None else 0.5 * (log_c - jnp.log(flops.per_param()))
    return jax.lax.custom_root(jax.grad(objective), u0, solve, tangent_solve), None


def _allocate_one(law, log_c, log_n_min, log_n_max, flops=None):
    """Optimal log N for one budget, clipped to [log_n_min, log_n_max], its converged flag and bound code."""
    u_free, bracketed_converged = _free_optimum(law, log_c, flops)
    if bracketed_converged is None:
        objective = _on_budget_line(law, log_c, flops)
        g, h = jax.grad(objective)(u_free), jax.grad(jax.grad(objective))(u_free)
        step = jax.lax.stop_gradient(jnp.abs(g / h))
        converged = jnp.isfinite(u_free) & (h > 0) & (step <= 4 * solver_tolerance(u_free))
    else:
        converged = bracketed_converged
    u = jnp.clip(u_free, log_n_min, log_n_max)
    bound = jnp.where(u_free < log_n_min, 1, jnp.where(u_free > log_n_max, 2, 0))
    return u, converged, bound


@jax.jit
def allocate_law(law, compute, k, log_d_max, log_n_max):
    """Allocations for the budgets ``compute`` under ``law`` with k and log caps already checked (``check_budgets``):
    the compiled core of ``compute_optimal``, for callers that vmap it over laws (bootstrap draws).
    ``k`` is a number (C = k N D) or a ``FlopsPerToken`` (C = f(N) D)."""
    if isinstance(k, FlopsPerToken):
        return _allocate_with_model(law, compute, k, log_d_max, log_n_max)
    log_c = jnp.log(compute) - jnp.log(k)
    lo, hi = log_c - log_d_max, log_n_max
    shape = log_c.shape
    flat = jax.vmap(_allocate_one, in_axes=(None, 0, 0, None))
    u, converged, bound = flat(law, log_c.ravel(), jnp.broadcast_to(lo, shape).ravel(), hi)
    u, converged, bound = u.reshape(shape), converged.reshape(shape), bound.reshape(shape)
    log_d = log_c - u
    n, d = jnp.exp(u), jnp.exp(log_d)
    return Allocation(compute, n, d, jnp.exp(law.log_loss(u, log_d)), jnp.exp(log_d - u), converged, bound)


def _allocate_with_model(law, compute, flops, log_d_max, log_n_max):
    """``allocate_law`` on the budget lines C = f(N) D of a ``FlopsPerToken`` model."""
    log_c = jnp.log(compute)
    shape = log_c.shape
    # D <= max_tokens  <=>  f(N) >= C / max_tokens  <=>  u >= f^-1(C / max_tokens)
    lo = flops.log_n_for_training(log_c - log_d_max)
    flat = jax.vmap(_allocate_one, in_axes=(None, 0, 0, None, None))
    u, converged, bound = flat(law, log_c.ravel(), jnp.broadcast_to(lo, shape).ravel(), log_n_max, flops)
    u, converged, bound = u.reshape(shape), converged.reshape(shape), bound.reshape(shape)
    log_d = log_c - flops.log_training(u)
    n, d = jnp.exp(u), jnp.exp(log_d)
    return Allocation(compute, n, d, jnp.exp(law.log_loss(u, log_d)), jnp.exp(log_d - u), converged, bound)


def is_concrete(x):
    """Whether ``x`` is a value (not a tracer under ``jit``/``grad``), so that it can be checked."""
    return not isinstance(x, jax.core.Tracer)


def check_positive_values(value, dtype, name):
    """Validate a budget-like array (concrete values only; ``name`` as the user wrote it) as ``dtype``."""
    if not is_concrete(value):
        return jnp.asarray(value, dtype)
    raw = float_array(value, name, BudgetError, "positive and finite", invalid=True)
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


def law_in(law, dtype):
    """``law`` (or a function f(N, D), wrapped) with every coefficient as a ``dtype`` array, each checked to be in
    its range where it is concrete (``CoefficientsError`` naming the one that is not)."""
    law = check_coefficients(as_law(law))  # first as given: an int beyond float64 is named, not an OverflowError
    for name in RULES.get(type(law), {}):  # the laws with known coefficients; a CustomLaw's params are its author's
        value = getattr(law, name)
        if not isinstance(value, jax.core.Tracer) and np.ndim(value) != 0:  # was a TypeError from jax.grad
            raise CoefficientsError(f"one law at a time: coefficient {name} of the {type(law).__name__} law has shape "
                                    f"{np.shape(value)}; call once per law, or jax.vmap over a batch of laws")
    return check_coefficients(jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), law))


def check_flops(flops, dtype=np.float64, name="flops_per_param_token", keep_model=False):
    """A number k (C = k N D) or a ``FlopsPerToken`` model, checked, as ``dtype``.

    A model whose FLOPs are linear in N (no attention term; decided on concrete values) becomes its k, so that
    dense and MoE models take exactly the plain-k code path; with ``keep_model`` every input comes back as a
    ``FlopsPerToken`` instead (a number k as ``FlopsPerToken(training_per_param=k)``: 2N per inference token).
    Raises ``BudgetError`` naming a bad value.
    """
    if keep_model and not isinstance(flops, FlopsPerToken):
        return FlopsPerToken(check_flops(flops, dtype, name), jnp.asarray(2.0, dtype), *(
            jnp.asarray(x, dtype) for x in FlopsPerToken()[2:]))
    if isinstance(flops, FlopsPerToken):
        concrete = all(is_concrete(x) for x in flops)
        if concrete:
            for field in ("training_per_param", "inference_per_param", "active_fraction"):
                value = getattr(flops, field)
                if np.ndim(value) != 0:
                    raise BudgetError(f"{name}.{field} must be one number, got shape {np.shape(value)}")
                check_positive_values(value, dtype, f"{name}.{field}")
            if float(flops.active_fraction) > 1:
                raise BudgetError(f"{name}.active_fraction must be at most 1 (active / total parameters), "
                                  f"got {float(flops.active_fraction):g}")
            for field in ("context", "width"):
                value = getattr(flops, field)
                if np.ndim(value) != 0 or not (np.isfinite(float(value)) and float(value) >= 0):
                    raise BudgetError(f"{name}.{field} must be one finite number >= 0, got {value!r}")
            exponent = flops.width_exponent
            if np.ndim(exponent) != 0 or not 0 <= float(exponent) <= 1:
                raise BudgetError(f"{name}.width_exponent must be in [0, 1], got {exponent!r}")
            if flops.is_linear() and not keep_model:
                return check_positive_values(float(flops.training_per_param) * float(flops.active_fraction), dtype, name)
        return FlopsPerToken(*(jnp.asarray(x, dtype) for x in flops))
    if is_concrete(flops) and np.ndim(flops) != 0:
        raise BudgetError(f"{name} must be one number (the same for every budget), got shape {np.shape(flops)}")
    k = check_positive_values(flops, dtype, name)
    if is_concrete(flops):
        check_flops_per_param_token(float(k), name)  # its cap: k = 1e18 put N* at 13 parameters
    return k


def _resolve_flops(flops_per_param_token, flops):
    """The one FLOPs argument of ``flops_per_param_token`` (positional, historical name) and ``flops=``."""
    if flops is None:
        return flops_per_param_token
    k = flops_per_param_token
    if not (isinstance(k, (int, float)) and float(k) == DEFAULT_FLOPS_PER_PARAM_TOKEN):
        raise BudgetError("give flops or flops_per_param_token, not both")
    return flops


def _check_caps(k, max_tokens, max_params, dtype):
    """k (or a FLOPs model) and log(cap) as ``dtype`` arrays (a missing cap is inf), each checked to be one
    positive finite number."""
    for value, name in ((max_tokens, "max_tokens"), (max_params, "max_params")):
        if value is not None and is_concrete(value) and np.ndim(value) != 0:
            raise BudgetError(f"{name} must be one number (the same for every budget), got shape {np.shape(value)}")
    k = check_flops(k, dtype)
    log_d_max = jnp.inf if max_tokens is None else jnp.log(check_positive_values(max_tokens, dtype, "max_tokens"))
    log_n_max = jnp.inf if max_params is None else jnp.log(check_positive_values(max_params, dtype, "max_params"))
    for cap, log_cap, name, unit in ((max_tokens, log_d_max, "max_tokens", "token"),
                                     (max_params, log_n_max, "max_params", "parameter")):
        if is_concrete(log_cap) and float(log_cap) < 0:  # below 1: the other of N, D overflows
            raise BudgetError(f"{name} must be at least 1 (one {unit}), got {float(cap):.3g}")
    return k, jnp.asarray(log_d_max, dtype), jnp.asarray(log_n_max, dtype)


def check_one_run_or_more(budgets, k, name="compute", error=BudgetError, advice=""):
    """``budgets`` (FLOPs, a number or an array) when each buys at least one parameter trained on one token, the
    least any allocation needs: ``k`` FLOPs, or a ``FlopsPerToken``'s training FLOPs per token at N = 1. Otherwise
    ``error``: "{name} {the smallest budget} FLOPs is below one parameter trained on one token (...){advice}"."""
    model = isinstance(k, FlopsPerToken)
    least = float(k.training(1.0)) if model else float(k)
    values = np.asarray(budgets, np.float64)
    if np.any(values < least):
        what = f"{least:.3g} FLOPs per token at N = 1" if model else f"k = {least:g} FLOPs"
        raise error(f"{name} {np.min(values):.3g} FLOPs is below one parameter trained on one token ({what}){advice}")
    return budgets


def _check_budget_range(compute, k, log_d_max, log_n_max):
    """One parameter trained on one token is the least a budget can buy; both caps together set the most."""
    model = isinstance(k, FlopsPerToken)
    if not (is_concrete(compute) and all(is_concrete(x) for x in (k if model else (k,)))):
        return
    check_one_run_or_more(compute, k)
    largest = np.max(np.asarray(compute, np.float64))
    if not model and np.log(largest) - np.log(float(k)) > np.log(np.finfo(np.float64).max):
        raise BudgetError(f"compute / k overflows float64 (compute {largest:.3g} FLOPs, "
                          f"k = {float(k):.3g} FLOPs per parameter per token); check k")
    ceiling = float(log_d_max) + (float(k.log_training(log_n_max)) if model and np.isfinite(float(log_n_max))
                                  else float(log_n_max) + (0.0 if model else np.log(float(k))))
    if np.any(np.log(np.asarray(compute)) > ceiling):
        raise BudgetError(
            f"compute {np.max(np.asarray(compute)):.3g} FLOPs cannot be spent within max_tokens and max_params "
            f"(at most {np.exp(ceiling):.3g} FLOPs); raise a cap"
        )


@float64_scope
def check_budgets(compute, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None, max_params=None,
                  dtype=None):
    """Check compute budgets the way ``compute_optimal`` does; return ``(compute, k, log_d_max, log_n_max)`` as
    ``dtype`` arrays (the log of a missing cap is inf); ``k`` is a ``FlopsPerToken`` for a model with attention.

    Every budget must be positive, finite and held by ``dtype``, buy at least one parameter trained on one
    token (C >= k), and be spendable within the caps; k and the caps must be positive finite scalars.
    Raises ``BudgetError`` naming the first value that is not. Traced values (under ``jit``) pass unchecked.
    """
    dtype = resolve_dtype(dtype)
    k, log_d_max, log_n_max = _check_caps(flops_per_param_token, max_tokens, max_params, dtype)
    compute = check_positive_values(compute, dtype, "compute")
    _check_budget_range(compute, k, log_d_max, log_n_max)
    return compute, k, log_d_max, log_n_max


@float64_scope
def compute_optimal(law, compute, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None, max_params=None,
                    dtype=None, *, flops=None):
    """Minimise ``L(N, D)`` subject to ``flops_per_token(N) * D = compute``, for every budget at once.

    Args:
      law: a law from ``optimal.laws`` (e.g. ``optimal.preset("epoch2024")``), any object with
        ``log_loss(log_n, log_d)``, or a JAX function ``f(N, D)`` returning the loss.
      compute: training compute in FLOPs, a scalar or an array of any shape.
      flops_per_param_token: k in C = k N D (6 counts the forward and backward passes of a dense model), or a
        ``FlopsPerToken`` model (attention, mixture of experts): then C = f(N) D with f its ``training``.
      max_tokens: optional cap on D (unique tokens available); max_params: optional cap on N.
      dtype: float64 (default) or float32.
      flops: the same as ``flops_per_param_token`` by a shorter name (give one of the two).

    Returns:
      An ``Allocation`` whose fields have the shape of ``compute``. Differentiable with respect to the law's
      coefficients and a model's fields (``jax.grad`` works through it).

    Example:
      >>> from optimal import FlopsPerToken, compute_optimal, preset
      >>> a = compute_optimal(preset("epoch2024"), 5.76e23)
      >>> round(float(a.tokens_per_param), 1)
      18.4
      >>> a = compute_optimal(preset("epoch2024"), 1e21, flops=FlopsPerToken.attention(8192, aspect_ratio=128.0))
    """
    dtype = resolve_dtype(dtype)
    law = law_in(law, dtype)
    flops = _resolve_flops(flops_per_param_token, flops)
    compute, k, log_d_max, log_n_max = check_budgets(compute, flops, max_tokens, max_params, dtype)
    return concrete_to_numpy(allocate_law(law, compute, k, log_d_max, log_n_max))


@float64_scope
def closed_form(law: Chinchilla, compute, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN):
    """The exact Chinchilla optimum ``(N*, D*)`` in parameters and tokens, for arrays of budgets in FLOPs.

    ``N* = G (C/k)^(beta/(alpha+beta))``, ``D* = (C/k)/N*``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4), evaluated in log space.
    """
    if not isinstance(law, Chinchilla):  # a Kaplan law was an AttributeError
        raise CoefficientsError(f"closed_form is the Chinchilla law's optimum, not a {type(law).__name__}'s: use "
                                "compute_optimal")
    check_coefficients(law)
    # compute_optimal's checks: NaN, 0 or -1 gave a silent NaN N*, and a budget below k FLOPs (or a subnormal one)
    # N* = 0 and D* = NaN
    compute, k = check_budgets(compute, flops_per_param_token, dtype=jnp.float64)[:2]
    if isinstance(k, FlopsPerToken):
        raise BudgetError("closed_form takes k in C = k N D, not a FLOPs model with attention: use compute_optimal")
    log_n, log_d = compute_optimal_log_params(law, jnp.log(compute) - jnp.log(k))
    return concrete_to_numpy((jnp.exp(log_n), jnp.exp(log_d)))


def _loss_floor(law, log_d_max, log_n_max):
    """The loss an infinite budget approaches under the caps, where the law can say (``capped_loss_floor``); else
    its irreducible loss."""
    capped = getattr(law, "capped_loss_floor", None)
    return law.irreducible_loss() if capped is None else capped(log_d_max, log_n_max)


def check_target_loss(law, target_loss, dtype, log_d_max=jnp.inf, log_n_max=jnp.inf, capped=False):
    """``target_loss`` checked positive and above the loss the law (and the caps) can reach, as ``dtype``.
    Raises ``BudgetError`` or ``UnreachableLossError`` naming the target."""
    target = check_positive_values(target_loss, dtype, "target_loss")
    floor = _loss_floor(law, log_d_max, log_n_max)
    if floor is not None and is_concrete(target) and is_concrete(floor) and np.any(np.asarray(target) <= float(floor)):
        what = "the floor set by the caps" if capped else "the irreducible loss E"
        raise UnreachableLossError(
            f"target loss {float(np.min(np.asarray(target))):.6g} is at or below {what} = {float(floor):.6g}; "
            "no budget reaches it"
        )
    return target


@float64_scope
def compute_for_loss(law, target_loss, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None,
                     max_params=None, dtype=None, *, flops=None):
    """The smallest budget whose compute-optimal loss equals ``target_loss`` (nats), for each target.

    Newton's method on log C, with d log L*/d log C from the implicit derivative of the allocation. Raises
    ``UnreachableLossError`` when a target is at or below the loss the law (and the caps) can reach.
    ``flops_per_param_token`` (or ``flops=``) is k or a ``FlopsPerToken`` model, as in ``compute_optimal``.

    Returns:
      An ``Allocation`` at the budgets found (``compute`` holds them), shaped like ``target_loss``.
    """
    dtype = resolve_dtype(dtype)
    law = law_in(law, dtype)
    flops = _resolve_flops(flops_per_param_token, flops)
    k, log_d_max, log_n_max = _check_caps(flops, max_tokens, max_params, dtype)
    target = check_target_loss(law, target_loss, dtype, log_d_max, log_n_max,
                               capped=max_tokens is not None or max_params is not None)
    log_c = log_budget_for_loss(law, jnp.log(target), k, log_d_max, log_n_max)
    result = allocate_law(law, jnp.exp(log_c), k, log_d_max, log_n_max)
    budgets = np.ravel(np.asarray(jnp.exp(log_c)))
    # a loss that high is the law's only below N = D = 1
    check_one_run_or_more(budgets, k, f"target loss {float(np.ravel(np.asarray(target))[np.argmin(budgets)]):.6g}: its "
                          "budget", UnreachableLossError,
                          ": give a target between the irreducible loss and the losses of real models")
    reached = _reached(result.loss, target)
    if not bool(jnp.all(reached)):
        within = float(np.nanmax(budgets)) if np.isfinite(budgets).any() else math.nan
        raise UnreachableLossError(
            f"target loss {float(np.min(np.asarray(target))):.6g} could not be reached by this law"
            + (f" within {within:.3g} FLOPs" if math.isfinite(within) else " at any budget its solver could find")
        )
    return concrete_to_numpy(result._replace(converged=result.converged & reached))


def _reached(loss, target):
    """Whether the loss of the budget found is the target loss, to the solver's precision."""
    return jnp.abs(jnp.log(loss) - jnp.log(target)) <= 1e3 * jnp.finfo(target.dtype).eps


@float64_scope
def compute_for_loss_draws(thetas, target_loss, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, max_tokens=None,
                           max_params=None, family=CHINCHILLA, covariates=None):
    """``compute_for_loss`` for every draw's law at once (one vmapped program over draws), where a draw that
    cannot reach a target is data, not an error.

    ``thetas`` (R, P): fitting-space draws of ``family`` (its ``law_from_theta``; ``covariates`` its covariates,
    one number each for every draw, defaults otherwise). ``target_loss``: targets in nats, (m,) or a scalar. k and the caps as in
    ``compute_for_loss`` (checked once, ``BudgetError`` naming a bad one; a target must be positive).

    Returns an ``Allocation`` whose fields are (R, m): for a reachable (draw, target) what ``compute_for_loss``
    gives that draw's law (to ~1e-14 relative); for one at or below the draw's floor (E, or the caps' floor), or not reached,
    ``compute``, ``n_params`` and ``n_tokens`` +inf ("needs unbounded compute"), ``loss`` and ``tokens_per_param``
    NaN, ``converged`` False and ``bound`` 0.
    """
    thetas = np.asarray(thetas, np.float64)
    k, log_d_max, log_n_max = _check_caps(flops_per_param_token, max_tokens, max_params, thetas.dtype)
    target = jnp.atleast_1d(check_positive_values(target_loss, thetas.dtype, "target_loss"))
    if thetas.shape[0] == 0:
        shape = (0,) + target.shape
        return Allocation(*(np.zeros(shape) for _ in range(5)), np.zeros(shape, bool), np.zeros(shape, int))
    # padded to a power of two of draws and of targets (repeating the first), so that a new bootstrap's count of
    # converged draws reuses the compiled program instead of compiling another; the lanes are independent
    n_draws, n_targets = thetas.shape[0], target.shape[0]
    thetas = _pad(thetas, n_draws)
    # the draws' laws are built in NumPy, as compute_for_loss gets a law from law_from_theta (XLA's exp differs
    # from NumPy's in the last digit); a covariate is one value for every draw. A draw's answer then matches
    # compute_for_loss on its law to ~1e-14 relative (bit for bit in most lanes: XLA's vectorised arithmetic over
    # many lanes rounds a few differently, and the Newton loop stops within 32 ulps of log C either way)
    laws = family.law_from_theta(thetas, covariates)
    laws = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(jnp.asarray(x, thetas.dtype), thetas.shape[:1]), laws)
    padded = jnp.asarray(_pad(np.asarray(target), n_targets))
    result, reached = _for_loss_draws(laws, padded, jnp.log(padded), k, log_d_max, log_n_max)
    result, reached = concrete_to_numpy(result), np.asarray(reached)
    result = Allocation(*(np.asarray(x)[:n_draws, :n_targets] for x in result))
    reached = reached[:n_draws, :n_targets]
    unbounded = lambda x: np.where(reached, x, np.inf)  # noqa: E731
    return Allocation(unbounded(result.compute), unbounded(result.n_params), unbounded(result.n_tokens),
                      np.where(reached, result.loss, np.nan), np.where(reached, result.tokens_per_param, np.nan),
                      result.converged & reached, np.where(reached, result.bound, 0))


def _pad(rows, n):
    """``rows`` (n, ...) followed by copies of its first row up to the next power of two (at least 8)."""
    size = max(8, 1 << max(n - 1, 0).bit_length())
    return np.concatenate([rows, np.repeat(rows[:1], size - n, axis=0)])


@jax.jit
def _for_loss_draws(laws, target, log_target, k, log_d_max, log_n_max):
    """The compiled core of ``compute_for_loss_draws``: ``(Allocation, reached)`` per law (a leading axis on every
    coefficient) and target."""

    def one_law(law):
        floor = _loss_floor(law, log_d_max, log_n_max)
        possible = jnp.ones(target.shape, bool) if floor is None else target > floor
        # an unreachable target would keep every lane's Newton loop running to its cap: solve for a reachable
        # stand-in (the loss twice the floor) and mask the answer
        solved = log_target if floor is None else jnp.where(possible, log_target, jnp.log(2 * floor))
        log_c = log_budget_for_loss(law, solved, k, log_d_max, log_n_max)
        # the barrier keeps XLA from folding log(exp(log C)) inside allocate_law (compute_for_loss hands it C),
        # which would move the answer by an ulp or more
        result = allocate_law(law, jax.lax.optimization_barrier(jnp.exp(log_c)), k, log_d_max, log_n_max)
        return result, possible & _reached(result.loss, target)

    return jax.vmap(one_law)(laws)


@jax.jit
def log_budget_for_loss(law, log_target, k, log_d_max, log_n_max):
    """log C of the smallest budget whose optimal log-loss is ``log_target`` (any shape), k a number or a
    ``FlopsPerToken``; inputs checked as in ``compute_for_loss``. Not differentiable (a plain Newton loop)."""
    model = isinstance(k, FlopsPerToken)

    def log_loss_at(t):  # t = log C
        if model:
            u, _, _ = _allocate_one(law, t, k.log_n_for_training(t - log_d_max), log_n_max, k)
            return law.log_loss(u, t - k.log_training(u))
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
            return (i < 200) & ~(jnp.abs(step) <= solver_tolerance(t))

        t0 = jnp.asarray(jnp.log(1e21), log_target.dtype)
        return jax.lax.while_loop(cond, body, (t0, jnp.asarray(jnp.inf, t0.dtype), 0))[0]

    return jax.vmap(solve)(log_target.ravel()).reshape(log_target.shape)
