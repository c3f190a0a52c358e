"""Can these runs pin the law down, and are they in the units the law expects? Checks made at a fit's optimum.

Identifiability, from the profile of the objective (``optimal.fitting.profile``). With N spanning about a decade,
fits whose objective is as good as the best's, to within what the data can tell apart, can hold E anywhere from 0
to ~2 and exponents over a factor of 3 (PITFALLS: "Real data"), while every start converges to one optimum: a spread
of starts cannot see the flat direction. So every parameter that is not a linear scale is held at a grid of values
and the others refitted; the values whose refit stays within the 95% likelihood-ratio threshold (derived from the
residual scale and the number of runs: ``optimal.fitting.profile``'s docstring) form its profile range. The family's
irreducible loss (``family.irreducible``, Chinchilla's E) is not identified when that range spans more than
``E_SPREAD`` times (or reaches 0); another parameter when it is wider than ``EXPONENT_SPREAD`` times the estimate. A
range still within the threshold at the grid's last point is *unbounded* in that direction. One check for every
family and constraint (``identifiability``); the warning says what pinning the parameter at the range's ends does
to N* at a budget beyond the runs, and advice that fits what is already fixed or tied.

Plausibility. A unit slip (tokens in billions, N and D swapped, perplexity given as loss) still fits and
converges; the thresholds below catch the common ones.

Every threshold is a module constant: change it from Python (``optimal.fitting.diagnostics.MAX_LOSS = 15``) to
change what warns.
"""

import numpy as np

from .profile import CONTINUE_EXCESS, REFERENCE_DECADES, margins_above, params_of, pin_effects, within_range

EXPONENT_SPREAD = 0.5  # a parameter (an exponent): its profile range is wider than half the estimate
E_SPREAD = 2.0  # E: its profile range spans more than this factor (or reaches 0)
E_AT_ZERO = 0.01  # E below this fraction of the smallest loss counts as 0
EXPONENT_EDGE = 0.975  # an estimate at or above this fraction of the largest searched (Chinchilla's exponents: 2) is at the edge
MIN_DECADES = 1.0  # N or D spanning fewer decades than this
# the Hessian at the optimum, scaled to unit diagonal, with a condition number above this cannot be solved with in
# float64 (1e-4 / eps ~ 4.5e11): measured 2e4-2e6 on fits of synthetic and Epoch runs, 7e9 with one row's weight
# 1e6 times the others', 4e15 with 1e12 (there the solver stopped at its start, 1.4e-3 vs 1.37e-3 reachable)
CONDITION_LIMIT = 1e-4 / float(np.finfo(np.float64).eps)
# Median D/N of the runs. Below 1: most runs saw fewer tokens than they have parameters. No language-model scaling
# study trains that way (Chinchilla's runs: median 23, smallest 0.46; Kaplan et al. 2020 trained every model on
# >= 22B tokens, N <= 1.5B); what gives it is N and D swapped (Epoch's runs swapped: median 0.043) or D in
# thousands (0.023) or billions. Above 1e5: N in millions or billions, or D given in another unit.
MIN_RUN_TOKENS_PER_PARAM, MAX_RUN_TOKENS_PER_PARAM = 1.0, 1e5
MIN_PARAMS = 1e5  # median N below: N in millions or billions
MAX_LOSS = 12.0  # nats per token; above: perplexity, or a loss in bits of a huge vocabulary


def advice(family, structure, names, unbounded) -> str:
    """What would help, for the situation: wider runs always; fixing the irreducible loss only when it is free and
    not identified; tying the exponents only when two of them are free, untied and one is not identified; fixing a
    parameter that runs off to a bound."""
    free = {p for label in structure.names for p in label.split("[")[0].split("=")}
    judged = {p for label in names for p in label.split("[")[0].split("=")}
    fewer = []
    if family.irreducible in free and family.irreducible in judged:
        fewer.append(f"fix {family.irreducible} (--fix {family.irreducible}=VALUE)")
    exponents = [p for p in family.params if p.split("_")[0] in ("alpha", "beta") and p not in family.linear]
    untied = [p for p in exponents if p in free and not any(p in label.split("=") and "=" in label
                                                            for label in structure.names)]
    if len(untied) >= 2 and judged & set(untied):
        fewer.append(f"tie the exponents (--tie {untied[0]}={untied[1]})")
    for label in unbounded:
        param = label.split("[")[0].split("=")[0]
        if param != family.irreducible:
            fewer.append(f"fix {param} at a published value (--fix {param}=VALUE)")
    text = "what would help: runs over a wider range of N and D (the larger, the better for extrapolation)"
    return text + ("; or fewer free coefficients: " + " or ".join(fewer) if fewer else "")


