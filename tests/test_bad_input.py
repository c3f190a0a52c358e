"""Bad input is a named error or a warning, never a hang, a traceback or a silent non-finite answer (issue 20,
item 5), family by family: files that never end or are not text, empty names, unit slips, numbers whose derived
quantities overflow, out-of-range noise scales, missing covariates, a non-positive k."""

import contextlib
import dataclasses
import json
import math
import os
import signal
import types
import warnings

import numpy as np
import pytest

import optimal
from optimal.allocation.flops import check_flops_per_param_token
from optimal.analysis.design import suggest
from optimal.analysis.predict import Prediction, _prediction_covariates
from optimal.data import readers
from optimal.data.readers import read_runs_csv, read_runs_with_columns, shared_data_path
from optimal.errors import BudgetError, DataError, OptimalError, PlanningError, PlausibilityWarning
from optimal.fitting.diagnostics import plausibility
from optimal.laws.data_constrained import DATA_CONSTRAINED
from optimal.planning import (TransformerShape, accelerator, accelerator_from_dict, accelerators_to_hold,
                              hardware_estimate, kv_cache_bytes, load_accelerator, plan_training, shape_for_params,
                              training_memory, weight_bytes)

GOOD_CSV = "N,D,loss\n" + "".join(f"{n:g},{d:g},{3.0 - 0.1 * i:g}\n" for i, (n, d) in
                                  enumerate(zip([1e8, 2e8, 4e8, 8e8, 1.6e9] * 2, [2e9] * 5 + [4e10] * 5)))


class DidNotReturn(Exception):
    """Not an ``OSError`` (as ``TimeoutError`` is): a reader's ``except OSError`` must not swallow it."""


@contextlib.contextmanager
def within(seconds):
    """Fail (instead of hanging the suite) when the body runs longer than ``seconds``."""
    def expired(*_):
        raise DidNotReturn(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- reading: bounded in size and time, regular files only, text only ------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
@pytest.mark.parametrize("suffix", ["", ".parquet"])
def test_a_device_is_refused_before_it_is_read(device, suffix, tmp_path):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    path = device
    if suffix:  # a .parquet name pointing at the device takes the Parquet reader
        path = tmp_path / f"link{suffix}"
        path.symlink_to(device)
        pytest.importorskip("pyarrow")
    with within(20), pytest.raises(DataError, match=r"is a device, not a regular file"):
        read_runs_csv(path)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    with within(20), pytest.raises(DataError, match=rf"{fifo}: is a FIFO \(named pipe\), not a regular file"):
        read_runs_csv(fifo)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as file:  # sparse: takes no disk
        file.truncate(readers.MAX_FILE_BYTES + 1)
    with within(20), pytest.raises(DataError, match=r"huge.csv: the file has 268,435,457 bytes, more than the "
                                                     r"268,435,456 \(MAX_FILE_BYTES\)"):
        read_runs_csv(huge)


def test_the_size_limit_is_the_modules_constant(tmp_path, monkeypatch):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD_CSV)
    assert len(read_runs_csv(path, n_free=0).loss) == 10
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", len(GOOD_CSV) - 1)
    with pytest.raises(DataError, match="MAX_FILE_BYTES"):
        read_runs_csv(path, n_free=0)


@pytest.mark.parametrize("content, message", [
    (bytes(1000), r"its header holds NUL bytes: a binary file"),  # a file of zeros (a copy of /dev/zero)
    (bytes(300_000), r"cannot read the file as UTF-8 CSV \(field larger than field limit"),  # one endless cell
    (b"N,D,loss\n1e8,2e9,3\x00\n", r"column 'loss', row 1 \(line 2\): '3\\x00' is not a number"),
    (bytes(np.random.default_rng(0).integers(128, 256, 4096, dtype=np.uint8)), r"cannot read the file as UTF-8 CSV"),
])
def test_binary_garbage_is_a_data_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "garbage.csv"
    path.write_bytes(content)
    with within(20), pytest.raises(DataError, match=rf"garbage.csv: .*{message}"):
        read_runs_csv(path)


