"""Ground-truth locations as the review core writes them: its own record and line writers."""

import json
from datetime import UTC, datetime
from pathlib import Path

from operations.reviewing import ReviewItem, line, review_record

ANSWERED = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def item(inference_id, inferences, reason="below_threshold", key=None):
    """A review item as the state machine sends it."""
    return ReviewItem(
        s3_bucket="scones-images",
        s3_key=key or f"incoming/{inference_id}.png",
        etag='"0123456789abcdef"',
        inferences=tuple(inferences),
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:m:{inference_id}",
        inference_id=inference_id,
        reason=reason,
        sent_at=ANSWERED.timestamp() - 60,
    )


def files(answers, answered_at=ANSWERED):
    """{key: bytes} of the ground-truth bucket after `answers`: (item, label) pairs."""
    written = {}
    for review_item, label in answers:
        record = review_record(review_item, "m-1", label, "arn:aws:iam::1:user/r", 4.5, answered_at)
        written[f"reviews/{review_item.inference_id}.json"] = json.dumps(record).encode()
        written[record["record_key"]] = line(record)
    return written


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
