"""Cold start of each handler against a minimal boto3-only baseline, in fresh processes.

What makes the comparison fair:
- the stand-ins run here, in the parent: moto's S3 in server mode and the loopback model
  endpoint. Every child gets the same environment (only `AWS_ENDPOINT_URL_*` points it at
  them, as on the real service) and does the same set-up, none: only the module differs.
  Starting moto inside the child would import boto3 and load S3's service model before the
  clock starts, which is a warmed process, not a cold start.
- handler and baseline alternate, in alternating order, after one discarded warm-up pair
  (disk cache and the like), so drift on a shared machine falls on both alike.
- the endpoint answers a fixed `[0.97, 0.03]`: a model's time would add the same to both
  sides and only bring the ratio closer to 1.
"""

import base64
import io
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from PIL import Image

from bench.figures import Figure, ratio_value
from bench.workspace import (
    ENDPOINT_NAME,
    EXECUTION_ID,
    IMAGE_BUCKET,
    REGION,
    ROOT,
    function_environment,
)
from local.emulation import workflow
from local.emulation.endpoint import ModelEndpoint
from local.emulation.moto_server import moto_server

BOUND = 1.5
MIN_REPEATS = 7
IMAGE_KEY = "test/bench_cold_start.png"
FIXED_ANSWER = [0.97, 0.03]
PROBE_TIMEOUT_SECONDS = 120


def sample_png() -> bytes:
    """A 32x32 PNG, the size of the workflow's images."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (180, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def first_events(image: bytes) -> dict[str, dict]:
    """Each function's first event, as the state machine would hand it over."""
    location = {"s3_bucket": IMAGE_BUCKET, "s3_key": IMAGE_KEY}
    classify = location | {
        "image_data": base64.b64encode(image).decode("ascii"),
        "content_type": "image/png",
        "inferences": [],
    }
    bodies = {
        "SerializeImageDataFunction": location,
        "ClassifyImageFunction": classify,
        "FilterInferencesFunction": location
        | {"content_type": "image/png", "inferences": FIXED_ANSWER},
    }
    return {name: {"body": body, "execution_id": EXECUTION_ID} for name, body in bodies.items()}


@contextmanager
def stand_ins(image: bytes) -> Iterator[dict[str, str]]:
    """moto (S3 holding the image; CloudWatch) and the model endpoint; yields their variables."""
    with moto_server() as moto_url:
        put_image(moto_url, image)
        with ModelEndpoint(lambda _: FIXED_ANSWER, endpoint_name=ENDPOINT_NAME) as endpoint:
            yield {
                "AWS_ENDPOINT_URL_S3": moto_url,
                "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url,  # the FilterInferences baseline's count
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url,
            }


def put_image(s3_url: str, image: bytes) -> None:
    credentials = function_environment()
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=IMAGE_BUCKET)
    s3.put_object(Bucket=IMAGE_BUCKET, Key=IMAGE_KEY, Body=image)


def child_environment(endpoints: dict[str, str]) -> dict[str, str]:
    """This environment minus the caller's AWS settings, plus the functions' and the stand-ins'."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return inherited | function_environment() | endpoints


def probe(module: str, event: dict, environment: dict[str, str]) -> float:
    """Seconds of one cold start of `module` serving `event`, in a fresh interpreter."""
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cold_start_probe",
            str(workflow.LAYER),
            module,
            json.dumps(event),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_SECONDS,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{module} failed its first event: {finished.stderr.strip()[-300:]}")
    return json.loads(finished.stdout.splitlines()[-1])["seconds"]


def paired_samples(
    modules: tuple[str, str], event: dict, environment: dict[str, str], repeats: int
) -> tuple[list[float], list[float]]:
    """`repeats` cold starts of each module, interleaved, after one discarded warm-up pair."""
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for round_number in range(repeats + 1):
        order = modules if round_number % 2 == 0 else modules[::-1]
        for module in order:
            seconds = probe(module, event, environment)
            if round_number > 0:
                samples[module].append(seconds)
    return samples[modules[0]], samples[modules[1]]


def baseline_module(handler_module: str) -> str:
    """`functions.filter_inferences.app` -> `bench.baselines.filter_inferences`."""
    return f"bench.baselines.{handler_module.split('.')[1]}"


def measure(repeats: int) -> list[Figure]:
    """One figure per function: median handler cold start over median baseline cold start."""
    image = sample_png()
    events = first_events(image)
    figures = []
    with stand_ins(image) as endpoints:
        environment = child_environment(endpoints)
        for name, module in workflow.FUNCTIONS.items():
            modules = (module, baseline_module(module))
            handler, baseline = paired_samples(modules, events[name], environment, repeats)
            handler_ms = statistics.median(handler) * 1000
            baseline_ms = statistics.median(baseline) * 1000
            subject = f"{name.removesuffix('Function')} vs baseline"
            value = ratio_value(handler_ms, baseline_ms)
            figures.append(
                Figure(
                    "cold start", subject, value, f"<= {BOUND}x", handler_ms <= BOUND * baseline_ms
                )
            )
    return figures
