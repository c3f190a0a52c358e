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


def _loss_derivatives(loss, delta):
    """First and second derivatives of the elementwise robust loss, as functions of the residual."""
    fn = lambda r: ROBUST_LOSSES[loss](r, delta)  # noqa: E731
    first = jax.vmap(jax.grad(fn))
    return fn, first, jax.vmap(jax.grad(jax.grad(fn)))


def value_grad_hessian(theta, log_n, log_d, log_loss, weights, delta=DEFAULT_DELTA, loss="huber"):
    """The objective, its gradient (5,) and its exact Hessian (5, 5) at ``theta`` (5,), in one pass.

    With softmax weights p of the three log-sum-exp terms and z = (e, a - alpha log N, b - beta log D), the
    residual's gradient is J = p^T dz/dtheta and its Hessian sum_k p_k m_k m_k^T - J J^T (m_k = dz_k/dtheta),
    so the objective's Hessian is sum_i w_i [(rho'' - rho') J J^T + rho' sum_k p_k m_k m_k^T]. Cheaper than
    ``jax.hessian`` by a factor of several; ``tests/test_objective.py`` checks it against ``jax.hessian``.
    """
    e, a, b, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    z = jnp.stack([jnp.broadcast_to(e, log_n.shape), a - alpha * log_n, b - beta * log_d], axis=-1)  # (n, 3)
    log_pred = jax.scipy.special.logsumexp(z, axis=-1)
    p = jnp.exp(z - log_pred[:, None])
    r = log_pred - log_loss
    fn, first, second = _loss_derivatives(loss, delta)
    rho, d1, d2 = fn(r), first(r), second(r)
    p_e, p_a, p_b = p[:, 0], p[:, 1], p[:, 2]
    jac = jnp.stack([p_e, p_a, p_b, -p_a * log_n, -p_b * log_d], axis=-1)  # (n, 5): d r / d theta
    value = jnp.sum(weights * rho)
    grad = jac.T @ (weights * d1)
    # sum_k p_k m_k m_k^T has seven distinct non-zero entries (m_e = e0, m_a = e1 - log N e3, m_b = e2 - log D e4)
    c = weights * d1
    ca, cb = c * p_a, c * p_b
    s_a, s_an, s_ann = jnp.sum(ca), -jnp.sum(ca * log_n), jnp.sum(ca * log_n * log_n)
    s_b, s_bd, s_bdd = jnp.sum(cb), -jnp.sum(cb * log_d), jnp.sum(cb * log_d * log_d)
    zero = jnp.zeros_like(s_a)
    curvature = jnp.array(
        [
            [jnp.sum(c * p_e), zero, zero, zero, zero],
            [zero, s_a, zero, s_an, zero],
            [zero, zero, s_b, zero, s_bd],
            [zero, s_an, zero, s_ann, zero],
            [zero, zero, s_bd, zero, s_bdd],
        ]
    )
    hess = (jac * (weights * (d2 - d1))[:, None]).T @ jac + curvature
    return value, grad, hess
