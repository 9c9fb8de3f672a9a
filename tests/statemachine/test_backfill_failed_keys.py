"""Keys that fail rather than wait for review. A child that cannot start fails under the
service's own error: in a Catch, States.TaskFailed matches every task error, so the backfill
reads a child's error only from a cause that is a child's describe_execution output. An unsure
image whose review message could not be sent fails with ReviewNotQueued: only
ConfidenceThresholdNotMet says the child queued it (`needs_review`)."""

import csv

import boto3
import pytest
from moto import mock_aws

from local.emulation import workflow
from operations import backfill
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image

REGION = "us-east-1"
UNSURE = make_image((70, 80, 90))


@pytest.fixture
def aws_with_one_key(lambda_server):
    """moto with the image bucket holding old/photo.png, and clients for the test."""
    with mock_aws(config=workflow.EXECUTE_ASL):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=IMAGE_BUCKET)
        s3.put_object(Bucket=IMAGE_BUCKET, Key="old/photo.png", Body=UNSURE)
        yield s3, boto3.client("stepfunctions", region_name=REGION)


def backfilled_row(s3, stepfunctions, image_arn: str, tmp_path) -> dict[str, str]:
    """The CSV row of old/photo.png after a backfill of old/ by the operator command."""
    arn = workflow.create_backfill_state_machine(stepfunctions, s3, REGION, image_arn)
    csv_path = tmp_path / "old.csv"
    arguments = ["--state-machine-arn", arn, "--poll-seconds", "0.01", "--csv", str(csv_path)]
    assert backfill.main(["--prefix", "old/", *arguments]) == 0  # moto: no tolerance
    with csv_path.open(newline="") as file:
        [row] = list(csv.DictReader(file))
    assert row["key"] == "old/photo.png"
    return row


def test_a_child_that_cannot_start_fails_its_key_under_the_services_error(
    aws_with_one_key, tmp_path
):
    s3, stepfunctions = aws_with_one_key
    gone = f"arn:aws:states:{REGION}:{workflow.ACCOUNT_ID}:stateMachine:Deleted"

    row = backfilled_row(s3, stepfunctions, gone, tmp_path)

    assert (row["outcome"], row["error"]) == (
        "failed",
        "StepFunctions.StateMachineDoesNotExistException",
    )
    assert row["child_execution"] == ""


def test_a_child_that_could_not_queue_its_review_fails_its_key(aws_with_one_key, model, tmp_path):
    s3, stepfunctions = aws_with_one_key
    model.answers[UNSURE] = [0.6, 0.4]
    image_arn = workflow.create_state_machine(stepfunctions, REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.delete_queue(QueueUrl=workflow.create_review_queue(sqs))

    row = backfilled_row(s3, stepfunctions, image_arn, tmp_path)

    assert (row["outcome"], row["error"]) == ("failed", "ReviewNotQueued")
    assert row["child_execution"].startswith(image_arn.replace(":stateMachine:", ":execution:"))
