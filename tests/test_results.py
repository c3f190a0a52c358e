"""Every result class follows the result protocol (``optimal._util.results``): a ``Status``, ``ok``, warnings and
notes as tuples of coded ``Issue`` s, a strict-JSON ``to_dict()`` and a readable ``summary()``."""

import json
import warnings

import numpy as np
import pytest

import optimal
from optimal._util.results import Issue, Result, Status
from optimal.allocation.data_constrained import data_constrained_optimal
from optimal.allocation.inference import inference_optimal
from optimal.analysis.design import suggest
from optimal.analysis.isoflop import isoflop
from optimal.analysis.validate import validate
from optimal.fitting.cost import estimate_cost
from optimal import planning

B = 20


@pytest.fixture(scope="module")
def results():
    """One small instance of every result class, by name."""
    runs = optimal.synthetic_runs(n_runs=40, seed=1)
    n, d, loss = runs.n_params, runs.n_tokens, runs.loss
    labels = np.where(np.arange(40) % 2, "a", "b")
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiability warnings of small data: the results carry them
        fit = found["FitResult"] = optimal.fit(n, d, loss)
        found["FitResult (joint)"] = optimal.fit(n, d, loss, groups=labels, shared=("alpha", "beta"))
        groups = found["GroupFits"] = optimal.fit_groups(n, d, loss, groups=labels)
        boot = found["BootstrapResult"] = optimal.bootstrap(fit, n_resamples=B, seed=0)
        boots = found["GroupBootstraps"] = optimal.bootstrap_groups(groups, n_resamples=B, seed=0)
        found["Sweep"] = optimal.sweep(n, d, loss, delta=(1e-3, 1e-2))
        found["Comparison"] = optimal.compare(boots["a"], boots["b"], [1e22])
        found["Allocation"] = optimal.compute_optimal(fit.law, [1e21, 1e23], max_tokens=1e12)
        found["DataConstrainedAllocation"] = data_constrained_optimal(optimal.preset("muennighoff2023"), [1e21, 1e22],
                                                                      unique_tokens=25e9)
        found["InferenceAllocation"] = inference_optimal(fit.law, 2.2, inference_tokens=1e12)
        found["Recommendation"] = optimal.recommend(boot, np.asarray([1e22]))
        report = found["Validation"] = validate(n, d, loss, largest=5)
        found["Fold"] = report.folds[0]
        found["Suggestion"] = suggest(fit, 1e23, 1e21, n=2, draws=boot)
        iso = found["IsoflopResult"] = isoflop(optimal.isoflop_runs(noise=0.002, seed=0))
        found["BudgetProfile"] = iso.profiles[0]
        found["EnvelopeResult"] = optimal.envelope(optimal.synthetic_curves(checkpoints=6), parametric=None)
        found["Prediction"] = optimal.predict(fit, [1e9, 1e10], [2e10, 2e11])
        found["CostEstimate"] = estimate_cost(40, B)
        plan = found["TrainingPlan"] = planning.plan_training(n_params=7e9, n_tokens=2e11, accelerator="h100",
                                                              n_accelerators=64)
        found["HardwareEstimate"] = plan.hardware
        found["TrainingMemory"] = plan.training
        found["ParameterCount"] = plan.counts
        found["TransformerShape"] = plan.shape
        moe = optimal.JointMoE(c=1.6, a=40.0, alpha=0.28, gamma=0.015, delta=-0.1, b=300.0, beta=0.3, zeta=-0.01,
                               omega=0.05)
        found["MoEAllocation"] = optimal.moe_optimal(moe, [1e21, 1e22], expansion=8.0, max_total_params=1e9)
        found["ExpertChoice"] = optimal.best_experts(moe, 1e21, experts=(1, 8))
        found["PrecisionChoice"] = optimal.precision_optimal(
            optimal.PrecisionLaw(E=1.7, A=300.0, B=1500.0, alpha=0.3, beta=0.32, gamma_w=2.5, gamma_a=2.0, gamma_kv=1.2),
            1e9, {"bf16": 4e14, "fp8": 8e14}, memory_bytes=1e10)
    return found


