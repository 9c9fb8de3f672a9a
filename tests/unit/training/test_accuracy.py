"""Accuracy over time against a hand count: every figure below is worked out in the test.

The fixture, at threshold 0.90 and an audit share of 50 % (which ids the hash audits at 50 %
is checked against the workflow's own function first):

    day 2026-11-25                               day 2026-11-26
    01 [0.95, 0.05] audit, answered bicycle  ok   07 [0.91, 0.09] audit, answered bicycle ok
    04 [0.08, 0.92] audit, answered bicycle  no   10 [0.20, 0.80] review, motorcycle      ok
    02 [0.97, 0.03] confident, not audited        -- [0.99, 0.01] no inference id
    05 [0.99, 0.01] audit, not answered
    03 [0.60, 0.40] review, bicycle          ok   and an answer, 11, with no capture record
    06 [0.30, 0.70] review, bicycle          no
    08 [0.55, 0.45] review, neither
    09 [0.70, 0.30] review, not answered
"""

import math

import pytest

from local.emulation import template
from tests.unit.training.answers import (
    ANSWERS,
    closed,
    item,
    uid,
    write_answers,
    write_captures,
    write_folder,
)
from training.common import accuracy as acc
from training.common.accuracy import Proportion, describe, is_audit, measure
from training.common.capture import Inference, read_captures
from training.common.ground_truth import read_reviews
from workflow_common.audits import is_audit as workflow_is_audit

Z = 1.959963984540054  # the normal quantile of 0.975
THRESHOLD = 0.90
PERCENT = 50


@pytest.fixture
def inferences(tmp_path):
    return read_captures(write_captures(tmp_path / "capture")).inferences


@pytest.fixture
def result(inferences, tmp_path):
    reviews = read_reviews(write_answers(tmp_path / "ground-truth"))
    return measure(inferences, reviews, THRESHOLD, PERCENT)


def test_the_fixtures_audits_are_the_workflows_and_this_copy_is_its():
    assert [n for n in range(1, 11) if workflow_is_audit(uid(n), PERCENT)] == [1, 4, 5, 7]
    for percent in (0, 2, 50, 100):
        ids = [uid(n) for n in range(200)]
        assert [is_audit(i, percent) for i in ids] == [workflow_is_audit(i, percent) for i in ids]
    assert abs(acc.Z - Z) < 1e-12


def test_the_default_audit_share_is_the_templates():
    """training.report runs without the repository's tools: its default is held here."""
    assert float(template.parameter_defaults()["AuditSamplePercent"]) == acc.DEFAULT_AUDIT_PERCENT


def test_each_days_counts_by_hand(result):
    day1, day2 = result.days.values()
    assert [str(day) for day in result.days] == ["2026-11-25", "2026-11-26"]
    # day 1: 8 with an id; below 0.90: 03 06 08 09; audited of the confident 01 04 02 05: 01 04 05
    assert (day1.captured, day1.unsure, day1.audited, day1.neither) == (8, 4, 3, 1)
    assert day1.review_share == 4 / 8
    assert day1.confident_accuracy == Proportion(1, 2)  # 01 right, 04 wrong
    assert day1.unsure_accuracy == Proportion(1, 2)  # 03 right, 06 wrong; 08 neither, 09 open
    # day 2: 07 and 10 (the capture without an id joins nothing and is counted apart)
    assert (day2.captured, day2.unsure, day2.audited, day2.neither) == (2, 1, 1, 0)
    assert (day2.confident_accuracy, day2.unsure_accuracy) == (Proportion(1, 1), Proportion(1, 1))
    total = result.total
    assert (total.captured, total.unsure, total.audited, total.neither) == (10, 5, 4, 1)
    assert (total.confident_accuracy, total.unsure_accuracy) == (Proportion(2, 3), Proportion(2, 3))


def test_the_all_traffic_estimate_and_its_interval_by_hand(result):
    day1, day2 = result.days.values()
    z2 = Z * Z
    # day 1: W_c = W_u = 4/8; p = 0.5 * 1/2 + 0.5 * 1/2
    adjusted = (1 + z2 / 2) / (2 + z2)  # = 0.5
    slice_variance = 0.5**2 * adjusted * (1 - adjusted) / (2 + z2) * (1 - 2 / 4)
    half = Z * math.sqrt(2 * slice_variance)
    estimate = day1.estimate
    assert estimate.value == pytest.approx(0.5)
    assert (estimate.low, estimate.high) == pytest.approx((0.5 - half, 0.5 + half))
    assert half == pytest.approx(0.2027, abs=1e-4)
    # day 2: every image of each slice answered (1 of 1): the correction leaves no width
    assert (day2.estimate.value, day2.estimate.low, day2.estimate.high) == (1.0, 1.0, 1.0)
    # all days: W_c = W_u = 5/10; 2 of 3 right in each slice, 3 of 5 answered
    adjusted = (2 + z2 / 2) / (3 + z2)
    slice_variance = 0.5**2 * adjusted * (1 - adjusted) / (3 + z2) * (1 - 3 / 5)
    half = Z * math.sqrt(2 * slice_variance)
    total = result.total.estimate
    assert total.value == pytest.approx(2 / 3)
    assert (total.low, total.high) == pytest.approx((2 / 3 - half, 2 / 3 + half))


