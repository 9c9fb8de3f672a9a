"""The ASL's shape: what every Lambda task must have, whatever tasks are added later."""

import json

import pytest

from local.emulation import workflow

LAMBDA_INVOKE = "${LambdaInvoke}"
STATES = json.loads(workflow.DEFINITION.read_text())["States"]
LAMBDA_TASKS = [name for name, state in STATES.items() if state.get("Resource") == LAMBDA_INVOKE]
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
BACKOFF = {"IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"}


def waits(retrier: dict) -> list[float]:
    """The successive waits before jitter, as Step Functions computes them."""
    interval, rate = retrier["IntervalSeconds"], retrier["BackoffRate"]
    return [interval * rate**attempt for attempt in range(retrier["MaxAttempts"])]


def test_the_three_functions_are_lambda_tasks():
    assert LAMBDA_TASKS == ["SerializeImageData", "ClassifyImage", "FilterInferences"]


@pytest.mark.parametrize("task", LAMBDA_TASKS)
def test_every_lambda_task_retries_lambda_service_errors_with_backoff(task):
    (retrier,) = [r for r in STATES[task]["Retry"] if r["ErrorEquals"] == LAMBDA_SERVICE_ERRORS]
    assert retrier.items() >= BACKOFF.items()


@pytest.mark.parametrize("task", LAMBDA_TASKS)
def test_every_retry_caps_its_wait_at_the_longest_it_can_reach(task):
    """A MaxDelaySeconds above the longest computed wait would never apply."""
    for retrier in STATES[task]["Retry"]:
        assert retrier["MaxDelaySeconds"] == max(waits(retrier)) == 4


@pytest.mark.parametrize("task", LAMBDA_TASKS)
def test_every_lambda_task_catches_everything_into_a_fail_that_keeps_the_error(task):
    catch_all = STATES[task]["Catch"][-1]
    assert catch_all["ErrorEquals"] == ["States.ALL"]
    fail = STATES[catch_all["Next"]]
    assert fail["Type"] == "Fail"
    assert (fail["ErrorPath"], fail["CausePath"]) == ("$.Error", "$.Cause")
    assert "service error left after the retries" in fail["Comment"]
    assert "timeout" in fail["Comment"]


def test_s3_unavailable_is_retried_with_backoff_only_where_s3_is_read():
    retried = {
        task: retrier
        for task in LAMBDA_TASKS
        for retrier in STATES[task]["Retry"]
        if retrier["ErrorEquals"] == ["S3Unavailable"]
    }
    assert list(retried) == ["SerializeImageData"]
    assert retried["SerializeImageData"].items() >= BACKOFF.items()


TASKS = [name for name, state in STATES.items() if state["Type"] == "Task"]


@pytest.mark.parametrize("task", TASKS)
def test_every_task_retries_with_a_reachable_cap_and_catches_everything(task):
    for retrier in STATES[task]["Retry"]:
        assert retrier["MaxDelaySeconds"] == max(waits(retrier))
        assert retrier["JitterStrategy"] == "FULL"
    assert STATES[task]["Catch"][-1]["ErrorEquals"] == ["States.ALL"]


def test_a_lost_review_names_the_attempts_the_send_really_made():
    [retrier] = STATES["QueueForReview"]["Retry"]
    cause = STATES["DescribeReviewNotQueued"]["Parameters"]["Cause.$"]
    assert f"after {1 + retrier['MaxAttempts']} attempts" in cause
    assert STATES[STATES["DescribeReviewNotQueued"]["Next"]] == {
        "Type": "Fail",
        "Comment": STATES["ReviewNotQueued"]["Comment"],
        "Error": "ReviewNotQueued",
        "CausePath": "$.review.lost.Cause",
    }


def test_only_the_end_states_end_and_the_output_is_filter_inferences_body():
    ends = {name for name, state in STATES.items() if state.get("End") or state["Type"] == "Fail"}
    assert {name for name in ends if STATES[name]["Type"] != "Fail"} == {"Classified"}
    assert STATES["Classified"]["OutputPath"] == "$.filtered.output"
    assert STATES["FilterInferences"]["ResultSelector"]["output.$"] == "$.Payload.body"
