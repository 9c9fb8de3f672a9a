"""Arrivals on the deployed stack: `operations.arrivals on`, then uploads. S3 sends its events to
EventBridge, the stack's rule matches and transforms them, and each image under UploadPrefix
starts one execution of the per-image state machine in LocalStack, whose three functions run
in their containers and reach the model endpoint stand-in."""

import json
import re
import time
import uuid
from collections import Counter

import pytest

from local.acceptance import IMAGE_BUCKET
from operations.reviewing import review_id, waiting_key
from tests.acceptance.conftest import (
    command,
    finished,
    inference_ids_of,
    poll,
    waiting_markers,
)

PREFIX = "incoming/"  # the template's UploadPrefix default
RUN = f"{uuid.uuid4().hex[:8]}/"  # this run's own keys: the module can run again on a kept stack


def arriving(name: str) -> str:
    return f"{PREFIX}{RUN}{name}"


SUFFIX_CASES = [".png", ".PNG", ".Png", ".jpg", ".JPG", ".Jpg", ".jpeg", ".JPEG", ".jPeG"]
AWKWARD_KEYS = [
    arriving(name)
    for name in ["a courier's bike.png", "vélo-ünïcode-自転車.png", "1+1=2.png", "100%.png"]
] + [arriving('the "fast" one.png')]
NOT_STARTING = {"not an image": arriving("notes.txt"), "another prefix": f"elsewhere/{RUN}bike.png"}
UNSURE_KEY = arriving("unsure.png")
QUIET_SECONDS = 10  # after the last expected execution, how long no other one may appear


def executions_by_key(stepfunctions, state_machine_arn: str) -> dict[str, list[dict]]:
    """Every execution of the state machine, with its input, by the key it was started for."""
    found: dict[str, list[dict]] = {}
    pages = stepfunctions.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn
    )
    for execution in (item for page in pages for item in page["executions"]):
        described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        given = json.loads(described["input"])
        found.setdefault(given.get("s3_key"), []).append(described | {"given": given})
    return found


@pytest.fixture(scope="module")
def arrivals(run, s3, stepfunctions, outputs, images):
    """Arrivals turned on with the real command, then every upload of this module made; the
    executions they started, by key, once all have ended and a quiet spell has passed. An
    expected execution that never starts is left for its own test to name."""
    turned_on = command(run, "operations.arrivals", "on", "--bucket", IMAGE_BUCKET)
    assert turned_on.returncode == 0, turned_on.stderr
    confident = iter(images.confident)
    uploads = {arriving(f"bicycle{suffix}"): next(confident).data for suffix in SUFFIX_CASES}
    uploads |= {key: next(confident).data for key in [*AWKWARD_KEYS, *NOT_STARTING.values()]}
    unsure_key = UNSURE_KEY
    etags = {}
    for key, data in uploads.items():
        etags[key] = s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=data)["ETag"].strip('"')
    for _ in range(2):  # the same bytes twice within 5 minutes: one review item
        etags[unsure_key] = s3.put_object(
            Bucket=IMAGE_BUCKET, Key=unsure_key, Body=images.unsure[0].data
        )["ETag"].strip('"')
    machine = outputs["StateMachineArn"]
    expected = {key for key in uploads if key not in NOT_STARTING.values()} | {unsure_key}

    def all_started() -> bool:
        found = executions_by_key(stepfunctions, machine)
        return expected <= found.keys() and len(found[unsure_key]) >= 2

    poll(all_started)
    for execution in (
        item for items in executions_by_key(stepfunctions, machine).values() for item in items
    ):
        finished(stepfunctions, execution["executionArn"])
    time.sleep(QUIET_SECONDS)  # an extra execution would have to start within this spell
    return {"etags": etags, "executions": executions_by_key(stepfunctions, machine)}


def test_arrivals_command_turns_on_eventbridge(s3, arrivals):
    configuration = s3.get_bucket_notification_configuration(Bucket=IMAGE_BUCKET)
    assert "EventBridgeConfiguration" in configuration


@pytest.mark.parametrize("suffix", SUFFIX_CASES)
def test_each_suffix_in_each_case_starts_exactly_one_execution(arrivals, suffix):
    assert len(arrivals["executions"].get(arriving(f"bicycle{suffix}"), [])) == 1


@pytest.mark.parametrize("key", NOT_STARTING.values(), ids=NOT_STARTING.keys())
def test_a_non_image_key_or_another_prefix_starts_none(arrivals, key):
    assert key not in arrivals["executions"]


@pytest.mark.parametrize("key", AWKWARD_KEYS, ids=lambda key: key.removeprefix(arriving("")))
def test_the_exact_key_and_its_etag_reach_the_execution(arrivals, key):
    (execution,) = arrivals["executions"].get(key, [{"given": "no execution"}])
    assert execution["given"] == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": key,
        "etag": arrivals["etags"][key],
    }


def test_confident_uploads_succeed_with_the_contracts_output(arrivals):
    for key in [arriving(f"bicycle{suffix}") for suffix in SUFFIX_CASES] + AWKWARD_KEYS:
        (execution,) = arrivals["executions"].get(key, [{"status": "never started"}])
        assert execution["status"] == "SUCCEEDED", (key, execution.get("cause"))
        output = json.loads(execution["output"])
        assert set(output) == {"s3_bucket", "s3_key", "inferences", "label", "confidence"}
        assert (output["s3_bucket"], output["s3_key"]) == (IMAGE_BUCKET, key)
        assert output["confidence"] == max(output["inferences"]) >= 0.90
        assert abs(sum(output["inferences"]) - 1) < 0.01
        assert output["label"] in {"bicycle", "motorcycle"}


