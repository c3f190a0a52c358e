"""Decisions under the law's uncertainty: which N to train at a budget when the law is known only through bootstrap
draws, and what any allocation wastes under each draw (its deadweight compute).

At a budget C the loss of draw r along the budget line is ``L_r(u) = L_r(N, D)`` with ``u = log N`` and
``D = C / (k N)`` (or ``C / f(N)`` with a ``FlopsPerToken`` model f). A *rule* picks u:

- ``plug-in``: the optimum of the best fit (``compute_optimal`` of the point law), what every tool reports;
- ``expected-loss``: the minimiser of the mean over draws of ``L_r(u)``;
- ``quantile:Q``: the minimiser of the Q-quantile over draws of ``L_r(u)`` (NumPy's linear interpolation between
  order statistics; ``quantile:0.9`` guards against the bad tail, ``quantile:1`` is the worst draw).

Each ``L_r`` is log-convex in u (``log L`` is a log-sum-exp of affine functions for the shipped laws), hence
unimodal, so both minimisers lie between the smallest and the largest of the draws' own optima (left of every
draw's optimum every ``L_r`` falls, right of every one each rises, and so do their mean and their order
statistics). The solve scans that bracket on a fixed grid (the quantile of several unimodal curves need not be
unimodal), then closes the grid cell around the best point with the allocation module's safeguarded Newton in
log N (``bracketed_minimise``: bounded iterations, no line search, so it runs under ``vmap``: see PITFALLS).
The answer's derivatives with respect to every draw's coefficients and the budget come from the implicit function
theorem at the optimum (``jax.lax.custom_root``), as for ``compute_optimal``, not from unrolling the iterations.

**Deadweight compute** of an allocation ``(N_a, C / (k N_a))``, per draw r: ``1 - C'_r / C``, where ``C'_r`` is the
least compute at which draw r's own compute-optimal allocation reaches the loss ``L_r(N_a)`` that the allocation
reaches at C. It is the share of the budget the allocation throws away if draw r is the truth: 0 for the draw's own
optimum, positive for any other N. The optimal loss curve of the Chinchilla law under ``C = k N D`` has a closed
form, ``L*(C) = E + K (C / k)^(-gamma)`` with ``gamma = alpha beta / (alpha + beta)``, so
``C'_r / C = (1 + (L_r(N_a) - L*_r(C)) / (L*_r(C) - E))^(-1 / gamma)``; for other laws and FLOPs models ``C'_r`` comes
from the monotone 1-D solve of ``compute_for_loss`` (Newton on log C). The **loss gap** of an allocation is the mean
over draws of ``L_r(N_a) - L*_r(C)`` in nats.

**Caps and unique data.** Caps on N (``max_params``) and D (``max_tokens``: D = C / (k N) falls as N grows, so it
bounds log N from below) restrict u to an interval. Each ``L_r`` stays unimodal there, so the capped answer lies
between the draws' *capped* optima: the scan is clipped to the interval, and an answer on a cap where the rule's
statistic still falls outwards is the cap. The plug-in allocation and every draw's own optimum are the capped ones,
and ``C'_r`` is the least compute at which the draw's capped optimum reaches the loss (the solve, not the closed
form). With ``unique_tokens`` U, draws of a data-constrained law (Muennighoff et al. 2023) are evaluated at U: every
``L_r`` is the law's loss at U, and so are the draws' own optima and the deadweight's ``C'_r``.
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import (BudgetError, OptimalError, check_confidence, check_count, check_mapping, check_positive,
                      float_array)
from ..laws import Chinchilla
from ..laws import family as as_family
from ..laws.chinchilla import CHINCHILLA
from .._util.precision import float64_scope
from .._util.results import Issue, Judged, Status
from .._util.stats import percentile_bounds
from .._util.text import format_table
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from .allocate import (_on_budget_line, allocate_law, bracketed_minimise, check_budgets, flag_as_float,
                       log_budget_for_loss, solver_tolerance)
from .flops import FlopsPerToken

RULES = ("plug-in", "expected-loss", "quantile:Q")
RULE_OF_THUMB_TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022's compute-optimal ratio, the field's rule of thumb
ALLOCATIONS = ("plug-in", "chosen", "rule-of-thumb", "given")  # the allocations a Decision reports, in order
_GRID = 64  # points scanned across the draws' optima before the bracketed Newton closes the best cell
_MARGIN = 0.05  # the bracket reaches 5% in N beyond the smallest and largest of the draws' optima
_CURVE_POINTS = 121  # points of the loss curves a figure draws
_CURVE_DRAWS = 40  # draws whose curves a figure draws
_FEW_DRAWS = 50  # below this many draws the mean and the tails rest on few points: said in a warning


def parse_rule(rule) -> tuple:
    """``(kind, q)`` of a rule string: ``("plug-in", None)``, ``("expected-loss", None)`` or ``("quantile", Q)``
    with ``0 <= Q <= 1``. Raises ``OptimalError`` naming the rules for anything else."""
    if isinstance(rule, str):
        text = rule.strip().lower()
        if text in ("plug-in", "expected-loss"):
            return text, None
        if text.startswith("quantile:"):
            value = text.split(":", 1)[1].strip()
            try:
                q = float(value)
            except ValueError:
                q = math.nan
            if not 0 <= q <= 1:  # NaN fails too
                raise OptimalError(f"the quantile of rule {rule!r} must be a number in [0, 1] (e.g. quantile:0.9)")
            return "quantile", q
    raise OptimalError(f"unknown decision rule {rule!r}: give plug-in, expected-loss or quantile:Q with Q in [0, 1]")


def _statistic(kind, q, mask):
    """The function of the draws' losses (R,) that a rule minimises; ``mask`` (R,) marks the real draws (the rest
    pad the draws to a compiled size). The quantile is NumPy's linear one over the real draws."""
    n = jnp.sum(mask)
    if kind == "expected-loss":
        return lambda values: jnp.sum(jnp.where(mask, values, 0.0)) / n

    def quantile(values):
        ordered = jnp.sort(jnp.where(mask, values, jnp.inf))
        position = q * (n - 1)
        i = jnp.clip(jnp.floor(position).astype(jnp.int32), 0, n - 1)
        upper = jnp.minimum(i + 1, n - 1)
        return ordered[i] + (position - i) * (ordered[upper] - ordered[i])

    return quantile


