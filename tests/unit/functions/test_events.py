"""Every sample event in events/ does what its name says, through the real handler."""

import json

import pytest

from functions.check_waiting_reviews import app as check_waiting_reviews
from functions.classify_image import app as classify_image
from functions.filter_inferences import app as filter_inferences
from functions.serialize_image_data import app as serialize_image_data
from local import invoke
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from workflow_common import errors

HANDLERS = {
    "SerializeImageDataFunction": serialize_image_data.lambda_handler,
    "ClassifyImageFunction": classify_image.lambda_handler,
    "FilterInferencesFunction": filter_inferences.lambda_handler,
    "CheckWaitingReviewsFunction": check_waiting_reviews.lambda_handler,
}
# events/expected.json, which `make invoke` and the sam local tests also read
EXPECTED = invoke.expectations()


@pytest.mark.parametrize("expected", EXPECTED.values(), ids=EXPECTED)
def test_sample_event(expected, image_bucket, lambda_context, monkeypatch):
    """With the buckets as `make invoke` fills them, and the event's own variables."""
    for key in invoke.named_keys() - {"test/no_such_image.png"}:
        image_bucket.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=make_image())
    invoke.fill_ground_truth(image_bucket)
    for name, value in expected.environment.items():
        monkeypatch.setenv(name, value)
    handler = HANDLERS[expected.function]
    event = json.loads((invoke.EVENTS / f"{expected.event}.json").read_text())

    if expected.answer == 200:
        result = handler(event, lambda_context)
        assert result["statusCode"] == 200
        assert set(result["body"]) >= (set(expected.body) or {"s3_bucket", "s3_key"})
        assert expected.body.items() <= result["body"].items()
    else:
        with pytest.raises(getattr(errors, expected.answer)):
            handler(event, lambda_context)
