"""`make acceptance`: the unchanged template deployed with `sam deploy` into LocalStack, and every
path of the workflow run on what CloudFormation created there.

1. checks that it can run (a Docker engine, a free port, LocalStack's virtualenv) and builds the
   offline Lambda image when it is missing (`local/lambda_image.sh`);
2. creates a Docker network for the run, and on its gateway address the model endpoint stand-in
   (the local model `make demo` uses, writing data-capture files) and LocalStack
   (`local/localstack/server.py`), which runs the functions' containers on that network;
3. `sam build` of the functions for this machine's architecture, the image bucket the sample
   events name, and `sam deploy` of the stack (acceptance values are parameter overrides only);
4. the scenario in `tests/acceptance/` as pytest tests, one line a check;
5. stops everything it started, on success, on failure and on Ctrl-C.

    make acceptance                          # all of it
    make acceptance ARGS="--port 4567"       # when 4566 is taken
    make acceptance ARGS="--keep-running"    # leave the stack up to run tests/acceptance by hand
"""

import argparse
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3

from local.containers import (
    LOCAL_IMAGE,
    ContainerProblem,
    docker_network,
    docker_problem,
    last_line,
    local_image,
    sam_executable,
)
from local.emulation import workflow
from local.emulation.endpoint import ModelEndpoint
from local.localstack import server
from local.model.classifier import ensure_model, load
from training import etl

ROOT = workflow.ROOT
WORKDIR = ROOT / "build" / "acceptance"
STACK = "scones-acceptance"
IMAGE_BUCKET = workflow.IMAGE_BUCKET  # the bucket events/sfn_*.json name
ENDPOINT_NAME = workflow.LOCAL_ENDPOINT_NAME
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}  # LocalStack's
# This machine's Lambda architecture: its functions run natively (macOS says arm64, Linux aarch64).
ARCHITECTURE = "arm64" if platform.machine() in {"arm64", "aarch64"} else "x86_64"
DEFAULT_PORT = 4566
# How far from the threshold an image the tests or the bench rely on must be, either side: the
# stack's model answers the same image the same way, but an outcome must not hang on a rounding.
CONFIDENCE_MARGIN = 0.02
NEVER_CREATED = {"CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE"}


class DeployFailed(Exception):
    """`sam deploy` did not complete: the message names the failing resource and its reason."""


@dataclass(frozen=True)
class Workspace:
    """Where one run keeps its files: the data, the model, captures, builds, logs."""

    root: Path = WORKDIR

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def model(self) -> Path:
        return self.root / "model.npz"

    @property
    def captures(self) -> Path:
        return self.root / "captures"

    @property
    def build(self) -> Path:
        return self.root / "sam"

    @property
    def localstack(self) -> Path:
        return self.root / "localstack"


@dataclass(frozen=True)
class Account:
    """The emulated account: how a command or a boto3 client reaches it."""

    url: str

    def environment(self) -> dict[str, str]:
        """For subprocesses: the caller's environment without its AWS settings, plus these."""
        kept = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        region = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "SAM_CLI_TELEMETRY": "0"}
        return kept | region | CREDENTIALS | {"AWS_ENDPOINT_URL": self.url}

    def client(self, service: str):  # a boto3 client of any service
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def parameter_overrides(**changed: str) -> list[str]:
    """The acceptance stack's parameters: the names the sample events use, this machine's
    architecture, and any `changed` ones. Everything else is the template's default."""
    values = {
        "EndpointName": ENDPOINT_NAME,
        "ImageBucketName": IMAGE_BUCKET,
        "Architecture": ARCHITECTURE,
        # The scenario counts review items: no audit by chance (the EXPRESS stack audits all).
        "AuditSamplePercent": "0",
    } | changed
    return [f"{name}={value}" for name, value in values.items()]