def _line_inputs(log_compute, k):
    """``(log_c, line_flops)`` for ``_on_budget_line``: log(C / k) and None for a number k, log C and the model for
    a ``FlopsPerToken``."""
    if isinstance(k, FlopsPerToken):
        return log_compute, k
    return log_compute - jnp.log(k), None


def _log_tokens(u, log_compute, k):
    """log D on the budget line at u = log N."""
    if isinstance(k, FlopsPerToken):
        return log_compute - k.log_training(u)
    return log_compute - jnp.log(k) - u


def _draw_losses(laws, log_compute, k, u):
    """Every draw's loss (nats) at log N ``u`` on the budget line: ``(R,)`` for a scalar u (laws: a law pytree whose
    leaves have a leading axis of R draws)."""
    log_c, line_flops = _line_inputs(log_compute, k)
    return jnp.exp(jax.vmap(lambda law: _on_budget_line(law, log_c, line_flops)(u))(laws))


def _cap_bounds(log_compute, k, log_d_max, log_n_max):
    """``(lo, hi)``: the log N range the caps allow on the budget line of ``log_compute`` (any shape): D <= max_tokens
    sets lo (D = C / (k N) falls as N grows), N <= max_params sets hi; a missing cap (log inf) is an open end."""
    if isinstance(k, FlopsPerToken):
        lo = k.log_n_for_training(log_compute - jnp.where(jnp.isfinite(log_d_max), log_d_max, 0.0))
    else:
        lo = log_compute - jnp.log(k) - log_d_max
    lo = jnp.where(jnp.isfinite(log_d_max), lo, -jnp.inf)
    return lo, jnp.broadcast_to(log_n_max, jnp.shape(lo))


def _choose_one(laws, mask, log_compute, k, own_u, kind, q, cap_lo=-jnp.inf, cap_hi=jnp.inf):
    """The rule's log N at one budget (``(u, converged)``), differentiable with respect to ``laws`` and the budget.

    ``own_u`` (R,): the draws' own (capped) optimal log N, which bracket the answer (see the module docstring);
    ``cap_lo``, ``cap_hi``: the log N range the caps allow (``_cap_bounds``). Each draw's loss is unimodal on the
    range, so the capped answer lies between the draws' capped optima too; the scan is clipped to the range, and an
    answer on a cap whose statistic still falls outwards is the cap itself (converged; its derivative is the
    cap's, zero for max_params, the budget's for max_tokens)."""
    statistic = _statistic(kind, q, mask)

    def objective(u):
        return statistic(_draw_losses(laws, log_compute, k, u))

    own_u = jax.lax.stop_gradient(own_u)
    real = mask & jnp.isfinite(own_u)  # a draw whose own solve failed does not set the bracket
    lo = jnp.clip(jnp.min(jnp.where(real, own_u, jnp.inf)) - _MARGIN, cap_lo, cap_hi)
    hi = jnp.clip(jnp.max(jnp.where(real, own_u, -jnp.inf)) + _MARGIN, cap_lo, cap_hi)
    grid = jnp.linspace(lo, hi, _GRID)
    values = jax.vmap(objective)(grid)
    best = jnp.argmin(jnp.where(jnp.isfinite(values), values, jnp.inf))
    cell_lo, cell_hi = grid[jnp.maximum(best - 1, 0)], grid[jnp.minimum(best + 1, _GRID - 1)]

    def solve(g, u0):
        return flag_as_float(bracketed_minimise(objective, u0, cell_lo, cell_hi))

    def tangent_solve(g, y):
        return y / g(jnp.ones_like(y))

    u, flag = jax.lax.custom_root(jax.grad(objective), jax.lax.stop_gradient(grid[best]), solve, tangent_solve,
                                  has_aux=True)
    found = jax.lax.stop_gradient(u)
    slope = jax.grad(objective)(found)
    tol = 4 * solver_tolerance(found)
    at_lo = (found <= cap_lo + tol) & (slope >= 0)  # never true without a cap (cap_lo = -inf)
    at_hi = (found >= cap_hi - tol) & (slope <= 0)
    u = jnp.where(at_lo, cap_lo, jnp.where(at_hi, cap_hi, u))
    return u, (flag > 0.5) | at_lo | at_hi


def _choose(laws, mask, compute, k, own_u, kind, q, log_d_max=jnp.inf, log_n_max=jnp.inf):
    """The rule's log N and converged flag at every budget (``compute`` (m,), ``own_u`` (R, m)) within the caps."""
    def one(c, u):
        cap_lo, cap_hi = _cap_bounds(jnp.log(c), k, log_d_max, log_n_max)
        return _choose_one(laws, mask, jnp.log(c), k, u, kind, q, cap_lo, cap_hi)

    return jax.vmap(one, in_axes=(0, 1))(compute, own_u)


