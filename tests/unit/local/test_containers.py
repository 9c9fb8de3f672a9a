"""local.containers, what the Docker-based runners share: the one-line reasons when the
containers cannot run here."""

import platform
import shutil

import pytest

from local import containers

NATIVE = next(
    name for name, kernel in containers.ARCHITECTURES.items() if kernel == platform.machine()
)
FOREIGN = next(name for name in containers.ARCHITECTURES if name != NATIVE)


def test_no_docker_command_is_said_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    assert containers.docker_problem() == "no Docker engine: the `docker` command is not installed"


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker command")
def test_an_engine_that_does_not_answer_is_said_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")

    problem = containers.docker_problem()

    assert problem.startswith("no Docker engine answers: ") and "\n" not in problem


@pytest.mark.skipif(platform.system() != "Linux", reason="binfmt_misc is Linux's")
def test_foreign_architecture_without_qemu_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setattr(containers, "BINFMT_MISC", tmp_path)
    kernel = containers.ARCHITECTURES[FOREIGN]

    problem = containers.emulation_problem(FOREIGN)

    assert f"qemu-{kernel}" in problem and "qemu-user-static" in problem
    assert f"make invoke ARCHITECTURE={NATIVE}" in problem
    assert containers.emulation_problem(NATIVE) is None
    (tmp_path / f"qemu-{kernel}").write_text(f"enabled\ninterpreter /usr/bin/qemu-{kernel}\n")
    assert containers.emulation_problem(FOREIGN) is None
