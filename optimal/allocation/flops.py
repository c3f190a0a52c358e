"""FLOPs per token as a model of the parameter count N: dense (6N), with attention, mixture of experts.

``C = k N D`` (k = 6) counts the forward (2N) and backward (4N) matrix multiplies of a dense transformer and
nothing else (Kaplan et al. 2020, section 2.1). This module makes the FLOPs per token a function of N:

    training(N)  = training_per_param  * (N_active + context * width(N_active))
    inference(N) = inference_per_param * (N_active + context * width(N_active))

with ``N_active = active_fraction * N`` and ``width(N_active) = width * N_active ** width_exponent`` the product
``n_layer * d_model``. Kaplan et al. 2020 (section 2.1, Table 1) count the attention over a context of n_ctx
tokens as ``2 n_layer n_ctx d_model`` forward FLOPs per token besides the ``2N`` of the weights, so training
(forward + backward, 3x forward) costs ``6N + 6 n_layer n_ctx d_model`` and inference ``2N + 2 n_layer n_ctx
d_model``; ``training_per_param`` and ``inference_per_param`` scale both terms alike.

Which N: the law's N is the model's **total** parameter count; a mixture-of-experts model computes with
``active_fraction * N`` of them per token (e.g. DeepSeek-V3: 37e9 of 671e9 active, fraction 0.0551), so its
FLOPs are ``6 x active parameters``. (A fixed active count would make FLOPs independent of N and the allocation
unbounded, so the fraction is what is held fixed as N varies.) For a dense model the fraction is 1.

A shape that scales with N keeps the aspect ratio ``a = d_model / n_layer`` fixed. With Kaplan et al.'s
non-embedding count ``N ~= 12 n_layer d_model^2`` (d_attn = d_model, d_ff = 4 d_model), ``d_model = (a N / 12)^(1/3)``
and ``n_layer d_model = d_model^2 / a = (a / 12)^(2/3) / a * N^(2/3)``: the attention term grows as N^(2/3).

In log N (``u``) the log of either count is a log-sum-exp of affine functions of u (for ``width_exponent <= 1``),
hence convex and increasing: the allocation solver relies on that.

Every field is a pytree leaf, so ``jax.grad`` differentiates an allocation with respect to them.

Example:
    >>> flops = FlopsPerToken.attention(context=8192, aspect_ratio=128.0)
    >>> round(float(flops.training(7e9)) / (6 * 7e9), 3)  # attention adds 16% at 7B parameters, 8k context
    1.162
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ..errors import BudgetError, check_positive
from .._util.units import DEFAULT_FLOPS_PER_PARAM_TOKEN

# Kaplan et al. 2020, section 2.1: non-embedding parameters N ~= 12 n_layer d_model^2
_PARAMS_PER_LAYER_WIDTH2 = 12.0
_NEWTON_STEPS = 60  # inverse of a convex increasing function from the right: monotone, quadratic at the end


class FlopsPerToken(NamedTuple):
    """FLOPs per token as a function of the total parameter count N (see the module docstring).

    Fields (each a number or a JAX scalar; the defaults are the dense 6N / 2N model):
      training_per_param: FLOPs per active parameter per training token (6: forward 2 + backward 4).
      inference_per_param: FLOPs per active parameter per generated or scored token (2: forward only).
      active_fraction: active parameters / total parameters (1 dense; e.g. 37/671 for DeepSeek-V3).
      context: tokens attended to per token, n_ctx (0: no attention term).
      width: ``n_layer * d_model`` of a fixed shape (``width_exponent`` 0), or the scale ``s`` in
        ``n_layer * d_model = s * N_active ** width_exponent`` for a shape that grows with N.
      width_exponent: 0 for a fixed shape, 2/3 for a fixed aspect ratio d_model / n_layer.
    """

    training_per_param: Any = DEFAULT_FLOPS_PER_PARAM_TOKEN
    inference_per_param: Any = 2.0
    active_fraction: Any = 1.0
    context: Any = 0.0
    width: Any = 0.0
    width_exponent: Any = 0.0

    @classmethod
    def dense(cls, training_per_param=DEFAULT_FLOPS_PER_PARAM_TOKEN, inference_per_param=2.0):
        """``training_per_param * N`` (6N by default) per training token, ``inference_per_param * N`` per inference token."""
        return cls(*_floats(training_per_param, inference_per_param))

    @classmethod
    def attention(cls, context, *, n_layer=None, d_model=None, aspect_ratio=None, active_fraction=1.0,
                  training_per_param=DEFAULT_FLOPS_PER_PARAM_TOKEN, inference_per_param=2.0):
        """6N + 6 n_layer n_ctx d_model per training token (Kaplan et al. 2020, section 2.1), n_ctx = ``context``.

        Give either a fixed shape (``n_layer`` and ``d_model``, the same whatever N the solver tries) or an
        ``aspect_ratio`` d_model / n_layer that the shape keeps as N varies (N ~= 12 n_layer d_model^2).
        ``active_fraction`` < 1 combines attention with a mixture of experts (the shape is then that of the
        active parameters).
        """
        fixed = n_layer is not None or d_model is not None
        if fixed == (aspect_ratio is not None) or (fixed and (n_layer is None or d_model is None)):
            raise BudgetError("give either n_layer and d_model (a fixed shape) or aspect_ratio (a shape that "
                              "scales with N), not both or neither")
        width, exponent = (n_layer * d_model, 0.0) if fixed else (width_for_aspect_ratio(aspect_ratio), 2.0 / 3.0)
        return cls(*_floats(training_per_param, inference_per_param, active_fraction, context, width, exponent))

    @classmethod
    def moe(cls, active_fraction, training_per_param=DEFAULT_FLOPS_PER_PARAM_TOKEN, inference_per_param=2.0):
        """Mixture of experts: ``6 x active_fraction x N`` per training token, N the total parameter count."""
        return cls(*_floats(training_per_param, inference_per_param, active_fraction))

    def active_params(self, n_params):
        """Parameters used per token: ``active_fraction * N``."""
        return self.active_fraction * n_params

    def log_per_param_token(self, log_n):
        """``log(N_active + context * width(N_active)) - log N``, the log of the FLOPs-weighted parameter count per
        parameter; written as ``log r + log1p(context width N_active^(p-1))`` so that a zero context is exact."""
        log_active = jnp.log(self.active_fraction) + log_n
        extra = self.context * self.width * jnp.exp((self.width_exponent - 1.0) * log_active)
        return jnp.log(self.active_fraction) + jnp.log1p(extra)

    def log_training(self, log_n):
        """log of the training FLOPs per token at ``log_n`` = log N (any shape)."""
        return jnp.log(self.training_per_param) + log_n + self.log_per_param_token(log_n)

    def log_inference(self, log_n):
        """log of the inference (forward-only) FLOPs per token at ``log_n`` = log N."""
        return jnp.log(self.inference_per_param) + log_n + self.log_per_param_token(log_n)

    def training(self, n_params):
        """Training FLOPs per token (forward + backward) for N = ``n_params`` total parameters; any shape."""
        return jnp.exp(self.log_training(jnp.log(n_params)))

    def inference(self, n_params):
        """Inference FLOPs per token (forward only; 2N for a dense model) for N = ``n_params``; any shape."""
        return jnp.exp(self.log_inference(jnp.log(n_params)))

    def log_n_for_training(self, log_flops):
        """The log N whose training FLOPs per token are ``exp(log_flops)`` (the inverse of ``log_training``)."""
        return _inverse(self.log_training, log_flops, jnp.log(self.training_per_param * self.active_fraction))

    def log_n_for_inference(self, log_flops):
        """The log N whose inference FLOPs per token are ``exp(log_flops)`` (the inverse of ``log_inference``)."""
        return _inverse(self.log_inference, log_flops, jnp.log(self.inference_per_param * self.active_fraction))

    def is_linear(self):
        """Whether FLOPs are ``k N`` (no attention term), decided on concrete values; ``None`` when traced."""
        if isinstance(self.context, jax.core.Tracer) or isinstance(self.width, jax.core.Tracer):
            return None
        return float(self.context) * float(self.width) == 0.0

    def per_param(self):
        """k in ``training(N) = k N`` for a linear model: ``training_per_param * active_fraction``."""
        return self.training_per_param * self.active_fraction


def check_flops_per_param_token(value, name="flops_per_param_token") -> float:
    """k in C = k N D (FLOPs per parameter per token; 6 for a dense transformer) as a float: a positive finite
    number, else a ``BudgetError`` naming ``name``. Every place that takes a plain k checks it here."""
    k = check_positive(value, name, BudgetError)
    if k > 1e4:  # as planning's MAX_FLOPS_PER_PARAM_TOKEN: far above any model's ~6, and C = k N D stays finite
        raise BudgetError(f"{name} {k:g} is above 1e4 FLOPs per parameter per token (a dense transformer's is 6); "
                          "check the units")
    return k


def width_for_aspect_ratio(aspect_ratio):
    """``s`` in ``n_layer d_model = s N^(2/3)`` for ``aspect_ratio`` = d_model / n_layer and N = 12 n_layer d_model^2."""
    return (aspect_ratio / _PARAMS_PER_LAYER_WIDTH2) ** (2.0 / 3.0) / aspect_ratio


def _floats(*values):
    """Python numbers as floats (``jax.grad`` refuses integer leaves, e.g. ``context=8192``); arrays as they are."""
    return tuple(float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x for x in values)


def _inverse(log_fn, target, log_slope):
    """Solve ``log_fn(u) = target`` for u, ``log_fn`` convex increasing with ``log_fn(u) >= log_slope + u``.

    Newton from ``u0 = target - log_slope`` (where ``log_fn(u0) >= target``) descends monotonically onto the
    root of a convex increasing function. Elementwise over any shape; a target of -inf gives -inf, +inf gives +inf.
    """
    finite = jnp.isfinite(target)
    safe = jnp.where(finite, target, 0.0)
    u = safe - log_slope

    def body(_, u):
        value, slope = jax.jvp(log_fn, (u,), (jnp.ones_like(u),))  # elementwise: the slope of each entry
        return u - jnp.where(slope > 0, (value - safe) / jnp.where(slope > 0, slope, 1.0), 0.0)

    u = jax.lax.fori_loop(0, _NEWTON_STEPS, body, u)
    return jnp.where(finite, u, target)
