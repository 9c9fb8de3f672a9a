"""WorkflowType=EXPRESS: a second stack, deployed beside the first, classifies an upload under
its own prefix, and audits it (AuditSamplePercent=100). Express executions cannot be described,
so the test reads what the run left: the capture record at the endpoint stand-in,
FilterInferences' log line for the image, the audit in the stack's review queue and its
waiting marker."""

import json

import pytest

from local import acceptance
from local.acceptance import IMAGE_BUCKET
from operations.reviewing import review_id
from tests.acceptance.conftest import inference_ids_of, wait_for, waiting_markers
from tests.acceptance.test_4_logs import json_lines, log_lines

STACK = f"{acceptance.STACK}-express"
PREFIX = "incoming-express/"


@pytest.fixture(scope="module")
def express_stack(run):
    acceptance.deploy(
        run.account,
        run.workspace,
        STACK,
        WorkflowType="EXPRESS",
        UploadPrefix=PREFIX,
        AuditSamplePercent="100",
    )
    yield run.outputs(STACK)
    acceptance.delete(run.account, STACK)


def test_an_express_stack_classifies_an_upload_and_audits_it(
    run, express_stack, account, s3, sqs, logs, images
):
    """AuditSamplePercent=100: the confident image succeeds and is also queued as an audit,
    named by the inference id the endpoint captured, with its waiting marker (named by the
    upload's review id)."""
    stepfunctions = account.client("stepfunctions")
    machine = stepfunctions.describe_state_machine(stateMachineArn=express_stack["StateMachineArn"])
    assert machine["type"] == "EXPRESS"
    image = images.confident[30]  # classified by no other test: its capture is this one's
    key = f"{PREFIX}express.png"

    etag = s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=image.data)["ETag"].strip('"')

    [inference_id] = wait_for(lambda: inference_ids_of(run, image.data))
    function = express_stack["FilterInferencesFunctionArn"]

    def judged() -> list[dict]:
        """FilterInferences' line about the upload"""
        lines = json_lines(log_lines(logs, function))
        return [line for line in lines if line.get("s3_key") == key]

    [line] = wait_for(judged)
    assert line["audit"] is True
    queue = express_stack["ReviewQueueUrl"]
    received = wait_for(
        lambda: sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0).get("Messages")
    )
    [message] = [json.loads(m["Body"]) for m in received]
    assert message == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": key,
        "etag": etag,
        "inferences": message["inferences"],
        "threshold": 0.9,
        "execution_id": message["execution_id"],
        "inference_id": inference_id,
        "review_id": review_id(IMAGE_BUCKET, key, etag),
        "reason": "audit",
    }
    assert max(message["inferences"]) == pytest.approx(image.confidence)
    bucket = express_stack["GroundTruthBucketName"]
    markers = wait_for(lambda: waiting_markers(s3, bucket))
    assert markers == {message["review_id"]: message}
