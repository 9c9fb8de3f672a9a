"""Cleanup: remove what training.deploy created, so nothing is left running and billing.

    python -m training.cleanup --endpoint-name scones-image-classification

Removes, each only if it exists, in the order AWS requires: the endpoint's monitoring
schedules (waiting until they are gone, as an endpoint with a schedule cannot be deleted),
training.monitor's model-quality job definition, the endpoint, its endpoint configuration,
and the models that configuration serves. When the endpoint is already gone, the
configuration and model named like the endpoint (as training.deploy names them) are removed.
Then what earlier rollouts (`training.deploy --update-endpoint`) left: every configuration and
model training.deploy named for this endpoint (the endpoint's name, or it and a rollout's
timestamp, by deploy's own rule) that no other endpoint uses, and the rollout's alarms.
Prints what it removed.
"""

import argparse
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from training.common import aws, rollout
from training.common.aws import DEFAULT_ENDPOINT_NAME, describe_or_none
from training.common.errors import TrainingError, exit_with_message
from training.deploy import ROLLOUT_STAMP, VARIANT, alarm_names, new_resource_name
from training.monitor import monitor_name

SCHEDULE_GONE_TIMEOUT_SECONDS = 300
POLL_SECONDS = 5
EARLIER_ROLLOUTS = (  # what, its List* call, the list's key, the name's key, its Delete* call
    ("endpoint configuration", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
     "delete_endpoint_config"),
    ("model", "list_models", "Models", "ModelName", "delete_model"),
)  # fmt: skip


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


def deployed_name(endpoint_name: str, name: str) -> bool:
    """Whether training.deploy named `name` for this endpoint: exactly its rule, so that another
    endpoint's names (`<endpoint>-2-<time>`) never match. A rollout name that had to cut the
    endpoint's name short is not taken: another endpoint with the same first characters
    would have made it too."""
    if name == endpoint_name:
        return True
    stamp = "-".join(name.rsplit("-", 2)[-2:])
    try:
        when = datetime.strptime(stamp, ROLLOUT_STAMP)
    except ValueError:
        return False
    return name == new_resource_name(endpoint_name, when) == f"{endpoint_name}-{stamp}"


def _listed(sagemaker: Any, operation: str, key: str, name_key: str, contains: str) -> list[str]:
    pages = sagemaker.get_paginator(operation).paginate(NameContains=contains)
    return [summary[name_key] for page in pages for summary in page[key]]


def configs_in_use(sagemaker: Any, endpoint_name: str) -> set[str]:
    """The configurations of the other endpoints whose names contain this one's: a look-alike
    endpoint may serve a configuration named like ours (its own first, or one reused)."""
    names = _listed(sagemaker, "list_endpoints", "Endpoints", "EndpointName", endpoint_name)
    described = (
        describe_or_none(sagemaker.describe_endpoint, EndpointName=name)
        for name in names
        if name != endpoint_name
    )
    return {endpoint["EndpointConfigName"] for endpoint in described if endpoint}


def remove_earlier_rollouts(
    sagemaker: Any, endpoint_name: str, kept: Iterable[str]
) -> list[Removal]:
    """Delete the configurations, then the models, training.deploy named for this endpoint,
    except those in `kept` (used by another endpoint, or already removed)."""
    kept = set(kept)
    removed = []
    for kind, listing, key, name_key, deletion in EARLIER_ROLLOUTS:
        for name in _listed(sagemaker, listing, key, name_key, endpoint_name):
            if name not in kept and deployed_name(endpoint_name, name):
                getattr(sagemaker, deletion)(**{name_key: name})
                removed.append(Removal(kind, name))
    return removed


def remove_alarms(cloudwatch: Any, endpoint_name: str) -> list[Removal]:
    """Delete the rollout's alarms of this endpoint, by their exact names."""
    ours = set(alarm_names(rollout.alarms(endpoint_name, VARIANT, rollout.Guardrails())))
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=rollout.alarm_name(endpoint_name, ""), AlarmTypes=["MetricAlarm"]
    )
    names = [
        alarm["AlarmName"]
        for page in pages
        for alarm in page["MetricAlarms"]
        if alarm["AlarmName"] in ours
    ]
    if names:  # at most four: DeleteAlarms takes up to 100
        cloudwatch.delete_alarms(AlarmNames=names)
    return [Removal("alarm", name) for name in names]


def cleanup(
    sagemaker: Any,
    cloudwatch: Any,
    endpoint_name: str,
    *,
    timeout_seconds: float = SCHEDULE_GONE_TIMEOUT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> list[Removal]:
    """Remove the endpoint and all that came with it; return what was removed, in order.

    The endpoint goes before any configuration. The timeout and poll interval are those of the
    wait for deleted schedules to go.
    """
    removed = remove_monitoring_schedules(sagemaker, endpoint_name, timeout_seconds, poll_seconds)
    removed += remove_job_definition(sagemaker, endpoint_name)
    endpoint_removals, config_name = remove_endpoint(sagemaker, endpoint_name)
    config_removals, model_names = remove_endpoint_config(sagemaker, config_name)
    served = config_removals + remove_models(sagemaker, model_names)
    removed += endpoint_removals + served
    kept = configs_in_use(sagemaker, endpoint_name) | {removal.name for removal in served}
    removed += remove_earlier_rollouts(sagemaker, endpoint_name, kept)
    return removed + remove_alarms(cloudwatch, endpoint_name)


def describe(removed: Sequence[Removal], endpoint_name: str) -> str:
    if not removed:
        return f"nothing to remove: no endpoint {endpoint_name}, nor anything named after it"
    return "\n".join(f"removed {removal.kind} {removal.name}" for removal in removed)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.cleanup",
        description="Delete the endpoint, its configuration, its model, any monitoring "
        "schedule, earlier rollouts' configurations and models, and the rollout's alarms, each "
        "only if it exists.",
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
        session = aws.session(args.region)
        removed = cleanup(
            session.client("sagemaker"), session.client("cloudwatch"), args.endpoint_name
        )
        print(describe(removed, args.endpoint_name))


if __name__ == "__main__":
    main()