def _laws(thetas, family, covariates=None):
    """The draws' laws as one pytree with a leading axis of draws."""
    return jax.vmap(lambda theta: family.law_from_theta(theta, covariates))(thetas)


def _own_optima(laws, compute, k, log_d_max=jnp.inf, log_n_max=jnp.inf):
    """Every draw's own compute-optimal allocation within the caps (an ``Allocation`` of (R, m) fields)."""
    log_d_max = jnp.asarray(log_d_max, compute.dtype)
    log_n_max = jnp.asarray(log_n_max, compute.dtype)
    return jax.vmap(lambda law: allocate_law(law, compute, k, log_d_max, log_n_max))(laws)


def _rule_of_thumb_log_n(log_compute, k, tokens_per_param):
    """log N of the allocation with ``D = tokens_per_param * N`` on the budget line: for a number k
    ``N = sqrt(C / (k r))``; for a model, Newton on ``log f(N) + log N + log r = log C`` (convex and increasing in
    log N, started right of the root where ``f(N) >= k_lin N``, so it descends monotonically onto it)."""
    log_r = jnp.log(tokens_per_param)
    if not isinstance(k, FlopsPerToken):
        return 0.5 * (log_compute - jnp.log(k) - log_r)
    target = log_compute - log_r
    fn = lambda u: k.log_training(u) + u  # noqa: E731

    def body(_, u):
        value, slope = jax.jvp(fn, (u,), (jnp.ones_like(u),))
        return u - (value - target) / slope

    return jax.lax.fori_loop(0, 60, body, 0.5 * (target - jnp.log(k.per_param())))


def _closed_form_deadweight(laws, loss, own_loss):
    """``1 - C'/C`` per draw for Chinchilla laws under ``C = k N D`` (closed form; see the module docstring):
    ``loss`` (R, A, m) the allocations' and ``own_loss`` (R, 1, m) the draw's own optimal loss at C."""
    gamma = (laws.alpha * laws.beta / (laws.alpha + laws.beta))[:, None, None]
    excess = own_loss - laws.E[:, None, None]
    return -jnp.expm1(-jnp.log1p((loss - own_loss) / excess) / gamma)


def _solved_deadweight(laws, compute, k, loss, caps=None):
    """``1 - C'/C`` per draw from the monotone 1-D solve of the least compute that reaches ``loss`` (R, A, m), the
    draw's optimum taken within ``caps`` ``(log_d_max, log_n_max)`` (None: uncapped)."""
    inf = jnp.asarray(jnp.inf, compute.dtype)
    log_d_max, log_n_max = (inf, inf) if caps is None else (jnp.asarray(c, compute.dtype) for c in caps)
    log_c = jax.vmap(lambda law, target: log_budget_for_loss(law, jnp.log(target), k, log_d_max, log_n_max))(laws,
                                                                                                               loss)
    return -jnp.expm1(log_c - jnp.log(compute))


def deadweight(laws, compute, k, loss, own_loss, caps=None):
    """Deadweight compute ``1 - C'/C`` per draw (see the module docstring).

    laws: the draws' laws (a pytree with a leading axis of R); compute (m,) FLOPs; k a number or ``FlopsPerToken``;
    loss (R, A, m): each draw's loss at A allocations; own_loss (R, m): each draw's own optimal loss at C (within
    the caps); caps: ``(log max_tokens, log max_params)`` or None. With caps, C' is the least compute at which the
    draw's own *capped* optimum reaches the loss. An allocation whose loss is not above the draw's own optimum (to
    rounding) has deadweight 0. Returns (R, A, m). The Chinchilla law under a number k and no caps takes the closed
    form, every other case the solve.
    """
    own = own_loss[:, None, :]
    if caps is None and type(laws) is Chinchilla and not isinstance(k, FlopsPerToken):
        waste = _closed_form_deadweight(laws, loss, own)
    else:
        waste = _solved_deadweight(laws, compute, k, jnp.maximum(loss, own), caps)
    return jnp.where(loss > own, jnp.clip(waste, 0.0, 1.0), 0.0)


def _losses_at(laws, compute, k, log_n):
    """Every draw's loss at every allocation: ``log_n`` (A, m) -> (R, A, m)."""
    per_budget = jax.vmap(lambda c, u: _draw_losses(laws, jnp.log(c), k, u), in_axes=(0, 0), out_axes=1)
    return jax.vmap(lambda u: per_budget(compute, u), out_axes=1)(log_n)


def _curves(laws, compute, k, log_n):
    """Every draw's loss on a grid of log N per budget: ``log_n`` (m, G) -> (R, m, G)."""
    per_point = jax.vmap(lambda c, u: _draw_losses(laws, jnp.log(c), k, u), in_axes=(None, 0), out_axes=1)
    return jax.vmap(per_point, in_axes=(0, 0), out_axes=1)(compute, log_n)


@functools.partial(jax.jit, static_argnames=("family", "kind"))
def _chosen_log_n(thetas, mask, compute, k, q, covariates, family, kind, log_d_max=jnp.inf, log_n_max=jnp.inf):
    """The rule's log N (m,) and converged flags from padded draws (``mask`` marks the real ones), within the caps."""
    laws = _laws(thetas, family, covariates)
    own_u = jnp.log(_own_optima(laws, compute, k, log_d_max, log_n_max).n_params)
    return _choose(laws, mask, compute, k, own_u, kind, q, log_d_max, log_n_max)


