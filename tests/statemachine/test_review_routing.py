"""What reaches a person, executed in moto: audits of confident images (chosen from the inference
id, which a test fixes by choosing the uuid4 ClassifyImage draws), the waiting markers, and review
messages that could not be sent or tracked: counted, and never looking queued."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from functions.classify_image import app as classify_image
from local.emulation import template, workflow
from operations.reviewing import review_id
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from tests.statemachine.test_arrivals import UNSURE, Arrivals
from tests.statemachine.test_image_classification import entered_states

KEY = "test/bicycle_s_000513.png"
UPLOAD = review_id(IMAGE_BUCKET, KEY, None)  # the console's input has no etag
CONFIDENT = [0.97, 0.03]
# Inference ids whose SHA-256 places them at 0.230 and 2.054 % of its range
# (tests/unit/functions/test_filter_inferences.py): audited at the default 2 %, and not.
AUDITED = "15969802-b6dd-4257-bb7d-9f1c57eb89b1"
NOT_AUDITED = "3d0a5f0c-0c39-4ec7-9f31-74054d183eba"
SEND_ATTEMPTS = 3  # the first and the ASL's two retries
CONTRACT_OUTPUT = {  # FilterInferences' body, audited or not
    "s3_bucket": IMAGE_BUCKET,
    "s3_key": KEY,
    "inferences": CONFIDENT,
    "label": "bicycle",
    "confidence": 0.97,
}
NAMESPACE = template.globals_environment()["POWERTOOLS_METRICS_NAMESPACE"]
STACK = {"stack": workflow.LOCAL_STACK_NAME}  # the metrics' stack dimension in local runs
names = (f"review-{n}" for n in itertools.count())


class Review(Arrivals):
    """The state machine with its queue, ground-truth bucket and CloudWatch, started as the
    console starts it, for one image whose answer and inference id the test chooses."""

    def __init__(self, model, monkeypatch):
        super().__init__()
        self.model, self.monkeypatch = model, monkeypatch
        self.cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")

    def classify(self, answer: list[float], inference_id: str) -> dict:
        image = make_image((40, 50, 60))
        self.model.answers[image] = answer
        self.upload(KEY, image)
        self.monkeypatch.setattr(classify_image, "uuid4", lambda: uuid.UUID(inference_id))
        return workflow.run_execution(
            self.stepfunctions, self.arn, {"s3_key": KEY}, name=next(names)
        )

    def states(self, execution: dict) -> list[str]:
        history = self.stepfunctions.get_execution_history(executionArn=execution["executionArn"])
        return entered_states(history["events"])

    def failed_tasks(self, execution: dict) -> list[dict]:
        history = self.stepfunctions.get_execution_history(executionArn=execution["executionArn"])
        return [e["taskFailedEventDetails"] for e in history["events"] if e["type"] == "TaskFailed"]

    def metrics_written(self) -> set[tuple[str, str, frozenset]]:
        """(namespace, name, dimensions) of every metric the executions wrote (moto adds S3's)."""
        return {
            (m["Namespace"], m["MetricName"], dimension_set(m["Dimensions"]))
            for m in self.cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
        }

    def counted(self, metric: str, dimensions: dict[str, str]) -> float:
        """The sum CloudWatch holds for the metric with exactly these dimensions."""
        now = datetime.now(UTC)
        points = self.cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric,
            Dimensions=[{"Name": name, "Value": value} for name, value in dimensions.items()],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=1),
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(point["Sum"] for point in points)


def dimension_set(dimensions: list[dict]) -> frozenset:
    return frozenset((d["Name"], d["Value"]) for d in dimensions)


def watched_by(alarm: str) -> set[tuple[str, str, frozenset]]:
    """What an alarm of template.yaml reads, its stack dimension this local run's."""
    properties = template.properties(alarm)
    queries = [
        q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q
    ]
    stack = {"AWS::StackName": workflow.LOCAL_STACK_NAME}
    return {
        (m["Namespace"], m["MetricName"], dimension_set(template.resolve(m["Dimensions"], stack)))
        for m in queries or [properties]
    }


@pytest.fixture
def review(lambda_server, model, monkeypatch):
    """Audits at the template's default share (the tests' own default is none)."""
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", template.parameter_defaults()["AuditSamplePercent"])
    with mock_aws(config=workflow.EXECUTE_ASL):
        yield Review(model, monkeypatch)


