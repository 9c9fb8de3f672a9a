"""Classify every image under a key prefix in one backfill execution; print counts and a CSV.

    python -m operations.backfill --prefix test/                    # counts by outcome
    python -m operations.backfill --prefix 2026/05/ --csv may.csv   # and one CSV row per key

The state machine is the stack's `BackfillStateMachineArn` output (`--state-machine-arn`, or
BACKFILL_STATE_MACHINE_ARN). Before starting, the command refuses a prefix no S3 key can start
with and says when no key starts with it. It waits with a progress bar from the map run's item
counts, then reads the results from where the map's ResultWriter wrote them (only there: the
layout AWS documents, `manifest.json` and the `SUCCEEDED_n.json` / `FAILED_n.json` it names).
It exits 1 when nothing started or the batch itself failed (an invalid request, or more failed
keys than the stack's BackfillToleratedFailurePercent); low confidence and skipped keys are
outcomes. Past `--wait-minutes` it stops waiting, not the batch, and exits 3, printing the
command that watches it again (`--execution-arn`).
"""

import argparse
import csv
import json
import math
import os
import shlex
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from operations.cli import denied_or_none, progress_display, run
from operations.errors import (
    BackfillFailed,
    BucketNotFound,
    InvalidPrefix,
    NothingToBackfill,
    ResultsNotFound,
    StillRunning,
)

MAP_STATE = "ClassifyEachImage"  # statemachine/backfill.asl.json
RUNNING = "RUNNING"
ENDED_ITEMS = ("succeeded", "failed", "timedOut", "aborted")
POLL_SECONDS = 2.0
STILL_RUNNING = 3  # the exit status when the command stopped waiting and the batch goes on
KEY_BYTES = 1024  # S3's longest key, in UTF-8
# The default wait: a fixed part for listing the prefix, starting the map and writing the
# results, and one part per round of the map's concurrency over the keys, each about 7 times
# the 3 s a child took on LocalStack (4 at once, 1.35 children a second: bench/README.md).
WAIT_FIXED_MINUTES = 10
WAIT_SECONDS_PER_ROUND = 20
MOST_AT_ONCE = 10_000  # a Distributed Map's children at once when MaxConcurrency is 0


@dataclass
class Row:
    """One key of the backfill, as the CSV holds it."""

    key: str
    outcome: str  # bicycle, motorcycle, needs_review, skipped or failed
    label: str = ""
    confidence: float | str = ""
    error: str = ""
    child_execution: str = ""


