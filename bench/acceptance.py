"""Two figures from the stack `make acceptance` deploys into LocalStack (Docker, about 2 min of
set-up): an upload to the end of its execution, and a backfill's child executions per second.

- upload to end: arrivals turned on (`operations.arrivals`), one upload to warm the three
  functions' containers, then 20 uploads one after another, each timed from `put_object` to
  the `stopDate` of the execution it started (S3 -> EventBridge -> rule -> state machine ->
  three Lambda containers and the model endpoint stand-in). Median of the 20.
- backfill: one backfill over 40 confident images, from `start_execution` to the batch's
  `stopDate`; the children are real executions of the per-image state machine, up to
  BackfillConcurrency (4) at once, so LocalStack starts more containers of each function.

LocalStack runs here on the same two cores as the functions' containers and the model: the
figures bound the emulated path, not what AWS does (README, Backfill and volume).
"""

import json
import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.figures import Figure, milliseconds
from bench.workspace import WORKDIR
from local import acceptance
from local.emulation import template, workflow
from operations import arrivals

UPLOADS = 20
BACKFILL_IMAGES = 40
UPLOAD_BOUND_SECONDS = 3.0  # the median, warm; measured 0.42 s here
BACKFILL_BOUND_PER_SECOND = 0.5  # children a second; measured 1.35 here (new containers included)
POLL_SECONDS = 0.05
WAIT_SECONDS = 120


def confident_images(run: acceptance.Run, count: int) -> list[bytes]:
    """`count` test images the stand-in model is sure of, as the acceptance tests choose them."""
    threshold = template.confidence_threshold() + acceptance.CONFIDENCE_MARGIN
    found = [
        path.read_bytes() for path, confidence in run.judged_images() if confidence >= threshold
    ]
    return (found * (1 + count // max(len(found), 1)))[:count]


def execution_for(stepfunctions, machine: str, key: str) -> dict:
    """The ended execution whose input names `key`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for listed in stepfunctions.list_executions(stateMachineArn=machine, maxResults=10)[
            "executions"
        ]:
            if listed["status"] == "RUNNING":
                continue
            described = stepfunctions.describe_execution(executionArn=listed["executionArn"])
            if json.loads(described["input"]).get("s3_key") == key:
                return described
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"no ended execution for {key} within {WAIT_SECONDS} s")


def upload_seconds(run: acceptance.Run, outputs: dict, images: list[bytes]) -> list[float]:
    s3, stepfunctions = run.account.client("s3"), run.account.client("stepfunctions")
    seconds = []
    for number, data in enumerate(images):
        key = f"incoming/bench-{uuid.uuid4().hex}.png"
        sent = datetime.now(UTC)
        s3.put_object(Bucket=acceptance.IMAGE_BUCKET, Key=key, Body=data)
        execution = execution_for(stepfunctions, outputs["StateMachineArn"], key)
        if number:  # the first warms the containers
            seconds.append((execution["stopDate"] - sent).total_seconds())
    return seconds


def backfill_per_second(run: acceptance.Run, outputs: dict, images: list[bytes]) -> float:
    s3, stepfunctions = run.account.client("s3"), run.account.client("stepfunctions")
    prefix = f"bench-backfill-{uuid.uuid4().hex[:8]}/"
    for number, data in enumerate(images):
        s3.put_object(Bucket=acceptance.IMAGE_BUCKET, Key=f"{prefix}{number:03}.png", Body=data)
    started = stepfunctions.start_execution(
        stateMachineArn=outputs["BackfillStateMachineArn"], input=json.dumps({"prefix": prefix})
    )
    execution = workflow.wait_for(
        stepfunctions,
        started["executionArn"],
        poll_seconds=POLL_SECONDS,
        limit_seconds=WAIT_SECONDS * 3,
    )
    if execution["status"] != "SUCCEEDED":
        raise RuntimeError(f"the backfill {execution['status']}: {execution.get('cause')}")
    return len(images) / (execution["stopDate"] - execution["startDate"]).total_seconds()


def measure(repeats: int) -> list[Figure]:
    workspace = acceptance.Workspace(WORKDIR / "acceptance")
    with acceptance.deployed_stack(acceptance.DEFAULT_PORT, workspace, download_init=False) as run:
        outputs = run.outputs()
        arrivals.turn_on(run.account.client("s3"), acceptance.IMAGE_BUCKET)
        uploads = upload_seconds(run, outputs, confident_images(run, UPLOADS + 1))
        per_second = backfill_per_second(run, outputs, confident_images(run, BACKFILL_IMAGES))
    median_ms = statistics.median(uploads) * 1000
    return [
        Figure(
            "localstack",
            f"upload to end (median of {UPLOADS}, warm)",
            f"{milliseconds(median_ms)} ms",
            f"<= {UPLOAD_BOUND_SECONDS:g} s",
            median_ms <= UPLOAD_BOUND_SECONDS * 1000,
        ),
        Figure(
            "localstack",
            f"backfill children/s ({BACKFILL_IMAGES})",
            f"{per_second:.2f} /s",
            f">= {BACKFILL_BOUND_PER_SECOND:g} /s",
            per_second >= BACKFILL_BOUND_PER_SECOND,
        ),
    ]
