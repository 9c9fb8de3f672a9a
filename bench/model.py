"""The local model: training time, test accuracy on the SYNTHETIC archive, and how many of the
demo's images it is sure enough of to pass the workflow's threshold.

The pass share must be at least one half (the demo shows the workflow succeeding) and below
one (the demo also shows ConfidenceThresholdNotMet failing an execution, as designed).
"""

import time
from pathlib import Path

from bench.figures import Figure
from bench.workspace import CONFIDENCE_THRESHOLD, WORKDIR, synthetic_data
from local import model as local_model
from local.demo import pick_images

TRAINING_BOUND_SECONDS = 120
ACCURACY_BOUND = 0.95
PASS_SHARE_BOUND = 0.5
DEMO_IMAGES = 20  # local.demo's defaults: --images 20 --seed 0
DEMO_SEED = 0


def demo_images(data_dir: Path) -> list[Path]:
    """The images `make demo ARGS=--synthetic` classifies, chosen by the demo's own code."""
    return [path for path, _ in pick_images(data_dir, DEMO_IMAGES, DEMO_SEED)]


def pass_share(predictor: local_model.Predictor, images: list[Path]) -> tuple[int, int]:
    """How many of `images` the model answers with at least the threshold, and how many in all."""
    passing = sum(max(predictor(image.read_bytes())) >= CONFIDENCE_THRESHOLD for image in images)
    return passing, len(images)


def measure(repeats: int) -> list[Figure]:
    """Train once from scratch (timed), then evaluate on the test split and the demo's images."""
    data_dir = synthetic_data()
    started = time.perf_counter()
    model = local_model.train(data_dir)
    seconds = time.perf_counter() - started
    local_model.save(model, WORKDIR / "model.npz")  # the execution figure serves this one
    result = local_model.evaluate(model, data_dir)
    passing, count = pass_share(model, demo_images(data_dir))
    share = passing / count
    return [
        Figure(
            "model",
            "training time",
            f"{seconds:.1f} s",
            f"<= {TRAINING_BOUND_SECONDS} s",
            seconds <= TRAINING_BOUND_SECONDS,
        ),
        Figure(
            "model",
            f"test accuracy (synthetic, {result.count})",
            f"{result.accuracy:.3f}",
            f">= {ACCURACY_BOUND}",
            result.accuracy >= ACCURACY_BOUND,
        ),
        Figure(
            "model",
            f"demo images at >= {CONFIDENCE_THRESHOLD:.2f}",
            f"{share:.2f} ({passing} of {count})",
            f">= {PASS_SHARE_BOUND}, < 1",
            PASS_SHARE_BOUND <= share < 1,
        ),
    ]
