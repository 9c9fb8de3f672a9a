"""Ground-truth locations as the review core writes them (its own record and line writers),
and the hand-counted fixture of test_accuracy.py: captures and answers over two days."""

import json
from datetime import UTC, datetime
from pathlib import Path

from operations.reviewing import ReviewItem, line, review_id, review_record, unavailable_record
from training.common.capture import capture_record

ANSWERED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def item(inference_id, inferences, reason="below_threshold", key=None):
    """A review item as the state machine sends it."""
    key = key or f"incoming/{inference_id}.png"
    return ReviewItem(
        s3_bucket="scones-images",
        s3_key=key,
        etag='"0123456789abcdef"',
        inferences=tuple(inferences),
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:m:{inference_id}",
        inference_id=inference_id,
        reason=reason,
        sent_at=ANSWERED.timestamp() - 60,
        review_id=review_id("scones-images", key, '"0123456789abcdef"'),
    )


def files(answers, answered_at=ANSWERED):
    """{key: bytes} of the ground-truth bucket after `answers`: (item, label) pairs."""
    written = {}
    for review_item, label in answers:
        record = review_record(review_item, "m-1", label, "arn:aws:iam::1:user/r", 4.5, answered_at)
        written[f"reviews/{review_item.inference_id}.json"] = json.dumps(record).encode()
        written[record["record_key"]] = line(record)
    return written


def closed(review_item, closed_at=ANSWERED):
    """{key: bytes} of an item the review core closed unanswered, its image gone."""
    record = unavailable_record(
        review_item, "m-2", "arn:aws:iam::1:user/r", 2.0, closed_at, "ImageNotFound: gone"
    )
    return {f"reviews/{review_item.inference_id}.json": json.dumps(record).encode()}


def write_folder(folder: Path, written) -> Path:
    for key, body in written.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return folder


def write_bucket(s3, bucket, written, prefix=""):
    s3.create_bucket(Bucket=bucket)
    for key, body in written.items():
        s3.put_object(Bucket=bucket, Key=prefix + key, Body=body)
    return f"s3://{bucket}/{prefix}".rstrip("/")


def uid(n):
    return f"00000000-0000-4000-8000-{n:012d}"


DAY1 = datetime(2026, 11, 25, 23, 59, 0, tzinfo=UTC)  # a minute before midnight UTC
DAY2 = datetime(2026, 11, 26, 0, 0, 0, tzinfo=UTC)
CAPTURED = [  # (id, probabilities, time)
    (1, [0.95, 0.05], DAY1),
    (4, [0.08, 0.92], DAY1),
    (2, [0.97, 0.03], DAY1),
    (5, [0.99, 0.01], DAY1),
    (3, [0.60, 0.40], DAY1),
    (6, [0.30, 0.70], DAY1),
    (8, [0.55, 0.45], DAY1),
    (9, [0.70, 0.30], DAY1),
    (7, [0.91, 0.09], DAY2),
    (10, [0.20, 0.80], DAY2),
    (None, [0.99, 0.01], DAY2),
]
ANSWERS = [  # (id, probabilities, reason, the person's label)
    (1, [0.95, 0.05], "audit", "bicycle"),
    (4, [0.08, 0.92], "audit", "bicycle"),
    (3, [0.60, 0.40], "below_threshold", "bicycle"),
    (6, [0.30, 0.70], "below_threshold", "bicycle"),
    (8, [0.55, 0.45], "below_threshold", "neither"),
    (7, [0.91, 0.09], "audit", "bicycle"),
    (10, [0.20, 0.80], "below_threshold", "motorcycle"),
    (11, [0.40, 0.60], "below_threshold", "motorcycle"),
]


def write_captures(folder):
    """The fixture's capture, one file an hour, in SageMaker's layout."""
    by_hour = {}
    for n, probabilities, when in CAPTURED:
        record = capture_record(
            "image/png", b"\x89PNG", json.dumps(probabilities), when, n and uid(n)
        )
        by_hour.setdefault(f"{when:%Y/%m/%d/%H}", []).append(json.dumps(record))
    for hour, lines in by_hour.items():
        path = folder / "endpoint" / "AllTraffic" / hour / "00-00-000-x.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join(lines) + "\n")
    return folder


def write_answers(folder, answers=ANSWERS):
    pairs = [(item(uid(n), p, reason), label) for n, p, reason, label in answers]
    return write_folder(folder, files(pairs))
