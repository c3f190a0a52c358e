"""The profile of the fitting objective: each parameter held at a grid of values, the others refitted.

Why a profile. A fit's starts and screen points can all converge to one optimum while the objective is nearly flat
along a direction (E from 0 to 1.9 within 1% on real runs whose N spans 1.3 decades, PITFALLS): their spread shows
nothing, the scaled Hessian at the optimum does not either. Holding a parameter at a value and refitting the others
measures directly how much worse the best fit with that value is.

How. For every free entry of the problem that is not a linear scale (``Family.linear``: A and B trade off with the
exponents by design and are reported, not judged; the family's irreducible loss, E, is profiled even when linear),
a fixed grid of natural values (``MULTIPLIERS`` times the estimate; for the irreducible loss also ``E_FRACTIONS`` of
the smallest loss, so that an E pushed to 0 is profiled up to the losses seen). Every grid point is a lane of the
fit's own compiled polish (``optimal.fitting.solver.polish``) with its pinned entry held (``free``): that entry's
gradient and Hessian row are zeroed (a unit diagonal), so the Newton step never moves it, and the lane refits the
others. The lanes run in batches of the fit's own lane shape, so the profile compiles no polish of its own (it
cost as much compiling as the fit's polish: 3-4 s of a cold 245-row fit).

The threshold, from the residual scale and the number of runs. A robust loss rho that is homogeneous of degree p
(Huber with a small delta: nearly |r|, p = 1; squared: p = 2) is the negative log-density of residuals with a
scale s: log-likelihood ``-n log s - S / s^p`` for the summed objective S over n runs. The scale's maximum
likelihood estimate is ``s^p = p S / n`` (the residual scale), and with it profiled out the log-likelihood is
``-(n / p) log S``. Wilks' theorem: a pinned value is inside the 95% profile-likelihood region when
``2 (n / p) log(S_pinned / S_best) <= chi2_1(0.95) = 3.84``, i.e. ``S_pinned - S_best <= S_best (exp(p 3.84 / (2 n))
- 1) ~ (3.84 / 2) s^p``: half the chi-square point in units of the residual scale. p is measured at the optimum
(Euler: ``p = sum r rho'(r) / sum rho(r)``, between 1 and 2 for Huber), n is the number of runs with weight > 0.
No constant is tuned to a data set: the threshold is the 95% likelihood-ratio interval of one parameter.

Verdicts (``optimal.fitting.diagnostics``) read the range of values within the threshold: the irreducible loss is
not identified when that range spans more than a factor ``E_SPREAD`` (or reaches 0), another parameter when it is
wider than ``EXPONENT_SPREAD`` times the estimate; a range still within the threshold at the grid's last point is
*unbounded* in that direction (above, or below toward the parameter's lower bound). What a pin would do: the
compute-optimal N at ``REFERENCE_DECADES`` decades of compute beyond the largest run, for the refits at the ends
of each range, against the best fit's.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._util.robust import LOSS_DERIVATIVES, ROBUST_LOSSES
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN
from ..laws.family import Family
from .problem import Structure, expand, problem_evaluator, residuals
from .solver import REASONS, Lanes, polish, solver_config

CHI2_1_95 = 3.841458820694124  # the 95% point of chi-square with 1 degree of freedom
MULTIPLIERS = (0.1, 0.5, 0.75, 1.25, 1.5, 3.0)  # grid values / the estimate
E_MULTIPLIERS = (0.01, 0.1, 0.5, 0.75, 1.25, 1.5)  # the irreducible loss's (a hundredth: "reaches 0")
E_FRACTIONS = (0.25, 0.5, 0.75)  # the irreducible loss also at these fractions of the smallest loss
REFERENCE_DECADES = 2.0  # N* compared at 10^this times the largest run's compute (k N D)


class Profile(NamedTuple):
    """Profiles of one fit (NumPy): ``entries`` the profiled free entries (indices into the free vector) and
    ``labels`` their names; per entry ``grid`` (natural values, ascending, the estimate included) and ``values``
    (the objective refitted with the entry held there; the estimate's is the best objective), and ``thetas`` the
    refits' free vectors, ``n_star_ratio`` each refit's N* at ``reference_compute`` (FLOPs, ``reference_log_c``) over
    the best fit's (NaN for a joint fit of groups, or a law with no interior optimum); ``n_star_ratio_groups``
    per entry the same ratio for every group's law (grid, G) (a joint fit of G groups, whose N* is one per group;
    one group: (grid, 1), equal to ``n_star_ratio``); ``stopped`` per entry which grid points' refits stopped before
    converging (the iteration budget spent, or a non-finite step: ``values`` there is an upper bound of the profile,
    not its minimum; ``CONTINUE_EXCESS``); ``tolerance`` the relative threshold, ``degree`` p and
    ``n_used`` n behind it (see the module docstring)."""

    entries: tuple
    labels: tuple
    grid: tuple
    values: tuple
    thetas: tuple
    n_star_ratio: tuple
    estimate: tuple
    objective: float
    tolerance: float
    degree: float
    n_used: int
    reference_compute: float
    n_star_ratio_groups: tuple = ()
    stopped: tuple = ()


def params_of(family: Family, structure: Structure) -> dict:
    """``{free entry: family parameter}``: the (first) parameter each free entry sets."""
    out = {}
    for (_, j), k in np.ndenumerate(structure.select):
        if k >= 0:
            out.setdefault(int(k), family.params[j])
    return out


def natural_value(family: Family, param: str, t):
    """The natural value of ``param`` at fitting-space value(s) ``t`` (NumPy)."""
    theta = np.zeros(np.shape(t) + (len(family.params),))
    theta[..., family.index(param)] = t
    return np.asarray(family.to_natural(theta)[param])


def fitting_value(family: Family, param: str, value: float):
    """The fitting-space value of ``param`` at natural ``value``, or None outside its domain."""
    kind = family.transform(param)
    if not math.isfinite(value) or (kind == "log" and value <= 0) or (
            isinstance(kind, tuple) and not kind[1] < value < kind[2]):
        return None
    return float(family.to_fitting({**{p: family.start_box[p][0] for p in family.params}, param: value})[
        family.index(param)])


def grid_values(family: Family, param: str, estimate: float, min_loss: float):
    """The natural values a parameter is profiled at (a fixed count for a given parameter kind, so the program's
    shape depends only on the problem): ``MULTIPLIERS`` x the estimate (for a parameter that can be negative, the
    estimate plus (multiplier - 1) x its size); for the irreducible loss ``E_MULTIPLIERS`` x the estimate and
    ``E_FRACTIONS`` x the smallest loss and midway from the estimate to the smallest loss. (Pins far out cost the most iterations and say little more: a tenth and
    three times the estimate tell a range that runs off; E above the smallest loss cannot fit, so E stops at 1.5x.) A value outside the parameter's domain is replaced by one just inside it."""
    scale = abs(estimate) if estimate != 0 else 1.0
    if param == family.irreducible:
        # and midway from the estimate to the smallest loss: the side where E x 1.25 cannot fit the runs
        values = [estimate * m for m in E_MULTIPLIERS] + [f * min_loss for f in E_FRACTIONS] + [
            0.5 * (estimate + min_loss)]
    else:
        values = [estimate + (m - 1.0) * scale for m in MULTIPLIERS]
    kind = family.transform(param)
    out = []
    for v in values:
        if kind == "log":
            v = max(v, 1e-300)
        elif isinstance(kind, tuple):
            lo, hi = kind[1], kind[2]
            v = min(max(v, lo + 1e-9 * (1 + abs(lo))), hi - 1e-9 * (1 + abs(hi)))
        out.append(v)
    return out


