"""`python -m operations.backfill`: what it refuses before starting, how long it waits, and a
batch that AWS failed beyond its tolerance.

moto never evaluates ToleratedFailurePercentage, so this batch is AWS's: Step Functions'
answers come from botocore's Stubber (each request checked against the service model), and
the result files are written to moto's S3 in the layout AWS documents for ResultWriter. The
image bucket, listed before a batch starts, is moto's."""

import csv
import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from operations import backfill
from operations.cli import progress_display
from operations.errors import BackfillFailed, InvalidPrefix, NothingToBackfill, StillRunning
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
            "ItemReader": {"Parameters": {"Bucket": IMAGE_BUCKET, "Prefix.$": "$.prefix"}},
            "ResultWriter": {"Parameters": {"Bucket": RESULTS_BUCKET, "Prefix": "results"}},
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


def describe_machine(stub: Stubber) -> None:
    """Step Functions' answer naming the deployed definition (its map's reader and writer)."""
    machine = {"stateMachineArn": STATE_MACHINE, "name": "scones-Backfill", "type": "STANDARD"}
    machine |= {"roleArn": "arn:aws:iam::123456789012:role/backfill"}
    stub.add_response(
        "describe_state_machine",
        machine | {"definition": json.dumps(DEFINITION), "creationDate": 0},
        {"stateMachineArn": STATE_MACHINE},
    )


def start_backfill(stub: Stubber, prefix: str = "old/") -> None:
    """The definition read (for the bucket to list), then the execution started."""
    describe_machine(stub)
    start = {
        "stateMachineArn": STATE_MACHINE,
        "name": _ANY,
        "input": json.dumps({"prefix": prefix}),
    }
    stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": 0}, start)


def failed_batch(stepfunctions, started_here: bool = True) -> Stubber:
    """What Step Functions answers, call by call, for a batch beyond its tolerance (started by
    this command, or by an earlier one whose wait this one resumes)."""
    stub = Stubber(stepfunctions)
    if started_here:
        start_backfill(stub)
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
    describe_machine(stub)
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


def _described(counts: dict, status: str = "FAILED") -> dict:
    return {
        "mapRunArn": MAP_RUN,
        "executionArn": EXECUTION,
        "status": status,
        "startDate": 0,
        "maxConcurrency": 4,
        "toleratedFailurePercentage": 5.0,
        "toleratedFailureCount": 0,
        "itemCounts": counts,
        "executionCounts": counts,
    }


@pytest.fixture
def clients(image_bucket):
    """moto's S3 with a key under old/ in the image bucket and the batch's result files."""
    image_bucket.put_object(Bucket=IMAGE_BUCKET, Key="old/photo-1.jpg", Body=b"jpeg")
    image_bucket.create_bucket(Bucket=RESULTS_BUCKET)
    put_aws_layout(image_bucket)
    return {"s3": image_bucket, "stepfunctions": boto3.client("stepfunctions")}


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


def test_a_batch_that_failed_before_writing_results_still_fails_naming_its_error(
    image_bucket, capsys
):
    s3 = image_bucket
    s3.put_object(Bucket=IMAGE_BUCKET, Key="old/photo-1.jpg", Body=b"jpeg")
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


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (
            "photos/\udce9t\udce9/",  # how Python reads été from a shell that is not UTF-8
            "the prefix 'photos/\\udce9t\\udce9/' is not UTF-8 (character 7 is a lone "
            "surrogate: bytes that were not UTF-8?): S3 keys, and so prefixes, are UTF-8 of at "
            "most 1,024 bytes; nothing started",
        ),
        (
            "\ud800/",
            "the prefix '\\ud800/' is not UTF-8 (character 0 is a lone surrogate: bytes that "
            "were not UTF-8?): S3 keys, and so prefixes, are UTF-8 of at most 1,024 bytes; "
            "nothing started",
        ),
        (
            "é" * 512 + "/",
            "the prefix is 1,025 bytes in UTF-8: S3 keys, and so prefixes, are UTF-8 of at "
            "most 1,024 bytes; nothing started",
        ),
    ],
)
def test_a_prefix_no_key_can_start_with_is_refused_before_anything_starts(prefix, message):
    clients = {"s3": boto3.client("s3"), "stepfunctions": boto3.client("stepfunctions")}
    args = backfill.parse_args(["--prefix", prefix, "--state-machine-arn", STATE_MACHINE])
    no_answers = Stubber(clients["s3"]), Stubber(clients["stepfunctions"])  # any call fails
    with no_answers[0], no_answers[1], pytest.raises(InvalidPrefix) as refused:
        backfill.backfill(clients, args)
    assert str(refused.value) == message


