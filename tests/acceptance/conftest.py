"""What the acceptance tests share: the stack `make acceptance` deployed into LocalStack, its
outputs read from CloudFormation (never from constants), and the images to send it.

Outside `make acceptance` (no `ACCEPTANCE_STACK`), tests/conftest.py leaves this folder out.
"""

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.acceptance import CONFIDENCE_MARGIN, ROOT, Run
from local.emulation import template, workflow

EXECUTION_SECONDS = 120  # a cold start of each function in its container included
POLL_SECONDS = 0.25


@pytest.fixture(scope="session")
def run() -> Run:
    found = Run.from_environment()
    assert found is not None, "run the acceptance tests with make acceptance"
    return found


@pytest.fixture(scope="session")
def account(run):
    return run.account


@pytest.fixture(scope="session")
def outputs(run) -> dict[str, str]:
    return run.outputs()


@pytest.fixture(scope="session")
def stepfunctions(account):
    return account.client("stepfunctions")


@pytest.fixture(scope="session")
def s3(account):
    return account.client("s3")


@pytest.fixture(scope="session")
def sqs(account):
    return account.client("sqs")


@pytest.fixture(scope="session")
def logs(account):
    return account.client("logs")


@dataclass(frozen=True)
class Image:
    name: str
    data: bytes
    confidence: float  # the local model's larger probability for it

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode()


@dataclass(frozen=True)
class Images:
    """The SYNTHETIC test images, sorted by what the stack's model endpoint makes of them."""

    confident: list[Image]
    unsure: list[Image]


@pytest.fixture(scope="session")
def images(run) -> Images:
    threshold = template.confidence_threshold()
    found = [
        Image(path.name, path.read_bytes(), confidence) for path, confidence in run.judged_images()
    ]
    confident = [image for image in found if image.confidence >= threshold + CONFIDENCE_MARGIN]
    unsure = [image for image in found if image.confidence < threshold - CONFIDENCE_MARGIN]
    assert len(confident) >= 40 and len(unsure) >= 6, "too few images on either side"
    return Images(confident, unsure)


def poll(what: Callable[[], object], seconds: float = EXECUTION_SECONDS) -> object:
    """`what()` once it is truthy, or its last falsy answer after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (found := what()) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return found


def wait_for(what: Callable[[], object], seconds: float = EXECUTION_SECONDS) -> object:
    """`what()` once it is truthy; fails the test when it is not within `seconds`."""
    found = poll(what, seconds)
    assert found, f"not within {seconds} s: {what.__doc__ or what}"
    return found


def finished(stepfunctions, execution_arn: str) -> dict:
    """The execution, once it has ended."""
    return workflow.wait_for(
        stepfunctions, execution_arn, poll_seconds=POLL_SECONDS, limit_seconds=EXECUTION_SECONDS
    )


def command(run: Run, module: str, *arguments: str) -> subprocess.CompletedProcess:
    """One of the project's commands (`python -m operations....`) against the stack."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=run.environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def events_file(name: str) -> dict:
    return json.loads((Path(ROOT) / "events" / name).read_text())


def capture_records(run: Run) -> list[dict]:
    """Every data-capture record the model endpoint stand-in wrote, oldest first."""
    return [
        json.loads(line)
        for path in sorted(run.workspace.captures.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def inference_ids_of(run: Run, image: bytes) -> list[str]:
    """The inference ids ClassifyImage sent with these image bytes, as the capture records them."""
    sent = base64.b64encode(image).decode()
    return [
        record["eventMetadata"]["inferenceId"]
        for record in capture_records(run)
        if record["captureData"]["endpointInput"]["data"] == sent
    ]


def waiting_markers(s3, bucket: str) -> dict[str, dict]:
    """Review id (the upload's) -> the review message its `waiting/` marker in the ground-truth
    bucket holds."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="waiting/").get("Contents", [])
    return {
        item["Key"].removeprefix("waiting/"): json.loads(
            s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        )
        for item in listed
    }
