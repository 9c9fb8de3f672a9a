"""The real ASL, executed by moto's Step Functions interpreter against the real handlers.

Lambda tasks reach the handlers through the loopback Invoke server; ClassifyImage reaches the
loopback SageMaker endpoint. Nothing of ours is mocked: a test scripts only the model's answer.
"""

import io
import itertools
import json
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from functions.serialize_image_data import app as serialize_image_data
from local.emulation import workflow
from local.emulation.lambda_server import LambdaInvokeServer
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from workflow_common.images import MAX_BASE64_CHARS, PNG_SIGNATURE

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGION = "us-east-1"
KEY = "test/bicycle_s_000513.png"
names = (f"execution-{n}" for n in itertools.count())


class Workflow:
    """The state machine in moto, its image bucket, and the Lambda server behind it."""

    def __init__(self, lambda_server: LambdaInvokeServer):
        self.lambda_server = lambda_server
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=IMAGE_BUCKET)
        self.stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        self.arn = workflow.create_state_machine(self.stepfunctions, REGION)

    def put_image(self, key: str, image: bytes) -> None:
        self.s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=image)

    def run(self, event: dict) -> dict:
        return workflow.run_execution(self.stepfunctions, self.arn, event, name=next(names))

    def history(self, execution: dict) -> list[dict]:
        events = self.stepfunctions.get_execution_history(executionArn=execution["executionArn"])
        return events["events"]


@pytest.fixture
def flow(lambda_server):
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield Workflow(lambda_server)
    lambda_server.invocations.clear()


def entered_states(history: list[dict]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if event["type"].endswith("StateEntered")
    ]


def test_confident_image_succeeds_with_filter_body_as_output(flow, model):
    image = make_image((250, 250, 250))
    model.answers[image] = [0.03, 0.97]
    flow.put_image(KEY, image)

    execution = flow.run({"s3_bucket": IMAGE_BUCKET, "s3_key": KEY})

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": KEY,
        "inferences": [0.03, 0.97],
        "label": "motorcycle",
        "confidence": 0.97,
    }
    history = flow.history(execution)
    assert entered_states(history) == [
        "SerializeImageData",
        "ClassifyImage",
        "FilterInferences",
        "IsAudit",  # the tests' AUDIT_SAMPLE_PERCENT is 0
        "Classified",
    ]
    filter_input = [
        event["stateEnteredEventDetails"]["input"]
        for event in history
        if event["type"] == "TaskStateEntered"
        and event["stateEnteredEventDetails"]["name"] == "FilterInferences"
    ]
    assert "image_data" not in json.loads(filter_input[0]), "the image goes no further than needed"


def test_each_task_gets_the_execution_id_as_correlation_id(flow, model, json_logs):
    flow.put_image(KEY, make_image())

    execution = flow.run({"s3_key": KEY})

    logs = json_logs()
    assert {log["correlation_id"] for log in logs} == {execution["executionArn"]}
    assert {log["function_name"] for log in logs} == set(workflow.FUNCTIONS)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ([0.62, 0.38], "ConfidenceThresholdNotMet"),
        ([0.5, 0.2], "InvalidInference"),
        (RuntimeError("out of memory"), "EndpointError"),
    ],
    ids=["unsure", "bad-answer", "model-error"],
)
def test_endpoint_answers_that_fail_the_execution_by_name(answer, error, flow, model):
    image = make_image((12, 34, 56))
    model.answers[image] = answer
    flow.put_image(KEY, image)

    execution = flow.run({"s3_key": KEY})

    assert (execution["status"], execution["error"]) == ("FAILED", error)
    assert json.loads(execution["cause"])["errorType"] == error


@pytest.mark.parametrize(
    ("stored", "event", "error", "message"),
    [
        (None, {"s3_key": "test/nothing.png"}, "ImageNotFound", "does not exist"),
        (b"not an image", {"s3_key": KEY}, "NotAnImage", "neither a PNG nor a JPEG"),
        (
            PNG_SIGNATURE.ljust(MAX_BASE64_CHARS, b"\0"),
            {"s3_key": KEY},
            "ImageTooLarge",
            "would exceed",
        ),
        (None, {"s3_bucket": "elsewhere", "s3_key": KEY}, "InvalidEvent", "image bucket"),
    ],
    ids=["missing", "not-an-image", "too-large", "other-bucket"],
)
def test_bad_images_fail_the_execution_by_name(stored, event, error, message, flow):
    if stored is not None:
        flow.put_image(KEY, stored)

    execution = flow.run(event)

    assert (execution["status"], execution["error"]) == ("FAILED", error)
    assert message in json.loads(execution["cause"])["errorMessage"]
    assert entered_states(flow.history(execution)) == [
        "SerializeImageData",
        "SerializeImageDataFailed",
    ]


