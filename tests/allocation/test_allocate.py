"""The Optax solver against the closed form, caps, the inverse problem and implicit gradients."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optimal
from optimal import BudgetError, Chinchilla, UnreachableLossError


def random_laws(n, seed):
    rng = np.random.default_rng(seed)
    return [
        Chinchilla(
            E=rng.uniform(0.5, 3), A=np.exp(rng.uniform(2, 12)), B=np.exp(rng.uniform(2, 12)),
            alpha=rng.uniform(0.1, 0.9), beta=rng.uniform(0.1, 0.9),
        )
        for _ in range(n)
    ]


BUDGETS = np.logspace(15, 30, 301)


@pytest.mark.parametrize("law", random_laws(20, seed=0))
def test_float64_matches_closed_form(law):
    result = optimal.compute_optimal(law, BUDGETS)
    n, d = optimal.closed_form(law, BUDGETS)
    # Newton converges to a few ulps of log N (~60 ulps relative to N); 1e-9 leaves room to spare.
    np.testing.assert_allclose(result.n_params, n, rtol=1e-9)
    np.testing.assert_allclose(result.n_tokens, d, rtol=1e-9)
    assert bool(result.converged.all()) and not result.bound.any()
    np.testing.assert_allclose(result.n_params * result.n_tokens * 6, BUDGETS, rtol=1e-12)


@pytest.mark.parametrize("law", random_laws(5, seed=1))
def test_float32_matches_closed_form(law):
    result = optimal.compute_optimal(law, BUDGETS, dtype=jnp.float32)
    assert result.n_params.dtype == jnp.float32
    n, _ = optimal.closed_form(law, BUDGETS)
    # log N ~ 30..60 is held to float32 ulps (~4e-6); exp turns that into the same relative error in N.
    np.testing.assert_allclose(np.asarray(result.n_params, np.float64), n, rtol=1e-4)
    assert bool(result.converged.all())


def test_presets_give_published_allocations():
    epoch = optimal.compute_optimal(optimal.preset("epoch2024"), 5.76e23)
    assert float(epoch.n_params) == pytest.approx(7.22e10, rel=2e-3)
    assert float(epoch.n_tokens) == pytest.approx(1.33e12, rel=2e-3)
    assert float(epoch.tokens_per_param) == pytest.approx(18.4, abs=0.05)
    # PITFALLS: Hoffmann's rounded coefficients give 32B at the Chinchilla budget, not the paper's 40B.
    hoffmann = optimal.compute_optimal(optimal.preset("hoffmann2022"), 5.76e23)
    assert float(hoffmann.n_params) == pytest.approx(3.22e10, rel=2e-3)


def test_gpt3_budget_sanity():
    # 6 x 175e9 params x 300e9 tokens = 3.15e23 FLOPs (Brown et al. 2020).
    result = optimal.compute_optimal(optimal.preset(), 6 * 175e9 * 300e9)
    assert float(result.compute) == pytest.approx(3.15e23)
    assert float(result.n_params * result.n_tokens * 6) == pytest.approx(3.15e23, rel=1e-12)
    assert float(result.n_params) < 175e9  # Chinchilla's point: GPT-3 was too big for its data


def test_batch_of_1e5_budgets_any_shape():
    budgets = np.logspace(15, 30, 100_000).reshape(1000, 100)
    result = optimal.compute_optimal(optimal.preset(), budgets)
    assert result.n_params.shape == (1000, 100)
    n, _ = optimal.closed_form(optimal.preset(), budgets)
    assert float(jnp.max(jnp.abs(result.n_params / n - 1))) < 1e-9


def test_custom_function_and_kaplan_minimise_the_loss():
    def my_law(n, d):
        return 1.5 + 300.0 / n**0.3 + 900.0 / d**0.33

    budgets = np.array([1e20, 1e23])
    result = optimal.compute_optimal(my_law, budgets)
    reference = optimal.compute_optimal(Chinchilla(1.5, 300.0, 900.0, 0.3, 0.33), budgets)
    np.testing.assert_allclose(result.n_params, reference.n_params, rtol=1e-8)
    kaplan = optimal.compute_optimal(optimal.preset("kaplan2020"), 1e22)
    for factor in (0.9, 1.1):  # the optimum is a minimum along the budget line
        n = kaplan.n_params * factor
        assert optimal.preset("kaplan2020").loss(n, 1e22 / 6 / n) > kaplan.loss


def test_caps_bind_and_not():
    law = optimal.preset()
    free = optimal.compute_optimal(law, 5.76e23)
    loose = optimal.compute_optimal(law, 5.76e23, max_tokens=1e13, max_params=1e12)
    assert int(loose.bound) == 0 and float(loose.n_params) == pytest.approx(float(free.n_params), rel=1e-12)
    data_capped = optimal.compute_optimal(law, 5.76e23, max_tokens=5e11)
    assert optimal.BOUND_NAMES[int(data_capped.bound)] == "max_tokens"
    assert float(data_capped.n_tokens) == pytest.approx(5e11, rel=1e-12)
    assert float(data_capped.loss) > float(free.loss)
    size_capped = optimal.compute_optimal(law, 5.76e23, max_params=1e10)
    assert optimal.BOUND_NAMES[int(size_capped.bound)] == "max_params"
    assert float(size_capped.n_params) == pytest.approx(1e10, rel=1e-12)
    assert size_capped.to_records()[0]["bound"] == "max_params"


def test_inverse_problem_round_trips():
    law = optimal.preset()
    budgets = np.array([1e19, 5.76e23, 1e27])
    forward = optimal.compute_optimal(law, budgets)
    inverse = optimal.compute_for_loss(law, forward.loss)
    np.testing.assert_allclose(inverse.compute, budgets, rtol=1e-8)
    capped = optimal.compute_for_loss(law, 2.0, max_tokens=5e11)
    assert float(capped.loss) == pytest.approx(2.0, rel=1e-10) and int(capped.bound) == 1


def test_unreachable_target_loss():
    law = optimal.preset()
    with pytest.raises(UnreachableLossError, match="irreducible loss E = 1.8172"):
        optimal.compute_for_loss(law, 1.8)
    with pytest.raises(UnreachableLossError, match="floor set by the caps"):
        optimal.compute_for_loss(law, 1.83, max_tokens=1e9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(compute=-1.0), "compute must be positive"),
        (dict(compute=[1e20, np.nan]), "compute must be positive"),
        (dict(compute=0.0), "compute must be positive"),
        (dict(compute=1.0), "below one parameter trained on one token"),
        (dict(compute=1e40, dtype=jnp.float32), "outside what float32 holds"),
        (dict(compute=1e24, max_tokens=0.0), "max_tokens must be positive"),
        (dict(compute=1e24, max_params=-5), "max_params must be positive"),
        (dict(compute=1e24, max_tokens=1e9, max_params=1e9), "cannot be spent within"),
        (dict(compute=1e24, flops_per_param_token=0), "flops_per_param_token must be positive"),
    ],
)
def test_bad_budgets(kwargs, message):
    with pytest.raises(BudgetError, match=message):
        optimal.compute_optimal(optimal.preset(), **kwargs)


def finite_difference(fn, law, field, rel=1e-6):
    value = getattr(law, field)
    h = rel * value
    up, down = law._replace(**{field: value + h}), law._replace(**{field: value - h})
    return (fn(up) - fn(down)) / (2 * h)


@pytest.mark.parametrize("output", ["n_params", "n_tokens", "loss"])
def test_gradients_match_finite_differences(output):
    law = optimal.preset()

    def f(p):
        return jnp.log(getattr(optimal.compute_optimal(p, 5.76e23), output))

    grads = jax.grad(f)(law)
    for field in law._fields:
        expected = finite_difference(f, law, field)
        # central differences with h = 1e-6 relative: truncation ~1e-12, rounding ~1e-10 relative
        assert float(getattr(grads, field)) == pytest.approx(float(expected), rel=1e-5, abs=1e-9), field


def test_gradient_matches_closed_form_gradient():
    law = optimal.preset("hoffmann2022")
    solver = jax.grad(lambda p: jnp.log(optimal.compute_optimal(p, 1e24).n_params))(law)
    exact = jax.grad(lambda p: jnp.log(optimal.closed_form(p, 1e24)[0]))(law)
    for field in law._fields:
        assert float(getattr(solver, field)) == pytest.approx(float(getattr(exact, field)), rel=1e-8)


def test_data_constrained_allocation_matches_the_authors_grid_search():
    # Muennighoff et al.'s README allocation, C = 1e22 FLOPs (6ND), U = 25e9 unique tokens: their grid search gives
    # ~7.02e9 parameters and 2.37e11 tokens (9.49 epochs). A 400,001-point log grid over N on the budget line
    # (NumPy, the authors' formula transcribed) reaches L = 2.2221292748715924 at N = 7.0262e9: ours must be no worse.
    law = optimal.preset("muennighoff2023")._replace(unique_tokens=25e9)
    answer = optimal.compute_optimal(law, 1e22)
    assert bool(answer.converged)
    assert float(answer.loss) <= 2.2221292748715924 * (1 + 1e-12)
    assert float(answer.n_params) == pytest.approx(7.0262e9, rel=1e-3)
    assert float(answer.n_tokens / 25e9) == pytest.approx(9.488, rel=1e-3)
    for factor in (0.99, 1.01):  # a minimum along the budget line
        n = float(answer.n_params) * factor
        assert float(law.loss(n, 1e22 / 6 / n)) > float(answer.loss)
    # the same through data_constrained_optimal, which reports the epochs D / U
    epochs = optimal.data_constrained_optimal(law, 1e22).epochs
    assert float(epochs) == pytest.approx(9.49, rel=1e-3) and float(epochs) == float(answer.n_tokens) / 25e9


def test_empty_budget_list():
    with pytest.raises(BudgetError, match="no values given"):
        optimal.compute_optimal(optimal.preset(), [])


def test_unreachable_target_for_a_law_without_a_known_floor():
    def floored(n, d):  # a custom law whose floor (2.0) the solver is not told about
        return 2.0 + 400.0 / n**0.34 + 400.0 / d**0.28

    with pytest.raises(UnreachableLossError, match="could not be reached"):
        optimal.compute_for_loss(floored, 1.9)


def test_one_check_says_a_budget_buys_less_than_one_parameter_on_one_token():
    """check_one_run_or_more: the one check of compute_optimal's budgets, compute_for_loss's and envelope's; what
    differs is the name of the quantity, the error class and the advice."""
    from optimal.allocation.allocate import check_one_run_or_more
    from optimal.errors import PlanningError

    assert check_one_run_or_more(6.0, 6.0) == 6.0
    with pytest.raises(BudgetError, match=r"^compute 1 FLOPs is below one parameter trained on one token \(k = 6 "
                                          r"FLOPs\)$"):
        check_one_run_or_more(np.array([1e3, 1.0, 3.0]), 6.0)
    attention = optimal.FlopsPerToken.attention(8192, aspect_ratio=128.0)
    least = float(attention.training(1.0))
    with pytest.raises(PlanningError, match="^" + re.escape(f"the limit 2 FLOPs is below one parameter trained on one "
                                                            f"token ({least:.3g} FLOPs per token at N = 1): raise it")):
        check_one_run_or_more(2.0, attention, "the limit", PlanningError, ": raise it")


@pytest.mark.parametrize("target", [1e5, 1e300])
def test_a_target_above_the_loss_of_the_smallest_run_is_refused(target):
    # the law reaches a loss that high only below one parameter trained on one token (C < k): no answer to give
    law = optimal.preset("hoffmann2022")
    assert float(law.loss(1.0, 1.0)) < target  # independently: even N = D = 1 does better than the target
    with pytest.raises(UnreachableLossError, match=r"target loss (100000|1e\+300): its budget .* FLOPs is below one parameter "
                                                  r"trained on one token \(k = 6 FLOPs\): give a target"):
        optimal.compute_for_loss(law, target)
    assert optimal.compute_for_loss(law, 20.0).compute >= 6.0  # a high target a real model has still answers