def test_an_empty_path_is_named():
    with pytest.raises(DataError, match="the path of the CSV file is empty"):
        read_runs_csv("")


@pytest.mark.parametrize("option", ["params_col", "tokens_col", "flops_col", "loss_col", "group_col", "weight_col"])
@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_column_name_is_refused(tmp_path, option, name):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD_CSV)
    with pytest.raises(DataError, match=rf"{option}='{name}' names no column"):
        read_runs_csv(path, **{option: name})


def test_an_empty_covariate_column_name_is_refused(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(GOOD_CSV)
    with pytest.raises(DataError, match="the column for 'U'='' names no column"):
        read_runs_with_columns(path, numbers={"U": ""})


# --- unit slips: N and D swapped ----------------------------------------------------------------------------------


def test_epoch_runs_with_n_and_d_swapped_warn():
    path = shared_data_path()
    if path is None:
        pytest.skip("Epoch AI's Chinchilla file is not in ../shared/data")
    runs = optimal.load_epoch_chinchilla(path)
    assert plausibility(runs.n_params, runs.n_tokens, runs.loss) == []  # as published: nothing to say
    swapped = plausibility(runs.n_tokens, runs.n_params, runs.loss)
    assert len(swapped) == 1 and "median of 0.0433 training tokens per parameter" in swapped[0]
    assert "are N and D swapped" in swapped[0]


@pytest.mark.parametrize("slip, median", [
    (lambda n, d: (d, n), "0.0"),  # swapped
    (lambda n, d: (n, d / 1e3), "0.0"),  # D in thousands
])
def test_a_fit_of_swapped_or_rescaled_runs_warns(slip, median):
    runs = optimal.synthetic_runs(n_runs=60, noise=0.01, seed=0)  # D/N from 2 to 200
    n, d = slip(runs.n_params, runs.n_tokens)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = optimal.fit(n, d, runs.loss)
    implausible = [w for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert any(f"median of {median}" in str(w.message) for w in implausible), [str(w.message) for w in caught]
    assert any(issue.code == "implausible" for issue in result.warnings)


# --- planning: every derived quantity finite, every search short --------------------------------------------------


@pytest.mark.parametrize("n_params", [1e300, 1e19, 0.5, float("inf")])
def test_shape_for_params_refuses_sizes_it_cannot_build(n_params):
    with within(20), pytest.raises(PlanningError, match="n_params must be"):
        shape_for_params(n_params)


@pytest.mark.parametrize("ratio", [1e-300, 1e300, 0.5, 1e5])
def test_shape_for_params_refuses_aspect_ratios_out_of_range(ratio):
    with within(20), pytest.raises(PlanningError, match=r"aspect_ratio \(d_model / n_layer\) must be from 1 to 10000"):
        shape_for_params(7e9, ratio)


def test_shape_for_params_is_quick_at_the_limits():
    with within(20):
        for ratio in (1.0, 1e4):
            for n in (1.0, 1e18):
                shape = shape_for_params(n, ratio)
                assert shape.n_layer >= 1


@pytest.mark.parametrize("field, value, message", [
    ("n_layer", 2**50, "n_layer 1125899906842624 is above 1099511627776"),
    ("vocab_size", 10**400, "vocab_size .* is above 1099511627776"),
    ("ffn_multiplier", 1e300, "ffn_multiplier .* must be at most 1e4"),
])
def test_shape_fields_are_bounded(field, value, message):
    fields = dict(n_layer=2, d_model=64, n_heads=8, vocab_size=100) | {field: value}
    with pytest.raises(PlanningError, match=message):
        TransformerShape(**fields)


@pytest.mark.parametrize("options, message", [
    (dict(n_params=1e300, n_tokens=1e300), r"n_params 1e\+300 is above 1e\+18 \(MAX_PARAMS\)"),
    (dict(n_params=7e9, n_tokens=1e300), r"n_tokens 1e\+300 is above 1e\+24 \(MAX_TOKENS\)"),
    (dict(n_params=7e9, compute=1e300), r"compute 1e\+300 is above 1e\+40 \(MAX_COMPUTE\)"),
    (dict(n_params=1e18, n_tokens=1e24, flops_per_param_token=1e4), r"compute = .* is above 1e\+40"),
    (dict(n_params=7e9, n_tokens=1e12, flops_per_param_token=1e300), r"flops_per_param_token 1e\+300 is above"),
    (dict(n_params=7e9, n_tokens=1e12, flops_per_param_token=-1), "flops_per_param_token must be a positive"),
    (dict(n_params=7e9, n_tokens=1e12, aspect_ratio=1e-300), "aspect_ratio .* must be from 1 to"),
    (dict(n_params=7e9, n_tokens=1e12, aspect_ratio=1e300), "aspect_ratio .* must be from 1 to"),
    (dict(n_params=7e9, n_tokens=1e12, context=2**60), r"context .* is above 1099511627776"),
    (dict(n_params=7e9, n_tokens=1e12, accelerator=""), "the accelerator name is empty"),
    (dict(n_params=7e9, n_tokens=1e12, power_watts=1e307), r"power_watts = 1e\+307 is outside 1 to 1e\+06 W"),
    (dict(n_params=7e9, n_tokens=1e12, power_watts=1e6, pue=5, mfu=1e-300), r"energy \(kWh\) overflows"),
    (dict(n_params=7e9, n_tokens=1e12, pue=100), r"pue must be a finite number >= 1 and <= 5, got 100"),
    (dict(n_params=7e9, n_tokens=1e12, price_per_accelerator_hour=1e308, n_accelerators=1), "cost overflows"),
])
def test_plan_refuses_what_would_overflow_or_never_end(options, message):
    with within(20), pytest.raises(PlanningError, match=message):
        plan_training(**options)


def test_plans_at_the_limits_are_finite():
    with within(60):
        plan = plan_training(n_params=1e18, n_tokens=1e21, context=8192)
    numbers = [plan.compute, plan.hardware.accelerator_hours, plan.hardware.cost, plan.training.total_bytes,
               plan.kv_cache_per_sequence]
    assert all(math.isfinite(x) and x > 0 for x in numbers)


@pytest.mark.parametrize("peak, message", [
    (1e-300, r"peak_flops_per_second.bf16 = 1e-300 is outside 1e\+09 to 1e\+18 FLOP/s"),
    (1e300, r"peak_flops_per_second.bf16 = 1e\+300 is outside"),
    (989.0, "is outside .* check the unit"),  # TFLOP/s given for FLOP/s
])
def test_an_accelerator_file_with_an_implausible_peak_is_refused(tmp_path, peak, message):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"name": "mine", "peak_flops_per_second": {"bf16": peak}, "memory_gb": 80}))
    with pytest.raises(PlanningError, match=message):
        load_accelerator(path)


