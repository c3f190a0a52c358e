"""Bad input found by the fuzz pass of the Python API (``optimal.__all__``, 2026-12-05 evening; the harness called each
entry point with bad and edge values and flagged every bare Python or JAX error, hang and non-finite answer). Each call
here raised a bare ``TypeError``/``ValueError``/``AttributeError``, hung, or answered what it should have refused; each
test was seen failing with its fix undone."""

import warnings

import numpy as np
import pytest

import optimal
from optimal.errors import BudgetError, OptimalError

LAW = optimal.preset("epoch2024")


@pytest.fixture(scope="module")
def boot():
    runs = optimal.synthetic_runs(n_runs=30, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, search=optimal.Search(n_polish=2))
        return optimal.bootstrap(result, n_resamples=8, refit=optimal.Refit(n_starts=1, max_iter=200))


BUDGET_CALLS = {  # each read its budgets with np.asarray: a string, an object or complex numbers were a bare error
    "compute_optimal": lambda c: optimal.compute_optimal(LAW, c),
    "closed_form": lambda c: optimal.closed_form(LAW, c),
    "compute_for_loss": lambda c: optimal.compute_for_loss(LAW, c),
    "max_tokens": lambda c: optimal.compute_optimal(LAW, 1e22, max_tokens=c),
    "flops_per_param_token": lambda c: optimal.compute_optimal(LAW, 1e22, flops_per_param_token=c),
    "data_constrained_optimal": lambda c: optimal.data_constrained_optimal(optimal.preset("muennighoff2023"), 1e22, c),
    "inference_tokens": lambda c: optimal.inference_optimal(LAW, compute=1e22, inference_tokens=c),
    "recommend": lambda c: optimal.recommend(LAW, c),
    "recommend target_loss": lambda c: optimal.recommend(LAW, target_loss=c),
    "snap_to_shape": lambda c: optimal.snap_to_shape(LAW, c),
    "compare_presets": lambda c: optimal.compare_presets(c),
}


@pytest.mark.parametrize("value", [[1e22, "x"], object(), 1e22 + 1j, np.array([1e22 + 1e21j])],
                         ids=["str in list", "object", "complex", "complex array"])
