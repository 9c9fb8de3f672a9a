"""Local execution: the state machine in moto against the same three handlers called directly.

Both sides run in this one process against the same stand-ins (moto's S3, the loopback
endpoint serving the local model). One side is `start_execution` polled every 10 ms to a
terminal status; the other calls the three handlers in sequence, each given the body the ASL
would hand it. The ratio is what moto's interpreter, the Lambda Invoke server and polling add.
"""

import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import Figure, ratio_value
from bench.workspace import (
    ENDPOINT_NAME,
    EXECUTION_ID,
    IMAGE_BUCKET,
    REGION,
    WORKDIR,
    function_environment,
    synthetic_data,
)
from local.emulation import workflow
from local.emulation.endpoint import ModelEndpoint
from local.emulation.lambda_server import Handler, InvocationContext
from local.model.classifier import ensure_model
from training.common.lst import read_lst

BOUND = 6
MIN_IMAGES = 20
# Where the handlers' logs go, open for the whole run: Powertools' logger keeps the stream it
# first saw, so a stream closed after one section would fail every later section's log lines.
DISCARDED_LOGS = open(os.devnull, "w")  # noqa: SIM115
POLL_SECONDS = 0.01
EXPECTED_ERRORS = {"ConfidenceThresholdNotMet"}  # a low-confidence image: the workflow as designed


@dataclass
class LocalWorkflow:
    """The state machine in moto and the handlers behind it, ready to run one image by key."""

    stepfunctions: Any
    state_machine_arn: str
    handlers: dict[str, Handler]
    executions: int = 0

    def execute(self, key: str) -> None:
        """One execution, polled to its end; anything but success or low confidence is an error."""
        self.executions += 1
        execution = workflow.run_execution(
            self.stepfunctions,
            self.state_machine_arn,
            {"s3_key": key},
            name=f"bench-{self.executions:04d}",
            poll_seconds=POLL_SECONDS,
        )
        if execution["status"] != "SUCCEEDED" and execution.get("error") not in EXPECTED_ERRORS:
            raise RuntimeError(f"{key}: execution {execution['status']} {execution.get('error')}")

    def call_in_sequence(self, key: str) -> None:
        """The three handlers in the ASL's order, each given the previous body, in-process."""
        body: dict[str, Any] = {"s3_key": key}
        arns = workflow.function_arns(REGION)
        try:
            for name, handler in self.handlers.items():
                event = {"body": body, "execution_id": EXECUTION_ID}
                body = handler(event, InvocationContext(name, arns[name]))["body"]
        except Exception as error:
            if type(error).__name__ not in EXPECTED_ERRORS:
                raise


def spread_test_images(data_dir: Path, count: int) -> list[Path]:
    """`count` test images taken at even steps through the split, so both classes appear."""
    entries = read_lst(data_dir / "test.lst")
    step = max(len(entries) // count, 1)
    return [data_dir / "test" / entry.path for entry in entries[::step][:count]]


@contextmanager
def local_workflow(data_dir: Path, images: list[Path]) -> Iterator[LocalWorkflow]:
    """moto (S3 holding the images, Step Functions executing the ASL), the model endpoint and
    the Lambda Invoke server; the handlers' logs go nowhere, for both sides alike."""
    model = ensure_model(data_dir, WORKDIR / "model.npz")
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # it logs each failed execution
    with ExitStack() as stack:
        stack.enter_context(redirect_stdout(DISCARDED_LOGS))
        endpoint = stack.enter_context(ModelEndpoint(model, endpoint_name=ENDPOINT_NAME))
        endpoints = {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url}
        stack.enter_context(workflow.environment(function_environment() | endpoints))
        local_aws = workflow.start_local_aws(stack, REGION)
        for image in images:
            local_aws.s3.put_object(
                Bucket=IMAGE_BUCKET, Key=f"test/{image.name}", Body=image.read_bytes()
            )
        yield LocalWorkflow(
            local_aws.stepfunctions, local_aws.state_machine_arn, local_aws.handlers
        )


def seconds_of(run: Callable[[str], None], key: str) -> float:
    started = time.perf_counter()
    run(key)
    return time.perf_counter() - started


def paired_times(flow: LocalWorkflow, keys: list[str]) -> tuple[list[float], list[float]]:
    """Per image, the execution's and the direct calls' seconds, in alternating order, after
    one discarded warm-up of each (moto parses the definition on its first execution)."""
    flow.execute(keys[0])
    flow.call_in_sequence(keys[0])
    executions, direct = [], []
    for number, key in enumerate(keys):
        if number % 2 == 0:
            executions.append(seconds_of(flow.execute, key))
            direct.append(seconds_of(flow.call_in_sequence, key))
        else:
            direct.append(seconds_of(flow.call_in_sequence, key))
            executions.append(seconds_of(flow.execute, key))
    return executions, direct


def measure(repeats: int) -> list[Figure]:
    """Median execution over median direct sequence, over max(repeats, 20) images."""
    data_dir = synthetic_data()
    images = spread_test_images(data_dir, max(repeats, MIN_IMAGES))
    with local_workflow(data_dir, images) as flow:
        executions, direct = paired_times(flow, [f"test/{image.name}" for image in images])
    execution_ms = statistics.median(executions) * 1000
    direct_ms = statistics.median(direct) * 1000
    return [
        Figure(
            "execution",
            f"state machine vs direct ({len(images)} images)",
            ratio_value(execution_ms, direct_ms),
            f"<= {BOUND}x",
            execution_ms <= BOUND * direct_ms,
        )
    ]
