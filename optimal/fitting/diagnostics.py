"""Can these runs pin the law down, and are they in the units the law expects? Checks made at a fit's optimum.

Identifiability. With N spanning about a decade, fits whose objective is as good as the best's, to within what
the data can tell apart, can hold E anywhere from 0 to ~2 and exponents over a factor of 3 (PITFALLS: "Real
data"). Convergence of the best start says nothing about that. Here "as good as" is the likelihood-ratio
tolerance: with Laplace-like residuals (Huber with a small delta is nearly L1) the log-likelihood of a fit is
``-n log(sum |r|)`` up to constants, so an objective within a relative ``LIKELIHOOD_RATIO / n`` of the best
is inside a 95% profile region for one coefficient. The candidates are every polished start and every screened
point (whose linear parameters are a weighted least squares, so their objectives are upper bounds: a spread they
show is real). A coefficient whose near-optimal values spread wider than the thresholds below is reported as not
identified. One check for every family and constraint (``identifiability``).

Plausibility. A unit slip (tokens in billions, N and D swapped, perplexity given as loss) still fits and
converges; the thresholds below catch the common ones.

Every threshold is a module constant: change it from Python (``optimal.fitting.diagnostics.MAX_LOSS = 15``) to
change what warns.
"""

import numpy as np

LIKELIHOOD_RATIO = 1.92  # half the 95% point of chi-square with 1 degree of freedom
EXPONENT_SPREAD = 0.5  # alpha or beta: near-optimal values spread over more than half the best value
E_SPREAD = 2.0  # E: near-optimal values differ by more than this factor (or reach 0)
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

_ADVICE = ("what would help: runs over a wider range of N and D (the larger, the better for extrapolation); "
           "or fewer free coefficients: fix E (--fix E=VALUE) or tie the exponents (--tie alpha=beta)")


def near_optimal(z, objective, candidates, values, n_used):
    """The candidates (K, F) whose objective (K,) is within the likelihood-ratio tolerance of ``objective``,
    always including ``z`` (first); and that tolerance (relative)."""
    tolerance = LIKELIHOOD_RATIO / max(n_used, 1)
    keep = np.isfinite(values) & (values <= objective * (1 + tolerance))
    return np.vstack([z[None], candidates[keep]]), tolerance


def identifiability(family, structure, z, objective, candidates, values, data, weights, edges=None):
    """Diagnostics and warnings (text) on whether the runs identify the fit, for any family and constraints.

    Every free entry's natural-value range over the near-optimal candidates is reported. The family's irreducible
    loss (``family.irreducible``, Chinchilla's E) is not identified when its near-optimal values differ by more than
    ``E_SPREAD`` times (or reach 0); a parameter the family declares linear (a scale such as A or B, which trades off
    with the exponents by design) is reported, not judged; any other when its range is wider than
    ``EXPONENT_SPREAD`` times its best value or reaches an edge of the range searched (``edges``).

    Args:
      family: the ``Family``; structure: the problem's ``Structure`` (its free entries' names label the ranges).
      z: the best free vector (F,); objective: its objective.
      candidates (K, F), values (K,): other free vectors with their objectives (polished starts, screen points).
      data: ``(log N, log D, log loss)`` NumPy arrays (n,) of the rows fitted; weights (n,).
      edges: ``{name: (lo, hi)}`` the range the fit searched a parameter in (``optimal.fitting.screen.search_edges``);
        an estimate at or below ``lo``, or at or above ``EXPONENT_EDGE`` x ``hi``, is at the edge.

    Returns:
      ``(diagnostics, warnings)``: a JSON-ready dict and a list of messages.
    """
    log_n, log_d, log_loss = (np.asarray(x) for x in data)
    edges = edges or {}
    n_used = int(np.sum(np.asarray(weights) > 0))
    close, tolerance = near_optimal(np.asarray(z), objective, np.asarray(candidates), np.asarray(values), n_used)
    min_loss = float(np.exp(log_loss.min()))
    param_of = {}
    for (_, j), k in np.ndenumerate(structure.select):
        if k >= 0:
            param_of.setdefault(int(k), family.params[j])
    ranges, best, names = {}, {}, []
    for k, label in enumerate(structure.names):
        param = param_of[k]
        natural = np.asarray(family.to_natural(np.where(np.arange(len(family.params)) == family.index(param),
                                                        close[:, k:k + 1], 0.0))[param])
        lo, hi = float(natural.min()), float(natural.max())
        ranges[label], best[label] = (lo, hi), float(natural[0])
        if param == family.irreducible:
            if hi > E_SPREAD * max(lo, E_AT_ZERO * min_loss) and hi > E_AT_ZERO * min_loss:
                names.append(label)
        elif param not in family.linear:
            edge_lo, edge_hi = edges.get(param, (-np.inf, np.inf))
            if hi - lo > EXPONENT_SPREAD * abs(best[label]) or lo <= edge_lo or hi >= EXPONENT_EDGE * edge_hi:
                names.append(label)
    decades = {"N": float(np.ptp(log_n) / np.log(10)), "D": float(np.ptp(log_d) / np.log(10))}
    found = []
    if names:
        spread = "; ".join(f"{k} from {ranges[k][0]:.3g} to {ranges[k][1]:.3g}" for k in names)
        found.append(
            f"the runs do not identify {', '.join(names)}: fits within {100 * tolerance:.2g}% of the best objective "
            f"(too close for {n_used} runs to tell apart) have {spread}; N spans {decades['N']:.2g} decades and D "
            f"{decades['D']:.2g}; {_ADVICE}")
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
    for symbol, span in decades.items():
        if span < MIN_DECADES:
            found.append(f"{symbol} spans {span:.2g} decades ({np.exp((log_n if symbol == 'N' else log_d).min()):.3g} "
                         f"to {np.exp((log_n if symbol == 'N' else log_d).max()):.3g}): its exponent is poorly identified")
    diagnostics = {"near_optimal_tolerance": tolerance, "n_near_optimal": len(close), "near_optimal_ranges": ranges,
                   "not_identified": names, "decades": decades}
    return diagnostics, found


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
