"""Deploy: the trained model behind an endpoint that captures every request and response.

    python -m training.deploy --training-job JOB --bucket my-bucket
    python -m training.deploy --model-data s3://.../model.tar.gz --role ARN --bucket my-bucket
    python -m training.deploy --training-job JOB --update-endpoint NAME [--dry-run]

Creates the model (the algorithm's inference image and model.tar.gz), an endpoint
configuration whose data capture keeps 100 % of inputs and outputs (JSON outputs as JSON,
so `training.report` reads them as they are), and the endpoint; waits until it is
InService; prints its name and the `sam deploy` line that wires the workflow to it.

`--update-endpoint NAME` moves a live endpoint to the new model instead (training.common.rollout:
blue/green, all at once, a bake watched by alarms that roll it back). The endpoint keeps its
name, so the stack's EndpointName never changes; the new model and endpoint configuration
are named after it with the time, and the configuration captures as the live one does.

The three calls use the boto3 `sagemaker` client, not `sagemaker.core.resources`:
`Model.create` and `Endpoint.create` read back what they created and validate the answer
with pydantic, which fails against moto (it omits fields AWS always returns), so those
steps could not be tested without an AWS account. One client for all three keeps them
alike. The inference image comes from the v3 SDK (`sagemaker.core.image_uris`).
"""

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sagemaker.core import image_uris

from training.common import aws, rollout
from training.common.aws import DEFAULT_ENDPOINT_NAME, describe_or_none
from training.common.errors import TrainingError, exit_with_message
from training.common.layout import DEFAULT_PREFIX, S3Layout
from training.common.rollout import Guardrails

ALGORITHM = "image-classification"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"  # the algorithm infers on CPU; one image a request
DEFAULT_TIMEOUT_SECONDS = 1800  # endpoints usually take 5-10 minutes
ROLLBACK_SECONDS = 1800  # beyond the deployment's own timeout: a rollback takes time too
POLL_SECONDS = 30
ROLLOUT_STAMP = "%Y%m%d-%H%M%S"  # the time in a rollout's model and configuration names
VARIANT = "AllTraffic"
UPDATING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
ENDED_FAILED = ("Failed", "UpdateRollbackFailed")
NAME_LENGTH = 63  # EndpointConfigName and ModelName: at most 63 characters


class ModelNotReady(TrainingError):
    """The training job has no model artifact (yet)."""


class RoleRequired(TrainingError):
    """--model-data without --role: nothing to take the role from."""


class AlreadyDeployed(TrainingError):
    """A model, endpoint configuration or endpoint of that name exists."""


class EndpointFailed(TrainingError):
    """The endpoint ended Failed (or UpdateRollbackFailed) instead of InService."""


class EndpointTimeout(TrainingError):
    """The endpoint was not InService within the timeout."""


class EndpointNotFound(TrainingError):
    """--update-endpoint names no endpoint."""


class UpdateInProgress(TrainingError):
    """The endpoint is being created, updated or rolled back: one change at a time."""


class EndpointNotUpdatable(TrainingError):
    """The endpoint is neither InService nor changing (Failed, OutOfService, Deleting...)."""


class CaptureDestinationUnknown(TrainingError):
    """Neither --bucket/--capture-uri nor the live configuration says where to capture."""


class AlarmsFiring(TrainingError):
    """A rollout alarm is in ALARM already: the new model would be rolled back at once."""


class RolledBack(TrainingError):
    """An alarm fired during the bake (or the deployment failed): the old model serves again."""


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str  # also the model's and the endpoint configuration's name
    model_data: str
    role: str
    capture_uri: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1


@dataclass(frozen=True)
class Update:
    """A live endpoint's move to a new model: what exists, what will, and the guardrails."""

    deployment: Deployment  # endpoint_name: the live endpoint's, which never changes
    current_config: dict[str, Any]  # DescribeEndpointConfig of the configuration serving now
    new_name: str  # the new model's and endpoint configuration's
    image: str
    alarms: list[dict[str, Any]]  # PutMetricAlarm requests
    deployment_config: dict[str, Any]  # UpdateEndpoint's DeploymentConfig


def model_from_training_job(sagemaker: Any, job_name: str) -> tuple[str, str]:
    """The completed job's model.tar.gz and the role it ran with."""
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    status = job["TrainingJobStatus"]
    if status != "Completed":
        raise ModelNotReady(f"training job {job_name} is {status}, not Completed: no model yet")
    return job["ModelArtifacts"]["S3ModelArtifacts"], job["RoleArn"]