@pytest.mark.parametrize("call", sorted(BUDGET_CALLS))
def test_a_budget_that_is_not_real_numbers_is_a_budget_error(call, value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning (the imaginary part dropped) is not an answer either
        with pytest.raises(BudgetError):
            BUDGET_CALLS[call](value)


@pytest.mark.parametrize("value", [[1e22, "x"], object(), 1e22 + 1j], ids=["str in list", "object", "complex"])
@pytest.mark.parametrize("call", ["allocate_draws", "delta_method_se", "decide"])
def test_draws_budgets_that_are_not_real_numbers_are_a_budget_error(boot, call, value):
    with pytest.raises(BudgetError):
        getattr(optimal, call)(boot, value)


def test_complex_runs_are_refused_not_cut_to_their_real_part():
    runs = optimal.synthetic_runs(n_runs=30, seed=0)
    with pytest.raises(optimal.DataError, match="n_params is not numeric"):
        optimal.fit(runs.n_params * (1 + 1j), runs.n_tokens, runs.loss)


@pytest.mark.parametrize("call, message", [
    (lambda: optimal.compute_optimal(LAW, 1e22, 1e18), "above 1e4"),  # N* was 13 parameters
    (lambda: optimal.compute_optimal(LAW, 1e22, np.int64(10**18)), "above 1e4"),
    (lambda: optimal.recommend(LAW, 1e22, flops_per_param_token=1e10), "above 1e4"),  # N* was 94,000 parameters
    (lambda: optimal.recommend(LAW, 1e22, flops_per_param_token="x"), "flops_per_param_token must be"),  # ValueError
    (lambda: optimal.closed_form(LAW, 1e22, 1e308), "above 1e4"),  # N* 3e-148 parameters
    (lambda: optimal.closed_form(LAW, 1e22, 1e-320), "overflows"),  # N* inf, D* NaN
    (lambda: optimal.closed_form(LAW, 1e-320), "below one parameter"),  # N* 0, D* NaN
    (lambda: optimal.closed_form(LAW, 1.0), "below one parameter"),  # N* 0.05 parameters
], ids=["k 1e18", "k int64", "recommend k 1e10", "recommend k str", "closed_form k huge", "closed_form k subnormal",
        "closed_form C subnormal", "closed_form C below k"])
def test_k_and_budgets_that_buy_less_than_one_parameter_are_refused_everywhere(call, message):
    """check_flops_per_param_token's cap (k <= 1e4) was the CLI's only; closed_form skipped compute_optimal's checks."""
    with pytest.raises(BudgetError, match=message):
        call()


def test_closed_form_names_a_law_it_has_no_formula_for():
    with pytest.raises(optimal.CoefficientsError, match="not a Kaplan's: use compute_optimal"):  # AttributeError
        optimal.closed_form(optimal.preset("kaplan2020"), 1e22)
    with pytest.raises(optimal.CoefficientsError, match="coefficient alpha"):  # garbage N*
        optimal.closed_form(LAW._replace(alpha=-0.3), 1e22)


def test_closed_form_still_answers_what_compute_optimal_answers():
    budgets = np.logspace(18, 26, 5)
    n, d = optimal.closed_form(LAW, budgets)
    np.testing.assert_allclose(n, optimal.compute_optimal(LAW, budgets).n_params, rtol=1e-9)


def test_recommend_checks_unique_tokens_and_fitted_range_before_reading_them():
    with pytest.raises(BudgetError, match="unique_tokens must be positive"):  # ValueError
        optimal.recommend(optimal.preset("muennighoff2023"), 1e22, unique_tokens="x")
    with pytest.raises(OptimalError, match="fitted_range must be an optimal.FittedRange"):  # AttributeError
        optimal.recommend(LAW, 1e22, fitted_range="x")


@pytest.mark.parametrize("call", [
    lambda boot: optimal.allocate_draws(boot, [[1e22, 1e23]]),  # TypeError
    lambda boot: optimal.delta_method_se(boot, [[1e22, 1e23]]),  # ValueError from matmul
    lambda boot: optimal.snap_to_shape(LAW, [[1e22, 1e23]]),  # TypeError
], ids=["allocate_draws", "delta_method_se", "snap_to_shape"])
def test_budgets_of_more_than_one_dimension_are_named(boot, call):
    with pytest.raises(BudgetError, match=r"got shape \(1, 2\)"):
        call(boot)


RUNS = optimal.synthetic_runs(n_runs=30, seed=0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: optimal.fit(RUNS.n_params, RUNS.n_tokens, RUNS.loss, fix=["E"]), optimal.CoefficientsError,
     "fix must be a mapping"),  # ValueError: dictionary update sequence element #0 has length 1
    (lambda: optimal.fit(RUNS.n_params, RUNS.n_tokens, RUNS.loss, covariates="U"), optimal.DataError,
     "covariates must be a mapping"),  # the same ValueError
    (lambda: optimal.fit(RUNS.n_params, RUNS.n_tokens, RUNS.loss, tie=("alpha", "beta")), optimal.CoefficientsError,
     r"tie must be pairs of parameter names such as \[\('alpha', 'beta'\)\], got \('alpha', 'beta'\)"),  # "not ('a', 'l', 'p', 'h', 'a')"
    (lambda: optimal.fit(RUNS.n_params, RUNS.n_tokens, RUNS.loss, tie="alpha"), optimal.CoefficientsError,
     "tie must be pairs"),
    (lambda: optimal.read_runs_csv(None), optimal.DataError, "must be a str or a pathlib.Path, got NoneType"),  # TypeError
    (lambda: optimal.read_runs_csv(b"runs.csv"), optimal.DataError, "got bytes"),
    (lambda: optimal.read_curves_csv(3), optimal.DataError, "got int"),
], ids=["fix list", "covariates str", "tie one pair", "tie str", "path None", "path bytes", "curves path int"])
def test_arguments_of_the_wrong_kind_for_fit_and_the_readers_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_predict_names_covariates_that_are_not_a_mapping(boot):
    with pytest.raises(optimal.DataError, match="covariates must be a mapping"):  # ValueError from dict()
        optimal.predict(boot.fit, 1e9, 1e10, covariates="U")


@pytest.mark.parametrize("options, error, message", [
    (dict(seed=-1), OptimalError, "seed must be an integer >= 0"),  # NumPy's ValueError after the whole computation
    (dict(seed=1.5), OptimalError, "seed must be an integer"),
    (dict(family="nope"), optimal.CoefficientsError, "unknown law 'nope'"),  # AttributeError: 'str' has no 'params'
    (dict(params="x"), BudgetError, "params must be positive finite numbers"),  # ValueError
    (dict(point="x"), OptimalError, "point must be the 5 finite fitting-space coefficients"),  # ValueError in jit
    (dict(point=[1.0, 2.0]), OptimalError, r"of shape \(2,\)"),
    (dict(covariates="U"), OptimalError, "covariates must be a mapping"),  # TypeError from inside jit
    (dict(covariates={"U": 1e12}), OptimalError, "reads no covariate 'U'"),  # ignored without a word
], ids=["seed -1", "seed float", "family name", "params str", "point str", "point short", "covariates str",
        "covariates unknown"])
