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