@functools.partial(jax.jit, static_argnames=("family", "kind", "capped"))
def _decide_program(thetas, mask, point, compute, k, q, extra_log_n, covariates, family, kind, log_d_max=jnp.inf,
                    log_n_max=jnp.inf, capped=False):
    """Everything ``decide`` computes, as one compiled program over padded draws: the allocations' log N (A, m),
    the chosen one's converged flags (m,), the draws' own optima (R, m), every draw's loss and deadweight at every
    allocation (R, A, m), and loss curves on a grid of log N (m, G) -> (R, m, G). ``extra_log_n`` (2, m): the rule
    of thumb's and the given log N (NaN: not asked for). ``log_d_max``, ``log_n_max``: the caps' logs (inf: none),
    which bound the plug-in, the chosen and every draw's own optimum; ``capped``: whether any is finite."""
    laws = _laws(thetas, family, covariates)
    log_d_max = jnp.asarray(log_d_max, compute.dtype)
    log_n_max = jnp.asarray(log_n_max, compute.dtype)
    plug = allocate_law(family.law_from_theta(point, covariates), compute, k, log_d_max, log_n_max)
    own = _own_optima(laws, compute, k, log_d_max, log_n_max)
    own_u = jnp.log(own.n_params)
    plug_u = jnp.log(plug.n_params)
    if kind == "plug-in":
        chosen_u, converged = plug_u, plug.converged
    else:
        chosen_u, converged = _choose(laws, mask, compute, k, own_u, kind, q, log_d_max, log_n_max)
    log_n = jnp.concatenate([jnp.stack([plug_u, chosen_u]), extra_log_n])
    present = jnp.isfinite(log_n)
    filled = jnp.where(present, log_n, chosen_u[None, :])  # absent allocations computed at a stand-in, then NaN
    loss = _losses_at(laws, compute, k, filled)
    waste = deadweight(laws, compute, k, loss, own.loss, (log_d_max, log_n_max) if capped else None)
    real = mask[:, None] & jnp.isfinite(own_u)
    lo = jnp.minimum(filled.min(axis=0), jnp.where(real, own_u, jnp.inf).min(axis=0)) - jnp.log(3.0)
    hi = jnp.maximum(filled.max(axis=0), jnp.where(real, own_u, -jnp.inf).max(axis=0)) + jnp.log(3.0)
    grid = jnp.linspace(lo, hi, _CURVE_POINTS, axis=1)
    return (log_n, converged, own, jnp.where(present[None], loss, jnp.nan), jnp.where(present[None], waste, jnp.nan),
            grid, _curves(laws, compute, k, grid))


def _pad(thetas):
    """``(padded, mask)``: the draws followed by copies of the first up to the next power of two (at least 8), so
    that bootstraps with different counts of converged draws share one compiled program."""
    n = thetas.shape[0]
    size = max(8, 1 << max(n - 1, 0).bit_length())
    padded = np.concatenate([thetas, np.repeat(thetas[:1], size - n, axis=0)])
    return padded, np.arange(size) < n


def _as_flops(k):
    return k if isinstance(k, FlopsPerToken) else jnp.asarray(k, jnp.float64)


@float64_scope
def decision_log_params(thetas, compute, rule="expected-loss", *, family=CHINCHILLA,
                        flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, point=None, covariates=None,
                        max_tokens=None, max_params=None, unique_tokens=None):
    """log N (natural log of parameters) that ``rule`` chooses at each budget, as a JAX array: differentiable with
    ``jax.grad`` / ``jax.jacobian`` with respect to the draws ``thetas`` (R, P), ``point`` and ``compute`` (FLOPs,
    (m,) or a scalar), by implicit differentiation at the optimum.

    ``thetas``: fitting-space draws of ``family`` (a ``BootstrapResult``'s ``good``); ``point``: the best fit's theta,
    needed by the ``plug-in`` rule only; ``flops_per_param_token``: k or a ``FlopsPerToken``; ``max_tokens``,
    ``max_params``: caps on D and N (as in ``decide``); ``unique_tokens``: U for a data-constrained family. Inputs
    are not checked here (``decide`` checks them); use it under ``jax.grad``.
    """
    kind, q = parse_rule(rule)
    compute = jnp.atleast_1d(jnp.asarray(compute, jnp.float64))
    k = _as_flops(flops_per_param_token)
    covariates = _with_unique(family, covariates, unique_tokens)
    log_d_max = jnp.asarray(jnp.inf if max_tokens is None else jnp.log(max_tokens), jnp.float64)
    log_n_max = jnp.asarray(jnp.inf if max_params is None else jnp.log(max_params), jnp.float64)
    if kind == "plug-in":
        if point is None:
            raise OptimalError("the plug-in rule needs the best fit's coefficients: give point=")
        law = family.law_from_theta(jnp.asarray(point, jnp.float64), covariates)
        return jnp.log(allocate_law(law, compute, k, log_d_max, log_n_max).n_params)
    thetas = jnp.asarray(thetas, jnp.float64)
    n = thetas.shape[0]
    size = max(8, 1 << max(n - 1, 0).bit_length())
    padded = jnp.concatenate([thetas, jnp.repeat(thetas[:1], size - n, axis=0)])
    mask = jnp.arange(size) < n
    return _chosen_log_n(padded, mask, compute, k, jnp.asarray(0.0 if q is None else q, jnp.float64), covariates,
                         family, kind, log_d_max, log_n_max)[0]