def test_decide_names_each_bad_option(boot, options, error, message):
    with pytest.raises(error, match=message):
        optimal.decide(boot, 1e22, **options)


def test_decide_takes_a_family_by_name(boot):
    by_name = optimal.decide(np.asarray(boot.good), 1e22, family="chinchilla", point=boot.fit.theta)
    by_object = optimal.decide(np.asarray(boot.good), 1e22, family=boot.fit.family, point=boot.fit.theta)
    np.testing.assert_array_equal(by_name.n_params, by_object.n_params)


def test_search_layouts_on_many_accelerators_is_quick_and_keep_is_checked():
    """The divisors of n were found by a loop to n: 1e9 accelerators never came back."""
    import time
    shape = optimal.shape_for_params(7e9)
    start = time.perf_counter()
    found = optimal.search_layouts(7e9, shape, 2**40, "h100", 4096, global_batch=2**40)
    assert time.perf_counter() - start < 20 and found.tried > 0
    for keep in (-1, 1.5, "5"):  # -1 dropped the last layout; 1.5 and "5" were a TypeError from a slice
        with pytest.raises(optimal.PlanningError, match="keep must be an integer >= 0"):
            optimal.search_layouts(7e9, shape, 8, "h100", 4096, keep=keep)


@pytest.mark.parametrize("call, error, message", [
    (lambda: optimal.isoflop_runs(budgets=(-1.0,)), optimal.DataError, "budgets must be one or more positive"),  # NaN runs
    (lambda: optimal.isoflop_runs(budgets=()), optimal.DataError, "budgets must be one or more positive"),  # IndexError
    (lambda: optimal.isoflop_runs(truth=optimal.preset("kaplan2020")), optimal.CoefficientsError,
     "truth must be a Chinchilla law"),  # AttributeError
    (lambda: optimal.synthetic_runs(n_range=(1e9, 1e8)), optimal.DataError, "low <= high"),  # NumPy's ValueError
    (lambda: optimal.synthetic_runs(tokens_per_param=(0, 10)), optimal.DataError,
     r"tokens_per_param\[0\] must be a positive"),  # OverflowError
    (lambda: optimal.synthetic_runs(truth="chinchilla"), optimal.CoefficientsError, "truth must be a law"),
    (lambda: optimal.synthetic_curves(sizes=()), optimal.DataError, "at least one size"),  # ValueError
    (lambda: optimal.flop_audit("runs.csv", [], []), optimal.DataError, "runs must be an optimal.Runs"),  # AttributeError
    (lambda: optimal.isoflop(optimal.isoflop_runs(), fit_options="fast"), OptimalError,
     "fit_options must be a mapping"),  # TypeError: argument after ** must be a mapping
    (lambda: optimal.envelope(optimal.synthetic_curves(), fit_options="fast"), OptimalError,
     "fit_options must be a mapping"),
    (lambda: optimal.envelope(optimal.synthetic_curves(), budgets=["1e20x"]), BudgetError,
     "budgets must be numbers of FLOPs"),  # ValueError from float()
    (lambda: optimal.envelope(optimal.synthetic_curves(), targets="x"), BudgetError, "targets must be numbers"),
    (lambda: optimal.moe_optimal(optimal.laws.moe.LUDZIEJEWSKI2025, 1e22, expansion=1e300), BudgetError,
     "overflow float64"),  # n_total inf
    (lambda: optimal.moe_total_params(1e300, 1e10), BudgetError, "overflow float64"),
], ids=["isoflop_runs negative budget", "isoflop_runs no budget", "isoflop_runs kaplan", "n_range reversed",
        "tokens_per_param 0", "truth str", "curves no sizes", "flop_audit runs str", "isoflop fit_options str",
        "envelope fit_options str", "envelope budgets str", "envelope targets str", "moe expansion overflow",
        "moe_total_params overflow"])
