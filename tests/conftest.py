"""Shared fixtures: fake credentials before any client exists, moto, a Lambda context, and a
loopback SageMaker endpoint whose answers each test scripts."""

import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics.provider import cold_start
from moto import mock_aws  # imported before any handler, so its clients are interceptable

from local.emulation.endpoint import ModelEndpoint
from local.emulation.lambda_server import InvocationContext

# Kept for tests/integration, which talk to a deployed stack with the caller's own credentials.
CALLER_AWS_ENVIRONMENT = {
    name: os.environ.get(name)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
} | {"AWS_REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")}

# tests/acceptance runs only against the stack `make acceptance` deploys into LocalStack.
collect_ignore = [] if "ACCEPTANCE_STACK" in os.environ else ["acceptance"]

# Set before boto3 creates any client (handlers create theirs at import time, as on Lambda).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="image-classification",
    POWERTOOLS_METRICS_NAMESPACE="SconesUnlimited",
    IMAGE_BUCKET_NAME="scones-unlimited-images",  # the bucket the sample events name
    ENDPOINT_NAME="scones-test-endpoint",
    CONFIDENCE_THRESHOLD="0.90",
    AUDIT_SAMPLE_PERCENT="0",  # no audit by chance: a test that wants one chooses it
    GROUND_TRUTH_BUCKET="scones-unlimited-ground-truth",
    STACK_NAME="test-stack",
)


IMAGE_BUCKET = os.environ["IMAGE_BUCKET_NAME"]
ENDPOINT_NAME = os.environ["ENDPOINT_NAME"]


@dataclass
class ScriptedModel:
    """Stands behind the loopback endpoint: answers per image bytes, else `default`.

    An answer that is an exception is raised, as a failing model container would.
    """

    default: list[float] = field(default_factory=lambda: [0.95, 0.05])
    answers: dict[bytes, object] = field(default_factory=dict)

    def __call__(self, image: bytes) -> list[float]:
        answer = self.answers.get(image, self.default)
        if isinstance(answer, Exception):
            raise answer
        return answer


def pytest_configure(config: pytest.Config) -> None:
    """Start the endpoint before any test module imports a handler: clients read the URL once."""
    config.scripted_model = ScriptedModel()
    config.capture_dir = Path(tempfile.mkdtemp(prefix="data-capture-"))
    config.model_endpoint = ModelEndpoint(
        config.scripted_model, endpoint_name=ENDPOINT_NAME, capture_dir=config.capture_dir
    )
    config.model_endpoint.__enter__()
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = config.model_endpoint.url


def pytest_unconfigure(config: pytest.Config) -> None:
    config.model_endpoint.__exit__(None, None, None)
    shutil.rmtree(config.capture_dir, ignore_errors=True)


@pytest.fixture
def captured_records(pytestconfig: pytest.Config):
    """Reads every data-capture record the test endpoint has written so far."""

    def read() -> list[dict]:
        files = sorted(pytestconfig.capture_dir.rglob("*.jsonl"))
        return [json.loads(line) for file in files for line in file.read_text().splitlines()]

    return read


@pytest.fixture
def model(pytestconfig: pytest.Config) -> ScriptedModel:
    """The endpoint's model, reset for each test."""
    scripted: ScriptedModel = pytestconfig.scripted_model
    yield scripted
    scripted.answers.clear()
    scripted.default = [0.95, 0.05]


@pytest.fixture
def json_logs():
    """Reads the structured log lines the handlers write (they share one Powertools logger)."""
    from functions.serialize_image_data import app

    buffer = io.StringIO()
    previous = app.logger.registered_handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    app.logger.registered_handler.setStream(previous)


@pytest.fixture
def aws():
    """Every AWS API in moto for the duration of one test."""
    with mock_aws():
        yield


@pytest.fixture
def image_bucket(aws):
    """The configured image bucket, empty, in moto; returns an S3 client."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=IMAGE_BUCKET)
    return s3


@pytest.fixture(autouse=True)
def reset_powertools():
    """Powertools keeps metrics, default dimensions and the cold-start flag per process (its
    Metrics instances share one registry): every test starts cold with none of them, as
    powertools-lambda-python's own metrics tests do."""
    metrics = Metrics()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    cold_start.reset_cold_start_flag()
    yield


@pytest.fixture
def lambda_context() -> InvocationContext:
    """The one Lambda context the tests hand a handler: the local Invoke server's own."""
    return InvocationContext(
        function_name="test-function",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:test-function",
        aws_request_id="52fdfc07-2182-154f-163f-5f0f9a621d72",
    )