def threshold(terms, weights):
    """``(relative tolerance, degree p, n)`` of the 95% profile-likelihood region at the optimum (module docstring):
    ``exp(p chi2 / (2 n)) - 1``, from the objective's ``terms`` there (``_objective_terms``) and the row weights."""
    total, euler = (float(x) for x in terms)
    degree = float(np.clip(euler / total, 1.0, 2.0)) if total > 0 else 1.0
    n_used = max(int(np.sum(np.asarray(weights) > 0)), 1)
    return math.expm1(degree * CHI2_1_95 / (2 * n_used)), degree, n_used


# iterations of a pinned refit's first round: it starts from the better of two warm starts, and most stop well
# within this many; the lanes still running continue from where they stopped, in a second round of the same
# compiled program, up to the fit's own budget (Solver.max_iter) in all. A single capped round gave an upper bound
# of the profile, not the profile: on 80 runs over 1.3 decades (CPU with AVX-512) the pin next to the estimate of
# alpha stopped at 40 iterations 0.16% above its refitted minimum, where another CPU's rounding had converged
FIRST_ROUND = 40
# a lane at the cap whose objective is above the best by more than this many times the threshold's margin is not
# continued: it stays an upper bound of the profile there. On noiseless runs (a margin near 0) every pin is that far
# and hundreds of iterations from converging, which made a fit_groups of 51 noiseless sets 2.8 times slower. Measured
# (Epoch's 240 rows, 24 synthetic sets of 60-81 runs with N over 1.3-2.5 decades, E free and fixed: 50 fits), the
# lanes at the cap that ended within the threshold after continuing had been at most 97 margins above it
CONTINUE_EXCESS = 1000.0
NEAREST = 32  # a grid point's second start: the best of the fit's this many candidates nearest in the pinned entry