def test_a_confident_image_whose_id_falls_in_the_share_is_audited_and_still_succeeds(review):
    execution = review.classify(CONFIDENT, AUDITED)

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output == CONTRACT_OUTPUT
    [item] = review.review_items()
    assert item == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": KEY,
        "etag": None,
        "inferences": CONFIDENT,
        "threshold": 0.9,
        "execution_id": execution["executionArn"],
        "inference_id": AUDITED,
        "review_id": UPLOAD,
        "reason": "audit",
    }
    assert review.waiting_markers() == {UPLOAD: item}
    assert review.states(execution)[2:] == [
        "FilterInferences",
        "IsAudit",
        "ReadExecutionInput",
        "WhyReview",
        "ComposeAudit",
        "MarkAsWaiting",
        "QueueForReview",
        "Queued",
        "Classified",
    ]


def test_a_confident_image_outside_the_share_goes_to_no_one(review):
    execution = review.classify(CONFIDENT, NOT_AUDITED)

    assert (execution["status"], json.loads(execution["output"])) == ("SUCCEEDED", CONTRACT_OUTPUT)
    assert review.review_items() == []
    assert review.waiting_markers() == {}
    assert review.states(execution)[2:] == ["FilterInferences", "IsAudit", "Classified"]


def test_an_unsure_image_is_never_an_audit(review):
    """Whatever its id: it is queued as below the threshold, and fails loudly."""
    execution = review.classify(UNSURE, AUDITED)

    assert (execution["status"], execution["error"]) == ("FAILED", "ConfidenceThresholdNotMet")
    [item] = review.review_items()
    assert (item["reason"], item["inference_id"], item["error"]) == (
        "below_threshold",
        AUDITED,
        "ConfidenceThresholdNotMet",
    )
    assert list(review.waiting_markers()) == [UPLOAD]


def test_an_unsure_image_whose_message_cannot_be_sent_fails_as_review_not_queued(review):
    review.sqs.delete_queue(QueueUrl=review.review_queue_url)

    execution = review.classify(UNSURE, NOT_AUDITED)

    assert (execution["status"], execution["error"]) == ("FAILED", "ReviewNotQueued")
    cause = execution["cause"]
    assert f"s3://{IMAGE_BUCKET}/{KEY} is below the confidence threshold 0.90 " in cause
    assert f"(inferences {json.dumps(UNSURE, separators=(',', ':'))})" in cause
    assert "review message could not be sent after 3 attempts (SQS." in cause
    sends = [task for task in review.failed_tasks(execution) if task["resourceType"] == "sqs"]
    assert len(sends) == SEND_ATTEMPTS
    assert all(send["error"].startswith("SQS.") for send in sends)  # the send's own error
    assert review.counted("ReviewsNotQueued", STACK | {"reason": "below_threshold"}) == 1
    assert review.metrics_written() < watched_by("ReviewNotQueuedAlarm")
    # Written before the send, the marker stays: it names an image nobody reviewed.
    [marker] = review.waiting_markers().values()
    assert (marker["inference_id"], marker["review_id"]) == (NOT_AUDITED, UPLOAD)
    assert review.states(execution)[-7:-3] == [
        "ComposeReview",
        "MarkAsWaiting",
        "QueueForReview",
        "CountReviewNotQueued",
    ]


def test_an_audit_that_cannot_be_sent_is_counted_and_the_image_still_succeeds(review):
    review.sqs.delete_queue(QueueUrl=review.review_queue_url)

    execution = review.classify(CONFIDENT, AUDITED)

    assert (execution["status"], json.loads(execution["output"])) == ("SUCCEEDED", CONTRACT_OUTPUT)
    assert review.counted("ReviewsNotQueued", STACK | {"reason": "audit"}) == 1
    assert review.counted("ReviewsNotQueued", STACK | {"reason": "below_threshold"}) == 0
    assert review.metrics_written() < watched_by("ReviewNotQueuedAlarm")
    assert review.states(execution)[-3:] == ["CountReviewNotQueued", "NotQueued", "Classified"]
    assert list(review.waiting_markers()) == [UPLOAD]  # names the audit that was lost


def test_a_marker_that_cannot_be_written_loses_no_review_and_is_counted(review):
    review.s3.delete_bucket(Bucket=workflow.GROUND_TRUTH_BUCKET)

    execution = review.classify(UNSURE, NOT_AUDITED)

    assert (execution["status"], execution["error"]) == ("FAILED", "ConfidenceThresholdNotMet")
    [item] = review.review_items()
    assert item["inference_id"] == NOT_AUDITED
    writes = [t for t in review.failed_tasks(execution) if t["resourceType"] == "aws-sdk:s3"]
    assert len(writes) == SEND_ATTEMPTS
    assert review.counted("WaitingMarkersNotWritten", STACK) == 1
    assert review.metrics_written() == watched_by("WaitingMarkerNotWrittenAlarm")
    assert review.states(execution)[-4:] == [
        "CountMarkerNotWritten",
        "QueueForReview",
        "Queued",
        "ConfidenceThresholdNotMet",
    ]