def _range_text(label, item):
    """"E from 0.5 to 1.7", "E up to 1.7 (unbounded below)", "rn_star from 3 up (unbounded above)"."""
    lo, hi = item["range"]
    direction = item["unbounded"]
    if direction == "both":
        return f"{label} anywhere from {lo:.3g} or less to {hi:.3g} or more (unbounded)"
    if direction == "below":
        return f"{label} up to {hi:.3g} (unbounded below: {lo:.3g} or less)"
    if direction == "above":
        return f"{label} from {lo:.3g} up (unbounded above: {hi:.3g} or more)"
    return f"{label} from {lo:.3g} to {hi:.3g}"


def identifiability(family, structure, z, prof, data, weights, edges=None):
    """Diagnostics and warnings (text) on whether the runs identify the fit, for any family and constraints.

    Args:
      family: the ``Family``; structure: the problem's ``Structure`` (its free entries' names label the ranges).
      z: the best free vector (F,).
      prof: the fit's ``optimal.fitting.profile.Profile`` (every judged free entry held on a grid, the rest refitted).
      data: ``(N, D, loss)`` NumPy arrays (n,) of the rows fitted (parameters, tokens, nats); weights (n,).
      edges: ``{name: (lo, hi)}`` the range the fit searched a parameter in (``optimal.fitting.screen.search_edges``);
        an estimate at or below ``lo``, or at or above ``EXPONENT_EDGE`` x ``hi``, is at the edge.

    Returns:
      ``(diagnostics, warnings)``: a JSON-ready dict (``profile``: per entry its grid, refitted objectives, estimate,
      range within the threshold and direction it is unbounded in, if any, and ``upper_bounds``: the grid values
      whose refit stopped before converging, where the objective is an upper bound of the profile (a warning when
      such a point bounds the range and lies within ``CONTINUE_EXCESS`` threshold margins of the best); ``profile_threshold``; ``not_identified``;
      ``unbounded``; ``pin_effects`` and ``reference_compute``: N* at that budget when the entry is held at its
      range's ends, over the best fit's; ``decades``) and a list of messages.
    """
    n_params, n_tokens, loss = (np.asarray(x, np.float64) for x in data)
    log_n, log_d = np.log(n_params), np.log(n_tokens)
    edges = edges or {}
    min_loss = float(loss.min())
    param_of = params_of(family, structure)
    best = {label: float(np.asarray(family.to_natural(np.where(np.arange(len(family.params)) == family.index(
        param_of[k]), z[k], 0.0))[param_of[k]])) for k, label in enumerate(structure.names)}
    profiles, names, unbounded, stops = {}, [], {}, []
    for e, (k, label) in enumerate(zip(prof.entries, prof.labels)):
        param = param_of[k]
        grid, values = prof.grid[e], prof.values[e]
        lo, hi, open_lo, open_hi, i_lo, i_hi = within_range(grid, values, prof.estimate[e], prof.objective,
                                                            prof.tolerance, family.transform(param) == "log")
        direction = {(True, True): "both", (True, False): "below", (False, True): "above"}.get((open_lo, open_hi))
        stopped = prof.stopped[e] if prof.stopped else np.zeros(len(grid), bool)
        profiles[label] = {"grid": [float(x) for x in grid], "objective": [_finite(x) for x in values],
                           "n_star_ratio": [_finite(x) for x in prof.n_star_ratio[e]],
                           "estimate": prof.estimate[e], "range": [lo, hi], "unbounded": direction,
                           "upper_bounds": [float(x) for x, s in zip(grid, stopped) if s],
                           "grid_index": [int(i_lo), int(i_hi)]}
        for i, side in ((i_lo - 1, "below"), (i_hi + 1, "above")):  # the point that bounds the range there
            # a stopped point more than CONTINUE_EXCESS margins above the best is not one that finishing brought
            # within the threshold (measured: optimal.fitting.profile); noiseless runs put every pin there
            if 0 <= i < len(grid) and stopped[i] and \
                    margins_above(values[i], prof.objective, prof.tolerance) <= CONTINUE_EXCESS:
                stops.append(f"the refit with {label} held at {float(grid[i]):.3g} stopped before converging (its "
                             f"objective is an upper bound), so {label}'s range within the threshold may reach "
                             f"further {side} than {lo if side == 'below' else hi:.3g}")
        if direction:
            unbounded[label] = direction
        if param == family.irreducible:
            if hi > E_SPREAD * max(lo, E_AT_ZERO * min_loss) and hi > E_AT_ZERO * min_loss:
                names.append(label)
        elif hi - lo > EXPONENT_SPREAD * abs(prof.estimate[e]) or direction:
            names.append(label)
    effects, compute = pin_effects(prof, profiles), prof.reference_compute
    for item in profiles.values():
        del item["grid_index"]
    decades = {"N": float(np.ptp(log_n) / np.log(10)), "D": float(np.ptp(log_d) / np.log(10))}
    found = []
    if names:
        spread = "; ".join(_range_text(k, profiles[k]) for k in names)
        moves = []
        for k in names:
            effect = effects.get(k)
            if effect and all(r is not None for r in effect["n_star_ratio"]):
                (a, b), (ra, rb) = effect["at"], effect["n_star_ratio"]
                moves.append(f"{k} = {a:.3g} or {b:.3g} gives N* x{ra:.3g} or x{rb:.3g}")
        pins = (f"; holding {', '.join(moves)} at {compute:.3g} FLOPs ({10 ** REFERENCE_DECADES:g}x the largest run's)"
                if moves else "")
        found.append(
            f"the runs do not identify {', '.join(names)}: held at any value of {spread}, the refit's objective "
            f"stays within {100 * prof.tolerance:.2g}% of the best (the 95% likelihood-ratio threshold for "
            f"{prof.n_used} runs){pins}; N spans {decades['N']:.2g} decades and D {decades['D']:.2g}; "
            f"{advice(family, structure, names, unbounded)}")
    for label in structure.names:
        param, value = param_of[structure.names.index(label)], best[label]
        if param in edges and param != family.irreducible and param not in family.linear and label not in names:
            edge_lo, edge_hi = edges[param]
            if value <= edge_lo or value >= EXPONENT_EDGE * edge_hi:
                found.append(f"{label} = {value:.4g} is at the edge of the search range ({edge_lo:.3g}, {edge_hi:g}]: "
                             "the data may not identify it")
    for label in structure.names:
        if param_of[structure.names.index(label)] == family.irreducible and best[label] < E_AT_ZERO * min_loss \
                and label not in names:
            found.append(f"{label} = {best[label]:.3g} was pushed to 0: the data do not show an irreducible loss")
    found += stops
    for symbol, span in decades.items():
        if span < MIN_DECADES:
            found.append(f"{symbol} spans {span:.2g} decades ({np.exp((log_n if symbol == 'N' else log_d).min()):.3g} "
                         f"to {np.exp((log_n if symbol == 'N' else log_d).max()):.3g}): its exponent is poorly identified")
    diagnostics = {"profile": profiles,
                   "profile_threshold": {"relative": prof.tolerance, "degree": prof.degree, "n_runs": prof.n_used,
                                         "confidence": 0.95},
                   "not_identified": names, "unbounded": unbounded, "pin_effects": effects,
                   "reference_compute": compute, "decades": decades}
    return diagnostics, found


