"""`make demo`: the whole workflow on this machine, with no AWS account and no Docker.

1. gets the data: `training.etl` (real CIFAR-100, downloaded once and cached; `--archive` for a
   local copy; `--synthetic` for a generated, SYNTHETIC archive in CIFAR-100's layout);
2. trains the small local model, or reuses it;
3. starts moto, the loopback Lambda Invoke server (the real handlers) and the model endpoint,
   and turns arrivals on for the image bucket (the template's rule, bridged to Step Functions);
4. uploads each test image under `incoming/`: the arrivals rule starts its execution of
   statemachine/image_classification.asl.json, and the demo prints a table (key, true label,
   prediction, confidence, status or error);
5. prints the review queue's count and one of its items (the low-confidence images, and the
   confident ones sampled for an audit);
6. a scripted reviewer who knows the true labels answers a few of them through the review core
   (`operations.reviewing`, as `python -m operations.review` and the review page do), and the
   ground-truth bucket (review records, ground-truth lines, waiting markers) is copied to
   `ground-truth/` of the work folder, since moto's vanishes with the run;
7. writes the monitoring report (`training.report`) from the endpoint's data capture.

With `--endpoint-name NAME --region R` the same local state machine calls a real SageMaker
endpoint instead (your AWS credentials; only sagemaker-runtime leaves this machine).

With `--backfill`, steps 4 and 5 are one backfill instead: the test images go under `test/`,
and the backfill state machine classifies them all, each as a child execution, through the
same steps as `python -m operations.backfill`; the demo prints the counts by outcome. The
scripted review follows, the same.

With `--learn`, one round of the learning loop instead (`local.learning`): train images as
traffic, every review item answered, the model retrained on the answers and redeployed, and
the figures before and after on the held-out test split.
"""

# ruff: noqa: E402 (Ctrl-C must be handled before the imports below, which take seconds)
import signal
import sys


def _stop_before_anything_runs(signum: int, frame: object) -> None:
    print("\ninterrupted: nothing was started", file=sys.stderr)
    sys.exit(130)


if __name__ == "__main__":  # Ctrl-C while the imports load: no traceback, nothing to stop yet
    signal.signal(signal.SIGINT, _stop_before_anything_runs)

import argparse
import json
import logging
import random
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import boto3

from local.emulation import template, workflow
from local.emulation.arrivals import ArrivalsBridge
from local.emulation.endpoint import ModelEndpoint
from local.model.classifier import Predictor, ensure_model
from operations import backfill
from operations.cli import progress_display
from operations.reviewing import Answer, Reviewer, ReviewItem
from training import etl, report
from training.common import cifar, lst
from training.common.errors import TrainingError

REGION = "us-east-1"
EXPECTED_FAILURES = {"ConfidenceThresholdNotMet"}  # the workflow working as designed
WORKDIR = Path("build")
UPLOAD_PREFIX = "incoming/"  # the template's UploadPrefix default
BACKFILL_PREFIX = "test/"
SCRIPTED_ANSWERS = 3  # a few: the rest wait for a person (`make review` shows them)


@dataclass
class Outcome:
    key: str
    true_label: str
    status: str
    label: str = ""
    confidence: float | None = None
    error: str = ""
    seconds: float = 0.0


@dataclass
class Answered:
    """One item the scripted reviewer answered."""

    item: ReviewItem
    answer: Answer


