"""Laws for mixtures of experts (MoE): loss in *active* parameters, tokens, and the experts' layout.

Units: N is the number of **active** non-embedding parameters (those one token runs: the attention, the shared
parts and the experts the router picks), D training tokens, loss in nats per token. Training FLOPs follow the
active parameters (C = 6 N D by default); memory follows the *total* parameters (every expert is held). At a fixed
layout both laws are the Chinchilla form in (N, D), so ``at_fixed()`` gives that law and ``compute_optimal`` its
allocation; ``optimal.allocation.moe`` adds the total parameters.

* ``FineGrainedMoE``, Krajewski et al. 2024, "Scaling Laws for Fine-Grained Mixture of Experts" (arXiv 2402.07871),
  with granularity G (the dense FFN's width over one expert's; G experts of 1/G the size run per token, so the
  active parameters do not change with G)::

      L(N, D, G) = c + (g / G^gamma + a) / N^alpha + b / D^beta

  The paper fits it at one expansion rate (total expert parameters over active ones). Its FLOPs also count a router
  term that grows with G; C = 6 N D here leaves it out unless a ``FlopsPerToken`` model is given.

* ``JointMoE``, Ludziejewski et al. 2025, "Joint MoE Scaling Laws: Mixture of Experts Can Be Memory Efficient"
  (arXiv 2502.05172), in the number of experts E (1: a dense model)::

      L(N, D, E) = c + a E^delta / N^(alpha + gamma ln E) + b E^omega / D^(beta + zeta ln E)

  The paper writes the exponents with the opposite sign (``a E^delta N^(alpha' + gamma' ln E)``, alpha' < 0) and
  fits it in a transformed expert count E-hat (after Clark et al. 2022); here the exponents are the positive decay
  rates of this project's other laws (alpha = -alpha', gamma = -gamma', likewise beta, zeta) and the covariate E
  is used as given: pass E-hat in place of E to follow the paper.

No published coefficients ship with these families (no preset): their values could not be checked against the
papers' tables here. Fit them to runs (``optimal.fit(..., law="fine-grained-moe", covariates={"G": g})``).
"""

from typing import Any, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .chinchilla import Chinchilla
from .family import Family
from .._util.precision import concrete_to_numpy, float64_scope


def fine_grained_log_loss(c, a, g, gamma, alpha, b, beta, log_n, log_d, log_granularity):
    """``log(c + (g/G^gamma + a)/N^alpha + b/D^beta)`` as a log-sum-exp (no overflow for N, D up to 1e16 and
    beyond); ``log_granularity`` is log G. Broadcasts over every argument."""
    log_n, log_d, log_granularity = jnp.broadcast_arrays(log_n, log_d, log_granularity)
    log_scale = jnp.logaddexp(jnp.log(a), jnp.log(g) - gamma * log_granularity)
    terms = jnp.broadcast_arrays(jnp.log(c), log_scale - alpha * log_n, jnp.log(b) - beta * log_d)
    return logsumexp(jnp.stack(terms), axis=0)


def joint_moe_log_loss(c, a, alpha, gamma, delta, b, beta, zeta, omega, log_n, log_d, log_experts):
    """``log(c + a E^delta / N^(alpha + gamma ln E) + b E^omega / D^(beta + zeta ln E))`` as a log-sum-exp;
    ``log_experts`` is ln E. Broadcasts over every argument."""
    log_n, log_d, log_experts = jnp.broadcast_arrays(log_n, log_d, log_experts)
    terms = jnp.broadcast_arrays(
        jnp.log(c),
        jnp.log(a) + delta * log_experts - (alpha + gamma * log_experts) * log_n,
        jnp.log(b) + omega * log_experts - (beta + zeta * log_experts) * log_d)
    return logsumexp(jnp.stack(terms), axis=0)


