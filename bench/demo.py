"""`make demo ARGS="--synthetic"` wall time after set-up: the second of two runs.

Both runs are `python -m local.demo --synthetic` in a fresh process with the same work
directory: the first creates the data and the model (set-up, not timed), the second is what
a person sees every time after that.
"""

import subprocess
import sys
import time

from bench.figures import Figure, not_measurable
from bench.workspace import ROOT, WORKDIR

BOUND_SECONDS = 90
SUBJECT = "make demo --synthetic (2nd run)"
TIMEOUT_SECONDS = 600
DEMO_WORKDIR = WORKDIR / "demo"


def run_demo() -> tuple[float, subprocess.CompletedProcess]:
    """Seconds of one demo run, and how it ended."""
    command = [sys.executable, "-m", "local.demo", "--synthetic", "--workdir", str(DEMO_WORKDIR)]
    started = time.perf_counter()
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    return time.perf_counter() - started, finished


def failure(finished: subprocess.CompletedProcess) -> str:
    """The demo's last words when it exits non-zero, for the figure line."""
    last_line = (finished.stderr.strip() or finished.stdout.strip() or "no output").splitlines()[-1]
    return f"exit {finished.returncode}: {last_line[:120]}"


def measure(repeats: int) -> list[Figure]:
    """Warm up once, then time one run; a demo that does not finish cleanly is not measurable."""
    bound = f"<= {BOUND_SECONDS} s"
    for run in ("set-up run", "timed run"):
        seconds, finished = run_demo()
        if finished.returncode != 0:
            return [not_measurable("demo", SUBJECT, bound, f"{run} {failure(finished)}")]
    return [Figure("demo", SUBJECT, f"{seconds:.1f} s", bound, seconds <= BOUND_SECONDS)]