def check_prefix(prefix: str) -> None:
    """InvalidPrefix for a prefix no S3 key can start with: the state machine checks the rest
    (not empty, ending in /), but this one would pass it and fail deep inside the listing."""
    try:
        size = len(prefix.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise InvalidPrefix(
            f"the prefix {prefix!r} is not UTF-8 (character {error.start} is a lone surrogate: "
            f"bytes that were not UTF-8?): S3 keys, and so prefixes, are UTF-8 of at most "
            f"{KEY_BYTES:,} bytes; nothing started"
        ) from None
    if size > KEY_BYTES:
        raise InvalidPrefix(
            f"the prefix is {size:,} bytes in UTF-8: S3 keys, and so prefixes, are UTF-8 of at "
            f"most {KEY_BYTES:,} bytes; nothing started"
        )


def check_keys_under(s3: Any, bucket: str, prefix: str) -> None:
    """NothingToBackfill when no key starts with the prefix: one ListObjectsV2 of one key says
    so before a batch starts (what AWS's map reader does with an empty listing, neither moto
    nor LocalStack can show)."""
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            raise BucketNotFound(f"no bucket named '{bucket}'") from None
        raise denied_or_none(error, f"list s3://{bucket}/{prefix}") or error from None
    if listed["KeyCount"] == 0:
        raise NothingToBackfill(
            f"no key under '{prefix}' in s3://{bucket}: nothing started{_slash_hint(prefix)}"
        )


def _slash_hint(prefix: str) -> str:
    """A leading / is a character of the key like any other: say so when nothing matched."""
    if not prefix.startswith("/"):
        return ""
    if prefix.lstrip("/"):
        guess = f"did you mean '{prefix.lstrip('/')}'?"
    else:
        guess = "'/' is not the bucket's root"
    return f" (keys are matched from their first character: {guess})"


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


def wait_limit_seconds(total: int, max_concurrency: int) -> float:
    """How long a healthy batch of `total` keys may take, `max_concurrency` at once (0: the
    map's own most)."""
    rounds = math.ceil(total / (max_concurrency or MOST_AT_ONCE))
    return WAIT_FIXED_MINUTES * 60 + rounds * WAIT_SECONDS_PER_ROUND


def wait(
    stepfunctions: Any,
    execution_arn: str,
    poll_seconds: float = POLL_SECONDS,
    progress_bar=True,
    wait_minutes: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Poll the execution to its end, showing the map run's ended items as they grow.

    StillRunning past `wait_minutes` or, without it, past the limit sized to the keys the map
    run has listed so far (it grows as they do); the batch itself is left running."""
    started, total = clock(), 0
    limit = wait_limit_seconds(0, 0) if wait_minutes is None else wait_minutes * 60
    with progress_display(sys.stderr if progress_bar else None, "ended", "key") as show:
        while True:
            execution = stepfunctions.describe_execution(executionArn=execution_arn)
            run_arn = map_run_arn(stepfunctions, execution_arn)
            if run_arn:
                map_run = stepfunctions.describe_map_run(mapRunArn=run_arn)
                counts, total = map_run["itemCounts"], map_run["itemCounts"]["total"]
                show(sum(counts[name] for name in ENDED_ITEMS), total)
                if wait_minutes is None:
                    limit = wait_limit_seconds(total, map_run["maxConcurrency"])
            if execution["status"] != RUNNING:
                return execution
            if clock() - started >= limit:
                sized = f"sized to the {total} keys listed so far; --wait-minutes to change it"
                why = sized if wait_minutes is None else "--wait-minutes"
                raise StillRunning(
                    f"stopped waiting after {round(limit / 60, 1):g} minutes ({why}); the batch "
                    f"goes on: {execution_arn}"
                )
            time.sleep(poll_seconds)


def how_to_watch_again(args: argparse.Namespace, execution_arn: str) -> str:
    """The commands that watch a batch this command stopped waiting for."""
    region = ["--region", args.region] if args.region else []
    again = ["python", "-m", "operations.backfill", "--execution-arn", execution_arn]
    again += ["--state-machine-arn", args.state_machine_arn, *region]
    again += ["--csv", str(args.csv)] if args.csv else []
    look = ["aws", "stepfunctions", "describe-execution", "--execution-arn", execution_arn]
    return f"watch it again: {shlex.join(again)}\nlook at it: {shlex.join([*look, *region])}"


def map_state(stepfunctions: Any, state_machine_arn: str) -> dict[str, Any]:
    """The deployed definition's Distributed Map: its reader and writer name the buckets."""
    definition = json.loads(
        stepfunctions.describe_state_machine(stateMachineArn=state_machine_arn)["definition"]
    )
    return definition["States"][MAP_STATE]


def listed_bucket(stepfunctions: Any, state_machine_arn: str) -> str:
    """The bucket the map's ItemReader lists: the image bucket, whatever `--bucket` says."""
    return map_state(stepfunctions, state_machine_arn)["ItemReader"]["Parameters"]["Bucket"]


def results_location(stepfunctions: Any, state_machine_arn: str) -> tuple[str, str]:
    """The bucket and prefix the map's ResultWriter writes to, read from the deployed
    definition (a failed batch has no output that names them)."""
    parameters = map_state(stepfunctions, state_machine_arn)["ResultWriter"]["Parameters"]
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


def begin(clients: dict[str, Any], args: argparse.Namespace) -> str:
    """Check the prefix and that a key starts with it, then start the batch; its ARN."""
    check_prefix(args.prefix)
    bucket = listed_bucket(clients["stepfunctions"], args.state_machine_arn)
    check_keys_under(clients["s3"], bucket, args.prefix)
    return start(clients["stepfunctions"], args.state_machine_arn, args.prefix, args.bucket)


def backfill(clients: dict[str, Any], args: argparse.Namespace) -> str:
    """Start (or take up) a batch, wait, read the results; BackfillFailed after printing them
    when the batch failed, StillRunning after printing how to watch it again."""
    stepfunctions = clients["stepfunctions"]
    execution_arn = args.execution_arn or begin(clients, args)
    try:
        execution = wait(
            stepfunctions, execution_arn, args.poll_seconds, wait_minutes=args.wait_minutes
        )
    except StillRunning:
        print(how_to_watch_again(args, execution_arn))
        raise
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
    batch = parser.add_mutually_exclusive_group(required=True)
    batch.add_argument(
        "--prefix",
        help="a key prefix ending in /, e.g. test/, matched from the key's first character: / "
        "alone lists only the keys that start with /, never the whole bucket",
    )
    batch.add_argument(
        "--execution-arn",
        help="watch a backfill already started (the one a stopped wait named) instead",
    )
    parser.add_argument("--bucket", help="the image bucket (the only one allowed; optional)")
    parser.add_argument("--csv", type=Path, help="write one row per key to this file")
    parser.add_argument(
        "--state-machine-arn",
        default=os.environ.get("BACKFILL_STATE_MACHINE_ARN"),
        help="the stack's BackfillStateMachineArn output (default: $BACKFILL_STATE_MACHINE_ARN)",
    )
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration)")
    parser.add_argument(
        "--wait-minutes",
        type=float,
        help="stop waiting (not the batch) after this many minutes, with exit status 3 "
        f"(default: sized to the batch: {WAIT_FIXED_MINUTES} minutes, plus "
        f"{WAIT_SECONDS_PER_ROUND} s for each round of the map's concurrency over the keys it "
        "lists)",
    )
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.state_machine_arn:
        parser.error("--state-machine-arn is required (or set BACKFILL_STATE_MACHINE_ARN)")
    if args.wait_minutes is not None and args.wait_minutes < 0:
        parser.error("--wait-minutes cannot be negative")
    return args


def aws_clients(region: str | None) -> dict[str, Any]:
    """The command's clients, made inside it so that a missing region is its one-line error."""
    session = boto3.session.Session(region_name=region)
    return {"stepfunctions": session.client("stepfunctions"), "s3": session.client("s3")}


def main(
    argv: Sequence[str] | None = None,
    connect: Callable[[str | None], dict[str, Any]] = aws_clients,
) -> int:
    """Run the command: 0, 1 as every command, or STILL_RUNNING when it stopped waiting."""
    args = parse_args(argv)
    stopped: list[StillRunning] = []

    def command() -> str:
        try:
            return backfill(connect(args.region), args)
        except StillRunning as waiting:
            stopped.append(waiting)
            raise

    status = run(command)
    return STILL_RUNNING if stopped else status


if __name__ == "__main__":
    sys.exit(main())