def _finite(x):
    """A float for JSON: None for a non-finite value."""
    return float(x) if np.isfinite(x) else None


def scaled_condition(hessian):
    """Condition number of ``hessian`` (P, P) scaled to unit diagonal: how singular the curvature is, whatever
    the units of the coefficients. A coefficient with no curvature at float precision (E pushed to 0: its term
    has vanished) plays no part in the fit and is left out; a non-finite Hessian gives inf."""
    hessian = np.asarray(hessian, dtype=np.float64)
    if not np.all(np.isfinite(hessian)):
        return float("inf")
    diag = np.abs(np.diag(hessian))
    active = diag > np.finfo(np.float64).eps * diag.max()
    if not active.any():  # no curvature at all (a Huber delta so small the objective is piecewise linear)
        return float("inf")
    scale = np.sqrt(diag[active])
    eig = np.abs(np.linalg.eigvalsh(hessian[np.ix_(active, active)] / np.outer(scale, scale)))
    return float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")


def singular_curvature(condition):
    """A message when the curvature's ``scaled_condition`` says it is numerically singular (see
    ``CONDITION_LIMIT``), else None."""
    if condition <= CONDITION_LIMIT:
        return None
    return (f"the objective's curvature at the best fit is numerically singular (scaled condition number "
            f"{condition:.2g} > {CONDITION_LIMIT:.2g}), so the solver cannot locate the optimum in float64 and its "
            "stop is not a convergence; rows whose weights differ by many decades do this")


def plausibility(n_params, n_tokens, loss):
    """Warnings (text) for runs probably given in the wrong units; empty when nothing looks wrong."""
    n_params, n_tokens, loss = (np.asarray(x, dtype=np.float64) for x in (n_params, n_tokens, loss))
    found = []
    ratio = float(np.median(n_tokens / n_params))
    if ratio < MIN_RUN_TOKENS_PER_PARAM or ratio > MAX_RUN_TOKENS_PER_PARAM:
        found.append(f"the runs have a median of {ratio:.3g} training tokens per parameter (plausible: "
                     f"{MIN_RUN_TOKENS_PER_PARAM:g} to {MAX_RUN_TOKENS_PER_PARAM:g}): are N and D swapped, or is D in billions "
                     "(or thousands), or N in another unit?")
    if np.median(n_params) < MIN_PARAMS:
        found.append(f"the median model has {np.median(n_params):.3g} parameters (below {MIN_PARAMS:g}): "
                     "is N given in millions or billions?")
    if loss.max() > MAX_LOSS:
        found.append(f"a loss of {loss.max():.4g} nats per token is above {MAX_LOSS:g} (a uniform guess over a "
                     "100k-token vocabulary is 11.5): is it a perplexity, or not in nats?")
    return found