def data_capture_config(capture_uri: str) -> dict[str, Any]:
    """Every request and response to `capture_uri`; JSON responses stay JSON."""
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": capture_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }


def ensure_nothing_deployed(sagemaker: Any, name: str) -> None:
    """Refuse to build on what an earlier deployment left: it is cleaned up first."""
    describers = {
        "endpoint": (sagemaker.describe_endpoint, "EndpointName"),
        "endpoint configuration": (sagemaker.describe_endpoint_config, "EndpointConfigName"),
        "model": (sagemaker.describe_model, "ModelName"),
    }
    found = [
        kind
        for kind, (describe, parameter) in describers.items()
        if describe_or_none(describe, **{parameter: name})
    ]
    if found:
        raise AlreadyDeployed(
            f"{name!r} already names an existing {', '.join(found)}; remove them with "
            f"python -m training.cleanup --endpoint-name {name}, or choose another --endpoint-name"
        )


def endpoint_config(deployment: Deployment, name: str) -> dict[str, Any]:
    """CreateEndpointConfig's request: one variant serving model `name`, data capture on."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT,
                "ModelName": name,
                "InitialInstanceCount": deployment.instance_count,
                "InstanceType": deployment.instance_type,
            }
        ],
        "DataCaptureConfig": data_capture_config(deployment.capture_uri),
    }


def create_model_and_config(sagemaker: Any, deployment: Deployment, image: str, name: str) -> None:
    """The model and an endpoint configuration serving it with data capture, both `name`."""
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": deployment.model_data},
        ExecutionRoleArn=deployment.role,
    )
    sagemaker.create_endpoint_config(**endpoint_config(deployment, name))


def create(sagemaker: Any, deployment: Deployment, image: str) -> None:
    """Model, endpoint configuration with data capture, endpoint: all named alike."""
    name = deployment.endpoint_name
    create_model_and_config(sagemaker, deployment, image, name)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def cleanup_hint(name: str) -> str:
    return f"or remove it with python -m training.cleanup --endpoint-name {name}"


def wait_in_service(
    sagemaker: Any,
    name: str,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    hint: str | None = None,
    settled: Callable[[dict[str, Any]], bool] = lambda endpoint: True,
) -> dict[str, Any]:
    """The endpoint's description once InService and `settled` (which sees every description);
    raise if it fails or the timeout passes."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        status = endpoint["EndpointStatus"]
        if settled(endpoint) and status == "InService":
            return endpoint
        if status in ENDED_FAILED:
            reason = endpoint.get("FailureReason", "no reason given")
            raise EndpointFailed(f"endpoint {name} failed: {reason} ({status})")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EndpointTimeout(
                f"endpoint {name} is still {status} after {timeout_seconds:.0f} s; it may yet "
                f"come up (aws sagemaker describe-endpoint --endpoint-name {name}), "
                f"{hint or cleanup_hint(name)}"
            )
        time.sleep(min(poll_seconds, remaining))


def deploy(sagemaker: Any, deployment: Deployment, *, timeout_seconds: float) -> None:
    """Check, create, and wait until the endpoint serves."""
    ensure_nothing_deployed(sagemaker, deployment.endpoint_name)
    region = sagemaker.meta.region_name
    create(sagemaker, deployment, image_uris.retrieve(ALGORITHM, region))
    wait_in_service(sagemaker, deployment.endpoint_name, timeout_seconds)


def live_endpoint(sagemaker: Any, name: str) -> dict[str, Any]:
    """The endpoint to update, InService; refuse one that is missing, busy or broken."""
    endpoint = describe_or_none(sagemaker.describe_endpoint, EndpointName=name)
    if endpoint is None:
        raise EndpointNotFound(
            f"no endpoint {name} to update: create it first (python -m training.deploy "
            f"--endpoint-name {name} ...)"
        )
    status = endpoint["EndpointStatus"]
    if status in UPDATING:
        raise UpdateInProgress(
            f"endpoint {name} is {status}: wait until it is InService (aws sagemaker "
            f"describe-endpoint --endpoint-name {name}), then update it again"
        )
    if status != "InService":
        reason = endpoint.get("FailureReason", "no reason given")
        raise EndpointNotUpdatable(
            f"endpoint {name} is {status} ({reason}), not InService: nothing to roll back to; "
            f"remove it (python -m training.cleanup --endpoint-name {name}) and deploy anew"
        )
    return endpoint