@dataclass
class ReviewQueue:
    """What waits for a person after the run: how many, and the first item's message."""

    count: int | None  # None: the queue would not say (never in moto)
    first: dict | None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n")[0])
    data = parser.add_argument_group("data (default: the real CIFAR-100, downloaded once)")
    data.add_argument("--archive", type=Path, help="a local copy of cifar-100-python.tar.gz")
    data.add_argument("--md5", help="the archive's MD5, when it is not the published one")
    data.add_argument("--synthetic", action="store_true", help="use a generated SYNTHETIC archive")
    parser.add_argument("--images", type=int, default=20, help="test images to classify (20)")
    parser.add_argument("--seed", type=int, default=0, help="seed for image choice and data (0)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=template.confidence_threshold(),
        help="confidence threshold (default: the template's ConfidenceThreshold, %(default)s)",
    )
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="data, model, output")
    parser.add_argument(
        "--endpoint-name", help="a real SageMaker endpoint instead of the local one"
    )
    parser.add_argument("--region", default=REGION, help="the real endpoint's region")
    parser.add_argument(
        "--backfill", action="store_true", help="classify the images with one backfill execution"
    )
    parser.add_argument(
        "--learn",
        action="store_true",
        help="one round of the learning loop: --images train images as traffic, all reviewed, "
        "the model retrained on the answers; before and after on the held-out test split",
    )
    args = parser.parse_args(argv)
    if args.learn and (args.backfill or args.endpoint_name):
        parser.error("--learn runs the local endpoint's round: no --backfill, no --endpoint-name")
    if args.archive and args.synthetic:
        parser.error("--archive and --synthetic exclude each other")
    if args.images < 1:
        parser.error("--images must be at least 1")
    return args


def pick_images(data_dir: Path, count: int, seed: int) -> list[tuple[Path, str]]:
    """`count` random test images (seeded) with their true labels."""
    entries = lst.read_lst(data_dir / "test.lst")
    chosen = random.Random(seed).sample(  # noqa: S311 (a reproducible sample, not a secret)
        entries, min(count, len(entries))
    )
    return [(data_dir / "test" / entry.path, cifar.CLASSES[entry.label]) for entry in chosen]


def chosen_images(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """The data (`training.etl`: downloaded or generated once) and the run's test images."""
    etl.prepare(
        args.workdir / "data",
        archive=args.archive,
        md5=args.md5,
        synthetic=args.synthetic,
        seed=args.seed,
    )
    return pick_images(args.workdir / "data", args.images, args.seed)


def moto_config(real_endpoint: bool) -> dict:
    """moto executes the ASL; with a real endpoint, sagemaker-runtime passes through to AWS."""
    config = dict(workflow.EXECUTE_ASL)
    if real_endpoint:
        config["core"] = {
            "mock_credentials": False,
            "passthrough": {"services": ["sagemakerruntime"]},
        }
    return config


def start_local(
    args: argparse.Namespace, stack: ExitStack, predictor: Predictor | None = None
) -> workflow.LocalAws:
    """moto and the loopback servers, the functions' logs going to a file; the local endpoint
    serves `predictor`, or the demo's model."""
    real_endpoint = bool(args.endpoint_name)
    endpoint_name = args.endpoint_name or workflow.LOCAL_ENDPOINT_NAME
    variables = workflow.function_environment(
        region=args.region, endpoint_name=endpoint_name, threshold=args.threshold
    )
    if not real_endpoint:
        variables |= fake_credentials() | local_endpoint(args, stack, predictor)
    stack.enter_context(workflow.environment(variables))
    # The functions' structured logs and metrics go to a file, as they would go to CloudWatch.
    log_file = stack.enter_context((args.workdir / "functions.log").open("w"))
    stack.enter_context(redirect_stdout(log_file))
    return workflow.start_local_aws(stack, args.region, moto_config(real_endpoint))


def run_workflow(
    args: argparse.Namespace,
    images: list[tuple[Path, str]],
    stack: ExitStack,
    predictor: Predictor | None = None,
):
    """Start moto and the loopback servers, then upload each image for the arrivals rule."""
    local_aws = start_local(args, stack, predictor)
    bridge = arrivals_bridge(local_aws, args.region)
    outcomes = []
    for path, true_label in progress(images, sys.stderr):
        key = f"{UPLOAD_PREFIX}{path.name}"
        started = time.perf_counter()
        local_aws.s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key=key, Body=path.read_bytes())
        executions = [workflow.wait_for(local_aws.stepfunctions, arn) for arn in bridge.deliver()]
        seconds = time.perf_counter() - started
        outcomes.append(
            upload_outcome(local_aws.stepfunctions, executions, key, true_label, seconds)
        )
    return outcomes, review_queue(local_reviewer(args.region))