def _with_unique(family, covariates, unique_tokens):
    """The covariates with U = ``unique_tokens`` for a family that reads U (a data-constrained law); None keeps
    them. Raises ``OptimalError`` for a family without unique tokens."""
    check_mapping(covariates, "covariates", "{'U': 1e12}")  # a str was a TypeError from inside jit
    unknown = [name for name in (covariates or {}) if name not in family.covariates]
    if unknown:
        raise OptimalError(f"the {family.name} law reads no covariate {', '.join(map(repr, unknown))}"
                           + (f"; it reads {', '.join(family.covariates)}" if family.covariates else "; it reads none"))
    if unique_tokens is None:
        return covariates
    if "U" not in family.covariates:
        raise OptimalError(f"unique_tokens needs draws of a data-constrained law (fit with --law data-constrained); "
                           f"the {family.name} law has no unique-data term")
    return dict(covariates or {}, U=unique_tokens)


@dataclasses.dataclass(frozen=True)
class Decision(Judged):
    """The allocation a rule chooses at each budget from bootstrap draws, and the waste of each allocation.

    Fields (m budgets, R draws, A = 4 allocations in ``ALLOCATIONS`` order: plug-in, chosen, rule-of-thumb, given;
    an allocation that was not asked for, e.g. ``given`` without ``params``, is NaN throughout):
      rule: the rule string (``plug-in``, ``expected-loss``, ``quantile:Q``); confidence: the interval level.
      compute (m,): budgets in FLOPs; flops_per_param_token: k (a float) or a ``FlopsPerToken``.
      n_params, n_tokens (A, m): N (parameters) and D (tokens) of each allocation.
      converged (m,): whether the chosen allocation's solve converged.
      draw_loss (R, A, m): each draw's loss (nats) at each allocation.
      own_params, own_loss, own_converged (R, m): each draw's own optimal N, its loss (nats), its solve's flag.
      deadweight (R, A, m): each draw's deadweight compute of each allocation, a share of C in [0, 1).
      tokens_per_param_rule: the rule of thumb's D / N (None: not reported).
      curve_params (m, G), curve_loss (S, m, G), curve_mean (m, G), curve_quantile (m, G) or None: loss against
        N at fixed C for S sampled draws, the mean over all draws and the rule's quantile (for figures);
        curve_draws (S,): the sampled draws' indices.
      max_tokens, max_params: the caps on D and N that bound every allocation and every draw's own optimum (None:
        none); unique_tokens: U of a data-constrained law's answer (None: not given, the law's own).
    """

    rule: str
    confidence: float
    compute: np.ndarray
    flops_per_param_token: object
    n_params: np.ndarray
    n_tokens: np.ndarray
    converged: np.ndarray
    draw_loss: np.ndarray
    own_params: np.ndarray
    own_loss: np.ndarray
    own_converged: np.ndarray
    deadweight: np.ndarray
    tokens_per_param_rule: float | None
    curve_params: np.ndarray
    curve_loss: np.ndarray
    curve_mean: np.ndarray
    curve_quantile: np.ndarray | None
    curve_draws: np.ndarray
    max_tokens: float | None = None
    max_params: float | None = None
    unique_tokens: float | None = None

    @property
    def n_draws(self) -> int:
        return int(self.draw_loss.shape[0])

    @property
    def chosen_params(self):
        """N (parameters) the rule chose, (m,)."""
        return self.n_params[ALLOCATIONS.index("chosen")]

    @property
    def chosen_tokens(self):
        """D (tokens) the rule chose, (m,)."""
        return self.n_tokens[ALLOCATIONS.index("chosen")]

    @property
    def loss_gap(self):
        """(R, A, m): each draw's loss at each allocation minus its own optimal loss at C (nats, >= 0)."""
        return self.draw_loss - self.own_loss[:, None, :]

    @property
    def status(self) -> Status:
        chosen = np.ravel(np.asarray(self.converged))
        if chosen.all() and np.asarray(self.own_converged).all():
            return Status.SUCCESS
        return Status.PARTIAL if chosen.any() else Status.FAILED

    @property
    def warnings(self) -> tuple:
        found = []
        if not np.asarray(self.converged).all():
            found.append(Issue("not-converged", f"the {self.rule} solve did not converge at "
                                                f"{int((~np.asarray(self.converged)).sum())} of {self.compute.size} "
                                                "budgets"))
        own = np.asarray(self.own_converged)
        if not own.all():
            found.append(Issue("draws-not-converged", f"{int((~own).sum())} of {own.size} draw allocations did not "
                                                      "converge; they stay in the averages"))
        if self.n_draws < _FEW_DRAWS:
            found.append(Issue("few-draws", f"only {self.n_draws} bootstrap draws: the expected loss, its quantiles "
                                            "and the deadweight interval rest on few points (bootstrap 200 or more)"))
        return tuple(found)

    @property
    def notes(self) -> tuple:
        k = self.flops_per_param_token
        k_text = f"k = {k:g} FLOPs per parameter per token" if isinstance(k, float) else "FLOPs per token from a model"
        found = [
            Issue("rule", f"rule {self.rule}: " + _RULE_TEXT[parse_rule(self.rule)[0]].format(q=self.rule[9:])),
            Issue("deadweight", "deadweight compute: per draw, 1 - C'/C, C' the least compute at which the draw's "
                                "own optimum reaches the loss the allocation reaches at C"
                                + (" (the draw's optimum within the caps)" if self._caps_text() else "")),
            Issue("budget-line", f"D = C / (k N), {k_text}; {self.n_draws} bootstrap draws"),
        ]
        if self._caps_text():
            found.append(Issue("caps", f"{self._caps_text()} (given) bound the candidate N, the plug-in allocation "
                                       "and every draw's own optimum"))
            for name in self._present():
                at = self._at_cap(name)
                if at:
                    found.append(Issue("at-cap", f"the {name} allocation sits at {at} at "
                                                 f"{len(self._capped_budgets(name))} of {self.compute.size} budgets"))
        if self.unique_tokens is not None:
            found.append(Issue("unique-data", f"unique data: U = {self.unique_tokens:.4g} tokens (given); each draw's "
                                              "loss is the data-constrained law's at U (tokens beyond U repeat it)"))
        return tuple(found)

    def _caps_text(self):
        parts = ([f"max_tokens = {self.max_tokens:.4g}"] if self.max_tokens is not None else []) + \
            ([f"max_params = {self.max_params:.4g}"] if self.max_params is not None else [])
        return " and ".join(parts)

    def _capped_budgets(self, name):
        """Budgets (indices) where allocation ``name`` sits on a cap (to 1e-9 relative)."""
        i = ALLOCATIONS.index(name)
        n, d = self.n_params[i], self.n_tokens[i]
        hit = np.zeros(n.shape, bool)
        if self.max_params is not None:
            hit |= n >= self.max_params * (1 - 1e-9)
        if self.max_tokens is not None:
            hit |= d >= self.max_tokens * (1 - 1e-9)
        return np.flatnonzero(hit)

    def _at_cap(self, name):
        """Which cap(s) allocation ``name`` reaches at some budget, in words ("" for none)."""
        i, at = ALLOCATIONS.index(name), []
        if self.max_params is not None and np.any(self.n_params[i] >= self.max_params * (1 - 1e-9)):
            at.append("max_params")
        if self.max_tokens is not None and np.any(self.n_tokens[i] >= self.max_tokens * (1 - 1e-9)):
            at.append("max_tokens")
        return " and ".join(at)

    def _present(self):
        return [name for i, name in enumerate(ALLOCATIONS) if np.isfinite(self.n_params[i]).all()]

    def allocation(self, name, budget=0) -> dict:
        """One allocation at one budget (index): N, D, tokens per parameter, the expected loss over draws, the loss
        gap (nats) and the deadweight compute's median, mean and ``confidence`` interval over draws."""
        i = ALLOCATIONS.index(name)
        waste = self.deadweight[:, i, budget]
        lo, hi = percentile_bounds(waste, self.confidence)
        n, d = float(self.n_params[i, budget]), float(self.n_tokens[i, budget])
        found = {"N": n, "D": d, "tokens_per_param": d / n,
                 "expected_loss": float(np.mean(self.draw_loss[:, i, budget])),
                 "loss_gap_nats": float(np.mean(self.loss_gap[:, i, budget])),
                 "deadweight": {"median": float(np.median(waste)), "mean": float(np.mean(waste)), "lo": float(lo),
                                "hi": float(hi)}}
        if self.max_tokens is not None or self.max_params is not None:
            found["at_cap"] = bool(budget in self._capped_budgets(name))
        if self.unique_tokens is not None:
            found["epochs"] = d / self.unique_tokens
        return found

    def to_dict(self) -> dict:
        """``{"status", "rule", "confidence", "n_draws", "flops_per_param_token" (k, or None with a FLOPs model),
        "flops_model" (its fields, or None), "tokens_per_param_rule", "max_tokens", "max_params", "unique_tokens"
        (None: not given), "budgets": [{"compute", "converged", "allocations": {name: allocation(name)}}], "warnings",
        "notes"}`` (strict JSON); with caps each allocation adds ``at_cap``, with U ``epochs`` (D / U)."""
        names, k = self._present(), self.flops_per_param_token
        return {
            "status": self.status.label, "rule": self.rule, "confidence": self.confidence, "n_draws": self.n_draws,
            "flops_per_param_token": k if isinstance(k, float) else None,
            "flops_model": None if isinstance(k, float) else {f: float(v) for f, v in k._asdict().items()},
            "tokens_per_param_rule": self.tokens_per_param_rule,
            "max_tokens": self.max_tokens, "max_params": self.max_params, "unique_tokens": self.unique_tokens,
            "budgets": [{"compute": float(c), "converged": bool(self.converged[j]),
                         "allocations": {name: self.allocation(name, j) for name in names}}
                        for j, c in enumerate(self.compute)],
            "warnings": [w.to_dict() for w in self.warnings], "notes": [n.to_dict() for n in self.notes],
        }

    def summary(self) -> str:
        """Per budget: the chosen N and D, and a table of each allocation's deadweight compute and loss gap."""
        level = f"{100 * self.confidence:g}%"
        labels = {"plug-in": "plug-in (best fit)", "chosen": f"chosen ({self.rule})",
                  "rule-of-thumb": f"{self.tokens_per_param_rule:g} tokens/param" if self.tokens_per_param_rule
                  else "rule of thumb", "given": "given N"}
        blocks = []
        for j, c in enumerate(self.compute):
            chosen = self.allocation("chosen", j)
            rows = []
            for name in self._present():
                if name == "chosen" and self.rule == "plug-in":
                    continue
                a = self.allocation(name, j)
                w = a["deadweight"]
                rows.append([labels[name], f"{a['N']:.4g}", f"{a['D']:.4g}", f"{a['tokens_per_param']:.3g}",
                             f"{100 * w['median']:.3g}%", f"{100 * w['lo']:.3g}% to {100 * w['hi']:.3g}%",
                             f"{a['loss_gap_nats']:.3g}"])
            within = f" within {self._caps_text()}" if self._caps_text() else ""
            within += f" at U = {self.unique_tokens:.4g} unique tokens" if self.unique_tokens is not None else ""
            blocks.append(
                f"decision at {c:.4g} FLOPs{within}, rule {self.rule} over {self.n_draws} draws: N = {chosen['N']:.4g} "
                f"parameters, D = {chosen['D']:.4g} tokens ({chosen['tokens_per_param']:.3g} tokens/param)\n"
                + format_table(["allocation", "N", "D", "tokens/param", "deadweight (median)", f"{level} interval",
                                "loss gap (nats)"], rows))
        return "\n".join(blocks)