def _second_starts(candidates, values, k, ts, fallback):
    """For each value of ``ts`` (G,): the best of the ``NEAREST`` candidates (K, F) whose entry ``k`` is nearest it,
    with it imposed (G, F); ``fallback`` (G, F) without candidates."""
    if candidates is None or not len(candidates):
        return fallback
    distance = np.abs(candidates[None, :, k] - np.asarray(ts)[:, None])  # (G, K)
    count = min(NEAREST, candidates.shape[0])
    near = np.argpartition(distance, count - 1, axis=1)[:, :count]
    best = near[np.arange(len(ts)), np.argmin(values[near], axis=1)]
    out = candidates[best].copy()
    out[:, k] = ts
    return out


@functools.partial(jax.jit, static_argnames=("config",))
def _better_starts(starts, data, weights, delta, config):
    """Of each grid point's two starts ``starts`` (G, 2, F), the one with the lower objective (G, F)."""
    lanes = starts.shape[0]
    flat = starts.reshape(-1, starts.shape[-1])
    first = jax.vmap(lambda th: config.evaluate(th, data, weights, delta, config.loss)[0])(flat).reshape(lanes, 2)
    first = jnp.where(jnp.isfinite(first), first, jnp.inf)
    return jnp.where((first[:, 1] < first[:, 0])[:, None], starts[:, 1], starts[:, 0])


@functools.partial(jax.jit, static_argnames=("family", "loss", "one_group"))
def _profile_tail(family, z, thetas, data, weights, delta, loss, log_c, one_group):
    """The objective's terms at the optimum ``z`` (F,) (``_objective_terms``); log N* at ``log_c`` of the optimum and
    of every refit ``thetas`` (G, F) (G + 1,) (``optimal_log_n``; NaN for a fit of several groups), and log N* of
    every group's law (G + 1, groups). Returns ``(terms, log N*, log N* per group)``."""
    terms = _objective_terms(family, z, data, weights, delta, loss)
    laws = expand(jnp.concatenate([z[None], thetas]), data.select, data.base)  # (G + 1, groups, P)
    per_group = jax.vmap(lambda each: optimal_log_n(family, each, log_c), in_axes=1, out_axes=1)(laws)
    log_n_star = per_group[:, 0] if one_group else jnp.full(thetas.shape[0] + 1, jnp.nan, z.dtype)
    return terms, log_n_star, per_group


