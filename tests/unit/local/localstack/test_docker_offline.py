"""local/localstack/docker_offline.sh, LocalStack's docker command offline: a pull of an image
that is present succeeds without a registry; any other pull, and every other command, is
docker's own. Run with a fake `docker` first on PATH that records how it is called."""

import os
import subprocess
from pathlib import Path

import pytest

from local.localstack import server

SCRIPT = Path(server.__file__).parent / "docker_offline.sh"

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_CALLS"
if [ "$1" = image ] && [ "$2" = inspect ]; then
  [ "$3" = present:tag ] && exit 0
  echo "Error: No such image: $3" >&2
  exit 1
fi
exit "${DOCKER_STATUS:-0}"
"""


@pytest.fixture
def docker_offline(tmp_path):
    """Runs the script (as LocalStack does, by its path) with the fake docker; returns its
    exit status and the docker command lines it ran, one string per call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    calls = tmp_path / "calls"

    def run(*arguments: str, status: int = 0) -> tuple[int, list[str]]:
        environment = os.environ | {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "DOCKER_CALLS": str(calls),
            "DOCKER_STATUS": str(status),
        }
        calls.write_text("")
        finished = subprocess.run(
            [str(SCRIPT), *arguments], env=environment, capture_output=True, check=False
        )
        return finished.returncode, calls.read_text().splitlines()

    return run


def test_a_pull_of_a_present_image_succeeds_without_pulling(docker_offline):
    assert docker_offline("pull", "present:tag", "--platform", "linux/amd64") == (
        0,
        ["image inspect present:tag"],
    )


def test_a_pull_of_a_missing_image_is_dockers_own_and_its_status(docker_offline):
    assert docker_offline("pull", "missing:tag", "--platform", "linux/amd64", status=1) == (
        1,
        ["image inspect missing:tag", "pull missing:tag --platform linux/amd64"],
    )


def test_the_platform_is_not_taken_for_the_image(docker_offline):
    """`--platform=linux/arm64` and `--platform linux/arm64` alike: neither is inspected."""
    assert docker_offline("pull", "--platform=linux/arm64", "present:tag") == (
        0,
        ["image inspect present:tag"],
    )


def test_every_other_command_is_passed_through_unchanged(docker_offline):
    assert docker_offline("ps", "-a") == (0, ["ps -a"])
    assert docker_offline("run", "--rm", "present:tag", "pull", status=125) == (
        125,
        ["run --rm present:tag pull"],
    )
