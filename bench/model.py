"""The local model: training time, test figures on the SYNTHETIC archive, how many of the
demo's images it is sure enough of to pass the workflow's threshold and, given a copy of real
CIFAR-100 photographs (`--real-archive`), its figures on their held-out test split.

The pass share must be at least one half (the demo shows the workflow succeeding) and below
one (the demo also shows ConfidenceThresholdNotMet failing an execution, as designed). On real
photographs: accuracy, the share of images at or above the threshold, and how many of those
are right (what a person never looks at must be right).
"""

import time
from dataclasses import dataclass
from pathlib import Path

from bench.figures import Figure
from bench.workspace import CONFIDENCE_THRESHOLD, WORKDIR, synthetic_data
from local.demo import pick_images
from local.model import classifier
from training import etl

TRAINING_BOUND_SECONDS = 60
ACCURACY_BOUND = 0.95
PASS_SHARE_BOUND = 0.5
REAL_ACCURACY_BOUND = 0.88
REAL_CONFIDENT_SHARE_BOUND = 0.60
REAL_CONFIDENT_ACCURACY_BOUND = 0.97
DEMO_IMAGES = 20  # local.demo's defaults: --images 20 --seed 0
DEMO_SEED = 0


@dataclass(frozen=True)
class RealArchive:
    """A CIFAR-100-layout archive of real photographs, and its MD5 when not the published one."""

    path: Path
    md5: str | None = None


def demo_images(data_dir: Path) -> list[Path]:
    """The images `make demo ARGS=--synthetic` classifies, chosen by the demo's own code."""
    return [path for path, _ in pick_images(data_dir, DEMO_IMAGES, DEMO_SEED)]


def pass_share(predictor: classifier.Predictor, images: list[Path]) -> tuple[int, int]:
    """How many of `images` the model answers with at least the threshold, and how many in all."""
    passing = sum(max(predictor(image.read_bytes())) >= CONFIDENCE_THRESHOLD for image in images)
    return passing, len(images)


def timed_training(data_dir: Path) -> tuple[classifier.ImageClassifier, float]:
    started = time.perf_counter()
    model = classifier.train(data_dir)
    return model, time.perf_counter() - started


def training_figure(seconds: float, data: str) -> Figure:
    bound = TRAINING_BOUND_SECONDS
    return Figure(
        "model", f"training time ({data})", f"{seconds:.1f} s", f"<= {bound} s", seconds <= bound
    )


def synthetic_figures() -> list[Figure]:
    """Train once from scratch (timed), then evaluate on the test split and the demo's images."""
    data_dir = synthetic_data()
    model, seconds = timed_training(data_dir)
    classifier.save(model, WORKDIR / "model.npz")  # the execution figure serves this one
    result = classifier.evaluate(model, data_dir)
    passing, count = pass_share(model, demo_images(data_dir))
    share = passing / count
    return [
        training_figure(seconds, "synthetic"),
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


def real_figures(archive: RealArchive) -> list[Figure]:
    """Train on the real archive's train split (timed); figures on its held-out test split."""
    data_dir = etl.prepare(WORKDIR / "real-data", archive=archive.path, md5=archive.md5).root
    model, seconds = timed_training(data_dir)
    result = classifier.evaluate(model, data_dir)
    confident = round(result.confident_share * result.count)
    return [
        training_figure(seconds, "real"),
        Figure(
            "model",
            f"test accuracy (real, {result.count})",
            f"{result.accuracy:.3f}",
            f">= {REAL_ACCURACY_BOUND}",
            result.accuracy >= REAL_ACCURACY_BOUND,
        ),
        Figure(
            "model",
            f"real images at >= {CONFIDENCE_THRESHOLD:.2f}",
            f"{result.confident_share:.2f} ({confident} of {result.count})",
            f">= {REAL_CONFIDENT_SHARE_BOUND}",
            result.confident_share >= REAL_CONFIDENT_SHARE_BOUND,
        ),
        Figure(
            "model",
            "of those, right (real)",
            f"{result.confident_accuracy:.3f}",
            f">= {REAL_CONFIDENT_ACCURACY_BOUND}",
            result.confident_accuracy >= REAL_CONFIDENT_ACCURACY_BOUND,
        ),
    ]


def measure(repeats: int, real_archive: RealArchive | None = None) -> list[Figure]:
    """The synthetic figures; the real ones too when a real archive is given."""
    figures = synthetic_figures()
    return figures + real_figures(real_archive) if real_archive else figures
