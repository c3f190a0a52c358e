"""The valid range of every shipped law's coefficients, checked where a law is first used.

A law is a plain NamedTuple (so that ``jit``, ``vmap`` and ``grad`` see its coefficients), so nothing stops
``Chinchilla(alpha=0, ...)`` being built; ``check_coefficients`` is what ``compute_optimal``, ``compute_for_loss``,
``data_constrained_optimal`` and ``inference_optimal`` (and so ``recommend``) call on the law they are given.
Outside its range a law has no compute-optimal allocation (alpha <= 0: a larger model never helps) or none that
means anything (a negative A or E), and the solver would come back "converged" on nonsense, or NaN.
"""

import jax
import numpy as np

from ..errors import CoefficientsError, float_array, shown_value
from .chinchilla import Chinchilla
from .data_constrained import DataConstrained
from .kaplan import Kaplan
from .moe import FineGrainedMoE, JointMoE
from .precision import PrecisionLaw, PTQLaw

_POSITIVE = "a positive finite number"
_NON_NEGATIVE = "a finite number >= 0"
_POSITIVE_OR_INF = "a positive number (inf: unlimited)"
_SCALES = {"E": _NON_NEGATIVE, "A": _POSITIVE, "B": _POSITIVE, "alpha": _POSITIVE, "beta": _POSITIVE}
RULES = {
    Chinchilla: _SCALES,
    Kaplan: {"alpha_N": _POSITIVE, "alpha_D": _POSITIVE, "N_c": _POSITIVE, "D_c": _POSITIVE},
    DataConstrained: {**_SCALES, "rd_star": _POSITIVE, "rn_star": _POSITIVE, "unique_tokens": _POSITIVE_OR_INF},
    # the mixture-of-experts and precision laws: their covariates (some coefficients are negative by design)
    FineGrainedMoE: {"granularity": _POSITIVE},
    JointMoE: {"experts": _POSITIVE},
    PrecisionLaw: {"weight_bits": _POSITIVE_OR_INF, "activation_bits": _POSITIVE_OR_INF, "kv_bits": _POSITIVE_OR_INF},
    PTQLaw: {"post_bits": _POSITIVE_OR_INF},
}


def _valid(values, rule):
    if rule == _POSITIVE:
        return np.isfinite(values) & (values > 0)
    if rule == _NON_NEGATIVE:
        return np.isfinite(values) & (values >= 0)
    return ~np.isnan(values) & (values > 0)


def check_coefficients(law):
    """``law`` unchanged when each of its coefficients is in range (``RULES``: A, B and the exponents positive and
    finite, E finite and >= 0, ...); else ``CoefficientsError`` naming the first coefficient that is not.

    Only concrete values are checked: a coefficient that is a tracer (under ``jit``, ``vmap`` or ``grad``) passes,
    and so does a law of a type without rules (a ``CustomLaw``: its domain is its author's). A coefficient may be
    an array (a batch of laws): every element must be in range.
    """
    for name, rule in RULES.get(type(law), {}).items():
        value = getattr(law, name)
        if isinstance(value, jax.core.Tracer):
            continue
        if isinstance(value, (str, bytes, list, tuple)):  # a string was read as its number, a list failed inside JAX
            raise CoefficientsError(f"coefficient {name} of the {type(law).__name__} law must be a number or an array "
                                    f"(a batch of laws: numpy.asarray), got {type(value).__name__} "
                                    f"{shown_value(value)}")
        values = float_array(value, f"coefficient {name} of the {type(law).__name__} law", CoefficientsError, rule,
                             invalid=True)
        bad = ~_valid(values, rule)
        if bad.any():
            shown = values.ravel()[np.argmax(bad.ravel())]
            raise CoefficientsError(f"coefficient {name} of the {type(law).__name__} law must be {rule}, got {shown:g}")
    return law
