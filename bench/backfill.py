"""Local backfill throughput: one backfill execution over a prefix against the same images run
as separate executions, one after another, in the same run and against the same stand-ins.

Both sides are polled every 10 ms to their end. The backfill runs its Distributed Map with the
template's default BackfillConcurrency, each image a child execution of the same state machine
the separate executions run; its time includes listing, the children and the result files.

Here one Python process runs every execution under one interpreter lock, so the map's
concurrency cannot add throughput: the figure bounds what the backfill's own work per image
costs (a map item, a Choice, starting the child and waiting for it). On AWS a backfill's
throughput is what BackfillConcurrency and the endpoint allow (README, Backfill).
"""

import statistics
import time

import boto3

from bench.execution import POLL_SECONDS, LocalWorkflow, local_workflow, spread_test_images
from bench.figures import Figure
from bench.workspace import REGION, synthetic_data
from local.emulation import template, workflow
from operations import backfill

BOUND = 0.5  # the backfill's own work may at most halve the images per second, locally
MIN_IMAGES = 40
ROUNDS = 3
PREFIX = "test/"  # where bench.execution.local_workflow puts the images


def separate_seconds(flow: LocalWorkflow, keys: list[str]) -> float:
    """Each image as its own execution, one after another (bench.execution's own runner)."""
    started = time.perf_counter()
    for key in keys:
        flow.execute(key)
    return time.perf_counter() - started


def backfill_seconds(flow: LocalWorkflow, clients: dict, arn: str, images: int) -> float:
    """One backfill of the prefix, polled to its end; every image must have an outcome."""
    started = time.perf_counter()
    execution_arn = backfill.start(flow.stepfunctions, arn, PREFIX, None)
    execution = backfill.wait(flow.stepfunctions, execution_arn, POLL_SECONDS, progress_bar=False)
    seconds = time.perf_counter() - started
    rows = backfill.results(clients, arn, execution_arn)
    failed = [row for row in rows if row.outcome == "failed"]
    if execution["status"] != "SUCCEEDED" or failed or len(rows) != images:
        raise RuntimeError(f"backfill {execution['status']}, {len(rows)} rows, {failed[:1]}")
    return seconds


def measure(repeats: int) -> list[Figure]:
    """Median images per second of ROUNDS backfills over the same of separate executions."""
    data_dir = synthetic_data()
    images = spread_test_images(data_dir, max(repeats, MIN_IMAGES))
    keys = [f"{PREFIX}{image.name}" for image in images]
    with local_workflow(data_dir, images) as flow:
        s3 = boto3.client("s3", region_name=REGION)
        arn = workflow.create_backfill_state_machine(
            flow.stepfunctions, s3, REGION, flow.state_machine_arn
        )
        clients = {"stepfunctions": flow.stepfunctions, "s3": s3}
        flow.execute(keys[0])  # warm-up: moto parses the definition on its first execution
        backfill_rates, separate_rates = [], []
        for round_number in range(ROUNDS):  # alternating order
            sides = [
                lambda: separate_rates.append(len(keys) / separate_seconds(flow, keys)),
                lambda: backfill_rates.append(
                    len(keys) / backfill_seconds(flow, clients, arn, len(keys))
                ),
            ]
            for side in sides if round_number % 2 else reversed(sides):
                side()
    backfill_rate = statistics.median(backfill_rates)
    separate_rate = statistics.median(separate_rates)
    concurrency = template.parameter_defaults()["BackfillConcurrency"]
    return [
        Figure(
            "backfill",
            f"images/s vs separate ({len(keys)}, x{concurrency})",
            f"{backfill_rate:.1f} / {separate_rate:.1f} /s = {backfill_rate / separate_rate:.2f}x",
            f">= {BOUND:g}x",
            backfill_rate >= BOUND * separate_rate,
        )
    ]
