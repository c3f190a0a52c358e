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
