"""The SciPy way, for parity tests and benchmarks only: NumPy objective + ``scipy.optimize`` L-BFGS-B, float64.

This module is an independent reference for the JAX fitting path: it re-derives the objective and its
gradient in NumPy instead of importing them from :mod:`optimal.fitting.objective`, so the two can check each other.

Conventions (shared with the rest of ``optimal``): ``N`` is parameters, ``D`` training tokens, ``loss`` the
final loss in nats per token, all shape ``(n_rows,)``. ``theta`` is ``(e, a, b, alpha, beta)`` with
``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``, so the fitted law is ``L = E + A/N^alpha + B/D^beta``. The
objective is the *sum* (not the mean, see PITFALLS) over rows of ``w_i * huber_delta(r_i)`` with the
log-residual ``r_i = log L(N_i, D_i) - log loss_i``.
"""

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from ._util.robust import DEFAULT_DELTA
from .laws.chinchilla import hoffmann_grid

# L-BFGS-B options. SciPy's defaults stop when the decrease is below ftol * max(|f|, 1) with
# ftol = 2.2e-9; the objective is ~1e-3 at the optimum, so that is a ~2e-6 *relative* decrease test that
# fires long before the optimum (Besiroglu et al. 2024): from a warm start a bootstrap refit barely moves.
# "tight" makes the tests scale-free in practice:
# - ftol = 1e-15: since |f| < 1 this is an absolute decrease of 1e-15, i.e. ~1e-12 of the optimum's 1e-3,
#   still above the rounding noise of a sum of a few hundred terms of size <= 1e-3 (~1e-16).
# - gtol = 1e-10 on the projected gradient's largest component: gradient entries are sums of
#   w * huber'(r) * softmax weight * log N (or log D), i.e. up to delta * sum(w) * 25 ~ 1e-3 * 240 * 25 ~ 6,
#   so 1e-10 is ~1e-11 of the gradient's natural scale.
# - maxls = 50: delta = 1e-3 puts kinks in the objective's curvature, where the default 20 line-search steps
#   sometimes run out (7 of 450 Hoffmann-grid starts on Epoch's data ended "ABNORMAL"; none with 50).
_TIGHT = {"ftol": 1e-15, "gtol": 1e-10, "maxls": 50, "maxiter": 10_000, "maxfun": 20_000}
TOLERANCES = {"tight": _TIGHT, "scipy_default": {}}


@dataclass(frozen=True)
class BaselineFit:
    """A multi-start L-BFGS-B fit.

    Attributes:
        theta: best coefficients ``(e, a, b, alpha, beta)``, shape (5,).
        objective: objective at ``theta`` (sum of weighted Huber losses of log-residuals, in nats^2-ish units).
        thetas: end point of every start, shape (S, 5).
        objectives: objective at every end point, shape (S,).
        success: SciPy's convergence flag per start, shape (S,) bool.
        nit: L-BFGS-B iterations per start, shape (S,) int.
        messages: SciPy's stopping reason per start, list of S strings.
        n_starts_at_best: how many starts end within 1e-6 (relative) of the best objective.
        seconds: wall-clock time of the whole fit, in seconds.
    """

    theta: np.ndarray
    objective: float
    thetas: np.ndarray
    objectives: np.ndarray
    success: np.ndarray
    nit: np.ndarray
    messages: list
    n_starts_at_best: int
    seconds: float

    @property
    def message(self):
        """SciPy's stopping reason for the best start."""
        return self.messages[int(np.argmin(self.objectives))]


@dataclass(frozen=True)
class BaselineBootstrap:
    """Best-of-starts L-BFGS-B refits, one per resample.

    Attributes:
        thetas: best coefficients per resample, shape (R, 5).
        objectives: their (weighted) objectives, shape (R,).
        success: SciPy's convergence flag of the best start per resample, shape (R,) bool.
        nit: L-BFGS-B iterations summed over all starts per resample, shape (R,) int.
        seconds: wall-clock time of all refits, in seconds.
    """

    thetas: np.ndarray
    objectives: np.ndarray
    success: np.ndarray
    nit: np.ndarray
    seconds: float