def run_backfill(args: argparse.Namespace, images: list[tuple[Path, str]], stack: ExitStack):
    """Put the images under test/, then classify them with one backfill execution, through the
    operator command's own steps; returns its status, its rows and the review queue."""
    local_aws = start_local(args, stack)
    for path, _ in images:
        key = f"{BACKFILL_PREFIX}{path.name}"
        local_aws.s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key=key, Body=path.read_bytes())
    stepfunctions = local_aws.stepfunctions
    arn = workflow.create_backfill_state_machine(
        stepfunctions, local_aws.s3, args.region, local_aws.state_machine_arn
    )
    execution_arn = backfill.start(stepfunctions, arn, BACKFILL_PREFIX, None)
    execution = backfill.wait(stepfunctions, execution_arn, poll_seconds=0.05)
    clients = {"stepfunctions": stepfunctions, "s3": local_aws.s3}
    rows = backfill.results(clients, arn, execution_arn)
    return execution["status"], rows, review_queue(local_reviewer(args.region))


def arrivals_bridge(local_aws: workflow.LocalAws, region: str) -> ArrivalsBridge:
    """The template's arrivals rule in moto, on the image bucket, bridged to the state machine."""
    clients = {
        "s3": local_aws.s3,
        "stepfunctions": local_aws.stepfunctions,
        "events": boto3.client("events", region_name=region),
        "sqs": boto3.client("sqs", region_name=region),
    }
    parameters = {"ImageBucketName": workflow.IMAGE_BUCKET, "UploadPrefix": UPLOAD_PREFIX}
    return ArrivalsBridge(clients, local_aws.state_machine_arn, parameters)


def upload_outcome(
    stepfunctions, executions: list[dict], key: str, true_label: str, seconds: float
) -> Outcome:
    """The one execution an upload started; an upload that started none or several is broken."""
    if len(executions) != 1:
        return Outcome(key, true_label, "NOT_STARTED", error=f"{len(executions)}ExecutionsStarted")
    inferences = classified(stepfunctions, executions[0]["executionArn"])
    return outcome_of(executions[0], inferences, key, true_label, seconds)


def local_reviewer(region: str) -> Reviewer:
    """A reviewer of the local review queue, in moto (which answers every receive at once)."""
    sqs = boto3.client("sqs", region_name=region)
    return Reviewer(
        sqs,
        boto3.client("s3", region_name=region),
        boto3.client("sts", region_name=region),
        workflow.create_review_queue(sqs),  # idempotent: the URL of the existing queue
        workflow.IMAGE_BUCKET,
        workflow.GROUND_TRUTH_BUCKET,
        wait_seconds=0,
    )


def review_queue(reviewer: Reviewer) -> ReviewQueue:
    """The review queue's count and first item, read without hiding anything from others."""
    count = reviewer.waiting()
    first = [json.loads(held.message["Body"]) for held in reviewer.peek(1)]
    return ReviewQueue(count, (first or [None])[0])


def scripted_review(
    reviewer: Reviewer, true_labels: dict[str, str], count: int = SCRIPTED_ANSWERS
) -> list[Answered]:
    """A reviewer who knows the true labels answers up to `count` items as a person would:
    take one, look at its image, answer. What it cannot answer is given back at the end."""
    answered, skipped = [], []
    while len(answered) < count and (held := reviewer.take(60)) is not None:
        item = held.content
        if not isinstance(item, ReviewItem) or item.s3_key not in true_labels:
            skipped.append(held)
            continue
        reviewer.image(item)
        spent = time.time() - held.received_at
        answered.append(Answered(item, reviewer.answer(held, true_labels[item.s3_key], spent)))
    for held in skipped:
        reviewer.give_back(held)
    return answered


