"""The SAM application's wiring, reproduced on one machine: the same handlers and the same ASL.

Used by the demo, the state machine tests and the benchmarks, so all three run the workflow the
same way: handlers behind `LambdaInvokeServer`, the ASL file created in moto's Step Functions
with the template's `${...}` substitutions filled in, executions polled to a terminal status.
"""

import importlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from local.emulation import distributed_map, moto_speed, sdk_requests, template
from local.emulation.lambda_server import Handler, LambdaInvokeServer

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "statemachine" / "image_classification.asl.json"
BACKFILL_DEFINITION = ROOT / "statemachine" / "backfill.asl.json"
LAYER = ROOT / "layers" / "common"
ACCOUNT_ID = "123456789012"
STATES_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/ImageClassificationStateMachineRole"

# Logical id in template.yaml -> handler module; the ASL names each as ${<LogicalId>Arn}.
FUNCTIONS = {
    "SerializeImageDataFunction": "functions.serialize_image_data.app",
    "ClassifyImageFunction": "functions.classify_image.app",
    "FilterInferencesFunction": "functions.filter_inferences.app",
}
# Not a task of the workflow: on a schedule, the age of the oldest review item (template.yaml).
CHECK_FUNCTION = ("CheckWaitingReviewsFunction", "functions.check_waiting_reviews.app")
# Service integrations the ASL names by placeholder (template.yaml builds each for its partition).
SERVICE_INTEGRATIONS = {
    "LambdaInvoke": "arn:aws:states:::lambda:invoke",
    "SqsSendMessage": "arn:aws:states:::sqs:sendMessage",
    "AwsSdkS3PutObject": "arn:aws:states:::aws-sdk:s3:putObject",
    "AwsSdkCloudWatchPutMetricData": "arn:aws:states:::aws-sdk:cloudwatch:putMetricData",
}
BACKFILL_SERVICE_INTEGRATIONS = {
    "S3ListObjectsV2": "arn:aws:states:::s3:listObjectsV2",
    "S3PutObject": "arn:aws:states:::s3:putObject",
    "StartExecutionSync": "arn:aws:states:::states:startExecution.sync:2",
}
BACKFILL_RESULTS_BUCKET = "scones-unlimited-backfill-results"  # stack-owned on AWS
GROUND_TRUTH_BUCKET = "scones-unlimited-ground-truth"  # stack-owned on AWS
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
EXECUTE_ASL = {"stepfunctions": {"execute_state_machine": True}}  # moto config
IMAGE_BUCKET = "scones-unlimited-images"  # the bucket the sample events name
LOCAL_ENDPOINT_NAME = "local-image-classifier"
LOCAL_STACK_NAME = "local"  # the metrics' stack dimension in local runs
REVIEW_QUEUE = "ReviewQueue"  # its logical id in template.yaml
GROUND_TRUTH = "GroundTruthBucket"  # its logical id in template.yaml


def load_handlers() -> dict[str, Handler]:
    """The three `lambda_handler`s, importable as on Lambda where the layer is on the path.

    Import them after setting the environment (endpoints, credentials): like Lambda, the
    handlers create their clients at import time.
    """
    if str(LAYER) not in sys.path:
        sys.path.append(str(LAYER))
    return {
        name: importlib.import_module(module).lambda_handler for name, module in FUNCTIONS.items()
    }


def function_environment(
    *, region: str, endpoint_name: str, threshold: float | None = None
) -> dict[str, str]:
    """What template.yaml gives the functions (Globals and each function's own variables), with
    its parameters' defaults."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "POWERTOOLS_SERVICE_NAME": "image-classification",
        "POWERTOOLS_METRICS_NAMESPACE": "SconesUnlimited",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "IMAGE_BUCKET_NAME": IMAGE_BUCKET,
        "ENDPOINT_NAME": endpoint_name,
        "CONFIDENCE_THRESHOLD": str(
            template.confidence_threshold() if threshold is None else threshold
        ),
        "AUDIT_SAMPLE_PERCENT": template.parameter_defaults()["AuditSamplePercent"],
        "GROUND_TRUTH_BUCKET": GROUND_TRUTH_BUCKET,
        "STACK_NAME": LOCAL_STACK_NAME,
    }


def function_arns(region: str) -> dict[str, str]:
    return {name: f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}" for name in FUNCTIONS}


def definition_substitutions(region: str, review_queue_url: str, threshold: str) -> dict[str, str]:
    """What template.yaml's DefinitionSubstitutions give the ASL, in moto's partition."""
    arns = {f"{name}Arn": arn for name, arn in function_arns(region).items()}
    review = {
        "ReviewQueueUrl": review_queue_url,
        "ConfidenceThreshold": threshold,
        "GroundTruthBucketName": GROUND_TRUTH_BUCKET,
        "MetricsNamespace": template.globals_environment()["POWERTOOLS_METRICS_NAMESPACE"],
        "StackName": LOCAL_STACK_NAME,
    }
    return arns | SERVICE_INTEGRATIONS | review


def definition(substitutions: dict[str, str], path: Path = DEFINITION) -> str:
    """The ASL with each `${Name}` replaced, as DefinitionSubstitutions does."""
    text = path.read_text()
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    return text


def create_review_queue(sqs: Any) -> str:
    """The template's review queue (FIFO, encrypted...) in moto; returns its URL. Idempotent."""
    declared = template.properties(REVIEW_QUEUE)
    attributes = {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in declared.items()
    }
    name = f"{REVIEW_QUEUE}.fifo" if declared.get("FifoQueue") else REVIEW_QUEUE
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def create_ground_truth_bucket(s3: Any, region: str) -> None:
    """The template's ground-truth bucket in moto, versioned as the template says. Idempotent."""
    try:
        s3.create_bucket(Bucket=GROUND_TRUTH_BUCKET, **bucket_location(region))
    except s3.exceptions.BucketAlreadyOwnedByYou:
        return
    versioning = template.properties(GROUND_TRUTH)["VersioningConfiguration"]
    s3.put_bucket_versioning(
        Bucket=GROUND_TRUTH_BUCKET, VersioningConfiguration={"Status": versioning["Status"]}
    )


