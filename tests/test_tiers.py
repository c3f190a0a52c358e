"""The test tiers: every test listed slow exists (a renamed test would leave the fast tier silently), and the
durations parser that writes the list reads pytest's lines."""

import re
from pathlib import Path

from conftest import slow_tests
from tiers import durations

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_slow_test_exists():
    listed = slow_tests()
    assert listed, "tests/slow_tests.txt lists no test"
    for name in listed:
        file, test = name.split("::")
        source = (ROOT / file).read_text()
        assert re.search(rf"^\s*def {re.escape(test)}\(", source, re.M), f"{name} is listed slow but does not exist"


def test_durations_sum_a_tests_parametrisations_and_phases():
    log = ("============ slowest durations ============\n"
           "12.50s call     tests/a/test_x.py::test_one[case-1]\n"
           "2.00s setup    tests/a/test_x.py::test_one[case-2]\n"
           "0.75s call     tests/a/test_x.py::test_two\n"
           "1 passed in 3.00s\n")
    assert durations(log) == {"tests/a/test_x.py::test_one": 14.5, "tests/a/test_x.py::test_two": 0.75}
