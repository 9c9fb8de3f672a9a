"""A key whose child execution cannot start fails under the service's own error: in a Catch,
States.TaskFailed matches every task error, so the backfill reads a child's error only from a
cause that is a child's describe_execution output."""

import csv

import boto3
from moto import mock_aws

from local.emulation import workflow
from operations import backfill
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image

REGION = "us-east-1"


def test_a_child_that_cannot_start_fails_its_key_under_the_services_error(lambda_server, tmp_path):
    with mock_aws(config=workflow.EXECUTE_ASL):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=IMAGE_BUCKET)
        s3.put_object(Bucket=IMAGE_BUCKET, Key="old/photo.png", Body=make_image())
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        gone = f"arn:aws:states:{REGION}:{workflow.ACCOUNT_ID}:stateMachine:Deleted"
        arn = workflow.create_backfill_state_machine(stepfunctions, s3, REGION, gone)
        csv_path = tmp_path / "old.csv"
        arguments = ["--state-machine-arn", arn, "--poll-seconds", "0.01", "--csv", str(csv_path)]
        assert backfill.main(["--prefix", "old/", *arguments]) == 0  # moto: no tolerance
    with csv_path.open(newline="") as file:
        [row] = list(csv.DictReader(file))
    assert (row["key"], row["outcome"]) == ("old/photo.png", "failed")
    assert row["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert row["child_execution"] == ""
