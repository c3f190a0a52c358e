"""The test tiers: every test listed slow exists (a renamed test would leave the fast tier silently), and the
durations parser that writes the list reads pytest's lines."""

import re
from pathlib import Path

from conftest import is_slow, slow_tests
from tiers import durations

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_slow_test_and_fixture_exists():
    listed, fixtures = slow_tests()
    assert listed and fixtures, "tests/slow_tests.txt lists no test or no fixture"
    for name in listed | fixtures:
        file, test = name.split("::")
        source = (ROOT / file).read_text()
        assert re.search(rf"^\s*def {re.escape(test)}\(", source, re.M), f"{name} is listed slow but does not exist"


def test_a_listed_fixture_makes_its_users_slow_and_no_other():
    fixtures = frozenset({"tests/a/test_x.py::fitted"})
    assert is_slow("tests/a/test_x.py", "test_one", ("tmp_path", "fitted"), frozenset(), fixtures)
    assert not is_slow("tests/a/test_x.py", "test_two", ("tmp_path",), frozenset(), fixtures)
    assert not is_slow("tests/a/test_y.py", "test_one", ("fitted",), frozenset(), fixtures)  # another file's fitted
    assert is_slow("tests/a/test_y.py", "test_one", (), frozenset({"tests/a/test_y.py::test_one"}), frozenset())
    assert is_slow("tests/test_docs.py", "test_anything", (), frozenset(), frozenset())  # a whole slow file


def test_durations_sum_a_tests_parametrisations_and_phases():
    log = ("============ slowest durations ============\n"
           "12.50s call     tests/a/test_x.py::test_one[case-1]\n"
           "2.00s setup    tests/a/test_x.py::test_one[case-2]\n"
           "0.75s call     tests/a/test_x.py::test_two\n"
           "1 passed in 3.00s\n")
    assert durations(log) == {"tests/a/test_x.py::test_one": 14.5, "tests/a/test_x.py::test_two": 0.75}


def test_rewriting_the_list_keeps_its_fixtures(tmp_path):
    from tiers import main

    log, out = tmp_path / "run.log", tmp_path / "slow.txt"
    log.write_text("============ slowest durations ============\n3.00s call     tests/a/test_x.py::test_one\n"
                   "0.10s call     tests/a/test_x.py::test_two\n")
    out.write_text("tests/a/test_x.py::test_old\nfixture tests/a/test_x.py::fitted\n")
    main([str(log), "--out", str(out)])
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert lines == ["tests/a/test_x.py::test_one", "fixture tests/a/test_x.py::fitted"]
