"""Float types: float64 by default, float32 on request, and never a change to the user's JAX configuration.

``import optimal`` leaves ``jax_enable_x64`` as it finds it. Every public function that computes runs inside
``jax.enable_x64(True)`` (a scoped context, undone on return: ``float64_scope``), so fits and budgets up to
1e30 FLOPs get float64 whatever the process's setting, and ``dtype=jnp.float32`` still computes in float32
because every array is made with an explicit dtype. Results leave as NumPy arrays (or Python floats) where
they are concrete, so their float64 survives outside the scope.
"""

import functools

import jax
import numpy as np

from ..errors import PrecisionError


def resolve_dtype(dtype=None):
    """Return the numpy dtype to compute in: float64 (default) or float32; anything else is a ``PrecisionError``."""
    try:
        dtype = np.dtype(np.float64 if dtype is None else dtype)
    except TypeError:
        raise PrecisionError(f"dtype must be float64 or float32, not {dtype!r}") from None
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise PrecisionError(f"dtype must be float64 or float32, not {dtype}")
    return dtype


def float64_scope(function):
    """Run ``function`` with JAX's float64 support on, for that call only (``jax.enable_x64(True)``)."""

    @functools.wraps(function)
    def scoped(*args, **kwargs):
        with jax.enable_x64(True):
            return function(*args, **kwargs)

    return scoped


def concrete_to_numpy(tree):
    """Leaves that are concrete JAX arrays become NumPy arrays (keeping float64 outside the scope); tracers
    (under ``jit`` or ``grad``) pass through untouched."""
    return jax.tree_util.tree_map(lambda x: x if isinstance(x, jax.core.Tracer) else np.asarray(x), tree)
