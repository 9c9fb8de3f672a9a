import base64
import json
import socket

import boto3
import pytest
from botocore.config import Config

from functions.classify_image import app
from tests.conftest import ENDPOINT_NAME, IMAGE_BUCKET
from tests.images import make_image
from workflow_common.errors import EndpointError, InvalidEvent, InvalidInference, NotAnImage

KEY = "test/bicycle_s_000513.png"


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

    assert result == {
        "statusCode": 200,
        "body": {
            "s3_bucket": IMAGE_BUCKET,
            "s3_key": KEY,
            "content_type": "image/png",
            "inferences": [0.2, 0.8],
        },
    }


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