class FineGrainedMoE(NamedTuple):
    """Krajewski et al. 2024's law at granularity ``granularity`` (G >= 1; 1: experts as wide as the dense FFN).

    c: irreducible loss (nats); a, g: the model-size term's scales (g the part granularity removes, at rate gamma);
    alpha: the exponent of N (active parameters); b, beta: the data term's scale and exponent (D in tokens).
    """

    c: Any
    a: Any
    g: Any
    gamma: Any
    alpha: Any
    b: Any
    beta: Any
    granularity: Any = 1.0

    def log_loss(self, log_n, log_d):
        return fine_grained_log_loss(self.c, self.a, self.g, self.gamma, self.alpha, self.b, self.beta, log_n, log_d,
                                     jnp.log(self.granularity))

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.c

    @float64_scope
    def at_fixed(self) -> Chinchilla:
        """The Chinchilla law this one is at its granularity: E = c, A = a + g / G^gamma, B = b, same exponents."""
        return concrete_to_numpy(Chinchilla(
            E=self.c, A=self.a + self.g * jnp.power(self.granularity, -self.gamma), B=self.b, alpha=self.alpha,
            beta=self.beta))


class JointMoE(NamedTuple):
    """Ludziejewski et al. 2025's joint law at ``experts`` experts (E >= 1; 1: a dense model).

    c: irreducible loss (nats); a, alpha: the N term's scale and decay rate at E = 1, delta and gamma how E moves
    them (scale a E^delta, rate alpha + gamma ln E); b, beta, omega, zeta: likewise for the data term (D in tokens).
    """

    c: Any
    a: Any
    alpha: Any
    gamma: Any
    delta: Any
    b: Any
    beta: Any
    zeta: Any
    omega: Any
    experts: Any = 1.0

    def log_loss(self, log_n, log_d):
        return joint_moe_log_loss(self.c, self.a, self.alpha, self.gamma, self.delta, self.b, self.beta, self.zeta,
                                  self.omega, log_n, log_d, jnp.log(self.experts))

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.c

    @float64_scope
    def at_fixed(self) -> Chinchilla:
        """The Chinchilla law this one is at its expert count: E = c, A = a E^delta, alpha + gamma ln E, B = b
        E^omega, beta + zeta ln E (a decay rate that is not positive there has no compute-optimal allocation)."""
        log_e = jnp.log(self.experts)
        return concrete_to_numpy(Chinchilla(
            E=self.c, A=self.a * jnp.exp(self.delta * log_e), B=self.b * jnp.exp(self.omega * log_e),
            alpha=self.alpha + self.gamma * log_e, beta=self.beta + self.zeta * log_e))


FINE_GRAINED_MOE = Family(
    name="fine-grained-moe",
    params=FineGrainedMoE._fields[:7],
    log_loss=lambda p, log_n, log_d, covariates: fine_grained_log_loss(
        p["c"], p["a"], p["g"], p["gamma"], p["alpha"], p["b"], p["beta"], log_n, log_d, jnp.log(covariates["G"])),
    law=lambda p, covariates: FineGrainedMoE(**p, granularity=covariates["G"]),
    positive=FineGrainedMoE._fields[:7],
    covariates=("G",),
    covariate_defaults={"G": 1.0},
    linear=("c", "a", "g", "b"),
    start_box={"c": (0.3, 3.0), "a": (1.0, 1e4), "g": (1.0, 1e4), "gamma": (0.05, 2.0), "alpha": (0.05, 1.0),
               "b": (1.0, 1e5), "beta": (0.05, 1.0)},
    formula="L = c + (g/G^gamma + a)/N^alpha + b/D^beta, N active parameters, G granularity (Krajewski et al. 2024)",
    irreducible="c",
)

JOINT_MOE = Family(
    name="joint-moe",
    params=JointMoE._fields[:9],
    log_loss=lambda p, log_n, log_d, covariates: joint_moe_log_loss(
        p["c"], p["a"], p["alpha"], p["gamma"], p["delta"], p["b"], p["beta"], p["zeta"], p["omega"], log_n, log_d,
        jnp.log(covariates["E"])),
    law=lambda p, covariates: JointMoE(**p, experts=covariates["E"]),
    positive=("c", "a", "alpha", "b", "beta"),
    covariates=("E",),
    covariate_defaults={"E": 1.0},
    linear=("c", "a", "b"),
    start_box={"c": (0.3, 3.0), "a": (1.0, 1e4), "alpha": (0.05, 1.0), "gamma": (-0.05, 0.05), "delta": (-1.0, 1.0),
               "b": (1.0, 1e5), "beta": (0.05, 1.0), "zeta": (-0.05, 0.05), "omega": (-1.0, 1.0)},
    formula="L = c + a E^delta/N^(alpha + gamma ln E) + b E^omega/D^(beta + zeta ln E), N active parameters, "
            "E experts (Ludziejewski et al. 2025)",
    irreducible="c",
)
