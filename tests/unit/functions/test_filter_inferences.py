import json
from pathlib import Path

import pytest

from functions.filter_inferences import app
from local.emulation import template
from tests.conftest import IMAGE_BUCKET
from workflow_common.errors import ConfidenceThresholdNotMet, InvalidEvent, InvalidInference

KEY = "test/motorcycle_s_001300.png"


def filter_event(inferences, **overrides) -> dict:
    """What ClassifyImage hands on."""
    return {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": KEY,
        "content_type": "image/png",
        "inferences": inferences,
        **overrides,
    }


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Metric name -> value from the CloudWatch embedded-metric-format lines Powertools prints."""
    metrics = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        for definition in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in definition["Metrics"]:
                metrics[metric["Name"]] = record[metric["Name"]][0]
    return metrics


@pytest.mark.parametrize(
    ("inferences", "label", "confidence"),
    [
        ([0.97, 0.03], "bicycle", 0.97),
        ([0.04, 0.96], "motorcycle", 0.96),
        ([0.9, 0.1], "bicycle", 0.9),  # at the threshold passes
        ("[0.91, 0.09]", "bicycle", 0.91),  # the course's classify returned a JSON string
        ([1, 0], "bicycle", 1.0),
    ],
)
def test_confident_inference_passes_with_label_and_confidence(
    inferences, label, confidence, lambda_context
):
    result = app.lambda_handler(filter_event(inferences), lambda_context)

    assert result == {
        "statusCode": 200,
        "body": {
            "s3_bucket": IMAGE_BUCKET,
            "s3_key": KEY,
            "inferences": json.loads(inferences) if isinstance(inferences, str) else inferences,
            "label": label,
            "confidence": confidence,
        },
        "audit": False,
    }


@pytest.mark.parametrize(
    "wrap",
    [
        lambda payload: {"body": payload},
        lambda payload: {"statusCode": 200, "body": json.dumps(payload)},
        lambda payload: {"body": payload, "execution_id": "arn:aws:states:::execution:sm:run-1"},
    ],
    ids=["body-dict", "starter-body-string", "state-machine"],
)
def test_accepts_every_payload_shape(wrap, lambda_context):
    body = app.lambda_handler(wrap(filter_event([0.05, 0.95])), lambda_context)["body"]

    assert (body["label"], body["confidence"]) == ("motorcycle", 0.95)


def test_below_threshold_fails_loudly_and_is_counted(lambda_context, capsys):
    with pytest.raises(ConfidenceThresholdNotMet, match=r"bicycle at 0\.8999 is below .* 0\.9"):
        app.lambda_handler(filter_event([0.8999, 0.1001]), lambda_context)

    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["ConfidenceThresholdNotMet"] == 1
    assert "ConfidenceThresholdMet" not in metrics


def test_confident_inference_is_counted(lambda_context, capsys):
    app.lambda_handler(filter_event([0.99, 0.01]), lambda_context)

    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics == {"ColdStart": 1, "ConfidenceThresholdMet": 1}


def test_threshold_comes_from_the_environment(monkeypatch, lambda_context):
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.93")  # the course's starter threshold

    with pytest.raises(ConfidenceThresholdNotMet):
        app.lambda_handler(filter_event([0.92, 0.08]), lambda_context)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"s3_bucket": IMAGE_BUCKET, "s3_key": KEY}, "'inferences' is missing"),
        (filter_event([0.9, 0.1], s3_key=None), "'s3_key' must be a non-empty string"),
        (filter_event([0.9, 0.1], s3_bucket=""), "'s3_bucket' must be a non-empty string"),
    ],
)
def test_rejects_invalid_events(payload, message, lambda_context):
    with pytest.raises(InvalidEvent, match=message):
        app.lambda_handler(payload, lambda_context)


@pytest.mark.parametrize(
    "inferences",
    [
        [0.5, 0.2],
        [0.3, 0.3, 0.4],
        [0.95],
        [1.5, -0.5],
        ["0.9", "0.1"],
        [True, False],
        None,
        {"bicycle": 0.9},
        "[NaN, 1.0]",
        "[Infinity, 0]",
        "not json",
        "",
    ],
)
def test_rejects_invalid_inferences(inferences, lambda_context):
    with pytest.raises(InvalidInference):
        app.lambda_handler(filter_event(inferences), lambda_context)


# Inference ids whose SHA-256 places them (first 8 bytes over 2**64, in percent) at:
LOW = "15969802-b6dd-4257-bb7d-9f1c57eb89b1"  # 0.230
JUST_UNDER_2 = "7d7ddbed-d284-476c-ab88-f83dd97dc9cd"  # 1.953
JUST_OVER_2 = "3d0a5f0c-0c39-4ec7-9f31-74054d183eba"  # 2.054
MIDDLE = "23b8c1e9-3924-46de-beb1-3b9046685257"  # 44.662


@pytest.mark.parametrize(
    ("inference_id", "percent", "audit"),
    [
        (LOW, "2", True),
        (JUST_UNDER_2, "2", True),
        (JUST_UNDER_2, "1.95", False),
        (JUST_OVER_2, "2", False),
        (JUST_OVER_2, "2.06", True),
        (MIDDLE, "44.6", False),
        (MIDDLE, "44.7", True),
        (LOW, "0", False),  # 0 turns audits off
        (MIDDLE, "100", True),  # 100 audits every confident image
    ],
)
def test_a_confident_image_is_audited_when_its_inference_id_falls_in_the_share(
    inference_id, percent, audit, monkeypatch, lambda_context
):
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", percent)

    result = app.lambda_handler(
        filter_event([0.97, 0.03], inference_id=inference_id), lambda_context
    )

    assert result["audit"] is audit
    assert set(result["body"]) == {"s3_bucket", "s3_key", "inferences", "label", "confidence"}


def test_an_event_without_inference_id_is_never_audited(monkeypatch, lambda_context):
    """The course's events and hand-written ones: nothing names the inference."""
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", "100")

    assert app.lambda_handler(filter_event([0.97, 0.03]), lambda_context)["audit"] is False


def test_an_unsure_image_fails_whatever_its_inference_id(monkeypatch, lambda_context):
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", "100")

    with pytest.raises(ConfidenceThresholdNotMet):
        app.lambda_handler(filter_event([0.6, 0.4], inference_id=LOW), lambda_context)


@pytest.mark.parametrize("inference_id", ["", 7, None])
def test_an_inference_id_that_is_not_text_is_invalid_event(inference_id, lambda_context):
    with pytest.raises(InvalidEvent, match="'inference_id' must be a non-empty string"):
        app.lambda_handler(filter_event([0.97, 0.03], inference_id=inference_id), lambda_context)


EVENTS = Path(__file__).resolve().parents[3] / "events"
PASSING_EVENTS = {
    name: entry["audit"]
    for name, entry in json.loads((EVENTS / "expected.json").read_text()).items()
    if entry["function"] == "FilterInferencesFunction" and entry["answer"] == 200
}


@pytest.mark.parametrize(("name", "audit"), PASSING_EVENTS.items())
def test_each_passing_sample_event_is_audited_as_expected_json_says(
    name, audit, monkeypatch, lambda_context
):
    """At the template's default share, as `sam local invoke` runs them."""
    default = template.parameter_defaults()["AuditSamplePercent"]
    monkeypatch.setenv("AUDIT_SAMPLE_PERCENT", default)
    event = json.loads((EVENTS / name).read_text())

    assert app.lambda_handler(event, lambda_context)["audit"] is audit
