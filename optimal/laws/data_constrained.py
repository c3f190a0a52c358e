"""Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (eq. 5 and the authors' README): the
Chinchilla form evaluated at an effective number of tokens D' and of parameters N' when data repeat.

With U unique tokens (a per-run covariate) and R_D = D/U - 1 repetitions beyond the first epoch,
``D' = U + U rd_star (1 - exp(-R_D / rd_star))``: repeated tokens are worth less and less, rd_star the
repetitions after which more are worth 1/e as much. Parameters beyond U_N = min(N, N_opt(U)), the
compute-optimal size for U tokens under this law's own A, B, alpha, beta (the Chinchilla closed form,
``N_opt(x) = G (x G)^(beta/alpha)``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``), decay the same way:
``N' = U_N + U_N rn_star (1 - exp(-R_N / rn_star))``, R_N = N/U_N - 1. Then ``L = E + A/N'^alpha + B/D'^beta``.

The authors require U <= D; as in their allocation code, a U above D counts as D (one partial epoch). U = inf
(the default for allocation) means unlimited unique data: no repetition and no excess parameters, the Chinchilla
law with this law's E, A, B, alpha, beta. (With a finite U, the optimum of an allocation can sit on the kink of
``min(N, N_opt(U))``, where the allocation solver reports it as not converged.) Checked against their README's test vectors in
``tests/laws/test_laws.py``.
"""

from typing import Any, NamedTuple

import jax.numpy as jnp

from .chinchilla import chinchilla_log_loss
from .family import Family


def _effective(log_unique, log_count, star):
    """log of ``U + U star (1 - exp(-R/star))`` with R = count/U - 1 >= 0 (all in logs)."""
    excess = log_count - log_unique
    # where, not maximum: at a tie maximum splits the gradient 50/50; the law is smooth there and the x >= 0
    # branch carries its one-sided (and true) derivative
    repeats = jnp.expm1(jnp.where(excess >= 0, excess, 0.0))
    return log_unique + jnp.log1p(-star * jnp.expm1(-repeats / star))


def data_constrained_log_loss(E, A, B, alpha, beta, rd_star, rn_star, log_n, log_d, log_u):
    """log L of Muennighoff et al.'s law (see the module docstring); ``log_u`` the log of unique tokens."""
    unlimited = jnp.isposinf(log_u)
    log_u = jnp.where(log_d <= log_u, log_d, log_u)  # min; where keeps the true derivative at a tie (as below)
    log_g = (jnp.log(alpha) + jnp.log(A) - jnp.log(beta) - jnp.log(B)) / (alpha + beta)
    # unlimited unique data: no parameter is in excess (Chinchilla itself); the where keeps gradients finite
    useful_params = jnp.where(unlimited, jnp.inf, (beta / alpha) * (log_u + log_g) + log_g)
    log_unique_params = jnp.where(log_n <= useful_params, log_n, useful_params)
    return chinchilla_log_loss(E, A, B, alpha, beta, _effective(log_unique_params, log_n, rn_star),
                               _effective(log_u, log_d, rd_star))


class DataConstrained(NamedTuple):
    """Muennighoff et al. 2023's data-constrained law for ``unique_tokens`` U (default: unlimited)."""

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any
    rd_star: Any
    rn_star: Any
    unique_tokens: Any = float("inf")

    def log_loss(self, log_n, log_d):
        return data_constrained_log_loss(self.E, self.A, self.B, self.alpha, self.beta, self.rd_star, self.rn_star,
                                         log_n, log_d, jnp.log(self.unique_tokens))

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E


DATA_CONSTRAINED = Family(
    name="data-constrained",
    params=DataConstrained._fields[:7],
    log_loss=lambda p, log_n, log_d, covariates: data_constrained_log_loss(
        p["E"], p["A"], p["B"], p["alpha"], p["beta"], p["rd_star"], p["rn_star"], log_n, log_d,
        jnp.log(covariates["U"])),
    law=lambda p, covariates: DataConstrained(**p, unique_tokens=covariates["U"]),
    positive=("E", "A", "B", "alpha", "beta", "rd_star", "rn_star"),
    covariates=("U",),
    covariate_defaults={"U": float("inf")},
    # E, A, B enter linearly but for the weak pull of A and B on N_opt(U): the screen projects them, then
    # evaluates the exact objective
    linear=("E", "A", "B"),
    start_box={"E": (0.37, 2.7), "A": (1.0, 7.2e10), "B": (1.0, 7.2e10), "alpha": (0.05, 1.5), "beta": (0.05, 1.5),
               "rd_star": (0.5, 200.0), "rn_star": (0.5, 200.0)},
    formula="L = E + A/N'^alpha + B/D'^beta, N' and D' effective parameters and tokens (Muennighoff et al. 2023)",
)
