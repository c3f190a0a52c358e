"""The residuals of a fit: observed minus predicted log loss of its rows, what prediction intervals and held-out
checks build on."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._util.precision import float64_scope
from .problem import residuals


@float64_scope
def log_residuals(result):
    """The fit's (a ``FitResult``'s) log-loss residuals, observed minus predicted, one per fitted row, shape (n,)
    (rows of zero weight included; ``optimal.analysis.predict.residual_scale`` leaves them out)."""
    _, rows = result.problem()
    return -np.asarray(_residuals(result.family, jnp.asarray(result.free), rows))


@functools.partial(jax.jit, static_argnames="family")
def _residuals(family, z, rows):
    return residuals(family, z, rows)