def new_resource_name(endpoint_name: str, now: datetime) -> str:
    """The endpoint's name and the time to the second: a new name for each rollout."""
    stamp = now.strftime(ROLLOUT_STAMP)
    return f"{endpoint_name[: NAME_LENGTH - len(stamp) - 1]}-{stamp}"


def plan_update(
    deployment: Deployment,
    current_config: dict[str, Any],
    image: str,
    guardrails: Guardrails,
    now: datetime,
) -> Update:
    """Everything the update will create and ask for; nothing is called."""
    alarms = rollout.alarms(deployment.endpoint_name, VARIANT, guardrails)
    return Update(
        deployment,
        current_config,
        new_resource_name(deployment.endpoint_name, now),
        image,
        alarms,
        rollout.deployment_config(alarm_names(alarms), guardrails.bake_seconds),
    )


def ensure_alarms_quiet(cloudwatch: Any, update: Update) -> None:
    """Refuse while an alarm of an earlier rollout is in ALARM: PutMetricAlarm keeps an alarm's
    state, and SageMaker would blame the new model for what the live one does."""
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=alarm_names(update.alarms), AlarmTypes=["MetricAlarm"]
    )
    firing = [
        alarm["AlarmName"]
        for page in pages
        for alarm in page["MetricAlarms"]
        if alarm["StateValue"] == "ALARM"
    ]
    if firing:
        raise AlarmsFiring(
            f"{', '.join(firing)} in ALARM now, with the live model: the update would roll "
            "back at once. See why (aws cloudwatch describe-alarm-history --alarm-name ...), "
            "and update once they are OK"
        )


def start_update(sagemaker: Any, cloudwatch: Any, update: Update) -> None:
    """Alarms, model, endpoint configuration, then UpdateEndpoint (which returns at once)."""
    ensure_nothing_deployed(sagemaker, update.new_name)
    for alarm in update.alarms:
        cloudwatch.put_metric_alarm(**alarm)
    create_model_and_config(sagemaker, update.deployment, update.image, update.new_name)
    sagemaker.update_endpoint(
        EndpointName=update.deployment.endpoint_name,
        EndpointConfigName=update.new_name,
        DeploymentConfig=update.deployment_config,
    )


def wait_update(
    sagemaker: Any, update: Update, timeout_seconds: float, poll_seconds: float = POLL_SECONDS
) -> None:
    """Return once the new configuration serves; raise RolledBack if the old one does again."""
    name = update.deployment.endpoint_name
    hint = (
        f"and it rolls back by itself if an alarm fires ({', '.join(alarm_names(update.alarms))})"
    )
    seen_updating = False

    def settled(endpoint: dict[str, Any]) -> bool:
        """The update took effect: the new configuration serves, or the endpoint has been seen
        out of service since, so that the old one serving again is a rollback (not a first
        description from before SageMaker set Updating)."""
        nonlocal seen_updating
        seen_updating = seen_updating or endpoint["EndpointStatus"] != "InService"
        return endpoint["EndpointConfigName"] == update.new_name or seen_updating

    endpoint = wait_in_service(sagemaker, name, timeout_seconds, poll_seconds, hint, settled)
    if endpoint["EndpointConfigName"] != update.new_name:
        reason = endpoint.get("FailureReason", "SageMaker gave no reason; see the alarms' history")
        raise RolledBack(
            f"endpoint {name} rolled back to {endpoint['EndpointConfigName']}: {reason}"
        )


def alarm_names(alarms: list[dict[str, Any]]) -> list[str]:
    return [alarm["AlarmName"] for alarm in alarms]


def describe_config(config: dict[str, Any]) -> list[str]:
    """An endpoint configuration as a person compares two: models, instances, capture."""
    variants = [
        f"{variant['VariantName']}: model {variant['ModelName']}, "
        f"{variant.get('InitialInstanceCount', '?')} x {variant.get('InstanceType', '?')}"
        for variant in config["ProductionVariants"]
    ]
    capture = config.get("DataCaptureConfig") or {}
    captured = (
        f"{capture['InitialSamplingPercentage']} % to {capture['DestinationS3Uri']}"
        if capture.get("EnableCapture")
        else "off"
    )
    return [config["EndpointConfigName"], *variants, f"data capture: {captured}"]


