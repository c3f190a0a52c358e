"""The Chinchilla law ``L = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2) and its family, with the
family's speed: hand-derived objective derivatives, a variable-projection screen and the Hoffmann start grid.

Screen: for fixed exponents (alpha, beta) the model is linear in (E, A, B), so each point of a
``grid_size x grid_size`` grid of exponents costs one 3x3 weighted least-squares solve (weights 1/L^2, which
makes loss residuals approximate log-loss residuals) and one objective evaluation. The polish starts from the
best local minima of that map (then the best remaining points).

Fitting space: ``theta = (e, a, b, alpha, beta)`` with ``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``.
"""

import functools
import itertools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from .._util.robust import DEFAULT_DELTA, LOSS_DERIVATIVES, ROBUST_LOSSES
from .family import Family


def chinchilla_log_loss(E, A, B, alpha, beta, log_n, log_d):
    """``log(E + A/N^alpha + B/D^beta)`` as ``logsumexp(log E, log A - alpha log N, log B - beta log D)``, so
    that N and D of 1e16 and beyond neither overflow nor lose precision. Broadcasts over every argument."""
    log_n, log_d = jnp.broadcast_arrays(log_n, log_d)
    terms = jnp.broadcast_arrays(jnp.log(E), jnp.log(A) - alpha * log_n, jnp.log(B) - beta * log_d)
    return logsumexp(jnp.stack(terms), axis=0)


def compute_optimal_log_params(law, log_c):
    """``(log N*, log D*)`` of the Chinchilla ``law`` at ``log_c = log(C / k)`` (budget C in FLOPs, C = k N D):
    ``N* = G (C/k)^(beta/(alpha+beta))``, ``D* = (C/k)/N*``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4), in log space. Broadcasts over ``log_c``."""
    s = law.alpha + law.beta
    log_g = (jnp.log(law.alpha * law.A) - jnp.log(law.beta * law.B)) / s
    log_n = log_g + law.beta / s * log_c
    return log_n, log_c - log_n


