"""Classify every image under a key prefix in one backfill execution; print counts and a CSV.

    python -m operations.backfill --prefix test/                    # counts by outcome
    python -m operations.backfill --prefix 2026/05/ --csv may.csv   # and one CSV row per key

The state machine is the stack's `BackfillStateMachineArn` output (`--state-machine-arn`, or
BACKFILL_STATE_MACHINE_ARN). The command waits with a progress bar from the map run's item
counts, then reads the results from where the map's ResultWriter wrote them (only there: the
layout AWS documents, `manifest.json` and the `SUCCEEDED_n.json` / `FAILED_n.json` it names).
It exits 1 only when the batch itself failed (an invalid request, or more failed keys than the
stack's BackfillToleratedFailurePercent); low confidence and skipped keys are outcomes.
"""

import argparse
import csv
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from operations.cli import denied_or_none, progress_display, run
from operations.errors import BackfillFailed, ResultsNotFound

MAP_STATE = "ClassifyEachImage"  # statemachine/backfill.asl.json
RUNNING = "RUNNING"
ENDED_ITEMS = ("succeeded", "failed", "timedOut", "aborted")
POLL_SECONDS = 2.0


@dataclass
class Row:
    """One key of the backfill, as the CSV holds it."""

    key: str
    outcome: str  # bicycle, motorcycle, needs_review, skipped or failed
    label: str = ""
    confidence: float | str = ""
    error: str = ""
    child_execution: str = ""


def start(stepfunctions: Any, state_machine_arn: str, prefix: str, bucket: str | None) -> str:
    """Start one backfill; its execution ARN."""
    request = {"prefix": prefix} | ({"s3_bucket": bucket} if bucket else {})
    return stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        name=f"backfill-{uuid.uuid4()}",
        input=json.dumps(request),
    )["executionArn"]


def map_run_arn(stepfunctions: Any, execution_arn: str) -> str | None:
    """The execution's map run, once the map has started one."""
    runs = stepfunctions.list_map_runs(executionArn=execution_arn)["mapRuns"]
    return runs[0]["mapRunArn"] if runs else None


def wait(
    stepfunctions: Any, execution_arn: str, poll_seconds: float = POLL_SECONDS, progress_bar=True
) -> dict:
    """Poll the execution to its end, showing the map run's ended items as they grow."""
    with progress_display(sys.stderr if progress_bar else None, "ended", "key") as show:
        while True:
            execution = stepfunctions.describe_execution(executionArn=execution_arn)
            run_arn = map_run_arn(stepfunctions, execution_arn)
            if run_arn:
                counts = stepfunctions.describe_map_run(mapRunArn=run_arn)["itemCounts"]
                show(sum(counts[name] for name in ENDED_ITEMS), counts["total"])
            if execution["status"] != RUNNING:
                return execution
            time.sleep(poll_seconds)


def results_location(stepfunctions: Any, state_machine_arn: str) -> tuple[str, str]:
    """The bucket and prefix the map's ResultWriter writes to, read from the deployed
    definition (a failed batch has no output that names them)."""
    definition = json.loads(
        stepfunctions.describe_state_machine(stateMachineArn=state_machine_arn)["definition"]
    )
    parameters = definition["States"][MAP_STATE]["ResultWriter"]["Parameters"]
    return parameters["Bucket"], parameters.get("Prefix", "").rstrip("/")


def manifest_key(prefix: str, map_run: str) -> str:
    """Where AWS writes a map run's manifest: `<Prefix>/<map run id>/manifest.json`."""
    return "/".join(part for part in (prefix, map_run.split(":")[-1], "manifest.json") if part)


def result_entries(s3: Any, bucket: str, key: str) -> Iterator[tuple[str, dict]]:
    """(status, entry) for each child execution the manifest's result files list."""
    try:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchKey":
            raise ResultsNotFound(f"no manifest at s3://{bucket}/{key}") from None
        raise denied_or_none(error, f"read s3://{bucket}/{key}") or error from None
    for status, files in manifest["ResultFiles"].items():
        for file in files:
            body = s3.get_object(Bucket=manifest["DestinationBucket"], Key=file["Key"])["Body"]
            for entry in json.loads(body.read()):
                yield status, entry


