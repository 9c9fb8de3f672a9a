"""`make invoke`: the sample events through `sam local invoke`, with no AWS account.

The functions run in SAM CLI's Lambda containers, as built by `sam build`, on a Docker network
created for the run. What they call runs here, on that network's gateway address only (never
on every address: moto's server has no authentication), so that the containers reach it: moto's
server holds the image bucket with the demo's SYNTHETIC test images and the ground-truth bucket
with two uploads' `waiting/` markers (what CheckWaitingReviews lists), and the local model
answers as the SageMaker endpoint. `--env-vars` points the functions at both (the template
declares the two `AWS_ENDPOINT_URL_*` variables, empty, for this); SAM CLI's own account
lookup goes to moto too. Each event's answer (a status code, or the error's name, and the
body's fields it lists) is compared with `events/expected.json`, which also gives the
function's variables an event runs with, when they differ (a bucket that does not exist).
Everything started here is stopped on the way out.
It needs what `make test` installs: aws-sam-cli, and the Flask it brings for moto's server.

    make invoke                                   # every event, arm64 (the template's)
    make invoke EVENT=sfn_missing_image           # one event
    make invoke ARCHITECTURE=x86_64               # natively on an x86 machine
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samcli.yamlhelper import yaml_parse

from local.containers import (
    ARCHITECTURES,
    LOCAL_IMAGE,
    docker_network,
    docker_problem,
    emulation_problem,
    local_image,
    sam_executable,
)
from local.emulation import workflow
from local.emulation.endpoint import ModelEndpoint
from local.emulation.moto_server import moto_server
from local.model.classifier import ensure_model
from operations.reviewing import review_id, waiting_key
from training import etl
from training.common import cifar

EVENTS = workflow.ROOT / "events"
EXPECTED = EVENTS / "expected.json"
WORKDIR = Path("build") / "invoke"
REGION = "us-east-1"
OFFLINE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
# The uploads waiting for review in the ground-truth bucket (no etag: the sample events name
# none). Written in key order, so the first key is the oldest marker whether moto's
# LastModified (to the second) tells them apart or ties them, listed by key.
WAITING_UPLOADS = ("test/bicycle_s_000513.png", "test/motorcycle_s_001300.png")


@dataclass(frozen=True)
class Expectation:
    """What one event file must give: the function it is for and its answer."""

    event: str
    function: str
    answer: int | str  # the status code, or the error's name
    body: dict[str, Any] = field(default_factory=dict)  # fields the response's body must hold
    environment: dict[str, str] = field(default_factory=dict)  # the function's, for this event


@dataclass(frozen=True)
class Result:
    expectation: Expectation
    answer: int | str
    seconds: float
    body: Any = None  # the response's body, when there is one

    @property
    def ok(self) -> bool:
        expected = self.expectation
        body = self.body if isinstance(self.body, dict) else {}
        fields = all(name in body and body[name] == value for name, value in expected.body.items())
        return self.answer == expected.answer and fields


def expectations() -> dict[str, Expectation]:
    """events/expected.json, by event name (the file name without `.json`)."""
    listed = json.loads(EXPECTED.read_text())
    return {
        Path(file).stem: Expectation(
            Path(file).stem,
            entry["function"],
            entry["answer"],
            entry.get("body", {}),
            entry.get("environment", {}),
        )
        for file, entry in listed.items()
    }


def response_of(stdout: str) -> Any:
    """The function's response in `sam local invoke`'s output (its last line), or None."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return None


def answer_of(stdout: str, stderr: str = "") -> int | str:
    """The status code or error name in `sam local invoke`'s output (the response, last);
    without a response, SAM CLI's last word on why."""
    response = response_of(stdout)
    if response is None:
        said = [line.strip() for line in stderr.splitlines() if line.strip()]
        return f"no response ({said[-1][:120]})" if said else "no response"
    if isinstance(response, dict) and "errorType" in response:
        return response["errorType"]
    if isinstance(response, dict) and "statusCode" in response:
        return response["statusCode"]
    return "unexpected response"


def named_keys() -> set[str]:
    """The S3 keys the sample events name, in every shape they come in."""
    pattern = re.compile(r'"s3_key\\?"\s*:\s*\\?"([^"\\]+)')
    return {key for path in EVENTS.glob("*.json") for key in pattern.findall(path.read_text())}