def create_state_machine(stepfunctions: Any, region: str, name: str = "ImageClassification") -> str:
    """Create the state machine from the ASL file, and the review queue and ground-truth bucket
    it writes to; moto rejects a definition it cannot parse.

    The threshold is the functions' own (`CONFIDENCE_THRESHOLD`), as the template passes its
    one parameter to both."""
    moto_speed.reuse_interpreter_work()
    sdk_requests.shape_sdk_requests()
    sqs = boto3.client("sqs", region_name=region)
    create_ground_truth_bucket(boto3.client("s3", region_name=region), region)
    threshold = os.environ.get("CONFIDENCE_THRESHOLD") or str(template.confidence_threshold())
    substitutions = definition_substitutions(region, create_review_queue(sqs), threshold)
    created = stepfunctions.create_state_machine(
        name=name, definition=definition(substitutions), roleArn=STATES_ROLE_ARN
    )
    return created["stateMachineArn"]


def backfill_substitutions(image_state_machine_arn: str) -> dict[str, str]:
    """What template.yaml's DefinitionSubstitutions give the backfill ASL, in moto's partition;
    concurrency and tolerance are the template's parameter defaults."""
    defaults = template.parameter_defaults()
    return BACKFILL_SERVICE_INTEGRATIONS | {
        "ImageBucketName": IMAGE_BUCKET,
        "ImageClassificationStateMachineArn": image_state_machine_arn,
        "BackfillResultsBucketName": BACKFILL_RESULTS_BUCKET,
        "BackfillConcurrency": defaults["BackfillConcurrency"],
        "BackfillToleratedFailurePercent": defaults["BackfillToleratedFailurePercent"],
    }


def create_backfill_state_machine(
    stepfunctions: Any, s3: Any, region: str, image_state_machine_arn: str
) -> str:
    """The backfill state machine and its results bucket, with moto's Distributed Map gaps
    bridged (`local.emulation.distributed_map`)."""
    moto_speed.reuse_interpreter_work()
    sdk_requests.shape_sdk_requests()
    distributed_map.bridge()
    s3.create_bucket(Bucket=BACKFILL_RESULTS_BUCKET, **bucket_location(region))
    text = definition(backfill_substitutions(image_state_machine_arn), BACKFILL_DEFINITION)
    created = stepfunctions.create_state_machine(
        name="Backfill", definition=text, roleArn=STATES_ROLE_ARN
    )
    return created["stateMachineArn"]


def run_execution(
    stepfunctions: Any,
    state_machine_arn: str,
    event: dict,
    *,
    name: str,
    poll_seconds: float = 0.01,
) -> dict[str, Any]:
    """Start an execution and poll it to a terminal status; returns `describe_execution`."""
    execution_arn = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(event)
    )["executionArn"]
    return wait_for(stepfunctions, execution_arn, poll_seconds=poll_seconds)


def wait_for(
    stepfunctions: Any,
    execution_arn: str,
    *,
    poll_seconds: float = 0.01,
    limit_seconds: float | None = None,
) -> dict:
    """Poll an execution to a terminal status; returns `describe_execution`. With
    `limit_seconds`, TimeoutError once the execution has run that long here."""
    deadline = None if limit_seconds is None else time.monotonic() + limit_seconds
    while True:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
        if execution["status"] in TERMINAL:
            return execution
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(
                f"{execution_arn} still {execution['status']} after {limit_seconds} s"
            )
        time.sleep(poll_seconds)


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, then restore the previous ones."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def bucket_location(region: str) -> dict:
    """us-east-1 takes no location constraint; every other region requires one."""
    if region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}


@dataclass
class LocalAws:
    """The workflow's AWS side on this machine, ready for executions."""

    s3: Any
    stepfunctions: Any
    state_machine_arn: str
    handlers: dict[str, Handler]


def start_local_aws(stack: ExitStack, region: str, moto_config: dict = EXECUTE_ASL) -> LocalAws:
    """moto (the empty image bucket; Step Functions executing the ASL) and the real handlers
    behind the Lambda Invoke server, all stopped when `stack` closes. Set the functions'
    environment first: the handlers are imported here, and create their clients on import."""
    stack.enter_context(mock_aws(config=moto_config))
    handlers = load_handlers()
    server = stack.enter_context(LambdaInvokeServer(handlers))
    stack.enter_context(environment({"AWS_ENDPOINT_URL_LAMBDA": server.url}))
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=IMAGE_BUCKET, **bucket_location(region))
    stepfunctions = boto3.client("stepfunctions", region_name=region)
    return LocalAws(s3, stepfunctions, create_state_machine(stepfunctions, region), handlers)
