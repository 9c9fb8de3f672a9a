"""`python -m operations.arrivals`: EventBridge notifications on and off, nothing else touched.

moto keeps the bucket's topic, queue and function configurations but does not return
`EventBridgeConfiguration`; where a test needs S3 to return it, botocore's Stubber does."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from operations import arrivals
from operations.errors import AccessDenied, BucketNotFound
from tests.conftest import IMAGE_BUCKET

LAMBDA_NOTIFICATION = {
    "LambdaFunctionConfigurations": [
        {
            "Id": "thumbnails",
            "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:thumbnails",
            "Events": ["s3:ObjectCreated:*"],
        }
    ]
}


@pytest.fixture
def bucket_with_a_queue_notification(image_bucket):
    """The image bucket already notifying a queue of someone else's, as existing buckets do."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    configuration = {
        "QueueConfigurations": [
            {
                "Id": "audit",
                "QueueArn": queue_arn["Attributes"]["QueueArn"],
                "Events": ["s3:ObjectCreated:*"],
            }
        ]
    }
    image_bucket.put_bucket_notification_configuration(
        Bucket=IMAGE_BUCKET, NotificationConfiguration=configuration
    )
    return image_bucket, configuration


def rule_queue(pattern: dict) -> tuple:
    """An EventBridge rule in moto delivering to a new queue; returns (sqs, queue url)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="matched")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="uploads", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="uploads", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    return sqs, url


def test_on_sends_uploads_to_eventbridge_and_keeps_existing_notifications(
    bucket_with_a_queue_notification,
):
    s3, existing = bucket_with_a_queue_notification
    sqs, matched = rule_queue({"source": ["aws.s3"], "detail-type": ["Object Created"]})

    assert arrivals.turn_on(s3, IMAGE_BUCKET) is True
    s3.put_object(Bucket=IMAGE_BUCKET, Key="incoming/a.png", Body=b"x")

    received = sqs.receive_message(QueueUrl=matched).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in received] == [
        "incoming/a.png"
    ]
    kept = s3.get_bucket_notification_configuration(Bucket=IMAGE_BUCKET)
    assert kept["QueueConfigurations"] == existing["QueueConfigurations"]


def test_on_when_already_on_writes_nothing():
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_response(
            "get_bucket_notification_configuration",
            LAMBDA_NOTIFICATION | {"EventBridgeConfiguration": {}},
            {"Bucket": IMAGE_BUCKET},
        )
        assert arrivals.turn_on(s3, IMAGE_BUCKET) is False
        stub.assert_no_pending_responses()  # and no put: the Stubber would refuse it


def expect_eventbridge_removed(stub: Stubber, others: dict) -> None:
    """S3 answers `others` with EventBridge on, and is then to be written `others` alone."""
    stub.add_response(
        "get_bucket_notification_configuration",
        others | {"EventBridgeConfiguration": {}},
        {"Bucket": IMAGE_BUCKET},
    )
    stub.add_response(
        "put_bucket_notification_configuration",
        {},
        {"Bucket": IMAGE_BUCKET, "NotificationConfiguration": others},
    )


def test_off_removes_only_eventbridge():
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        expect_eventbridge_removed(stub, LAMBDA_NOTIFICATION)
        assert arrivals.turn_off(s3, IMAGE_BUCKET) is True
        stub.assert_no_pending_responses()


def test_off_when_already_off_writes_nothing(bucket_with_a_queue_notification):
    s3, _ = bucket_with_a_queue_notification

    assert arrivals.turn_off(s3, IMAGE_BUCKET) is False


def test_on_then_off_in_moto_leaves_the_configuration_as_it_was(bucket_with_a_queue_notification):
    s3, existing = bucket_with_a_queue_notification
    arrivals.turn_on(s3, IMAGE_BUCKET)

    with Stubber(s3) as stub:  # moto never returns EventBridgeConfiguration: S3 would
        expect_eventbridge_removed(stub, existing)
        assert arrivals.turn_off(s3, IMAGE_BUCKET) is True


def test_a_missing_bucket_is_a_named_one_line_error(aws, capsys):
    assert arrivals.main(["on", "--bucket", "no-such-bucket"]) == 1

    err = capsys.readouterr().err
    assert err == "error: BucketNotFound: no bucket named 'no-such-bucket'\n"
    with pytest.raises(BucketNotFound):
        arrivals.turn_on(boto3.client("s3"), "no-such-bucket")


def test_access_denied_is_named():
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error(
            "get_bucket_notification_configuration", "AccessDenied", http_status_code=403
        )
        with pytest.raises(AccessDenied, match="may not read the notifications"):
            arrivals.turn_on(s3, IMAGE_BUCKET)


def test_main_reports_what_it_did(image_bucket, capsys):
    assert arrivals.main(["on", "--bucket", IMAGE_BUCKET]) == 0

    assert capsys.readouterr().out == (
        f"EventBridge notifications of s3://{IMAGE_BUCKET}: turned on\n"
    )


def test_help(capsys):
    with pytest.raises(SystemExit) as exited:
        arrivals.main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m operations.arrivals")