def bucket_contents(data_dir: Path) -> dict[str, Path]:
    """The dataset's test images under `test/`, and under each image key the events name
    that it lacks (the events name real CIFAR-100 files), a test image of the same class.
    Keys of no class (`test/no_such_image.png`) stay missing, as the events expect."""
    images = {f"test/{path.name}": path for path in sorted((data_dir / "test").glob("*.png"))}
    for key in sorted(named_keys() - set(images)):
        label = Path(key).name.split("_s_")[0]
        same_class = [path for path in images.values() if path.name.startswith(f"{label}_s_")]
        if label in cifar.CLASSES and same_class:
            images[key] = same_class[0]
    return images


def fill_bucket(s3: Any, data_dir: Path) -> None:
    """The image bucket, in moto's server, holding `bucket_contents`."""
    s3.create_bucket(Bucket=workflow.IMAGE_BUCKET, **workflow.bucket_location(REGION))
    for key, path in bucket_contents(data_dir).items():
        s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key=key, Body=path.read_bytes())


def waiting_markers() -> dict[str, dict[str, str]]:
    """Each waiting upload's marker key, in key order, and what the marker holds (the review
    message's names of the upload, as the state machine writes it)."""
    messages = {
        waiting_key(review := review_id(workflow.IMAGE_BUCKET, key, None)): {
            "review_id": review,
            "s3_bucket": workflow.IMAGE_BUCKET,
            "s3_key": key,
        }
        for key in WAITING_UPLOADS
    }
    return dict(sorted(messages.items()))


def fill_ground_truth(s3: Any) -> None:
    """The template's ground-truth bucket holding `waiting_markers`, written in key order."""
    workflow.create_ground_truth_bucket(s3, REGION)
    for key, message in waiting_markers().items():
        s3.put_object(Bucket=workflow.GROUND_TRUTH_BUCKET, Key=key, Body=json.dumps(message))


@dataclass(frozen=True)
class StandIns:
    """Where the local stand-ins of S3 (and STS) and of the endpoint listen."""

    moto_url: str
    endpoint_url: str

    def env_vars(self) -> dict[str, dict[str, str]]:
        """The `--env-vars` file's content: every function reaches the stand-ins."""
        endpoints = {
            "AWS_ENDPOINT_URL_S3": self.moto_url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.endpoint_url,
        }
        return {"Parameters": endpoints | {"GROUND_TRUTH_BUCKET": workflow.GROUND_TRUTH_BUCKET}}


