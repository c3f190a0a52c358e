"""Robust losses of log-loss residuals, with their first and second derivatives written out.

Shared by the law families' hand-derived derivatives (``optimal.laws``) and the fitting objective
(``optimal.fitting``): one definition of each loss.
"""

import jax.numpy as jnp

DEFAULT_DELTA = 1e-3  # Hoffmann et al. 2022, App. D.2
# The least Huber threshold a fit takes: the objective scales with delta, and at delta = 1e-320 it underflowed to 0
# (every start "converged" where it began); 1e-10 fits Epoch-like runs (a 1e-10 log-loss residual is far below any
# loss a run reports, so a smaller delta is the L1 loss anyway).
MIN_DELTA = 1e-10


def huber(r, delta=DEFAULT_DELTA):
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (elementwise)."""
    abs_r = jnp.abs(r)
    return jnp.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))


def squared(r, delta=None):
    """Half squared error, a drop-in replacement for ``huber`` (``delta`` is ignored)."""
    return 0.5 * r * r


ROBUST_LOSSES = {"huber": huber, "squared": squared}


def _huber_derivatives(r, delta):
    small = jnp.abs(r) <= delta
    return jnp.clip(r, -delta, delta), small.astype(r.dtype)


def _squared_derivatives(r, delta):
    return r, jnp.ones_like(r)


# first and second derivatives of each robust loss, written out: the solver's inner loop runs on them
LOSS_DERIVATIVES = {"huber": _huber_derivatives, "squared": _squared_derivatives}
