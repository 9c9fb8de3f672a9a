"""FilterInferences: pass confident inferences on, and fail the execution for the rest.

Of the confident ones, a share (AUDIT_SAMPLE_PERCENT, chosen from the inference id) is marked
for a blind check by a person: `audit` beside the body, so the body keeps its contract and the
state machine decides what to send where.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from workflow_common.audits import is_audit
from workflow_common.configuration import (
    percentage_setting,
    probability_setting,
    required_setting,
)
from workflow_common.errors import ConfidenceThresholdNotMet, InvalidEvent
from workflow_common.events import required_string, response, unwrap_body
from workflow_common.inferences import CLASSES, parse_inferences

logger = Logger()
metrics = Metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(correlation_id_path="execution_id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The alarm on the low-confidence share watches one stack's metrics: two stacks never mix.
    metrics.add_dimension(name="stack", value=required_setting("STACK_NAME"))
    threshold = probability_setting("CONFIDENCE_THRESHOLD")
    audit_percent = percentage_setting("AUDIT_SAMPLE_PERCENT")
    payload = unwrap_body(event)
    bucket, key = required_string(payload, "s3_bucket"), required_string(payload, "s3_key")
    if "inferences" not in payload:
        raise InvalidEvent("'inferences' is missing")
    inferences = parse_inferences(payload["inferences"])
    inference_id = optional_inference_id(payload)
    label, confidence = most_likely(inferences)
    if confidence < threshold:
        metrics.add_metric(name="ConfidenceThresholdNotMet", unit=MetricUnit.Count, value=1)
        raise ConfidenceThresholdNotMet(
            f"s3://{bucket}/{key}: {label} at {confidence:.4f} is below the threshold {threshold}"
        )
    metrics.add_metric(name="ConfidenceThresholdMet", unit=MetricUnit.Count, value=1)
    audit = inference_id is not None and is_audit(inference_id, audit_percent)
    logger.info(
        "Inference accepted",
        extra={"s3_key": key, "label": label, "score": confidence, "audit": audit},
    )
    body = {
        "s3_bucket": bucket,
        "s3_key": key,
        "inferences": inferences,
        "label": label,
        "confidence": confidence,
    }
    return response(body) | {"audit": audit}


def optional_inference_id(payload: dict[str, Any]) -> str | None:
    """ClassifyImage's inference id; events written by hand (the course's) may have none, and
    are then never audited."""
    if "inference_id" not in payload:
        return None
    return required_string(payload, "inference_id")


def most_likely(inferences: list[float]) -> tuple[str, float]:
    """The most likely class and its probability."""
    confidence = max(inferences)
    return CLASSES[inferences.index(confidence)], confidence
