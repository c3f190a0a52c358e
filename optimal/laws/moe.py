"""Laws for mixtures of experts (MoE): loss in parameters, tokens and the experts' layout.

Units: D training tokens, loss in nats per token; N as each paper counts it (below). Training FLOPs follow the
*active* parameters (C = 6 N_active D); memory follows the *total* parameters (every expert is held). At a fixed
layout both laws are the Chinchilla form in (N, D), so ``at_fixed()`` gives that law; ``optimal.allocation.moe``
allocates with the active and total parameters apart.

* ``FineGrainedMoE``, Krajewski et al. 2024, "Scaling Laws for Fine-Grained Mixture of Experts" (arXiv 2402.07871,
  eq. 9), with granularity G = d_ff / d_expert (G experts of 1/G the size run per token, so the active parameters
  do not change with G)::

      L(N, D, G) = c + (g / G^gamma + a) / N^alpha + b / D^beta

  N is the **total** number of non-embedding parameters (section 5) at one expansion rate E (total over active
  MoE-layer parameters; the paper fixes E = 64). Its FLOPs (eq. 10) are 6 x active parameters per token plus a
  router term that grows with G, which C = 6 N_active D here leaves out.

* ``JointMoE``, Ludziejewski et al. 2025, "Joint MoE Scaling Laws: Mixture of Experts Can Be Memory Efficient"
  (arXiv 2502.05172, eq. 6), N the **active** parameters (embeddings included, App. A.1), top-1 routing::

      L(N, D, E) = c + a Ê^delta / N^(alpha + gamma ln Ê) + b Ê^omega / D^(beta + zeta ln Ê)
      1/Ê = 1 / (E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max          (eq. 4, after Clark et al. 2022)

  The paper writes the exponents with the opposite sign (``a Ê^delta N^(alpha' + gamma' ln Ê)``, alpha' < 0);
  here alpha and beta are the positive decay rates of this project's other laws (alpha = -alpha', gamma = -gamma',
  beta = -beta', zeta = -zeta'). E_start = 1, E_max = inf make Ê = E.

Published coefficients (``KRAJEWSKI2024``, ``LUDZIEJEWSKI2025``) are the papers' own, each with where it is printed;
the tests check the joint law against the paper's Tables 1 and 4.
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


def transformed_experts(experts, e_start=1.0, e_max=float("inf")):
    """Clark et al. 2022's saturating transform of the expert count (Ludziejewski et al. 2025, eq. 4):
    ``1/Ê = 1/(E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max``; E_start = 1, E_max = inf give Ê = E."""
    inverse_max = 1.0 / e_max
    return 1.0 / (1.0 / (experts - 1.0 + 1.0 / (1.0 / e_start - inverse_max)) + inverse_max)


def joint_moe_log_loss(c, a, alpha, gamma, delta, b, beta, zeta, omega, log_n, log_d, log_experts):
    """``log(c + a Ê^delta / N^(alpha + gamma ln Ê) + b Ê^omega / D^(beta + zeta ln Ê))`` as a log-sum-exp;
    ``log_experts`` is ln Ê (the transformed count). Broadcasts over every argument."""
    log_n, log_d, log_experts = jnp.broadcast_arrays(log_n, log_d, log_experts)
    terms = jnp.broadcast_arrays(
        jnp.log(c),
        jnp.log(a) + delta * log_experts - (alpha + gamma * log_experts) * log_n,
        jnp.log(b) + omega * log_experts - (beta + zeta * log_experts) * log_d)
    return logsumexp(jnp.stack(terms), axis=0)


class FineGrainedMoE(NamedTuple):
    """Krajewski et al. 2024's law at granularity ``granularity`` (G >= 1; 1: experts as wide as the dense FFN).

    c: irreducible loss (nats); a, g: the model-size term's scales (g the part granularity removes, at rate gamma);
    alpha: the exponent of N (total non-embedding parameters, at the expansion rate the law was fitted at); b, beta:
    the data term's scale and exponent (D in tokens).
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
    """Ludziejewski et al. 2025's joint law at ``experts`` experts (E >= 1; 1: a dense model), N active parameters.

    c: irreducible loss (nats); a, alpha: the N term's scale and decay rate at Ê = 1, delta and gamma how Ê moves
    them (scale a Ê^delta, rate alpha + gamma ln Ê); b, beta, omega, zeta: likewise for the data term (D in
    tokens); e_start, e_max: the transform of E into Ê (``transformed_experts``; 1 and inf: Ê = E).
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
    e_start: Any = 1.0
    e_max: Any = float("inf")

    def log_experts(self):
        """ln Ê of this law's expert count."""
        return jnp.log(transformed_experts(self.experts, self.e_start, self.e_max))

    def log_loss(self, log_n, log_d):
        return joint_moe_log_loss(self.c, self.a, self.alpha, self.gamma, self.delta, self.b, self.beta, self.zeta,
                                  self.omega, log_n, log_d, self.log_experts())

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.c

    @float64_scope
    def at_fixed(self) -> Chinchilla:
        """The Chinchilla law this one is at its expert count: E = c, A = a Ê^delta, alpha + gamma ln Ê, B = b
        Ê^omega, beta + zeta ln Ê (a decay rate that is not positive there has no compute-optimal allocation; the
        paper's Table 4 lists these for E = 1 to 32)."""
        log_e = self.log_experts()
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
    formula="L = c + (g/G^gamma + a)/N^alpha + b/D^beta, N total non-embedding parameters at one expansion rate, "
            "G granularity (Krajewski et al. 2024)",
    irreducible="c",
)


