"""Every sample event in events/ does what its name says, through the real handler."""

import json
from pathlib import Path

import pytest

from functions.classify_image import app as classify_image
from functions.filter_inferences import app as filter_inferences
from functions.serialize_image_data import app as serialize_image_data
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from workflow_common import errors

EVENTS = Path(__file__).resolve().parents[3] / "events"

HANDLERS = {
    "serialize_image_data": serialize_image_data.lambda_handler,
    "classify_image": classify_image.lambda_handler,
    "filter_inferences": filter_inferences.lambda_handler,
}

# event file -> the error it must raise (None: it succeeds)
EXPECTED = {
    "serialize_image_data.json": None,
    "serialize_image_data_starter.json": None,
    "serialize_image_data_body_dict.json": None,
    "serialize_image_data_body_string.json": None,
    "serialize_image_data_missing_key.json": errors.InvalidEvent,
    "serialize_image_data_other_bucket.json": errors.InvalidEvent,
    "classify_image.json": None,
    "classify_image_starter.json": None,
    "classify_image_not_base64.json": errors.InvalidEvent,
    "filter_inferences.json": None,
    "filter_inferences_starter.json": None,
    "filter_inferences_low_confidence.json": errors.ConfidenceThresholdNotMet,
    "filter_inferences_invalid.json": errors.InvalidInference,
}


def test_every_function_event_has_an_expected_outcome():
    files = {path.name for path in EVENTS.glob("*.json") if not path.name.startswith("sfn_")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize(("name", "error"), EXPECTED.items())
def test_sample_event(name, error, image_bucket, lambda_context):
    image_bucket.put_object(Bucket=IMAGE_BUCKET, Key="test/bicycle_s_000513.png", Body=make_image())
    handler = next(handler for prefix, handler in HANDLERS.items() if name.startswith(prefix))
    event = json.loads((EVENTS / name).read_text())

    if error:
        with pytest.raises(error):
            handler(event, lambda_context)
    else:
        assert set(handler(event, lambda_context)["body"]) >= {"s3_bucket", "s3_key"}