NAMES = ["FitResult", "FitResult (joint)", "GroupFits", "BootstrapResult", "GroupBootstraps", "Sweep", "Comparison",
         "Allocation", "DataConstrainedAllocation", "InferenceAllocation", "Recommendation", "Validation", "Fold",
         "Suggestion", "IsoflopResult", "BudgetProfile", "Prediction", "CostEstimate", "TrainingPlan",
         "HardwareEstimate", "TrainingMemory", "ParameterCount", "TransformerShape", "EnvelopeResult",
         "MoEAllocation", "ExpertChoice", "PrecisionChoice"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_result_follows_the_protocol(results, name):
    x = results[name]
    assert type(x).__name__ == name.split(" ")[0]
    assert isinstance(x, Result)
    assert isinstance(x.status, Status)
    assert isinstance(x.ok, bool) and x.ok == x.status.ok
    for found in (x.warnings, x.notes):
        assert isinstance(found, tuple)
        assert all(isinstance(w, Issue) and isinstance(w.code, str) and w.code and w.message for w in found), found
    json.dumps(x.to_dict(), allow_nan=False)
    text = x.summary()
    assert isinstance(text, str) and text.strip()


def test_the_test_covers_every_result_class_in_the_public_api(results):
    """A result class exported by ``optimal`` (a name ending in Result, Allocation, ...) is in NAMES."""
    kinds = ("Result", "Allocation", "Estimate", "Plan", "Memory", "Count", "Shape", "Fits", "Bootstraps")
    public = {name for name in dir(optimal) if isinstance(getattr(optimal, name), type) and name.endswith(kinds)}
    public -= {"Result", "PublishedShape"}  # the protocol itself; a table entry, not a computed result
    assert public <= {n.split(" ")[0] for n in NAMES}, public - set(NAMES)


def test_a_fit_stopped_by_its_iteration_budget_says_so():
    runs = optimal.synthetic_runs(n_runs=40, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = optimal.fit(runs.n_params, runs.n_tokens, runs.loss, solver=optimal.Solver(max_iter=1))
    assert fit.status is Status.MAX_ITERATIONS and fit.ok is False
    assert fit.to_dict()["status"] == "max iterations"
    assert "not-converged" in [w.code for w in fit.warnings]


def test_group_results_are_mappings_and_fit_points_to_fit_groups(results):
    groups, boots = results["GroupFits"], results["GroupBootstraps"]
    assert list(groups) == ["a", "b"] and len(groups) == 2 and dict(groups.items())["a"] is groups["a"]
    assert set(boots) == {"a", "b"} and boots["a"].fit is groups["a"]
    assert all(w.message.startswith("[group ") for w in groups.warnings)
    runs = optimal.synthetic_runs(n_runs=40, seed=1)
    with pytest.raises(optimal.OptimalError, match="fit_groups"):
        optimal.fit(runs.n_params, runs.n_tokens, runs.loss, groups=np.where(np.arange(40) % 2, "a", "b"))


def test_sweep_and_comparison_keep_their_old_shapes(results):
    sweep, comparison = results["Sweep"], results["Comparison"]
    settings = [setting for setting, fit in sweep]  # pairs, as the list it replaced
    assert [s["delta"] for s in settings] == [1e-3, 1e-2] and isinstance(sweep[0][1], optimal.FitResult)
    assert comparison["names"] == ["A", "B"] and {"paired", "params", "allocation"} <= set(comparison)
    assert {**comparison}["n_draws"] == comparison.to_dict()["n_draws"]


def test_warnings_keep_reading_as_text(results):
    """An ``Issue`` is its message: old string checks keep working, and the code rides along."""
    answer = results["Recommendation"]
    for w in answer.warnings:
        assert w["code"] == w.code and w["message"] == str(w)  # the dict it used to be
    assert results["BudgetProfile"].status is (Status.SUCCESS if results["BudgetProfile"].accepted else Status.FAILED)
