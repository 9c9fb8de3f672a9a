import base64
import io
import json
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from cfnlint.decode import decode
from urllib3.exceptions import ProtocolError

from functions.serialize_image_data import app
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from tests.unit.functions.retry_budget import function_timeout, worst_case_seconds
from workflow_common.errors import (
    ImageNotFound,
    ImageTooLarge,
    InvalidEvent,
    NotAnImage,
    S3Unavailable,
)
from workflow_common.images import MAX_BASE64_CHARS, PNG_SIGNATURE

KEY = "test/bicycle_s_000513.png"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def stored_image(image_bucket) -> bytes:
    image = make_image()
    image_bucket.put_object(Bucket=IMAGE_BUCKET, Key=KEY, Body=image)
    return image


@pytest.mark.parametrize(
    "event",
    [
        {"s3_key": KEY},
        {"s3_bucket": IMAGE_BUCKET, "s3_key": KEY},
        {"image_data": "", "s3_bucket": IMAGE_BUCKET, "s3_key": KEY},
        {"body": {"s3_bucket": IMAGE_BUCKET, "s3_key": KEY}},
        {"body": json.dumps({"s3_bucket": IMAGE_BUCKET, "s3_key": KEY})},
        {"body": {"s3_key": KEY}, "execution_id": "arn:aws:states:::execution:sm:run-1"},
    ],
    ids=["bare", "bare-with-bucket", "starter", "body-dict", "body-string", "state-machine"],
)
def test_returns_the_image_as_base64(event, stored_image, lambda_context):
    result = app.lambda_handler(event, lambda_context)

    assert result["statusCode"] == 200
    assert result["body"] == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": KEY,
        "image_data": base64.b64encode(stored_image).decode(),
        "content_type": "image/png",
        "inferences": [],
    }


def test_content_type_comes_from_the_bytes_not_the_name(image_bucket, lambda_context):
    image_bucket.put_object(
        Bucket=IMAGE_BUCKET, Key="test/photo.png", Body=make_image(image_format="JPEG")
    )

    body = app.lambda_handler({"s3_key": "test/photo.png"}, lambda_context)["body"]

    assert body["content_type"] == "image/jpeg"


def test_execution_id_is_the_correlation_id_and_no_image_is_logged(
    stored_image, lambda_context, json_logs
):
    execution_id = "arn:aws:states:us-east-1:123456789012:execution:sm:run-42"

    body = app.lambda_handler(
        {"body": {"s3_key": KEY}, "execution_id": execution_id}, lambda_context
    )["body"]

    logs = json_logs()
    assert logs, "the handler logs what it read"
    assert {log["correlation_id"] for log in logs} == {execution_id}
    assert all(body["image_data"] not in json.dumps(log) for log in logs)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "'s3_key' must be a non-empty string, got nothing"),
        ({"s3_key": ""}, "got an empty string"),
        ({"s3_key": 42}, "got int"),
        ({"s3_bucket": "someone-elses-bucket", "s3_key": KEY}, "must be the image bucket"),
        ({"s3_bucket": None, "s3_key": KEY}, "must be the image bucket"),
        ({"image_data": "aGVsbG8=", "s3_key": KEY}, "'image_data' must be empty or absent"),
        ({"body": "{not json"}, "body is not valid JSON"),
        ({"body": "[1, 2]"}, "body must be a JSON object, not list"),
        ({"body": 7}, "body must be a JSON object, not int"),
        ("s3://bucket/key", "the event must be a JSON object, not str"),
    ],
)
def test_rejects_invalid_events(event, message, image_bucket, lambda_context):
    with pytest.raises(InvalidEvent, match=message):
        app.lambda_handler(event, lambda_context)


def test_missing_object_is_image_not_found(image_bucket, lambda_context):
    with pytest.raises(ImageNotFound, match="does not exist"):
        app.lambda_handler({"s3_key": "test/nothing_here.png"}, lambda_context)


def test_missing_bucket_is_image_not_found(aws, lambda_context):
    with pytest.raises(ImageNotFound, match="does not exist"):
        app.lambda_handler({"s3_key": KEY}, lambda_context)


