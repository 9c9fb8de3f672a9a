"""Each handler refuses a missing or malformed environment variable as ConfigurationError,
naming the variable, before it reads anything: a deployment fault, not a bad event."""

import json
from pathlib import Path

import pytest

from functions.classify_image import app as classify_image
from functions.filter_inferences import app as filter_inferences
from functions.serialize_image_data import app as serialize_image_data
from workflow_common.configuration import percentage_setting, probability_setting
from workflow_common.errors import ConfigurationError

EVENTS = Path(__file__).resolve().parents[3] / "events"

# variable -> the handler that needs it and an event it would otherwise accept
NEEDED_BY = {
    "IMAGE_BUCKET_NAME": (serialize_image_data.lambda_handler, "serialize_image_data.json"),
    "ENDPOINT_NAME": (classify_image.lambda_handler, "classify_image.json"),
    "CONFIDENCE_THRESHOLD": (filter_inferences.lambda_handler, "filter_inferences.json"),
    "STACK_NAME": (filter_inferences.lambda_handler, "filter_inferences.json"),
    "AUDIT_SAMPLE_PERCENT": (filter_inferences.lambda_handler, "filter_inferences.json"),
}
MISSING_OR_EMPTY = [None, "", "  "]


def call_without(variable: str, value: str | None, monkeypatch, lambda_context) -> None:
    handler, event_file = NEEDED_BY[variable]
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    handler(json.loads((EVENTS / event_file).read_text()), lambda_context)


@pytest.mark.parametrize("value", MISSING_OR_EMPTY, ids=["missing", "empty", "blank"])
@pytest.mark.parametrize("variable", NEEDED_BY)
def test_missing_or_empty_variable_is_a_configuration_error(
    variable, value, monkeypatch, lambda_context
):
    with pytest.raises(ConfigurationError, match=f"{variable} is missing or empty"):
        call_without(variable, value, monkeypatch, lambda_context)


@pytest.mark.parametrize("value", ["0.9o", "ninety", "1.5", "-0.1", "nan", "inf"])
def test_threshold_that_is_not_a_probability_is_a_configuration_error(
    value, monkeypatch, lambda_context
):
    with pytest.raises(ConfigurationError, match=f"CONFIDENCE_THRESHOLD .* got '{value}'"):
        call_without("CONFIDENCE_THRESHOLD", value, monkeypatch, lambda_context)


@pytest.mark.parametrize(("value", "number"), [("0", 0.0), ("0.90", 0.9), ("1", 1.0)])
def test_threshold_accepts_zero_to_one_inclusive(value, number, monkeypatch):
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", value)

    assert probability_setting("CONFIDENCE_THRESHOLD") == number


@pytest.mark.parametrize("value", ["2%", "two", "100.5", "-1", "nan", "inf"])
def test_audit_share_that_is_not_a_percentage_is_a_configuration_error(
    value, monkeypatch, lambda_context
):
    with pytest.raises(
        ConfigurationError, match=f"AUDIT_SAMPLE_PERCENT .* 0 to 100, got '{value}'"
    ):
        call_without("AUDIT_SAMPLE_PERCENT", value, monkeypatch, lambda_context)


@pytest.mark.parametrize(("value", "number"), [("0", 0.0), ("2", 2.0), ("0.5", 0.5), ("100", 100)])
def test_audit_share_accepts_zero_to_one_hundred_inclusive(value, number, monkeypatch):
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", value)

    assert percentage_setting("AUDIT_SAMPLE_PERCENT") == number
