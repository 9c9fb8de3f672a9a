import base64
import json

import pytest
from botocore.stub import Stubber

from functions.serialize_image_data import app
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from workflow_common.errors import ImageNotFound, ImageTooLarge, InvalidEvent, NotAnImage
from workflow_common.images import MAX_BASE64_CHARS, PNG_SIGNATURE

KEY = "test/bicycle_s_000513.png"


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


def test_other_s3_errors_are_not_disguised(lambda_context):
    with Stubber(app.s3) as s3:
        s3.add_client_error("get_object", "SlowDown", "Please reduce your request rate.", 503)
        with pytest.raises(app.ClientError, match="SlowDown"):
            app.lambda_handler({"s3_key": KEY}, lambda_context)


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