def joint_moe_family(e_start=1.0, e_max=float("inf"), name="joint-moe"):
    """The ``JointMoE`` family with the expert-count transform held at ``e_start``, ``e_max`` (the default family
    uses E itself; ``joint_moe_family(2.0732, 290.4521, "joint-moe-paper")`` the paper's fitted transform)."""
    return Family(
        name=name,
        params=JointMoE._fields[:9],
        log_loss=lambda p, log_n, log_d, covariates: joint_moe_log_loss(
            p["c"], p["a"], p["alpha"], p["gamma"], p["delta"], p["b"], p["beta"], p["zeta"], p["omega"], log_n,
            log_d, jnp.log(transformed_experts(covariates["E"], e_start, e_max))),
        law=lambda p, covariates: JointMoE(**p, experts=covariates["E"], e_start=e_start, e_max=e_max),
        positive=("c", "a", "alpha", "b", "beta"),
        covariates=("E",),
        covariate_defaults={"E": 1.0},
        linear=("c", "a", "b"),
        start_box={"c": (0.3, 3.0), "a": (1.0, 1e4), "alpha": (0.05, 1.0), "gamma": (-0.05, 0.05),
                   "delta": (-1.0, 1.0), "b": (1.0, 1e5), "beta": (0.05, 1.0), "zeta": (-0.05, 0.05),
                   "omega": (-1.0, 1.0)},
        formula="L = c + a E^delta/N^(alpha + gamma ln E) + b E^omega/D^(beta + zeta ln E), N active parameters, "
                "E experts (Ludziejewski et al. 2025)",
        irreducible="c",
    )


JOINT_MOE = joint_moe_family()

# Krajewski et al. 2024, Table 1 ("Values of the fitted coefficients", section 5.4), the MoE row: fitted at
# expansion rate E = 64 with G from 1 to 16, N the total non-embedding parameters (129M to 3.7B), D 16B to 130B
# tokens. (The dense row: a = 16.3, alpha = 0.126, b = 26.7, beta = 0.127, c = 0.47.)
KRAJEWSKI2024 = FineGrainedMoE(c=0.47, a=18.1, g=2.1, gamma=0.58, alpha=0.115, b=30.8, beta=0.147)
KRAJEWSKI2024_EXPANSION = 64.0

# Ludziejewski et al. 2025, Table 3 ("Fitted coefficients of our joined formula", App. B): a = 35.91,
# alpha' = -0.1889, delta = -0.2285, gamma' = 0.0098, b = 35.98, beta' = -0.1775, omega = 0.5529, zeta' = -0.0259,
# E_start = 2.0732, E_max = 290.4521, c = 1.3637, in this module's signs (alpha = -alpha', ...). Fitted on runs of up
# to 2.7B active and 5B total parameters, E from 1 to 32, top-1 (Switch) routing.
LUDZIEJEWSKI2025 = JointMoE(c=1.3637, a=35.91, alpha=0.1889, gamma=-0.0098, delta=-0.2285, b=35.98, beta=0.1775,
                            zeta=0.0259, omega=0.5529, e_start=2.0732, e_max=290.4521)
