"""Cleanup: remove what training.deploy created, so nothing is left running and billing.

    python -m training.cleanup --endpoint-name scones-image-classification

Removes, each only if it exists, in the order AWS requires: the endpoint's monitoring
schedules (waiting until they are gone, as an endpoint with a schedule cannot be deleted),
training.monitor's model-quality job definition, the endpoint, its endpoint configuration,
and the models that configuration serves. When the endpoint is already gone, the
configuration and model named like the endpoint (as training.deploy names them) are removed.
Prints what it removed.
"""

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from training.common import aws
from training.common.aws import DEFAULT_ENDPOINT_NAME, describe_or_none
from training.common.errors import TrainingError, exit_with_message
from training.monitor import monitor_name

SCHEDULE_GONE_TIMEOUT_SECONDS = 300
POLL_SECONDS = 5


class ScheduleStillThere(TrainingError):
    """A monitoring schedule was not gone within the timeout after its deletion."""


@dataclass(frozen=True)
class Removal:
    kind: str  # "monitoring schedule", "endpoint", "endpoint configuration", "model"
    name: str


def remove_monitoring_schedules(
    sagemaker: Any,
    endpoint_name: str,
    timeout_seconds: float = SCHEDULE_GONE_TIMEOUT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> list[Removal]:
    """Delete every monitoring schedule of the endpoint and wait until each is gone."""
    pages = sagemaker.get_paginator("list_monitoring_schedules").paginate(
        EndpointName=endpoint_name
    )
    names = [
        summary["MonitoringScheduleName"]
        for page in pages
        for summary in page["MonitoringScheduleSummaries"]
    ]
    for name in names:
        sagemaker.delete_monitoring_schedule(MonitoringScheduleName=name)
    for name in names:
        _wait_schedule_gone(sagemaker, name, timeout_seconds, poll_seconds)
    return [Removal("monitoring schedule", name) for name in names]


def _wait_schedule_gone(
    sagemaker: Any, name: str, timeout_seconds: float, poll_seconds: float
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while describe_or_none(sagemaker.describe_monitoring_schedule, MonitoringScheduleName=name):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScheduleStillThere(
                f"monitoring schedule {name} still exists {timeout_seconds:.0f} s after its "
                "deletion; run the cleanup again in a few minutes"
            )
        time.sleep(min(poll_seconds, remaining))


def remove_job_definition(sagemaker: Any, endpoint_name: str) -> list[Removal]:
    """Delete training.monitor's model-quality job definition, once no schedule uses it."""
    name = monitor_name(endpoint_name)
    describe = sagemaker.describe_model_quality_job_definition
    if describe_or_none(describe, JobDefinitionName=name) is None:
        return []
    sagemaker.delete_model_quality_job_definition(JobDefinitionName=name)
    return [Removal("model-quality job definition", name)]


def remove_endpoint(sagemaker: Any, name: str) -> tuple[list[Removal], str]:
    """Delete the endpoint if it exists; also return its configuration's name."""
    endpoint = describe_or_none(sagemaker.describe_endpoint, EndpointName=name)
    if endpoint is None:
        return [], name
    sagemaker.delete_endpoint(EndpointName=name)
    return [Removal("endpoint", name)], endpoint["EndpointConfigName"]


def remove_endpoint_config(sagemaker: Any, name: str) -> tuple[list[Removal], list[str]]:
    """Delete the configuration if it exists; also return the models it serves."""
    config = describe_or_none(sagemaker.describe_endpoint_config, EndpointConfigName=name)
    if config is None:
        return [], [name]
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    models = [variant["ModelName"] for variant in config["ProductionVariants"]]
    return [Removal("endpoint configuration", name)], models


def remove_models(sagemaker: Any, names: Sequence[str]) -> list[Removal]:
    """Delete each model that exists."""
    removed = []
    for name in dict.fromkeys(names):
        if describe_or_none(sagemaker.describe_model, ModelName=name):
            sagemaker.delete_model(ModelName=name)
            removed.append(Removal("model", name))
    return removed


def cleanup(
    sagemaker: Any,
    endpoint_name: str,
    *,
    timeout_seconds: float = SCHEDULE_GONE_TIMEOUT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> list[Removal]:
    """Remove the endpoint and all that came with it; return what was removed, in order.

    The timeout and poll interval are those of the wait for deleted schedules to go.
    """
    removed = remove_monitoring_schedules(sagemaker, endpoint_name, timeout_seconds, poll_seconds)
    removed += remove_job_definition(sagemaker, endpoint_name)
    endpoint_removals, config_name = remove_endpoint(sagemaker, endpoint_name)
    config_removals, model_names = remove_endpoint_config(sagemaker, config_name)
    return removed + endpoint_removals + config_removals + remove_models(sagemaker, model_names)


def describe(removed: Sequence[Removal], endpoint_name: str) -> str:
    if not removed:
        return f"nothing to remove: no endpoint {endpoint_name}, nor anything named after it"
    return "\n".join(f"removed {removal.kind} {removal.name}" for removal in removed)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.cleanup",
        description="Delete the endpoint, its configuration, its model and any monitoring "
        "schedule, each only if it exists.",
    )
    parser.add_argument(
        "--endpoint-name",
        type=aws.endpoint_name,
        default=DEFAULT_ENDPOINT_NAME,
        help="default: %(default)s",
    )
    aws.add_region_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        sagemaker = aws.session(args.region).client("sagemaker")
        print(describe(cleanup(sagemaker, args.endpoint_name), args.endpoint_name))


if __name__ == "__main__":
    main()
