"""Against a deployed STANDARD stack: a backfill of a fresh prefix holding a copy of one image
and one non-image key, through the operator command's steps, on real Step Functions and S3. This is
what settles the role's permissions, `.sync:2` and ResultWriter's real files.

AWS_SAM_STACK_NAME=scones-unlimited-image-classification IMAGE_KEY=test/bicycle_s_000513.png \\
    make test ARGS=tests/integration
"""

import os
import uuid

import pytest

from operations import backfill
from tests.integration.conftest import NEEDS_A_STACK_AND_AN_IMAGE, stack

pytestmark = [pytest.mark.integration, NEEDS_A_STACK_AND_AN_IMAGE]


def test_a_backfill_gives_each_key_its_outcome_from_the_result_files(session):
    described = stack(session)
    image_bucket = described["Parameters"]["ImageBucketName"]
    prefix = f"integration-backfill/{uuid.uuid4()}/"
    s3 = session.client("s3")
    source = {"Bucket": image_bucket, "Key": os.environ["IMAGE_KEY"]}
    s3.copy_object(Bucket=image_bucket, Key=f"{prefix}photo.PNG", CopySource=source)
    s3.put_object(Bucket=image_bucket, Key=f"{prefix}notes.txt", Body=b"not an image")
    arn = described["Outputs"]["BackfillStateMachineArn"]
    clients = {"stepfunctions": session.client("stepfunctions"), "s3": s3}
    try:
        execution_arn = backfill.start(clients["stepfunctions"], arn, prefix, None)
        execution = backfill.wait(clients["stepfunctions"], execution_arn, progress_bar=False)
        assert execution["status"] == "SUCCEEDED", execution.get("cause")
        rows = backfill.results(clients, arn, execution_arn)
    finally:
        for name in ("photo.PNG", "notes.txt"):
            s3.delete_object(Bucket=image_bucket, Key=f"{prefix}{name}")
    outcomes = {row.key.removeprefix(prefix): row.outcome for row in rows}
    assert outcomes["notes.txt"] == "skipped"
    assert outcomes["photo.PNG"] in {"bicycle", "motorcycle", "needs_review"}
