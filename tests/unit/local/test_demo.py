"""`make demo` end to end, as a user runs it: a fresh process on a small generated archive."""

import io
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.demo import progress
from training.common.synthetic import write_archive

ROOT = Path(__file__).resolve().parents[3]
ROW = re.compile(
    r"^incoming/(?P<key>\S+)\s+(?P<true>\w+)\s+(?P<predicted>\S+)\s+(?P<conf>\S+)\s+(?P<result>\w+)$"
)


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory) -> tuple[Path, str]:
    """A SYNTHETIC archive in CIFAR-100's layout, small enough to train on in a second."""
    path = tmp_path_factory.mktemp("archive") / "small-cifar-100.tar.gz"
    md5 = write_archive(path, seed=3, train_per_class=60, test_per_class=8, other_per_class=1)
    return path, md5


def run_demo(workdir: Path, *args: str, env: dict[str, str] | None = None):
    """`python -m local.demo` in a fresh process, with none of the test run's AWS settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    clean |= {"XDG_CACHE_HOME": str(workdir / "cache")} | (env or {})
    command = [sys.executable, "-m", "local.demo", "--workdir", str(workdir), *args]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=300)


def rows(stdout: str) -> list[dict[str, str]]:
    return [match.groupdict() for line in stdout.splitlines() if (match := ROW.match(line))]


@dataclass
class DemoRun:
    result: subprocess.CompletedProcess
    workdir: Path

    @property
    def table(self) -> list[dict[str, str]]:
        return rows(self.result.stdout)

    def count(self, outcome: str) -> int:
        return sum(row["result"] == outcome for row in self.table)


@pytest.fixture(scope="module")
def demo(small_archive, tmp_path_factory) -> DemoRun:
    """One demo over 6 images, shared by the tests that each read one part of what it shows."""
    archive, md5 = small_archive
    workdir = tmp_path_factory.mktemp("demo")
    result = run_demo(workdir, "--archive", str(archive), "--md5", md5, "--images", "6")
    assert result.returncode == 0, result.stderr
    return DemoRun(result, workdir)


def test_demo_prints_one_row_per_image_with_its_outcome(demo):
    assert len(demo.table) == 6
    assert {row["true"] for row in demo.table} <= {"bicycle", "motorcycle"}
    assert {row["result"] for row in demo.table} <= {"SUCCEEDED", "ConfidenceThresholdNotMet"}


def test_demo_totals_match_its_rows(demo):
    succeeded, below = demo.count("SUCCEEDED"), demo.count("ConfidenceThresholdNotMet")
    assert (
        f"6 executions: {succeeded} succeeded, {below} below the threshold "
        "(ConfidenceThresholdNotMet), 0 other failures"
    ) in demo.result.stdout


def test_what_passes_is_at_or_above_the_threshold_and_the_rest_below(demo):
    for row in demo.table:
        if row["result"] == "SUCCEEDED":
            assert float(row["conf"]) >= 0.90
        else:
            assert float(row["conf"]) < 0.90


def test_every_inference_is_captured_and_reported(demo):
    capture = demo.workdir / "data-capture" / "local-image-classifier" / "AllTraffic"
    captured = list(capture.rglob("*.jsonl"))
    assert sum(len(file.read_text().splitlines()) for file in captured) == 6
    assert "inferences: 6" in demo.result.stdout
    for plot in ("confidence.png", "classes.png"):
        assert (demo.workdir / "report" / plot).read_bytes().startswith(b"\x89PNG")


def test_the_functions_log_with_the_executions_correlation_id(demo):
    assert '"correlation_id"' in (demo.workdir / "functions.log").read_text()


def test_images_below_the_threshold_wait_in_the_review_queue(demo):
    below = demo.count("ConfidenceThresholdNotMet")
    review = f"review queue: {below} waiting for a person (python -m operations.review)"
    assert review in demo.result.stdout
    one_item = 'one item: {"s3_bucket": "scones-unlimited-images"'
    assert (one_item in demo.result.stdout) == (below > 0)


def test_progress_in_a_log_is_plain_lines(demo):
    assert "\r" not in demo.result.stderr, "no progress-bar redraws in a log"
    assert "executions: 6/6 images" in demo.result.stderr.splitlines()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_few_plain_lines_in_a_log():
    log = io.StringIO()
    assert list(progress(list(range(25)), log)) == list(range(25))
    lines = log.getvalue().splitlines()
    assert lines[0] == "executions: 0/25 images" and lines[-1] == "executions: 25/25 images"
    assert len(lines) == 11 and "\r" not in log.getvalue()


def test_progress_is_a_redrawn_bar_on_a_terminal():
    terminal = Terminal()
    assert list(progress(list(range(3)), terminal)) == [0, 1, 2]
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()


def test_backfill_switch_classifies_the_images_in_one_backfill_and_prints_the_counts(
    small_archive, tmp_path
):
    archive, md5 = small_archive

    result = run_demo(
        tmp_path, "--archive", str(archive), "--md5", md5, "--images", "6", "--backfill"
    )

    assert result.returncode == 0, result.stderr
    assert "backfill of test/ (6 images): SUCCEEDED" in result.stdout
    counts = re.search(r"^6 keys: (.+)$", result.stdout, flags=re.MULTILINE)
    assert counts, result.stdout
    outcomes = dict(reversed(part.split(" ", 1)) for part in counts.group(1).split(", "))
    assert set(outcomes) <= {"bicycle", "motorcycle", "needs_review"}
    assert sum(int(n) for n in outcomes.values()) == 6
    review = f"review queue: {outcomes.get('needs_review', '0')} waiting for a person"
    assert review in result.stdout
    assert "inferences: 6" in result.stdout


def test_second_run_reuses_data_and_model_and_picks_the_same_images(small_archive, tmp_path):
    archive, md5 = small_archive
    first = run_demo(tmp_path, "--archive", str(archive), "--md5", md5, "--images", "4")
    model_time = (tmp_path / "model.npz").stat().st_mtime_ns

    second = run_demo(tmp_path, "--archive", str(archive), "--md5", md5, "--images", "4")

    assert second.returncode == 0, second.stderr
    assert rows(second.stdout) == rows(first.stdout)
    assert (tmp_path / "model.npz").stat().st_mtime_ns == model_time
    assert "inferences: 4" in second.stdout, "the report covers this run only"


def test_wrong_checksum_stops_at_once_with_a_message(small_archive, tmp_path):
    archive, _ = small_archive

    result = run_demo(tmp_path, "--archive", str(archive), "--md5", "0" * 32)

    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_download_names_the_ways_on(tmp_path):
    """The default is the real CIFAR-100; with no network, say so and name the options."""
    proxy_refusing_all = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}

    result = run_demo(tmp_path, env=proxy_refusing_all)

    assert result.returncode == 2
    assert "--archive" in result.stderr and "--synthetic" in result.stderr


class ConnectRecorder(socketserver.StreamRequestHandler):
    """An HTTPS proxy that records where a client wanted to go, then refuses to take it."""

    def handle(self) -> None:
        self.server.requests.append(self.rfile.readline().decode().strip())
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


def test_real_endpoint_mode_sends_invoke_endpoint_to_aws_not_to_moto(small_archive, tmp_path):
    """moto must let sagemaker-runtime through: the call reaches the (recording) proxy."""
    archive, md5 = small_archive
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), ConnectRecorder) as proxy:
        proxy.requests = []
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        env = {
            "HTTPS_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}",
            "NO_PROXY": "127.0.0.1,localhost",
            "AWS_ACCESS_KEY_ID": "example",
            "AWS_SECRET_ACCESS_KEY": "example",
        }
        result = run_demo(
            tmp_path,
            *("--archive", str(archive), "--md5", md5, "--images", "2"),
            *("--endpoint-name", "my-endpoint", "--region", "eu-west-1"),
            env=env,
        )
        proxy.shutdown()

    destinations = {request.split()[1] for request in proxy.requests}
    assert destinations == {"runtime.sagemaker.eu-west-1.amazonaws.com:443"}
    assert [row["result"] for row in rows(result.stdout)] == ["EndpointError", "EndpointError"]
    assert result.returncode == 1, "a workflow that cannot classify is broken"


def test_ctrl_c_stops_everything_and_says_so(small_archive, tmp_path):
    archive, md5 = small_archive
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    command = [sys.executable, "-m", "local.demo", "--workdir", str(tmp_path)]
    command += ["--archive", str(archive), "--md5", md5, "--images", "16"]
    with subprocess.Popen(
        command, cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as demo:
        progress = ""
        while "executions:" not in progress:  # tqdm's bar: the servers are up
            progress += demo.stderr.read(1) or pytest.fail("the demo ended before executing")
        demo.send_signal(signal.SIGINT)
        stdout, stderr = demo.communicate(timeout=60)

    assert demo.returncode == 130, f"{stderr[-2000:]}\n--- stdout ---\n{stdout[-3000:]}"
    assert "interrupted: servers stopped" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("seconds", [0.2, 1, 3])
def test_ctrl_c_while_the_demo_starts_exits_130_without_a_traceback(
    small_archive, tmp_path, seconds
):
    """The demo's imports take seconds: Ctrl-C among them is as calm as Ctrl-C later."""
    archive, md5 = small_archive
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    command = [sys.executable, "-m", "local.demo", "--workdir", str(tmp_path)]
    command += ["--archive", str(archive), "--md5", md5, "--images", "2"]
    with subprocess.Popen(
        command, cwd=ROOT, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as demo:
        time.sleep(seconds)
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=60)

    assert demo.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
