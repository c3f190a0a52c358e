"""The Chinchilla fitting objective, written plainly (a reference for tests and benchmarks): residuals of log-loss and
robust (Huber) losses, nothing about solvers. The fit itself minimises the problem of ``optimal.fitting.problem``,
with the hand-derived derivatives of ``optimal.laws.chinchilla`` for the Chinchilla law.

The coefficient vector ``theta`` has shape ``(..., 5)`` and holds ``(e, a, b, alpha, beta)`` with
``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``, so every coefficient stays positive and the prediction is a
log-sum-exp that cannot overflow for any N, D.
"""

import jax
import jax.numpy as jnp

from .._util.robust import DEFAULT_DELTA, LOSS_DERIVATIVES, ROBUST_LOSSES, huber, squared  # noqa: F401  (the objective's losses)


def log_prediction(theta, log_n, log_d):
    """Predicted log-loss, shape of ``log_n``: ``log(E + A/N^alpha + B/D^beta)`` for ``theta`` of shape (5,)."""
    e, a, b, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    terms = jnp.stack([jnp.broadcast_to(e, log_n.shape), a - alpha * log_n, b - beta * log_d])
    return jax.scipy.special.logsumexp(terms, axis=0)


def residuals(theta, log_n, log_d, log_loss):
    """Predicted minus observed log-loss, one per row."""
    return log_prediction(theta, log_n, log_d) - log_loss


def objective(theta, log_n, log_d, log_loss, weights, delta=DEFAULT_DELTA, loss="huber"):
    """Sum over rows (not the mean: see PITFALLS) of ``weights * loss(residual)``. Scalar."""
    r = residuals(theta, log_n, log_d, log_loss)
    return jnp.sum(weights * ROBUST_LOSSES[loss](r, delta))
