"""Monitor (optional): a SageMaker Model Monitor model-quality schedule on the endpoint.

    python -m training.monitor --ground-truth s3://my-ground-truth-bucket --bucket my-bucket \\
        --role arn:aws:iam::123456789012:role/model-monitor
    python -m training.monitor --delete

Model Monitor's documentation says it is no longer open to new customers: `python -m
training.report --ground-truth ...` is the way to follow accuracy; this is for accounts that
still have Model Monitor. It creates a model-quality job definition and an hourly schedule
(boto3 only) that merge the endpoint's data capture with the ground-truth lines under
`<ground truth>/ground-truth/` on the inference id, and `--delete` (or training.cleanup)
removes both.

How the job is told about the endpoint's output, `[p_bicycle, p_motorcycle]` as JSON: it has
no predicted label to point at, which MulticlassClassification requires (InferenceAttribute),
so the only description that fits is BinaryClassification from a probability: the JSONPath of
p_motorcycle (ProbabilityAttribute `$[1]`) turned into 1 (motorcycle) or 0 (bicycle) at 0.5
(ProbabilityThresholdAttribute). The ground-truth lines say `bicycle` or `motorcycle`, and
the job definition has no field that maps those onto 1 and 0 (a ground-truth attribute exists
for baselining jobs only): see the README, "Model Monitor (optional)", for what that means.
"""

import argparse
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from training.common import aws
from training.common.aws import DEFAULT_ENDPOINT_NAME, describe_or_none
from training.common.errors import TrainingError, exit_with_message
from training.common.layout import DEFAULT_PREFIX, S3Layout

# SageMaker's rules for the fields this command sets (API reference, botocore's model):
NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # job definition and schedule names
ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")  # 20-2048
MONITORING_S3_URI = re.compile(r"(https|s3)://([^/]+)/?(.*)")  # at most 512 characters
# ScheduleConfig.ScheduleExpression: the forms SageMaker supports, nothing else.
HOURLY = "cron(0 * ? * * *)"
DAILY = re.compile(r"cron\(0 ([01]?\d|2[0-3]) \? \* \* \*\)")
EVERY_N_HOURS = re.compile(r"cron\(0 ([01]?\d|2[0-3])/(0?[1-9]|1\d|2[0-4]) \? \* \* \*\)")
# Offsets as the model-quality documentation writes them: -P#D, -PT#H or -PT#M (1-15 chars).
OFFSET = re.compile(r"-P(?:(?P<days>\d+)D|T(?:(?P<hours>\d+)H|(?P<minutes>\d+)M))")
PROBLEM_TYPE = "BinaryClassification"
PROBABILITY_ATTRIBUTE = "$[1]"  # p_motorcycle in the JSON list [p_bicycle, p_motorcycle]
PROBABILITY_THRESHOLD = 0.5  # at or above: 1, motorcycle; below: 0, bicycle
LOCAL_INPUT = "/opt/ml/processing/input/endpoint"
LOCAL_OUTPUT = "/opt/ml/processing/output"
GROUND_TRUTH_PREFIX = "ground-truth"  # operations.reviewing's: only bicycle and motorcycle
HOURLY_MAX_RUNTIME_SECONDS = 1800  # an hourly run must end before the next one starts
NAME_SUFFIX = "-model-quality"


class InvalidMonitorSetting(TrainingError):
    """A setting that SageMaker's rules for a model-quality schedule refuse."""


class MonitorExists(TrainingError):
    """The endpoint already has this command's schedule or job definition."""


class EndpointNotCapturing(TrainingError):
    """The endpoint does not exist, or does not capture its data: nothing to monitor."""


@dataclass(frozen=True)
class Monitor:
    endpoint_name: str
    ground_truth: str  # s3://bucket[/prefix] of the ground-truth location
    output: str  # s3://... where the job writes its reports
    role_arn: str
    schedule: str = HOURLY
    start_offset: str = "-P8D"  # the documentation's example: labels come within a week...
    end_offset: str = "-P1D"  # ...and not before a day
    instance_type: str = "ml.m5.large"
    volume_gb: int = 20
    max_runtime_seconds: int = HOURLY_MAX_RUNTIME_SECONDS

    @property
    def name(self) -> str:
        return monitor_name(self.endpoint_name)

    @property
    def ground_truth_uri(self) -> str:
        return f"{self.ground_truth.rstrip('/')}/{GROUND_TRUTH_PREFIX}"


def monitor_name(endpoint_name: str) -> str:
    """The job definition's and the schedule's name: the endpoint's, with a suffix; a name too
    long for 63 characters is cut and made unique again by a hash of the whole."""
    name = endpoint_name + NAME_SUFFIX
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(endpoint_name.encode()).hexdigest()[:8]
    return f"{endpoint_name[: 63 - len(NAME_SUFFIX) - 9].rstrip('-')}-{digest}{NAME_SUFFIX}"


