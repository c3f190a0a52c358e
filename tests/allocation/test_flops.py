"""FLOPs per token as a model: the counts against Kaplan et al.'s formulas and published figures, the dense model
giving exactly the plain-k answers, the attention model's optimum against a dense grid, the Lagrange condition
and finite-difference derivatives, and every bad input."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import BudgetError, FlopsPerToken
from optimal.allocation.draws import allocations
from optimal.laws import CHINCHILLA

LAW = optimal.preset("epoch2024")
BUDGETS = np.array([1e15, 3.3e18, 1e21, 5.76e23, 1e25, 7e27, 1e30])
# compute_optimal(preset("epoch2024"), BUDGETS) before FLOPs models existed (commit 5c226bd): N*, then L*
BEFORE = [float.fromhex(x) for x in (
    "0x1.1ceea242be401p+21", "0x1.1b44143827847p+27", "0x1.4b37da8e229fcp+31", "0x1.0d25bb62461dap+36",
    "0x1.22a35e05378d6p+38", "0x1.04ff0d7cb26b2p+43", "0x1.9f1e9b8b2fcfdp+46",
    "0x1.e3411af2feb61p+2", "0x1.95b7bd76137eep+1", "0x1.271b8f6ac7e16p+1", "0x1.f974f8f471e36p+0",
    "0x1.e9671668c9cc5p+0", "0x1.d8baac2472198p+0", "0x1.d44f7878b8428p+0")]
ATTENTION = FlopsPerToken.attention(8192, aspect_ratio=128.0)
FIXED = FlopsPerToken.attention(2048, n_layer=24, d_model=2048)




def test_counts_match_kaplan_and_published_figures():
    # GPT-3 175B (Brown et al. 2020): 6 x 175e9 x 300e9 = 3.15e23 training FLOPs with the 6N model
    assert float(FlopsPerToken.dense().training(175e9)) * 300e9 == pytest.approx(3.15e23, rel=1e-12)
    assert float(FlopsPerToken.dense().inference(175e9)) == pytest.approx(2 * 175e9, rel=1e-12)
    # Kaplan et al. 2020 sec. 2.1 with GPT-3's shape (96 layers, d_model 12288, n_ctx 2048): 6N + 6 n_layer n_ctx d_model
    gpt3 = FlopsPerToken.attention(2048, n_layer=96, d_model=12288)
    assert float(gpt3.training(175e9)) == pytest.approx(6 * 175e9 + 6 * 96 * 2048 * 12288, rel=1e-12)
    assert float(gpt3.inference(175e9)) == pytest.approx(2 * 175e9 + 2 * 96 * 2048 * 12288, rel=1e-12)
    # a shape scaling at d_model / n_layer = 128: at N = 12 x 32 x 4096^2 it is exactly 32 layers of 4096
    n = 12 * 32 * 4096.0**2
    scaled = FlopsPerToken.attention(8192, aspect_ratio=128.0)
    assert float(scaled.training(n)) == pytest.approx(6 * n + 6 * 32 * 8192 * 4096, rel=1e-12)
    # DeepSeek-V3 (DeepSeek-AI 2024): 37e9 of 671e9 parameters active, 14.8e12 tokens: 6 x 37e9 x 14.8e12 = 3.3e24
    moe = FlopsPerToken.moe(37 / 671)
    assert float(moe.training(671e9)) * 14.8e12 == pytest.approx(6 * 37e9 * 14.8e12, rel=1e-12)
    assert 6 * 37e9 * 14.8e12 == pytest.approx(3.3e24, rel=0.01)
    # vectorised, and the inverses undo the counts (to 1e-13: where attention dominates, d log f / d log N
    # falls to 2/3, which scales the rounding of log f up by 1.5 in log N)
    ns = jnp.geomspace(1e6, 1e13, 8)
    for model in (ATTENTION, FIXED, moe):
        assert model.training(ns).shape == (8,)
        np.testing.assert_allclose(model.log_n_for_training(model.log_training(jnp.log(ns))), jnp.log(ns), rtol=1e-13)
        np.testing.assert_allclose(model.log_n_for_inference(model.log_inference(jnp.log(ns))), jnp.log(ns), rtol=1e-13)


def test_dense_model_gives_exactly_the_plain_k_answers():
    plain = optimal.compute_optimal(LAW, BUDGETS)
    for model in (FlopsPerToken.dense(), FlopsPerToken()):
        dense = optimal.compute_optimal(LAW, BUDGETS, model)
        for field in plain._fields:
            np.testing.assert_array_equal(getattr(dense, field), getattr(plain, field), err_msg=field)
        np.testing.assert_array_equal(optimal.compute_optimal(LAW, BUDGETS, flops=model).n_params, plain.n_params)
    # and the plain-k answers are the ones recorded before FLOPs models existed: bitwise on the machine that
    # recorded them; 4 ulps allowed for another CPU's exp/log
    np.testing.assert_array_max_ulp(np.concatenate([plain.n_params, plain.loss]), np.array(BEFORE), maxulp=4)
    # a mixture of experts without attention is C = (6 r) N D: the plain path with k = 6 r
    moe = optimal.compute_optimal(LAW, BUDGETS, flops=FlopsPerToken.moe(0.125))
    np.testing.assert_array_equal(moe.n_params, optimal.compute_optimal(LAW, BUDGETS, 0.75).n_params)
    inverse = optimal.compute_for_loss(LAW, [2.0, 2.5], flops=FlopsPerToken.dense())
    np.testing.assert_array_equal(inverse.compute, optimal.compute_for_loss(LAW, [2.0, 2.5]).compute)


@pytest.mark.parametrize("model", [ATTENTION, FIXED, FlopsPerToken.attention(1e6, aspect_ratio=20.0, active_fraction=0.3)],
                         ids=["scaled", "fixed", "long-context-moe"])
def test_attention_optimum_beats_a_dense_grid(model):
    budgets = np.logspace(17, 27, 6)
    result = optimal.compute_optimal(LAW, budgets, flops=model)
    assert bool(result.converged.all()) and not result.bound.any()
    np.testing.assert_allclose(np.asarray(model.training(result.n_params)) * result.n_tokens, budgets, rtol=1e-12)
    for c, n, loss in zip(budgets, result.n_params, result.loss):
        u = np.linspace(0.0, np.log(c), 200_001)  # the whole line, from N = 1 up to where D < 1
        d = c / np.asarray(model.training(np.exp(u)))
        grid = np.asarray(LAW.loss(np.exp(u), d))
        best = np.argmin(np.where(d >= 1, grid, np.inf))
        # the grid spacing (~1e-4 in log N) costs the grid ~1e-9 relative in loss; the solver must be no worse
        assert loss <= grid[best] * (1 + 1e-12)
        assert np.log(n) == pytest.approx(u[best], abs=2e-3)
    # and it is not the 6N optimum (the grid check is not passed by ignoring the attention term)
    dense = optimal.compute_optimal(LAW, budgets)
    assert np.abs(np.log(result.n_params[0] / dense.n_params[0])) > 0.05


def test_lagrange_condition_for_the_attention_model():
    # at the optimum the gradient of log L is parallel to that of the constraint log f(N) + log D = log C:
    # dlogL/du - dlogL/dv * dlogf/du = 0 (u = log N, v = log D)
    budgets = np.array([1e18, 1e21, 1e24])
    result = optimal.compute_optimal(LAW, budgets, flops=ATTENTION)
    dense = optimal.compute_optimal(LAW, budgets)

    def residual(n, d):
        u, v = jnp.log(n), jnp.log(d)
        gu, gv = jax.grad(LAW.log_loss, argnums=(0, 1))(u, v)
        slope = jax.grad(ATTENTION.log_training)(u)
        return float((gu - gv * slope) / (abs(gu) + abs(gv * slope)))

    for n, d in zip(result.n_params, result.n_tokens):
        assert abs(residual(n, d)) < 1e-10
    # the 6N optimum, put on the attention budget line, violates it: the check can fail
    for c, n in zip(budgets, dense.n_params):
        assert abs(residual(n, c / float(ATTENTION.training(n)))) > 1e-3


def test_gradients_of_the_attention_optimum_match_finite_differences():
    def log_n(law, model):
        return jnp.log(optimal.compute_optimal(law, 1e22, flops=model).n_params)

    grad_law, grad_model = jax.grad(log_n, argnums=(0, 1))(LAW, ATTENTION)
    for field in LAW._fields:
        value = getattr(LAW, field)
        h = 1e-6 * value
        expected = (log_n(LAW._replace(**{field: value + h}), ATTENTION)
                    - log_n(LAW._replace(**{field: value - h}), ATTENTION)) / (2 * h)
        # central differences, h = 1e-6 relative: truncation ~1e-12, rounding ~1e-10 relative
        assert float(getattr(grad_law, field)) == pytest.approx(float(expected), rel=1e-5, abs=1e-9), field
    for field in ("context", "width"):
        value = float(getattr(ATTENTION, field))
        h = 1e-6 * value
        expected = (log_n(LAW, ATTENTION._replace(**{field: value + h}))
                    - log_n(LAW, ATTENTION._replace(**{field: value - h}))) / (2 * h)
        assert float(getattr(grad_model, field)) == pytest.approx(float(expected), rel=1e-5), field
        assert float(expected) != 0


def test_compute_for_loss_with_a_model_round_trips():
    targets = np.array([2.0, 2.3, 2.8])
    found = optimal.compute_for_loss(LAW, targets, flops=ATTENTION)
    assert bool(found.converged.all())
    np.testing.assert_allclose(found.loss, targets, rtol=1e-12)
    again = optimal.compute_optimal(LAW, found.compute, flops=ATTENTION)
    np.testing.assert_allclose(again.loss, targets, rtol=1e-10)
    # attention FLOPs make every target costlier than under 6N
    assert np.all(found.compute > optimal.compute_for_loss(LAW, targets).compute)


def test_caps_shapes_and_float32_with_a_model():
    free = optimal.compute_optimal(LAW, 1e23, flops=ATTENTION)
    capped = optimal.compute_optimal(LAW, 1e23, flops=ATTENTION, max_tokens=float(free.n_tokens) / 2)
    assert optimal.BOUND_NAMES[int(capped.bound)] == "max_tokens"
    assert float(capped.n_tokens) == pytest.approx(float(free.n_tokens) / 2, rel=1e-12)
    sized = optimal.compute_optimal(LAW, 1e23, flops=ATTENTION, max_params=float(free.n_params) / 2)
    assert optimal.BOUND_NAMES[int(sized.bound)] == "max_params"
    assert float(sized.n_params) == pytest.approx(float(free.n_params) / 2, rel=1e-12)
    grid = optimal.compute_optimal(LAW, np.logspace(18, 25, 12).reshape(3, 4), flops=ATTENTION)
    assert grid.n_params.shape == (3, 4) and bool(grid.converged.all())
    single = optimal.compute_optimal(LAW, np.logspace(18, 25, 12).reshape(3, 4), flops=ATTENTION, dtype=jnp.float32)
    assert single.n_params.dtype == np.float32 and bool(single.converged.all())
    # log N held to float32 ulps (~4e-6 of ~25): the same relative error in N, 1e-4 leaves room
    np.testing.assert_allclose(single.n_params.astype(np.float64), grid.n_params, rtol=1e-4)


def test_bootstrap_draws_take_a_model():
    theta = CHINCHILLA.to_fitting(LAW._asdict())
    draws = allocations(np.stack([theta, theta]), np.array([1e21, 1e23]), ATTENTION)
    point = optimal.compute_optimal(LAW, [1e21, 1e23], flops=ATTENTION)
    np.testing.assert_allclose(np.asarray(draws["N"])[0], point.n_params, rtol=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(flops=FlopsPerToken.attention(-1.0, aspect_ratio=128.0)), "context must be one finite number >= 0"),
    (dict(flops=FlopsPerToken.moe(1.5)), "active_fraction must be at most 1"),
    (dict(flops=FlopsPerToken.moe(0.0)), "active_fraction must be positive"),
    (dict(flops=FlopsPerToken.dense(0.0)), "training_per_param must be positive"),
    (dict(flops=FlopsPerToken(context=8.0, width=1.0, width_exponent=2.0)), "width_exponent must be in"),
    (dict(flops=FlopsPerToken(context=np.array([1.0, 2.0]))), "context must be one finite number"),
    (dict(flops=ATTENTION, flops_per_param_token=8.0), "give flops or flops_per_param_token, not both"),
    (dict(flops=ATTENTION, compute=1e3), "below one parameter trained on one token"),
    (dict(flops=ATTENTION, compute=1e30, max_tokens=1e9, max_params=1e9), "cannot be spent within"),
])
def test_bad_flops_models(kwargs, message):
    kwargs = {"compute": 1e22, **kwargs}
    with pytest.raises(BudgetError, match=message):
        optimal.compute_optimal(LAW, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(), dict(n_layer=24), dict(n_layer=24, d_model=2048, aspect_ratio=128.0)])
def test_attention_needs_one_shape(kwargs):
    with pytest.raises(BudgetError, match="either n_layer and d_model"):
        FlopsPerToken.attention(2048, **kwargs)
