"""`make demo`: the whole workflow on this machine, with no AWS account and no Docker.

1. gets the data: `training.etl` (real CIFAR-100, downloaded once and cached; `--archive` for a
   local copy; `--synthetic` for a generated, SYNTHETIC archive in CIFAR-100's layout);
2. trains the small local model, or reuses it;
3. loads test images into moto's S3;
4. starts the loopback Lambda Invoke server (the real handlers) and the model endpoint;
5. executes statemachine/image_classification.asl.json in moto for each image and prints a
   table (key, true label, prediction, confidence, status or error);
6. writes the monitoring report (`training.report`) from the endpoint's data capture.

With `--endpoint-name NAME --region R` the same local state machine calls a real SageMaker
endpoint instead (your AWS credentials; only sagemaker-runtime leaves this machine).
"""

import argparse
import json
import logging
import math
import random
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from local import workflow
from local.endpoint import ModelEndpoint
from local.model import ensure_model
from training import cifar, etl, report
from training.errors import TrainingError

REGION = "us-east-1"
EXPECTED_FAILURES = {"ConfidenceThresholdNotMet"}  # the workflow working as designed
WORKDIR = Path("build")


@dataclass
class Outcome:
    key: str
    true_label: str
    status: str
    label: str = ""
    confidence: float | None = None
    error: str = ""
    seconds: float = 0.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.split("\n")[0])
    data = parser.add_argument_group("data (default: the real CIFAR-100, downloaded once)")
    data.add_argument("--archive", type=Path, help="a local copy of cifar-100-python.tar.gz")
    data.add_argument("--md5", help="the archive's MD5, when it is not the published one")
    data.add_argument("--synthetic", action="store_true", help="use a generated SYNTHETIC archive")
    parser.add_argument("--images", type=int, default=20, help="test images to classify (20)")
    parser.add_argument("--seed", type=int, default=0, help="seed for image choice and data (0)")
    parser.add_argument("--threshold", type=float, default=0.90, help="confidence threshold")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="data, model, output")
    parser.add_argument(
        "--endpoint-name", help="a real SageMaker endpoint instead of the local one"
    )
    parser.add_argument("--region", default=REGION, help="the real endpoint's region")
    args = parser.parse_args(argv)
    if args.archive and args.synthetic:
        parser.error("--archive and --synthetic exclude each other")
    if args.images < 1:
        parser.error("--images must be at least 1")
    return args


def pick_images(data_dir: Path, count: int, seed: int) -> list[tuple[Path, str]]:
    """`count` random test images (seeded) with their true labels."""
    entries = etl.read_lst(data_dir / "test.lst")
    chosen = random.Random(seed).sample(  # noqa: S311 (a reproducible sample, not a secret)
        entries, min(count, len(entries))
    )
    return [(data_dir / "test" / entry.path, cifar.CLASSES[entry.label]) for entry in chosen]


def moto_config(real_endpoint: bool) -> dict:
    """moto executes the ASL; with a real endpoint, sagemaker-runtime passes through to AWS."""
    config = dict(workflow.EXECUTE_ASL)
    if real_endpoint:
        config["core"] = {
            "mock_credentials": False,
            "passthrough": {"services": ["sagemakerruntime"]},
        }
    return config


def run_workflow(args: argparse.Namespace, images: list[tuple[Path, str]], stack: ExitStack):
    """Start moto and the loopback servers, then run one execution per image."""
    real_endpoint = bool(args.endpoint_name)
    endpoint_name = args.endpoint_name or workflow.LOCAL_ENDPOINT_NAME
    variables = workflow.function_environment(
        region=args.region, endpoint_name=endpoint_name, threshold=args.threshold
    )
    if not real_endpoint:
        variables |= fake_credentials() | local_endpoint(args, stack)
    stack.enter_context(workflow.environment(variables))
    # The functions' structured logs and metrics go to a file, as they would go to CloudWatch.
    log_file = stack.enter_context((args.workdir / "functions.log").open("w"))
    stack.enter_context(redirect_stdout(log_file))
    local_aws = workflow.start_local_aws(stack, args.region, moto_config(real_endpoint))
    s3, stepfunctions = local_aws.s3, local_aws.stepfunctions
    outcomes = []
    for path, true_label in progress(images, sys.stderr):
        key = f"test/{path.name}"
        s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key=key, Body=path.read_bytes())
        started = time.perf_counter()
        execution = workflow.run_execution(
            stepfunctions,
            local_aws.state_machine_arn,
            {"s3_key": key},
            name=f"demo-{len(outcomes):04d}",
        )
        seconds = time.perf_counter() - started
        inferences = classified(stepfunctions, execution["executionArn"])
        outcomes.append(outcome_of(execution, inferences, key, true_label, seconds))
    return outcomes


def progress(items: list, stream: TextIO) -> Iterator:
    """tqdm's bar on a terminal; on a log (CI, `| tee`), a plain line at each tenth of the way
    instead of a carriage return for every item."""
    if stream.isatty():
        yield from tqdm(items, desc="executions", unit="image", file=stream)
        return
    marks = {math.ceil(len(items) * tenth / 10) for tenth in range(1, 11)}
    print(f"executions: 0/{len(items)} images", file=stream, flush=True)
    for done, item in enumerate(items, start=1):
        yield item
        if done in marks:
            print(f"executions: {done}/{len(items)} images", file=stream, flush=True)


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


def local_endpoint(args: argparse.Namespace, stack: ExitStack) -> dict[str, str]:
    """Train or reuse the local model and serve it; returns the variable that routes to it."""
    predictor = ensure_model(args.workdir / "data", args.workdir / "model.npz")
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
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:  # the ExitStack has stopped the servers and moto on the way out
        print("\ninterrupted: servers stopped, nothing left running", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 unless the workflow itself broke (low confidence is the workflow working)."""
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # it logs each failed execution
    try:
        etl.prepare(
            args.workdir / "data",
            archive=args.archive,
            md5=args.md5,
            synthetic=args.synthetic,
            seed=args.seed,
        )
    except TrainingError as error:  # no download, bad checksum, truncated archive...
        print(f"error: {error}", file=sys.stderr)
        return 2
    images = pick_images(args.workdir / "data", args.images, args.seed)
    with ExitStack() as stack:
        outcomes = run_workflow(args, images, stack)
    print_table(outcomes)
    print(f"the functions' logs: {args.workdir / 'functions.log'}")
    if not args.endpoint_name:
        write_report(args)
    broken = [o for o in outcomes if o.error and o.error not in EXPECTED_FAILURES]
    return 1 if broken else 0


def write_report(args: argparse.Namespace) -> None:
    capture = args.workdir / "data-capture"
    summary = report.write_report(capture, args.workdir / "report", args.threshold)
    print(f"\nmonitoring report from the endpoint's data capture ({capture}):")
    print(summary.text())
    print(f"plots: {summary.confidence_plot}\n       {summary.classes_plot}")


if __name__ == "__main__":
    sys.exit(main())
