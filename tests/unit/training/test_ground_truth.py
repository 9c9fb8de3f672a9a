"""training.common.ground_truth: the review records read back, each problem named."""

import json

import boto3
import pytest

from tests.unit.training.answers import (
    ANSWERED,
    closed,
    files,
    item,
    write_bucket,
    write_folder,
)
from training.common.aws import BucketNotFound
from training.common.ground_truth import Problem, Review, read_reviews

IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 6)]
ANSWERS = [
    (item(IDS[0], [0.6, 0.4]), "bicycle"),
    (item(IDS[1], [0.3, 0.7]), "bicycle"),
    (item(IDS[2], [0.95, 0.05], "audit", key="incoming/a b+c.png"), "bicycle"),
    (item(IDS[3], [0.55, 0.45]), "neither"),
]


def expected(inference_id, label, reason, model_label, confidence, key=None):
    return Review(
        inference_id,
        label,
        reason,
        "arn:aws:iam::1:user/r",
        ANSWERED,
        model_label,
        confidence,
        "scones-images",
        key or f"incoming/{inference_id}.png",
        '"0123456789abcdef"',
    )


EXPECTED = [
    expected(IDS[0], "bicycle", "below_threshold", "bicycle", 0.6),
    expected(IDS[1], "bicycle", "below_threshold", "motorcycle", 0.7),
    expected(IDS[2], "bicycle", "audit", "bicycle", 0.95, "incoming/a b+c.png"),
    expected(IDS[3], "neither", "below_threshold", "bicycle", 0.55),
]


def test_reads_every_answer_of_a_folder_as_the_review_core_wrote_it(tmp_path):
    reviews = read_reviews(write_folder(tmp_path, files(ANSWERS)))
    assert sorted(reviews.reviews, key=lambda r: r.inference_id) == EXPECTED
    assert reviews.problems == []
    assert [r.inference_id for r in reviews.labelled] == [IDS[0], IDS[1], IDS[2]]
    assert [r.inference_id for r in reviews.neither] == [IDS[3]]


@pytest.mark.parametrize("prefix", ["", "copies/2026/"])
def test_reads_the_same_from_s3_under_a_prefix_or_none(aws, prefix):
    s3 = boto3.client("s3")
    location = write_bucket(s3, "scones-ground-truth", files(ANSWERS), prefix)
    reviews = read_reviews(location, s3)
    assert sorted(reviews.reviews, key=lambda r: r.inference_id) == EXPECTED
    assert reviews.problems == []


def test_an_item_closed_unanswered_is_counted_apart_not_a_problem_nor_an_answer(tmp_path):
    written = files(ANSWERS) | closed(item(IDS[4], [0.6, 0.4]))
    reviews = read_reviews(write_folder(tmp_path, written))
    assert reviews.unavailable == [IDS[4]]
    assert IDS[4] not in {review.inference_id for review in reviews.reviews}
    assert reviews.problems == []


def test_an_empty_location_is_no_answers(tmp_path):
    assert read_reviews(tmp_path) == read_reviews(tmp_path / "absent")
    assert read_reviews(tmp_path).reviews == []


def test_a_missing_bucket_is_bucket_not_found(aws):
    with pytest.raises(BucketNotFound, match="no-such-bucket"):
        read_reviews("s3://no-such-bucket", boto3.client("s3"))


def test_each_problem_is_named_and_the_rest_still_read(tmp_path):
    written = files(ANSWERS)
    stray = "ground-truth/2026/11/26/09/x.jsonl"
    line_of = {key.rsplit("/", 1)[1].split(".")[0]: key for key in written if "/20" in key}
    written[f"reviews/{IDS[4]}.json"] = b"not json"  # unreadable record
    written["reviews/other.json"] = written[f"reviews/{IDS[0]}.json"]  # in another's file
    del written[line_of[IDS[1]]]  # an answer without its line
    bad = json.loads(written[line_of[IDS[2]]])
    bad["groundTruthData"]["data"] = "motorcycle"  # a line that disagrees with its record
    written[line_of[IDS[2]]] = json.dumps(bad).encode() + b"\n"
    orphan = {
        "groundTruthData": {"data": "bicycle", "encoding": "CSV"},
        "eventMetadata": {"eventId": "orphan-id"},
        "eventVersion": "0",
    }
    written[stray] = (json.dumps(orphan) + "\n{broken\n").encode() + written[line_of[IDS[0]]]
    reviews = read_reviews(write_folder(tmp_path, written))

    assert sorted(r.inference_id for r in reviews.reviews) == IDS[:4]  # the answers still count
    problems = {(p.where.removeprefix(f"{tmp_path}/"), p.what) for p in reviews.problems}
    assert problems == {
        (
            f"reviews/{IDS[4]}.json",
            "not a review record (Expecting value: line 1 column 1 (char 0))",
        ),
        ("reviews/other.json", f"holds the record of {IDS[0]}"),
        (f"reviews/{IDS[1]}.json", "bicycle, but no ground-truth line"),
        (line_of[IDS[2]], f"{IDS[2]} says motorcycle, its review record bicycle"),
        (stray, "orphan-id has no review record"),
        (
            f"{stray} line 2",
            "not a ground-truth line (Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1))",
        ),
        (stray, f"a second ground-truth line for {IDS[0]} (first in {tmp_path}/{line_of[IDS[0]]})"),
    }
    assert str(Problem("w", "x")) == "w: x"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"label": "cat"}, "'label' is not one of bicycle, motorcycle, neither: 'cat'"),
        ({"reason": None}, "'reason' is not one of below_threshold, audit: None"),
        ({"reviewer": ""}, "'reviewer' is not a non-empty string: ''"),
        ({"answered_at": "2026-11-26T09:30:00"}, "'answered_at' is not a time with its zone"),
        ({"model_confidence": True}, "'model_confidence' is not a number in [0, 1]: True"),
        ({"model_confidence": 1.5}, "'model_confidence' is not a number in [0, 1]: 1.5"),
        ({"s3_key": 3}, "'s3_key' is not a non-empty string: 3"),
    ],
)
def test_a_record_with_a_bad_field_is_named_by_that_field(tmp_path, change, named):
    written = files(ANSWERS[:1])
    key = f"reviews/{IDS[0]}.json"
    written[key] = json.dumps(json.loads(written[key]) | change).encode()
    reviews = read_reviews(write_folder(tmp_path, written))
    assert reviews.reviews == []
    [unreadable, lone_line] = reviews.problems
    assert unreadable.what.startswith(f"not a review record ({named}")
    assert lone_line.what == f"{IDS[0]} has no review record"


def test_a_record_that_is_not_an_object_or_nests_too_deep_is_named(tmp_path):
    written = {"reviews/a.json": b"[1]", "reviews/b.json": b"[" * 100_000 + b"]" * 100_000}
    problems = read_reviews(write_folder(tmp_path, written)).problems
    assert [p.what for p in problems] == [
        "not a review record (not a JSON object)",
        "not a review record (nested too deeply)",
    ]