def test_an_unsure_upload_fails_and_waits_for_review_once(run, arrivals, sqs, s3, outputs, images):
    """Two executions, one message (FIFO deduplication): the first's, named by the inference
    id the endpoint captured. One waiting marker, named by the upload (its review id, the
    message's deduplication id), which both executions wrote: the answer deletes it."""
    executions = arrivals["executions"].get(UNSURE_KEY, [])
    assert Counter((e["status"], e.get("error")) for e in executions) == {
        ("FAILED", "ConfidenceThresholdNotMet"): 2
    }
    attributes = sqs.get_queue_attributes(
        QueueUrl=outputs["ReviewQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    [received] = sqs.receive_message(QueueUrl=outputs["ReviewQueueUrl"], VisibilityTimeout=0)[
        "Messages"
    ]
    message = json.loads(received["Body"])
    assert (message["s3_key"], message["etag"]) == (UNSURE_KEY, arrivals["etags"][UNSURE_KEY])
    assert (message["reason"], message["error"]) == ("below_threshold", "ConfidenceThresholdNotMet")
    captured = inference_ids_of(run, images.unsure[0].data)[-2:]  # the two uploads' inferences
    assert message["inference_id"] in captured
    upload = review_id(message["s3_bucket"], UNSURE_KEY, arrivals["etags"][UNSURE_KEY])
    assert message["review_id"] == upload
    markers = waiting_markers(s3, outputs["GroundTruthBucketName"])
    assert not set(captured) & set(markers)  # no marker is named by an inference
    marker = markers[upload]  # the message of whichever execution wrote it last
    assert marker["inference_id"] in captured
    same = ("s3_bucket", "s3_key", "etag", "review_id", "reason")
    assert {name: marker[name] for name in same} == {name: message[name] for name in same}


def test_review_commands_list_take_and_label_the_unsure_image(run, arrivals, outputs, s3, tmp_path):
    bucket = outputs["GroundTruthBucketName"]
    queue = [
        *("--queue-url", outputs["ReviewQueueUrl"], "--image-bucket", outputs["ImageBucketName"]),
        *("--ground-truth-bucket", bucket, "--held-file", str(tmp_path / "held.json")),
    ]
    listed = command(run, "operations.review", *queue, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("1 waiting for review")
    assert UNSURE_KEY in listed.stdout
    taken = command(run, "operations.review", *queue, "take")
    assert taken.returncode == 0, taken.stderr
    labelled = command(run, "operations.review", *queue, "done", "motorcycle")
    assert labelled.returncode == 0, labelled.stderr
    where = re.escape(f"s3://{bucket}/")
    record_key, line_key = re.search(
        rf"recorded in {where}(\S+) and {where}(\S+)$", labelled.stdout.strip()
    ).groups()
    record = json.loads(s3.get_object(Bucket=bucket, Key=record_key)["Body"].read())
    assert (record["s3_key"], record["label"], record["reason"]) == (
        UNSURE_KEY,
        "motorcycle",
        "below_threshold",
    )
    assert record["etag"] == arrivals["etags"][UNSURE_KEY]
    assert record_key == f"reviews/{record['inference_id']}.json"
    assert line_key == record["record_key"]
    assert (
        s3.get_object(Bucket=bucket, Key=line_key)["Body"].read()
        == (
            json.dumps(
                {
                    "groundTruthData": {"data": "motorcycle", "encoding": "CSV"},
                    "eventMetadata": {"eventId": record["inference_id"]},
                    "eventVersion": "0",
                }
            )
            + "\n"
        ).encode()
    )
    upload = review_id(record["s3_bucket"], record["s3_key"], record["etag"])
    assert upload not in waiting_markers(s3, bucket)  # the answer deleted the upload's one marker
    empty = command(run, "operations.review", *queue, "list")
    assert empty.stdout.startswith("0 waiting for review")


def test_the_hourly_check_counts_what_waits(run, account, s3, outputs, arrivals):
    """The fourth function, invoked as its schedule would: the markers in the bucket, one of them
    this test's own (the answer above deleted the unsure upload's)."""
    bucket = outputs["GroundTruthBucketName"]
    own = waiting_key(review_id(IMAGE_BUCKET, arriving("never-uploaded.png"), None))
    s3.put_object(Bucket=bucket, Key=own, Body=b"{}")
    resources = account.client("cloudformation").list_stack_resources(StackName=run.stack)
    [check] = [
        resource["PhysicalResourceId"]
        for resource in resources["StackResourceSummaries"]
        if resource["LogicalResourceId"] == "CheckWaitingReviewsFunction"
    ]
    try:
        answer = account.client("lambda").invoke(FunctionName=check, Payload=b"{}")
        assert "FunctionError" not in answer, answer["Payload"].read()
        body = json.loads(answer["Payload"].read())["body"]
        markers = waiting_markers(s3, bucket)
    finally:
        s3.delete_object(Bucket=bucket, Key=own)
    assert body["waiting"] == len(markers) >= 1
    assert body["oldest_key"].removeprefix("waiting/") in markers
    assert 0 <= body["hours"] < 1