def test_throttled_task_is_retried_then_succeeds(flow):
    flow.put_image(KEY, make_image())
    flow.lambda_server.throttle("ClassifyImageFunction", times=1)

    execution = flow.run({"s3_key": KEY})

    assert execution["status"] == "SUCCEEDED"
    task_results = [
        (event["type"], event.get("taskFailedEventDetails", {}).get("error"))
        for event in flow.history(execution)
        if event["type"] in {"TaskFailed", "TaskSucceeded"}
    ]
    assert task_results == [
        ("TaskSucceeded", None),
        ("TaskFailed", "Lambda.TooManyRequestsException"),
        ("TaskSucceeded", None),
        ("TaskSucceeded", None),
    ]
    assert flow.lambda_server.invocations["ClassifyImageFunction"] == 2


def test_s3_unavailable_is_retried_with_backoff_then_succeeds(flow):
    """S3 still failing after botocore's own retries: the state machine tries again later."""
    image = make_image()
    with Stubber(serialize_image_data.s3) as s3:
        s3.add_client_error("get_object", "SlowDown", "Please reduce your request rate.", 503)
        s3.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(image), len(image)), "ContentLength": len(image)},
        )
        execution = flow.run({"s3_key": KEY})

    assert execution["status"] == "SUCCEEDED"
    serialize_results = [
        (event["type"], event.get("taskFailedEventDetails", {}).get("error"))
        for event in flow.history(execution)
        if event["type"] in {"TaskFailed", "TaskSucceeded"}
    ][:2]
    assert serialize_results == [("TaskFailed", "S3Unavailable"), ("TaskSucceeded", None)]


def test_throttling_beyond_the_retries_fails_with_the_service_error(flow):
    flow.put_image(KEY, make_image())
    flow.lambda_server.throttle("FilterInferencesFunction", times=4)  # 1 attempt + 3 retries

    execution = flow.run({"s3_key": KEY})

    assert (execution["status"], execution["error"]) == (
        "FAILED",
        "Lambda.TooManyRequestsException",
    )
    assert flow.lambda_server.invocations["FilterInferencesFunction"] == 4


@pytest.mark.parametrize(
    ("function", "variable", "value"),
    [
        ("SerializeImageDataFunction", "IMAGE_BUCKET_NAME", ""),
        ("ClassifyImageFunction", "ENDPOINT_NAME", ""),
        ("FilterInferencesFunction", "CONFIDENCE_THRESHOLD", "0,90"),
    ],
)
def test_broken_setting_fails_at_once_with_configuration_error(
    function, variable, value, flow, monkeypatch
):
    """A deployment fault, which no retry can mend."""
    flow.put_image(KEY, make_image())
    monkeypatch.setenv(variable, value)

    execution = flow.run({"s3_key": KEY})

    assert (execution["status"], execution["error"]) == ("FAILED", "ConfigurationError")
    assert variable in execution["cause"]
    assert flow.lambda_server.invocations[function] == 1


# Each state machine input's outcome, as events/expected.json records it (the acceptance tests
# hold a deployed stack to the same file).
SAMPLE_INPUTS = [
    (name, entry["execution"]["status"], entry["execution"].get("error"))
    for name, entry in json.loads((EVENTS / "expected.json").read_text()).items()
    if "execution" in entry
]


@pytest.mark.parametrize(("name", "status", "error"), SAMPLE_INPUTS)
def test_sample_state_machine_inputs(name, status, error, flow, model):
    confident, unsure = make_image((1, 1, 1)), make_image((2, 2, 2))
    model.answers.update({confident: [0.99, 0.01], unsure: [0.55, 0.45]})
    flow.put_image(KEY, confident)
    flow.put_image("test/motorcycle_s_001300.png", unsure)

    execution = flow.run(json.loads((EVENTS / name).read_text()))

    assert (execution["status"], execution.get("error")) == (status, error)


def test_every_state_machine_input_is_exercised():
    tested = {name for name, _, _ in SAMPLE_INPUTS}
    assert {path.name for path in EVENTS.glob("sfn_*.json")} == tested