def _huber(r, delta):
    """Huber loss and its derivative, elementwise: with ``c = clip(r, -delta, delta)``, ``c (r - c/2)`` is
    ``r^2/2`` inside ``[-delta, delta]`` and ``delta (|r| - delta/2)`` outside, and ``c`` is its derivative."""
    c = np.minimum(np.maximum(r, -delta), delta)
    return c * (r - 0.5 * c), c


def _objectives(thetas, log_n, log_d, log_loss, weights, delta):
    """Objective for many thetas at once: thetas (K, 5) -> (K,). Used by the screen."""
    e, a, b, alpha, beta = (thetas[:, k, None] for k in range(5))
    z1, z2 = a - alpha * log_n, b - beta * log_d
    m = np.maximum(np.maximum(z1, z2), e)
    r = m + np.log(np.exp(e - m) + np.exp(z1 - m) + np.exp(z2 - m)) - log_loss  # stable log-sum-exp
    return _huber(r, delta)[0] @ weights


def objective_and_grad(theta, log_n, log_d, log_loss, weights=None, delta=DEFAULT_DELTA):
    """Objective and its exact gradient at one ``theta``.

    Args:
        theta: ``(e, a, b, alpha, beta)``, shape (5,).
        log_n, log_d, log_loss: natural logs of parameters, tokens and loss (nats/token), shape (n_rows,).
        weights: per-row weights (e.g. bootstrap resample counts), shape (n_rows,); default all ones.
        delta: Huber threshold on the log-residual.

    Returns:
        ``(f, g)``: the float ``sum_i w_i huber(r_i)`` and its gradient with respect to theta, shape (5,).
    """
    # Written out term by term rather than with np.stack: L-BFGS-B calls this ~100 times per start and
    # 4500 starts per fit, so the per-call overhead of temporaries is most of the cost.
    e, a, b, alpha, beta = (float(x) for x in theta)
    log_n, log_d, log_loss = (np.asarray(x, dtype=np.float64) for x in (log_n, log_d, log_loss))
    z1, z2 = a - alpha * log_n, b - beta * log_d
    m = np.maximum(np.maximum(z1, z2), e)
    p0, p1, p2 = np.exp(e - m), np.exp(z1 - m), np.exp(z2 - m)
    s = p0 + p1 + p2
    r = m + np.log(s) - log_loss  # stable log-sum-exp
    h, psi = _huber(r, delta)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        h, psi = h * weights, psi * weights
    # d r / d (e, a, b) is the softmax p_k / s of the three log-terms; alpha and beta enter through z1, z2.
    psi /= s
    grad = np.array([psi @ p0, psi @ p1, psi @ p2, -(psi * p1) @ log_n, -(psi * p2) @ log_d])
    return float(h.sum()), grad


def _logs(N, D, loss):
    return tuple(np.log(np.asarray(x, dtype=np.float64)) for x in (N, D, loss))


def _minimize(theta0, logs, weights, delta, options):
    """One L-BFGS-B run; returns SciPy's OptimizeResult."""
    return scipy.optimize.minimize(
        objective_and_grad,
        np.asarray(theta0, dtype=np.float64),
        args=(*logs, weights, delta),
        method="L-BFGS-B",
        jac=True,
        options=options,
    )


def _options(tolerances, maxiter=None):
    options = dict(TOLERANCES[tolerances])
    if maxiter is not None:
        options["maxiter"] = maxiter
    return options


def _multistart(starts, logs, weights, delta, options):
    """L-BFGS-B of the Chinchilla objective from every start (``_minimize_each``)."""
    return _minimize_each(starts, lambda s: _minimize(s, logs, weights, delta, options))


def _minimize_each(starts, minimize):
    """``minimize(start)`` (an L-BFGS-B run) from every start, one after another on one BLAS thread (see PITFALLS:
    benchmarking); the best end point and every start's outcome as a ``BaselineFit``."""
    t0 = time.perf_counter()
    with threadpool_limits(1):
        results = [minimize(s) for s in np.asarray(starts, dtype=np.float64)]
    seconds = time.perf_counter() - t0
    objectives = np.array([float(res.fun) for res in results])
    best = int(np.argmin(objectives))
    return BaselineFit(
        theta=results[best].x.copy(),
        objective=float(objectives[best]),
        thetas=np.array([res.x for res in results]),
        objectives=objectives,
        success=np.array([bool(res.success) for res in results]),
        nit=np.array([int(res.nit) for res in results]),
        messages=[str(res.message) for res in results],
        n_starts_at_best=int(np.sum(objectives <= objectives[best] + 1e-6 * abs(objectives[best]))),
        seconds=seconds,
    )