def row_of(status: str, entry: dict) -> Row:
    """A SUCCEEDED entry's output is the item's outcome; a FAILED entry's cause is, when a child
    ran, the child's describe_execution output (its ARN); PENDING keys never ran."""
    key = json.loads(entry["Input"])["s3_key"]
    if status == "SUCCEEDED":
        output = json.loads(entry["Output"])
        return Row(
            key,
            output["outcome"],
            output.get("label", ""),
            output.get("confidence", ""),
            output.get("error", ""),
            output.get("execution_arn", ""),
        )
    if status == "FAILED":
        return Row(key, "failed", error=entry.get("Error") or "", child_execution=child_of(entry))
    return Row(key, "not_run", error=status)


def child_of(entry: dict) -> str:
    try:
        return json.loads(entry.get("Cause") or "")["ExecutionArn"]
    except (json.JSONDecodeError, KeyError, TypeError):  # the child never started
        return ""


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(field.name for field in fields(Row))
        writer.writerows(astuple(row) for row in rows)


def summary(rows: list[Row]) -> str:
    """Counts by outcome, most common first, and the failed keys' errors."""
    counts = Counter(row.outcome for row in rows)
    errors = Counter(row.error for row in rows if row.outcome == "failed")
    lines = [f"{len(rows)} keys: " + ", ".join(f"{n} {name}" for name, n in counts.most_common())]
    if errors:
        lines.append("failed: " + ", ".join(f"{n} {name}" for name, n in errors.most_common()))
    return "\n".join(lines)


def results(clients: dict[str, Any], state_machine_arn: str, execution_arn: str) -> list[Row]:
    """One row per key, sorted, read from the map run's ResultWriter files alone; none when
    the batch failed before its map ran (an invalid request)."""
    run_arn = map_run_arn(clients["stepfunctions"], execution_arn)
    if not run_arn:
        return []
    bucket, prefix = results_location(clients["stepfunctions"], state_machine_arn)
    entries = result_entries(clients["s3"], bucket, manifest_key(prefix, run_arn))
    return sorted((row_of(*entry) for entry in entries), key=lambda row: row.key)


def backfill(clients: dict[str, Any], args: argparse.Namespace) -> str:
    """Start, wait, read the results; BackfillFailed after printing them when the batch failed."""
    stepfunctions = clients["stepfunctions"]
    execution_arn = start(stepfunctions, args.state_machine_arn, args.prefix, args.bucket)
    execution = wait(stepfunctions, execution_arn, args.poll_seconds)
    failed = execution["status"] != "SUCCEEDED"
    try:
        rows = results(clients, args.state_machine_arn, execution_arn)
    except ResultsNotFound as missing:
        if not failed:
            raise
        rows = []
        print(f"{missing}: the batch failed before writing its results")
    if rows:
        print(summary(rows))
    if rows and args.csv:
        write_csv(rows, args.csv)
        print(f"{len(rows)} rows: {args.csv}")
    if failed:
        cause = execution.get("cause", "")
        raise BackfillFailed(f"{execution.get('error', execution['status'])}: {cause}")
    return f"backfill {execution_arn}: SUCCEEDED"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m operations.backfill", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--prefix", required=True, help="a key prefix ending in /, e.g. test/")
    parser.add_argument("--bucket", help="the image bucket (the only one allowed; optional)")
    parser.add_argument("--csv", type=Path, help="write one row per key to this file")
    parser.add_argument(
        "--state-machine-arn",
        default=os.environ.get("BACKFILL_STATE_MACHINE_ARN"),
        help="the stack's BackfillStateMachineArn output (default: $BACKFILL_STATE_MACHINE_ARN)",
    )
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration)")
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.state_machine_arn:
        parser.error("--state-machine-arn is required (or set BACKFILL_STATE_MACHINE_ARN)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def command() -> str:
        session = boto3.session.Session(region_name=args.region)
        clients = {"stepfunctions": session.client("stepfunctions"), "s3": session.client("s3")}
        return backfill(clients, args)

    return run(command)


if __name__ == "__main__":
    sys.exit(main())
