"""The benchmark harness (benchmarks/run.py) at its tiniest sizes, so that it cannot rot: it runs, writes its
JSON, Markdown and plot, and every number it reports is finite. No timing is asserted."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
from conftest import CHILD_CACHE_ENV

RUN_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finite_numbers(tree, path=""):
    """Every number in a JSON tree, with where it sits; bools are left out (they are checked as flags)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from finite_numbers(value, f"{path}.{key}")
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from finite_numbers(value, f"{path}[{i}]")
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield path, tree


def test_smoke_benchmark_writes_complete_results(bench, tmp_path):
    bench.main(["--smoke", "--out", str(tmp_path)])
    name = bench.device_name()
    results = json.loads((tmp_path / f"{name}-smoke.json").read_text())
    assert (tmp_path / f"{name}-smoke.md").read_text().count("\n| ") >= 7
    for section in ("solve", "fit", "bootstrap"):
        block = results[section]
        for key in ("jax_s", "scipy_s", "speedup", "compile_s"):
            assert math.isfinite(block[key]) and block[key] >= 0, (section, key)
        assert isinstance(block["same_optimum"], bool), section
    boot = results["bootstrap"]
    assert math.isfinite(boot["floor"]) and boot["floor"] > 0 and math.isfinite(boot["floor_ratio"])
    assert isinstance(boot["counts_reproduce_jax_draws"], bool)
    assert set(results["fit"]["comparisons"]) == {"default_vs_classic", "default_vs_screen_polish", "hoffmann_vs_classic"}
    env = results["environment"]
    assert {"jax", "jaxlib", "optax", "numpy", "scipy"} <= set(env["versions"]) and env["cpu"]["cpu_count"] >= 1
    assert env["device"]["platform"] and env["device"]["device_kind"]
    numbers = list(finite_numbers(results))
    assert numbers and all(math.isfinite(v) for _, v in numbers), [p for p, v in numbers if not math.isfinite(v)]


def test_smoke_scaling_writes_curves_and_plot(bench, tmp_path):
    bench.main(["--smoke", "--scaling", "--out", str(tmp_path)])
    stem = tmp_path / f"{bench.device_name()}-scaling-smoke"
    results = json.loads(stem.with_suffix(".json").read_text())
    assert stem.with_suffix(".png").stat().st_size > 0 and stem.with_suffix(".md").exists()
    assert set(results["curves"]) == {"rows", "starts", "resamples", "budgets"}
    for name, curve in results["curves"].items():
        for point in curve["points"]:
            for key in ("jax_s", "jax_first_call_s", "compile_s", "scipy_s"):
                assert math.isfinite(point[key]) and point[key] >= 0, (name, point["x"], key)
            assert isinstance(point["scipy_extrapolated"], bool)
    # a point beyond SciPy's measured range is extrapolated, and says so
    assert results["curves"]["starts"]["points"][-1]["scipy_extrapolated"]


def test_device_name_is_a_safe_file_name(bench):
    name = bench.device_name()
    assert name and all(c.isalnum() or c == "-" for c in name) and name == name.lower()


def test_smoke_cold_start_runs_the_program_in_fresh_processes(bench, tmp_path, monkeypatch):
    for name in CHILD_CACHE_ENV:  # the runs measure their own caches: not the suite's (tests/conftest.py)
        monkeypatch.delenv(name, raising=False)
    results = bench.main(["--cold-start", "--smoke", "--out", str(tmp_path)])
    stem = tmp_path / f"{results['environment']['device']['name']}-cold-start-smoke"
    assert json.loads(stem.with_suffix(".json").read_text())["targets"].keys() == {"fit", "solve"}
    assert stem.with_suffix(".md").read_text().count("\n| ") >= 10
    assert results["data"].startswith("SYNTHETIC")  # smoke writes its own CSV
    for label in ("python_start", "import_jax", "import_optimal", "optimal_help", "fit_first", "fit_warm", "fit_off",
                  "solve_first", "solve_warm", "solve_off"):
        run = results["runs"][label]
        assert run["runs"] >= 1 and 0 < run["min_s"] <= run["median_s"] <= run["max_s"], label
    for name, target in results["targets"].items():
        assert isinstance(target["met"], bool) and target["outputs_identical"], name
        warm = results["breakdown"][name]["warm"]
        assert warm["cache_hits"] > 0 and warm["cache_misses"] == 0, name  # the second run reads what the first wrote
    assert isinstance(results["machine_busy"], bool) and results["load_average_per_round"]
    assert results["default_cache"]["before"]["path"]  # the user's cache folder is watched (never set by the runs)
    numbers = list(finite_numbers(results))
    assert all(math.isfinite(v) for _, v in numbers), [p for p, v in numbers if not math.isfinite(v)]
