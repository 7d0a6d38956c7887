import numpy as np
import pytest

from grader import scoring


def test_iqm_ignores_the_outer_quartiles():
    assert scoring.iqm(np.array([-1000, 1, 2, 3, 4, 5, 6, 1000])) == pytest.approx(3.5)


def test_iqm_of_few_values_is_the_mean():
    assert scoring.iqm(np.array([1.0, 2.0, 6.0])) == pytest.approx(3.0)


def test_iqm_refuses_no_values():
    with pytest.raises(ValueError):
        scoring.iqm(np.array([]))


def test_bootstrap_ci_brackets_the_statistic_and_is_reproducible():
    values = np.random.default_rng(1).normal(10, 2, size=20)
    low, high = scoring.bootstrap_ci(values, rng=np.random.default_rng(0))
    assert low < scoring.iqm(values) < high
    assert (low, high) == scoring.bootstrap_ci(values, rng=np.random.default_rng(0))


def test_bootstrap_ci_of_identical_values_is_a_point():
    assert scoring.bootstrap_ci(np.full(5, -13.0), rng=np.random.default_rng(0)) == (-13.0, -13.0)


def test_runs_passing_counts_values_at_or_above_the_threshold():
    assert scoring.runs_passing(np.array([-13, -17, -18, -100]), -17) == 2


@pytest.mark.parametrize("passing, required, expected", [(5, 4, 1.0), (4, 4, 1.0), (3, 4, 0.75), (0, 4, 0.0)])
def test_k_of_n_fraction_is_linear_below_the_requirement(passing, required, expected):
    assert scoring.k_of_n_fraction(passing, required) == expected


def test_moving_average_is_trailing():
    assert scoring.moving_average(np.array([0, 2, 4, 6]), 2).tolist() == [0, 1, 3, 5]