def describe_update(update: Update) -> str:
    """What the update changes: the configuration, old and new, the deployment, the alarms."""
    deployment = update.deployment
    new = endpoint_config(deployment, update.new_name)
    lines = [f"endpoint {deployment.endpoint_name} (its name stays)"]
    lines += ["  now:  " + line for line in describe_config(update.current_config)]
    lines += ["  next: " + line for line in describe_config(new)]
    lines += [
        f"  new model {update.new_name}: {deployment.model_data}",
        f"    image {update.image}, role {deployment.role}",
        "deployment configuration:",
        json.dumps(update.deployment_config, indent=2),
        "alarms (created or replaced; any in ALARM during the bake rolls back):",
    ]
    lines += [f"  {alarm['AlarmName']}: {alarm['AlarmDescription']}" for alarm in update.alarms]
    return "\n".join(lines)


def sam_deploy_line(endpoint_name: str) -> str:
    return f"sam deploy --parameter-overrides EndpointName={endpoint_name}"


def bounded(kind: type, low: float, high: float | None = None) -> Any:
    """argparse type: a number of `kind` in [low, high]."""

    def parse(text: str) -> Any:
        value = kind(text)
        if value < low or (high is not None and value > high):
            upper = f"-{high:g}" if high is not None else " or more"
            raise argparse.ArgumentTypeError(f"{text} is not within {low:g}{upper}")
        return value

    return parse


def add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    rollout_group = parser.add_argument_group(
        "rollout (with --update-endpoint)", "the bake and the alarms that roll back"
    )
    rollout_group.add_argument("--dry-run", action="store_true", help="print, change nothing")
    rollout_group.add_argument(
        "--bake-seconds",
        type=bounded(int, rollout.MIN_BAKE_SECONDS, rollout.MAX_BAKE_SECONDS),
        default=rollout.DEFAULT_BAKE_SECONDS,
        help="how long the alarms watch the new model before the old fleet goes "
        f"({rollout.MIN_BAKE_SECONDS}-{rollout.MAX_BAKE_SECONDS}); default: %(default)s",
    )
    rollout_group.add_argument(
        "--max-latency-ms", type=bounded(float, 1), default=Guardrails.max_latency_ms,
        help="p90 model latency that rolls back; default: %(default)s",
    )  # fmt: skip
    rollout_group.add_argument(
        "--low-confidence-percent", type=bounded(float, 1, 100),
        default=Guardrails.low_confidence_percent,
        help="share below the threshold over 5 minutes that rolls back; default: %(default)s",
    )  # fmt: skip
    rollout_group.add_argument(
        "--low-confidence-minimum", type=bounded(int, 1),
        default=Guardrails.low_confidence_minimum,
        help="images in 5 minutes before that share counts; default: %(default)s",
    )  # fmt: skip
    rollout_group.add_argument(
        "--stack-name", default=rollout.DEFAULT_STACK_NAME,
        help="the workflow's stack, whose counts the share is of; default: %(default)s",
    )  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.deploy",
        description="Deploy the trained model to an endpoint with data capture at 100 %, "
        "or move a live endpoint to it safely (--update-endpoint).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--training-job", help="a completed job of training.train")
    source.add_argument("--model-data", metavar="S3_URI", help="a model.tar.gz (needs --role)")
    parser.add_argument("--role", help="execution role ARN (default: the training job's)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--endpoint-name",
        type=aws.endpoint_name,
        default=DEFAULT_ENDPOINT_NAME,
        help="a new endpoint, lower case; default: %(default)s",
    )
    target.add_argument(
        "--update-endpoint",
        metavar="NAME",
        type=aws.endpoint_name,
        help="a live endpoint to move to this model (blue/green, rolled back on alarms)",
    )
    parser.add_argument("--bucket", help="bucket for the captured data")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="default: %(default)s")
    parser.add_argument(
        "--capture-uri",
        help="default: s3://BUCKET/PREFIX/data-capture; for an update, where it captures now",
    )
    parser.add_argument(
        "--instance-type", help=f"default: {DEFAULT_INSTANCE_TYPE}, or the live endpoint's"
    )
    parser.add_argument(
        "--instance-count", type=bounded(int, 1), help="default: 1, or the live endpoint's"
    )
    parser.add_argument(
        "--timeout-seconds",
        type=float,
        help=f"how long to wait; default: {DEFAULT_TIMEOUT_SECONDS} for a new endpoint, the "
        f"deployment's own timeout and {ROLLBACK_SECONDS} more for an update",
    )
    add_rollout_arguments(parser)
    aws.add_region_argument(parser)
    args = parser.parse_args(argv)
    if not (args.bucket or args.capture_uri or args.update_endpoint):
        parser.error("name where to capture data: --bucket (or --capture-uri)")
    if args.dry_run and not args.update_endpoint:
        parser.error("--dry-run goes with --update-endpoint")
    return args


