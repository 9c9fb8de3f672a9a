"""Arrivals and review, end to end in moto: an upload under the template's UploadPrefix reaches
EventBridge (the template's own rule), the local bridge starts the real state machine, and a
low-confidence image lands in the review queue (the template's FIFO queue) once."""

import base64
import itertools
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local.emulation import workflow
from local.emulation.arrivals import ArrivalsBridge
from operations.reviewing import Reviewer, review_id
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image

# AWS's documented `Object Created` event (S3 user guide, "EventBridge event message
# structure"), its bucket ours and its key one with spaces, accents, + and %.
DOCUMENTED_EVENT = Path(__file__).resolve().parent / "eventbridge_s3_object_created.json"
REGION = "us-east-1"
UNSURE = [0.62, 0.38]
names = (f"console-{n}" for n in itertools.count())


class Arrivals:
    """moto's S3, EventBridge, SQS and Step Functions, the state machine and the bridge."""

    def __init__(self):
        services = ("s3", "events", "sqs", "stepfunctions")
        self.clients = {name: boto3.client(name, region_name=REGION) for name in services}
        self.s3, self.sqs = self.clients["s3"], self.clients["sqs"]
        self.stepfunctions = self.clients["stepfunctions"]
        self.s3.create_bucket(Bucket=IMAGE_BUCKET)
        self.arn = workflow.create_state_machine(self.stepfunctions, REGION)
        self.review_queue_url = workflow.create_review_queue(self.sqs)
        self.bridge = ArrivalsBridge(self.clients, self.arn, {"ImageBucketName": IMAGE_BUCKET})

    def upload(self, key: str, image: bytes) -> str:
        """Put the image; returns its etag as S3's events carry it (no quotes)."""
        return self.s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=image)["ETag"].strip('"')

    def finished(self, execution_arns: list[str]) -> list[dict]:
        return [workflow.wait_for(self.stepfunctions, arn) for arn in execution_arns]

    def executions(self) -> list[dict]:
        return self.stepfunctions.list_executions(stateMachineArn=self.arn)["executions"]

    def waiting_markers(self) -> dict[str, dict]:
        """Review id (the upload's) -> the review message its `waiting/` marker holds."""
        bucket = workflow.GROUND_TRUTH_BUCKET
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix="waiting/").get("Contents", [])
        return {
            item["Key"].removeprefix("waiting/"): json.loads(
                self.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            )
            for item in listed
        }

    def review_items(self) -> list[dict]:
        """Every message of the review queue (received, so a test reads each once)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.review_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


def inference_ids_of(image: bytes, records: list[dict]) -> list[str]:
    """The inference ids the endpoint captured for these image bytes, oldest first."""
    sent = base64.b64encode(image).decode()
    return [
        record["eventMetadata"]["inferenceId"]
        for record in records
        if record["captureData"]["endpointInput"]["data"] == sent
    ]


@pytest.fixture
def arrivals(lambda_server):
    with mock_aws(config=workflow.EXECUTE_ASL):
        yield Arrivals()


def test_a_matching_upload_starts_exactly_one_execution_with_the_template_input(arrivals, model):
    etag = arrivals.upload("incoming/bicycle_s_000513.png", make_image())

    execution = arrivals.finished(arrivals.bridge.deliver())

    assert [e["status"] for e in execution] == ["SUCCEEDED"]
    assert json.loads(execution[0]["input"]) == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": "incoming/bicycle_s_000513.png",
        "etag": etag,
    }
    assert len(arrivals.executions()) == 1


@pytest.mark.parametrize(
    "key",
    ["incoming/IMG_0001.JPG", "incoming/day 2/scan.Jpeg", "incoming/x.jPg", "incoming/y.PNG"],
)
def test_image_suffixes_match_in_any_letter_case(arrivals, model, key):
    arrivals.upload(key, make_image())

    assert [e["status"] for e in arrivals.finished(arrivals.bridge.deliver())] == ["SUCCEEDED"]


@pytest.mark.parametrize(
    "key",
    [
        "test/bicycle_s_000513.png",  # outside the upload prefix
        "Incoming/bicycle_s_000513.png",  # prefixes are case-sensitive, as S3 keys are
        "archive/incoming/bicycle.png",
        "incoming/notes.txt",
        "incoming/bicycle.png.bak",
        "incoming/bicycle.gif",
        "incoming/png",
    ],
)
def test_keys_with_a_wrong_prefix_or_suffix_start_nothing(arrivals, key):
    arrivals.upload(key, make_image())

    assert arrivals.bridge.deliver() == []
    assert arrivals.executions() == []


def test_a_low_confidence_upload_fails_loudly_and_queues_one_review_item(
    arrivals, model, captured_records
):
    image = make_image((12, 34, 56))
    model.answers[image] = UNSURE
    etag = arrivals.upload("incoming/motorcycle_s_001300.png", image)

    [execution] = arrivals.finished(arrivals.bridge.deliver())

    assert (execution["status"], execution["error"]) == ("FAILED", "ConfidenceThresholdNotMet")
    cause = json.loads(execution["cause"])
    assert cause["errorType"] == "ConfidenceThresholdNotMet"
    inference_id = inference_ids_of(image, captured_records())[-1]  # this run's, at the endpoint
    [item] = arrivals.review_items()
    assert item == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": "incoming/motorcycle_s_001300.png",
        "etag": etag,
        "inferences": UNSURE,
        "threshold": 0.9,
        "execution_id": execution["executionArn"],
        "inference_id": inference_id,
        "review_id": review_id(IMAGE_BUCKET, "incoming/motorcycle_s_001300.png", etag),
        "reason": "below_threshold",
        "error": "ConfidenceThresholdNotMet",
        "cause": execution["cause"],
    }
    assert arrivals.waiting_markers() == {item["review_id"]: item}


def test_a_confident_upload_queues_nothing(arrivals, model):
    arrivals.upload("incoming/bicycle_s_000513.png", make_image())

    assert [e["status"] for e in arrivals.finished(arrivals.bridge.deliver())] == ["SUCCEEDED"]
    assert arrivals.review_items() == []


def test_a_repeated_delivery_queues_one_item_whose_answer_leaves_no_marker(arrivals, model):
    """Two executions of one upload (two inference ids): one message and one marker, both named
    by the upload, so the one answer deletes the one marker the ReviewWaitAlarm would see."""
    image = make_image((12, 34, 56))
    model.answers[image] = UNSURE
    etag = arrivals.upload("incoming/motorcycle_s_001300.png", image)
    [event] = arrivals.bridge.pending_events()

    executions = arrivals.finished([arrivals.bridge.start(event), arrivals.bridge.start(event)])

    assert [e["error"] for e in executions] == ["ConfidenceThresholdNotMet"] * 2
    upload = review_id(IMAGE_BUCKET, "incoming/motorcycle_s_001300.png", etag)
    [marker] = arrivals.waiting_markers().values()  # the later execution's message
    assert marker["review_id"] == upload
    reviewer = Reviewer(
        arrivals.sqs,
        arrivals.s3,
        boto3.client("sts", region_name=REGION),
        arrivals.review_queue_url,
        IMAGE_BUCKET,
        workflow.GROUND_TRUTH_BUCKET,
        wait_seconds=0,
    )
    held = reviewer.take(30)
    assert held.content.review_id == upload  # whichever execution sent first
    assert held.content.execution_id in {e["executionArn"] for e in executions}
    assert reviewer.take(30) is None  # SQS kept one message

    reviewer.answer(held, "motorcycle", 3.0)

    assert arrivals.waiting_markers() == {}


def test_the_documented_event_with_spaces_and_accents_reads_its_key_literally(arrivals, model):
    """S3's EventBridge events carry the key as it is (the URL encoding AWS documents is the
    `Records` format's, for SQS, SNS and Lambda destinations): nothing decodes it."""
    event = json.loads(DOCUMENTED_EVENT.read_text())
    key = event["detail"]["object"]["key"]
    arrivals.upload(key, make_image())

    [execution] = arrivals.finished([arrivals.bridge.start(event)])

    assert execution["status"] == "SUCCEEDED"
    assert (
        json.loads(execution["output"])["s3_key"] == key == "incoming/delivery photo été 1+1%.JPG"
    )


def test_a_console_input_with_plus_and_percent_names_the_key_literally(arrivals, model):
    key = "test/a+b%20c.png"
    arrivals.upload(key, make_image())

    execution = workflow.run_execution(
        arrivals.stepfunctions, arrivals.arn, {"s3_key": key}, name=next(names)
    )

    assert (execution["status"], json.loads(execution["output"])["s3_key"]) == ("SUCCEEDED", key)


def test_a_console_input_without_etag_is_queued_with_a_null_etag(arrivals, model):
    image = make_image((12, 34, 56))
    model.answers[image] = UNSURE
    arrivals.upload("test/motorcycle_s_001300.png", image)

    workflow.run_execution(
        arrivals.stepfunctions,
        arrivals.arn,
        {"s3_key": "test/motorcycle_s_001300.png"},
        name=next(names),
    )

    [item] = arrivals.review_items()
    assert (item["s3_key"], item["etag"]) == ("test/motorcycle_s_001300.png", None)
    assert item["review_id"] == review_id(IMAGE_BUCKET, "test/motorcycle_s_001300.png", None)
    assert list(arrivals.waiting_markers()) == [item["review_id"]]
