"""Every docstring example in ``optimal/`` runs and prints what it shows (``python -m doctest`` would, module by
module), in the user's setting: JAX's x64 flag off, a scratch working folder.

One test per module with examples, so a failure names the module; the runner's report names the example.
"""

import doctest
import importlib
from pathlib import Path

import jax
import pytest

import optimal

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def modules_with_examples():
    """The modules whose source shows an example prompt, found by reading the files: collecting them imports
    nothing (matplotlib, the command line), so the fast tier, which deselects these tests, pays nothing for them."""
    root = Path(optimal.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "__main__.py" or ">>> " not in path.read_text(encoding="utf-8"):  # __main__ runs the CLI
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = modules_with_examples()


def test_examples_found():
    """The collection itself can fail: the modules known to carry examples are among those found."""
    assert {"optimal.allocation.allocate", "optimal.allocation.inference", "optimal.planning.plan"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    assert doctest.DocTestFinder(exclude_empty=True).find(module, name), f"{name} shows '>>> ' but no example runs"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    with jax.enable_x64(False):  # as a user runs them: optimal scopes its own float64
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