def test_the_longest_prefix_s3_allows_is_checked_not_refused(clients):
    prefix = "é" * 511 + "x/"  # 1,024 bytes
    with Stubber(clients["stepfunctions"]) as stub, pytest.raises(NothingToBackfill):
        describe_machine(stub)
        backfill.backfill(
            clients, backfill.parse_args(["--prefix", prefix, "--state-machine-arn", STATE_MACHINE])
        )


def test_main_names_an_invalid_prefix_in_one_line(aws, capsys):
    argv = ["--prefix", "\ud800/", "--state-machine-arn", STATE_MACHINE]

    assert backfill.main(argv) == 1

    assert capsys.readouterr() == (
        "",
        "error: InvalidPrefix: the prefix '\\ud800/' is not UTF-8 (character 0 is a lone "
        "surrogate: bytes that were not UTF-8?): S3 keys, and so prefixes, are UTF-8 of at most "
        "1,024 bytes; nothing started\n",
    )


@pytest.mark.parametrize(
    ("prefix", "said"),
    [
        ("2026/06/", f"no key under '2026/06/' in s3://{IMAGE_BUCKET}: nothing started"),
        (
            "/old/",
            f"no key under '/old/' in s3://{IMAGE_BUCKET}: nothing started (keys are matched "
            "from their first character: did you mean 'old/'?)",
        ),
        (
            "/",
            f"no key under '/' in s3://{IMAGE_BUCKET}: nothing started (keys are matched from "
            "their first character: '/' is not the bucket's root)",
        ),
    ],
)
def test_a_prefix_with_no_keys_is_said_before_a_batch_starts(clients, prefix, said):
    args = backfill.parse_args(["--prefix", prefix, "--state-machine-arn", STATE_MACHINE])
    with Stubber(clients["stepfunctions"]) as stub, pytest.raises(NothingToBackfill) as nothing:
        describe_machine(stub)  # and no start_execution: the Stubber would refuse it
        backfill.backfill(clients, args)
    stub.assert_no_pending_responses()
    assert str(nothing.value) == said


def test_a_slash_prefix_starts_a_batch_over_the_keys_that_start_with_a_slash(clients):
    """Allowed, as the literal prefix it is (--wait-minutes 0 ends the command once started)."""
    clients["s3"].put_object(Bucket=IMAGE_BUCKET, Key="/scanned/photo.png", Body=b"png")
    args = backfill.parse_args(
        ["--prefix", "/", "--state-machine-arn", STATE_MACHINE, "--wait-minutes", "0"]
    )
    with Stubber(clients["stepfunctions"]) as stub, pytest.raises(StillRunning):
        start_backfill(stub, prefix="/")
        still_running(stub)
        backfill.backfill(clients, args)
    stub.assert_no_pending_responses()


def test_help_says_what_a_prefix_matches_and_how_long_the_command_waits(capsys):
    with pytest.raises(SystemExit) as exited:
        backfill.parse_args(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "--prefix PREFIX a key prefix ending in /, e.g. test/, matched from the key's first "
        "character: / alone lists only the keys that start with /, never the whole bucket"
    ) in out
    assert (
        "--wait-minutes WAIT_MINUTES stop waiting (not the batch) after this many minutes, with "
        "exit status 3 (default: sized to the batch: 10 minutes, plus 20 s for each round of the "
        "map's concurrency over the keys it lists)"
    ) in out