def test_an_accelerator_file_with_a_nan_peak_is_refused(tmp_path):
    path = tmp_path / "gpu.json"
    path.write_text('{"name": "mine", "peak_flops_per_second": {"bf16": NaN}, "memory_gb": 80}')
    with pytest.raises(OptimalError):  # refused by the strict JSON reader or by the field check
        load_accelerator(path)
    with pytest.raises(PlanningError, match="must be a positive finite number"):
        accelerator_from_dict({"peak_flops_per_second": {"bf16": float("nan")}, "memory_gb": 80})


@pytest.mark.parametrize("field, value, message", [
    ("memory_gb", 1e-300, "memory_gb = 1e-300 is outside 0.001 to 1e\\+06 GB"),
    ("power_watts", 1e300, "power_watts = 1e\\+300 is outside 1 to 1e\\+06 W"),
    ("name", "  ", "name is empty"),
])
def test_accelerator_fields_out_of_range_are_refused(field, value, message):
    data = {"peak_flops_per_second": {"bf16": 1e15}, "memory_gb": 80, field: value}
    with pytest.raises(PlanningError, match=message):
        accelerator_from_dict(data)


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_accelerator_name_is_refused(name):
    with pytest.raises(PlanningError, match="the accelerator name is empty; choose one of"):
        accelerator(name)


