"""The notebooks run top to bottom and compute what they say they do.

No Jupyter needed: each notebook's code cells are executed in order in one namespace, in the notebooks folder,
with matplotlib on its headless Agg backend. The replication notebook runs on Epoch AI's data where
``../shared/data`` has it (the synthetic fallback otherwise); the planning notebook is run on its synthetic
fallback, so that both branches of the data cell are exercised without running either notebook twice.
"""

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import optimal  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name, monkeypatch):
    """Execute the code cells of ``notebooks/<name>.ipynb`` in order; return the namespace they filled."""
    path = NOTEBOOKS / f"{name}.ipynb"
    notebook = json.loads(path.read_text())
    assert notebook["nbformat"] == 4
    monkeypatch.chdir(NOTEBOOKS)
    namespace = {"__name__": "__main__"}
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell["outputs"] == [] and cell["execution_count"] is None, f"{name}: cell {i} was saved with outputs"
        exec(compile("".join(cell["source"]), f"{path.name}[cell {i}]", "exec"), namespace)
    return namespace


def test_chinchilla_replication(monkeypatch, capsys):
    ns = run_notebook("chinchilla_replication", monkeypatch)
    out = capsys.readouterr().out
    result, boot = ns["result"], ns["boot"]
    assert math.isfinite(result.objective) and result.converged
    assert boot.n_resamples == 400 and boot.n_failed <= 20
    assert set(ns["figures"]) == {"fit", "surface", "bootstrap", "frontier"}
    assert all(isinstance(fig, Figure) and fig.axes for fig in ns["figures"].values())
    if ns["REAL_DATA"]:
        assert "Epoch AI's extraction" in out
        assert ns["anchor_reproduced"] is True
    else:
        assert "SYNTHETIC" in out
        assert result.params["alpha"] == pytest.approx(0.348, abs=0.05)
    # the intervals it prints bracket the point estimate
    interval = ns["allocation"]["N"]
    assert interval["lo"] < ns["N_star"] < interval["hi"]


def test_plan_a_training_run_on_synthetic_runs(monkeypatch, capsys):
    monkeypatch.setattr(optimal, "shared_data_path", lambda: None)
    ns = run_notebook("plan_a_training_run", monkeypatch)
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out
    point, interval = ns["point"], ns["interval"]
    assert interval["N"]["lo"] < float(point.n_params) < interval["N"]["hi"]
    assert interval["loss"]["lo"] < float(point.loss) < interval["loss"]["hi"]
    assert optimal.BOUND_NAMES[int(ns["capped"].bound)] == "max_tokens"  # 1e12 tokens caps a 1e24 FLOPs run
    assert float(ns["capped"].loss) > float(point.loss)
    lo, hi = ns["budget_interval"]
    assert lo < float(ns["needed"].compute) < hi
    assert np.isclose(float(ns["needed"].loss), ns["TARGET_LOSS"])
    assert isinstance(ns["fig"], Figure) and len(ns["fig"].axes) == 2
    # the run planned from N*, D*: its compute is the budget, its cost hours x price (the price printed as a placeholder)
    plan = ns["plan"]
    assert plan.n_params == float(point.n_params) and plan.compute == pytest.approx(ns["BUDGET"], rel=1e-9)
    hw = plan.hardware
    assert hw.cost == pytest.approx(ns["BUDGET"] / (hw.peak_flops_per_second * ns["MFU"]) / 3600
                                    * optimal.planning.DEFAULT_PRICE_PER_ACCELERATOR_HOUR, rel=1e-12)
    assert "placeholder" in out and hw.assumptions["price_per_accelerator_hour"]["from"] == "default"
    assert ns["ends"]["lo"].training.total_bytes < plan.training.total_bytes < ns["ends"]["hi"].training.total_bytes
    check_inference_costs(ns)  # in the same run: the notebook takes ~10 s


def check_inference_costs(ns):
    """The cost figure's curves, recomputed here from FLOPs x price (no hardware_estimate): the compute-optimal
    model costs its training plus 2 N* FLOPs per served token; the inference-optimal one, which reaches the same
    loss, costs the same at zero demand (it is the same run) and less at every demand above it."""
    plan, served, demand = ns["plan"], ns["served"], ns["INFERENCE_TOKENS"]
    per_flop = plan.hardware.cost / plan.compute  # price / (peak x MFU x 3600): cost is linear in FLOPs
    np.testing.assert_allclose(ns["compute_optimal_total"], (plan.compute + 2 * plan.n_params * demand) * per_flop,
                               rtol=1e-9)
    np.testing.assert_allclose(ns["inference_optimal_total"],
                               (6 * served.n_params * served.n_tokens + 2 * served.n_params * demand) * per_flop,
                               rtol=1e-6)  # the solver's N, D at its tolerance
    assert bool(np.all(served.converged))
    np.testing.assert_allclose(served.loss, float(ns["point"].loss), rtol=1e-9)
    assert ns["inference_optimal_total"][0] == pytest.approx(ns["compute_optimal_total"][0], rel=1e-6)
    assert np.all(ns["inference_optimal_total"][1:] < ns["compute_optimal_total"][1:])
    assert np.all(np.diff(served.n_params) < 0) and np.all(np.diff(served.n_tokens) > 0)
    fig = ns["cost_fig"]
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].get_lines()) == 3 and "PLACEHOLDER" in fig.axes[0].get_title()
    # data-constrained: epochs = D / U, and fewer unique tokens -> more epochs on a smaller model
    repeated = ns["repeated"]
    np.testing.assert_allclose(repeated.epochs, repeated.n_tokens / ns["unique_tokens"], rtol=1e-12)
    assert np.all(np.diff(repeated.epochs) < 0) and np.all(np.diff(repeated.n_params) > 0)
    assert bool(np.all(repeated.converged))
