"""`python -m operations.backfill` reading a batch that AWS failed beyond its tolerance.

moto never evaluates ToleratedFailurePercentage, so this batch is AWS's: Step Functions'
answers come from botocore's Stubber (each request checked against the service model), and
the result files are written to moto's S3 in the layout AWS documents for ResultWriter."""

import csv
import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from operations import backfill
from operations.cli import progress_display
from operations.errors import BackfillFailed
from tests.conftest import IMAGE_BUCKET

RESULTS_BUCKET = "stack-backfillresultsbucket-1x2y3z"
STATES = "arn:aws:states:us-east-1:123456789012"
STATE_MACHINE = f"{STATES}:stateMachine:scones-Backfill"
EXECUTION = f"{STATES}:execution:scones-Backfill:backfill-1"
MAP_RUN = f"{STATES}:mapRun:scones-Backfill/Backfill:5a8f6e3c-0b7d-4c1e-9f2a-3d4b5c6d7e8f"
CHILD = f"{STATES}:execution:scones-ImageClassification:{{}}"
ITEM = f"{STATES}:execution:scones-Backfill/Backfill:{{}}"
DEFINITION = {
    "States": {
        "ClassifyEachImage": {
            "ResultWriter": {"Parameters": {"Bucket": RESULTS_BUCKET, "Prefix": "results"}}
        }
    }
}
FOLDER = f"results/{MAP_RUN.split(':')[-1]}/"


def entry(n: int, status: str, **fields) -> dict:
    """A child execution as ResultWriter lists it (AWS's documented fields)."""
    return {
        "ExecutionArn": ITEM.format(f"item-{n}"),
        "Input": json.dumps({"s3_bucket": IMAGE_BUCKET, "s3_key": f"old/photo-{n}.jpg"}),
        "InputDetails": {"Included": True},
        "Name": f"item-{n}",
        "StartDate": "2026-05-01T10:00:00.000Z",
        "StateMachineArn": f"{STATES}:stateMachine:scones-Backfill/Backfill",
        "Status": status,
        "StopDate": "2026-05-01T10:00:02.000Z",
        **fields,
    }


def child_failure(n: int, error: str) -> str:
    """States.TaskFailed's cause: the child's describe_execution output."""
    return json.dumps({"ExecutionArn": CHILD.format(n), "Status": "FAILED", "Error": error})


def put_aws_layout(s3) -> None:
    succeeded = [
        entry(1, "SUCCEEDED", Output=json.dumps(outcome))
        for outcome in [
            {
                "s3_key": "old/photo-1.jpg",
                "outcome": "bicycle",
                "label": "bicycle",
                "confidence": 0.97,
                "execution_arn": CHILD.format(1),
            }
        ]
    ]
    failed = [
        entry(2, "FAILED", Error="EndpointError", Cause=child_failure(2, "EndpointError")),
        entry(3, "FAILED", Error="StepFunctions.ExecutionLimitExceededException", Cause="limit"),
    ]
    files = {"SUCCEEDED": succeeded, "FAILED": failed}
    manifest = {"DestinationBucket": RESULTS_BUCKET, "MapRunArn": MAP_RUN, "ResultFiles": {}}
    manifest["ResultFiles"]["PENDING"] = []
    for status, entries in files.items():
        key, body = f"{FOLDER}{status}_0.json", json.dumps(entries).encode()
        s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=body)
        manifest["ResultFiles"][status] = [{"Key": key, "Size": len(body)}]
    s3.put_object(Bucket=RESULTS_BUCKET, Key=f"{FOLDER}manifest.json", Body=json.dumps(manifest))


def failed_batch(stepfunctions) -> Stubber:
    """What Step Functions answers, call by call, for a batch beyond its tolerance."""
    stub = Stubber(stepfunctions)
    request = {"prefix": "old/"}
    start = {"stateMachineArn": STATE_MACHINE, "name": _ANY, "input": json.dumps(request)}
    stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": 0}, start)
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": STATE_MACHINE,
            "status": "FAILED",
            "startDate": 0,
            "error": "States.ExceedToleratedFailureThreshold",
            "cause": "The specified tolerated failure threshold was exceeded",
        },
        {"executionArn": EXECUTION},
    )
    runs = {"mapRuns": [_map_run()]}
    stub.add_response("list_map_runs", runs, {"executionArn": EXECUTION})
    counts = {name: 0 for name in ("pending", "running", "timedOut", "aborted", "resultsWritten")}
    counts |= {"succeeded": 1, "failed": 2, "total": 3}
    stub.add_response("describe_map_run", _described(counts), {"mapRunArn": MAP_RUN})
    stub.add_response("list_map_runs", runs, {"executionArn": EXECUTION})
    definition = json.dumps(DEFINITION)
    machine = {"stateMachineArn": STATE_MACHINE, "name": "scones-Backfill", "type": "STANDARD"}
    machine |= {"roleArn": "arn:aws:iam::123456789012:role/backfill"}
    stub.add_response(
        "describe_state_machine",
        machine | {"definition": definition, "creationDate": 0},
        {"stateMachineArn": STATE_MACHINE},
    )
    return stub


