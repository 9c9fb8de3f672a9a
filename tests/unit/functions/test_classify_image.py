import base64
import json
import re
import socket
import socketserver
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from cfnlint.decode import decode

from functions.classify_image import app
from local.emulation.endpoint import ModelEndpoint
from tests.conftest import ENDPOINT_NAME, IMAGE_BUCKET
from tests.images import make_image
from tests.unit.functions.retry_budget import function_timeout, worst_case_seconds
from workflow_common.errors import (
    EndpointError,
    ImageTooLarge,
    InvalidEvent,
    InvalidInference,
    NotAnImage,
)
from workflow_common.images import MAX_BASE64_CHARS

KEY = "test/bicycle_s_000513.png"
ROOT = Path(__file__).resolve().parents[3]


def classify_event(image: bytes, **overrides) -> dict:
    """What SerializeImageData hands on."""
    return {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": KEY,
        "image_data": base64.b64encode(image).decode(),
        "content_type": "image/png",
        "inferences": [],
        **overrides,
    }


@pytest.mark.parametrize(
    "wrap",
    [
        lambda payload: payload,
        lambda payload: {"body": payload},
        lambda payload: {"statusCode": 200, "body": json.dumps(payload)},
        lambda payload: {"body": payload, "execution_id": "arn:aws:states:::execution:sm:run-1"},
    ],
    ids=["bare", "body-dict", "starter-body-string", "state-machine"],
)
def test_returns_the_endpoint_inferences_without_the_image(wrap, model, lambda_context):
    image = make_image((10, 20, 30))
    model.answers[image] = [0.2, 0.8]

    result = app.lambda_handler(wrap(classify_event(image)), lambda_context)

    inference_id = result["body"]["inference_id"]
    assert uuid.UUID(inference_id).version == 4
    assert result == {
        "statusCode": 200,
        "body": {
            "s3_bucket": IMAGE_BUCKET,
            "s3_key": KEY,
            "content_type": "image/png",
            "inferences": [0.2, 0.8],
            "inference_id": inference_id,
        },
    }


def test_sends_a_fresh_inference_id_that_the_capture_records(
    model, captured_records, lambda_context
):
    """Each call is a new inference (an ASL retry too), named in SageMaker's capture record."""
    image = make_image((11, 22, 33))
    model.answers[image] = [0.6, 0.4]

    ids = [
        app.lambda_handler(classify_event(image), lambda_context)["body"]["inference_id"]
        for _ in range(2)
    ]

    captured = [
        record["eventMetadata"]
        for record in captured_records()
        if record["captureData"]["endpointInput"]["data"] == base64.b64encode(image).decode()
    ]
    assert [metadata["inferenceId"] for metadata in captured] == ids
    assert ids[0] != ids[1]
    assert all(metadata["eventId"] not in ids for metadata in captured)  # SageMaker's own id


def test_sends_the_image_with_its_own_content_type(model, captured_records, lambda_context):
    """The starter events carry no content type: it is read from the bytes, whatever is claimed."""
    jpeg = make_image((90, 90, 200), "JPEG")
    model.answers[jpeg] = [0.7, 0.3]

    body = app.lambda_handler(classify_event(jpeg, content_type="image/png"), lambda_context)[
        "body"
    ]

    sent = [
        record["captureData"]["endpointInput"]
        for record in captured_records()
        if record["captureData"]["endpointInput"]["data"] == base64.b64encode(jpeg).decode()
    ]
    assert [request["observedContentType"] for request in sent] == ["image/jpeg"]
    assert body["content_type"] == "image/jpeg"
    assert body["inferences"] == [0.7, 0.3]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_data": "this is not base64!"}, "'image_data' is not valid base64 text"),
        ({"image_data": "aGVsbG8"}, "'image_data' is not valid base64 text"),
        ({"image_data": ""}, "'image_data' must be a non-empty string"),
        ({"image_data": None}, "'image_data' must be a non-empty string, got nothing"),
        ({"s3_key": ""}, "'s3_key' must be a non-empty string"),
        ({"s3_bucket": 3}, "'s3_bucket' must be a non-empty string, got int"),
    ],
)
def test_rejects_invalid_events(overrides, message, lambda_context):
    with pytest.raises(InvalidEvent, match=message):
        app.lambda_handler(classify_event(make_image(), **overrides), lambda_context)