def keep_ground_truth(reviewer: Reviewer, folder: Path) -> None:
    """Copy the ground-truth bucket, key for key, to `folder`: moto's vanishes with the run."""
    shutil.rmtree(folder, ignore_errors=True)
    s3, bucket = reviewer.s3, reviewer.ground_truth_bucket
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for listed in page.get("Contents", []):
            path = folder / listed["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read())


def review_after(args: argparse.Namespace, true_labels: dict[str, str]) -> list[Answered]:
    """The scripted review of the run's queue, and the ground truth it leaves, kept."""
    reviewer = local_reviewer(args.region)
    answered = scripted_review(reviewer, true_labels)
    keep_ground_truth(reviewer, args.workdir / "ground-truth")
    return answered


def progress(items: list, stream: TextIO) -> Iterator:
    """The items, one by one, with the operator commands' progress display on `stream`."""
    with progress_display(stream, "executions", "image") as show:
        show(0, len(items))
        for done, item in enumerate(items, start=1):
            yield item
            show(done, len(items))


def classified(stepfunctions, execution_arn: str) -> list[float] | None:
    """ClassifyImage's inferences from the history: failed executions have them too."""
    events = stepfunctions.get_execution_history(executionArn=execution_arn)["events"]
    for event in events:
        details = event.get("stateExitedEventDetails", {})
        if details.get("name") == "ClassifyImage":
            return json.loads(details["output"]).get("inferences")  # absent when it failed
    return None


def fake_credentials() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": ""}


def local_endpoint(
    args: argparse.Namespace, stack: ExitStack, predictor: Predictor | None = None
) -> dict[str, str]:
    """Serve `predictor`, or the local model (trained or reused); returns the variable that
    routes to it."""
    predictor = predictor or ensure_model(args.workdir / "data", args.workdir / "model.npz")
    capture = args.workdir / "data-capture"
    shutil.rmtree(capture, ignore_errors=True)  # the report covers this run only
    endpoint = stack.enter_context(
        ModelEndpoint(predictor, endpoint_name=workflow.LOCAL_ENDPOINT_NAME, capture_dir=capture)
    )
    return {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url}


def outcome_of(
    execution: dict, inferences: list[float] | None, key: str, true_label: str, seconds: float
) -> Outcome:
    outcome = Outcome(key, true_label, execution["status"], error=execution.get("error", ""))
    outcome.seconds = seconds
    if inferences:
        outcome.confidence = max(inferences)
        outcome.label = cifar.CLASSES[inferences.index(outcome.confidence)]
    return outcome


def print_table(outcomes: list[Outcome]) -> None:
    print(f"\n{'key':<34} {'true':<10} {'prediction':<10} {'confidence':>10}  result")
    for o in outcomes:
        confidence = f"{o.confidence:.3f}" if o.confidence is not None else "-"
        result = o.error or o.status
        print(f"{o.key:<34} {o.true_label:<10} {o.label or '-':<10} {confidence:>10}  {result}")
    print("\n" + "\n".join(totals(outcomes)))


def totals(outcomes: list[Outcome]) -> list[str]:
    passed = [o for o in outcomes if o.status == "SUCCEEDED"]
    errors = Counter(o.error for o in outcomes if o.error)
    below = errors.pop("ConfidenceThresholdNotMet", 0)
    predicted = [o for o in outcomes if o.label]
    correct = sum(o.label == o.true_label for o in predicted)
    seconds = [o.seconds for o in outcomes]
    return [
        f"{len(outcomes)} executions: {len(passed)} succeeded, {below} below the threshold "
        f"(ConfidenceThresholdNotMet), {sum(errors.values())} other failures"
        + (f": {dict(errors)}" if errors else ""),
        f"predictions: {correct} of {len(predicted)} correct; of the {len(passed)} that "
        f"passed, {sum(o.label == o.true_label for o in passed)} correct",
        f"execution time: median {statistics.median(seconds):.3f} s, total {sum(seconds):.1f} s",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:  # the ExitStack has stopped the servers and moto on the way out
        print("\ninterrupted: servers stopped, nothing left running", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 unless the workflow itself broke (low confidence is the workflow working)."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # it logs each failed execution
    try:
        images = chosen_images(args)
    except TrainingError as error:  # no download, bad checksum, truncated archive...
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.backfill:
        return run_backfill_demo(args, images)
    if args.learn:
        from local import learning  # it builds on this module's steps

        return learning.run(args)
    with ExitStack() as stack:
        outcomes, review = run_workflow(args, images, stack)
        answered = review_after(args, {f"{UPLOAD_PREFIX}{path.name}": t for path, t in images})
    print_table(outcomes)
    print_review_queue(review)
    print_scripted_review(answered, args.workdir)
    print(f"the functions' logs: {args.workdir / 'functions.log'}")
    if not args.endpoint_name:
        write_report(args)
    broken = [o for o in outcomes if o.error and o.error not in EXPECTED_FAILURES]
    return 1 if broken else 0


def run_backfill_demo(args: argparse.Namespace, images: list[tuple[Path, str]]) -> int:
    """Exit status: 0 unless the batch failed or a key failed (the demo's images are valid)."""
    true_labels = {f"{BACKFILL_PREFIX}{path.name}": label for path, label in images}
    with ExitStack() as stack:
        status, rows, review = run_backfill(args, images, stack)
        answered = review_after(args, true_labels)
    print(f"\nbackfill of {BACKFILL_PREFIX} ({len(images)} images): {status}")
    print(backfill.summary(rows))
    labelled = [row for row in rows if row.label]
    correct = sum(row.label == true_labels.get(row.key) for row in labelled)
    print(f"predictions: {correct} of {len(labelled)} labelled images correct")
    print_review_queue(review)
    print_scripted_review(answered, args.workdir)
    print(f"the functions' logs: {args.workdir / 'functions.log'}")
    if not args.endpoint_name:
        write_report(args)
    failed = status != "SUCCEEDED" or any(row.outcome == "failed" for row in rows)
    return 1 if failed else 0


def print_review_queue(review: ReviewQueue) -> None:
    print(f"\nreview queue: {review.count} waiting for a person (python -m operations.review)")
    if review.first:
        item = {name: value for name, value in review.first.items() if name != "cause"}
        print(f"one item: {json.dumps(item, ensure_ascii=False)}")
        if "cause" in review.first:  # an audit has none: its execution succeeded
            print(f"  cause: {json.loads(review.first['cause'])['errorMessage']}")


def print_scripted_review(answered: list[Answered], workdir: Path) -> None:
    """What the scripted reviewer answered, and where the ground truth it wrote is kept."""
    print(
        f"\nscripted review: {len(answered)} answered with their true labels "
        "(operations.reviewing: take, image, answer)"
    )
    for done in answered:
        item, answer = done.item, done.answer
        guess = "audit" if item.reason == "audit" else f"model said {item.label}"
        print(f"  {item.s3_key:<34} {answer.label:<10} {guess:<22} inference {item.inference_id}")
    kept = workdir / "ground-truth"
    print(f"ground-truth bucket, as the run left it: {kept}")
    print(f"  review records: {kept / 'reviews'}/<inference id>.json")
    print(f"  ground truth (bicycle, motorcycle): {kept / 'ground-truth'}/yyyy/mm/dd/hh/")
    print(f"  neither: {kept / 'neither'}/yyyy/mm/dd/hh/; still waiting: {kept / 'waiting'}/")
    capture = workdir / "data-capture"
    print(f"  each inference id is eventMetadata.inferenceId in the data capture: {capture}")


def write_report(args: argparse.Namespace) -> None:
    capture = args.workdir / "data-capture"
    summary = report.write_report(capture, args.workdir / "report", args.threshold)
    print(f"\nmonitoring report from the endpoint's data capture ({capture}):")
    print(summary.text())
    print(f"plots: {summary.confidence_plot}\n       {summary.classes_plot}")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # imports done: stop what runs
    sys.exit(main())
