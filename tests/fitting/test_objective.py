import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optimal.fitting.objective import huber, objective, residuals
from optimal.laws.chinchilla import hoffmann_grid, value_grad_hessian


def sample_problem(seed, n=60):
    rng = np.random.default_rng(seed)
    log_n, log_d = rng.uniform(17, 23, n), rng.uniform(19, 26, n)
    log_loss = np.log(1.8 + 480 * np.exp(-0.35 * log_n) + 2000 * np.exp(-0.37 * log_d)) + rng.normal(0, 0.01, n)
    weights = rng.integers(0, 3, n).astype(float)
    return tuple(jnp.asarray(x) for x in (log_n, log_d, log_loss, weights))


def test_huber_branches_and_continuity():
    delta = 1e-3
    r = jnp.array([0.0, 5e-4, -1e-3, 2e-3, -0.1])
    np.testing.assert_allclose(huber(r, delta), [0, 0.5 * 25e-8, 0.5e-6, 1e-3 * 1.5e-3, 1e-3 * (0.1 - 5e-4)], rtol=1e-12)


def test_objective_is_a_sum_not_a_mean():
    log_n, log_d, log_loss, _ = sample_problem(0)
    theta = jnp.array([0.6, 6.1, 7.6, 0.34, 0.36])
    one = objective(theta, log_n, log_d, log_loss, jnp.ones_like(log_n))
    r = residuals(theta, log_n, log_d, log_loss)
    assert float(one) == pytest.approx(float(jnp.sum(huber(r))), rel=1e-14)
    doubled = objective(theta, *(jnp.concatenate([x, x]) for x in (log_n, log_d, log_loss)), jnp.ones(2 * len(log_n)))
    assert float(doubled) == pytest.approx(2 * float(one), rel=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["huber", "squared"])
@pytest.mark.parametrize("theta", [[0.6, 6.1, 7.6, 0.34, 0.36], [0.1, 3.0, 9.0, 0.5, 0.2], [-1.0, 20.0, 1.0, 1.5, 0.05]])
def test_value_grad_hessian_match_autodiff(theta, loss):
    log_n, log_d, log_loss, weights = sample_problem(1)
    theta = jnp.asarray(theta)
    value, grad, hess, _ = value_grad_hessian(theta, log_n, log_d, log_loss, weights, 1e-3, loss)
    f = lambda th: objective(th, log_n, log_d, log_loss, weights, 1e-3, loss)  # noqa: E731
    assert float(value) == pytest.approx(float(f(theta)), rel=1e-13)
    np.testing.assert_allclose(grad, jax.grad(f)(theta), rtol=1e-10, atol=1e-15 * float(jnp.max(jnp.abs(grad))))
    exact = jax.hessian(f)(theta)
    np.testing.assert_allclose(hess, exact, rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(exact))))


def test_hoffmann_grid():
    grid = hoffmann_grid()
    assert grid.shape == (4500, 5)
    assert sorted(set(grid[:, 3])) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert sorted(set(grid[:, 0])) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert sorted(set(grid[:, 1])) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert len({tuple(row) for row in grid}) == 4500
