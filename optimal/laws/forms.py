"""Loss surfaces L(N, D) as pure JAX functions of coefficient pytrees, and the published presets.

N is the number of model parameters, D the number of training tokens, L the loss in nats per token.
Every law is a pytree (so ``jit``, ``vmap`` and ``grad`` see its coefficients) with two methods:
``log_loss(log_n, log_d)``, the natural log of L evaluated stably in log space, and ``loss(n, d)``.
The solver only needs ``log_loss``; any object with that method, or any JAX function ``f(N, D)``, plugs in.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from ..errors import CoefficientsError, UnknownPresetError, check_positive
from ..jsonio import read_json


class Chinchilla(NamedTuple):
    """``L = E + A / N^alpha + B / D^beta`` (Hoffmann et al. 2022, eq. 2).

    E is the irreducible loss (nats), A and B the scales of the model-size and data terms, alpha and beta
    their exponents. Evaluated as ``logsumexp(log E, log A - alpha log N, log B - beta log D)`` so that N and
    D of 1e16 and beyond neither overflow nor lose precision.
    """

    E: Any
    A: Any
    B: Any
    alpha: Any
    beta: Any

    def log_loss(self, log_n, log_d):
        log_n, log_d = jnp.broadcast_arrays(log_n, log_d)
        terms = jnp.stack(
            [
                jnp.broadcast_to(jnp.log(self.E), log_n.shape),
                jnp.log(self.A) - self.alpha * log_n,
                jnp.log(self.B) - self.beta * log_d,
            ]
        )
        return logsumexp(terms, axis=0)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.E


class Kaplan(NamedTuple):
    """``L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D`` (Kaplan et al. 2020, eq. 1.5).

    N_c and D_c are in parameters and tokens; this law has no irreducible term (it tends to 0).
    """

    alpha_N: Any
    alpha_D: Any
    N_c: Any
    D_c: Any

    def log_loss(self, log_n, log_d):
        log_n, log_d = jnp.broadcast_arrays(log_n, log_d)
        terms = jnp.stack(
            [
                (self.alpha_N / self.alpha_D) * (jnp.log(self.N_c) - log_n),
                jnp.log(self.D_c) - log_d,
            ]
        )
        return self.alpha_D * logsumexp(terms, axis=0)

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return 0.0


class DataConstrained(NamedTuple):
    """Chinchilla with repeated data: D is replaced by the effective data D' of Muennighoff et al. 2023
    ("Scaling Data-Constrained Language Models", eq. 5), ``D' = U + U R* (1 - exp(-R / R*))`` where U is the
    number of unique tokens, R = D/U - 1 the number of repeats beyond the first epoch (D' = D while D <= U)
    and R* the repeats after which more epochs are worth 1/e as much. Only the data side is modelled; N is
    used as is. ``base`` is any ``Chinchilla`` law; R* = 15.4 is the paper's fitted value.
    """

    base: Chinchilla
    unique_tokens: Any
    repeat_scale: Any = 15.4

    def effective_log_tokens(self, log_d):
        log_u = jnp.log(self.unique_tokens)
        epochs = jnp.exp(log_d - log_u)  # D / U
        repeats = jnp.maximum(epochs - 1.0, 0.0)
        return log_u + jnp.log(jnp.minimum(epochs, 1.0) - self.repeat_scale * jnp.expm1(-repeats / self.repeat_scale))

    def log_loss(self, log_n, log_d):
        return self.base.log_loss(log_n, self.effective_log_tokens(log_d))

    def loss(self, n, d):
        return jnp.exp(self.log_loss(jnp.log(n), jnp.log(d)))

    def irreducible_loss(self):
        return self.base.E


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


PRESETS = {
    # Besiroglu, Erdil, Barnett, You (Epoch AI 2024), "Chinchilla Scaling: A replication attempt", eq. 4.
    "epoch2024": Chinchilla(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658),
    # Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. 10 (rounded as printed).
    "hoffmann2022": Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28),
    # Kaplan et al. 2020, "Scaling Laws for Neural Language Models", eq. 1.5 with the joint fit of Table 2
    # ("Fits to L(N, D)"); N counts non-embedding parameters. Not the one-variable fits of eqs. 1.1-1.2
    # (alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13), which the joint form does not take.
    "kaplan2020": Kaplan(alpha_N=0.076, alpha_D=0.103, N_c=6.4e13, D_c=1.8e13),
}
DEFAULT_PRESET = "epoch2024"


def preset(name: str = DEFAULT_PRESET):
    """The published law called ``name`` (one of ``PRESETS``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}") from None


_FORMS = {"chinchilla": Chinchilla, "kaplan": Kaplan}


def law_from_dict(coefficients: dict):
    """Build a law from ``{"E": .., "A": .., "B": .., "alpha": .., "beta": ..}`` (Chinchilla) or
    ``{"alpha_N": .., "alpha_D": .., "N_c": .., "D_c": ..}`` (Kaplan); an optional ``"form"`` key names it.
    A fit record's ``{"params": {...}}`` works too. Every coefficient must be a positive finite number.
    """
    if not isinstance(coefficients, dict):
        raise CoefficientsError("coefficients must be a JSON object such as {\"E\": 1.8, \"A\": 480, ...}")
    if isinstance(coefficients.get("params"), dict):
        coefficients = coefficients["params"]
    form = coefficients.get("form")
    if form is None:
        form = "kaplan" if "alpha_N" in coefficients else "chinchilla"
    if not isinstance(form, str) or form not in _FORMS:
        raise CoefficientsError(f"unknown form {form!r}; choose one of {', '.join(_FORMS)}")
    cls = _FORMS[form]
    missing = [k for k in cls._fields if k not in coefficients]
    if missing:
        raise CoefficientsError(f"{form} coefficients are missing {', '.join(missing)}")
    values = {key: check_positive(coefficients[key], f"coefficient {key}", CoefficientsError) for key in cls._fields}
    return cls(**values)


def law_to_dict(law) -> dict:
    """The inverse of ``law_from_dict`` for Chinchilla and Kaplan laws (plain floats)."""
    form = {Chinchilla: "chinchilla", Kaplan: "kaplan"}.get(type(law))
    if form is None:
        raise CoefficientsError(f"cannot serialise a {type(law).__name__}")
    return {"form": form, **{k: float(v) for k, v in law._asdict().items()}}


def load_coefficients(path):
    """Read a law from a JSON file (see ``law_from_dict``); a saved fit record also works."""
    return law_from_dict(read_json(path, "coefficients file"))
