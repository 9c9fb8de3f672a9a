"""`python -m operations.arrivals`: EventBridge notifications on and off, nothing else touched.

moto keeps the bucket's topic, queue and function configurations but does not return
`EventBridgeConfiguration`; where a test needs S3 to return it, botocore's Stubber does."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from operations import arrivals
from operations.errors import (
    AccessDenied,
    BucketNotFound,
    InvalidDestination,
    NotificationsChanged,
)
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
    """S3 answers `others` with EventBridge on (twice: when the command starts, and just before
    it writes), and is then to be written `others` alone."""
    for _ in range(2):
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


@pytest.mark.parametrize("options", [[], ["--skip-destination-validation"]])
def test_main_reports_what_it_did(image_bucket, capsys, options):
    assert arrivals.main(["on", "--bucket", IMAGE_BUCKET, *options]) == 0

    assert capsys.readouterr().out == (
        f"EventBridge notifications of s3://{IMAGE_BUCKET}: turned on\n"
    )


def test_help_says_each_write_sends_a_test_message_to_existing_destinations(capsys):
    with pytest.raises(SystemExit) as exited:
        arrivals.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m operations.arrivals")
    assert " ".join(out.split()).endswith(
        "Each write (on or off, when something changes) makes S3 send a test message "
        "(s3:TestEvent) to each SNS topic and SQS queue the bucket already notifies."
    )


STALE_QUEUE = "arn:aws:sqs:us-east-1:123456789012:audit-deleted"
STALE_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:thumbnails"
WITH_A_STALE_QUEUE = LAMBDA_NOTIFICATION | {
    "QueueConfigurations": [
        {"Id": "audit", "QueueArn": STALE_QUEUE, "Events": ["s3:ObjectCreated:*"]}
    ]
}


def read_twice(stub: Stubber, first: dict, second: dict) -> None:
    """S3's answers to the read the command starts from and to the read just before its write."""
    for answer in (first, second):
        stub.add_response("get_bucket_notification_configuration", answer, {"Bucket": IMAGE_BUCKET})


def refuse_destinations(stub: Stubber, meta: dict) -> None:
    """S3's answer to a write naming destinations it could not validate (its XML error's
    ArgumentNameN / ArgumentValueN elements, as botocore parses them into the error)."""
    stub.add_client_error(
        "put_bucket_notification_configuration",
        service_error_code="InvalidArgument",
        service_message="Unable to validate the following destination configurations",
        http_status_code=400,
        service_error_meta=meta,
    )


@pytest.mark.parametrize("state", ["on", "off"])
def test_a_destination_s3_cannot_validate_is_named_with_the_way_on(state):
    s3 = boto3.client("s3")
    current = WITH_A_STALE_QUEUE | ({"EventBridgeConfiguration": {}} if state == "off" else {})
    with Stubber(s3) as stub, pytest.raises(InvalidDestination) as refused:
        read_twice(stub, current, current)
        refuse_destinations(
            stub,
            {
                "ArgumentName1": STALE_QUEUE,
                "ArgumentValue1": "The destination queue does not exist",
                "ArgumentName2": STALE_FUNCTION,
                "ArgumentValue2": f"Not authorized to invoke function [{STALE_FUNCTION}]",
            },
        )
        (arrivals.turn_on if state == "on" else arrivals.turn_off)(s3, IMAGE_BUCKET)
    assert str(refused.value) == (
        f"S3 could not validate destinations the notifications of '{IMAGE_BUCKET}' already "
        f"had, so it wrote nothing: {STALE_QUEUE} (The destination queue does not exist), "
        f"{STALE_FUNCTION} (Not authorized to invoke function [{STALE_FUNCTION}]). Repair or "
        "remove them, or run again with --skip-destination-validation (S3 then keeps them as "
        "they are)"
    )


def test_when_s3_names_no_destination_the_configurations_are_listed():
    s3 = boto3.client("s3")
    with Stubber(s3) as stub, pytest.raises(InvalidDestination) as refused:
        read_twice(stub, WITH_A_STALE_QUEUE, WITH_A_STALE_QUEUE)
        refuse_destinations(stub, {})
        arrivals.turn_on(s3, IMAGE_BUCKET)
    assert str(refused.value) == (
        f"S3 could not validate destinations the notifications of '{IMAGE_BUCKET}' already "
        f"had, so it wrote nothing: it did not say which; the bucket notifies {STALE_FUNCTION}, "
        f"{STALE_QUEUE}. "
        "Repair or remove them, or run again with --skip-destination-validation (S3 then keeps "
        "them as they are)"
    )


def test_skip_destination_validation_is_passed_to_s3_on_the_write():
    s3 = boto3.client("s3")
    with Stubber(s3) as stub:
        read_twice(stub, WITH_A_STALE_QUEUE, WITH_A_STALE_QUEUE)
        stub.add_response(
            "put_bucket_notification_configuration",
            {},
            {
                "Bucket": IMAGE_BUCKET,
                "NotificationConfiguration": WITH_A_STALE_QUEUE | {"EventBridgeConfiguration": {}},
                "SkipDestinationValidation": True,
            },
        )
        assert arrivals.turn_on(s3, IMAGE_BUCKET, skip_destination_validation=True) is True
        stub.assert_no_pending_responses()


def test_skip_destination_validation_is_an_explicit_option():
    assert (
        arrivals.parse_args(["on", "--bucket", IMAGE_BUCKET]).skip_destination_validation is False
    )
    explicit = arrivals.parse_args(
        ["off", "--bucket", IMAGE_BUCKET, "--skip-destination-validation"]
    )
    assert explicit.skip_destination_validation is True


def test_a_change_made_by_someone_else_meanwhile_stops_the_write_naming_it():
    s3 = boto3.client("s3")
    meanwhile = {
        "LambdaFunctionConfigurations": [],
        "QueueConfigurations": WITH_A_STALE_QUEUE["QueueConfigurations"],
    }
    with Stubber(s3) as stub, pytest.raises(NotificationsChanged) as changed:
        read_twice(stub, LAMBDA_NOTIFICATION, meanwhile)
        arrivals.turn_on(s3, IMAGE_BUCKET)  # and no write: the Stubber would refuse it
    stub.assert_no_pending_responses()
    assert str(changed.value) == (
        f"the notifications of '{IMAGE_BUCKET}' changed since this command read them "
        "(LambdaFunctionConfigurations 'thumbnails' removed; QueueConfigurations 'audit' added), "
        "so it wrote nothing: run it again to start from what they are now"
    )


def test_what_changed_is_each_destination_by_its_id():
    before = LAMBDA_NOTIFICATION | {"EventBridgeConfiguration": {}}
    after = {
        "LambdaFunctionConfigurations": [
            LAMBDA_NOTIFICATION["LambdaFunctionConfigurations"][0]
            | {"Events": ["s3:ObjectRemoved:*"]}
        ],
        "QueueConfigurations": WITH_A_STALE_QUEUE["QueueConfigurations"],
    }
    assert arrivals.changes(before, before) == []
    assert arrivals.changes(before, after) == [
        "EventBridgeConfiguration removed",
        "LambdaFunctionConfigurations 'thumbnails' changed",
        "QueueConfigurations 'audit' added",
    ]
