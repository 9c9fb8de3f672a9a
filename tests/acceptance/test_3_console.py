"""Console-style executions: `start-execution` with each events/sfn_*.json, as a person would
start one from the Step Functions console, ends as events/expected.json says."""

import json
import uuid

import pytest

from local.acceptance import IMAGE_BUCKET, ROOT
from tests.acceptance.conftest import events_file, finished

EXPECTED = events_file("expected.json")
STATE_MACHINE_INPUTS = {
    name: entry["execution"] for name, entry in EXPECTED.items() if "execution" in entry
}


@pytest.fixture(scope="module")
def named_images(s3, images):
    """The images the events name, uploaded: an unsure one where the event expects low
    confidence, a confident one where it expects success; a missing image stays missing."""
    confident, unsure = iter(images.confident[-10:]), iter(images.unsure[-3:])
    for name, outcome in STATE_MACHINE_INPUTS.items():
        key = events_file(name)["s3_key"]
        if outcome.get("error") == "ConfidenceThresholdNotMet":
            s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=next(unsure).data)
        elif outcome["status"] == "SUCCEEDED":
            s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=next(confident).data)


def test_every_state_machine_input_has_an_expected_outcome():
    names = {path.name for path in (ROOT / "events").glob("sfn_*.json")}
    assert names == set(STATE_MACHINE_INPUTS)


@pytest.mark.parametrize("name", sorted(STATE_MACHINE_INPUTS))
def test_a_console_execution_ends_as_designed(name, named_images, stepfunctions, outputs):
    started = stepfunctions.start_execution(
        stateMachineArn=outputs["StateMachineArn"],
        name=f"console-{uuid.uuid4()}",
        input=json.dumps(events_file(name)),
    )
    execution = finished(stepfunctions, started["executionArn"])
    expected = STATE_MACHINE_INPUTS[name]
    assert (execution["status"], execution.get("error")) == (
        expected["status"],
        expected.get("error"),
    )
