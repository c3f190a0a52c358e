import atexit
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The suite's time is XLA compiling (below), so the tests compile with XLA's older CPU fusion code generator, which
# compiles faster and gives the same numbers. Measured here: tests/fitting/test_bootstrap.py and
# tests/cli/test_cli_decide.py in one process (2 cores, under load) took 341 s of CPU with XLA's defaults and 239 s
# with it; the whole suite (2026-12-05, a clone, quiet) 1873 s of CPU (16.4 min) with it, against 2438 s (21 min) in the
# last run without it (the previous session), and its tests of exact numbers (fits' bits and iteration counts in
# tests/fitting/test_options.py, the SciPy parity) pass unchanged. (LLVM's
# optimisation off as well took the CPU to 135 s on those two files but moved parameters by up to 1e-8 and changed
# fits' iteration counts: not used, the tests check the numbers users get.) Library users' processes keep XLA's
# defaults (the `optimal` program sets the flag for itself: optimal/cli/main.py, program_xla_flags);
# tests/test_precision.py::test_default_compiler_settings_give_the_same_fit checks a fit under both. Set
# OPTIMAL_TESTS_XLA_DEFAULTS=1 to run the suite with XLA's defaults. A JAX that no longer knows the setting would
# abort on it, so it is used only when a short probe process starts with it; the user's own XLA_FLAGS are kept.
# The second setting, when the run has a worker process per core (pyproject.toml: -n 2 on the project's 2-core
# machine), compiles each program's machine code in one piece: XLA splits a program's LLVM module into up to 32 parts
# to generate them on threads of their own, which costs CPU for the splitting (and threads spinning for work) and buys
# nothing where every core is already a worker compiling. A run in fewer processes than cores (-n 0) keeps XLA's
# split: there it uses the idle cores. The same numbers bit for bit (the split only divides the code generation of
# kernels that do not call each other; test_precision's bit-for-bit fit, test_options and the SciPy parity pass with
# it). Measured (2026-12-05, 2 cores): tests/test_results.py and tests/allocation/test_decide.py run at once, as the
# two workers do, took 98.1 / 104.0 s of CPU (both done in 55.8 / 59.5 s) with XLA's 32 parts and 91.4 / 97.4 s
# (55.4 / 57.6 s) with one; alone under load 4-6, 39.3 / 42.7 s -> 36.6 / 36.2 s and 51.4 / 52.8 s -> 49.1 /
# 46.1 s of CPU; a script of fits, a bootstrap, an allocation, a decision and an IsoFLOP profile in one process on
# the quiet machine 29.5 s of CPU and 24.9 s wall with 32 parts, 27.8 s and 28.0 s with one (the idle core's gain).
SPLIT_XLA_FLAG = "--xla_cpu_parallel_codegen_split_count=1"
TEST_XLA_FLAGS = ("--xla_cpu_use_fusion_emitters=false", SPLIT_XLA_FLAG)
USER_XLA_FLAGS = "OPTIMAL_TESTS_USER_XLA_FLAGS"  # XLA_FLAGS as the run found them, for tests that need XLA's defaults