def test_the_generators_and_the_analyses_refuse_what_they_cannot_use(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("options, message", [
    (dict(devices="gpu"), "devices must be a list of jax devices"),  # AttributeError from inside jax
    (dict(devices=["cpu"]), "devices must be a list of jax devices"),
    (dict(progress=3), "progress must be None or a callable"),  # TypeError after the first chunk
], ids=["devices str", "devices names", "progress int"])
def test_bootstrap_names_devices_and_progress_of_the_wrong_kind(boot, options, message):
    with pytest.raises(OptimalError, match=message):
        optimal.bootstrap(boot.fit, n_resamples=4, refit=optimal.Refit(n_starts=1, max_iter=50), **options)


def test_law_from_dict_refuses_a_coefficient_it_would_ignore():
    coefficients = optimal.law_to_dict(LAW)
    with pytest.raises(optimal.CoefficientsError, match="chinchilla coefficients have no 'Beta'"):
        optimal.law_from_dict({**coefficients, "Beta": 0.4})  # read as the law without it
    with pytest.raises(optimal.CoefficientsError, match="have no 'unique_tokens'"):
        optimal.law_from_dict({**coefficients, "unique_tokens": 1e10})
    assert optimal.law_from_dict({"family": "chinchilla", "params": coefficients}) == LAW  # solve --json's law


@pytest.mark.parametrize("call, error, message", [
    (lambda boot: optimal.best_run(LAW, optimal.Constraints(deadline_days=30, n_accelerators=64),
                                   flops_per_param_token=1e10), BudgetError, "above 1e4"),  # planned as given
    (lambda boot: optimal.best_run(LAW, optimal.Constraints(deadline_days=30, n_accelerators=64), aspect_ratio=0),
     optimal.PlanningError, "aspect_ratio must be a positive"),  # ignored without a context
    (lambda boot: optimal.validate(RUNS.n_params, RUNS.n_tokens, RUNS.loss, largest=2, simulations=0, covariates="U"),
     optimal.DataError, "covariates must be a mapping"),  # AttributeError: 'str' object has no attribute 'items'
    (lambda boot: optimal.recommend(LAW, 1e22, thresholds={"max_decade_outside": 2}), OptimalError,
     "thresholds has no 'max_decade_outside'"),  # TypeError from Thresholds(**...)
    (lambda boot: optimal.compare(boot, boot, [1e22], names="AB"), OptimalError, "names must be two names"),  # A, B
    (lambda boot: optimal.compare(boot, boot, [1e22], names=("A",)), OptimalError, "names must be two names"),
    (lambda boot: optimal.read_shaped_runs(None), optimal.DataError, "must be a str or a pathlib.Path"),  # TypeError
], ids=["best_run k", "best_run aspect ratio", "validate covariates", "recommend thresholds", "compare names str",
        "compare one name", "read_shaped_runs None"])
def test_the_planners_and_the_analyses_name_a_bad_option(boot, call, error, message):
    with pytest.raises(error, match=message):
        call(boot)


def test_recommend_reads_target_losses_of_any_shape_as_compute():
    two_d = optimal.recommend(LAW, target_loss=[[2.2]])  # a TypeError; compute of shape (1, 1) was answered
    assert two_d.records[0]["compute"] == optimal.recommend(LAW, target_loss=2.2).records[0]["compute"]


@pytest.mark.parametrize("fixed", [{"alpha": -1.0}, {"beta": 0.0}], ids=["alpha -1", "beta 0"])
def test_a_fixed_value_outside_the_laws_range_is_refused_before_fitting(fixed):
    """Exponents are fitted as they are (not in log space), so only the positive scales were checked: alpha = -1 came
    back as a converged fit with A = 5.6e-27, a law every later call refuses."""
    with pytest.raises(optimal.CoefficientsError, match=f"coefficient {next(iter(fixed))} of the Chinchilla law must"):
        optimal.fit(RUNS.n_params, RUNS.n_tokens, RUNS.loss, fix=fixed)


@pytest.mark.parametrize("value, message", [
    ([1.69], "must be a number or an array .* got list"),  # a TypeError inside JAX
    ("1.69", "must be a number or an array .* got str"),  # was read as 1.69 and answered
    (np.array([1.69, 1.7]), r"one law at a time: coefficient E .* shape \(2,\)"),  # a TypeError from jax.grad
])
def test_a_law_whose_coefficient_is_not_one_number_is_named(value, message):
    law = optimal.Chinchilla(E=value, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    for call in (lambda: optimal.compute_optimal(law, 1e24), lambda: optimal.compute_for_loss(law, 2.5)):
        with pytest.raises(optimal.CoefficientsError, match=message):
            call()