def _refit_shape(lanes_like, count):
    """``(lanes, slots)`` of the pinned refits' polish for ``count`` profile points: ``lanes_like``, the fit's own
    polish shape (one compiled program for both), or ``(count, None)`` when None or when the fit has more than
    twice ``count`` lanes: a fit with many more lanes than the profile (a fit of several groups) would run that many
    slots for every profile, where a program of the profile's own shape (compiled once for all its groups) is
    cheaper."""
    return lanes_like if lanes_like is not None and lanes_like[0] <= 2 * count else (count, None)


def _pinned_refits(chosen, held, budgets, data, weights, delta, program, shape):
    """Polish the starts ``chosen`` (G, F) with the entries ``held`` (G, F) bool held and iteration ``budgets`` (G,),
    in batches of ``shape = (lanes, slots)`` (``_refit_shape``; the last batch padded with lanes that stop at their
    start). ``Lanes`` (G)."""
    count = chosen.shape[0]
    size, slots = shape
    pad = -count % size
    chosen = np.concatenate([chosen, np.repeat(chosen[:1], pad, axis=0)])
    free = np.concatenate([~held, np.ones((pad, held.shape[1]), bool)])
    budgets = np.concatenate([budgets, np.zeros(pad, np.int32)])
    batches = [polish(chosen[i:i + size], data, weights, program, delta=delta, slots=slots, free=free[i:i + size],
                      max_iter=budgets[i:i + size])
               for i in range(0, len(chosen), size)]
    return Lanes(*(np.concatenate([np.asarray(b[j]) for b in batches])[:count] for j in range(len(Lanes._fields))))


def _replaced(whole, rows, part):
    """A copy of ``whole`` with its ``rows`` replaced by ``part``."""
    whole = whole.copy()
    whole[rows] = np.asarray(part)
    return whole


def _objective_terms(family: Family, z, data, weights, delta, loss):
    """``(sum w rho(r), sum w r rho'(r))`` at free vector ``z``: the objective and its Euler degree's numerator."""
    r = residuals(family, z, data)
    return jnp.sum(weights * ROBUST_LOSSES[loss](r, delta)), jnp.sum(weights * r * LOSS_DERIVATIVES[loss](r, delta)[0])


