"""The functions in SAM CLI's Lambda containers: real `sam local invoke`, with no AWS account.

The same stand-ins and expected answers as `make invoke` (local/invoke.py,
events/expected.json), one success and one named error per function, in this machine's own
architecture (the template's Architecture parameter), so no emulation is needed. Skipped,
with the reason, where no Docker engine answers or the Lambda image is missing;
REQUIRE_DOCKER=1 (CI) makes that a failure instead.
"""

import json
import os
import platform
import subprocess
from urllib.parse import urlsplit

import pytest

from bench.sizes import build_environment, template_runtime
from local import containers, invoke
from tests.template.test_template import FUNCTIONS, ROOT, tool

NATIVE = next(
    (name for name, kernel in containers.ARCHITECTURES.items() if kernel == platform.machine()),
    None,
)
CASES = [
    "serialize_image_data",
    "sfn_missing_image",  # ImageNotFound
    "classify_image",
    "classify_image_not_base64",  # InvalidEvent
    "filter_inferences",
    "filter_inferences_low_confidence",  # ConfidenceThresholdNotMet
    "check_waiting_reviews",  # the count and oldest key of the ground-truth bucket's markers
    "check_waiting_reviews_no_bucket",  # ConfigurationError
]


def cannot_run(reason: str) -> None:
    """Skip, or fail where the test must run (REQUIRE_DOCKER=1)."""
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1, but {reason}", pytrace=False)
    pytest.skip(reason)


def lambda_image() -> str:
    if NATIVE is None:
        cannot_run(f"no Lambda architecture runs natively on {platform.machine()}")
    problem = containers.docker_problem()
    if problem:
        cannot_run(problem)
    image = containers.local_image(NATIVE)
    if image is None:
        tag = containers.LOCAL_IMAGE.format(architecture=NATIVE)
        cannot_run(f"no image {tag}: build it with `sudo local/lambda_image.sh {NATIVE}`")
    return image


def sam_build(build_dir) -> None:
    command = [tool("sam"), "build", "--build-dir", str(build_dir)]
    command += ["--cache-dir", str(build_dir.parent / "cache")]
    command += ["--parameter-overrides", f"Architecture={NATIVE}"]
    environment = build_environment(template_runtime())
    built = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr[-2000:]


@pytest.fixture(scope="module")
def sam(tmp_path_factory):
    """SAM CLI, the functions built for this machine, and the stand-ins on the run's network."""
    image = lambda_image()
    folder = tmp_path_factory.mktemp("sam-local")
    sam_build(folder / "build")
    with invoke.sam_local(
        folder / "work", NATIVE, image, template=folder / "build" / "template.yaml"
    ) as sam_local:
        yield sam_local


@pytest.mark.parametrize("event", CASES)
def test_sample_event_gives_its_expected_answer(sam, event):
    expectation = invoke.expectations()[event]

    result = sam.invoke(expectation)

    assert (result.answer, result.ok) == (expectation.answer, True), invoke.describe(result)


def test_cases_cover_a_success_and_a_named_error_per_function():
    succeeds = {}
    for event in CASES:
        expectation = invoke.expectations()[event]
        succeeds.setdefault(expectation.function, set()).add(expectation.answer == 200)

    assert set(succeeds) == set(FUNCTIONS)
    assert all(outcomes == {True, False} for outcomes in succeeds.values())


def test_the_stand_ins_listen_on_the_runs_own_network_only(sam):
    """moto's server has no authentication: it listens on the gateway of the run's network,
    which SAM CLI's containers join, not on Docker's default bridge or every address."""
    inspected = json.loads(containers.docker("network", "inspect", sam.network).stdout)
    gateway = inspected[0]["IPAM"]["Config"][0]["Gateway"]

    assert sam.network.startswith("scones-invoke-")
    assert urlsplit(sam.sts_url).hostname == gateway
