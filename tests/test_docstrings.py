"""Every docstring example in ``optimal/`` runs and prints what it shows (``python -m doctest`` would, module by
module), in the user's setting: JAX's x64 flag off, a scratch working folder.

One test per module with examples, so a failure names the module; the runner's report names the example.
"""

import doctest
import importlib
import pkgutil

import jax
import pytest

import optimal

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def modules_with_examples():
    names = []
    for info in pkgutil.walk_packages(optimal.__path__, "optimal."):
        if info.name.endswith("__main__"):  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        if any(test.examples for test in doctest.DocTestFinder(exclude_empty=True).find(module, info.name)):
            names.append(info.name)
    return names


MODULES = modules_with_examples()


def test_examples_found():
    """The collection itself can fail: the modules known to carry examples are among those found."""
    assert {"optimal.allocation.allocate", "optimal.allocation.inference", "optimal.planning.plan"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    with jax.enable_x64(False):  # as a user runs them: optimal scopes its own float64
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