def profile(family: Family, structure: Structure, z, objective: float, data, weights, fit_objective, solver, dtype,
            min_loss: float, candidates=None, candidate_values=None, lanes_like=None) -> Profile:
    """Profile every judged free entry of a fit at its optimum ``z`` (F,) with best ``objective``: one compiled polish
    of every (entry, grid value) lane (see the module docstring). ``data`` the problem's ``RowData``, ``weights``
    (n,), ``fit_objective`` and ``solver`` the fit's ``Objective`` and ``Solver``, ``min_loss`` the smallest loss
    fitted (nats). Each grid point is refitted from the better (lower objective) of two starts: the optimum with the
    entry held at the point, and the best of the fit's ``candidates`` (K, F) (screen points, polished starts;
    objectives ``candidate_values`` (K,)) nearest in that entry (``NEAREST``) with the entry held, so a pin far from
    the optimum starts in its own basin. ``lanes_like``: ``(lanes, slots)`` of the fit's own ``polish`` call, whose
    compiled program the refits then reuse (None: a polish of the profile's own shape). Returns a ``Profile``."""
    z = np.asarray(z, np.float64)
    if candidates is not None:
        candidates, candidate_values = np.asarray(candidates, np.float64), np.asarray(candidate_values, np.float64)
        keep = np.isfinite(candidate_values) & np.all(np.isfinite(candidates), axis=1)
        candidates, candidate_values = candidates[keep], candidate_values[keep]
    width = len(z)
    param_of = params_of(family, structure)
    entries = tuple(k for k in range(width)
                    if param_of[k] == family.irreducible or param_of[k] not in family.linear)
    estimates, grids, starts, held = [], [], [], []
    for k in entries:
        param = param_of[k]
        estimate = float(natural_value(family, param, z[k]))
        values = grid_values(family, param, estimate, min_loss)
        ts = np.asarray([z[k] if t is None else t for t in (fitting_value(family, param, v) for v in values)])
        estimates.append(estimate)
        grids.append(np.asarray(values))
        first = np.repeat(z[None], len(ts), axis=0)
        first[:, k] = ts
        # the irreducible loss at or above the smallest loss fitted cannot fit those rows: not refitted (a lane
        # with nothing held, that starts at the optimum and stops at once), its profile value is infinite
        hopeless = np.asarray(values) >= min_loss if param == family.irreducible else np.zeros(len(ts), bool)
        first[hopeless] = z
        pin = np.zeros((len(ts), width), bool)
        pin[~hopeless, k] = True
        held.append(pin)
        second = _second_starts(candidates, candidate_values, k, ts, first)
        second[hopeless] = z
        starts.append(np.stack([first, second], axis=1))
    log_c, compute = reference_log_c(data, weights)
    if not entries:
        terms = jax.jit(_objective_terms, static_argnames=("family", "loss"))(
            family, jnp.asarray(z, dtype), data, weights, fit_objective.delta, fit_objective.robust)
        return Profile((), (), (), (), (), (), (), float(objective), *threshold(terms, weights), compute, ())
    # of each point's two starts (the optimum with the pin, the nearest good candidate with it), the one with the
    # lower objective is polished
    program = solver_config(fit_objective, solver, problem_evaluator(family, structure), dtype)  # the fit's own
    delta = jnp.asarray(fit_objective.delta, dtype)
    chosen = np.asarray(_better_starts(jnp.asarray(np.concatenate(starts), dtype), data, weights, delta,
                                       program._replace(delta=None, max_iter=None)))
    budgets = np.full(len(chosen), min(solver.max_iter, FIRST_ROUND), np.int32)
    held = np.concatenate(held)  # a lane holding nothing is a hopeless point's: not refitted
    shape = _refit_shape(lanes_like, len(chosen))  # both rounds: one compiled program
    lanes = _pinned_refits(chosen, held, budgets, data, weights, fit_objective.delta, program, shape)
    tail = functools.partial(_profile_tail, family, jnp.asarray(z, dtype), data=data, weights=weights, delta=delta,
                             loss=fit_objective.robust, log_c=log_c, one_group=structure.select.shape[0] == 1)
    terms, log_n_star, per_group = tail(jnp.asarray(lanes.theta, dtype))
    tolerance, degree, n_used = threshold(terms, weights)
    # still running at the first round's cap, and near enough the threshold that finishing could bring it within
    excess = margins_above(np.asarray(lanes.objective), objective, tolerance)
    running = np.flatnonzero((np.asarray(lanes.reason) == REASONS.index("max iterations"))
                             & ~(excess > CONTINUE_EXCESS))
    if len(running) and solver.max_iter > FIRST_ROUND:
        more = _pinned_refits(np.asarray(lanes.theta)[running], held[running],
                              np.full(len(running), solver.max_iter - FIRST_ROUND, np.int32), data, weights,
                              fit_objective.delta, program, shape)
        more = more._replace(iterations=np.asarray(more.iterations) + FIRST_ROUND)
        lanes = Lanes(*(_replaced(np.asarray(whole), running, part) for whole, part in zip(lanes, more)))
        _, log_n_star, per_group = tail(jnp.asarray(lanes.theta, dtype))  # the same program: N* of the new ends
    log_n_star = np.asarray(log_n_star, np.float64)
    per_group = np.asarray(per_group, np.float64)
    values = np.where(np.isfinite(lanes.objective) & held.any(axis=1), lanes.objective, np.inf)
    stopped = held.any(axis=1) & np.isin(np.asarray(lanes.reason), [REASONS.index("max iterations"),
                                                                    REASONS.index("non-finite")])
    out_grid, out_values, out_thetas, out_n_star, out_groups, out_stopped, offset = [], [], [], [], [], [], 0
    for k, estimate, grid in zip(entries, estimates, grids):
        part = slice(offset, offset + len(grid))
        offset += len(grid)
        # the estimate itself is a point of every profile (the best objective); a refit can only be worse than it
        g = np.concatenate([grid, [estimate]])
        v = np.concatenate([np.maximum(values[part], objective), [objective]])
        th = np.vstack([lanes.theta[part, :width], z[None]])
        ns = np.concatenate([log_n_star[1:][part], log_n_star[:1]]) - log_n_star[0]
        groups = np.concatenate([per_group[1:][part], per_group[:1]]) - per_group[0]
        order = np.argsort(g, kind="stable")
        out_groups.append(np.exp(groups[order]))
        out_grid.append(g[order])
        out_values.append(v[order])
        out_thetas.append(th[order])
        out_n_star.append(np.exp(ns[order]))
        out_stopped.append(np.concatenate([stopped[part], [False]])[order])
    labels = tuple(structure.names[k] for k in entries)
    return Profile(entries, labels, tuple(out_grid), tuple(out_values), tuple(out_thetas), tuple(out_n_star),
                   tuple(estimates), float(objective), tolerance, degree, n_used, compute, tuple(out_groups),
                   tuple(out_stopped))


