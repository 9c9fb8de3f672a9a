"""Against a deployed stack: runs only when AWS_SAM_STACK_NAME names one (and AWS credentials
are set), the variable aws-sam-cli-app-templates' integration tests read.

AWS_SAM_STACK_NAME=scones-unlimited-image-classification IMAGE_KEY=test/bicycle_s_000513.png \\
    make test ARGS=tests/integration
"""

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import STACK_NAME

EVENTS = Path(__file__).resolve().parents[2] / "events"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not STACK_NAME, reason="set AWS_SAM_STACK_NAME to test a deployed stack"),
]


def run(stepfunctions, state_machine_arn: str, event: dict) -> dict:
    execution_arn = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        name=f"integration-{uuid.uuid4()}",
        input=json.dumps(event),
    )["executionArn"]
    while (execution := stepfunctions.describe_execution(executionArn=execution_arn))[
        "status"
    ] == "RUNNING":
        time.sleep(1)
    return execution


def test_missing_image_fails_with_image_not_found(stepfunctions, state_machine_arn):
    event = json.loads((EVENTS / "sfn_missing_image.json").read_text())

    execution = run(stepfunctions, state_machine_arn, event)

    assert (execution["status"], execution["error"]) == ("FAILED", "ImageNotFound")


@pytest.mark.skipif(not os.environ.get("IMAGE_KEY"), reason="set IMAGE_KEY to an image's key")
def test_an_image_is_classified_or_fails_by_name(stepfunctions, state_machine_arn):
    execution = run(stepfunctions, state_machine_arn, {"s3_key": os.environ["IMAGE_KEY"]})

    if execution["status"] == "SUCCEEDED":
        output = json.loads(execution["output"])
        assert output["label"] in {"bicycle", "motorcycle"}
        assert output["confidence"] == max(output["inferences"])
    else:
        assert execution["error"] == "ConfidenceThresholdNotMet"
