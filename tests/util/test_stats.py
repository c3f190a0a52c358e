"""The one percentile interval (``optimal._util.stats``): every bootstrap interval goes through it."""

import numpy as np
import pytest

from optimal._util.stats import interval, percentile_bounds, unbounded_interval


def test_percentile_bounds_is_the_equal_tailed_percentile_interval():
    draws = np.random.default_rng(0).normal(size=(1001, 3))
    lo, hi = percentile_bounds(draws, 0.9)
    np.testing.assert_allclose(lo, np.percentile(draws, 5, axis=0), rtol=1e-12)
    np.testing.assert_allclose(hi, np.percentile(draws, 95, axis=0), rtol=1e-12)
    assert lo.shape == hi.shape == (3,)
    assert percentile_bounds(draws, 0.9, axis=1)[0].shape == (1001,)


def test_skip_nan_ignores_nan_draws_and_otherwise_they_show():
    draws = np.array([1.0, 2.0, np.nan, 3.0, 4.0])
    assert percentile_bounds(draws, 0.5, skip_nan=True) == percentile_bounds(draws[~np.isnan(draws)], 0.5)
    assert np.isnan(percentile_bounds(draws, 0.5)[0])


def test_interval_has_the_sample_sd_and_nothing_from_fewer_than_two_draws():
    draws = np.arange(10.0)
    assert interval(draws, 0.8) == {"lo": pytest.approx(0.9), "hi": pytest.approx(8.1), "se": np.std(draws, ddof=1)}
    assert interval(draws[:1], 0.8) == {"lo": None, "hi": None, "se": None}


def test_an_unreachable_draw_makes_the_bound_it_reaches_unbounded_never_narrower():
    draws = np.append(np.arange(1.0, 20.0), np.inf)  # 1 of 20 draws unreachable
    assert unbounded_interval(draws, 0.8) == {"lo": pytest.approx(2.9), "hi": pytest.approx(18.1), "se": None}
    bounded = unbounded_interval(draws, 0.99)  # the upper 0.5% tail reaches the unreachable draw
    assert bounded["hi"] is None and bounded["lo"] == pytest.approx(np.percentile(np.arange(1.0, 21.0), 0.5))
    assert unbounded_interval(np.full(5, np.inf), 0.9) == {"lo": None, "hi": None, "se": None}
    assert unbounded_interval(np.arange(5.0), 0.9) == interval(np.arange(5.0), 0.9)