def margins_above(values, objective, tolerance):
    """How far objective ``values`` lie above the best ``objective``, in threshold margins (``objective *
    tolerance``): the unit ``CONTINUE_EXCESS`` is measured in."""
    return (values - objective) / max(objective * tolerance, np.finfo(np.float64).tiny)


def within_range(grid, values, estimate, objective, tolerance, log_scale):
    """The range of a profile within the threshold: ``(lo, hi, open_lo, open_hi, i_lo, i_hi)``. A grid point whose
    refit is within ``objective (1 + tolerance)`` is a witness (a fit that good exists there), while one above may be
    a refit that fell short, so the range spans every witness (``i_lo``, ``i_hi``: the outermost), and each end is
    interpolated toward the next point out where the profile crosses the threshold (linearly in the parameter, or its
    log for a positive one; not toward a point that could not be refitted). An end is *open* when the grid's last
    point in that direction is within. ``grid`` (ascending) and ``values`` (objective) include the estimate."""
    limit = objective * (1 + tolerance)
    x = np.log(np.maximum(grid, 1e-300)) if log_scale else np.asarray(grid, np.float64)
    inside = np.flatnonzero(values <= limit)
    if not len(inside):  # (the estimate is always within; a grid without it)
        inside = np.asarray([int(np.argmin(np.abs(np.asarray(grid) - estimate)))])
    ends = []
    for i, step in ((int(inside.min()), -1), (int(inside.max()), 1)):
        j = i + step
        if not 0 <= j < len(grid):
            ends.append((float(grid[i]), True, i))
            continue
        v0, v1 = values[i], values[j]
        frac = 0.0 if not np.isfinite(v1) else 1.0 if v1 <= v0 else float(np.clip((limit - v0) / (v1 - v0), 0, 1))
        value = x[i] + frac * (x[j] - x[i])
        ends.append((float(np.exp(value)) if log_scale else float(value), False, i))
    (lo, open_lo, i_lo), (hi, open_hi, i_hi) = ends
    return float(lo), float(hi), open_lo, open_hi, i_lo, i_hi