class Chinchilla(NamedTuple):
    """``L = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2).

    E is the irreducible loss (nats), A and B the scales of the model-size and data terms, alpha and beta
    their exponents.
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any

    def log_loss(self, log_n, log_d):
        return chinchilla_log_loss(self.E, self.A, self.B, self.alpha, self.beta, log_n, log_d)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E

    def capped_loss_floor(self, log_d_max, log_n_max):
        """The loss an infinite budget approaches when D <= exp(log_d_max) and N <= exp(log_n_max) (infinite: no
        cap): E plus the data and model terms at their caps."""
        floor = self.E
        floor = floor + jnp.where(jnp.isfinite(log_d_max), self.B * jnp.exp(-self.beta * log_d_max), 0.0)
        return floor + jnp.where(jnp.isfinite(log_n_max), self.A * jnp.exp(-self.alpha * log_n_max), 0.0)


def exponent_grid(grid_size: int, dtype=np.float64):
    """The screen's exponents: ``grid_size`` values evenly spaced in (0, 2], the Hoffmann grid's range."""
    return np.linspace(2.0 / grid_size, 2.0, grid_size, dtype=dtype)


SCREEN_CELLS = 1 << 21  # grid points x rows per block of the screen: its (G, G, rows) intermediates stay near 16 MB


def screen_block_rows(grid_size: int, n_rows: int, cells: int = SCREEN_CELLS) -> int:
    """Rows per block of the screen: as many as keep grid_size^2 x rows under ``cells`` (at least 1, at most
    ``n_rows``), so the screen's memory does not grow with the rows."""
    return max(1, min(int(n_rows), cells // (grid_size * grid_size)))


def _blocks(x, block, fill):
    """(n,) -> (ceil(n / block), block), the tail padded with ``fill``."""
    n_blocks = -(-x.shape[0] // block)
    return jnp.pad(x, (0, n_blocks * block - x.shape[0]), constant_values=fill).reshape(n_blocks, block)


@functools.partial(jax.jit, static_argnames=("loss", "block"))
def _screen_map(exps, data, weights, delta, loss="huber", block=None):
    """The screen in two passes over blocks of ``block`` rows (memory ~ G^2 x block, whatever the rows).

    The features N^-alpha (one row per alpha) and D^-beta (one per beta) are separable, so pass 1 sums, for every
    (alpha, beta) at once, the weighted Gram matrix of [1, N^-alpha, D^-beta] and its right-hand side (weights
    1/L^2); its only (alpha, beta) term is one matrix product. Then a 3x3 solve per point gives (E, A, B) (a
    negative coefficient, which means the data want that term gone, is floored tiny but positive: a finite log),
    and pass 2 sums each point's objective over the rows."""
    log_n, log_d, log_loss = data
    g, n = exps.shape[0], log_n.shape[0]
    block = screen_block_rows(g, n) if block is None else block
    loss_values = jnp.exp(log_loss)
    # padding rows: infinite N and D make both features 0, weight 0 makes them count for nothing
    rows = (_blocks(log_n, block, jnp.inf), _blocks(log_d, block, jnp.inf), _blocks(log_loss, block, 0.0),
            _blocks(weights, block, 0.0))

    def features(log_n, log_d):
        return jnp.exp(-exps[:, None] * log_n), jnp.exp(-exps[:, None] * log_d)  # (G, block) each

    def sums(total, blk):
        log_n, log_d, log_loss, w = blk
        xa, xb = features(log_n, log_d)
        loss_values = jnp.exp(log_loss)
        sw = w / (loss_values * loss_values)
        swl = sw * loss_values
        part = (jnp.sum(sw), xa @ sw, xb @ sw, (xa * xa) @ sw, (xb * xb) @ sw, (xa * sw) @ xb.T,
                jnp.sum(swl), xa @ swl, xb @ swl, jnp.max(xa, axis=1), jnp.max(xb, axis=1))
        return tuple(t + p for t, p in zip(total[:-2], part[:-2])) + tuple(
            jnp.maximum(t, p) for t, p in zip(total[-2:], part[-2:])), None

    dtype = log_n.dtype
    zero = (jnp.zeros((), dtype),) + (jnp.zeros(g, dtype),) * 4 + (jnp.zeros((g, g), dtype), jnp.zeros((), dtype)) + (
        jnp.zeros(g, dtype),) * 2 + (jnp.full(g, -jnp.inf, dtype),) * 2
    (s, sa, sb, saa, sbb, sab, r, ra, rb, max_a, max_b), _ = jax.lax.scan(sums, zero, rows)
    full = lambda x: jnp.broadcast_to(x, (g, g))  # noqa: E731
    col = lambda x: full(x[:, None])  # noqa: E731  alpha varies along rows
    row = lambda x: full(x[None, :])  # noqa: E731  beta along columns
    gram = jnp.stack([jnp.stack([full(s), col(sa), row(sb)], -1), jnp.stack([col(sa), col(saa), sab], -1),
                      jnp.stack([row(sb), sab, row(sbb)], -1)], -2)  # (G, G, 3, 3)
    rhs = jnp.stack([full(r), col(ra), row(rb)], -1)  # (G, G, 3)
    scale = jnp.sqrt(jnp.diagonal(gram, axis1=-2, axis2=-1)) + jnp.finfo(dtype).tiny
    coef = jnp.linalg.solve(gram / (scale[..., :, None] * scale[..., None, :]), (rhs / scale)[..., None])[..., 0] / scale
    floor = 1e-6 * jnp.min(loss_values) / jnp.stack([jnp.ones((g, g), dtype), col(max_a), row(max_b)], -1)
    coef = jnp.maximum(coef, floor)
    theta = jnp.concatenate([jnp.log(coef), col(exps)[..., None], row(exps)[..., None]], -1)  # (G, G, 5)
    e_, a_, b_ = (jnp.exp(theta[..., k])[..., None] for k in range(3))  # the objective's E, A, B (from theta)
    rho = ROBUST_LOSSES[loss]

    def objective_sums(total, blk):
        log_n, log_d, log_loss, w = blk
        xa, xb = features(log_n, log_d)
        r = jnp.log(e_ + a_ * xa[:, None, :] + b_ * xb[None, :, :]) - log_loss  # (G, G, block)
        return total + jnp.sum(w * rho(r, delta), axis=-1), None

    values, _ = jax.lax.scan(objective_sums, jnp.zeros((g, g), dtype), rows)
    return theta, jnp.where(jnp.isfinite(values), values, jnp.inf)


def screen_map(data, weights, grid_size=64, delta=DEFAULT_DELTA, loss="huber"):
    """Every point of the exponent grid with its projected (E, A, B): theta (G, G, 5) and objective (G, G),
    NumPy arrays, rows alpha and columns beta (``exponent_grid``). Non-finite objectives are inf."""
    exps = jnp.asarray(exponent_grid(grid_size), data[0].dtype)
    theta, values = _screen_map(exps, data, weights, delta, loss)
    return np.asarray(theta), np.asarray(values)


def screen_starts(theta, values, n_starts=16):
    """Starting points from a ``screen_map``, best first: shape (n_starts, 5).

    Local minima of the objective over the exponent grid (8 neighbours) come first, in order of objective,
    so that distinct basins are polished; the best remaining grid points fill the rest.
    """
    grid_size = values.shape[0]
    padded = np.pad(values, 1, constant_values=np.inf)
    neighbours = np.stack(
        [padded[1 + i : 1 + i + grid_size, 1 + j : 1 + j + grid_size] for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
    )
    is_local_min = np.all(values <= neighbours, axis=0) & np.isfinite(values)
    order = np.lexsort((values.ravel(), ~is_local_min.ravel()))  # local minima first, then by objective
    return theta.reshape(-1, 5)[order[:n_starts]]


def screen(data, weights, grid_size=64, n_starts=16, delta=DEFAULT_DELTA, loss="huber"):
    """Starting points from the variable-projection screen, best first: shape (n_starts, 5); grid points are
    ranked by the objective being fitted (``loss``: "huber" with ``delta``, or "squared")."""
    return screen_starts(*screen_map(data, weights, grid_size, delta, loss), n_starts)


def hoffmann_grid():
    """The 4500 starting points of Hoffmann et al. 2022, App. D.2, as a float64 array of shape (4500, 5).

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}.
    Columns follow the fitting space ``(e, a, b, alpha, beta)``.
    """
    exps = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    abs_ = np.arange(0.0, 25.01, 5.0)
    rows = [(e, a, b, al, be) for al, be, e, a, b in itertools.product(exps, exps, es, abs_, abs_)]
    return np.asarray(rows, dtype=np.float64)


def value_grad_hessian(theta, log_n, log_d, log_loss, weights, delta=DEFAULT_DELTA, loss="huber"):
    """The objective, its gradient (5,), its exact Hessian (5, 5) and the gradient's scale (5,) at ``theta`` (5,).

    The scale is ``sum_i |w_i rho'(r_i) dr_i/dtheta_j|``, the size of the terms each gradient component sums:
    rounding leaves the computed gradient uncertain by ~eps x scale, so that is the floor a solver can reach
    whatever ``delta`` or the weights are.

    With p the shares of E, A/N^alpha and B/D^beta in the predicted loss and z = (e, a - alpha log N,
    b - beta log D), the residual's gradient is J = p^T dz/dtheta and its Hessian sum_k p_k m_k m_k^T - J J^T
    (m_k = dz_k/dtheta), so the objective's Hessian is sum_i w_i [(rho'' - rho') J J^T + rho' sum_k p_k m_k m_k^T].
    The terms are formed directly rather than through a log-sum-exp (two exponentials per row, not three): for
    the coefficient ranges a fit visits (a, b < 700) they cannot overflow in float64 or float32.
    ``tests/fitting/test_objective.py`` checks all three against ``objective`` and ``jax.hessian``.
    """
    e, a, b, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    term_e = jnp.exp(e)
    term_a = jnp.exp(a - alpha * log_n)
    term_b = jnp.exp(b - beta * log_d)
    prediction = term_e + term_a + term_b
    r = jnp.log(prediction) - log_loss
    p_e, p_a, p_b = term_e / prediction, term_a / prediction, term_b / prediction
    d1, d2 = LOSS_DERIVATIVES[loss](r, delta)
    value = jnp.sum(weights * ROBUST_LOSSES[loss](r, delta))
    c = weights * d1
    pa_n, pb_d = p_a * log_n, p_b * log_d
    g_e, g_a, g_b = jnp.sum(c * p_e), jnp.sum(c * p_a), jnp.sum(c * p_b)
    g_alpha, g_beta = -jnp.sum(c * pa_n), -jnp.sum(c * pb_d)
    grad = jnp.stack([g_e, g_a, g_b, g_alpha, g_beta])
    # sum_k p_k m_k m_k^T: m_e = e0, m_a = e1 - log N e3, m_b = e2 - log D e4; its sums reuse the gradient's
    zero = jnp.zeros_like(g_e)
    curvature = jnp.stack(
        [
            jnp.stack([g_e, zero, zero, zero, zero]),
            jnp.stack([zero, g_a, zero, g_alpha, zero]),
            jnp.stack([zero, zero, g_b, zero, g_beta]),
            jnp.stack([zero, g_alpha, zero, jnp.sum(c * pa_n * log_n), zero]),
            jnp.stack([zero, zero, g_beta, zero, jnp.sum(c * pb_d * log_d)]),
        ]
    )
    jac = jnp.stack([p_e, p_a, p_b, -pa_n, -pb_d])  # (5, n): d r / d theta
    hess = (jac * (weights * (d2 - d1))) @ jac.T + curvature
    scale = jnp.abs(jac) @ jnp.abs(c)
    return value, grad, hess, scale


def _screen(log_n, log_d, log_loss, covariates, weights, n_starts, delta, loss, grid_size):
    """The family's screen capability (``Family.screen``): starts, and every grid point with its objective."""
    theta, values = screen_map((log_n, log_d, log_loss), weights, grid_size, delta, loss)
    return screen_starts(theta, values, n_starts), theta.reshape(-1, 5), values.ravel()


def _screen_edges(grid_size):
    lowest = float(exponent_grid(grid_size)[0])
    return {"alpha": (lowest, 2.0), "beta": (lowest, 2.0)}


def _value_grad_hessian(theta, log_n, log_d, log_loss, covariates, weights, delta, loss):
    return value_grad_hessian(theta, log_n, log_d, log_loss, weights, delta, loss)


def _coefficient_lines(p):
    """A fit summary's coefficient block for the unconstrained law: E, A, alpha, B, beta and the allocation exponents
    (N* ~ C^(beta/(alpha+beta)), D* ~ C^(alpha/(alpha+beta)))."""
    return [
        f"  {'E':>6} {p['E']:12.6g}     irreducible loss (nats)",
        f"  {'A':>6} {p['A']:12.6g}     {'alpha':>5} {p['alpha']:.6g}",
        f"  {'B':>6} {p['B']:12.6g}     {'beta':>5} {p['beta']:.6g}",
        f"  allocation exponents: N* ~ C^{p['beta'] / (p['alpha'] + p['beta']):.4f}, "
        f"D* ~ C^{p['alpha'] / (p['alpha'] + p['beta']):.4f}",
    ]


CHINCHILLA = Family(
    name="chinchilla",
    params=Chinchilla._fields,
    log_loss=lambda p, log_n, log_d, covariates: chinchilla_log_loss(
        p["E"], p["A"], p["B"], p["alpha"], p["beta"], log_n, log_d),
    law=lambda p, covariates: Chinchilla(**p),
    positive=("E", "A", "B"),
    linear=("E", "A", "B"),
    # the Hoffmann et al. (App. D.2) grid's ranges: exponents in (0, 2], e in [-1, 1], a and b in [0, 25]
    start_box={"E": (0.37, 2.7), "A": (1.0, 7.2e10), "B": (1.0, 7.2e10), "alpha": (0.01, 2.0), "beta": (0.01, 2.0)},
    formula="L = E + A/N^alpha + B/D^beta",
    irreducible="E",
    search_edges={"alpha": (0.0, 2.0), "beta": (0.0, 2.0)},  # the Hoffmann grid's range
    fitting_names=("e", "a", "b", "alpha", "beta"),
    value_grad_hessian=_value_grad_hessian,
    screen=_screen,
    screen_edges=_screen_edges,
    start_grids={"hoffmann": hoffmann_grid},
    display_name="Chinchilla",
    coefficient_lines=_coefficient_lines,
)
