"""FilterInferences: pass confident inferences on, and fail the execution for the rest."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from workflow_common.configuration import probability_setting, required_setting
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
    payload = unwrap_body(event)
    bucket, key = required_string(payload, "s3_bucket"), required_string(payload, "s3_key")
    if "inferences" not in payload:
        raise InvalidEvent("'inferences' is missing")
    inferences = parse_inferences(payload["inferences"])
    label, confidence = most_likely(inferences)
    if confidence < threshold:
        metrics.add_metric(name="ConfidenceThresholdNotMet", unit=MetricUnit.Count, value=1)
        raise ConfidenceThresholdNotMet(
            f"s3://{bucket}/{key}: {label} at {confidence:.4f} is below the threshold {threshold}"
        )
    metrics.add_metric(name="ConfidenceThresholdMet", unit=MetricUnit.Count, value=1)
    logger.info("Inference accepted", extra={"s3_key": key, "label": label, "score": confidence})
    return response(
        {
            "s3_bucket": bucket,
            "s3_key": key,
            "inferences": inferences,
            "label": label,
            "confidence": confidence,
        }
    )


def most_likely(inferences: list[float]) -> tuple[str, float]:
    """The most likely class and its probability."""
    confidence = max(inferences)
    return CLASSES[inferences.index(confidence)], confidence
