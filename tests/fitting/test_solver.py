"""The solver (optimal/fitting/solver.py) on objectives built to stop in each way: every stop reason is reachable
and named, and a lane's answer does not depend on how many slots the queue has.

The objectives here are small hand-made ones with exact gradients and Hessians (``SolverConfig.evaluate``'s
contract: value, grad (P,), hess (P, P), grad_scale (P,)), so each stop is forced by construction, not by luck.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from optimal.fitting.solver import CONVERGED_REASONS, REASONS, SolverConfig, polish, polish_lanes, polish_with_curvature

DATA = jnp.zeros(1)  # the objectives below read no rows
WEIGHTS = jnp.ones(1)


def quartic(theta, data, weights, delta, loss):
    """sum theta^4: Newton steps shrink theta by a third each time, so the steps become small long before the
    gradient (4 theta^3) reaches its floor, which a zero grad_scale puts at the smallest float."""
    return jnp.sum(theta**4), 4 * theta**3, jnp.diag(12 * theta**2), jnp.zeros_like(theta)


def large_terms(theta, data, weights, delta, loss):
    """sum (theta - 1)^2 whose gradient sums terms of size 1e6: it is at rounding level (16 eps x 1e6 ~ 4e-9)
    while the damped steps are still far above xtol."""
    r = theta - 1.0
    return jnp.sum(r * r), 2 * r, 2.0 * jnp.eye(theta.shape[0]), jnp.full_like(theta, 1e6)


def uphill(theta, data, weights, delta, loss):
    """A gradient of the wrong sign: every step raises sum theta^2, so damping grows until it gives up."""
    return jnp.sum(theta**2), -2 * theta, 2.0 * jnp.eye(theta.shape[0]), jnp.zeros_like(theta)


def not_finite(theta, data, weights, delta, loss):
    """The objective is NaN at the start."""
    return jnp.sum(jnp.log(theta)), 1 / theta, jnp.diag(-1 / theta**2), jnp.zeros_like(theta)


def rosenbrock(theta, data, weights, delta, loss):
    """(1 - x)^2 + 10 (y - x^2)^2: curved valley, so starts take different numbers of iterations."""
    x, y = theta[0], theta[1]
    value = (1 - x) ** 2 + 10 * (y - x * x) ** 2
    grad = jnp.stack([-2 * (1 - x) - 40 * x * (y - x * x), 20 * (y - x * x)])
    hess = jnp.array([[2 - 40 * y + 120 * x * x, -40 * x], [-40 * x, 20.0]])
    scale = jnp.stack([2 * jnp.abs(1 - x) + 40 * jnp.abs(x * (y - x * x)), 20 * jnp.abs(y - x * x)])
    return value, grad, hess, scale


@pytest.mark.parametrize("evaluate, start, max_iter, reason", [
    (quartic, [1.0, -2.0], 200, "step below xtol"),
    (large_terms, [0.0, 3.0], 200, "gradient at rounding floor"),
    (uphill, [1.0, 2.0], 200, "no further decrease"),
    (quartic, [1.0, -2.0], 5, "max iterations"),
    (not_finite, [-1.0, 2.0], 200, "non-finite"),
])
def test_every_stop_reason_is_reachable(evaluate, start, max_iter, reason):
    config = SolverConfig(max_iter=max_iter, evaluate=evaluate)
    lanes = polish(jnp.asarray([start], dtype=jnp.float64), DATA, WEIGHTS, config)
    assert REASONS[int(lanes.reason[0])] == reason
    assert bool(lanes.converged[0]) == (REASONS.index(reason) in CONVERGED_REASONS)
    if reason == "max iterations":
        assert int(lanes.iterations[0]) == max_iter
    if reason in ("step below xtol", "gradient at rounding floor"):  # and it did get there
        optimum = 0.0 if evaluate is quartic else 1.0
        np.testing.assert_allclose(np.asarray(lanes.theta[0]), optimum, atol=1e-3 if evaluate is quartic else 1e-8)


def test_every_reason_is_covered():
    """The cases above name every way to stop (a new reason needs a case)."""
    assert set(REASONS) - {"running"} == {"step below xtol", "gradient at rounding floor", "no further decrease",
                                           "max iterations", "non-finite"}


STARTS = np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0], [-0.5, 3.0], [1.5, -1.0], [0.3, 0.9], [-2.0, -2.0]])


def test_results_do_not_depend_on_the_slots():
    """Lanes queue for the slots; a slot that frees takes the next lane. Whatever the number of slots (one lane at a
    time, a few, all at once), every lane's answer, iteration count and reason are the same."""
    config = SolverConfig(max_iter=500, evaluate=rosenbrock)
    starts = jnp.asarray(STARTS, dtype=jnp.float64)
    runs = {slots: polish(starts, DATA, WEIGHTS, config, slots=slots) for slots in (1, 2, 3, len(STARTS))}
    reference = runs[len(STARTS)]
    iterations = np.asarray(reference.iterations)
    assert len(set(iterations.tolist())) > 2  # the lanes stop at different times: the queue is exercised
    assert bool(np.all(np.asarray(reference.converged)))
    np.testing.assert_allclose(np.asarray(reference.theta), 1.0, atol=1e-6)
    for slots, lanes in runs.items():
        for field in lanes._fields:
            np.testing.assert_array_equal(np.asarray(getattr(lanes, field)), np.asarray(getattr(reference, field)),
                                          err_msg=f"{field} with {slots} slots")


