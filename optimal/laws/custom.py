"""A user's own loss surface: a law from any JAX function, and a family to fit one from Python."""

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from ..errors import CoefficientsError
from .family import Family


@jax.tree_util.register_pytree_node_class
class CustomLaw:
    """A user's own loss surface: ``fn(N, D)`` or, with ``params``, ``fn(N, D, params)``.

    ``fn`` must be a JAX-traceable function returning the loss (positive); ``params`` is any pytree of
    coefficients and is what ``jax.grad`` differentiates through the solver.
    """

    def __init__(self, fn: Callable, params=None):
        self.fn = fn
        self.params = params

    def loss(self, n, d):
        return self.fn(n, d) if self.params is None else self.fn(n, d, self.params)

    def log_loss(self, log_n, log_d):
        return jnp.log(self.loss(jnp.exp(log_n), jnp.exp(log_d)))

    def irreducible_loss(self):
        return None

    def tree_flatten(self):
        return (self.params,), self.fn

    @classmethod
    def tree_unflatten(cls, fn, children):
        return cls(fn, children[0])


def as_law(law):
    """Return ``law`` if it has ``log_loss``; wrap a plain function ``f(N, D)`` in ``CustomLaw``."""
    if hasattr(law, "log_loss"):
        return law
    if callable(law):
        return CustomLaw(law)
    raise CoefficientsError(f"a law must have a log_loss method or be a function f(N, D), not {type(law).__name__}")


def custom_family(name, loss, params, start_box, *, positive=(), bounds=None, covariates=(), covariate_defaults=None,
                  linear=(), formula=""):
    """A ``Family`` for a user's own law ``loss(p, N, D, covariates) -> L`` (nats; JAX-traceable).

    ``p`` maps each of ``params`` to its value (a scalar or one value per row), N and D are arrays of
    parameters and tokens, ``covariates`` maps each name in ``covariates`` to its per-row values. The other
    arguments are as in ``Family``; ``start_box`` needs a ``(lo, hi)`` range for every parameter.

    Example::

        family = custom_family("tied", lambda p, n, d, cov: p["E"] + p["A"] / n**p["a"] + p["B"] / d**p["a"],
                               ("E", "A", "B", "a"), {"E": (0.5, 3), "A": (1, 1e6), "B": (1, 1e6), "a": (0.05, 1)},
                               positive=("E", "A", "B"), linear=("E", "A", "B"))
        result = optimal.fit(n, d, loss, law=family)
    """
    def log_loss(p, log_n, log_d, cov):
        return jnp.log(loss(p, jnp.exp(log_n), jnp.exp(log_d), cov))

    def law(p, cov):
        return CustomLaw(_evaluator(loss), (p, cov))

    return Family(name=name, params=tuple(params), log_loss=log_loss, law=law, positive=tuple(positive),
                  bounds=dict(bounds or {}), covariates=tuple(covariates), covariate_defaults=dict(covariate_defaults or {}),
                  linear=tuple(linear), start_box=dict(start_box), formula=formula or f"a user's law ({name})")


@functools.lru_cache(maxsize=None)
def _evaluator(loss):
    """``fn(N, D, (p, covariates))`` for ``CustomLaw``, one per ``loss`` so compiled solves are reused."""
    return lambda n, d, params: loss(params[0], n, d, params[1])
