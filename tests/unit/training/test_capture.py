"""The capture format's writer and reader agree: what one writes, the other reads."""

import base64
import json
from datetime import UTC, datetime

import pytest

from training.common.capture import BrokenRecord, capture_record, parse_record

WHEN = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)


def test_a_written_record_reads_back_as_its_inference():
    record = capture_record("image/png", b"\x89PNG...", "[0.25, 0.75]", WHEN)
    inference = parse_record(json.dumps(record))
    assert (inference.time, inference.probabilities, inference.label) == (
        WHEN,
        (0.25, 0.75),
        "motorcycle",
    )


def test_a_written_record_has_sagemakers_fields():
    record = capture_record("image/png", b"\x89PNG...", "[0.25, 0.75]", WHEN)
    data = record["captureData"]
    assert data["endpointInput"] == {
        "observedContentType": "image/png",
        "mode": "INPUT",
        "data": base64.b64encode(b"\x89PNG...").decode(),
        "encoding": "BASE64",
    }
    assert data["endpointOutput"]["encoding"] == "JSON"
    assert record["eventMetadata"]["inferenceTime"] == "2026-11-25T10:00:01Z"
    assert record["eventVersion"] == "0"


def test_the_callers_inference_id_is_recorded_and_read_back():
    record = capture_record("image/png", b"\x89PNG...", "[0.25, 0.75]", WHEN, "id-1")
    assert list(record["eventMetadata"]) == ["eventId", "inferenceId", "inferenceTime"]
    assert parse_record(json.dumps(record)).inference_id == "id-1"
    assert (
        parse_record(json.dumps(capture_record("image/png", b"", "[1, 0]", WHEN))).inference_id
        is None
    )


def test_an_inference_id_that_is_not_a_string_is_a_broken_record():
    record = capture_record("image/png", b"\x89PNG...", "[0.25, 0.75]", WHEN)
    for value in (7, "", ["x"]):
        record["eventMetadata"]["inferenceId"] = value
        with pytest.raises(BrokenRecord, match="inferenceId is not a non-empty string"):
            parse_record(json.dumps(record))
