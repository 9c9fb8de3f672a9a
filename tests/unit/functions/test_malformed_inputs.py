"""Inputs that parse but are malformed get the workflow's own error names, never Python's.

Covered: the three handlers, and the layer's unwrap_body, required_string and parse_inferences.
"""

import base64
import json

import pytest

from functions.classify_image import app as classify_image
from functions.filter_inferences import app as filter_inferences
from functions.serialize_image_data import app as serialize_image_data
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from workflow_common.errors import InvalidEvent, InvalidInference
from workflow_common.events import required_string, unwrap_body
from workflow_common.inferences import parse_inferences

DEEPLY_NESTED = "[" * 100_000  # RecursionError in json.loads
LONG_NUMBER = "1" * 5_001  # ValueError: past Python's 4,300-digit limit for int()
LONE_SURROGATE_KEY = "test/\ud800.png"  # UnicodeEncodeError wherever it is encoded


def payloads() -> dict[str, dict]:
    """A valid payload for each handler."""
    common = {"s3_bucket": IMAGE_BUCKET, "s3_key": "test/bicycle_s_000513.png"}
    return {
        "serialize": common,
        "classify": common | {"image_data": base64.b64encode(make_image()).decode()},
        "filter": common | {"inferences": [0.95, 0.05]},
    }


HANDLERS = {
    "serialize": serialize_image_data.lambda_handler,
    "classify": classify_image.lambda_handler,
    "filter": filter_inferences.lambda_handler,
}


@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize(
    ("body", "message"),
    [(DEEPLY_NESTED, "RecursionError"), (LONG_NUMBER, "ValueError")],
    ids=["nested-100000-deep", "number-of-5001-digits"],
)
def test_body_json_that_cannot_be_read_is_invalid_event(handler, body, message, lambda_context):
    with pytest.raises(InvalidEvent, match=f"body is not JSON we can read: {message}"):
        HANDLERS[handler]({"body": body}, lambda_context)


@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize("wrap", [lambda p: p, lambda p: {"body": json.dumps(p)}])
def test_a_key_with_a_lone_surrogate_is_invalid_event(handler, wrap, lambda_context):
    payload = payloads()[handler] | {"s3_key": LONE_SURROGATE_KEY}

    with pytest.raises(InvalidEvent, match="'s3_key' is not valid Unicode text"):
        HANDLERS[handler](wrap(payload), lambda_context)


@pytest.mark.parametrize(
    "inferences",
    [[10**400, 0], [0, -(10**400)], "[1e400, 0]", DEEPLY_NESTED, LONG_NUMBER, b"\xff\xfe"],
    ids=["huge-int", "huge-negative-int", "float-overflow", "deep", "long-number", "not-utf8"],
)
def test_inferences_that_parse_badly_are_invalid_inference(inferences, lambda_context):
    with pytest.raises(InvalidInference):
        parse_inferences(inferences)
    payload = payloads()["filter"] | {"inferences": inferences}
    if not isinstance(inferences, bytes):  # events are JSON: they cannot carry bytes
        with pytest.raises(InvalidInference):
            filter_inferences.lambda_handler(payload, lambda_context)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"body": DEEPLY_NESTED}, "RecursionError"),
        ({"body": LONG_NUMBER}, "ValueError"),
        ({"body": "[" * 10 + "]" * 10}, "not list"),
    ],
)
def test_unwrap_body_names_what_it_cannot_read(event, message):
    with pytest.raises(InvalidEvent, match=message):
        unwrap_body(event)


@pytest.mark.parametrize("value", ["\udfff", "ok\ud800ok"])
def test_required_string_refuses_text_that_cannot_be_utf8(value):
    with pytest.raises(InvalidEvent, match="'field' is not valid Unicode text"):
        required_string({"field": value}, "field")
