"""What the functions log, where LocalStack puts it: each function's lines in CloudWatch Logs
with the execution id as correlation id and no image bytes, and FilterInferences' embedded
metric format blocks naming what the low-confidence alarm reads.

LocalStack ignores a function's `LoggingConfig.LogGroup` (the template's own log groups stay
empty): its lines go to `/aws/lambda/<function name>`, where these tests read them."""

import json

import pytest

from tests.acceptance.conftest import wait_for

FUNCTIONS = ("SerializeImageData", "ClassifyImage", "FilterInferences")
ALARM = "LowConfidenceShareAlarm"


def log_lines(logs, function_arn: str) -> list[str]:
    """Every line the function wrote, from the log group LocalStack writes it to."""
    group = f"/aws/lambda/{function_arn.rsplit(':', 1)[1]}"
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
    try:
        return [event["message"] for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException:  # the function has not run yet
        return []


def json_lines(lines: list[str]) -> list[dict]:
    found = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            found.append(parsed)
    return found


@pytest.fixture(scope="module")
def succeeded_execution(stepfunctions, outputs) -> str:
    """An execution the earlier tests ran to success."""
    listed = stepfunctions.list_executions(
        stateMachineArn=outputs["StateMachineArn"], statusFilter="SUCCEEDED"
    )["executions"]
    assert listed, "the arrivals and console tests run first"
    return listed[0]["executionArn"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_logs_with_the_execution_id_as_correlation_id(
    function, logs, outputs, succeeded_execution
):
    def correlated() -> list[dict]:
        """a line of this execution in the function's log group"""
        lines = json_lines(log_lines(logs, outputs[f"{function}FunctionArn"]))
        return [line for line in lines if line.get("correlation_id") == succeeded_execution]

    lines = wait_for(correlated, seconds=30)
    assert {line["function_name"] for line in lines} == {
        outputs[f"{function}FunctionArn"].rsplit(":", 1)[1]
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_image_bytes_reach_a_log(function, logs, outputs, images):
    text = "\n".join(log_lines(logs, outputs[f"{function}FunctionArn"]))
    assert text, "the function logged nothing"
    for image in [*images.confident[:20], *images.unsure[:4]]:
        assert image.base64[:48] not in text


def test_filter_inferences_emf_blocks_carry_what_the_alarm_reads(logs, outputs, account):
    blocks = [
        line
        for line in json_lines(log_lines(logs, outputs["FilterInferencesFunctionArn"]))
        if "_aws" in line
    ]
    alarms = account.client("cloudwatch").describe_alarms()["MetricAlarms"]
    (alarm,) = [alarm for alarm in alarms if ALARM in alarm["AlarmName"]]
    read = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
    assert {metric["MetricName"] for metric in read} == {
        "ConfidenceThresholdNotMet",
        "ConfidenceThresholdMet",
    }
    for metric in read:
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        emitted = [
            block
            for block in blocks
            for directive in block["_aws"]["CloudWatchMetrics"]
            if directive["Namespace"] == metric["Namespace"]
            and metric["MetricName"] in {m["Name"] for m in directive["Metrics"]}
            and sorted(dimensions) in [sorted(names) for names in directive["Dimensions"]]
            and all(block.get(name) == value for name, value in dimensions.items())
        ]
        assert emitted, f"no EMF block for {metric}"
