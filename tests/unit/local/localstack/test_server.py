"""local.localstack.server: the configuration LocalStack gets (reachable from this machine and
the run's containers only, its Lambda offline), where the container init goes, and that
stopping it stops it even when it hangs."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from local.localstack import server


@pytest.fixture
def settings(tmp_path) -> server.Settings:
    return server.Settings(
        port=4566,
        network="scones-acceptance-0a1b2c3d",
        gateway="172.18.0.1",
        root=tmp_path / "localstack",
        image="local/lambda-python:3.13-x86_64",
        layer_dir=tmp_path / "sam" / "CommonLayer",
        model_endpoint_url="http://172.18.0.1:5001",
    )


def test_localstack_listens_on_the_loopback_and_the_networks_gateway_only(settings):
    """No authentication: nothing but this machine and the run's containers may reach it."""
    environment = settings.environment()

    assert settings.url == "http://127.0.0.1:4566"
    assert environment["GATEWAY_LISTEN"] == "127.0.0.1:4566,172.18.0.1:4566"
    assert environment["GATEWAY_SERVER"] == "hypercorn"  # twisted binds 0.0.0.0 regardless
    assert environment["DNS_ADDRESS"] == "0"
    everywhere = "0.0.0.0"  # noqa: S104 (what no value may say)
    assert not any(everywhere in value for value in environment.values())


def test_lambda_containers_get_the_layer_the_endpoint_and_the_offline_image(settings, tmp_path):
    environment = settings.environment()

    assert environment["LAMBDA_DOCKER_FLAGS"] == (
        f"-v {tmp_path / 'sam' / 'CommonLayer'}:/opt:ro "
        "-e AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://172.18.0.1:5001"
    )
    assert json.loads(environment["LAMBDA_RUNTIME_IMAGE_MAPPING"]) == {
        "python3.13": "local/lambda-python:3.13-x86_64"
    }
    assert environment["LAMBDA_DOCKER_NETWORK"] == "scones-acceptance-0a1b2c3d"
    assert environment["FILESYSTEM_ROOT"] == str(tmp_path / "localstack")
    assert environment["LEGACY_DOCKER_CLIENT"] == "1"
    docker_cmd = Path(environment["DOCKER_CMD"])
    assert docker_cmd.name == "docker_offline.sh" and os.access(docker_cmd, os.X_OK)


def test_the_init_and_the_emulator_go_where_localstack_looks_before_downloading(tmp_path):
    emulator = tmp_path / "aws-lambda-rie-x86_64"
    emulator.write_bytes(b"\x7fELF the emulator")
    root = tmp_path / "localstack"
    rapid = root / "var/lib/localstack/lib/lambda-runtime/v0.1.41-pre/x86_64/var/rapid"

    init = server.install_init(root, emulator, "x86_64")
    again = server.install_init(root, emulator, "x86_64")  # a second run's, over the first

    assert init == again == rapid / "init"
    assert sorted(path.name for path in rapid.iterdir()) == ["aws-lambda-rie", "init"]
    assert init.read_bytes() == (server.HERE / "lambda_init.py").read_bytes()
    assert (rapid / "aws-lambda-rie").read_bytes() == b"\x7fELF the emulator"
    for path in rapid.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o755, path.name


def test_a_missing_virtualenv_is_said_with_its_fix(monkeypatch, tmp_path):
    python = tmp_path / ".venv-localstack" / "bin" / "python"
    monkeypatch.setattr(server, "PYTHON", python)

    assert server.venv_problem() == (
        "no LocalStack virtualenv at .venv-localstack: make acceptance installs it"
    )
    python.parent.mkdir(parents=True)
    python.touch()
    assert server.venv_problem() is None


def test_a_localstack_that_exits_while_starting_is_said_with_its_log(tmp_path):
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait()
    log = tmp_path / "localstack.log"

    with socket.socket() as unanswered, pytest.raises(server.LocalStackProblem) as problem:
        unanswered.bind(("127.0.0.1", 0))  # bound, not listening: refuses connections
        url = f"http://127.0.0.1:{unanswered.getsockname()[1]}"
        server.wait_until_healthy(exited, url, log)

    assert str(problem.value) == f"LocalStack exited with status 3 while starting: see {log}"


IGNORES_SIGTERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_localstack_that_ignores_sigterm_is_killed(monkeypatch):
    monkeypatch.setattr(server, "STOP_SECONDS", 0.5)
    process = subprocess.Popen(
        [sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "ready\n"  # SIGTERM is ignored from here on

        server.stop(process)

        assert process.returncode == -signal.SIGKILL
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_localstack_that_stops_on_sigterm_is_not_killed():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    server.stop(process)
    server.stop(process)  # a second stop, of a stopped process, does nothing

    assert process.returncode == -signal.SIGTERM
