"""Safe rollout: the alarms that watch a new model while it bakes, and SageMaker's guardrails.

`training.deploy --update-endpoint NAME` moves a live endpoint to a new model with a
blue/green deployment: all traffic shifts to the new fleet at once (one instance cannot
be split into a canary), then a baking period in which any of these alarms in ALARM rolls
the endpoint back to the old fleet.

The alarms are created here with PutMetricAlarm, not in the stack's template: the stack
does not own the endpoint (training.deploy does, and it may exist before or without the
stack), so they are named from the endpoint and put again, unchanged, by every rollout
(PutMetricAlarm replaces an alarm of the same name). They watch the endpoint as a whole
(EndpointName and VariantName): during an all-at-once bake every request goes to the new
fleet, so the endpoint's figures are the new model's. Each can fire within the bake: its
period times its evaluation periods is never longer than the shortest bake allowed. The
stack's hourly `LowConfidenceShareAlarm` cannot (one 3,600 s period), so the
low-confidence share gets its own 5-minute alarm over the same FilterInferences counts.
"""

from dataclasses import dataclass
from typing import Any

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
METRICS_NAMESPACE = "SconesUnlimited"  # the functions' POWERTOOLS_METRICS_NAMESPACE
METRICS_SERVICE = "image-classification"  # the functions' POWERTOOLS_SERVICE_NAME
DEFAULT_STACK_NAME = "scones-unlimited-image-classification"  # samconfig.toml's default

ENDPOINT_PERIOD_SECONDS = 60  # SageMaker's invocation metrics are per minute
ENDPOINT_EVALUATION_PERIODS = 3
ENDPOINT_DATAPOINTS_TO_ALARM = 2  # 2 bad minutes of the last 3: one blip never rolls back
SHARE_PERIOD_SECONDS = 300  # enough images in 5 minutes for a share to mean something
MIN_BAKE_SECONDS = max(
    ENDPOINT_PERIOD_SECONDS * ENDPOINT_EVALUATION_PERIODS, SHARE_PERIOD_SECONDS
)  # every alarm can fire within the shortest bake
MAX_BAKE_SECONDS = 3600  # TrafficRoutingConfig.WaitIntervalInSeconds: 0-3600
DEFAULT_BAKE_SECONDS = 600
TERMINATION_WAIT_SECONDS = 0  # the old fleet goes once the bake passed: it costs by the hour
PROVISIONING_SECONDS = 3600  # the new fleet's start (5-10 minutes usually), with room
MIN_EXECUTION_SECONDS, MAX_EXECUTION_SECONDS = 600, 28800  # MaximumExecutionTimeoutInSeconds


@dataclass(frozen=True)
class Guardrails:
    """What the new model must keep to while it bakes."""

    bake_seconds: int = DEFAULT_BAKE_SECONDS
    max_latency_ms: float = 1000.0  # p90 of ModelLatency, per minute
    low_confidence_percent: float = 30.0  # the template's LowConfidenceSharePercent default
    low_confidence_minimum: int = 10  # images in 5 minutes before the share can alarm
    stack_name: str = DEFAULT_STACK_NAME


def alarm_name(endpoint_name: str, watch: str) -> str:
    return f"{endpoint_name}-rollout-{watch}"


def _endpoint_alarm(
    endpoint_name: str, variant: str, watch: str, metric: str, statistic: dict[str, str]
) -> dict[str, Any]:
    return {
        "AlarmName": alarm_name(endpoint_name, watch),
        "Namespace": SAGEMAKER_NAMESPACE,
        "MetricName": metric,
        "Dimensions": [
            {"Name": "EndpointName", "Value": endpoint_name},
            {"Name": "VariantName", "Value": variant},
        ],
        **statistic,
        "Period": ENDPOINT_PERIOD_SECONDS,
        "EvaluationPeriods": ENDPOINT_EVALUATION_PERIODS,
        "DatapointsToAlarm": ENDPOINT_DATAPOINTS_TO_ALARM,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",  # no traffic is no evidence against the model
    }