def offset_seconds(offset: str) -> int:
    """An offset's length in seconds (negative: before the run); InvalidMonitorSetting when it
    is not one of the documented forms."""
    match = OFFSET.fullmatch(offset)
    if match is None or len(offset) > 15:
        raise InvalidMonitorSetting(
            f"offset {offset!r} is not -P<days>D, -PT<hours>H or -PT<minutes>M"
        )
    days, hours, minutes = (int(match[part] or 0) for part in ("days", "hours", "minutes"))
    return -(days * 86400 + hours * 3600 + minutes * 60)


def check(monitor: Monitor, instance_types: Sequence[str]) -> None:
    """InvalidMonitorSetting naming the first of SageMaker's documented rules that `monitor`
    breaks (botocore checks few of them: no pattern, no maximum, no cross-field rule)."""
    if not NAME.fullmatch(monitor.name):
        raise InvalidMonitorSetting(f"{monitor.name!r} is not a valid job name")
    if not (20 <= len(monitor.role_arn) <= 2048 and ROLE_ARN.fullmatch(monitor.role_arn)):
        raise InvalidMonitorSetting(f"--role {monitor.role_arn!r} is not an IAM role ARN")
    for what, uri in [("--ground-truth", monitor.ground_truth_uri), ("output", monitor.output)]:
        if not (MONITORING_S3_URI.fullmatch(uri) and len(uri) <= 512):
            raise InvalidMonitorSetting(f"{what} {uri!r} is not an s3:// URI of at most 512")
    expression = monitor.schedule
    if not (
        expression == HOURLY or DAILY.fullmatch(expression) or EVERY_N_HOURS.fullmatch(expression)
    ):
        raise InvalidMonitorSetting(
            f"--schedule {expression!r} is not one SageMaker supports: {HOURLY}, "
            "cron(0 H ? * * *) or cron(0 H/N ? * * *)"
        )
    start, end = offset_seconds(monitor.start_offset), offset_seconds(monitor.end_offset)
    if start >= end:
        raise InvalidMonitorSetting(
            f"--start-offset {monitor.start_offset} must come before --end-offset "
            f"{monitor.end_offset}"
        )
    if monitor.instance_type not in instance_types:
        raise InvalidMonitorSetting(f"{monitor.instance_type!r} is not a processing instance")
    if not 1 <= monitor.volume_gb <= 16384:
        raise InvalidMonitorSetting(f"--volume-gb {monitor.volume_gb} is not 1 to 16384")
    limit = HOURLY_MAX_RUNTIME_SECONDS if expression == HOURLY else 86400
    if not 1 <= monitor.max_runtime_seconds <= limit:
        raise InvalidMonitorSetting(
            f"--max-runtime {monitor.max_runtime_seconds} is not 1 to {limit} s"
            + (" (an hourly run must end before the next)" if limit < 86400 else "")
        )


def job_definition(monitor: Monitor, image_uri: str) -> dict[str, Any]:
    """CreateModelQualityJobDefinition's request."""
    return {
        "JobDefinitionName": monitor.name,
        "ModelQualityAppSpecification": {"ImageUri": image_uri, "ProblemType": PROBLEM_TYPE},
        "ModelQualityJobInput": {
            "EndpointInput": {
                "EndpointName": monitor.endpoint_name,
                "LocalPath": LOCAL_INPUT,
                "ProbabilityAttribute": PROBABILITY_ATTRIBUTE,
                "ProbabilityThresholdAttribute": PROBABILITY_THRESHOLD,
                "StartTimeOffset": monitor.start_offset,
                "EndTimeOffset": monitor.end_offset,
            },
            "GroundTruthS3Input": {"S3Uri": monitor.ground_truth_uri},
        },
        "ModelQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {
                    "S3Output": {
                        "S3Uri": monitor.output,
                        "LocalPath": LOCAL_OUTPUT,
                        "S3UploadMode": "EndOfJob",
                    }
                }
            ]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": monitor.instance_type,
                "VolumeSizeInGB": monitor.volume_gb,
            }
        },
        "RoleArn": monitor.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": monitor.max_runtime_seconds},
    }


def schedule_request(monitor: Monitor) -> dict[str, Any]:
    """CreateMonitoringSchedule's request, over the job definition of the same name."""
    return {
        "MonitoringScheduleName": monitor.name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": monitor.schedule},
            "MonitoringJobDefinitionName": monitor.name,
            "MonitoringType": "ModelQuality",
        },
    }


