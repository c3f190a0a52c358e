"""Data-constrained allocation (Muennighoff et al. 2023): the authors' grid-search oracle, convergence where the
loss switches formulas (the old plain Newton stopped there "not converged"), a whole-line grid at several (C, U),
derivatives, and bad inputs."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import BudgetError, CoefficientsError

LAW = optimal.preset("muennighoff2023")




def test_the_authors_oracle_with_epochs():
    # Muennighoff et al.'s README: C = 1e22 FLOPs (6ND), U = 25e9 -> ~7.02e9 parameters, 2.37e11 tokens, 9.49 epochs.
    # A 400,001-point NumPy grid of their formula reaches L = 2.2221292748715924 (tests/allocation/test_allocate.py): no worse.
    answer = optimal.data_constrained_optimal(LAW, 1e22, 25e9)
    assert bool(answer.converged)
    assert float(answer.loss) <= 2.2221292748715924 * (1 + 1e-12)
    assert float(answer.n_params) == pytest.approx(7.02e9, rel=2e-3)
    assert float(answer.n_tokens) == pytest.approx(2.37e11, rel=2e-3)
    assert float(answer.epochs) == pytest.approx(9.49, rel=1e-3)
    assert float(answer.epochs) == float(answer.n_tokens) / 25e9
    record = answer.to_records()[0]
    assert record["epochs"] == pytest.approx(9.49, rel=1e-3) and record["converged"] is True
    # the same answer through compute_optimal with U on the law
    same = optimal.compute_optimal(LAW._replace(unique_tokens=25e9), 1e22)
    assert float(same.n_params) == float(answer.n_params)


# (C, U) where the plain Newton of compute_optimal ended on a switch of the law and reported "not converged"
# (measured on the code before the bracketed solver: e.g. U = 1e10 below ~2e20 FLOPs, where the optimum sits
# exactly on min(N, N_opt(D)); U = 1e9 from 5e21 on, deep in repeated data)
OLD_FAILURES = [(1e18, 1e10), (1e19, 25e9), (1e22, 1e9), (1e20, 1e8), (1e24, 1e10), (1e18, 1e12)]


@pytest.mark.parametrize("compute, unique", OLD_FAILURES)
def test_converges_and_beats_a_whole_line_grid(compute, unique):
    answer = optimal.data_constrained_optimal(LAW, compute, unique)
    assert bool(answer.converged)
    law = LAW._replace(unique_tokens=unique)
    log_c = np.log(compute / 6)
    u = np.linspace(0.0, log_c, 100_001)  # from N = 1 to D = 1
    grid = np.asarray(law.loss(np.exp(u), np.exp(log_c - u)))
    best = np.argmin(grid)
    fine = np.linspace(u[max(best - 1, 0)], u[min(best + 1, len(u) - 1)], 20_001)  # refine around the grid's best
    grid_best = np.asarray(law.loss(np.exp(fine), np.exp(log_c - fine))).min()
    # 4e-16: the grid and the solver each round the loss; the solver's minimum must be the global one
    assert float(answer.loss) <= grid_best * (1 + 4e-16)
    assert float(answer.n_params) * float(answer.n_tokens) * 6 == pytest.approx(compute, rel=1e-12)


def test_vectorised_over_budgets_and_unique_tokens():
    compute = np.logspace(18, 25, 15)
    answer = optimal.data_constrained_optimal(LAW, compute[:, None], np.array([1e8, 1e9, 1e10, 25e9, 1e11, 1e12]))
    assert answer.n_params.shape == (15, 6) and bool(answer.converged.all())
    np.testing.assert_allclose(answer.epochs, answer.n_tokens / answer.unique_tokens, rtol=1e-15)
    # more unique data never hurts at a fixed budget
    assert np.all(np.diff(answer.loss, axis=1) <= 1e-15)


def test_unlimited_data_is_the_chinchilla_optimum():
    chinchilla = optimal.Chinchilla(*(getattr(LAW, k) for k in ("E", "A", "B", "alpha", "beta")))
    budgets = np.logspace(18, 26, 9)
    free = optimal.compute_optimal(LAW, budgets)  # unique_tokens = inf: the bracketed solver on a smooth line
    n, _ = optimal.closed_form(chinchilla, budgets)
    np.testing.assert_allclose(free.n_params, n, rtol=1e-9)
    assert bool(free.converged.all())


def _finite_difference(fn, value, rel=1e-6):
    h = rel * value
    return (fn(value + h) - fn(value - h)) / (2 * h)


def test_gradients_match_finite_differences_where_smooth():
    # C = 1e22, U = 25e9: 9.5 epochs, N below N_opt(U): the loss is smooth at the optimum
    def log_n(law, unique):
        return jnp.log(optimal.data_constrained_optimal(law, 1e22, unique).n_params)

    grads = jax.grad(log_n, argnums=(0, 1))(LAW, 25e9)
    for field in ("E", "A", "B", "alpha", "beta", "rd_star", "rn_star"):
        value = getattr(LAW, field)
        expected = _finite_difference(lambda x: log_n(LAW._replace(**{field: x}), 25e9), value)
        # central differences, h = 1e-6 relative: truncation ~1e-12, rounding ~1e-10 relative
        assert float(getattr(grads[0], field)) == pytest.approx(float(expected), rel=1e-5, abs=1e-9), field
    expected = _finite_difference(lambda x: log_n(LAW, x), 25e9)
    assert float(grads[1]) == pytest.approx(float(expected), rel=1e-5) and float(expected) != 0


def test_gradient_on_the_switch_is_chinchillas():
    # C = 1e18, U = 1e10: D < U, so the optimum is Chinchilla's, exactly on the switch N = N_opt(D) where automatic
    # differentiation of the law itself goes wrong; the implicit derivative must still be the closed form's
    chinchilla = optimal.Chinchilla(*(getattr(LAW, k) for k in ("E", "A", "B", "alpha", "beta")))
    solver = jax.grad(lambda law: jnp.log(optimal.data_constrained_optimal(law, 1e18, 1e10).n_params))(LAW)
    exact = jax.grad(lambda law: jnp.log(optimal.closed_form(law, 1e18)[0]))(chinchilla)
    for field in chinchilla._fields:
        assert float(getattr(solver, field)) == pytest.approx(float(getattr(exact, field)), rel=1e-6), field


@pytest.mark.parametrize("law, kwargs, error, message", [
    (optimal.preset("epoch2024"), dict(unique_tokens=25e9), CoefficientsError, "needs a DataConstrained law"),
    (LAW, dict(), BudgetError, "give the unique tokens available"),
    (LAW, dict(unique_tokens=-1.0), BudgetError, "unique_tokens must be positive"),
    (LAW, dict(unique_tokens=np.nan), BudgetError, "unique_tokens must be positive"),
    (LAW, dict(unique_tokens=25e9, compute=0.0), BudgetError, "compute must be positive"),
])
def test_bad_inputs(law, kwargs, error, message):
    kwargs = {"compute": 1e22, **kwargs}
    with pytest.raises(error, match=message):
        optimal.data_constrained_optimal(law, **kwargs)


@pytest.mark.parametrize("where", ["params", "tokens"])
def test_law_gradient_on_its_switches_matches_finite_differences(where):
    # the law is smooth (C1) across N = N_opt(U) and D = U, but jnp.minimum/maximum split a gradient 50/50 at a
    # tie: d log L / d log N came out 0.75 of the truth exactly on the switch. One-sided central differences of
    # the law itself are the reference (h = 1e-6 in log units: truncation ~1e-12, both sides smooth).
    u = 25e9
    law = LAW._replace(unique_tokens=u)
    log_g = (np.log(LAW.alpha * LAW.A) - np.log(LAW.beta * LAW.B)) / (LAW.alpha + LAW.beta)
    useful = LAW.beta / LAW.alpha * (np.log(u) + log_g) + log_g  # log N_opt(U), where excess parameters begin
    # D = U with N below N_opt(U) (1.27e9 here): above it the law has a true kink in D, as it is written
    log_n, log_d = (useful, np.log(u) + 1.0) if where == "params" else (np.log(1e9), np.log(u))
    grad = jax.grad(law.log_loss, argnums=(0, 1))(jnp.float64(log_n), jnp.float64(log_d))
    h = 1e-6
    fd_n = (law.log_loss(log_n + h, log_d) - law.log_loss(log_n - h, log_d)) / (2 * h)
    fd_d = (law.log_loss(log_n, log_d + h) - law.log_loss(log_n, log_d - h)) / (2 * h)
    assert float(grad[0]) == pytest.approx(float(fd_n), rel=1e-6, abs=1e-10)
    assert float(grad[1]) == pytest.approx(float(fd_d), rel=1e-6, abs=1e-10)
