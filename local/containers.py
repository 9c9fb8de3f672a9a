"""What the runners that start Docker containers share: whether a Docker engine answers and
can run a Lambda architecture here, the address the containers reach this machine at, the
offline Lambda image (`local/lambda_image.sh`) and the SAM CLI to call."""

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

DOCKER_BRIDGE = "172.17.0.1"  # Docker's default, when the engine does not say
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's name -> the kernel's
LOCAL_IMAGE = "local/lambda-python:3.13-{architecture}"  # what local/lambda_image.sh builds
BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")  # where Linux lists its emulators


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


def bridge_address() -> str:
    """The Docker bridge's gateway: the address of this machine seen from a container."""
    inspected = subprocess.run(
        ["docker", "network", "inspect", "bridge"],  # noqa: S607 (the user's docker)
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(inspected.stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    except (ValueError, LookupError, TypeError):
        return DOCKER_BRIDGE


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