def test_rejects_base64_that_is_not_an_image(lambda_context):
    with pytest.raises(NotAnImage):
        app.lambda_handler(classify_event(b"just some text"), lambda_context)


def test_unknown_endpoint_is_endpoint_error(monkeypatch, lambda_context):
    monkeypatch.setenv("ENDPOINT_NAME", "no-such-endpoint")

    with pytest.raises(EndpointError, match="'no-such-endpoint' answered ValidationError"):
        app.lambda_handler(classify_event(make_image()), lambda_context)


def test_model_failure_is_endpoint_error(model, lambda_context):
    image = make_image((1, 2, 3))
    model.answers[image] = RuntimeError("the model container crashed")

    with pytest.raises(EndpointError, match=f"'{ENDPOINT_NAME}' answered ModelError"):
        app.lambda_handler(classify_event(image), lambda_context)


def test_unreachable_endpoint_is_endpoint_error(monkeypatch, lambda_context):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    no_retries = Config(retries={"mode": "standard", "max_attempts": 1})
    client = boto3.client("sagemaker-runtime", endpoint_url=closed_url, config=no_retries)
    monkeypatch.setattr(app, "sagemaker_runtime", client)

    with pytest.raises(EndpointError, match="could not be reached"):
        app.lambda_handler(classify_event(make_image()), lambda_context)


@pytest.mark.parametrize(
    "answer", [[0.5, 0.2], [0.3, 0.3, 0.4], [1.2, -0.2], []], ids=["sum", "three", "range", "empty"]
)
def test_invalid_model_answer_is_invalid_inference(answer, model, lambda_context):
    image = make_image((4, 5, 6))
    model.answers[image] = answer

    with pytest.raises(InvalidInference):
        app.lambda_handler(classify_event(image), lambda_context)


def test_a_hung_endpoint_ends_as_endpoint_error_well_before_the_function_timeout():
    template, _ = decode(str(ROOT / "template.yaml"))
    timeout = function_timeout(template, "ClassifyImageFunction")
    config = app.sagemaker_runtime.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert worst_case_seconds(config) == 37
    assert timeout - worst_case_seconds(config) >= 5, "margin for the handler's own work"


@contextmanager
def endpoint_client(url: str, read_timeout: float):
    """The function's own client configuration (retries included), with a test-sized timeout."""
    config = app.sagemaker_runtime.meta.config.merge(Config(read_timeout=read_timeout))
    client = boto3.client("sagemaker-runtime", endpoint_url=url, config=config)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "sagemaker_runtime", client)
        yield


def test_an_endpoint_that_never_answers_is_tried_three_times_then_endpoint_error(lambda_context):
    released, calls = threading.Event(), []

    def hanging_model(image: bytes) -> list[float]:
        calls.append(image)
        released.wait()
        return [0.5, 0.5]

    with ModelEndpoint(hanging_model, endpoint_name=ENDPOINT_NAME) as hung:
        try:
            with (
                endpoint_client(hung.url, read_timeout=0.2),
                pytest.raises(EndpointError, match="could not be reached: Read timeout"),
            ):
                app.lambda_handler(classify_event(make_image()), lambda_context)
        finally:
            released.set()

    assert len(calls) == 3


class StallingBody(socketserver.StreamRequestHandler):
    """Answers 200 with the headers and half the body, then goes silent until released."""

    def handle(self) -> None:
        headers = b""
        while not headers.endswith(b"\r\n\r\n"):
            headers += self.rfile.read(1)
        length = int(re.search(rb"(?i)content-length: *(\d+)", headers)[1])
        self.rfile.read(length)
        body = b"[0.95, 0.05]"
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:5])
        )
        self.wfile.flush()
        self.server.released.wait()


def test_a_body_that_stalls_mid_stream_is_endpoint_error(lambda_context):
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), StallingBody) as server:
        server.daemon_threads, server.released = True, threading.Event()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            with (
                endpoint_client(url, read_timeout=0.2),
                pytest.raises(EndpointError, match="could not be reached: Read timeout"),
            ):
                app.lambda_handler(classify_event(make_image()), lambda_context)
        finally:
            server.released.set()
            server.shutdown()


def test_image_data_longer_than_the_state_allows_is_image_too_large(lambda_context):
    too_long = "A" * (MAX_BASE64_CHARS + 4)

    with pytest.raises(ImageTooLarge, match=f"{MAX_BASE64_CHARS + 4} characters"):
        app.lambda_handler(classify_event(b"", image_data=too_long), lambda_context)
