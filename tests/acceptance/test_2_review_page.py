"""The review page on the deployed stack: `python -m operations.review serve`, as a reviewer runs
it, answers an unsure image over HTTP (its Host, its token, its undo window), and the answer is
the ground truth Model Monitor reads, linked to the inference the endpoint captured."""

import json
import re
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from local.acceptance import IMAGE_BUCKET, ROOT
from operations.review_page import TOKEN_HEADER
from operations.reviewing import review_id
from tests.acceptance.conftest import (
    capture_records,
    finished,
    inference_ids_of,
    wait_for,
    waiting_markers,
)

PAGE_KEY = f"page/{uuid.uuid4().hex[:8]}/unsure.png"  # outside UploadPrefix: no arrival starts
ANSWER_SECONDS = 60  # the page's 10 s undo window, then its next tick


@pytest.fixture(scope="module")
def queued(s3, stepfunctions, outputs, images) -> dict:
    """An unsure image, classified by a console-style execution: its review message waits."""
    etag = s3.put_object(Bucket=IMAGE_BUCKET, Key=PAGE_KEY, Body=images.unsure[1].data)["ETag"]
    given = {"s3_bucket": IMAGE_BUCKET, "s3_key": PAGE_KEY, "etag": etag.strip('"')}
    started = stepfunctions.start_execution(
        stateMachineArn=outputs["StateMachineArn"],
        name=f"page-{uuid.uuid4()}",
        input=json.dumps(given),
    )
    execution = finished(stepfunctions, started["executionArn"])
    assert (execution["status"], execution.get("error")) == ("FAILED", "ConfidenceThresholdNotMet")
    return given


@pytest.fixture(scope="module")
def page(run, outputs):
    """The page as `serve` runs it, on a free port; stopped with Ctrl-C (SIGINT) at the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "operations.review", "serve", "--port", "0"],
        cwd=ROOT,
        env=run.environment()
        | {
            "REVIEW_QUEUE_URL": outputs["ReviewQueueUrl"],
            "IMAGE_BUCKET_NAME": outputs["ImageBucketName"],
            "GROUND_TRUTH_BUCKET": outputs["GroundTruthBucketName"],
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = server.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+", first)
    assert url, f"serve printed {first!r} ({server.stderr.read() if server.poll() else ''})"
    yield {"url": url.group(), "server": server}
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def post(page: dict, token: str, path: str, body: dict | None = None) -> dict:
    answer = requests.post(
        page["url"] + path, json=body or {}, headers={TOKEN_HEADER: token}, timeout=30
    )
    answer.raise_for_status()
    return answer.json() if answer.content else {}


def test_the_page_answers_an_unsure_image_and_writes_its_ground_truth(
    run, queued, page, s3, outputs, images
):
    html = requests.get(page["url"] + "/", timeout=30).text
    token = re.search(r'<meta name="review-token" content="([^"]+)">', html).group(1)
    shown = post(page, token, "/sessions")
    assert PAGE_KEY in shown["item"] and "below its confidence" in shown["item"]

    post(
        page,
        token,
        f"/sessions/{shown['session']}/answer",
        {
            "message_id": shown["message_id"],
            "label": "bicycle",
        },
    )

    bucket = outputs["GroundTruthBucketName"]

    def record() -> dict | None:
        """The review record of this image, once the page has carried the answer out."""
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="reviews/").get("Contents", [])
        for item in listed:
            found = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            if found["s3_key"] == PAGE_KEY:
                return found
        return None

    answered = wait_for(record, ANSWER_SECONDS)
    assert (answered["label"], answered["reason"], answered["etag"]) == (
        "bicycle",
        "below_threshold",
        queued["etag"],
    )
    assert answered["inference_id"] in inference_ids_of(run, images.unsure[1].data)
    line = s3.get_object(Bucket=bucket, Key=answered["record_key"])["Body"].read()
    assert json.loads(line) == {
        "groundTruthData": {"data": "bicycle", "encoding": "CSV"},
        "eventMetadata": {"eventId": answered["inference_id"]},
        "eventVersion": "0",
    }
    assert review_id(IMAGE_BUCKET, PAGE_KEY, queued["etag"]) not in waiting_markers(s3, bucket)
    post(page, token, f"/sessions/{shown['session']}/close")


def test_serve_stops_on_ctrl_c_and_says_what_became_of_its_items(page):
    server = page["server"]
    server.send_signal(signal.SIGINT)
    out, _ = server.communicate(timeout=30)
    assert server.returncode == 0
    assert "every item the page still held is back in the queue" in out


def test_every_ground_truth_line_is_model_monitors_and_names_one_captured_inference(
    run, s3, outputs
):
    """All the answers of the scenario so far (the review command's and the page's)."""
    captured = [record["eventMetadata"].get("inferenceId") for record in capture_records(run)]
    bucket = outputs["GroundTruthBucketName"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="ground-truth/").get("Contents", [])
    assert len(listed) >= 2
    for item in listed:
        assert re.fullmatch(
            r"ground-truth/\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f-]{36}\.jsonl", item["Key"]
        )
        [line] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines()
        parsed = json.loads(line)
        assert set(parsed) == {"groundTruthData", "eventMetadata", "eventVersion"}
        assert parsed["groundTruthData"]["data"] in {"bicycle", "motorcycle"}
        assert parsed["groundTruthData"]["encoding"] == "CSV"
        assert parsed["eventVersion"] == "0"
        assert captured.count(parsed["eventMetadata"]["eventId"]) == 1