def optimal_log_n(family: Family, thetas, log_c):
    """log N* (K,) of each law (fitting-space ``thetas`` (K, P), covariates at the family's defaults) at
    ``log_c = log(C / k)``: the least loss along the budget line ``D = (C / k) / N`` on a grid of log N 0.05 apart,
    refined by a parabola through the best point and its neighbours. NaN where the least loss is at the grid's end
    (no interior optimum). Traceable. (The allocation stage's solvers are downstream of fitting, so this is a plain
    search; it only compares refits with the best fit.)"""
    log_n = log_c / 2 + jnp.linspace(-20.0, 20.0, 801)
    losses = jax.vmap(lambda theta: family.law_from_theta(theta).log_loss(log_n, log_c - log_n))(thetas)
    losses = jnp.where(jnp.isfinite(losses), losses, jnp.inf)
    j = jnp.argmin(losses, axis=1)
    inner = (j > 0) & (j < log_n.shape[0] - 1)
    a, b, c = (jnp.take_along_axis(losses, jnp.clip(j + s, 0, log_n.shape[0] - 1)[:, None], 1)[:, 0] for s in (-1, 0, 1))
    curvature = a - 2 * b + c
    shift = jnp.where(inner & (curvature > 0), 0.5 * (a - c) / jnp.where(curvature > 0, curvature, 1.0), 0.0)
    return jnp.where(inner & jnp.isfinite(b), log_n[j] + shift * (log_n[1] - log_n[0]), jnp.nan)


def reference_log_c(data, weights):
    """log(C / k) at ``REFERENCE_DECADES`` decades beyond the largest run's compute (of the rows with weight > 0),
    and that compute C (FLOPs, k = ``DEFAULT_FLOPS_PER_PARAM_TOKEN``)."""
    used = np.asarray(weights) > 0
    log_c = float(np.max((np.asarray(data.log_n) + np.asarray(data.log_d))[used])) + REFERENCE_DECADES * math.log(10)
    return log_c, math.exp(log_c) * DEFAULT_FLOPS_PER_PARAM_TOKEN


def pin_effects(prof: Profile, ranges: dict):
    """What pinning each profiled entry at the ends of its range within the threshold (the furthest grid points
    within, ``ranges[label]["grid_index"]``) does to N* at ``prof.reference_compute``: ``{label: {"at": [lo value,
    hi value], "n_star_ratio": [lo, hi]}}``, the refit's N* over the best fit's (None where unknown). A tied entry
    (``alpha=beta``) is pinned like any other: both exponents held at the value, the rest refitted.

    A joint fit of several groups has one N* per group, not one: its ``n_star_ratio`` is ``[None, None]`` and the
    entry adds ``n_star_ratio_by_group`` (``[[lo per group], [hi per group]]``, groups in the fit's order) and a
    ``note`` saying so; a ratio that is None (a law with no interior optimum along the budget line at the reference
    compute) also comes with a ``note``."""
    out = {}
    joint = bool(prof.n_star_ratio_groups) and prof.n_star_ratio_groups[0].shape[1] > 1
    for e, label in enumerate(prof.labels):
        indices = ranges[label]["grid_index"]
        ratios = [float(prof.n_star_ratio[e][i]) for i in indices]
        out[label] = {"at": [float(prof.grid[e][i]) for i in indices],
                      "n_star_ratio": [r if np.isfinite(r) else None for r in ratios]}
        if joint:
            by_group = [[float(r) if np.isfinite(r) else None for r in prof.n_star_ratio_groups[e][i]]
                        for i in indices]
            out[label]["n_star_ratio_by_group"] = by_group
            out[label]["note"] = ("a joint fit has one N* per group: n_star_ratio_by_group gives each group's refit "
                                  "N* over its best-fit N* (groups in the fit's order)"
                                  + ("; None: that group's law has no interior optimum at the reference compute"
                                     if any(r is None for row in by_group for r in row) else ""))
        elif any(r is None for r in out[label]["n_star_ratio"]):
            out[label]["note"] = ("N* unknown (None): the law held there has no interior compute-optimal N along the "
                                  f"budget line at {prof.reference_compute:.3g} FLOPs (its loss keeps falling toward "
                                  "the smallest N or the smallest D searched)")
    return out