def test_wilson_interval_by_hand():
    # 1 of 2: centre (0.5 + z²/4) / (1 + z²/2) = 0.5; half z/(1 + z²/2) * sqrt(0.125 + z²/16)
    half = Z / (1 + Z * Z / 2) * math.sqrt(0.25 / 2 + Z * Z / 16)
    assert Proportion(1, 2).interval() == pytest.approx((0.5 - half, 0.5 + half))
    # 3 of 3: the upper end is 1 and the lower n / (n + z²)
    assert Proportion(3, 3).interval() == pytest.approx((3 / (3 + Z * Z), 1.0))
    assert Proportion(0, 0).interval() is None and Proportion(0, 0).value is None


def test_confusion_matrices_by_hand(result):
    assert dict(result.confusion["audit"]) == {
        ("bicycle", "bicycle"): 2,  # 01, 07
        ("bicycle", "motorcycle"): 1,  # 04
    }
    assert dict(result.confusion["below_threshold"]) == {
        ("bicycle", "bicycle"): 1,  # 03
        ("bicycle", "motorcycle"): 1,  # 06
        ("neither", "bicycle"): 1,  # 08
        ("motorcycle", "motorcycle"): 1,  # 10
    }


def test_what_could_not_be_joined_is_counted_and_named(result):
    assert result.answers_without_capture == [uid(11)]
    assert sorted(result.unanswered) == [uid(5), uid(9)]  # an audit and a review still open
    assert result.captures_without_id == 1
    assert result.disagreements == [] and result.problems == []


def test_an_item_closed_unanswered_is_named_apart_from_the_open_ones(inferences, tmp_path):
    folder = write_answers(tmp_path / "ground-truth")
    write_folder(folder, closed(item(uid(9), [0.70, 0.30])))  # review 09: its image was gone
    result = measure(inferences, read_reviews(folder), THRESHOLD, PERCENT)
    assert result.unanswered == [uid(5)]
    assert result.closed_unavailable == [uid(9)]
    assert f"closed unanswered, the image gone or replaced: 1\n  {uid(9)}" in describe(result)


def test_a_slice_with_images_but_no_answers_has_no_estimate(inferences, tmp_path):
    only_reviews = [answer for answer in ANSWERS if answer[2] != "audit"]
    reviews = read_reviews(write_answers(tmp_path / "gt", only_reviews))
    result = measure(inferences, reviews, THRESHOLD, PERCENT)
    assert result.total.estimate.value is None
    assert "- (a slice with images has no answers)" in describe(result)


def test_a_threshold_other_than_the_workflows_is_named_per_answer(inferences, tmp_path):
    reviews = read_reviews(write_answers(tmp_path / "ground-truth"))
    other = measure(inferences, reviews, 0.93, PERCENT)
    assert other.disagreements == [  # 04 at 0.92 and 07 at 0.91 were audits at 0.90
        f"{uid(4)}: audit, captured at 0.9200 against the threshold 0.93",
        f"{uid(7)}: audit, captured at 0.9100 against the threshold 0.93",
    ]


def test_ground_truth_problems_are_carried_into_the_result(inferences, tmp_path):
    folder = write_answers(tmp_path / "ground-truth")
    (folder / "reviews" / "broken.json").write_text("{")
    result = measure(inferences, read_reviews(folder), THRESHOLD, PERCENT)
    assert (
        len(result.problems) == 1
        and "reviews/broken.json: not a review record" in result.problems[0]
    )


def test_the_text_says_each_figure_and_names_at_most_the_limit(result):
    lines = describe(result, limit=1).splitlines()
    assert lines[1] == (
        "2026-11-25: captured 8, sent to review 4 (50.0%), audited 3; confident (audits) "
        "1/2  50.0% [9.5%, 90.5%]; unsure (reviews) 1/2  50.0% [9.5%, 90.5%]; all traffic "
        "50.0% [29.7%, 70.3%]; neither 1"
    )
    assert lines[2].startswith("2026-11-26: captured 2, sent to review 1 (50.0%), audited 1;")
    assert lines[2].endswith("all traffic 100.0% [100.0%, 100.0%]; neither 0")
    assert "sent to a person, not answered yet: 2" in lines
    assert "  ... and 1 more (all in summary.txt)" in lines
    assert "captures without an inference id (cannot be joined): 1" in lines
    assert describe(result).count(uid(5)) + describe(result).count(uid(9)) == 2


def test_a_capture_repeating_an_inference_id_is_named_and_the_first_kept(inferences, tmp_path):
    again = Inference(inferences[0].time, (0.1, 0.9), inferences[0].inference_id)
    reviews = read_reviews(write_answers(tmp_path / "ground-truth"))
    result = measure([*inferences, again], reviews, THRESHOLD, PERCENT)
    assert result.repeated_captures == [uid(1)]
    assert result.total == measure(inferences, reviews, THRESHOLD, PERCENT).total
    assert f"  {uid(1)}" in describe(result).splitlines()


def test_an_answer_whose_guess_is_not_the_captured_one_is_named(inferences, tmp_path):
    swapped = [(3, [0.40, 0.60], "below_threshold", "bicycle")]  # the capture says 0.60 bicycle
    result = measure(inferences, read_reviews(write_answers(tmp_path / "gt", swapped)), THRESHOLD)
    assert result.disagreements == [
        f"{uid(3)}: the review shows the model saying motorcycle, the capture bicycle"
    ]
    assert result.total.unsure_accuracy == Proportion(1, 1)  # scored against the capture