_RULE_TEXT = {
    "plug-in": "the best fit's own optimum",
    "expected-loss": "N minimising the mean over draws of each draw's loss at (N, C / (k N))",
    "quantile": "N minimising the {q}-quantile over draws of each draw's loss at (N, C / (k N))",
}


def _draws_of(draws, family, point, confidence):
    """``(thetas, family, point, confidence)`` from a ``BootstrapResult`` (duck-typed: ``good``, ``fit``,
    ``confidence``) or an (R, P) array of fitting-space draws."""
    if family is not None:
        family = as_family(family)  # a name ("chinchilla") was an AttributeError
    if hasattr(draws, "good") and hasattr(draws, "fit"):
        if draws.fit.group_labels is not None:
            raise OptimalError("a joint fit of several groups has one law per group: use .group(label) first")
        thetas = np.asarray(draws.good, np.float64)
        family = draws.fit.family if family is None else family
        point = draws.fit.theta if point is None else point
        confidence = draws.confidence if confidence is None else confidence
    else:
        try:
            thetas = np.asarray(draws, np.float64)
        except (TypeError, ValueError):
            raise OptimalError(f"draws must be a BootstrapResult or an (R, P) array of coefficient draws, not "
                               f"{type(draws).__name__}") from None
        family = CHINCHILLA if family is None else family
    if thetas.ndim != 2 or thetas.shape[1] != len(family.params):
        raise OptimalError(f"draws must be (R, {len(family.params)}) coefficients of the {family.name} family, got "
                           f"shape {thetas.shape}")
    if thetas.shape[0] < 2:
        raise OptimalError(f"a decision needs at least 2 converged bootstrap draws, got {thetas.shape[0]}: bootstrap "
                           "the fit (optimal.bootstrap, or optimal fit --bootstrap 200 --save FIT.json)")
    if not np.isfinite(thetas).all():
        raise OptimalError("draws hold non-finite coefficients")
    if point is not None:  # a str was NumPy's ValueError from inside the compiled program
        shown = f"the {len(family.params)} finite fitting-space coefficients of the {family.name} family"
        point = float_array(point, "point", OptimalError, shown, invalid=True)
        if point.shape != (len(family.params),) or not np.isfinite(point).all():
            raise OptimalError(f"point must be {shown}, got {point.ravel()[:8]!r:.80} of shape {point.shape}")
    confidence = check_confidence(0.95 if confidence is None else confidence)
    return thetas, family, point, confidence


