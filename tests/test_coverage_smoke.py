"""The coverage benchmark (benchmarks/coverage.py) on 4 sets with 12 resamples, so that it cannot rot: its command line
runs, writes per-set records and a report, and --combine rebuilds the same report from the records. The structure is
checked, not the rates (4 sets say nothing about them)."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

COVERAGE_PY = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"


@pytest.fixture(scope="module")
def coverage():
    spec = importlib.util.spec_from_file_location("benchmarks_coverage", COVERAGE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # compiling the fit, the bootstrap and validate for 64 runs takes most of a minute
def test_coverage_benchmark_runs_and_combines(coverage, tmp_path, capsys):
    records, report, combined = tmp_path / "records.json", tmp_path / "coverage.md", tmp_path / "combined.md"
    coverage.main(["--sets", "2", "--resamples", "12", "--scenarios", "chinchilla,repeat-40", "--json", str(records),
                   "--out", str(report)])
    saved = json.loads(records.read_text())
    assert saved["meta"]["resamples"] == 12 and len(saved["records"]) == 4
    assert [(r["scenario"], r["seed"]) for r in saved["records"]] == [
        ("chinchilla", 0), ("chinchilla", 1), ("repeat-40", 0), ("repeat-40", 1)]
    n_budgets = len(coverage.DECADES)
    assert sum(r["usable"] for r in saved["records"]) >= 3  # fits converged, >= MIN_DRAWS of 12 draws
    for r in saved["records"]:
        assert r["max_epochs"] is None if r["scenario"] == "chinchilla" else r["max_epochs"] == pytest.approx(40)
        assert len(r["budgets"]) == n_budgets and r["budgets"] == sorted(r["budgets"])
        assert set(r["validate"]) == {"flagged", "bias", "coverage_p", "bias_p"}
        if r["usable"]:
            assert set(r["intervals"]) == {f"{q}@{lv:g}" for q in coverage.QUANTITIES for lv in coverage.LEVELS}
            for q in coverage.QUANTITIES:
                wide, narrow = r["intervals"][f"{q}@0.95"], r["intervals"][f"{q}@0.8"]
                for i in range(n_budgets):  # the 95% interval holds the 80% one
                    assert wide["lo"][i] <= narrow["lo"][i] <= narrow["hi"][i] <= wide["hi"][i]
                    assert math.isfinite(r["truth"][q][i]) and r["truth"][q][i] > 0
    summary = coverage.summarise(saved["records"])
    assert list(summary) == ["chinchilla", "repeat-40"]
    for s in summary.values():
        assert s["n_sets"] == 2
        for cells in s["coverage"].values():
            assert len(cells) == n_budgets and all(0 <= p <= 1 and se >= 0 for p, se in cells)
    text = report.read_text()
    assert "- `python -m benchmarks.coverage --sets 2" in text and "load average" in text
    rows = [line for line in text.splitlines() if line.startswith("| chinchilla | ")]
    assert len(rows) == len(coverage.QUANTITIES) + 1  # a coverage row per quantity and the details row
    capsys.readouterr()
    coverage.main(["--combine", str(records), "--out", str(combined)])
    assert coverage.table(summary) in combined.read_text()
    assert capsys.readouterr().err == ""  # combining runs nothing, so no progress lines
