"""What the tests against a deployed stack share: the caller's session and the stack's outputs."""

import os

import boto3
import pytest

from tests.conftest import CALLER_AWS_ENVIRONMENT

# The variable aws-sam-cli-app-templates' integration tests read.
STACK_NAME = os.environ.get("AWS_SAM_STACK_NAME")
NEEDS_A_STACK_AND_AN_IMAGE = pytest.mark.skipif(
    not (STACK_NAME and os.environ.get("IMAGE_KEY")),
    reason="set AWS_SAM_STACK_NAME and IMAGE_KEY (an image's key) to test a deployed stack",
)


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    """The caller's own credentials: the test run replaces the environment's with fake ones."""
    caller = CALLER_AWS_ENVIRONMENT
    if caller["AWS_ACCESS_KEY_ID"]:
        return boto3.Session(
            aws_access_key_id=caller["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=caller["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=caller["AWS_SESSION_TOKEN"],
            region_name=caller["AWS_REGION"],
        )
    return boto3.Session(
        profile_name=caller["AWS_PROFILE"] or "default", region_name=caller["AWS_REGION"]
    )


@pytest.fixture(scope="module")
def stepfunctions(session):
    return session.client("stepfunctions")


@pytest.fixture(scope="module")
def state_machine_arn(session) -> str:
    return stack(session)["Outputs"]["StateMachineArn"]


def stack(session) -> dict[str, dict[str, str]]:
    """The stack's Outputs and Parameters, each as a name -> value dict."""
    described = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    return {
        "Outputs": {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]},
        "Parameters": {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]},
    }