def fit_lbfgsb(N, D, loss, starts=None, delta=DEFAULT_DELTA, weights=None, tolerances="tight", maxiter=None):
    """The classic fit (Hoffmann et al. 2022, App. D.2): L-BFGS-B from every start of a grid, keep the best.

    Args:
        N, D, loss: parameters, training tokens, loss (nats/token), shape (n_rows,).
        starts: starting thetas, shape (S, 5); default ``hoffmann_grid()`` (4500 starts).
        delta: Huber threshold on the log-residual.
        weights: per-row weights, shape (n_rows,); default all ones.
        tolerances: ``"tight"`` (scale-free stopping, see ``_TIGHT``) or ``"scipy_default"`` (SciPy's own,
            which stop early on this objective; kept to demonstrate that trap).
        maxiter: overrides the iteration cap of the chosen tolerances.

    Returns:
        A :class:`BaselineFit`.
    """
    starts = hoffmann_grid() if starts is None else starts
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return _multistart(starts, _logs(N, D, loss), w, delta, _options(tolerances, maxiter))


def _screen(logs, weights, grid_size, delta):
    """Variable projection on a grid: for each (alpha, beta) the law is linear in (E, A, B).

    Returns thetas of shape (grid_size**2, 5) and their true objectives, shape (grid_size**2,).
    """
    log_n, log_d, log_loss = logs
    loss = np.exp(log_loss)
    exps = np.linspace(2.0 / grid_size, 2.0, grid_size)
    alpha, beta = (x.ravel() for x in np.meshgrid(exps, exps, indexing="ij"))
    X = np.stack(
        np.broadcast_arrays(1.0, np.exp(-alpha[:, None] * log_n), np.exp(-beta[:, None] * log_d)), axis=-1
    )  # (K, n_rows, 3)
    # Weighting rows by 1/L makes the linear residual (pred - L)/L ~ log(pred/L), the log-residual we fit.
    row = (np.sqrt(weights) / loss)[:, None]
    Xw, yw = X * row, loss * row[:, 0]
    # Columns span many orders of magnitude (N^-2 ~ 1e-14): scale them to unit norm before the solve.
    scale = np.linalg.norm(Xw, axis=1, keepdims=True)
    coef = (np.linalg.pinv(Xw / scale, rcond=1e-13) @ yw[:, None])[..., 0] / scale[:, 0]
    # A negative coefficient has no log; clamp to a tiny positive value and let the true objective judge it.
    thetas = np.column_stack([np.log(np.maximum(coef, 1e-12)), alpha, beta])
    return thetas, _objectives(thetas, *logs, weights, delta)