class _Any:
    def __eq__(self, other) -> bool:
        return True


_ANY = _Any()


def _map_run() -> dict:
    return {
        "executionArn": EXECUTION,
        "mapRunArn": MAP_RUN,
        "stateMachineArn": f"{STATES}:stateMachine:scones-Backfill/Backfill",
        "startDate": 0,
    }


def _described(counts: dict) -> dict:
    return {
        "mapRunArn": MAP_RUN,
        "executionArn": EXECUTION,
        "status": "FAILED",
        "startDate": 0,
        "maxConcurrency": 4,
        "toleratedFailurePercentage": 5.0,
        "toleratedFailureCount": 0,
        "itemCounts": counts,
        "executionCounts": counts,
    }


@pytest.fixture
def clients(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    put_aws_layout(s3)
    return {"s3": s3, "stepfunctions": boto3.client("stepfunctions")}


def test_a_failed_batch_still_prints_its_counts_writes_its_csv_then_fails(
    clients, tmp_path, capsys
):
    args = backfill.parse_args(
        ["--prefix", "old/", "--state-machine-arn", STATE_MACHINE, "--csv", str(tmp_path / "b.csv")]
    )
    with failed_batch(clients["stepfunctions"]) as stub, pytest.raises(BackfillFailed) as failure:
        backfill.backfill(clients, args)
    stub.assert_no_pending_responses()
    assert str(failure.value).startswith("States.ExceedToleratedFailureThreshold: ")
    assert capsys.readouterr().out.splitlines()[:2] == [
        "3 keys: 2 failed, 1 bicycle",
        "failed: 1 EndpointError, 1 StepFunctions.ExecutionLimitExceededException",
    ]
    with (tmp_path / "b.csv").open(newline="") as file:
        rows = [tuple(row.values()) for row in csv.DictReader(file)]
    assert rows == [
        ("old/photo-1.jpg", "bicycle", "bicycle", "0.97", "", CHILD.format(1)),
        ("old/photo-2.jpg", "failed", "", "", "EndpointError", CHILD.format(2)),
        ("old/photo-3.jpg", "failed", "", "", "StepFunctions.ExecutionLimitExceededException", ""),
    ]


def test_the_state_machine_is_required(monkeypatch, capsys):
    monkeypatch.delenv("BACKFILL_STATE_MACHINE_ARN", raising=False)
    with pytest.raises(SystemExit) as exit_status:
        backfill.parse_args(["--prefix", "old/"])
    assert exit_status.value.code == 2
    assert "BACKFILL_STATE_MACHINE_ARN" in capsys.readouterr().err


def test_the_manifest_is_where_aws_writes_it():
    assert backfill.manifest_key("results", MAP_RUN) == f"{FOLDER}manifest.json"
    assert backfill.manifest_key("", MAP_RUN) == f"{MAP_RUN.split(':')[-1]}/manifest.json"


def test_a_batch_that_failed_before_writing_results_still_fails_naming_its_error(aws, capsys):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=RESULTS_BUCKET)  # empty: no manifest was written
    clients = {"s3": s3, "stepfunctions": boto3.client("stepfunctions")}
    args = backfill.parse_args(["--prefix", "old/", "--state-machine-arn", STATE_MACHINE])
    with failed_batch(clients["stepfunctions"]), pytest.raises(BackfillFailed) as failure:
        backfill.backfill(clients, args)
    assert str(failure.value).startswith("States.ExceedToleratedFailureThreshold: ")
    out = capsys.readouterr().out
    assert f"no manifest at s3://{RESULTS_BUCKET}/{FOLDER}manifest.json" in out


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_in_a_log_is_a_plain_line_at_each_tenth():
    log = io.StringIO()
    with progress_display(log, "ended", "key") as show:
        for ended in [0, 0, 1, 2, 5, 9, 10, 20, 20]:
            show(ended, 20)

    assert log.getvalue().splitlines() == [
        "ended: 0/20 keys",
        "ended: 2/20 keys",
        "ended: 5/20 keys",
        "ended: 9/20 keys",
        "ended: 10/20 keys",
        "ended: 20/20 keys",
    ]


def test_progress_on_a_terminal_is_a_redrawn_bar():
    terminal = Terminal()
    with progress_display(terminal, "ended", "key") as show:
        show(3, 6)
        show(6, 6)

    assert "\r" in terminal.getvalue() and "6/6" in terminal.getvalue()


def test_no_progress_without_a_stream(capsys):
    with progress_display(None, "ended", "key") as show:
        show(1, 2)

    assert capsys.readouterr() == ("", "")
