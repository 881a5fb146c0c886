"""The per-era summary numbers and the agreement rule that flags a local evaluation differing from Numerai's."""

from __future__ import annotations

import pytest

from numerai_mcp.scores import ERA_TOLERANCE, compare_per_era, max_drawdown, mean_std_sharpe


def test_summary_numbers_match_their_definitions() -> None:
    values = [0.02, -0.01, 0.03, -0.04, 0.01]
    mean, std, sharpe = mean_std_sharpe(values)
    # squared deviations from 0.002 sum to 0.00308; the sample variance divides by n - 1 = 4
    assert mean == pytest.approx(0.002) and std == pytest.approx((0.00308 / 4) ** 0.5)
    assert sharpe == pytest.approx(0.002 / (0.00308 / 4) ** 0.5)
    assert mean_std_sharpe([0.1]) == (0.1, None, None)
    # cumulative 0.02, 0.01, 0.04, 0.00, 0.01: the fall from the 0.04 peak to 0.00
    assert max_drawdown(values) == pytest.approx(0.04)
    assert max_drawdown([-0.01, -0.02]) == pytest.approx(0.03)  # the running peak starts at 0


def test_the_same_numbers_rounded_agree_and_common_eras_only_are_compared() -> None:
    numerai = {"0575": 0.0210001, "0576": -0.0100004, "0577": 0.0300002, "0999": 0.5}
    local = {"0575": 0.021, "0576": -0.01, "0577": 0.03, "0578": None, "0001": 0.9}
    found = compare_per_era(local, numerai)
    assert (found.eras_compared, found.agree) == (3, True)
    assert found.largest_difference == pytest.approx(4e-7) and found.largest_difference_era == "0576"
    assert found.first_mean == pytest.approx(0.041 / 3) and found.second_mean == pytest.approx(0.0409999 / 3)


@pytest.mark.parametrize(("shift", "agree"), [(ERA_TOLERANCE * 0.9, True), (ERA_TOLERANCE * 1.5, False)])
def test_one_era_beyond_the_tolerance_is_a_disagreement(shift: float, agree: bool) -> None:
    local = {f"{era:04d}": 0.01 * (era % 3) for era in range(575, 675)}
    numerai = dict(local, **{"0600": local["0600"] + shift})
    found = compare_per_era(local, numerai)
    assert found.agree is agree and found.largest_difference_era == "0600"
    assert found.largest_difference == pytest.approx(shift)


def test_a_shifted_mean_within_the_per_era_tolerance_still_disagrees() -> None:
    local = {f"{era:04d}": 0.02 for era in range(575, 615)}
    numerai = {era: value + 0.0015 for era, value in local.items()}  # every era 0.0015 higher: a biased copy
    assert compare_per_era(local, numerai).agree is False


def test_no_common_era_means_nothing_to_judge() -> None:
    found = compare_per_era({"0575": 0.01}, {"0576": 0.02, "0575": None})
    assert (found.eras_compared, found.agree, found.largest_difference) == (0, None, None)