def test_access_denied_is_image_not_found_and_says_so(lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(ImageNotFound, match="was denied"):
            app.lambda_handler({"s3_key": KEY}, lambda_context)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("KeyTooLongError", "Your key is too long"),
        (
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters"
            " must be provided to retrieve the object.",
        ),
    ],
    ids=["KeyTooLongError", "InvalidRequest"],
)
def test_a_request_s3_refuses_is_invalid_event(code, message, lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("get_object", code, message, 400)
        with pytest.raises(InvalidEvent) as raised:
            app.lambda_handler({"s3_key": KEY}, lambda_context)

    assert str(raised.value) == (
        f"S3 refused the request for s3://{IMAGE_BUCKET}/{KEY} ({code}): {message}"
    )


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"StorageClass": "GLACIER"}, "GLACIER"),
        ({"StorageClass": "DEEP_ARCHIVE"}, "DEEP_ARCHIVE"),
        (
            {"StorageClass": "INTELLIGENT_TIERING", "AccessTier": "DEEP_ARCHIVE_ACCESS"},
            "INTELLIGENT_TIERING, DEEP_ARCHIVE_ACCESS",
        ),
    ],
    ids=["glacier", "deep-archive", "intelligent-tiering"],
)
def test_an_archived_object_is_image_not_found_and_must_be_restored(fields, where, lambda_context):
    """S3 sends the storage class (and tier) as elements of its error, botocore as fields."""
    with Stubber(app.s3) as s3:
        s3.add_client_error(
            "get_object",
            "InvalidObjectState",
            "The operation is not valid for the object's storage class",
            403,
            service_error_meta=fields,
            modeled_fields=fields,
        )
        with pytest.raises(ImageNotFound) as raised:
            app.lambda_handler({"s3_key": KEY}, lambda_context)

    assert str(raised.value) == (
        f"s3://{IMAGE_BUCKET}/{KEY} is archived ({where}): restore it (S3 RestoreObject),"
        " then start the execution again"
    )


def test_other_s3_errors_are_not_disguised(lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("get_object", "ExpiredToken", "The provided token has expired.", 400)
        with pytest.raises(app.ClientError, match="ExpiredToken"):
            app.lambda_handler({"s3_key": KEY}, lambda_context)


@pytest.mark.parametrize(
    ("code", "status"),
    [("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503)],
)
def test_s3_throttling_and_5xx_are_s3_unavailable(code, status, lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("get_object", code, "We encountered an internal error.", status)
        with pytest.raises(S3Unavailable, match=f"S3 answered {code} \\({status}\\)"):
            app.lambda_handler({"s3_key": KEY}, lambda_context)


class BrokenConnection(io.BytesIO):
    """A raw HTTP body whose connection breaks after the first bytes, as urllib3 reports it."""

    def read(self, amt=None) -> bytes:
        raise ProtocolError("Connection broken: IncompleteRead(5 bytes read, 95 more expected)")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (io.BytesIO(PNG_SIGNATURE), "8 read, but total bytes expected is 100"),
        (BrokenConnection(), "error occurred while reading from response stream"),
    ],
    ids=["incomplete-read", "response-streaming-error"],
)
def test_a_body_cut_short_is_s3_unavailable(raw, message, lambda_context):
    body = StreamingBody(raw, content_length=100)
    with Stubber(app.s3) as s3:
        s3.add_response("get_object", {"Body": body, "ContentLength": 100})
        with pytest.raises(S3Unavailable, match=message):
            app.lambda_handler({"s3_key": KEY}, lambda_context)


def test_s3_client_has_timeouts_and_retries_that_fit_the_function_timeout():
    template, _ = decode(str(ROOT / "template.yaml"))
    config = app.s3.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert worst_case_seconds(config) == 25
    timeout = function_timeout(template, "SerializeImageDataFunction")
    assert timeout - worst_case_seconds(config) >= 5, "margin for the handler's own work"


def test_a_key_longer_than_s3_allows_is_invalid_event_before_any_call(lambda_context):
    too_long = "test/" + "é" * 510  # 1,025 bytes in UTF-8, 515 characters
    with Stubber(app.s3), pytest.raises(InvalidEvent, match="longer than S3's 1024 bytes"):
        app.lambda_handler({"s3_key": too_long}, lambda_context)


def test_the_longest_key_s3_allows_is_looked_up(image_bucket, lambda_context):
    longest = "test/" + "é" * 509 + "x"  # 1,024 bytes

    with pytest.raises(ImageNotFound, match="does not exist"):
        app.lambda_handler({"s3_key": longest}, lambda_context)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the object is empty"), (b"GIF89a....", "neither a PNG nor a JPEG")],
)
def test_non_images_are_not_an_image(content, message, image_bucket, lambda_context):
    image_bucket.put_object(Bucket=IMAGE_BUCKET, Key="test/fake.png", Body=content)

    with pytest.raises(NotAnImage, match=message):
        app.lambda_handler({"s3_key": "test/fake.png"}, lambda_context)


def test_largest_image_that_fits_the_state_passes(image_bucket, lambda_context):
    largest = MAX_BASE64_CHARS * 3 // 4
    image_bucket.put_object(
        Bucket=IMAGE_BUCKET, Key="test/large.png", Body=PNG_SIGNATURE.ljust(largest, b"\0")
    )

    body = app.lambda_handler({"s3_key": "test/large.png"}, lambda_context)["body"]

    assert len(body["image_data"]) == MAX_BASE64_CHARS


def test_one_byte_more_is_image_too_large(image_bucket, lambda_context):
    too_large = MAX_BASE64_CHARS * 3 // 4 + 1
    image_bucket.put_object(
        Bucket=IMAGE_BUCKET, Key="test/large.png", Body=PNG_SIGNATURE.ljust(too_large, b"\0")
    )

    with pytest.raises(ImageTooLarge, match=f"{too_large} bytes"):
        app.lambda_handler({"s3_key": "test/large.png"}, lambda_context)
