"""The Chinchilla law ``L = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2) and its family."""

from typing import Any, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .family import Family


def chinchilla_log_loss(E, A, B, alpha, beta, log_n, log_d):
    """``log(E + A/N^alpha + B/D^beta)`` as ``logsumexp(log E, log A - alpha log N, log B - beta log D)``, so
    that N and D of 1e16 and beyond neither overflow nor lose precision. Broadcasts over every argument."""
    log_n, log_d = jnp.broadcast_arrays(log_n, log_d)
    terms = jnp.broadcast_arrays(jnp.log(E), jnp.log(A) - alpha * log_n, jnp.log(B) - beta * log_d)
    return logsumexp(jnp.stack(terms), axis=0)


def compute_optimal_log_params(law, log_c):
    """``(log N*, log D*)`` of the Chinchilla ``law`` at ``log_c = log(C / k)`` (budget C in FLOPs, C = k N D):
    ``N* = G (C/k)^(beta/(alpha+beta))``, ``D* = (C/k)/N*``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4), in log space. Broadcasts over ``log_c``."""
    s = law.alpha + law.beta
    log_g = (jnp.log(law.alpha * law.A) - jnp.log(law.beta * law.B)) / s
    log_n = log_g + law.beta / s * log_c
    return log_n, log_c - log_n


class Chinchilla(NamedTuple):
    """``L = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2).

    E is the irreducible loss (nats), A and B the scales of the model-size and data terms, alpha and beta
    their exponents.
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any

    def log_loss(self, log_n, log_d):
        return chinchilla_log_loss(self.E, self.A, self.B, self.alpha, self.beta, log_n, log_d)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E


CHINCHILLA = Family(
    name="chinchilla",
    params=Chinchilla._fields,
    log_loss=lambda p, log_n, log_d, covariates: chinchilla_log_loss(
        p["E"], p["A"], p["B"], p["alpha"], p["beta"], log_n, log_d),
    law=lambda p, covariates: Chinchilla(**p),
    positive=("E", "A", "B"),
    linear=("E", "A", "B"),
    # the Hoffmann et al. (App. D.2) grid's ranges: exponents in (0, 2], e in [-1, 1], a and b in [0, 25]
    start_box={"E": (0.37, 2.7), "A": (1.0, 7.2e10), "B": (1.0, 7.2e10), "alpha": (0.01, 2.0), "beta": (0.01, 2.0)},
    formula="L = E + A/N^alpha + B/D^beta",
)
