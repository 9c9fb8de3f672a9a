"""The offline Lambda image's supply chain (`local/lambda_image.sh`): Debian's signatures are
checked or the build refuses, and every Python package is pinned and hashed for both
architectures (`local/lambda_image.requirements.txt`)."""

import hashlib
import re
import shutil
import stat
import subprocess
from pathlib import Path

from local import lambda_image_requirements as requirements
from local.emulation.workflow import ROOT

SCRIPT = ROOT / "local" / "lambda_image.sh"
PLATFORM_SPECIFIC = {"awslambdaric", "simplejson"}  # compiled: one wheel per architecture


def pinned() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), as the requirements file lists them."""
    text = requirements.REQUIREMENTS.read_text()
    found = {}
    for block in re.split(r"\n(?=\S)", text):
        if block.startswith("#"):
            continue
        name, version = block.split(" ", 1)[0].split("==")
        found[name] = (version, re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return found


def constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return dict(line.lower().split("==") for line in lines if "==" in line)


def test_every_package_is_pinned_and_hashed_for_both_architectures():
    packages = pinned()

    assert {"awslambdaric", "boto3", "botocore", "s3transfer", "simplejson"} <= set(packages)
    for name, (_, hashes) in packages.items():
        assert len(hashes) == (2 if name in PLATFORM_SPECIFIC else 1), name


def test_the_image_has_the_versions_the_project_pins():
    pins = constraints()
    for name, (version, _) in pinned().items():
        if name in pins:
            assert version == pins[name], name


def test_the_image_installs_from_the_hashed_file_alone():
    script = SCRIPT.read_text()

    assert '--require-hashes --no-deps -r "$REQUIREMENTS"' in script
    assert "-c " not in script  # no constraints file: its hashes would not be enforced


def test_requirement_lines_hash_each_wheel_of_a_version(tmp_path):
    wheels = []
    for name, content in [
        ("simplejson-4.3.0-cp313-cp313-manylinux2014_x86_64.whl", b"x86"),
        ("simplejson-4.3.0-cp313-cp313-manylinux2014_aarch64.whl", b"arm"),
        ("python_dateutil-2.9.0.post0-py2.py3-none-any.whl", b"any"),
    ]:
        wheels.append(tmp_path / name)
        wheels[-1].write_bytes(content)
    digest = {content: hashlib.sha256(content).hexdigest() for content in (b"x86", b"arm", b"any")}

    lines = requirements.requirement_lines(wheels)

    first, second = sorted([digest[b"x86"], digest[b"arm"]])
    assert lines == [
        "python-dateutil==2.9.0.post0 \\",
        f"    --hash=sha256:{digest[b'any']}",
        "simplejson==4.3.0 \\",
        f"    --hash=sha256:{first} \\",
        f"    --hash=sha256:{second}",
    ]


def fake_command(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_without_debians_keyring_the_build_refuses_before_debootstrap(tmp_path):
    """No unverified debootstrap: one line naming the package to install, nothing fetched."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_command(bin_dir, "docker", "exit 1")  # no image with that tag yet
    fake_command(bin_dir, "debootstrap", f"touch {tmp_path}/debootstrap-ran")
    for tool in ("uname", "dirname", "grep"):  # what the script runs before the keyring check
        (bin_dir / tool).symlink_to(shutil.which(tool))

    finished = subprocess.run(
        ["/bin/bash", str(SCRIPT), "x86_64"],
        env={"PATH": str(bin_dir), "DEBIAN_KEYRING": str(tmp_path / "no-keyring.gpg")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert finished.returncode == 1
    assert finished.stderr.splitlines() == [
        f"lambda image: no Debian archive keyring at {tmp_path}/no-keyring.gpg to check "
        "trixie's signatures: install debian-archive-keyring"
    ]
    assert not (tmp_path / "debootstrap-ran").exists()
