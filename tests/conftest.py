"""Shared fixtures: fake credentials before any client exists, moto, and a Lambda context."""

import os
from dataclasses import dataclass

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
)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402  (imported early so every later client is interceptable)


@pytest.fixture
def aws():
    """Every AWS API in moto for the duration of one test."""
    with mock_aws():
        yield


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()