@float64_scope
def decide(draws, compute, rule="expected-loss", *, flops_per_param_token=DEFAULT_FLOPS_PER_PARAM_TOKEN, flops=None,
           params=None, tokens_per_param=RULE_OF_THUMB_TOKENS_PER_PARAM, point=None, family=None, confidence=None,
           covariates=None, seed=0, max_tokens=None, max_params=None, unique_tokens=None) -> Decision:
    """Choose N (and D = C / (k N)) at each budget under the law's uncertainty, and report every allocation's
    deadweight compute and loss gap over the draws.

    Args:
      draws: a ``BootstrapResult`` (its converged draws, its fit's coefficients for the plug-in rule, its
        confidence), or an (R, P) array of fitting-space coefficient draws of ``family`` (then give ``point``).
      compute: budgets in FLOPs, a scalar or 1-D.
      rule: ``"plug-in"``, ``"expected-loss"`` or ``"quantile:Q"`` (0 <= Q <= 1); see the module docstring.
      flops_per_param_token: k in C = k N D, or a ``FlopsPerToken`` model (``flops=`` is the same by a shorter name).
      params: a user's N (parameters, a scalar or one per budget) to report beside the others ("given").
      tokens_per_param: the rule of thumb's D / N (default 20, Hoffmann et al. 2022); None leaves it out.
      point: the best fit's fitting-space coefficients (the plug-in allocation), for an array of draws.
      family: the draws' family (default: the bootstrap's, or Chinchilla for an array).
      confidence: the deadweight interval's level (default: the bootstrap's, or 0.95).
      covariates: the family's covariates for the laws (defaults otherwise, as ``allocate_draws``).
      seed: picks the draws whose loss curves the ``Decision`` keeps for a figure.
      max_tokens, max_params: caps on D (tokens) and N (parameters). The rule chooses N within them (D = C / (k N)
        at most max_tokens), the plug-in allocation and every draw's own optimum are the capped ones, the rule of
        thumb is moved onto the nearest cap when it leaves them, and a given N outside them is refused.
      unique_tokens: U, the unique tokens available, for draws of a data-constrained law (Muennighoff et al.
        2023): every draw's loss, own optimum and deadweight are the law's at U.

    Returns:
      A ``Decision``. ``decision_log_params`` gives the same chosen log N as a differentiable JAX function.

    Example:
      >>> import optimal
      >>> runs = optimal.synthetic_runs(n_runs=40)
      >>> boot = optimal.bootstrap(optimal.fit(runs.n_params, runs.n_tokens, runs.loss), n_resamples=20)
      >>> d = optimal.decide(boot, 1e22, "expected-loss")
      >>> d.allocation("chosen")["deadweight"]["median"] >= 0
      True
    """
    kind, q = parse_rule(rule)
    rule = kind if q is None else f"quantile:{q:g}"
    seed = check_count(seed, "seed")  # checked first: -1 was NumPy's ValueError after the whole computation
    if flops is not None:
        if not (isinstance(flops_per_param_token, (int, float)) and
                float(flops_per_param_token) == DEFAULT_FLOPS_PER_PARAM_TOKEN):
            raise BudgetError("give flops or flops_per_param_token, not both")
        flops_per_param_token = flops
    thetas, family, point, confidence = _draws_of(draws, family, point, confidence)
    if point is None:
        raise OptimalError("every decision reports the plug-in allocation: give point= (the best fit's coefficients) "
                           "or a BootstrapResult")
    if unique_tokens is not None:
        unique_tokens = check_positive(unique_tokens, "unique_tokens", BudgetError)
        if unique_tokens < 1:  # below one token, the epochs D / U overflow
            raise BudgetError(f"unique_tokens must be at least 1 (one token), got {unique_tokens:.3g}")
    covariates = _with_unique(family, covariates, unique_tokens)
    given = np.atleast_1d(float_array(compute, "compute", BudgetError, "positive finite numbers of FLOPs",
                                          invalid=True))
    compute, k, log_d_max, log_n_max = check_budgets(given, flops_per_param_token, max_tokens, max_params)
    if compute.ndim != 1:
        raise BudgetError(f"compute must be a scalar or 1-D, got shape {compute.shape}")
    m = compute.shape[0]
    log_compute = jnp.log(compute)
    cap_lo, cap_hi = (np.asarray(b) for b in _cap_bounds(log_compute, k, log_d_max, log_n_max))
    given = None
    if params is not None:
        given = np.broadcast_to(np.asarray([check_positive(p, "params", BudgetError) for p in np.ravel(
            float_array(params, "params", BudgetError, "positive finite numbers of parameters", invalid=True))]), (m,)) \
            if np.size(params) in (1, m) else None
        if given is None:
            raise BudgetError(f"params must be one N or one per budget ({m}), got {np.size(params)}")
        outside = (np.log(given) < cap_lo - 1e-9) | (np.log(given) > cap_hi + 1e-9)
        if outside.any():
            j = int(np.flatnonzero(outside)[0])
            raise BudgetError(f"params {given[j]:.4g} is outside what the caps allow at {compute[j]:.4g} FLOPs (N from "
                              f"{np.exp(cap_lo[j]):.4g} to {np.exp(cap_hi[j]):.4g}): give an N within max_tokens and "
                              "max_params")
    if tokens_per_param is not None:
        tokens_per_param = check_positive(tokens_per_param, "tokens_per_param", BudgetError)

    nan = np.full(m, np.nan)
    extra = jnp.stack([nan if tokens_per_param is None else
                       jnp.clip(_rule_of_thumb_log_n(log_compute, k, tokens_per_param), cap_lo, cap_hi),
                       nan if given is None else np.log(given)])
    padded, mask = _pad(thetas)
    capped = bool(np.isfinite(log_d_max) or np.isfinite(log_n_max))
    log_n, converged, own, loss, waste, grid, curves = _decide_program(
        jnp.asarray(padded), jnp.asarray(mask), jnp.asarray(point, jnp.float64), compute, k,
        jnp.asarray(q or 0.0, jnp.float64), extra, covariates, family, kind, log_d_max, log_n_max, capped)
    r = thetas.shape[0]
    own = type(own)(*(np.asarray(x)[:r] for x in own))
    loss, waste, curves = np.asarray(loss)[:r], np.asarray(waste)[:r], np.asarray(curves)[:r]
    log_d = _log_tokens(log_n, log_compute, k)
    sample = np.random.default_rng(seed).permutation(r)[:_CURVE_DRAWS]
    return Decision(
        rule=rule, confidence=confidence, compute=np.asarray(compute),
        flops_per_param_token=float(k) if not isinstance(k, FlopsPerToken) else k,
        n_params=np.exp(np.asarray(log_n)), n_tokens=np.exp(np.asarray(log_d)), converged=np.asarray(converged),
        draw_loss=np.asarray(loss), own_params=np.asarray(own.n_params), own_loss=np.asarray(own.loss),
        own_converged=np.asarray(own.converged), deadweight=np.asarray(waste), tokens_per_param_rule=tokens_per_param,
        curve_params=np.exp(np.asarray(grid)), curve_loss=curves[sample], curve_mean=curves.mean(axis=0),
        curve_quantile=np.quantile(curves, q, axis=0) if kind == "quantile" else None, curve_draws=sample,
        max_tokens=None if max_tokens is None else float(max_tokens),
        max_params=None if max_params is None else float(max_params), unique_tokens=unique_tokens,
    )
