"""Inference-aware allocation (Sardana et al. 2023): no inference is compute_for_loss / compute_optimal, the KKT
condition at the optimum, a dense grid along the iso-loss curve (closed form for a Chinchilla law), the primal and
the dual agreeing, the documented direction (more inference -> smaller, longer-trained models), finite-difference
derivatives, and every bad input."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import BudgetError, FlopsPerToken, UnreachableLossError

LAW = optimal.preset("epoch2024")
TARGETS = np.array([2.0, 2.2, 2.5, 3.0])
DEMAND = np.array([0.0, 1e11, 1e12, 1e13])
ATTENTION = FlopsPerToken.attention(8192, aspect_ratio=128.0)




@pytest.mark.slow
@pytest.mark.parametrize("flops", [6.0, ATTENTION], ids=["6N", "attention"])
def test_no_inference_is_compute_for_loss_and_compute_optimal(flops):
    primal = optimal.inference_optimal(LAW, TARGETS, inference_tokens=0.0, flops=flops)
    reference = optimal.compute_for_loss(LAW, TARGETS, flops=flops)
    assert bool(primal.converged.all())
    # 1e-12: both solve to a few ulps of log N and log C
    np.testing.assert_allclose(primal.total_flops, reference.compute, rtol=1e-12)
    np.testing.assert_allclose(primal.n_params, reference.n_params, rtol=1e-12)
    np.testing.assert_allclose(primal.n_tokens, reference.n_tokens, rtol=1e-12)
    assert not primal.inference_flops.any()
    dual = optimal.inference_optimal(LAW, compute=reference.compute, inference_tokens=0.0, flops=flops)
    np.testing.assert_allclose(dual.n_params, reference.n_params, rtol=1e-12)
    np.testing.assert_allclose(dual.loss, TARGETS, rtol=1e-12)


def _total(u, v, d_inf, flops):
    """log of total FLOPs f_train(N) D + f_inf(N) D_inf at u = log N, v = log D."""
    return jnp.logaddexp(flops.log_training(u) + v, jnp.log(d_inf) + flops.log_inference(u))


@pytest.mark.parametrize("flops", [FlopsPerToken(), ATTENTION], ids=["6N", "attention"])
def test_kkt_condition_at_the_optimum(flops):
    # minimise T(u, v) subject to L(u, v) = target: grad T parallel to grad L (their 2-D cross product vanishes)
    answer = optimal.inference_optimal(LAW, TARGETS, inference_tokens=DEMAND[::-1] + 1e12, flops=flops)
    assert bool(answer.converged.all())
    np.testing.assert_allclose(answer.loss, TARGETS, rtol=1e-12)
    np.testing.assert_allclose(answer.total_flops, answer.training_flops + answer.inference_flops, rtol=1e-15)

    def cross(n, d, d_inf):
        u, v = jnp.log(n), jnp.log(d)
        tu, tv = jax.grad(_total, argnums=(0, 1))(u, v, d_inf, flops)
        lu, lv = jax.grad(LAW.log_loss, argnums=(0, 1))(u, v)
        return float((tu * lv - tv * lu) / (abs(tu * lv) + abs(tv * lu)))

    for n, d, d_inf in zip(answer.n_params, answer.n_tokens, answer.inference_tokens):
        assert abs(cross(n, d, d_inf)) < 1e-9
    # the training-only optimum at the same loss violates it once inference is counted: the check can fail
    plain = optimal.compute_for_loss(LAW, TARGETS, flops=flops)
    assert all(abs(cross(n, d, 1e12)) > 1e-3 for n, d in zip(plain.n_params, plain.n_tokens))


def test_dense_grid_along_the_iso_loss_curve():
    # Chinchilla: on L = target, D(N) = (B / (target - E - A / N^alpha))^(1/beta) in closed form
    law, target, d_inf = LAW, 2.2, 1e13
    answer = optimal.inference_optimal(law, target, inference_tokens=d_inf)
    n_min = (law.A / (target - law.E)) ** (1 / law.alpha)
    u = np.linspace(np.log(n_min) + 1e-9, np.log(n_min) + 12, 400_001)
    n = np.exp(u)
    d = (law.B / (target - law.E - law.A / n**law.alpha)) ** (1 / law.beta)
    total = 6 * n * d + 2 * n * d_inf
    best = np.argmin(total)
    # the grid spacing (3e-5 in log N) costs the grid ~1e-10 relative in total; the solver must be no worse
    assert float(answer.total_flops) <= total[best] * (1 + 1e-12)
    assert np.log(float(answer.n_params)) == pytest.approx(u[best], abs=1e-3)
    # the dual at that total: the best loss along the total-budget line is the target, at the same N
    dual = optimal.inference_optimal(law, compute=answer.total_flops, inference_tokens=d_inf)
    assert float(dual.loss) == pytest.approx(target, rel=1e-12)
    assert float(dual.n_params) == pytest.approx(float(answer.n_params), rel=1e-6)
    m = np.exp(np.linspace(0.0, np.log(float(answer.total_flops) / (2 * d_inf)) - 1e-9, 400_001))
    dd = (float(answer.total_flops) - 2 * m * d_inf) / (6 * m)
    line = np.asarray(law.loss(m, dd))
    assert float(dual.loss) <= line[np.isfinite(line)].min() * (1 + 1e-12)


def test_more_inference_means_smaller_models_trained_longer():
    # Sardana et al. 2023: with inference demand, train smaller models on more tokens than Chinchilla-optimal
    answer = optimal.inference_optimal(LAW, 2.2, inference_tokens=DEMAND)
    assert bool(answer.converged.all())
    assert np.all(np.diff(answer.n_params) < 0) and np.all(np.diff(answer.n_tokens) > 0)
    assert np.all(np.diff(answer.total_flops) > 0) and np.all(np.diff(answer.training_flops) > 0)
    np.testing.assert_allclose(answer.loss, 2.2, rtol=1e-12)
    # at a fixed total budget, serving more leaves a worse loss
    dual = optimal.inference_optimal(LAW, compute=1e22, inference_tokens=DEMAND)
    assert np.all(np.diff(dual.loss) > 0) and np.all(np.diff(dual.n_params) < 0)
    np.testing.assert_allclose(dual.total_flops, 1e22, rtol=1e-12)


def _finite_difference(fn, value, rel=1e-6):
    h = rel * value
    return (fn(value + h) - fn(value - h)) / (2 * h)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["target", "compute"])
def test_gradients_match_finite_differences(mode):
    def log_n(law, d_inf, level):
        if mode == "target":
            return jnp.log(optimal.inference_optimal(law, level, inference_tokens=d_inf).n_params)
        return jnp.log(optimal.inference_optimal(law, compute=level, inference_tokens=d_inf).n_params)

    level = 2.2 if mode == "target" else 1e22
    grads = jax.grad(log_n, argnums=(0, 1, 2))(LAW, 1e12, level)
    for field in LAW._fields:
        value = getattr(LAW, field)
        expected = _finite_difference(lambda x: log_n(LAW._replace(**{field: x}), 1e12, level), value)
        # central differences, h = 1e-6 relative: truncation ~1e-12, rounding ~1e-10 relative
        assert float(getattr(grads[0], field)) == pytest.approx(float(expected), rel=1e-5, abs=1e-9), field
    for i, (value, fn) in enumerate([(1e12, lambda x: log_n(LAW, x, level)), (level, lambda x: log_n(LAW, 1e12, x))]):
        expected = _finite_difference(fn, value)
        assert float(grads[i + 1]) == pytest.approx(float(expected), rel=1e-5) and float(expected) != 0


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(target_loss=2.2, inference_tokens=-1.0), BudgetError, "inference_tokens must be >= 0 and finite, got -1"),
    (dict(target_loss=2.2, inference_tokens=[1e12, np.inf]), BudgetError, "inference_tokens must be >= 0 and finite"),
    (dict(target_loss=2.2, compute=1e22, inference_tokens=0.0), BudgetError, "exactly one of target_loss and compute"),
    (dict(inference_tokens=0.0), BudgetError, "exactly one of target_loss and compute"),
    (dict(target_loss=1.8, inference_tokens=1e12), UnreachableLossError, "irreducible loss E = 1.8172"),
    (dict(target_loss=-2.0, inference_tokens=1e12), BudgetError, "target_loss must be positive"),
    (dict(compute=-1.0, inference_tokens=1e12), BudgetError, "compute must be positive"),
    (dict(compute=1e12, inference_tokens=1e12), BudgetError, "cannot serve 1e\\+12 inference tokens"),
    (dict(target_loss=2.2, inference_tokens=1e12, flops=FlopsPerToken.moe(2.0)), BudgetError, "active_fraction"),
])
def test_bad_inputs(kwargs, error, message):
    with pytest.raises(error, match=message):
        optimal.inference_optimal(LAW, **kwargs)
