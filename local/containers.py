"""What the runners that start Docker containers share: whether a Docker engine answers and
can run a Lambda architecture here, a Docker network for one run (its gateway is where the
containers reach this machine, and where the stand-ins listen), the offline Lambda image
(`local/lambda_image.sh`) and the SAM CLI to call."""

import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's name -> the kernel's
LOCAL_IMAGE = "local/lambda-python:3.13-{architecture}"  # what local/lambda_image.sh builds
BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")  # where Linux lists its emulators


class ContainerProblem(Exception):
    """Docker could not do what a runner needs: the message says what failed."""


def docker_problem() -> str | None:
    """Why no Docker engine can run the functions here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no Docker engine: the `docker` command is not installed"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],  # noqa: S607 (the user's docker)
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "no Docker engine answers: `docker info` timed out"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"no Docker engine answers: {reason}"
    return None


def emulation_problem(architecture: str) -> str | None:
    """Why this Linux machine cannot run `architecture` containers, or None when it can."""
    machine = ARCHITECTURES[architecture]
    if platform.machine() == machine or sys.platform != "linux":  # Docker Desktop emulates
        return None
    handler = BINFMT_MISC / f"qemu-{machine}"
    if handler.is_file() and handler.read_text().startswith("enabled"):
        return None
    native = next(name for name, kernel in ARCHITECTURES.items() if kernel == platform.machine())
    return (
        f"{architecture} functions on this {platform.machine()} machine need qemu, and no "
        f"qemu-{machine} handler is registered: install qemu-user-static and binfmt-support, "
        f"or run natively: make invoke ARCHITECTURE={native}"
    )


def last_line(text: str) -> str:
    """A command's last word on what happened: the last line it printed that is not blank."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


def docker(*arguments: str) -> subprocess.CompletedProcess:
    """The docker command's answer, captured: callers read its output or its last line."""
    return subprocess.run(  # noqa: S603 (the user's docker, fixed arguments)
        ["docker", *arguments],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )


@contextmanager
def docker_network(name: str) -> Iterator[str]:
    """A Docker network for the run; yields its gateway (this machine's address on it). On the
    way out, every container still on it is removed, then the network."""
    created = docker("network", "create", name)
    if created.returncode != 0:
        raise ContainerProblem(f"docker network create failed: {last_line(created.stderr)}")
    try:
        inspected = json.loads(docker("network", "inspect", name).stdout)
        yield inspected[0]["IPAM"]["Config"][0]["Gateway"]
    finally:
        left = docker("ps", "-aq", "--filter", f"network={name}").stdout.split()
        if left:
            docker("rm", "-f", *left)
        docker("network", "rm", name)


def local_image(architecture: str) -> str | None:
    """The offline Lambda image for `architecture` when it is built, else None (SAM pulls)."""
    tag = LOCAL_IMAGE.format(architecture=architecture)
    found = subprocess.run(  # noqa: S603 (a fixed command)
        ["docker", "image", "inspect", tag],  # noqa: S607 (the user's docker)
        capture_output=True,
        check=False,
    )
    return tag if found.returncode == 0 else None


def sam_executable() -> str:
    """The SAM CLI installed beside this interpreter (the project's), else the one on PATH."""
    beside_python = Path(sys.executable).with_name("sam")
    return str(beside_python) if beside_python.exists() else shutil.which("sam") or "sam"
