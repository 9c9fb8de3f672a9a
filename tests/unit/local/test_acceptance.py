"""local.acceptance (`make acceptance`) without Docker or LocalStack: the one-line reasons it
gives before starting anything, and after a failed deploy."""

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from local import acceptance, containers


def test_a_free_port_is_no_problem():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert acceptance.port_problem(port) is None


def test_a_taken_port_is_said_with_the_next_one_to_try():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]

        problem = acceptance.port_problem(port)

    assert problem == (
        f"port {port} on 127.0.0.1 is taken: stop what listens there "
        f"(ss -ltnp 'sport = :{port}'), or choose another: "
        f'make acceptance ARGS="--port {port + 1}"'
    )


@dataclass(frozen=True)
class StubbedAccount(acceptance.Account):
    """The account with its boto3 client factory replaced by one stubbed client."""

    cloudformation: object = None

    def client(self, service: str):
        assert service == "cloudformation"
        return self.cloudformation


STACK = "scones-acceptance"
DEPLOY_STARTED = datetime(2025, 12, 4, 20, 0, 0, tzinfo=UTC)


def event(number: int, logical_id: str, resource_type: str, status: str, reason=None) -> dict:
    stack_id = f"arn:aws:cloudformation:us-east-1:000000000000:stack/{STACK}/1"
    stack_event = {
        "StackId": stack_id,
        "EventId": f"event-{number}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": datetime(2025, 12, 4, 20, 0, number, tzinfo=UTC),
        "ResourceStatus": status,
    }
    return stack_event | ({"ResourceStatusReason": reason} if reason else {})


@pytest.fixture
def cloudformation():
    """A CloudFormation client that answers only what each test scripts, and checks that it
    all was asked."""
    client = boto3.client("cloudformation", region_name=acceptance.REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_the_failing_resource_is_the_first_that_failed_not_the_stack(cloudformation):
    """CloudFormation lists events newest first; the cause is the oldest failure, the rest
    are the cancellations and the rollback it set off."""
    client, stubber = cloudformation
    events = [  # newest first, as describe_stack_events answers
        event(6, STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
        event(5, "ImagesQueue", "AWS::SQS::Queue", "DELETE_FAILED", "still in use"),
        event(4, STACK, "AWS::CloudFormation::Stack", "CREATE_FAILED", "resources failed"),
        event(3, "ImagesQueue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource creation cancelled"),
        event(2, "ClassifyImageFunction", "AWS::Lambda::Function", "CREATE_FAILED", "no layer"),
        event(1, "ClassifyImageFunction", "AWS::Lambda::Function", "CREATE_IN_PROGRESS"),
        event(0, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    assert acceptance.failing_resource(account, STACK, since=DEPLOY_STARTED) == (
        "ClassifyImageFunction (AWS::Lambda::Function): no layer"
    )


def test_a_failed_resource_without_a_reason_says_so(cloudformation):
    client, stubber = cloudformation
    events = [event(1, "ImagesQueue", "AWS::SQS::Queue", "CREATE_FAILED")]
    stubber.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    assert acceptance.failing_resource(account, STACK, since=DEPLOY_STARTED) == (
        "ImagesQueue (AWS::SQS::Queue): no reason given"
    )


def test_the_stacks_own_reason_when_no_resource_failed(cloudformation):
    client, stubber = cloudformation
    events = [
        event(2, STACK, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "bad template"),
        event(1, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    assert acceptance.failing_resource(account, STACK, since=DEPLOY_STARTED) == (
        f"{STACK} (AWS::CloudFormation::Stack): bad template"
    )


def test_failures_of_an_earlier_deploy_are_not_this_ones(cloudformation):
    """After a failed update, the stack's history still holds the first deploy's events."""
    client, stubber = cloudformation
    events = [
        event(9, "ClassifyImageFunction", "AWS::Lambda::Function", "UPDATE_FAILED", "timeout"),
        event(2, "ImagesQueue", "AWS::SQS::Queue", "CREATE_FAILED", "an earlier failure"),
    ]
    stubber.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    later = DEPLOY_STARTED.replace(second=5)
    assert acceptance.failing_resource(account, STACK, since=later) == (
        "ClassifyImageFunction (AWS::Lambda::Function): timeout"
    )


def test_no_failed_resource_when_there_is_no_stack(cloudformation):
    """`sam deploy` can fail before the stack exists: then its own last line is the reason."""
    client, stubber = cloudformation
    stubber.add_client_error(
        "describe_stack_events",
        service_error_code="ValidationError",
        service_message=f"Stack with id {STACK} does not exist",
        http_status_code=400,
        expected_params={"StackName": STACK},
    )
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    assert acceptance.failing_resource(account, STACK, since=DEPLOY_STARTED) is None


def test_parameter_overrides_are_the_local_names_and_architecture_plus_the_changes():
    assert acceptance.parameter_overrides(LogLevel="DEBUG") == [
        f"EndpointName={acceptance.ENDPOINT_NAME}",
        f"ImageBucketName={acceptance.IMAGE_BUCKET}",
        f"Architecture={acceptance.ARCHITECTURE}",
        "AuditSamplePercent=0",
        "LogLevel=DEBUG",
    ]
    assert acceptance.parameter_overrides(EndpointName="another", AuditSamplePercent="100") == [
        "EndpointName=another",
        f"ImageBucketName={acceptance.IMAGE_BUCKET}",
        f"Architecture={acceptance.ARCHITECTURE}",
        "AuditSamplePercent=100",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "Building...\n\nError: Failed to create changeset\n  \n",
            "Error: Failed to create changeset",
        ),
        ("", "no reason given"),
        ("\n   \n", "no reason given"),
    ],
)
def test_the_reason_from_a_commands_output_is_its_last_line(text, line):
    assert containers.last_line(text) == line


def described(status: str) -> dict:
    stack = {"StackName": STACK, "CreationTime": DEPLOY_STARTED, "StackStatus": status}
    return {"Stacks": [stack]}


def test_a_stack_whose_creation_failed_is_deleted_for_the_next_run(cloudformation):
    client, stubber = cloudformation
    stubber.add_response("describe_stacks", described("ROLLBACK_COMPLETE"), {"StackName": STACK})
    stubber.add_response("delete_stack", {}, {"StackName": STACK})
    stubber.add_response("describe_stacks", described("DELETE_COMPLETE"), {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    acceptance.delete_if_never_created(account, STACK)


def test_a_stack_whose_update_failed_stays_as_it_rolled_back(cloudformation):
    client, stubber = cloudformation
    rolled_back = described("UPDATE_ROLLBACK_COMPLETE")
    stubber.add_response("describe_stacks", rolled_back, {"StackName": STACK})
    account = StubbedAccount("http://127.0.0.1:4566", cloudformation=client)

    acceptance.delete_if_never_created(account, STACK)  # no delete_stack: the stubber has none


def test_without_docker_it_stops_at_once_with_one_line_naming_the_fix(tmp_path):
    """No `docker` on PATH: nothing is started, and the one line says what to do."""
    finished = subprocess.run(
        [sys.executable, "-m", "local.acceptance"],
        cwd=acceptance.ROOT,
        env={**os.environ, "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.splitlines() == [
        "no Docker engine: the `docker` command is not installed: the functions run in Docker "
        "containers; start a Docker engine and run again"
    ]
