"""Float types: float64 by default, float32 on request, never a silent downgrade.

``import optimal`` turns on ``jax_enable_x64`` because fitting and budgets up to 1e30 FLOPs need float64
(without it JAX silently turns a float64 request into float32). Arrays you create with an explicit dtype
keep it. If you turn x64 back off, asking ``optimal`` for float64 raises ``PrecisionError``.
"""

import jax
import numpy as np

from .errors import PrecisionError


def resolve_dtype(dtype=None):
    """Return the numpy dtype to compute in: float64 (default) or float32.

    Raises ``PrecisionError`` when float64 is asked for but JAX is running without x64.
    """
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise PrecisionError(f"dtype must be float64 or float32, not {dtype}")
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise PrecisionError(
            "float64 was asked for but jax_enable_x64 is off; run "
            "jax.config.update('jax_enable_x64', True) or pass dtype=jnp.float32"
        )
    return dtype
