"""CheckWaitingReviews: how long the oldest item of the review queue has waited, as a metric.

The state machine writes `waiting/<review id>` (named by the upload) to the ground-truth bucket
just before it queues an item, and the answer deletes it: the oldest marker's LastModified is
when the longest-waiting item was queued. SQS's own ApproximateAgeOfOldestMessage cannot tell
it: it leaves out messages received several times, and reviewers receive every item they look
at. A marker whose message expired unanswered stays, and keeps the ReviewWaitAlarm on: an
image was lost unreviewed.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from workflow_common.configuration import required_setting
from workflow_common.errors import ConfigurationError, S3Unavailable
from workflow_common.events import response

logger = Logger()
metrics = Metrics()
# A listing call that hangs ends as S3Unavailable (25 s at worst: three attempts of 2 + 4 s, their
# backoff, a last body that stalls), well within the function's 60 s, not as a Lambda timeout.
s3 = boto3.client(
    "s3",
    config=Config(
        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=4
    ),
)

WAITING_PREFIX = "waiting/"
SECONDS_PER_HOUR = 3600


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_dimension(name="stack", value=required_setting("STACK_NAME"))
    bucket = required_setting("GROUND_TRUTH_BUCKET")
    count, oldest = oldest_marker(list_markers(bucket))
    hours = waited_hours(oldest, datetime.now(UTC))
    metrics.add_metric(name="OldestReviewWaitHours", unit=MetricUnit.NoUnit, value=hours)
    metrics.add_metric(name="ReviewsWaiting", unit=MetricUnit.Count, value=count)
    body = {"waiting": count, "oldest_key": oldest["Key"] if oldest else None, "hours": hours}
    logger.info("Waiting review items", extra=body)
    return response(body)


def list_markers(bucket: str) -> Iterable[dict[str, Any]]:
    """Every `waiting/` object of the bucket (key and LastModified), page after page."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=WAITING_PREFIX)
    try:
        for page in pages:
            yield from page.get("Contents", [])
    except ClientError as error:
        raise _listing_error(error, bucket) from None
    except BotoCoreError as error:  # unreachable, or timed out
        where = f"s3://{bucket}/{WAITING_PREFIX}"
        raise S3Unavailable(f"{where} could not be listed: {error}") from None


def _listing_error(error: ClientError, bucket: str) -> Exception:
    """A deployment fault (no bucket, no permission) or S3's own trouble, by name."""
    code = error.response["Error"]["Code"]
    if code in {"NoSuchBucket", "AccessDenied"}:
        return ConfigurationError(f"s3://{bucket}/{WAITING_PREFIX} cannot be listed ({code})")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if status >= 500 or code in {"SlowDown", "Throttling"}:
        return S3Unavailable(
            f"S3 answered {code} ({status}) listing s3://{bucket}/{WAITING_PREFIX}"
        )
    return error


def oldest_marker(markers: Iterable[dict[str, Any]]) -> tuple[int, dict[str, Any] | None]:
    """How many markers there are, and the one written first (None when there is none)."""
    count, oldest = 0, None
    for marker in markers:
        count += 1
        if oldest is None or marker["LastModified"] < oldest["LastModified"]:
            oldest = marker
    return count, oldest


def waited_hours(oldest: dict[str, Any] | None, now: datetime) -> float:
    """Hours since the oldest marker was written; 0 when nothing waits."""
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest["LastModified"]).total_seconds() / SECONDS_PER_HOUR)