def deployment_from_args(
    sagemaker: Any, args: argparse.Namespace, current_config: dict[str, Any] | None = None
) -> Deployment:
    """What to deploy, checked before anything is created; an update keeps the live fleet's
    instances and capture destination unless told otherwise."""
    if args.training_job:
        model_data, job_role = model_from_training_job(sagemaker, args.training_job)
    else:
        aws.split_s3_uri(args.model_data)  # raises InvalidS3Uri for anything but s3://...
        model_data, job_role = args.model_data, None
    role = args.role or job_role
    if not role:
        raise RoleRequired("--model-data needs --role: the execution role the model runs with")
    current = current_config or {}
    variant = (current.get("ProductionVariants") or [{}])[0]
    capture_uri = args.capture_uri or (
        S3Layout(args.bucket, args.prefix).capture_uri
        if args.bucket
        else (current.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    )
    if not capture_uri:
        raise CaptureDestinationUnknown(
            f"endpoint {args.update_endpoint} captures nothing now: name where the new model's "
            "requests and responses go with --bucket (or --capture-uri)"
        )
    aws.split_s3_uri(capture_uri)
    return Deployment(
        args.update_endpoint or args.endpoint_name,
        model_data,
        role,
        capture_uri,
        args.instance_type or variant.get("InstanceType", DEFAULT_INSTANCE_TYPE),
        args.instance_count or variant.get("InitialInstanceCount", 1),
    )


def guardrails_from_args(args: argparse.Namespace) -> Guardrails:
    return Guardrails(
        args.bake_seconds,
        args.max_latency_ms,
        args.low_confidence_percent,
        args.low_confidence_minimum,
        args.stack_name,
    )


def update_endpoint(
    session: Any,
    args: argparse.Namespace,
    now: datetime | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Plan, print, and unless --dry-run: start the update and wait for its outcome."""
    sagemaker = session.client("sagemaker")
    name = args.update_endpoint
    endpoint = live_endpoint(sagemaker, name)
    current = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    deployment = deployment_from_args(sagemaker, args, current)
    image = image_uris.retrieve(ALGORITHM, sagemaker.meta.region_name)
    guardrails = guardrails_from_args(args)
    update = plan_update(deployment, current, image, guardrails, now or datetime.now(UTC))
    cloudwatch = session.client("cloudwatch")
    ensure_alarms_quiet(cloudwatch, update)
    print(describe_update(update), flush=True)
    if args.dry_run:
        print("dry run: nothing was created or changed")
        return
    execution = update.deployment_config["BlueGreenUpdatePolicy"]
    timeout = args.timeout_seconds
    if timeout is None:
        timeout = execution["MaximumExecutionTimeoutInSeconds"] + ROLLBACK_SECONDS
    start_update(sagemaker, cloudwatch, update)
    print(
        f"updating endpoint {name}: the new fleet starts (5-10 minutes), takes all traffic, "
        f"then bakes {guardrails.bake_seconds} s (giving up waiting after {timeout:.0f} s)...",
        flush=True,
    )
    wait_update(sagemaker, update, timeout, poll_seconds)
    print(f"endpoint {name} serves {update.new_name}; it was {current['EndpointConfigName']}")
    print(
        "back to the old model by hand: aws sagemaker update-endpoint --endpoint-name "
        f"{name} --endpoint-config-name {current['EndpointConfigName']}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        session = aws.session(args.region)
        if args.update_endpoint:
            update_endpoint(session, args)
            return
        sagemaker = session.client("sagemaker")
        deployment = deployment_from_args(sagemaker, args)
        timeout = DEFAULT_TIMEOUT_SECONDS if args.timeout_seconds is None else args.timeout_seconds
        print(
            f"deploying endpoint {deployment.endpoint_name}: usually 5-10 minutes until it is "
            f"InService (giving up after {timeout:.0f} s)...",
            flush=True,
        )
        deploy(sagemaker, deployment, timeout_seconds=timeout)
        name = deployment.endpoint_name
        print(f"endpoint {name} is InService, capturing to {deployment.capture_uri}")
        print(f"report later: python -m training.report --source {deployment.capture_uri}")
        print(f"remove it all: python -m training.cleanup --endpoint-name {name}")
        print(f"wire the workflow to it: {sam_deploy_line(name)}")


if __name__ == "__main__":
    main()