def _share_metric(metric_id: str, metric: str, stack_name: str) -> dict[str, Any]:
    return {
        "Id": metric_id,
        "ReturnData": False,
        "MetricStat": {
            "Stat": "Sum",
            "Period": SHARE_PERIOD_SECONDS,
            "Metric": {
                "Namespace": METRICS_NAMESPACE,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "service", "Value": METRICS_SERVICE},
                    {"Name": "stack", "Value": stack_name},
                ],
            },
        },
    }


def low_confidence_alarm(endpoint_name: str, guardrails: Guardrails) -> dict[str, Any]:
    """The share of images below the threshold over 5 minutes, as the stack's hourly alarm."""
    minimum = guardrails.low_confidence_minimum
    return {
        "AlarmName": alarm_name(endpoint_name, "low-confidence"),
        "AlarmDescription": (
            f"More than {guardrails.low_confidence_percent:g} % of 5 minutes' images (at least "
            f"{minimum}) of stack {guardrails.stack_name} fell below the confidence threshold: "
            f"a rollout of {endpoint_name} rolls back."
        ),
        "Metrics": [
            {
                "Id": "share",
                "Label": "Low-confidence share (%)",
                "Expression": f"IF(notmet + met >= {minimum}, 100 * notmet / (notmet + met), 0)",
                "ReturnData": True,
            },
            {"Id": "notmet", "Expression": "FILL(notmetraw, 0)", "ReturnData": False},
            {"Id": "met", "Expression": "FILL(metraw, 0)", "ReturnData": False},
            _share_metric("notmetraw", "ConfidenceThresholdNotMet", guardrails.stack_name),
            _share_metric("metraw", "ConfidenceThresholdMet", guardrails.stack_name),
        ],
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": guardrails.low_confidence_percent,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }


def alarms(endpoint_name: str, variant: str, guardrails: Guardrails) -> list[dict[str, Any]]:
    """PutMetricAlarm requests: server errors, client errors, latency, low confidence."""
    endpoint = (endpoint_name, variant)
    errors = {"Statistic": "Sum"}
    server = _endpoint_alarm(*endpoint, "5xx", "Invocation5XXErrors", errors)
    server["AlarmDescription"] = "The endpoint answered with 5xx errors in 2 of 3 minutes."
    client = _endpoint_alarm(*endpoint, "4xx", "Invocation4XXErrors", errors)
    client["AlarmDescription"] = (
        "4xx errors in 2 of 3 minutes: the model failed requests (ModelError) the workflow "
        "checked to be PNG or JPEG images."
    )
    latency = _endpoint_alarm(*endpoint, "latency", "ModelLatency", {"ExtendedStatistic": "p90"})
    latency["AlarmDescription"] = (
        f"The model's p90 latency was over {guardrails.max_latency_ms:g} ms in 2 of 3 minutes."
    )
    latency["Unit"] = "Microseconds"  # ModelLatency's unit
    latency["Threshold"] = guardrails.max_latency_ms * 1000
    server["Threshold"] = client["Threshold"] = 0
    return [server, client, latency, low_confidence_alarm(endpoint_name, guardrails)]


def execution_timeout_seconds(bake_seconds: int) -> int:
    """Room for the new fleet to start, the bake and the wait before the old fleet goes."""
    total = PROVISIONING_SECONDS + bake_seconds + TERMINATION_WAIT_SECONDS
    return min(MAX_EXECUTION_SECONDS, max(MIN_EXECUTION_SECONDS, total))


def deployment_config(alarm_names: list[str], bake_seconds: int) -> dict[str, Any]:
    """Blue/green, all at once, a bake of `bake_seconds`, rollback on any of the alarms."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "ALL_AT_ONCE",
                "WaitIntervalInSeconds": bake_seconds,
            },
            "TerminationWaitInSeconds": TERMINATION_WAIT_SECONDS,
            "MaximumExecutionTimeoutInSeconds": execution_timeout_seconds(bake_seconds),
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
    }