def sam(account: Account, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (the project's SAM CLI)
        [sam_executable(), *arguments],
        cwd=ROOT,
        env=account.environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def build(account: Account, workspace: Workspace) -> None:
    built = sam(
        account,
        "build",
        "--build-dir",
        str(workspace.build),
        "--parameter-overrides",
        f"Architecture={ARCHITECTURE}",
    )
    if built.returncode != 0:
        raise DeployFailed(f"sam build failed: {last_line(built.stderr)}")


def deploy(account: Account, workspace: Workspace, stack: str = STACK, **changed: str) -> None:
    """`sam deploy` of the built template; on failure, the failing resource and its reason
    from the stack events, and no half-made stack left behind."""
    started = datetime.now(UTC)
    deployed = sam(
        account,
        "deploy",
        "--template-file",
        str(workspace.build / "template.yaml"),
        "--stack-name",
        stack,
        "--resolve-s3",
        "--capabilities",
        "CAPABILITY_IAM",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--parameter-overrides",
        *parameter_overrides(**changed),
    )
    if deployed.returncode == 0:
        return
    reason = failing_resource(account, stack, since=started) or last_line(deployed.stderr)
    delete_if_never_created(account, stack)
    raise DeployFailed(f"sam deploy of {stack} failed: {reason}")


def delete(account: Account, stack: str = STACK) -> None:
    """`sam delete` of the stack, its artifacts included, without questions."""
    deleted = sam(account, "delete", "--stack-name", stack, "--no-prompts", "--region", REGION)
    if deleted.returncode != 0:
        raise DeployFailed(f"sam delete of {stack} failed: {last_line(deleted.stderr)}")


def failing_resource(account: Account, stack: str, since: datetime) -> str | None:
    """'LogicalId (Type): reason' of the first resource that failed since `since`, from the
    stack events; else the stack's own reason, when it gave one."""
    cloudformation = account.client("cloudformation")
    try:
        events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    except cloudformation.exceptions.ClientError:
        return None
    recent = [event for event in reversed(events) if event["Timestamp"] >= since]  # oldest first
    failed = [event for event in recent if event["ResourceStatus"].endswith("FAILED")]
    of_resources = [event for event in failed if event["LogicalResourceId"] != stack]
    of_stack = [
        event
        for event in recent
        if ("FAILED" in event["ResourceStatus"] or "ROLLBACK" in event["ResourceStatus"])
        and event.get("ResourceStatusReason")
    ]
    for event in of_resources[:1] or of_stack[:1]:
        reason = event.get("ResourceStatusReason", "no reason given")
        return f"{event['LogicalResourceId']} ({event['ResourceType']}): {reason}"
    return None


def delete_if_never_created(account: Account, stack: str) -> None:
    """A stack whose creation failed can only be deleted: delete it, so the next run starts
    clean. A failed update has rolled back to the stack as it was: it stays."""
    cloudformation = account.client("cloudformation")
    try:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError:
        return  # no such stack: nothing half-made
    if status in NEVER_CREATED:
        cloudformation.delete_stack(StackName=stack)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )


def port_problem(port: int) -> str | None:
    """Why LocalStack cannot listen on 127.0.0.1:`port`, or None when it can."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as LocalStack's server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return (
                f"port {port} on 127.0.0.1 is taken: stop what listens there "
                f"(ss -ltnp 'sport = :{port}'), or choose another: "
                f'make acceptance ARGS="--port {port + 1}"'
            )
    return None


def lambda_image() -> str:
    """The offline Lambda runtime image for this machine, built first when it is missing."""
    tag = local_image(ARCHITECTURE)
    if tag:
        return tag
    built = subprocess.run(  # noqa: S603 (the project's own script)
        ["bash", str(ROOT / "local" / "lambda_image.sh"), ARCHITECTURE],  # noqa: S607
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise server.LocalStackProblem(
            f"no Lambda image {LOCAL_IMAGE.format(architecture=ARCHITECTURE)}, and building "
            f"it failed ({last_line(built.stderr)}): run sudo local/lambda_image.sh {ARCHITECTURE}"
        )
    return built.stdout.split()[-1]


@dataclass(frozen=True)
class Run:
    """What the tests need to reach a running acceptance stack (`ACCEPTANCE_*` variables)."""

    account: Account
    workspace: Workspace
    stack: str = STACK

    def environment(self) -> dict[str, str]:
        return self.account.environment() | {
            "ACCEPTANCE_STACK": self.stack,
            "ACCEPTANCE_WORKDIR": str(self.workspace.root),
        }

    def outputs(self, stack: str | None = None) -> dict[str, str]:
        """The Outputs of this run's stack (or of `stack`), by name, as CloudFormation has them."""
        cloudformation = self.account.client("cloudformation")
        described = cloudformation.describe_stacks(StackName=stack or self.stack)["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}

    def judged_images(self) -> list[tuple[Path, float]]:
        """Each SYNTHETIC test image with the stand-in model's confidence in it: what decides
        whether the stack passes it or sends it to review."""
        model = load(self.workspace.model)
        paths = sorted((self.workspace.data / "test").glob("*.png"))
        return [(path, max(model(path.read_bytes()))) for path in paths]

    @classmethod
    def from_environment(cls) -> "Run | None":
        """The run a test process was started for, or None outside `make acceptance`."""
        if "ACCEPTANCE_STACK" not in os.environ:
            return None
        return cls(
            Account(os.environ["AWS_ENDPOINT_URL"]),
            Workspace(Path(os.environ["ACCEPTANCE_WORKDIR"])),
            os.environ["ACCEPTANCE_STACK"],
        )


@contextmanager
def deployed_stack(port: int, workspace: Workspace, download_init: bool) -> Iterator[Run]:
    """LocalStack with the stack deployed, and everything it needs, for the block. What an
    earlier run left (LocalStack's files, capture records) is removed first."""
    for leftover in (workspace.localstack, workspace.captures):
        shutil.rmtree(leftover, ignore_errors=True)
    image = lambda_image()
    data_dir = etl.prepare(workspace.data, synthetic=True).root
    model = ensure_model(data_dir, workspace.model)
    account = Account(f"http://127.0.0.1:{port}")
    build(account, workspace)
    network = f"scones-acceptance-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        gateway = stack.enter_context(docker_network(network))
        endpoint = stack.enter_context(
            ModelEndpoint(
                model, endpoint_name=ENDPOINT_NAME, capture_dir=workspace.captures, host=gateway
            )
        )
        settings = server.Settings(
            port=port,
            network=network,
            gateway=gateway,
            root=workspace.localstack.resolve(),
            image=image,
            layer_dir=(workspace.build / "CommonLayer").resolve(),
            model_endpoint_url=endpoint.url,
        )
        if not download_init:
            emulator = server.emulator_of(ARCHITECTURE)
            server.install_init(settings.root, emulator, ARCHITECTURE)
        stack.enter_context(server.running(settings, workspace.root / "localstack.log"))
        account.client("s3").create_bucket(Bucket=IMAGE_BUCKET)
        deploy(account, workspace)
        yield Run(account, workspace)


def run_tests(run: Run, pytest_arguments: Sequence[str]) -> int:
    """The scenario, one line a check; its exit status."""
    command = [sys.executable, "-m", "pytest", "tests/acceptance", "-v", "--no-header"]
    finished = subprocess.run(  # noqa: S603 (the project's own tests)
        [*command, "-p", "no:cacheprovider", *pytest_arguments],
        cwd=ROOT,
        env=run.environment(),
        check=False,
    )
    return finished.returncode


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make acceptance ARGS=...", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="LocalStack's port (4566)")
    parser.add_argument(
        "--download-lambda-init",
        action="store_true",
        help="let LocalStack download its own Lambda container init (needs internet) instead "
        "of the offline adapter (local/localstack/lambda_init.py)",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="deploy, print the variables that reach the stack, and wait for Ctrl-C "
        "instead of running the tests",
    )
    parser.add_argument("pytest_arguments", nargs="*", help="passed to pytest (after --)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_signal)  # `kill` cleans up as Ctrl-C does
    no_docker = docker_problem()
    if no_docker:
        no_docker += ": the functions run in Docker containers; start a Docker engine and run again"
    problem = no_docker or port_problem(args.port) or server.venv_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        with deployed_stack(args.port, Workspace(), args.download_lambda_init) as run:
            if args.keep_running:
                return keep_running(run)
            return run_tests(run, args.pytest_arguments)
    except (server.LocalStackProblem, ContainerProblem, DeployFailed) as problem:
        print(problem, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: LocalStack, its containers and the network are gone", file=sys.stderr)
        return 130


def stop_on_signal(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def keep_running(run: Run) -> int:
    print("the stack is up; in another shell:")
    for name, value in run.environment().items():
        if name.startswith(("AWS_", "ACCEPTANCE_")):
            print(f"  export {name}={value}")
    print("  .venv/bin/pytest tests/acceptance -v\nCtrl-C stops everything.")
    with suppress(KeyboardInterrupt):
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
