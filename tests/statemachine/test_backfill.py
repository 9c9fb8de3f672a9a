"""The backfill ASL executed by moto over a prefix of 36 keys, each image a real child execution
of the image classification state machine against the real handlers, through the operator's
own command (`python -m operations.backfill`): counts, ResultWriter files, the CSV, the review
queue. moto's gaps (startExecution.sync:2, ResultWriter) are bridged by
local.emulation.distributed_map."""

import csv
import itertools
import json
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from local.emulation import workflow
from operations import backfill
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image

REGION = "us-east-1"
BICYCLES, MOTORCYCLES, UNSURE = 16, 8, 6
NOT_IMAGES = ["notes.txt", "labels.json", "README", "photo.png.bak"]  # skipped by name
BROKEN = ["truncated.png", "empty.JPG"]  # image names, no image bytes: NotAnImage
names = (f"invalid-{n}" for n in itertools.count())


def images() -> dict[str, tuple[bytes, list[float]]]:
    """Key -> (bytes, the model's answer): distinct colours give distinct bytes."""
    answers = [[0.95, 0.05]] * BICYCLES + [[0.04, 0.96]] * MOTORCYCLES + [[0.6, 0.4]] * UNSURE
    made = {}
    for n, answer in enumerate(answers):
        suffix, image_format = [(".png", "PNG"), (".JPG", "JPEG"), (".jpeg", "JPEG")][n % 3]
        made[f"test/image-{n:02d}{suffix}"] = (make_image((n, 100, 200), image_format), answer)
    return made


class Backfill:
    """moto holding the keys, both state machines, and the operator command's arguments."""

    def __init__(self, model):
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=IMAGE_BUCKET)
        self.stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        self.image_arn = workflow.create_state_machine(self.stepfunctions, REGION)
        self.arn = workflow.create_backfill_state_machine(
            self.stepfunctions, self.s3, REGION, self.image_arn
        )
        for key, (image, answer) in images().items():
            self.s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=image)
            model.answers[image] = answer
        for name in NOT_IMAGES + BROKEN:
            self.s3.put_object(Bucket=IMAGE_BUCKET, Key=f"test/{name}", Body=b"not an image")
        self.s3.put_object(Bucket=IMAGE_BUCKET, Key="train/outside.png", Body=make_image())

    def command(self, *argv: str) -> int:
        arguments = ["--state-machine-arn", self.arn, "--poll-seconds", "0.01", *argv]
        return backfill.main(arguments)

    def executions(self, arn: str) -> list[dict]:
        return self.stepfunctions.list_executions(stateMachineArn=arn)["executions"]


@pytest.fixture(scope="module")
def finished(lambda_server, pytestconfig, tmp_path_factory):
    """One backfill of test/ through the operator command, shared by the tests below."""
    csv_path = tmp_path_factory.mktemp("backfill") / "test.csv"
    with mock_aws(config=workflow.EXECUTE_ASL):
        flow = Backfill(pytestconfig.scripted_model)
        status = flow.command("--prefix", "test/", "--bucket", IMAGE_BUCKET, "--csv", str(csv_path))
        yield flow, status, csv_path
    pytestconfig.scripted_model.answers.clear()


def result_files(flow: Backfill) -> dict[str, object]:
    bucket = workflow.BACKFILL_RESULTS_BUCKET
    listed = flow.s3.list_objects_v2(Bucket=bucket)["Contents"]
    return {
        item["Key"].rsplit("/", 1)[-1]: json.loads(
            flow.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        )
        for item in listed
    }


def test_the_command_succeeds(finished):
    _, status, _ = finished
    assert status == 0


def test_each_key_under_the_prefix_gets_its_outcome_in_the_csv(finished):
    _, _, csv_path = finished
    with csv_path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["key", "outcome", "label", "confidence", "error", "child_execution"]
    assert len(rows) == len(images()) + len(NOT_IMAGES) + len(BROKEN) == 36
    assert Counter(row["outcome"] for row in rows) == {
        "bicycle": BICYCLES,
        "motorcycle": MOTORCYCLES,
        "needs_review": UNSURE,
        "skipped": len(NOT_IMAGES),
        "failed": len(BROKEN),
    }
    by_key = {row["key"]: row for row in rows}
    assert by_key["test/image-00.png"]["confidence"] == "0.95"
    assert by_key["test/image-19.JPG"]["label"] == "motorcycle"
    assert by_key["test/truncated.png"]["error"] == "NotAnImage"
    assert by_key["test/notes.txt"]["child_execution"] == ""
    assert by_key["test/image-25.JPG"]["error"] == "ConfidenceThresholdNotMet"
    assert "train/outside.png" not in by_key


def test_each_image_ran_once_as_a_child_execution_named_in_the_csv(finished):
    flow, _, csv_path = finished
    with csv_path.open(newline="") as file:
        named = {row["child_execution"] for row in csv.DictReader(file) if row["child_execution"]}
    children = flow.executions(flow.image_arn)
    assert len(children) == len(images()) + len(BROKEN) == len(named)
    assert {child["executionArn"] for child in children} == named
    statuses = Counter(child["status"] for child in children)
    assert statuses == {"SUCCEEDED": BICYCLES + MOTORCYCLES, "FAILED": UNSURE + len(BROKEN)}


def test_results_are_written_in_resultwriters_layout(finished):
    flow, _, _ = finished
    files = result_files(flow)
    assert set(files) == {"manifest.json", "SUCCEEDED_0.json", "FAILED_0.json"}
    manifest = files["manifest.json"]
    assert manifest["DestinationBucket"] == workflow.BACKFILL_RESULTS_BUCKET
    [failed_file] = manifest["ResultFiles"]["FAILED"]
    assert failed_file["Key"].endswith(manifest["MapRunArn"].split(":")[-1] + "/FAILED_0.json")
    assert len(files["SUCCEEDED_0.json"]) == 34
    failed = files["FAILED_0.json"]
    assert {entry["Error"] for entry in failed} == {"NotAnImage"}
    cause = json.loads(failed[0]["Cause"])  # the child's describe_execution, as on AWS
    assert (cause["Status"], cause["Error"]) == ("FAILED", "NotAnImage")


@pytest.mark.usefixtures("finished")
def test_low_confidence_images_are_queued_for_review_by_their_child():
    sqs = boto3.client("sqs", region_name=REGION)
    url = workflow.create_review_queue(sqs)
    waiting = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(waiting["Attributes"]["ApproximateNumberOfMessages"]) == UNSURE


@pytest.mark.parametrize(
    "request_input",
    [
        {},
        {"prefix": ""},
        {"prefix": "test"},
        {"prefix": ["test/"]},
        {"prefix": "test/", "s3_bucket": "someone-elses-bucket"},
        {"prefix": "test/", "s3_bucket": 7},
    ],
)
def test_an_invalid_request_fails_with_invalid_event_before_listing(
    finished, request_input, capsys
):
    flow, _, _ = finished
    execution = workflow.run_execution(
        flow.stepfunctions, flow.arn, request_input, name=next(names)
    )
    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidEvent")
    assert "ending in /" in execution["cause"]
    history = flow.stepfunctions.get_execution_history(executionArn=execution["executionArn"])
    assert not any(event["type"].startswith("Map") for event in history["events"])


def test_the_command_exits_1_with_the_error_when_the_batch_fails(finished, capsys):
    flow, _, _ = finished
    assert flow.command("--prefix", "test") == 1
    assert "BackfillFailed: InvalidEvent" in capsys.readouterr().err
