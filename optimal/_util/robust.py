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
# The largest: a log-loss residual of a float64 loss is at most ~745 in size, so above that the Huber loss is the
# squared loss for every residual there can be (tests/fitting/test_fit.py fits at 1e10 on purpose); the bound only
# keeps delta^2 and its sums finite: at 1e308 the linearised intervals overflowed (delta^2 is inf).
MAX_DELTA = 1e100


def huber(r, delta=DEFAULT_DELTA):
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (elementwise)."""
    abs_r = jnp.abs(r)
    return jnp.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))


def squared(r, delta=None):
    """Half squared error, a drop-in replacement for ``huber`` (``delta`` is ignored)."""
    return 0.5 * r * r


# Runs above the law pull this much of what a run below it pulls, by default (this project's choice: the law sits near
# the 20th percentile of the runs' log-loss where the Huber loss is linear, a/(1+a) = 0.2)
DEFAULT_ASYMMETRY = 0.25
# the smallest asymmetry taken: below about 1e-30 the prediction's interval factor has no root to find (the
# negative side's weight vanishes against the normal's tail), and far below any lower envelope's use
MIN_ASYMMETRY = 1e-6
ASYMMETRIC = "asymmetric-huber"


def asymmetric_huber(r, delta=DEFAULT_DELTA, asymmetry=DEFAULT_ASYMMETRY):
    """Asymmetric (quantile) Huber loss, elementwise: ``huber(r, delta)`` where ``r >= 0`` (the run's loss at or below
    the law: r is predicted minus observed log-loss) and ``asymmetry x huber(r, delta)`` where ``r < 0`` (the run
    above the law: a badly tuned or unlucky run pulls ``asymmetry`` times as hard), ``0 < asymmetry <= 1``; 1 is
    Huber. Continuous with a continuous first derivative (both sides are 0 at r = 0). Where the loss is linear
    (|r| > delta), a sum of it is minimised by the ``asymmetry / (1 + asymmetry)`` quantile of the runs' residuals:
    a lower envelope. Its limit delta -> 0 is the asymmetric absolute error of kyo-takano/chinchilla
    (docs/changes.md, "Loss function: Symmetric -> Asymmetric": lambda |y - y_hat| below the prediction, lambda =
    1 / asymmetry up to a constant factor)."""
    return jnp.where(r >= 0, 1.0, asymmetry) * huber(r, delta)


def loss_name(name: str, asymmetry=None) -> str:
    """The key a fit's settings carry for a robust loss (``Objective.robust``, a fit record's "robust"): ``huber``,
    ``squared``, or ``asymmetric-huber:A`` with the asymmetry A written out (``asymmetry`` None: the default)."""
    if name == ASYMMETRIC:
        return f"{ASYMMETRIC}:{DEFAULT_ASYMMETRY if asymmetry is None else float(asymmetry)!r}"
    return name


def parse_loss(key: str):
    """``(name, asymmetry or None)`` of a loss key (``loss_name``); ``ValueError`` for an unknown one or an asymmetry
    outside [MIN_ASYMMETRY, 1]."""
    name, colon, value = key.partition(":") if isinstance(key, str) else ("", "", "")
    if name == ASYMMETRIC:
        if colon and not value.strip():
            raise ValueError(f"{ASYMMETRIC}: give the asymmetry after the colon ({ASYMMETRIC}:0.5), or drop the colon "
                             f"for the default {DEFAULT_ASYMMETRY:g}")
        asymmetry = float(value) if value else DEFAULT_ASYMMETRY
        if not MIN_ASYMMETRY <= asymmetry <= 1.0:
            raise ValueError(f"the asymmetry of {ASYMMETRIC} must be in [{MIN_ASYMMETRY:g}, 1], got {asymmetry!r}")
        return name, asymmetry
    if value or name not in ("huber", "squared"):
        raise ValueError(f"unknown robust loss {key!r}")
    return name, None


class _ByKey(dict):
    """``{loss key: function}`` that also answers ``asymmetric-huber:A`` for any asymmetry A in [MIN_ASYMMETRY, 1] (the
    key is a static argument of the compiled programs, so each asymmetry compiles once)."""

    def __init__(self, plain, asymmetric):
        super().__init__(plain)
        self._asymmetric = asymmetric

    def __missing__(self, key):
        try:
            name, asymmetry = parse_loss(key)
        except ValueError:
            raise KeyError(key) from None
        if name != ASYMMETRIC:
            raise KeyError(key)
        return self._asymmetric(asymmetry)

    def __contains__(self, key):
        try:
            self[key]
        except (KeyError, TypeError):
            return False
        return True


def _asymmetric_loss(asymmetry):
    return lambda r, delta=DEFAULT_DELTA: asymmetric_huber(r, delta, asymmetry)


ROBUST_LOSSES = _ByKey({"huber": huber, "squared": squared}, _asymmetric_loss)


def _huber_derivatives(r, delta):
    small = jnp.abs(r) <= delta
    return jnp.clip(r, -delta, delta), small.astype(r.dtype)


def _squared_derivatives(r, delta):
    return r, jnp.ones_like(r)


def _asymmetric_derivatives(asymmetry):
    def derivatives(r, delta):
        d1, d2 = _huber_derivatives(r, delta)
        side = jnp.where(r >= 0, 1.0, asymmetry).astype(r.dtype)
        return side * d1, side * d2

    return derivatives


# first and second derivatives of each robust loss, written out: the solver's inner loop runs on them
LOSS_DERIVATIVES = _ByKey({"huber": _huber_derivatives, "squared": _squared_derivatives}, _asymmetric_derivatives)
