"""The SciPy baseline for Muennighoff et al. 2023's data-constrained law: the law against the authors' test vectors
and their own formula, the hand-derived gradient against central differences, and recovery of a known truth."""

import numpy as np
import pytest

from optimal.baseline import (
    DATA_CONSTRAINED_BOUNDS,
    data_constrained_grid,
    data_constrained_log_loss,
    data_constrained_objective_and_grad,
    fit_data_constrained_lbfgsb,
)
from optimal.data.synthetic import MUENNIGHOFF_THETA, data_constrained_runs


def authors_loss(theta, N, D, U):
    """The authors' README code (huggingface/datablations, "Parametric Fit"), transcribed naively; needs U <= D."""
    e, a, b, alpha, beta, log_rd, log_rn = theta
    A, B, E, rd_star, rn_star = np.exp(a), np.exp(b), np.exp(e), np.exp(log_rd), np.exp(log_rn)
    G = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta))
    RD = np.maximum((D / U) - 1, 0)
    UN = np.minimum(N, (U * G) ** (beta / alpha) * G)
    RN = np.maximum((N / UN) - 1, 0)
    return (E + A / (UN + UN * rn_star * (1 - np.exp(-1 * RN / rn_star))) ** alpha
            + B / (U + U * rd_star * (1 - np.exp(-1 * RD / rd_star))) ** beta)


def logs(N, D, U):
    return np.log(N), np.log(D), np.log(U)


@pytest.mark.parametrize("N, D, U, expected", [(6.34e9, 242e9, 25e9, 2.2256440889984477),
                                               (8.67e9, 178e9, 25e9, 2.2269634075087867)])
def test_readme_test_vectors(N, D, U, expected):
    log_l = data_constrained_log_loss(MUENNIGHOFF_THETA, *logs(np.array([N]), np.array([D]), np.array([U])))
    np.testing.assert_allclose(np.exp(log_l), [expected], rtol=1e-12, atol=0)


def test_matches_authors_formula_on_both_branches():
    N, D, U, loss = data_constrained_runs(200, noise=0.0, seed=3)
    # the design exercises both sides of U_N = min(N, N_opt(U)) and many epochs
    n_opt = U * 0.05099  # with alpha == beta, N_opt(U) = U (A/B)^(1/alpha)
    assert np.mean(N > 2 * n_opt) > 0.3 and np.mean(N < n_opt) > 0.1 and np.mean(D / U > 10) > 0.3
    np.testing.assert_allclose(np.exp(data_constrained_log_loss(MUENNIGHOFF_THETA, *logs(N, D, U))),
                               authors_loss(MUENNIGHOFF_THETA, N, D, U), rtol=1e-13, atol=0)
    np.testing.assert_allclose(loss, authors_loss(MUENNIGHOFF_THETA, N, D, U), rtol=1e-13, atol=0)


def test_unique_tokens_above_tokens_count_as_one_epoch():
    N, D = np.array([1e8, 1e9, 5e10]), np.array([2e9, 2e10, 3e11])
    one_epoch = data_constrained_log_loss(MUENNIGHOFF_THETA, *logs(N, D, D))
    for U in (2 * D, np.full(3, np.inf)):
        np.testing.assert_array_equal(data_constrained_log_loss(MUENNIGHOFF_THETA, *logs(N, D, U)), one_epoch)


def central_differences(theta, args, h):
    f = lambda t: data_constrained_objective_and_grad(t, *args)[0]  # noqa: E731
    return np.array([(f(theta + h * ek) - f(theta - h * ek)) / (2 * h) for ek in np.eye(theta.size)])


@pytest.mark.parametrize("seed", range(4))
def test_gradient_matches_central_differences(seed):
    """At random thetas within the bounds (redrawn until both branches of U_N = min(N, N_opt(U)) occur), with noisy
    runs and unequal weights.

    With delta = 10 every residual is in Huber's quadratic part; with the default delta = 1e-3 the thetas are far
    enough from the truth that no residual is within a step of Huber's kinks. Central differences with h = 1e-6
    (O(h^2) truncation: ~1e-9 relative measured, rounding floor ~1e-10) agree to 1e-7 relative to the gradient's
    largest entry.
    """
    rng = np.random.default_rng(seed)
    N, D, U, loss = data_constrained_runs(150, noise=0.02, seed=seed)
    w = rng.uniform(0.5, 2.0, N.size)
    lo = np.array([-np.inf if lo is None else lo for lo, _ in DATA_CONSTRAINED_BOUNDS])
    hi = np.array([np.inf if hi is None else hi for _, hi in DATA_CONSTRAINED_BOUNDS])
    while True:
        theta = MUENNIGHOFF_THETA + rng.normal(0.0, [0.2, 0.1, 0.1, 0.05, 0.05, 1.0, 1.0])
        theta = np.clip(theta, lo + 0.01, hi - 0.01)
        e, a, b, alpha, beta = theta[:5]
        c = (beta * np.log(U) + np.log(alpha) - np.log(beta) + a - b) / alpha  # log N_opt(U)
        if 10 < np.sum(np.log(N) > c) < N.size - 10:
            break
    for delta in (10.0, 1e-3):
        args = (*logs(N, D, U), np.log(loss), w, delta)
        _, grad = data_constrained_objective_and_grad(theta, *args)
        fd = central_differences(theta, args, 1e-6)
        assert np.max(np.abs(grad - fd)) <= 1e-7 * np.max(np.abs(grad)), (delta, grad, fd)


