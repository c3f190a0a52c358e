"""The Kaplan law ``L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D`` (Kaplan et al. 2020, eq. 1.5)."""

from typing import Any, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .family import Family


def kaplan_log_loss(alpha_N, alpha_D, N_c, D_c, log_n, log_d):
    """``alpha_D log[(N_c/N)^(alpha_N/alpha_D) + D_c/D]`` as a log-sum-exp. Broadcasts over every argument."""
    log_n, log_d = jnp.broadcast_arrays(log_n, log_d)
    terms = jnp.broadcast_arrays((alpha_N / alpha_D) * (jnp.log(N_c) - log_n), jnp.log(D_c) - log_d)
    return alpha_D * logsumexp(jnp.stack(terms), axis=0)


class Kaplan(NamedTuple):
    """``L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D`` (Kaplan et al. 2020, eq. 1.5).

    N_c and D_c are in parameters and tokens; this law has no irreducible term (it tends to 0).
    """

    alpha_N: Any
    alpha_D: Any
    N_c: Any
    D_c: Any

    def log_loss(self, log_n, log_d):
        return kaplan_log_loss(self.alpha_N, self.alpha_D, self.N_c, self.D_c, log_n, log_d)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return 0.0


KAPLAN = Family(
    name="kaplan",
    params=Kaplan._fields,
    log_loss=lambda p, log_n, log_d, covariates: kaplan_log_loss(
        p["alpha_N"], p["alpha_D"], p["N_c"], p["D_c"], log_n, log_d),
    law=lambda p, covariates: Kaplan(**p),
    positive=("alpha_N", "alpha_D", "N_c", "D_c"),
    # Kaplan et al.'s Table 2 values (0.076, 0.103, 6.4e13, 1.8e13) sit well inside
    start_box={"alpha_N": (0.01, 1.0), "alpha_D": (0.01, 1.0), "N_c": (1e6, 1e18), "D_c": (1e6, 1e18)},
    formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
)
