"""WorkflowType=EXPRESS: a second stack, deployed beside the first, classifies an upload under
its own prefix. Express executions cannot be described, so the test reads what the run left:
the capture record at the endpoint stand-in, and FilterInferences' log line for the image."""

import base64
import json

import pytest

from local import acceptance
from local.acceptance import IMAGE_BUCKET
from tests.acceptance.conftest import wait_for
from tests.acceptance.test_4_logs import json_lines, log_lines

STACK = f"{acceptance.STACK}-express"
PREFIX = "incoming-express/"


@pytest.fixture(scope="module")
def express_stack(run):
    acceptance.deploy(
        run.account, run.workspace, STACK, WorkflowType="EXPRESS", UploadPrefix=PREFIX
    )
    yield run.outputs(STACK)
    acceptance.delete(run.account, STACK)


def captured_inputs(run) -> list[bytes]:
    """The image bytes of every data-capture record the endpoint stand-in wrote."""
    found = []
    for path in sorted(run.workspace.captures.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            request = json.loads(line)["captureData"]["endpointInput"]
            found.append(base64.b64decode(request["data"]))
    return found


def test_an_express_stack_classifies_an_upload(run, express_stack, account, s3, logs, images):
    stepfunctions = account.client("stepfunctions")
    machine = stepfunctions.describe_state_machine(stateMachineArn=express_stack["StateMachineArn"])
    assert machine["type"] == "EXPRESS"
    image = images.confident[30]  # classified by no other test: its capture is this one's
    key = f"{PREFIX}express.png"

    s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=image.data)

    wait_for(lambda: image.data in captured_inputs(run))
    function = express_stack["FilterInferencesFunctionArn"]

    def judged() -> list[dict]:
        """FilterInferences' line about the upload"""
        lines = json_lines(log_lines(logs, function))
        return [line for line in lines if line.get("s3_key") == key]

    wait_for(judged)