def _test_xla_flags(user):
    """XLA_FLAGS for the tests: the user's ``user`` and ``TEST_XLA_FLAGS`` (those the user did not set), if a probe
    process starts and computes with them; else ``user``."""
    mine = [flag for flag in TEST_XLA_FLAGS if flag.split("=")[0] not in user]
    flags = " ".join([user, *mine]).strip()
    if not mine or os.environ.get("OPTIMAL_TESTS_XLA_DEFAULTS"):
        return user
    try:
        probe = subprocess.run([sys.executable, "-c", "import jax.numpy as jnp; jnp.ones(2).sum().block_until_ready()"],
                               env=dict(os.environ, XLA_FLAGS=flags), capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return user
    return flags if probe.returncode == 0 else user


if not os.environ.get("PYTEST_XDIST_WORKER"):  # the workers inherit what their controller chose
    os.environ[USER_XLA_FLAGS] = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = _test_xla_flags(os.environ[USER_XLA_FLAGS])

import jax
import pytest

# One persistent compilation cache for the whole run, in a folder of this run removed at its end (never the user's
# home): the tests in this process, the `optimal` programs they start and, under pytest-xdist, every worker (they
# inherit the folder from the process that started them) read each other's compiled programs. Compiling is most of
# the suite's time: tests/fitting/test_fit.py spends 87 s of CPU cold and 20 s with its programs cached, and half of
# test_validate's programs are ones test_fit compiled (measured with jax.monitoring's cache events). A command the
# docs run ten times compiles once; test_cli checks the program's own cache setting on its own.
# A folder named by OPTIMAL_TESTS_CACHE_DIR when the run starts is used instead and kept (a CI cache, or repeated
# local runs): programs that did not change are read, not compiled (entries are keyed by the program, its shapes,
# JAX's version and the XLA flags, so a stale entry is never read; the folder only grows: delete it at will).
# Measured (2026-12-05, one process, load ~9 on 2 cores): tests/fitting/test_sweep.py and test_identifiability.py
# took 161 s of CPU with an empty folder and 43 s on the next run with the folder it left (7 MB); test_docs' README
# and python.md blocks 135 s and 58 s.
_SHARED = "OPTIMAL_TESTS_CACHE_DIR"
if os.environ.get(_SHARED):  # a worker's (set below by its controller), or the user's own folder
    _CACHE = os.environ[_SHARED]
    os.makedirs(_CACHE, exist_ok=True)
else:
    _CACHE = tempfile.mkdtemp(prefix="optimal-tests-jax-cache-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    os.environ[_SHARED] = _CACHE
os.environ["OPTIMAL_CACHE_DIR"] = _CACHE
# and the Python processes the tests start that call the library, not the program (a multi-device bootstrap, a
# fresh interpreter's float64 check): JAX reads these variables at import. Two processes share a program only where
# its key matches: the same computation, devices and XLA flags (a process under other flags compiles afresh).
# Measured (2026-12-05, one process, load ~10 on 2 cores): tests/test_precision.py, test_sharding.py and
# test_distributed.py took 117 s of CPU without it (and without the XLA flag above in the multi-device children),
# 94 s with both.
# A test that times compiling itself (tests/planning/test_memory.py) or a program's cold start
# (tests/test_benchmarks.py) removes them: ``without_child_cache``.
CHILD_CACHE_ENV = {"JAX_COMPILATION_CACHE_DIR": _CACHE, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                   "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
os.environ.update(CHILD_CACHE_ENV)


def without_child_cache(env=None):
    """``env`` (default: this process's environment) without the child processes' compilation cache variables."""
    return {k: v for k, v in (os.environ if env is None else env).items() if k not in CHILD_CACHE_ENV}


jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # the suite's programs compile in 0.05-3 s
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

import optimal

# Python's cycle collector runs every 700 allocations net of frees by default, and tracing JAX programs allocates
# millions of objects: tests/test_results.py alone ran 1,357 collections (1.20 s) in 40 s. Measured with gc.callbacks
# (2026-12-05, one process): tests/laws/test_families.py and tests/fitting/test_bootstrap.py spent 4.27 s in 3,354
# collections at the default, 1.50 s in 37 at these thresholds; tests/test_results.py 1.20 s and 0.42 s (15
# collections). Garbage with cycles waits longer (some 50,000 objects before a young pass): the memory bound below still
# clears JAX's caches after a file when a process grows.
gc.set_threshold(50_000, 20, 10)

# whole files in the slow tier (``pytest -m "not slow"`` leaves them out while editing; CI runs everything): benchmark
# smoke runs, multi-process runs, notebooks, the README and docs executed, the docstring examples. Single slow tests
# elsewhere carry their own ``@pytest.mark.slow`` or are listed in tests/slow_tests.txt, which tests/tiers.py writes
# from a run's durations (every test over a second on a quiet machine: the fast tier stays under two minutes).
SLOW_FILES = {"test_benchmarks", "test_distributed", "test_notebooks", "test_readme", "test_docs", "test_docstrings"}
SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")


def slow_tests(path=SLOW_TESTS):
    """The listed tests (``file::name``, every parametrisation of the name) and fixtures (``fixture file::name``:
    every test of that file that uses the fixture, directly or through another), comments and blank lines left out:
    ``(tests, fixtures)``. A module fixture that compiles much (a fit, a bootstrap) costs its first test that time,
    so listing that test only moves the cost to the next one: the fixture is listed instead."""
    if not path.exists():
        return frozenset(), frozenset()
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return (frozenset(line for line in lines if line and not line.startswith("fixture ")),
            frozenset(line.removeprefix("fixture ").strip() for line in lines if line.startswith("fixture ")))


def is_slow(where, name, fixture_names, listed, fixtures):
    """Whether the test ``name`` of the file ``where`` (relative to the repository, e.g. ``tests/test_x.py``), using
    ``fixture_names`` (every fixture it needs, directly or through others), is in the slow tier."""
    return (Path(where).stem in SLOW_FILES or f"{where}::{name}" in listed
            or any(f"{where}::{fixture}" in fixtures for fixture in fixture_names))


def pytest_configure(config):
    """A run in fewer worker processes than cores keeps XLA's split code generation (``SPLIT_XLA_FLAG`` above), unless
    the user's own XLA_FLAGS set it. The workers (and the processes tests start) inherit the choice."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    dist = getattr(config.option, "dist", "no")  # pytest-xdist's settings, after its own parsing of -n
    workers = 0 if dist == "no" else len(getattr(config.option, "tx", None) or ())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    name = SPLIT_XLA_FLAG.split("=")[0]
    flags = os.environ.get("XLA_FLAGS", "").split()
    if workers < cores and SPLIT_XLA_FLAG in flags and name not in os.environ.get(USER_XLA_FLAGS, ""):
        os.environ["XLA_FLAGS"] = " ".join(flag for flag in flags if flag != SPLIT_XLA_FLAG)


def pytest_collection_modifyitems(config, items):
    listed, fixtures = slow_tests()
    root = Path(__file__).resolve().parent.parent
    for item in items:
        where = item.path.resolve().relative_to(root).as_posix()
        if is_slow(where, item.originalname, getattr(item, "fixturenames", ()), listed, fixtures):
            item.add_marker(pytest.mark.slow)


# JAX keeps every compiled program of the session, each with its own memory mappings (measured: ~3 per small program).
# The whole suite compiles thousands; twice a whole run died inside an XLA compile at about 60% (an abort, then a
# segmentation fault) while the same tests pass alone: the process was heading for Linux's limit of 65,530
# mappings (vm.max_map_count; 5,600 after the first few record tests) and had grown past 5 GB. Past either bound
# below, the caches are cleared after a test file (a later file reads what it shares with earlier ones from the
# persistent cache above instead of compiling it again).
RESIDENT_LIMIT_BYTES = 6e9
MAPPINGS_LIMIT = 20_000


def resident_bytes():
    """This process's resident memory (Linux's VmRSS), or 0 where /proc is absent."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def memory_mappings():
    """How many memory mappings this process holds (lines of /proc/self/maps), or 0 where /proc is absent."""
    try:
        with open("/proc/self/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:
        return 0


@pytest.fixture(autouse=True, scope="module")
def bounded_compiled_programs():
    yield
    if resident_bytes() > RESIDENT_LIMIT_BYTES or memory_mappings() > MAPPINGS_LIMIT:
        jax.clear_caches()
        gc.collect()


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