def create(sagemaker: Any, monitor: Monitor) -> None:
    """Create the job definition and its schedule, after checking the endpoint captures and
    that neither exists yet."""
    service = sagemaker.meta.service_model
    check(monitor, service.shape_for("ProcessingInstanceType").enum)
    endpoint = describe_or_none(sagemaker.describe_endpoint, EndpointName=monitor.endpoint_name)
    capture = (endpoint or {}).get("DataCaptureConfig") or {}
    if not capture.get("EnableCapture"):
        state = "does not exist" if endpoint is None else "does not capture its data"
        raise EndpointNotCapturing(
            f"endpoint {monitor.endpoint_name} {state}: deploy it with training.deploy, "
            "which captures every request"
        )
    existing = [
        kind
        for kind, describe, field in [
            ("schedule", sagemaker.describe_monitoring_schedule, "MonitoringScheduleName"),
            (
                "job definition",
                sagemaker.describe_model_quality_job_definition,
                "JobDefinitionName",
            ),
        ]
        if describe_or_none(describe, **{field: monitor.name})
    ]
    if existing:
        raise MonitorExists(
            f"{' and '.join(existing)} {monitor.name} already exist(s): remove them with "
            "python -m training.monitor --delete, then create again"
        )
    from sagemaker.core import image_uris  # 3-4 s to import: not for training.cleanup's names

    image = image_uris.retrieve("model-monitor", sagemaker.meta.region_name)
    sagemaker.create_model_quality_job_definition(**job_definition(monitor, image))
    sagemaker.create_monitoring_schedule(**schedule_request(monitor))


def delete(sagemaker: Any, endpoint_name: str) -> list[str]:
    """Delete this command's schedule, then its job definition, each only if it exists; what
    was deleted. A schedule still running an execution is refused by SageMaker (its error)."""
    name = monitor_name(endpoint_name)
    deleted = []
    if describe_or_none(sagemaker.describe_monitoring_schedule, MonitoringScheduleName=name):
        sagemaker.delete_monitoring_schedule(MonitoringScheduleName=name)
        deleted.append(f"monitoring schedule {name}")
    if describe_or_none(sagemaker.describe_model_quality_job_definition, JobDefinitionName=name):
        sagemaker.delete_model_quality_job_definition(JobDefinitionName=name)
        deleted.append(f"model-quality job definition {name}")
    return deleted


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.monitor",
        description="Create (or --delete) a SageMaker Model Monitor model-quality schedule on "
        "the endpoint over the ground-truth bucket. Model Monitor is no longer open to new "
        "customers: python -m training.report --ground-truth is the way to follow accuracy; "
        "this is for accounts that have Model Monitor. Its binary description of the output "
        "cannot match the ground truth's labels as they are written: see the README.",
    )
    parser.add_argument(
        "--endpoint-name",
        type=aws.endpoint_name,
        default=DEFAULT_ENDPOINT_NAME,
        help="default: %(default)s",
    )
    parser.add_argument("--delete", action="store_true", help="remove the schedule and its job")
    parser.add_argument("--ground-truth", help="s3://bucket[/prefix]: the stack's ground truth")
    parser.add_argument("--bucket", help="where the job writes its reports (training's bucket)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="with --bucket: %(default)s")
    parser.add_argument("--role", help="the ARN of the role the monitoring job runs as")
    parser.add_argument("--schedule", default=HOURLY, help="default: %(default)s")
    parser.add_argument("--start-offset", default=Monitor.start_offset, help="default: %(default)s")
    parser.add_argument("--end-offset", default=Monitor.end_offset, help="default: %(default)s")
    parser.add_argument("--instance-type", default=Monitor.instance_type)
    parser.add_argument("--volume-gb", type=int, default=Monitor.volume_gb)
    parser.add_argument("--max-runtime", type=int, default=Monitor.max_runtime_seconds)
    aws.add_region_argument(parser)
    args = parser.parse_args(argv)
    if not args.delete and not (args.ground_truth and args.bucket and args.role):
        parser.error("to create, name --ground-truth, --bucket and --role (or pass --delete)")
    return args


def monitor_of(args: argparse.Namespace) -> Monitor:
    return Monitor(
        endpoint_name=args.endpoint_name,
        ground_truth=args.ground_truth,
        output=S3Layout(args.bucket, args.prefix).uri("model-quality"),
        role_arn=args.role,
        schedule=args.schedule,
        start_offset=args.start_offset,
        end_offset=args.end_offset,
        instance_type=args.instance_type,
        volume_gb=args.volume_gb,
        max_runtime_seconds=args.max_runtime,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        sagemaker = aws.session(args.region).client("sagemaker")
        if args.delete:
            deleted = delete(sagemaker, args.endpoint_name)
            print("\n".join(f"removed {what}" for what in deleted) or "nothing to remove")
            return
        monitor = monitor_of(args)
        create(sagemaker, monitor)
        print(
            f"created model-quality job definition and schedule {monitor.name} "
            f"({monitor.schedule}) over {monitor.ground_truth_uri}; reports in {monitor.output}"
        )


if __name__ == "__main__":
    main()
