"""Deploy: the trained model behind an endpoint that captures every request and response.

    python -m training.deploy --training-job JOB --bucket my-bucket
    python -m training.deploy --model-data s3://.../model.tar.gz --role ARN --bucket my-bucket

Creates the model (the algorithm's inference image and model.tar.gz), an endpoint
configuration whose data capture keeps 100 % of inputs and outputs (JSON outputs as JSON,
so `training.report` reads them as they are), and the endpoint; waits until it is
InService; prints its name and the `sam deploy` line that wires the workflow to it.

The three calls use the boto3 `sagemaker` client, not `sagemaker.core.resources`:
`Model.create` and `Endpoint.create` read back what they created and validate the answer
with pydantic, which fails against moto (it omits fields AWS always returns), so those
steps could not be tested without an AWS account. One client for all three keeps them
alike. The inference image comes from the v3 SDK (`sagemaker.core.image_uris`).
"""

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sagemaker.core import image_uris

from training.common import aws
from training.common.aws import DEFAULT_ENDPOINT_NAME, describe_or_none
from training.common.errors import TrainingError, exit_with_message
from training.common.layout import DEFAULT_PREFIX, S3Layout

ALGORITHM = "image-classification"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"  # the algorithm infers on CPU; one image a request
DEFAULT_TIMEOUT_SECONDS = 1800  # endpoints usually take 5-10 minutes
POLL_SECONDS = 30
VARIANT = "AllTraffic"


class ModelNotReady(TrainingError):
    """The training job has no model artifact (yet)."""


class RoleRequired(TrainingError):
    """--model-data without --role: nothing to take the role from."""


class AlreadyDeployed(TrainingError):
    """A model, endpoint configuration or endpoint of that name exists."""


class EndpointFailed(TrainingError):
    """The endpoint ended Failed instead of InService."""


class EndpointTimeout(TrainingError):
    """The endpoint was not InService within the timeout."""


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str  # also the model's and the endpoint configuration's name
    model_data: str
    role: str
    capture_uri: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    instance_count: int = 1


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


def create(sagemaker: Any, deployment: Deployment, image: str) -> None:
    """Model, endpoint configuration with data capture, endpoint: all named alike."""
    name = deployment.endpoint_name
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": deployment.model_data},
        ExecutionRoleArn=deployment.role,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": VARIANT,
                "ModelName": name,
                "InitialInstanceCount": deployment.instance_count,
                "InstanceType": deployment.instance_type,
            }
        ],
        DataCaptureConfig=data_capture_config(deployment.capture_uri),
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def wait_in_service(
    sagemaker: Any, name: str, timeout_seconds: float, poll_seconds: float = POLL_SECONDS
) -> None:
    """Return once the endpoint is InService; raise if it fails or the timeout passes."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        status = endpoint["EndpointStatus"]
        if status == "InService":
            return
        if status == "Failed":
            reason = endpoint.get("FailureReason", "no reason given")
            raise EndpointFailed(f"endpoint {name} failed: {reason}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EndpointTimeout(
                f"endpoint {name} is still {status} after {timeout_seconds:.0f} s; it may yet "
                f"come up (aws sagemaker describe-endpoint --endpoint-name {name}), or remove "
                f"it with python -m training.cleanup --endpoint-name {name}"
            )
        time.sleep(min(poll_seconds, remaining))


def deploy(sagemaker: Any, deployment: Deployment, *, timeout_seconds: float) -> None:
    """Check, create, and wait until the endpoint serves."""
    ensure_nothing_deployed(sagemaker, deployment.endpoint_name)
    region = sagemaker.meta.region_name
    create(sagemaker, deployment, image_uris.retrieve(ALGORITHM, region))
    wait_in_service(sagemaker, deployment.endpoint_name, timeout_seconds)


def sam_deploy_line(endpoint_name: str) -> str:
    return f"sam deploy --parameter-overrides EndpointName={endpoint_name}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.deploy",
        description="Deploy the trained model to an endpoint with data capture at 100 %.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--training-job", help="a completed job of training.train")
    source.add_argument("--model-data", metavar="S3_URI", help="a model.tar.gz (needs --role)")
    parser.add_argument("--role", help="execution role ARN (default: the training job's)")
    parser.add_argument(
        "--endpoint-name",
        type=aws.endpoint_name,
        default=DEFAULT_ENDPOINT_NAME,
        help="lower case; default: %(default)s",
    )
    parser.add_argument("--bucket", help="bucket for the captured data")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="default: %(default)s")
    parser.add_argument("--capture-uri", help="default: s3://BUCKET/PREFIX/data-capture")
    parser.add_argument(
        "--instance-type", default=DEFAULT_INSTANCE_TYPE, help="default: %(default)s"
    )
    parser.add_argument("--instance-count", type=int, default=1, help="default: %(default)s")
    parser.add_argument(
        "--timeout-seconds",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="how long to wait for InService; default: %(default)s",
    )
    aws.add_region_argument(parser)
    args = parser.parse_args(argv)
    if not (args.bucket or args.capture_uri):
        parser.error("name where to capture data: --bucket (or --capture-uri)")
    return args


def deployment_from_args(sagemaker: Any, args: argparse.Namespace) -> Deployment:
    """What to deploy, checked before anything is created."""
    if args.training_job:
        model_data, job_role = model_from_training_job(sagemaker, args.training_job)
    else:
        aws.split_s3_uri(args.model_data)  # raises InvalidS3Uri for anything but s3://...
        model_data, job_role = args.model_data, None
    role = args.role or job_role
    if not role:
        raise RoleRequired("--model-data needs --role: the execution role the model runs with")
    capture_uri = args.capture_uri or S3Layout(args.bucket, args.prefix).capture_uri
    aws.split_s3_uri(capture_uri)
    return Deployment(
        args.endpoint_name, model_data, role, capture_uri, args.instance_type, args.instance_count
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        sagemaker = aws.session(args.region).client("sagemaker")
        deployment = deployment_from_args(sagemaker, args)
        print(
            f"deploying endpoint {deployment.endpoint_name}: usually 5-10 minutes until it is "
            f"InService (giving up after {args.timeout_seconds:.0f} s)...",
            flush=True,
        )
        deploy(sagemaker, deployment, timeout_seconds=args.timeout_seconds)
        name = deployment.endpoint_name
        print(f"endpoint {name} is InService, capturing to {deployment.capture_uri}")
        print(f"report later: python -m training.report --source {deployment.capture_uri}")
        print(f"remove it all: python -m training.cleanup --endpoint-name {name}")
        print(f"wire the workflow to it: {sam_deploy_line(name)}")


if __name__ == "__main__":
    main()
