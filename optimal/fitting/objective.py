"""The Chinchilla fitting objective: residuals of log-loss and robust (Huber) losses, nothing about solvers.

The coefficient vector ``theta`` has shape ``(..., 5)`` and holds ``(e, a, b, alpha, beta)`` with
``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``, so every coefficient stays positive and the prediction is a
log-sum-exp that cannot overflow for any N, D.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np

PARAM_NAMES = ("e", "a", "b", "alpha", "beta")
DEFAULT_DELTA = 1e-3  # Hoffmann et al. 2022, App. D.2


def log_prediction(theta, log_n, log_d):
    """Predicted log-loss, shape of ``log_n``: ``log(E + A/N^alpha + B/D^beta)`` for ``theta`` of shape (5,)."""
    e, a, b, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    terms = jnp.stack([jnp.broadcast_to(e, log_n.shape), a - alpha * log_n, b - beta * log_d])
    return jax.scipy.special.logsumexp(terms, axis=0)


def residuals(theta, log_n, log_d, log_loss):
    """Predicted minus observed log-loss, one per row."""
    return log_prediction(theta, log_n, log_d) - log_loss


def huber(r, delta=DEFAULT_DELTA):
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (elementwise)."""
    abs_r = jnp.abs(r)
    return jnp.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))


def squared(r, delta=None):
    """Half squared error, a drop-in replacement for ``huber`` (``delta`` is ignored)."""
    return 0.5 * r * r


ROBUST_LOSSES = {"huber": huber, "squared": squared}


def objective(theta, log_n, log_d, log_loss, weights, delta=DEFAULT_DELTA, loss="huber"):
    """Sum over rows (not the mean: see PITFALLS) of ``weights * loss(residual)``. Scalar."""
    r = residuals(theta, log_n, log_d, log_loss)
    return jnp.sum(weights * ROBUST_LOSSES[loss](r, delta))


def hoffmann_grid():
    """The 4500 starting points of Hoffmann et al. 2022, App. D.2, as a float64 array of shape (4500, 5).

    alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}.
    Columns follow ``PARAM_NAMES``.
    """
    exps = np.arange(0.0, 2.01, 0.5)
    es = np.arange(-1.0, 1.01, 0.5)
    abs_ = np.arange(0.0, 25.01, 5.0)
    rows = [(e, a, b, al, be) for al, be, e, a, b in itertools.product(exps, exps, es, abs_, abs_)]
    return np.asarray(rows, dtype=np.float64)


def _huber_derivatives(r, delta):
    small = jnp.abs(r) <= delta
    return jnp.clip(r, -delta, delta), small.astype(r.dtype)


def _squared_derivatives(r, delta):
    return r, jnp.ones_like(r)


# first and second derivatives of each robust loss, written out: the solver's inner loop runs on them
LOSS_DERIVATIVES = {"huber": _huber_derivatives, "squared": _squared_derivatives}


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
    ``tests/test_objective.py`` checks all three against ``objective`` and ``jax.hessian``.
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