def fit_screen_polish(N, D, loss, grid_size=64, n_polish=16, delta=DEFAULT_DELTA, weights=None):
    """The fast classic design: a dense (alpha, beta) screen by linear least squares, then L-BFGS-B.

    For each (alpha, beta) in ``linspace(2/grid_size, 2, grid_size)`` squared, (E, A, B) come from a weighted
    least-squares fit of ``loss`` on features ``(1, N^-alpha, D^-beta)``; the ``n_polish`` screened points
    with the lowest Huber objective are polished by L-BFGS-B with tight tolerances.

    Args:
        N, D, loss: parameters, training tokens, loss (nats/token), shape (n_rows,).
        grid_size: points per exponent axis (grid_size**2 linear solves).
        n_polish: screened points polished by L-BFGS-B.
        delta: Huber threshold on the log-residual.
        weights: per-row weights, shape (n_rows,); default all ones.

    Returns:
        A :class:`BaselineFit` over the ``n_polish`` polished starts; ``seconds`` includes the screen.
    """
    t0 = time.perf_counter()
    logs = _logs(N, D, loss)
    w = np.ones_like(logs[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    with threadpool_limits(1):
        thetas, objectives = _screen(logs, w, grid_size, delta)
    starts = thetas[np.argsort(objectives)[:n_polish]]
    fit = _multistart(starts, logs, w, delta, TOLERANCES["tight"])
    return dataclasses.replace(fit, seconds=time.perf_counter() - t0)


def bootstrap_lbfgsb(N, D, loss, counts, starts, delta=DEFAULT_DELTA, tolerances="tight"):
    """Bootstrap refits: for each resample, L-BFGS-B from every start with the resample counts as weights.

    Args:
        N, D, loss: parameters, training tokens, loss (nats/token), shape (n_rows,).
        counts: resample multiplicities, int array of shape (R, n_rows).
        starts: starting thetas, shape (K, 5), e.g. the full-data optimum and other good local minima.
        delta: Huber threshold on the log-residual.
        tolerances: ``"tight"`` or ``"scipy_default"`` (the trap: from a warm start SciPy's defaults barely
            move and intervals come out ~25x too narrow, Besiroglu et al. 2024).

    Returns:
        A :class:`BaselineBootstrap`.
    """
    t0 = time.perf_counter()
    logs, options = _logs(N, D, loss), _options(tolerances)
    fits = [_multistart(starts, logs, w, delta, options) for w in np.asarray(counts, dtype=np.float64)]
    return BaselineBootstrap(
        thetas=np.array([f.theta for f in fits]),
        objectives=np.array([f.objective for f in fits]),
        success=np.array([bool(f.success[np.argmin(f.objectives)]) for f in fits]),
        nit=np.array([int(f.nit.sum()) for f in fits]),
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------------------------
# Muennighoff et al. 2023's data-constrained law, the SciPy way
# ---------------------------------------------------------------------------------------------------------------
# theta = (e, a, b, alpha, beta, log_rd_star, log_rn_star): E, A, B, rd_star, rn_star are the exps. The law (the
# authors' README, huggingface/datablations), with U_eff = min(U, D) so that one (partial) epoch gives D' = D:
#   R_D = D/U_eff - 1,                     D' = U_eff (1 + rd_star (1 - exp(-R_D/rd_star)))
#   log U_N = min(log N, c),  c = log N_opt(U_eff) = (beta log U_eff + log alpha - log beta + a - b) / alpha
#   R_N = N/U_N - 1,                       N' = U_N (1 + rn_star (1 - exp(-R_N/rn_star)))
#   L = E + A/N'^alpha + B/D'^beta
# (c is the README's log D_to_N(U) = (beta/alpha)(log U + log G) + log G, log G = (log alpha + a - log beta - b)
# /(alpha + beta), simplified.)

DATA_CONSTRAINED_PARAM_NAMES = ("e", "a", "b", "alpha", "beta", "log_rd_star", "log_rn_star")

# L-BFGS-B bounds. alpha, beta in [0.01, 3]: the exponents must stay positive (log alpha, log beta enter c) and
# published fits lie in 0.05..1. rd_star, rn_star in [0.1, 1e4]: below 0.1 repeated data (or excess parameters)
# are worth less than a tenth of one epoch (of U_N), indistinguishable from worthless; above ~1e3 the decay
# exp(-R/r*) is ~1 - R/r* for any plausible R (<= a few hundred epochs), indistinguishable from "repeats are
# as good as new", and the bound stops a drift along that flat direction. e, a, b are free, as in fit_lbfgsb.
DATA_CONSTRAINED_BOUNDS = ((None, None), (None, None), (None, None), (0.01, 3.0), (0.01, 3.0),
                           (float(np.log(0.1)), float(np.log(1e4))), (float(np.log(0.1)), float(np.log(1e4))))

# expm1(t) overflows past t ~ 709: cap log(count/unique) at 700 (a ratio of e^700, far beyond any real run). The
# capped value is the uncapped one to rounding, since exp(-R/r*) underflows to 0 long before.
_MAX_LOG_RATIO = 700.0


def _effective_and_derivatives(log_unique, log_count, log_star):
    """log of ``U (1 + r* (1 - exp(-R/r*)))``, R = count/U - 1 >= 0 (logs in, elementwise), and its derivatives.

    Returns ``(value, d value / d log_unique, d value / d log_star)``. With ``t = log_count - log_unique >= 0``,
    ``q = R/r*`` and ``S = 1 + r* (1 - e^-q)``: d/d log_unique = 1 - e^(t - q)/S (0 at t = 0, so the min/max kinks
    of the law are C^1), and d/d log r* = r* ((1 - e^-q) - q e^-q) / S.
    """
    t = np.minimum(log_count - log_unique, _MAX_LOG_RATIO)  # >= 0 by construction of the callers
    star = np.exp(log_star)
    q = np.expm1(t) / star
    one_minus = -np.expm1(-q)
    s = 1.0 + star * one_minus
    value = log_unique + np.log(s)
    d_unique = 1.0 - np.exp(t - q) / s
    d_star = star * (one_minus - q * np.exp(-q)) / s
    return value, d_unique, d_star


def _data_constrained_parts(theta, log_n, log_d, log_u):
    """The law's pieces at one theta: log L, its softmax weights and the derivatives the gradient needs."""
    e, a, b, alpha, beta, log_rd, log_rn = (float(x) for x in theta)
    log_n, log_d, log_u = (np.asarray(x, dtype=np.float64) for x in (log_n, log_d, log_u))
    log_u = np.minimum(log_u, log_d)  # U_eff = min(U, D)
    log_dp, _, dd_star = _effective_and_derivatives(log_u, log_d, log_rd)
    c = (beta * log_u + np.log(alpha) - np.log(beta) + a - b) / alpha  # log N_opt(U_eff)
    log_un = np.minimum(log_n, c)
    log_np, dn_unique, dn_star = _effective_and_derivatives(log_un, log_n, log_rn)
    # dn_unique is d log N'/d c where c < log N and 0 where c >= log N (there t = 0): no branch needed
    z1, z2 = a - alpha * log_np, b - beta * log_dp
    m = np.maximum(np.maximum(z1, z2), e)
    p0, p1, p2 = np.exp(e - m), np.exp(z1 - m), np.exp(z2 - m)
    s = p0 + p1 + p2
    log_l = m + np.log(s)  # stable log-sum-exp
    return log_l, (p0 / s, p1 / s, p2 / s), (alpha, beta, log_u, log_np, log_dp, c, dn_unique, dn_star, dd_star)


def data_constrained_log_loss(theta, log_n, log_d, log_u):
    """log L(N, D, U) of Muennighoff et al. 2023's data-constrained law, in NumPy, stable in log space.

    Args:
        theta: ``(e, a, b, alpha, beta, log_rd_star, log_rn_star)``, shape (7,); ``E = exp(e)`` etc.
        log_n, log_d, log_u: natural logs of parameters, training tokens and unique tokens, shape (n_rows,).
            A U above D counts as D (one partial epoch: D' = D); ``log_u = inf`` means unlimited data.

    Returns:
        log L, shape (n_rows,).

    Example:
        >>> from optimal.data.synthetic import MUENNIGHOFF_THETA
        >>> float(np.exp(data_constrained_log_loss(MUENNIGHOFF_THETA, np.log([6.34e9]), np.log([242e9]),
        ...                                        np.log([25e9])))[0])  # doctest: +ELLIPSIS
        2.22564408899...
    """
    return _data_constrained_parts(theta, log_n, log_d, log_u)[0]


def data_constrained_objective_and_grad(theta, log_n, log_d, log_u, log_loss, weights=None, delta=DEFAULT_DELTA):
    """Objective ``sum_i w_i huber_delta(log L(N_i, D_i, U_i) - log loss_i)`` and its exact gradient.

    The gradient is derived by hand (no autodiff), through the min/max clauses (both C^1 in theta), the
    compute-optimal size N_opt(U) (which depends on a, b, alpha, beta) and the expm1/log1p decay terms.

    Args:
        theta: ``(e, a, b, alpha, beta, log_rd_star, log_rn_star)``, shape (7,).
        log_n, log_d, log_u, log_loss: natural logs of parameters, tokens, unique tokens and loss, shape (n_rows,).
        weights: per-row weights, shape (n_rows,); default all ones.
        delta: Huber threshold on the log-residual.

    Returns:
        ``(f, g)``: the float objective and its gradient with respect to theta, shape (7,).
    """
    log_l, (p0, p1, p2), parts = _data_constrained_parts(theta, log_n, log_d, log_u)
    alpha, beta, log_u, log_np, log_dp, c, g_c, dn_star, dd_star = parts
    h, psi = _huber(log_l - np.asarray(log_loss, dtype=np.float64), delta)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        h, psi = h * weights, psi * weights
    # log L = lse(e, a - alpha log N', b - beta log D'); log N' depends on theta through c (chain factor g_c) and
    # log rn_star; dc/da = 1/alpha, dc/db = -1/alpha, dc/dalpha = (1/alpha - c)/alpha, dc/dbeta = (log U - 1/beta)
    # /alpha, so alpha dc/d(.) is what multiplies p1 g_c.
    u1, u2 = psi * p1, psi * p2
    u1c = u1 * g_c
    grad = np.array([
        psi @ p0,
        u1.sum() - u1c.sum(),
        u2.sum() + u1c.sum(),
        -(u1 @ log_np) - u1c @ (1.0 / alpha - c),
        -(u2 @ log_dp) - u1c @ (log_u - 1.0 / beta),
        -beta * (u2 @ dd_star),
        -alpha * (u1 @ dn_star),
    ])
    return float(h.sum()), grad


def data_constrained_grid():
    """Default starts for :func:`fit_data_constrained_lbfgsb`, in the spirit of Hoffmann et al.'s grid: 1944 starts.

    alpha, beta in {0.2, 0.5, 1.0}; e in {-1, 0, 1}; a, b in {0, 5, 10, 15, 20, 25}; (rd_star, rn_star) in
    {(2, 2), (30, 30)} (rd_star, rn_star themselves, not their logs). Columns follow
    ``DATA_CONSTRAINED_PARAM_NAMES``. Shape (1944, 7), float64.
    """
    exps, es, abs_ = (0.2, 0.5, 1.0), (-1.0, 0.0, 1.0), (0.0, 5.0, 10.0, 15.0, 20.0, 25.0)
    stars = ((2.0, 2.0), (30.0, 30.0))
    rows = [(e, a, b, al, be, np.log(rd), np.log(rn))
            for al in exps for be in exps for e in es for a in abs_ for b in abs_ for rd, rn in stars]
    return np.asarray(rows, dtype=np.float64)


def fit_data_constrained_lbfgsb(N, D, U, loss, starts=None, delta=DEFAULT_DELTA, weights=None, tolerances="tight",
                                maxiter=None):
    """Muennighoff et al. 2023's law fitted the classic way: bounded L-BFGS-B from every start, keep the best.

    "Exhaustive" here means what it means for Hoffmann et al.'s fit: every start of a fixed grid is run to
    convergence (no screen, no early stopping of bad starts) and the lowest objective wins; it finds the global
    optimum only as far as the grid's basins cover it (see ``n_starts_at_best``). Bounds:
    ``DATA_CONSTRAINED_BOUNDS`` (alpha, beta in [0.01, 3]; rd_star, rn_star in [0.1, 1e4]; e, a, b free).

    Args:
        N, D, U, loss: parameters, training tokens, unique tokens, loss (nats/token), shape (n_rows,).
        starts: starting thetas ``(e, a, b, alpha, beta, log_rd_star, log_rn_star)``, shape (S, 7); default
            :func:`data_constrained_grid` (1944 starts). Starts outside the bounds are clipped by SciPy.
        delta: Huber threshold on the log-residual.
        weights: per-row weights, shape (n_rows,); default all ones.
        tolerances: ``"tight"`` or ``"scipy_default"``, as in :func:`fit_lbfgsb`.
        maxiter: overrides the iteration cap of the chosen tolerances.

    Returns:
        A :class:`BaselineFit` whose thetas have 7 columns.
    """
    starts = data_constrained_grid() if starts is None else np.asarray(starts, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    logs = tuple(np.log(np.asarray(x, dtype=np.float64)) for x in (N, D, U, loss))
    options = _options(tolerances, maxiter)
    return _minimize_each(starts, lambda s: scipy.optimize.minimize(
        data_constrained_objective_and_grad, s, args=(*logs, w, delta), method="L-BFGS-B", jac=True,
        bounds=DATA_CONSTRAINED_BOUNDS, options=options))
