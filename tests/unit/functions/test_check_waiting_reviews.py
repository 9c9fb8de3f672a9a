"""CheckWaitingReviews against moto's S3: the oldest waiting/ marker's age and the count, as the
metrics the ReviewWaitAlarm reads; a listing it cannot make is a named error."""

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from functions.check_waiting_reviews import app
from local.emulation import template
from tests.unit.functions.retry_budget import function_timeout, worst_case_seconds
from workflow_common.errors import ConfigurationError, S3Unavailable

BUCKET = os.environ["GROUND_TRUTH_BUCKET"]  # as tests/conftest.py gives it to the functions
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def ground_truth(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def printed_metrics(stdout: str) -> list[dict]:
    """The embedded-metric-format records Powertools printed."""
    return [record for line in stdout.splitlines() if "_aws" in (record := json.loads(line))]


def test_nothing_waiting_is_zero_hours_and_zero_items(ground_truth, lambda_context, capsys):
    ground_truth.put_object(Bucket=BUCKET, Key="reviews/some-id.json", Body=b"{}")  # answered

    result = app.lambda_handler({}, lambda_context)

    assert result == {"statusCode": 200, "body": {"waiting": 0, "oldest_key": None, "hours": 0.0}}
    [record] = printed_metrics(capsys.readouterr().out)
    assert (record["OldestReviewWaitHours"], record["ReviewsWaiting"]) == ([0.0], [0.0])
    [definition] = record["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "SconesUnlimited"
    assert sorted(definition["Dimensions"][0]) == ["service", "stack"]
    assert (record["service"], record["stack"]) == ("image-classification", "test-stack")


def test_only_waiting_markers_count(ground_truth, lambda_context):
    for key in ["waiting/id-1", "waiting/id-2", "reviews/id-0.json", "neither/2026/id-3.jsonl"]:
        ground_truth.put_object(Bucket=BUCKET, Key=key, Body=b"{}")

    body = app.lambda_handler({}, lambda_context)["body"]

    assert body["waiting"] == 2
    assert body["oldest_key"] in {"waiting/id-1", "waiting/id-2"}
    assert body["hours"] >= 0


def test_every_page_of_the_listing_counts(lambda_context):
    """Past 1,000 markers S3 answers in pages: the oldest may be on any of them."""
    first = [{"Key": f"waiting/{n}", "LastModified": NOW - timedelta(hours=1)} for n in range(3)]
    second = [{"Key": "waiting/old", "LastModified": NOW - timedelta(hours=90)}]
    with Stubber(app.s3) as s3:
        s3.add_response(
            "list_objects_v2",
            {"Contents": first, "IsTruncated": True, "NextContinuationToken": "page-2"},
            {"Bucket": BUCKET, "Prefix": "waiting/"},
        )
        s3.add_response(
            "list_objects_v2",
            {"Contents": second, "IsTruncated": False},
            {"Bucket": BUCKET, "Prefix": "waiting/", "ContinuationToken": "page-2"},
        )
        body = app.lambda_handler({}, lambda_context)["body"]

    assert (body["waiting"], body["oldest_key"]) == (4, "waiting/old")
    assert body["hours"] > 90


def test_the_oldest_marker_sets_the_hours_whatever_the_listing_order():
    markers = [
        {"Key": "waiting/b", "LastModified": NOW - timedelta(hours=3)},
        {"Key": "waiting/a", "LastModified": NOW - timedelta(hours=80, minutes=30)},
        {"Key": "waiting/c", "LastModified": NOW - timedelta(minutes=5)},
    ]

    count, oldest = app.oldest_marker(iter(markers))

    assert (count, oldest["Key"]) == (3, "waiting/a")
    assert app.waited_hours(oldest, NOW) == 80.5
    assert app.waited_hours(None, NOW) == 0.0


def test_a_marker_dated_after_now_waited_zero_hours():
    """Clocks differ by a little: never a negative wait."""
    assert app.waited_hours({"LastModified": NOW + timedelta(seconds=2)}, NOW) == 0.0


def test_a_missing_bucket_is_a_configuration_error(aws, lambda_context):
    with pytest.raises(ConfigurationError, match=f"s3://{BUCKET}/waiting/ cannot be listed"):
        app.lambda_handler({}, lambda_context)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("AccessDenied", 403, ConfigurationError),
        ("SlowDown", 503, S3Unavailable),
        ("InternalError", 500, S3Unavailable),
    ],
)
def test_a_refused_or_failed_listing_is_a_named_error(code, status, error, lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("list_objects_v2", code, "no", status)
        with pytest.raises(error, match=code):
            app.lambda_handler({}, lambda_context)


def test_another_error_surfaces_as_it_is(lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("list_objects_v2", "ExpiredToken", "expired", 400)
        with pytest.raises(app.ClientError, match="ExpiredToken"):
            app.lambda_handler({}, lambda_context)


def test_a_hung_listing_ends_as_s3_unavailable_well_before_the_function_timeout():
    config = app.s3.meta.config
    timeout = function_timeout(template.template(), "CheckWaitingReviewsFunction")

    assert worst_case_seconds(config) == 25
    assert timeout - worst_case_seconds(config) >= 30, "room for a second slow page"