def test_gradient_is_continuous_across_the_unique_parameters_kink():
    """Rows exactly at N = N_opt(U), where min(N, N_opt(U)) switches: the law is C^1 there (not C^2).

    The second derivative jumps at the kink, so central differences are only O(h) accurate there (~1e-4 relative
    at h = 1e-5): h = 1e-8 and a 1e-6 tolerance. And the gradient at rows a hair to either side (N x exp(+-1e-7))
    is the kink's to 1e-6: a wrong derivative on one branch would show as an O(1) jump.
    """
    theta = MUENNIGHOFF_THETA + np.array([0.05, 0.1, -0.1, 0.02, -0.03, 0.3, -0.2])
    e, a, b, alpha, beta = theta[:5]
    U = np.array([1e9, 1e10, 1e11])
    N = np.exp((beta * np.log(U) + np.log(alpha) - np.log(beta) + a - b) / alpha)
    D = 30 * U

    def grad_at(n):
        return data_constrained_objective_and_grad(theta, *logs(n, D, U), np.full(3, 0.7), None, 10.0)[1]

    grad = grad_at(N)
    fd = central_differences(theta, (*logs(N, D, U), np.full(3, 0.7), None, 10.0), 1e-8)
    assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(grad)), (grad, fd)
    for side in (-1e-7, 1e-7):
        assert np.max(np.abs(grad_at(N * np.exp(side)) - grad)) <= 1e-6 * np.max(np.abs(grad))


def test_grid():
    grid = data_constrained_grid()
    assert grid.shape == (1944, 7) and np.unique(grid, axis=0).shape[0] == 1944
    for k, (lo, hi) in enumerate(DATA_CONSTRAINED_BOUNDS):
        assert (lo is None or grid[:, k].min() >= lo) and (hi is None or grid[:, k].max() <= hi)


def test_recovers_truth_from_noise_free_runs():
    """200 noise-free multi-epoch runs, 21 starts of the default grid (every 97th): the best reaches objective
    ~1e-22 and the truth to ~1e-10 relative; asserted with margin: 1e-16 and 1e-7."""
    N, D, U, loss = data_constrained_runs(200, noise=0.0, seed=0)
    fit = fit_data_constrained_lbfgsb(N, D, U, loss, starts=data_constrained_grid()[::97])
    assert fit.thetas.shape == (21, 7)
    assert fit.objective < 1e-16
    np.testing.assert_allclose(fit.theta, MUENNIGHOFF_THETA, rtol=1e-7, atol=0)
    assert fit.success[np.argmin(fit.objectives)]


def test_noisy_runs_identify_the_repetition_constants():
    """1% noise on 200 runs, warm start at the truth: rd_star and rn_star come back within 25% (seed 0 gives ~5%
    and ~10%), alpha and beta within 2%. A design without repeated epochs would leave rd_star free."""
    N, D, U, loss = data_constrained_runs(200, noise=0.01, seed=0)
    fit = fit_data_constrained_lbfgsb(N, D, U, loss, starts=MUENNIGHOFF_THETA[None, :])
    rel = np.exp(fit.theta[5:] - MUENNIGHOFF_THETA[5:]) - 1
    assert np.all(np.abs(rel) < 0.25), rel
    np.testing.assert_allclose(fit.theta[3:5], MUENNIGHOFF_THETA[3:5], rtol=0.02)
    # and with a single epoch everywhere, the objective is flat in log rd_star
    D1 = U.copy()
    args = (*logs(N, D1, U), np.log(loss))
    assert data_constrained_objective_and_grad(fit.theta, *args)[1][5] == 0.0
