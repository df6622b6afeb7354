"""The test bed's statistics: small examples worked out by hand, simulations that check the intervals
and the paired test do what they claim, share assertions with early stopping, and refused input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chatdash.evals.stats import (
    Below,
    bootstrap_mean,
    check_share,
    compare,
    compare_many,
    holm,
    judge_consistency,
    should_stop,
    summarize,
)

# Means 1, 0.5, 0.2, 0.3, 0.5 (mean 0.5); 11 scored executions and one unscorable.
EXAMPLE: dict[str, list[float | None]] = {
    "steady": [1.0, 1.0, 1.0],
    "swing": [0.0, 0.5, 1.0],
    "low": [0.2, 0.2],
    "edge": [0.3, None],
    "split": [0.45, 0.55],
}


def same(repeats: int, cases: int, score: float) -> dict[str, list[float | None]]:
    return {f"c{i}": [score] * repeats for i in range(cases)}


def simulated(
    means: np.ndarray, rng: np.random.Generator, *, repeats: int = 3, kappa: float = 4.0
) -> dict[str, list[float | None]]:
    """A run whose case i scores Beta(mean_i * kappa, (1 - mean_i) * kappa) on each repeat: the true
    case mean is exactly mean_i, repeats scatter around it (sd about sqrt(m(1-m)/(kappa+1)))."""
    m = means[:, None]
    draws = rng.beta(m * kappa, (1 - m) * kappa, size=(len(means), repeats))
    return {f"c{i}": [float(x) for x in row] for i, row in enumerate(draws)}


# --- hand-computed examples ------------------------------------------------------------------------


def test_the_summary_of_a_small_example() -> None:
    summary = summarize(EXAMPLE, threshold=0.5, below=(0.3, 0.5))
    assert (summary.executions, summary.scored, summary.unscored, summary.cases) == (12, 11, 1, 5)
    assert summary.mean.value == pytest.approx(0.5)  # mean of case means, not 5.5 / 11 pooled
    assert summary.pass_rate.value == pytest.approx(6 / 11)  # 3 + 2 + 0 + 0 + 1 executions >= 0.5
    assert summary.mean.low <= summary.mean.value <= summary.mean.high
    assert summary.pass_rate.low <= summary.pass_rate.value <= summary.pass_rate.high
    # 0.0 | - | 0.2 0.2 | 0.3 | 0.45 | 0.5 0.55 | - | - | - | 1.0 x4 (the last bin is closed)
    assert summary.histogram == (1, 0, 2, 1, 1, 2, 0, 0, 0, 4)
    # strictly below: 0.3 is not below 0.3, 0.5 not below 0.5
    assert summary.below == (Below(0.3, 3, 11), Below(0.5, 5, 11))
    assert str(summary.below[0]) == "3 of 11 below 0.3"
    cases = {c.case_id: c for c in summary.per_case}
    assert cases["swing"].std == pytest.approx(0.5)  # sample std of 0, 0.5, 1
    assert cases["split"].std == pytest.approx(math.sqrt(0.005))
    assert cases["steady"].std == 0.0
    assert cases["edge"].std is None and cases["edge"].unscored == 1
    assert (cases["swing"].min, cases["swing"].max, cases["swing"].passes, cases["swing"].n) == (
        0.0,
        1.0,
        2,
        3,
    )


def test_flaky_cases_are_measured_by_spread_or_by_mixed_verdicts() -> None:
    summary = summarize(EXAMPLE | {"wide": [0.6, 1.0]}, threshold=0.5)
    # swing: std 0.5 and mixed; wide: std 0.28, all pass; split: std 0.07 but one pass, one fail
    assert summary.flaky == ("swing", "wide", "split")
    flags = {c.case_id: c.flaky for c in summary.per_case}
    assert not flags["steady"] and not flags["low"] and not flags["edge"]
    assert summarize(EXAMPLE, flaky_std=0.6).flaky == ("swing", "split")  # mixed verdicts still count


def test_a_case_without_any_score_is_counted_but_left_out() -> None:
    summary = summarize({"a": [0.4, 0.6], "b": [None, None]})
    assert (summary.executions, summary.unscored, summary.cases) == (4, 2, 1)
    assert summary.unscored_cases == ("b",)
    assert summary.mean.value == pytest.approx(0.5)


def test_the_bootstrap_is_seeded_and_one_case_gets_its_interval_from_its_repeats() -> None:
    scores = {"only": [0.1, 0.4, 0.5, 0.9]}
    first, again = bootstrap_mean(scores, seed=3), bootstrap_mean(scores, seed=3)
    assert first == again
    assert first.value == pytest.approx(0.475)
    assert 0.1 <= first.low < first.value < first.high <= 0.9
    assert bootstrap_mean({"a": [0.7], "b": [0.7]}).as_dict() == {
        "value": pytest.approx(0.7),
        "low": pytest.approx(0.7),
        "high": pytest.approx(0.7),
        "confidence": 0.95,
    }


def test_cases_weigh_the_same_whatever_their_number_of_repeats() -> None:
    assert bootstrap_mean({"a": [1.0] * 9, "b": [0.0]}).value == pytest.approx(0.5)


def test_holm_on_a_textbook_example() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> made monotone: 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_compare_pairs_by_case_with_an_exact_test_and_d_z() -> None:
    a = {"x": [0.2], "y": [0.4], "z": [0.5], "gone": [0.3]}
    b = {"x": [0.5], "y": [0.5], "z": [0.9], "new": [1.0]}
    result = compare(a, b)
    assert result.cases == 3 and result.left_out == ("gone", "new")
    assert [d.difference for d in result.differences] == pytest.approx([0.3, 0.1, 0.4])
    assert result.mean_difference.value == pytest.approx(0.8 / 3)
    # of 8 sign patterns only all-plus and all-minus reach |0.8|
    assert result.p_value == pytest.approx(2 / 8) and result.test.startswith("exact")
    assert result.effect_size == pytest.approx((0.8 / 3) / math.sqrt(0.07 / 3))  # sd: sqrt(0.046667 / 2)
    assert result.verdict == "no significant difference"


def test_the_exact_test_needs_six_cases_moving_the_same_way_at_alpha_005() -> None:
    five = compare(same(2, 5, 0.4), {f"c{i}": [0.5 + i / 20] * 2 for i in range(5)})
    six = compare(same(2, 6, 0.4), {f"c{i}": [0.5 + i / 20] * 2 for i in range(6)})
    assert five.p_value == pytest.approx(2 / 32) and five.verdict == "no significant difference"
    assert six.p_value == pytest.approx(2 / 64) and six.verdict == "better"
    assert compare({f"c{i}": [0.5 + i / 20] * 2 for i in range(6)}, same(2, 6, 0.4)).verdict == "worse"


def test_d_z_when_every_case_moves_by_the_same_amount() -> None:
    assert compare(same(2, 4, 0.4), same(2, 4, 0.5)).effect_size is None  # infinite
    unchanged = compare(same(2, 4, 0.4), same(2, 4, 0.4))
    assert unchanged.effect_size == 0.0 and unchanged.p_value == 1.0


def test_compare_many_adjusts_the_p_values() -> None:
    up = {f"c{i}": [0.5 + i / 20] for i in range(6)}
    results = compare_many({"clear": (same(1, 6, 0.4), up), "flat": (same(1, 6, 0.4), same(1, 6, 0.4))})
    assert results["clear"].p_value == pytest.approx(2 / 64)
    assert results["clear"].p_adjusted == pytest.approx(2 / 32)  # 2 comparisons
    assert results["clear"].verdict == "no significant difference"  # better alone, not after Holm
    assert results["flat"].p_adjusted == 1.0


def test_judge_consistency() -> None:
    result = judge_consistency({"o1": [0.8, 0.9], "o2": [0.2, 0.6], "o3": [1.0, 1.0, 1.0], "o4": [0.5]})
    assert (result.outputs, result.judgements, result.single) == (3, 7, 1)
    assert result.mean_std == pytest.approx((math.sqrt(0.005) + math.sqrt(0.08) + 0.0) / 3)
    assert result.max_std == pytest.approx(math.sqrt(0.08))
    assert (result.agreeing, result.agreement) == (2, pytest.approx(2 / 3))  # 0.9 - 0.8 is within 0.1


def test_every_result_is_plain_json() -> None:
    results = [
        summarize(EXAMPLE),
        check_share(EXAMPLE, below=0.3, at_most=0.2),
        should_stop(EXAMPLE, below=0.3, at_most=0.2, remaining_repeats=2),
        compare(EXAMPLE, EXAMPLE),
        judge_consistency(EXAMPLE),
    ]
    for result in results:
        data = result.as_dict()
        assert json.loads(json.dumps(data)) == data


# --- simulations -----------------------------------------------------------------------------------


def test_the_two_level_interval_covers_the_true_mean_near_its_nominal_rate() -> None:
    rng = np.random.default_rng(2024)
    covered = 0
    for sim in range(200):
        # case means ~ Beta(6, 4) (true mean 0.6), repeats ~ Beta around each case mean
        scores = simulated(rng.beta(6, 4, size=30), rng, kappa=10.0)
        interval = bootstrap_mean(scores, iterations=500, seed=sim)
        covered += interval.low <= 0.6 <= interval.high
    # 0.965 with this seed. Nominal 0.95 with a Monte Carlo sd of 0.015 over 200 scenarios; drawing
    # the repeats again makes the interval a little wide (>= 0.95 expected), 30 cases a little narrow:
    # 0.90 and 0.99 sit about 3 sd from 0.95 and fail only if the interval is really off.
    assert 0.90 <= covered / 200 <= 0.99


def test_compare_finds_a_planted_difference() -> None:
    rng = np.random.default_rng(7)
    found = 0
    for sim in range(100):
        means = rng.uniform(0.2, 0.7, size=30)
        result = compare(
            simulated(means, rng), simulated(means + 0.15, rng), iterations=500, seed=sim, permutations=2000
        )
        found += result.verdict == "better"
    # 0.15 on 30 cases x 3 repeats with repeat sd about 0.2: d_z about 0.9, power near 1 (0.99 here)
    assert found / 100 >= 0.9


def test_compare_rejects_at_close_to_alpha_when_nothing_changed() -> None:
    rng = np.random.default_rng(8)
    rejected = 0
    for sim in range(200):
        means = rng.uniform(0.2, 0.7, size=30)
        result = compare(
            simulated(means, rng), simulated(means, rng), iterations=500, seed=sim, permutations=2000
        )
        rejected += result.verdict != "no significant difference"
    # 0.065 with this seed; the sign-flip test is exact, so 0.05 expected with a Monte Carlo sd of
    # 0.015: 0.10 is 3 sd above, 0.01 catches a test that never rejects
    assert 0.01 <= rejected / 200 <= 0.10


# --- shares and early stopping ---------------------------------------------------------------------


def test_check_share_clear_cut() -> None:
    passed = check_share(same(3, 30, 0.9), below=0.3, at_most=0.2)
    assert passed.verdict == "pass" and passed.share == 0.0
    assert (
        passed.decided_by == passed.high == pytest.approx(1.96**2 / (90 + 1.96**2), abs=1e-4)
    )  # Wilson, 0 of 90
    failed = check_share(same(3, 30, 0.1), below=0.3, at_most=0.2)
    assert failed.verdict == "fail" and failed.decided_by == failed.low > 0.9
    borderline = check_share(
        {f"c{i}": [0.1 if i < 6 else 0.9] * 3 for i in range(30)}, below=0.3, at_most=0.2
    )
    assert borderline.share == pytest.approx(0.2) and borderline.verdict == "inconclusive"
    assert borderline.decided_by is None


def test_a_share_clustered_in_few_cases_is_less_certain_than_the_same_share_spread() -> None:
    spread = {f"c{i}": [0.1 if i < 15 else 0.9] + [0.9] * 4 for i in range(30)}  # 15 of 150, one per case
    clustered = {f"c{i}": [0.1 if i < 3 else 0.9] * 5 for i in range(30)}  # 15 of 150, in 3 cases
    a = check_share(spread, below=0.3, at_most=0.17)
    b = check_share(clustered, below=0.3, at_most=0.17)
    assert a.share == b.share == pytest.approx(0.1)
    assert a.design_effect == 1.0 and a.verdict == "pass"
    assert b.design_effect == pytest.approx(5.0) and b.effective_n == pytest.approx(30.0)  # capped: 5 copies
    assert b.verdict == "inconclusive"


def test_early_stop_when_clear_and_not_when_borderline() -> None:
    clear = should_stop(same(2, 30, 0.9), below=0.3, at_most=0.2, remaining_repeats=3)
    assert clear.stop and "99%" in clear.reason and clear.verdict.verdict == "pass"
    assert (clear.if_all_below, clear.if_none_below) == ("fail", "pass")
    borderline = {f"c{i}": [0.1 if i < 12 else 0.9, 0.9] for i in range(30)}  # 12 of 60 below
    assert not should_stop(borderline, below=0.3, at_most=0.2, remaining_repeats=3).stop


def test_early_stop_rules() -> None:
    settled = should_stop(same(4, 30, 0.1), below=0.3, at_most=0.2, remaining_repeats=1)
    assert settled.stop and "cannot change" in settled.reason and settled.remaining == 30
    done = should_stop(same(2, 30, 0.5), below=0.3, at_most=0.2, remaining_repeats=0)
    assert done.stop and done.reason == "no repeats left"
    few = same(1, 15, 0.9)  # clear at 99 % (upper 0.31 < 0.5), but only 15 executions
    assert not should_stop(few, below=0.3, at_most=0.5, remaining_repeats=2).stop
    assert should_stop(few, below=0.3, at_most=0.5, remaining_repeats=2, min_executions=10).stop


# --- refused input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({}, "no cases"),
        ({"a": [None], "b": []}, "no scored executions"),
        ({"ok": [0.5], "q7": [0.5, 1.2]}, "'q7'.*outside"),
        ({"q8": [-0.1]}, "'q8'"),
        ({"q9": [float("nan")]}, "'q9'"),
        ({"q10": ["high"]}, "'q10'.*not a score"),
    ],
)
def test_bad_scores_are_refused_naming_the_case(scores: dict[str, list[object]], message: str) -> None:
    for call in (bootstrap_mean, summarize, lambda s: check_share(s, below=0.3, at_most=0.2)):
        with pytest.raises(ValueError, match=message):
            call(scores)


def test_other_refusals() -> None:
    with pytest.raises(ValueError, match="no case has scores in both"):
        compare({"a": [0.5]}, {"b": [0.5]})
    with pytest.raises(ValueError, match="judged twice"):
        judge_consistency({"o1": [0.5], "o2": [0.7]})
    with pytest.raises(ValueError, match="p-value"):
        holm([0.5, 1.5])
    with pytest.raises(ValueError, match="at_most"):
        check_share(EXAMPLE, below=0.3, at_most=20)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean(EXAMPLE, confidence=95)