@contextmanager
def stand_ins(workdir: Path, host: str) -> Iterator[StandIns]:
    """moto's server with the image and ground-truth buckets, and the local model as the
    endpoint, on `host`.

    The data is the demo's SYNTHETIC archive (seed 0), extracted and trained on once."""
    data_dir = etl.prepare(workdir / "data", synthetic=True).root
    predictor = ensure_model(data_dir, workdir / "model.npz")
    with ExitStack() as stack:
        moto_url = stack.enter_context(moto_server(host))
        endpoint = stack.enter_context(
            ModelEndpoint(predictor, endpoint_name=workflow.LOCAL_ENDPOINT_NAME, host=host)
        )
        key_id, secret = (
            OFFLINE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            OFFLINE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        offline = boto3.Session(key_id, secret, region_name=REGION)
        s3 = offline.client("s3", endpoint_url=moto_url)
        fill_bucket(s3, data_dir)
        fill_ground_truth(s3)
        yield StandIns(moto_url, endpoint.url)


def declared_variables() -> set[str]:
    """The functions' variables that template.yaml declares. SAM CLI gives each of them the
    value of the caller's variable of the same name, when there is one."""
    template = yaml_parse((workflow.ROOT / "template.yaml").read_text())
    functions = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    return {
        name
        for properties in [template["Globals"]["Function"], *functions]
        for name in properties.get("Environment", {}).get("Variables", {})
    }


@dataclass(frozen=True)
class SamLocal:
    """One way of calling `sam local invoke`, the same for every event."""

    architecture: str
    env_vars: dict[str, dict[str, str]]  # every event's `--env-vars`, but for its own variables
    folder: Path  # where each event's `--env-vars` file is written
    sts_url: str
    network: str  # the Docker network of the run, where the stand-ins listen
    invoke_image: str | None = None  # None: SAM CLI pulls AWS's image
    template: Path | None = None  # None: SAM CLI's choice, the built one when there is one

    def env_vars_file(self, expectation: Expectation) -> Path:
        """The event's `--env-vars` file: the run's, with the event's own function variables."""
        env_vars = self.env_vars | {expectation.function: expectation.environment}
        path = self.folder / f"{expectation.event}.env-vars.json"
        path.write_text(json.dumps(env_vars))
        return path

    def command(self, expectation: Expectation) -> list[str]:
        command = [sam_executable(), "local", "invoke", expectation.function]
        command += ["--event", str(EVENTS / f"{expectation.event}.json")]
        command += ["--env-vars", str(self.env_vars_file(expectation))]
        command += ["--docker-network", self.network]
        command += ["--parameter-overrides"]
        command += [
            f"ImageBucketName={workflow.IMAGE_BUCKET}",
            f"EndpointName={workflow.LOCAL_ENDPOINT_NAME}",
            f"Architecture={self.architecture}",
        ]
        if self.invoke_image:
            command += ["--invoke-image", self.invoke_image, "--skip-pull-image"]
        if self.template:
            command += ["--template", str(self.template)]
        return command

    def environment(self) -> dict[str, str]:
        """Fake credentials, SAM CLI's own account lookup (STS) answered by moto, and none of
        the caller's AWS settings or values for the template's variables."""
        left_out = declared_variables()
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("AWS_") and name not in left_out
        }
        offline = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "SAM_CLI_TELEMETRY": "0"}
        return inherited | offline | OFFLINE_CREDENTIALS | {"AWS_ENDPOINT_URL_STS": self.sts_url}

    def invoke(self, expectation: Expectation) -> Result:
        started = time.perf_counter()
        finished = subprocess.run(  # noqa: S603 (our sam, the project's own event files)
            self.command(expectation),
            cwd=workflow.ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        answer = answer_of(finished.stdout, finished.stderr)
        response = response_of(finished.stdout)
        body = response.get("body") if isinstance(response, dict) else None
        return Result(expectation, answer, seconds, body)


@contextmanager
def sam_local(
    workdir: Path, architecture: str, invoke_image: str | None, template: Path | None = None
) -> Iterator[SamLocal]:
    """The stand-ins, and a SamLocal that reaches them, on a Docker network created for the run:
    they listen on its gateway address only (moto's server has no authentication), and it is
    removed on the way out with any container left on it."""
    network = f"scones-invoke-{uuid.uuid4().hex[:8]}"
    with (
        docker_network(network) as gateway,
        stand_ins(workdir, gateway) as local,
        tempfile.TemporaryDirectory(prefix="sam-local-") as folder,
    ):
        yield SamLocal(
            architecture,
            local.env_vars(),
            Path(folder),
            local.moto_url,
            network,
            invoke_image,
            template,
        )


def describe(result: Result) -> str:
    """One line a result: event, function, seconds, verdict, expected and actual answers."""
    expected = result.expectation
    verdict = "ok" if result.ok else "WRONG"
    answers = f"expected {expected.answer}, got {result.answer}"
    if expected.body:
        answers = f"expected {expected.answer} {expected.body}, got {result.answer} {result.body}"
    return (
        f"{expected.event:<38} {expected.function:<27} {result.seconds:5.1f} s  {verdict:<5} "
        + answers
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke", description=__doc__.split("\n")[0]
    )
    parser.add_argument("event", nargs="?", help="one event's name (events/NAME.json); all if none")
    parser.add_argument(
        "--architecture",
        choices=sorted(ARCHITECTURES),
        default="arm64",
        help="the functions' architecture (arm64, the template's default)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=WORKDIR, help="data and model (build/invoke)"
    )
    parser.add_argument(
        "--invoke-image",
        help="the Lambda image to run the functions in (default: "
        f"{LOCAL_IMAGE.format(architecture='<architecture>')} when built, else AWS's)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:  # the servers stopped on the way out; SAM CLI stops its container
        print("\ninterrupted: servers stopped, nothing left running", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 when every event gave its expected answer, 1 when one did not, 2 when
    the events cannot run here (unknown event, no Docker engine, no emulation)."""
    known = expectations()
    if args.event and args.event.removesuffix(".json") not in known:
        print(
            f"no event {args.event!r} in {EXPECTED.name}: one of {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    chosen = [known[args.event.removesuffix(".json")]] if args.event else list(known.values())
    problem = docker_problem() or emulation_problem(args.architecture)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    image = args.invoke_image or local_image(args.architecture)
    with sam_local(args.workdir, args.architecture, image) as sam:
        results = []
        for expectation in chosen:
            results.append(sam.invoke(expectation))
            print(describe(results[-1]), flush=True)
    wrong = [result for result in results if not result.ok]
    print(f"{len(results) - len(wrong)} of {len(results)} events gave the expected answer")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
