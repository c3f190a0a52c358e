"""Precision-aware laws (Kumar et al. 2024, "Scaling Laws for Precision", arXiv 2411.04330).

Units: N parameters, D training tokens, precisions in **bits** (16 for bf16, 8 for fp8 or int8, 4 for fp4), loss
in nats per token.

* ``PrecisionLaw`` (training in low precision): the Chinchilla form at an *effective* parameter count::

      L = E + A / N_eff^alpha + B / D^beta,
      N_eff = N (1 - exp(-P_w / gamma_w)) (1 - exp(-P_a / gamma_a)) (1 - exp(-P_kv / gamma_kv))

  with P_w, P_a, P_kv the bits of the weights, activations and KV cache during training: each factor is the share
  of the parameters' capacity that precision keeps (1 at infinite precision), gamma its scale in bits.

* ``PTQLaw`` (post-training quantization of a model trained in high precision to ``P_post`` bits) adds the
  degradation term::

      L = E + A / N^alpha + B / D^beta + C_T D^gamma_D / N^gamma_N exp(-P_post / gamma_post)

  which grows with the tokens D: the longer a model is trained, the more quantization costs it. P_post = inf (the
  default) means no quantization (the term is 0).

Forms as printed: eq. 4 and Finding 2 (N_eff), eq. 2 and Finding 1 (the degradation, for models trained in BF16 or
above; section 5's unified form, where training precision also moves it, is not implemented). No preset ships: the
paper's fitted constants (App. K, Table 2: A = 4.299e3, alpha = beta = 0.4965, B = 1.806e4, E = 2.7648,
gamma_w = 2.6745, gamma_a = 2.2102, gamma_kv = 0.9578, C_T = 0.0598, gamma_D = 0.5068, gamma_N = 0.3439,
gamma_post = 0.5907) were fitted with offsets inside the exponentials (n_w = 0.3037, n_i = 1.4072, n_kv = 2.4185,
b = 1.1277) that the paper writes only as "e^(x/gamma_x + n)", so the law they belong to cannot be rebuilt
exactly, and the authors say the constants are unlikely to transfer. Fit them to runs with the bits as covariates (``optimal.fit(..., law="precision", covariates={"P_w": ...,
"P_a": ..., "P_kv": ...})``); ``optimal.allocation.precision`` prices a training precision through an
accelerator's FLOP/s at that precision.
"""

from typing import Any, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .chinchilla import Chinchilla, chinchilla_log_loss
from .family import Family
from .._util.precision import concrete_to_numpy, float64_scope


def log_capacity(bits, scale):
    """``log(1 - exp(-bits / scale))``: the log of the share of capacity ``bits`` keeps (0 at infinite bits)."""
    return jnp.log(-jnp.expm1(-bits / scale))


def log_effective_params(log_n, weight_bits, activation_bits, kv_bits, gamma_w, gamma_a, gamma_kv):
    """``log N_eff = log N + sum of log(1 - exp(-P_x / gamma_x))`` over weights, activations and KV cache."""
    return (log_n + log_capacity(weight_bits, gamma_w) + log_capacity(activation_bits, gamma_a)
            + log_capacity(kv_bits, gamma_kv))


def precision_log_loss(E, A, B, alpha, beta, gamma_w, gamma_a, gamma_kv, log_n, log_d, weight_bits, activation_bits,
                       kv_bits):
    """log L of ``PrecisionLaw`` (the module docstring). Broadcasts over every argument."""
    return chinchilla_log_loss(E, A, B, alpha, beta,
                               log_effective_params(log_n, weight_bits, activation_bits, kv_bits, gamma_w, gamma_a,
                                                    gamma_kv), log_d)


def ptq_log_loss(E, A, B, alpha, beta, C_T, gamma_D, gamma_N, gamma_post, log_n, log_d, post_bits):
    """log L of ``PTQLaw`` as a log-sum-exp of its four terms; ``post_bits`` inf drops the degradation term (with
    finite gradients). Broadcasts over every argument."""
    log_n, log_d, post_bits = jnp.broadcast_arrays(log_n, log_d, post_bits)
    quantized = jnp.isfinite(post_bits)
    bits = jnp.where(quantized, post_bits, 0.0)  # where twice: the unused branch must not send inf into gradients
    log_degradation = jnp.where(
        quantized, jnp.log(C_T) + gamma_D * log_d - gamma_N * log_n - bits / gamma_post, -jnp.inf)
    terms = jnp.broadcast_arrays(jnp.log(E), jnp.log(A) - alpha * log_n, jnp.log(B) - beta * log_d, log_degradation)
    return logsumexp(jnp.stack(terms), axis=0)


def ptq_degradation(law, n, d, post_bits):
    """The loss post-training quantization to ``post_bits`` adds (nats): ``C_T D^gamma_D / N^gamma_N
    exp(-P_post / gamma_post)`` of a ``PTQLaw``, for N parameters and D tokens (arrays broadcast)."""
    return law.C_T * jnp.power(d, law.gamma_D) * jnp.power(n, -law.gamma_N) * jnp.exp(-jnp.asarray(post_bits) /
                                                                                      law.gamma_post)