def still_running(stub: Stubber, total: int | None = None) -> None:
    """One poll of a running batch: its execution, and its map run once it has one."""
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": STATE_MACHINE,
            "status": "RUNNING",
            "startDate": 0,
        },
        {"executionArn": EXECUTION},
    )
    if total is None:
        stub.add_response("list_map_runs", {"mapRuns": []}, {"executionArn": EXECUTION})
        return
    stub.add_response("list_map_runs", {"mapRuns": [_map_run()]}, {"executionArn": EXECUTION})
    counts = {name: 0 for name in ("pending", "timedOut", "aborted", "resultsWritten")}
    counts |= {"succeeded": 2, "failed": 0, "running": 4, "total": total}
    stub.add_response("describe_map_run", _described(counts, "RUNNING"), {"mapRunArn": MAP_RUN})


def test_the_default_wait_is_sized_to_the_batch():
    assert backfill.wait_limit_seconds(total=0, max_concurrency=4) == 600
    assert backfill.wait_limit_seconds(total=8, max_concurrency=4) == 640
    assert backfill.wait_limit_seconds(total=9, max_concurrency=4) == 660
    assert backfill.wait_limit_seconds(total=100_000, max_concurrency=4) == 600 + 25_000 * 20
    assert backfill.wait_limit_seconds(total=30_000, max_concurrency=0) == 600 + 3 * 20  # 0: no cap


def test_wait_stops_at_the_limit_sized_to_the_batch_and_leaves_it_running():
    stepfunctions = boto3.client("stepfunctions")
    readings = iter([0.0, 639.0, 641.0])  # seconds: started, after the first poll, the second
    with Stubber(stepfunctions) as stub, pytest.raises(StillRunning) as stopped:
        still_running(stub, total=8)  # 8 keys, 4 at once: 600 + 2 x 20 s
        still_running(stub, total=8)  # and no stop_execution: the Stubber would refuse it
        backfill.wait(stepfunctions, EXECUTION, 0, progress_bar=False, clock=readings.__next__)
    stub.assert_no_pending_responses()
    assert str(stopped.value) == (
        "stopped waiting after 10.7 minutes (sized to the 8 keys listed so far; --wait-minutes "
        f"to change it); the batch goes on: {EXECUTION}"
    )


def test_main_stops_waiting_with_status_3_and_says_how_to_watch_again(clients, tmp_path, capsys):
    csv_path = tmp_path / "old batch.csv"
    argv = ["--prefix", "old/", "--state-machine-arn", STATE_MACHINE, "--csv", str(csv_path)]
    with Stubber(clients["stepfunctions"]) as stub:
        start_backfill(stub)
        still_running(stub)
        status = backfill.main([*argv, "--wait-minutes", "0"], connect=lambda region: clients)
    stub.assert_no_pending_responses()

    assert status == backfill.STILL_RUNNING == 3
    assert capsys.readouterr() == (
        f"watch it again: python -m operations.backfill --execution-arn {EXECUTION} "
        f"--state-machine-arn {STATE_MACHINE} --csv '{csv_path}'\n"
        f"look at it: aws stepfunctions describe-execution --execution-arn {EXECUTION}\n",
        "error: StillRunning: stopped waiting after 0 minutes (--wait-minutes); the batch goes "
        f"on: {EXECUTION}\n",
    )
    assert not csv_path.exists()


def test_watching_again_reads_the_batch_it_names_without_starting_one(clients, tmp_path, capsys):
    argv = ["--execution-arn", EXECUTION, "--state-machine-arn", STATE_MACHINE]
    argv += ["--csv", str(tmp_path / "b.csv")]
    with failed_batch(clients["stepfunctions"], started_here=False) as stub:
        assert backfill.main(argv, connect=lambda region: clients) == 1
    stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "3 keys: 2 failed, 1 bicycle",
        "failed: 1 EndpointError, 1 StepFunctions.ExecutionLimitExceededException",
        f"3 rows: {tmp_path / 'b.csv'}",
    ]
    assert err.splitlines()[-1] == (
        "error: BackfillFailed: States.ExceedToleratedFailureThreshold: The specified tolerated "
        "failure threshold was exceeded"
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--prefix", "old/", "--execution-arn", EXECUTION],
        ["--prefix", "old/", "--wait-minutes", "-1"],
    ],
)
def test_a_batch_to_start_or_one_to_watch_and_a_wait_that_is_not_negative(argv, capsys):
    with pytest.raises(SystemExit) as exit_status:
        backfill.parse_args([*argv, "--state-machine-arn", STATE_MACHINE])
    assert exit_status.value.code == 2