def test_memory_refuses_what_would_overflow():
    with pytest.raises(PlanningError, match=r"n_params 1e\+300 is above 1e\+18"):
        training_memory(1e300)
    with pytest.raises(PlanningError, match=r"n_params 1e\+300 is above 1e\+18"):
        weight_bytes(1e300)
    with pytest.raises(PlanningError, match="tokens 1e\\+300 is above"):
        kv_cache_bytes(shape_for_params(7e9), 1e300)
    with pytest.raises(PlanningError, match="check the accelerator's memory"):
        accelerators_to_hold(training_memory(1e12), 1e-300)


def test_hardware_estimate_refuses_an_overflowing_answer():
    with pytest.raises(PlanningError, match="accelerator-hours overflows"):
        hardware_estimate(1e308, "h100", mfu=1e-300)


# --- design, prediction, k -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_fit():
    runs = optimal.synthetic_runs(n_runs=40, noise=0.02, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optimal.fit(runs.n_params, runs.n_tokens, runs.loss)


@pytest.mark.parametrize("noise_sd", [1e300, 1e-300, 2.0, float("inf")])
def test_suggest_refuses_a_noise_scale_out_of_range(small_fit, noise_sd):
    with pytest.raises(DataError, match=r"noise_sd must be a positive finite number from 1e-06 to 1"):
        suggest(small_fit, 1e24, 1e21, noise_sd=noise_sd)


def test_suggest_answers_at_the_noise_limits(small_fit):
    for noise_sd in (1e-6, 1.0):
        assert suggest(small_fit, 1e24, 1e21, noise_sd=noise_sd, n_resamples=0).n_star > 0


def test_predicting_a_data_constrained_law_needs_u():
    result = types.SimpleNamespace(family=DATA_CONSTRAINED)  # what the covariate check reads of a fit
    with pytest.raises(DataError, match=r"needs the covariate U .* --covariate U=VALUE"):
        _prediction_covariates(result, None, (2,))
    given, notes = _prediction_covariates(result, {"U": [1e10, np.inf]}, (2,))  # U = inf when asked for
    np.testing.assert_array_equal(given["U"], [1e10, np.inf])
    assert notes == []


@pytest.mark.parametrize("k", [-1, 0, float("nan"), float("inf"), "6"])
def test_k_must_be_positive_where_predictions_compute_c(small_fit, k):
    prediction = optimal.predict(small_fit, [7e9], [1.4e11])
    assert isinstance(prediction, Prediction)
    with pytest.raises(BudgetError, match="flops_per_param_token must be a positive finite number"):
        prediction.summary(flops_per_param_token=k)
    with pytest.raises(BudgetError, match="flops_per_param_token must be a positive finite number"):
        check_flops_per_param_token(k)
    assert prediction.scored_records(6)[0]["C"] == pytest.approx(6 * 7e9 * 1.4e11)


# Found by benchmarks/fuzz_cli.py: an int beyond float64 raised a bare OverflowError, and caps below one parameter
# or token, or a subnormal k, gave inf or NaN allocations.
HUGE_INT = 10 ** 400


@pytest.mark.parametrize("call", [
    lambda fit: optimal.compute_optimal(optimal.preset("epoch2024"), HUGE_INT),
    lambda fit: optimal.compute_for_loss(optimal.preset("epoch2024"), HUGE_INT),
    lambda fit: optimal.compute_optimal(optimal.preset("epoch2024"), 1e23, max_params=HUGE_INT),
    lambda fit: optimal.inference_optimal(optimal.preset("epoch2024"), compute=1e23, inference_tokens=HUGE_INT),
    lambda fit: optimal.predict(fit, HUGE_INT, 1e10),
    lambda fit: optimal.suggest(fit, HUGE_INT, 1e20),
    lambda fit: optimal.hardware_estimate(1e23, mfu=HUGE_INT),
    lambda fit: optimal.synthetic_runs(noise=HUGE_INT),
], ids=["compute_optimal", "compute_for_loss", "max_params", "inference_tokens", "predict", "suggest", "mfu",
        "synthetic_noise"])
def test_an_int_beyond_float64_is_a_named_error(small_fit, call):
    with pytest.raises(OptimalError, match="beyond float64|must be"):
        call(small_fit)


@pytest.mark.parametrize("caps, message", [
    ({"max_params": 1e-320}, r"max_params must be at least 1 \(one parameter\), got 1e-320"),
    ({"max_tokens": 0.5}, r"max_tokens must be at least 1 \(one token\), got 0.5"),
    ({"flops_per_param_token": 1e-320}, r"compute / k overflows float64"),
])
def test_caps_and_k_that_overflow_n_or_d_are_refused(caps, message):
    with pytest.raises(BudgetError, match=message):
        optimal.compute_optimal(optimal.preset("epoch2024"), 1e23, **caps)
    assert optimal.compute_optimal(optimal.preset("epoch2024"), 1e23, max_params=1.0).n_params == 1.0


@pytest.mark.parametrize("noise", [float("nan"), 1e308, -0.1])
def test_synthetic_noise_out_of_range_is_refused(noise):
    with pytest.raises(DataError, match="noise must be a log-loss sd from 0 to 10"):
        optimal.synthetic_runs(noise=noise)


def test_an_interval_whose_spread_overflows_has_no_se():
    from optimal._util.stats import interval

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw NumPy "overflow encountered in square"
        got = interval(np.array([1e200, 1e300, 1e304]), 0.95)
    assert got["se"] is None and got["hi"] <= 1e304
    assert interval(np.array([1.0, 3.0]), 0.95)["se"] == pytest.approx(np.sqrt(2))


def test_an_int_beyond_float64_in_a_law_or_runs_is_a_named_error():
    with pytest.raises(OptimalError, match="coefficient E of the Chinchilla law must be"):
        optimal.compute_optimal(optimal.Chinchilla(E=HUGE_INT, A=406.4, B=410.7, alpha=0.34, beta=0.28), 1e23)
    with pytest.raises(DataError, match="n_params must be finite numbers, got an integer beyond float64"):
        optimal.fit([HUGE_INT, 1e9, 2e9, 3e9], [1e10] * 4, [3.0, 2.9, 2.8, 2.7])


@pytest.mark.parametrize("delta", [1e-320, 1e-11])
def test_a_huber_threshold_that_underflows_the_objective_is_refused(delta):
    with pytest.raises(OptimalError, match=r"delta \(the Huber threshold\) must be at least 1e-10"):
        optimal.Objective(delta=delta)
    assert optimal.Objective(delta=1e-10).delta == 1e-10


def test_the_condition_of_a_hessian_without_curvature_is_inf():
    from optimal.fitting.diagnostics import scaled_condition

    assert scaled_condition(np.zeros((5, 5))) == float("inf")


@pytest.mark.parametrize("run, message", [
    ({"n_params": 1e9, "n_tokens": 1e-320}, r"n_tokens must be at least 1 \(one token\)"),
    ({"n_params": 0.5, "n_tokens": 1e10}, r"n_params must be at least 1 \(one parameter\)"),
])
def test_a_plan_for_less_than_one_parameter_or_token_is_refused(run, message):
    with pytest.raises(PlanningError, match=message):
        optimal.plan_training(**run)


def test_less_than_one_unique_token_and_absurd_accelerator_counts_are_refused():
    with pytest.raises(BudgetError, match=r"unique_tokens must be at least 1 \(one token\)"):
        optimal.data_constrained_optimal(optimal.preset("muennighoff2023"), 1e23, 1e-320)
    with pytest.raises(PlanningError, match="n_accelerators must be an integer from 1 to 1000000000"):
        optimal.hardware_estimate(1e23, n_accelerators=HUGE_INT)


@pytest.mark.parametrize("n, d, message", [(1e308, 1e10, "N x D overflows C = k N D"),
                                           (1e-320, 1e10, "N must be at least 1"),
                                           (1e9, 0.5, "D must be at least 1")])
def test_predict_refuses_runs_whose_loss_or_compute_overflows(small_fit, n, d, message):
    with pytest.raises(DataError, match=message):
        optimal.predict(small_fit, n, d)


def test_a_k_that_overflows_c_is_refused(small_fit):
    with pytest.raises(BudgetError, match="flops_per_param_token 1e.308 is above 1e4"):
        check_flops_per_param_token(1e308)
    assert check_flops_per_param_token(1e4) == 1e4


# --- found by the fuzz pass of 2026-12-05 (benchmarks/fuzz_cli.py) ----------------------------------------------

@pytest.mark.parametrize("fix", [{"beta": 1e-320}, {"alpha": 5e-324}, {"alpha": 1e308}, {"E": 1e308}])
def test_a_fixed_value_beyond_float64s_normal_range_is_refused(fix):
    """A subnormal value underflows (beta = 1e-320 made a fit run 10x longer and answer from the denormals) and its
    reciprocal overflows; a value above 1/tiny is the same from the other side. Refused before any fitting."""
    runs = optimal.synthetic_runs(n_runs=20)
    with pytest.raises(optimal.CoefficientsError, match=r"outside 2.23e-308 .. 4.49e\+307 in magnitude"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, fix=fix)


def test_a_preset_comparison_below_one_parameter_trained_on_one_token_is_refused():
    from optimal.analysis.presets import compare_presets

    with pytest.raises(BudgetError, match="below one parameter trained on one token"):
        compare_presets(1e-320)  # was ZeroDivisionError (D* = 0 tokens per parameter)


def test_a_covariate_that_underflows_is_refused_and_an_overflowing_prediction_is_warned():
    result = types.SimpleNamespace(family=DATA_CONSTRAINED)
    with pytest.raises(DataError, match=r"covariate U must be positive \(at least 2.23e-308\), got 1e-320"):
        _prediction_covariates(result, {"U": 1e-320}, (1,))
    one = np.ones(2)
    found = Prediction(one * 1e9, one * 1e10, np.array([2.0, 432.0]), one, np.array([3.0, np.inf]), one, one * 3,
                       one * 0.01, 0.01, 10, 0.95, "linearised", 0, {k: np.zeros(2) for k in
                       ("compute_decades", "N_decades_outside", "D_decades_outside")})
    assert [w.code for w in found.warnings] == ["non-finite"] and "1 of 2 runs (the first: run 2" in found.warnings[0]


def test_too_few_draws_for_the_level_are_warned():
    from optimal._util.stats import few_draws_message

    assert "3 draws cannot support 99.9999% intervals" in few_draws_message(3, 0.999999)
    assert "use at least 39 resamples" in few_draws_message(20, 0.95)
    assert few_draws_message(39, 0.95) is None and few_draws_message(1, 0.95) is None


def test_a_bootstrap_with_too_few_draws_for_its_level_says_so(small_fit):
    """8 draws at 95%: each tail's 2.5% is under one draw in 9 (the draws here: the fit's own point, 8 times)."""
    theta = np.tile(np.asarray(small_fit.theta), (8, 1))
    boot = optimal.BootstrapResult(theta, np.zeros(8), np.ones(8, bool), np.ones(8, int), 0.95, 0, small_fit)
    assert "few-draws" in [w.code for w in boot.warnings]
    assert "few-draws" not in [w.code for w in dataclasses.replace(boot, confidence=0.75).warnings]


def _replicates_of(loss):
    one = np.ones(4)
    return optimal.replicate_noise(optimal.Runs(np.array([1e8, 1e8, 2e8, 2e8]), one * 1e9, np.array(loss), one, None))


@pytest.mark.parametrize("call", [
    lambda: optimal.Constraints(deadline_days=HUGE_INT),
    lambda: optimal.planning.hyperparameters(compute=HUGE_INT),
    lambda: optimal.planning.hyperparameters(compute=1e22, context=HUGE_INT),
    lambda: optimal.flops_per_token(shape_for_params(1e9), HUGE_INT),
    lambda: optimal.serving_cost(7e9, decode_batch=HUGE_INT),
    lambda: __import__("optimal.analysis.hparam_sweep", fromlist=["x"]).hparam_sweep([1e8], [1e9], [HUGE_INT], [3.0]),
    lambda: _replicates_of([3.0, HUGE_INT, 2.8, 2.81]),
    lambda: _replicates_of([3.0, 0.0, 2.8, 2.81]),  # was a silent NaN variance: a Runs built by hand is now checked
    lambda: optimal.compute_optimal(optimal.laws.moe.LUDZIEJEWSKI2025._replace(experts=float("nan")), 1e22),  # NaN
    lambda: optimal.compute_optimal(optimal.PrecisionLaw(1.8, 400.0, 400.0, 0.3, 0.3, 2.5, 2.5, 2.5, HUGE_INT), 1e22),
], ids=["constraints", "hparams-compute", "hparams-context", "flops-per-token", "serving", "hparam-sweep",
        "replicates-int", "replicates-zero-loss", "moe-experts-nan", "precision-bits-int"])
def test_the_newer_entry_points_name_an_int_beyond_float64_and_a_bad_loss(call):
    with pytest.raises(OptimalError):
        call()


def test_a_shaped_runs_file_that_never_ends_is_refused():
    with within(20), pytest.raises(DataError):
        optimal.read_shaped_runs("/dev/zero")  # its header was read to the first newline: forever


def test_a_runs_file_of_more_rows_than_any_study_is_refused_before_fitting(tmp_path, monkeypatch):
    """A 100 MB runs file (3 million rows) was read and then fitted for minutes: refused after reading."""
    path = tmp_path / "runs.csv"
    path.write_text(GOOD_CSV)
    monkeypatch.setattr(readers, "MAX_RUNS", 9)  # GOOD_CSV has 10 rows
    with pytest.raises(DataError, match=r"10 rows, more than the 9 \(MAX_RUNS\) training runs"):
        read_runs_csv(path)
    assert len(read_runs_csv(path, where=["N<1e9"]).loss) == 8  # a selection within the cap is read


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_without_a_writer_is_no_hang(tmp_path):
    """Opening a FIFO waits for a writer: a JSON file (--coefficients, --shape config.json) or a runs header read
    that way never returned."""
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    with within(20):
        with pytest.raises(optimal.CoefficientsError, match="not valid JSON"):
            optimal.load_coefficients(fifo)
        with pytest.raises(PlanningError, match="not valid JSON"):
            optimal.read_hf_config(fifo)
        with pytest.raises(DataError, match="FIFO"):
            optimal.read_shaped_runs(fifo)


@pytest.mark.parametrize("call", [
    lambda boot: optimal.allocate_draws(boot, HUGE_INT),
    lambda boot: optimal.compare(boot, boot, [HUGE_INT]),
    lambda boot: optimal.recommend(boot.fit, HUGE_INT),
], ids=["allocate_draws", "compare", "recommend"])
def test_a_budget_beyond_float64_for_the_draws_is_a_budget_error(small_fit, call):
    """Found by the fuzz pass's library cases (2026-12-05, afternoon): a bare OverflowError."""
    theta = np.tile(np.asarray(small_fit.theta), (8, 1))
    boot = optimal.BootstrapResult(theta, np.zeros(8), np.ones(8, bool), np.ones(8, int), 0.95, 0, small_fit)
    with pytest.raises(BudgetError, match="an integer beyond float64"):
        call(boot)
