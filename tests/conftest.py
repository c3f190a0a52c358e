import os

import jax
import pytest

# programs the tests start keep no compilation cache in the user's home (test_cli checks the cache on its own)
os.environ["OPTIMAL_CACHE_DIR"] = "off"

import optimal

# whole files in the slow tier (``pytest -m "not slow"`` leaves them out while editing; CI runs everything): benchmark
# smoke runs, multi-process runs, notebooks, the README and docs executed, the docstring examples. Single slow tests
# elsewhere carry their own ``@pytest.mark.slow``.
SLOW_FILES = {"test_benchmarks", "test_distributed", "test_notebooks", "test_readme", "test_docs", "test_docstrings"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.stem in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def float64_for_test_arithmetic():
    """The tests' own reference arithmetic (finite differences, closed forms) runs in float64, as a user who
    wants float64 in their own JAX code would ask for it. ``optimal`` itself never needs this: it scopes
    float64 to its own calls, which ``tests/test_precision.py`` checks in a fresh process with x64 off."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="session")
def epoch_runs():
    """Epoch AI's 240 Chinchilla rows; the test skips where ../shared/data is absent (it carries no license)."""
    path = optimal.shared_data_path()
    if path is None:
        pytest.skip("shared data (../shared/data/chinchilla_epoch_svg_extracted.csv) is not present")
    return optimal.load_epoch_chinchilla(path)


@pytest.fixture(scope="session")
def epoch_fit(epoch_runs):
    return optimal.fit(epoch_runs.n_params, epoch_runs.n_tokens, epoch_runs.loss)
