"""A public entry point given the wrong kind of object (None, a string, a dict) raises a named ``OptimalError``
subclass that says what it wanted, never an ``AttributeError`` or ``TypeError`` from deep inside."""

import pytest

import optimal

CALLS = {
    "predict": lambda x: optimal.predict(x, 1e9, 1e10),
    "recommend": lambda x: optimal.recommend(x, 1e22),
    "compare": lambda x: optimal.compare(x, x, [1e22]),
    "validate": lambda x: optimal.validate(x, x, x, largest=2),
    "suggest": lambda x: optimal.suggest(x, 1e22, 1e20),
    "bootstrap": lambda x: optimal.bootstrap(x, n_resamples=4),
    "compute_optimal": lambda x: optimal.compute_optimal(x, 1e22),
    "allocate_draws": lambda x: optimal.allocate_draws(x, [1e22]),
    "delta_method_se": lambda x: optimal.delta_method_se(x, [1e22]),
}


@pytest.mark.parametrize("bad", [None, "nonsense", {"E": 1.0}], ids=["None", "str", "dict"])
@pytest.mark.parametrize("name", list(CALLS))
def test_bad_type_raises_a_named_error(name, bad):
    with pytest.raises(optimal.OptimalError) as raised:
        CALLS[name](bad)
    assert str(raised.value), name  # a message that says what to pass