class PrecisionLaw(NamedTuple):
    """Kumar et al. 2024's law for training at ``weight_bits``, ``activation_bits`` and ``kv_bits`` (default 16).

    E, A, B, alpha, beta: the Chinchilla coefficients at infinite precision; gamma_w, gamma_a, gamma_kv: each
    precision's scale in bits (a larger gamma: more bits needed to keep the same capacity).
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any
    gamma_w: Any
    gamma_a: Any
    gamma_kv: Any
    weight_bits: Any = 16.0
    activation_bits: Any = 16.0
    kv_bits: Any = 16.0

    def log_loss(self, log_n, log_d):
        return precision_log_loss(self.E, self.A, self.B, self.alpha, self.beta, self.gamma_w, self.gamma_a,
                                  self.gamma_kv, log_n, log_d, self.weight_bits, self.activation_bits, self.kv_bits)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E

    @float64_scope
    def effective_fraction(self):
        """N_eff / N at this law's precisions (in (0, 1))."""
        return concrete_to_numpy(jnp.exp(log_effective_params(
            0.0, self.weight_bits, self.activation_bits, self.kv_bits, self.gamma_w, self.gamma_a, self.gamma_kv)))

    @float64_scope
    def at_fixed(self) -> Chinchilla:
        """The Chinchilla law in N (real parameters) at these precisions: A / (f N)^alpha = (A f^-alpha) / N^alpha,
        f = ``effective_fraction()``."""
        return concrete_to_numpy(Chinchilla(E=self.E, A=self.A * jnp.power(self.effective_fraction(), -self.alpha),
                                            B=self.B, alpha=self.alpha, beta=self.beta))


class PTQLaw(NamedTuple):
    """Kumar et al. 2024's loss after post-training quantization to ``post_bits`` (inf: not quantized).

    E, A, B, alpha, beta: the Chinchilla coefficients of the model before quantization; C_T, gamma_D, gamma_N,
    gamma_post: the degradation's scale, its growth with D, its decay with N, and its scale in bits.
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any
    C_T: Any
    gamma_D: Any
    gamma_N: Any
    gamma_post: Any
    post_bits: Any = float("inf")

    def log_loss(self, log_n, log_d):
        return ptq_log_loss(self.E, self.A, self.B, self.alpha, self.beta, self.C_T, self.gamma_D, self.gamma_N,
                            self.gamma_post, log_n, log_d, self.post_bits)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E


_CHINCHILLA_BOX = {"E": (0.3, 3.0), "A": (1.0, 1e5), "B": (1.0, 1e5), "alpha": (0.05, 1.0), "beta": (0.05, 1.0)}

PRECISION = Family(
    name="precision",
    params=PrecisionLaw._fields[:8],
    log_loss=lambda p, log_n, log_d, covariates: precision_log_loss(
        p["E"], p["A"], p["B"], p["alpha"], p["beta"], p["gamma_w"], p["gamma_a"], p["gamma_kv"], log_n, log_d,
        covariates["P_w"], covariates["P_a"], covariates["P_kv"]),
    law=lambda p, covariates: PrecisionLaw(**p, weight_bits=covariates["P_w"], activation_bits=covariates["P_a"],
                                           kv_bits=covariates["P_kv"]),
    positive=PrecisionLaw._fields[:8],
    covariates=("P_w", "P_a", "P_kv"),
    covariate_defaults={"P_w": 16.0, "P_a": 16.0, "P_kv": 16.0},
    linear=("E", "B"),
    start_box={**_CHINCHILLA_BOX, "gamma_w": (0.3, 8.0), "gamma_a": (0.3, 8.0), "gamma_kv": (0.3, 8.0)},
    formula="L = E + A/N_eff^alpha + B/D^beta, N_eff = N prod_x (1 - exp(-P_x/gamma_x)) over weights, activations, "
            "KV cache (Kumar et al. 2024)",
    irreducible="E",
)

PTQ = Family(
    name="ptq",
    params=PTQLaw._fields[:9],
    log_loss=lambda p, log_n, log_d, covariates: ptq_log_loss(
        p["E"], p["A"], p["B"], p["alpha"], p["beta"], p["C_T"], p["gamma_D"], p["gamma_N"], p["gamma_post"], log_n,
        log_d, covariates["P_post"]),
    law=lambda p, covariates: PTQLaw(**p, post_bits=covariates["P_post"]),
    positive=PTQLaw._fields[:9],
    covariates=("P_post",),
    covariate_defaults={"P_post": float("inf")},
    linear=("E", "A", "B", "C_T"),
    start_box={**_CHINCHILLA_BOX, "C_T": (1e-3, 1e3), "gamma_D": (0.05, 1.5), "gamma_N": (0.05, 1.5),
               "gamma_post": (0.3, 8.0)},
    formula="L = E + A/N^alpha + B/D^beta + C_T D^gamma_D/N^gamma_N exp(-P_post/gamma_post) (Kumar et al. 2024)",
    irreducible="E",
)
