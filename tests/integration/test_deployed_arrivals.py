"""Against a deployed stack with arrivals on (`python -m operations.arrivals on`): an upload
starts one execution whose input names the key exactly as uploaded, spaces and accents
included. This is what settles, on real AWS, that S3's EventBridge events carry the key as is.

AWS_SAM_STACK_NAME=scones-unlimited-image-classification IMAGE_KEY=test/bicycle_s_000513.png \\
    make test ARGS=tests/integration
"""

import json
import os
import time
import uuid

import pytest

from tests.integration.conftest import NEEDS_A_STACK_AND_AN_IMAGE, stack

pytestmark = [pytest.mark.integration, NEEDS_A_STACK_AND_AN_IMAGE]
WAIT_SECONDS = 120


def started_for(stepfunctions, state_machine_arn: str, key: str) -> list[dict]:
    """Executions started in the last minutes whose input names `key`."""
    listed = stepfunctions.list_executions(stateMachineArn=state_machine_arn, maxResults=50)
    described = [
        stepfunctions.describe_execution(executionArn=execution["executionArn"])
        for execution in listed["executions"]
    ]
    return [e for e in described if json.loads(e["input"]).get("s3_key") == key]


def test_an_upload_with_spaces_and_accents_starts_one_execution_on_that_key(
    session, stepfunctions, state_machine_arn
):
    parameters = stack(session)["Parameters"]
    image_bucket = parameters["ImageBucketName"]
    key = f"{parameters['UploadPrefix']}integration photo été {uuid.uuid4()}.png"
    s3 = session.client("s3")
    s3.copy_object(
        Bucket=image_bucket,
        Key=key,
        CopySource={"Bucket": image_bucket, "Key": os.environ["IMAGE_KEY"]},
    )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not (executions := started_for(stepfunctions, state_machine_arn, key)):
            assert time.monotonic() < deadline, f"no execution started for {key!r}"
            time.sleep(5)
        assert len(executions) == 1
        assert json.loads(executions[0]["input"])["etag"]
    finally:
        s3.delete_object(Bucket=image_bucket, Key=key)