def test_per_lane_weights_and_data_follow_their_lane():
    """With ``lane_data``, a lane carries its own rows through the queue: lanes whose data move the optimum end
    at their own optimum whatever slot they ran in."""
    shift = jnp.asarray([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=jnp.float64)

    def shifted(theta, data, weights, delta, loss):
        r = theta - data[0]
        return jnp.sum(r * r), 2 * r, 2.0 * jnp.eye(theta.shape[0]), 2 * jnp.abs(theta) + 2 * jnp.abs(data[0])

    config = SolverConfig(max_iter=200, evaluate=shifted)
    starts = jnp.zeros((5, 2), dtype=jnp.float64)
    weights = jnp.ones((5, 1), dtype=jnp.float64)
    for slots in (1, 2, 5):
        lanes = polish_lanes(starts, shift, weights, config, slots=slots, lane_data=True)
        np.testing.assert_allclose(np.asarray(lanes.theta), np.repeat(np.asarray(shift), 2, axis=1), atol=1e-8)


def test_held_entries_stay_and_curvature_is_the_hessian_at_the_result():
    """``free`` holds an entry exactly at its start while the others reach the optimum of what is left; per-lane
    budgets stop each lane at its own; the curvature returned is the Hessian at each lane's result (the one its
    last accepted step evaluated), with a held entry decoupled: what the fit's curvature check reads."""
    config = SolverConfig(max_iter=500, evaluate=rosenbrock)
    chosen = STARTS[[2, 0, 3]]
    starts = jnp.asarray(chosen, dtype=jnp.float64)
    free = np.array([[True, True], [False, True], [True, True]])
    budgets = np.array([500, 500, 3])
    lanes, hessians = polish_with_curvature(starts, DATA, WEIGHTS, config, free=free, max_iter=budgets)
    theta, hessians = np.asarray(lanes.theta), np.asarray(hessians)
    np.testing.assert_allclose(theta[0], 1.0, atol=1e-6)
    assert theta[1, 0] == chosen[1, 0] and theta[1, 1] == pytest.approx(chosen[1, 0] ** 2, abs=1e-9)  # y = x^2
    assert REASONS[int(lanes.reason[2])] == "max iterations" and int(lanes.iterations[2]) == 3
    for lane, held in ((0, False), (1, True), (2, False)):
        x, y = theta[lane]
        exact = np.array([[2 - 40 * y + 120 * x * x, -40 * x], [-40 * x, 20.0]])
        if held:
            exact[0, :], exact[:, 0], exact[0, 0] = 0.0, 0.0, 1.0
        np.testing.assert_allclose(hessians[lane], exact, rtol=1e-12, atol=1e-12)
    # all free and one budget: the same lanes as ``polish`` gives, bit for bit
    plain = polish(starts, DATA, WEIGHTS, config)
    again = polish_with_curvature(starts, DATA, WEIGHTS, config)[0]
    for field in plain._fields:
        np.testing.assert_array_equal(np.asarray(getattr(again, field)), np.asarray(getattr(plain, field)))
