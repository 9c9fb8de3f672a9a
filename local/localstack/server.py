"""LocalStack started for one acceptance run, and stopped with everything it started.

LocalStack runs in host mode from localstack-core in its own python3.13 virtualenv
(`.venv-localstack`, pinned by `local/localstack/requirements.txt`). Its Lambda service runs
each function in a container of the offline runtime image (`local/lambda_image.sh`) on a Docker
network created for the run. LocalStack has no authentication, so it listens on 127.0.0.1 and
on that network's gateway address only: what can reach it is this machine and the run's own
containers. Its configuration, every value of it (README, Deploy to LocalStack):

- `GATEWAY_SERVER=hypercorn`: its default server (twisted) listens on 0.0.0.0 whatever
  `GATEWAY_LISTEN` says; hypercorn binds exactly the addresses given;
- `OVERRIDE_IN_DOCKER=0`: host mode even where this machine is itself a container, so that
  its files stay under `FILESYSTEM_ROOT` and the network's gateway is its address;
- `DNS_ADDRESS=0`: no DNS server (it would listen on port 53 of every address);
- `LAMBDA_DOCKER_NETWORK`, `LAMBDA_RUNTIME_IMAGE_MAPPING`, and `LEGACY_DOCKER_CLIENT=1` with
  `DOCKER_CMD` (`docker_offline.sh`): its pull of the runtime image, which would fail offline;
- `LAMBDA_DOCKER_FLAGS`: the application layer mounted at /opt (its community edition does not
  attach layers) and the model endpoint's address given to the functions;
- the container init it would download, installed where it looks first (`lambda_init.py`);
- and one fix of its code, applied as it starts (`start.py`): its EventBridge target for Step
  Functions fails every event an `InputTransformer` shaped.
"""

import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = HERE.parents[1] / ".venv-localstack" / "bin" / "python"
INIT_VERSION = "v0.1.41-pre"  # the lambda-runtime release localstack-core 2026.3.0 asks for
VAR_LIBS = Path("var/lib/localstack/lib")  # its config.dirs.var_libs, under FILESYSTEM_ROOT
HEALTH = "/_localstack/health"
SERVICES = "cloudformation,s3,sqs,sns,events,stepfunctions,lambda,logs,cloudwatch,iam,sts"
START_SECONDS = 90
STOP_SECONDS = 20


class LocalStackProblem(Exception):
    """LocalStack cannot run here, or did not become healthy: the message names the fix."""


@dataclass(frozen=True)
class Settings:
    """One run's LocalStack: where it listens, what its Lambda containers get."""

    port: int
    network: str
    gateway: str  # the network's gateway: this machine's address on it
    root: Path  # FILESYSTEM_ROOT: LocalStack's files for this run
    image: str  # the Lambda runtime image, present locally
    layer_dir: Path  # the application layer as `sam build` made it
    model_endpoint_url: str  # where ClassifyImage's SageMaker runtime calls go

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        flags = [
            f"-v {self.layer_dir}:/opt:ro",
            f"-e AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={self.model_endpoint_url}",
        ]
        return {
            "SERVICES": SERVICES,
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port},{self.gateway}:{self.port}",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(self.root),
            "DNS_ADDRESS": "0",
            "LAMBDA_DOCKER_NETWORK": self.network,
            "LAMBDA_RUNTIME_IMAGE_MAPPING": f'{{"python3.13": "{self.image}"}}',
            "LEGACY_DOCKER_CLIENT": "1",
            "DOCKER_CMD": str(HERE / "docker_offline.sh"),
            "LAMBDA_DOCKER_FLAGS": " ".join(flags),
            "LAMBDA_REMOVE_CONTAINERS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",  # no usage analytics
        }


def venv_problem() -> str | None:
    """Why LocalStack cannot start from its virtualenv, or None when it can."""
    if PYTHON.exists():
        return None
    return f"no LocalStack virtualenv at {PYTHON.parent.parent.name}: make acceptance installs it"


def emulator_of(architecture: str) -> Path:
    """AWS's Runtime Interface Emulator for `architecture`, as the SAM CLI package ships it."""
    import samcli

    return Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{architecture}"


def install_init(root: Path, emulator: Path, architecture: str) -> Path:
    """The container init where LocalStack looks before downloading its own, with AWS's
    Runtime Interface Emulator beside it (LocalStack copies the folder into each container)."""
    rapid = root / VAR_LIBS / "lambda-runtime" / INIT_VERSION / architecture / "var" / "rapid"
    rapid.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "lambda_init.py", rapid / "init")
    shutil.copyfile(emulator, rapid / "aws-lambda-rie")
    for name in ("init", "aws-lambda-rie"):
        (rapid / name).chmod(0o755)
    return rapid / "init"


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH, timeout=2) as answer:  # noqa: S310 (loopback)
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_until_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not healthy(url):
        if process.poll() is not None:
            raise LocalStackProblem(
                f"LocalStack exited with status {process.returncode} while starting: see {log}"
            )
        if time.monotonic() > deadline:
            raise LocalStackProblem(
                f"LocalStack was not healthy after {START_SECONDS} s: see {log}, then "
                "rm -rf .venv-localstack to reinstall it"
            )
        time.sleep(0.25)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (LocalStack stops its Lambda containers), then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(settings: Settings, log: Path) -> Iterator[str]:
    """LocalStack, healthy, for the block; its URL on the loopback."""
    environment = {**os.environ, **settings.environment()}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (the project's own virtualenv)
            [str(PYTHON), str(HERE / "start.py")],
            env=environment,
            cwd=settings.root,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches the runner, which stops it in order
        )
        try:
            wait_until_healthy(process, settings.url, log)
            yield settings.url
        finally:
            stop(process)
