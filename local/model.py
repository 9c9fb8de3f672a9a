"""A small bicycle-vs-motorcycle classifier, trained in seconds on a CPU from the ETL's output.

It stands in for the SageMaker image-classification model when the workflow runs on one
machine: same input (PNG or JPEG bytes), same answer (`[p_bicycle, p_motorcycle]`).

The model is a logistic regression (scikit-learn) over about 150 features chosen to
survive what varies most between pictures, position and contrast: orientation histograms
of the edges per region, and how much of the picture is darker, more colourful or more
edged than its background. The regularisation is strong on purpose: with a thousand
training images an over-confident model would push wrong answers past the workflow's
confidence threshold, where an under-confident one only sends more images to a person.

Training folds the scaler into the weights and saves one weight vector as `.npz` (a few
KB, loaded without pickle), so serving needs numpy and Pillow only. On the SYNTHETIC
archive (1,000 training images) it trains in about a second, answers about 97 % of the
test images right and is at least 90 % sure of about three quarters of them.

    python -m local.model --data build/dataset --out build/model.npz
"""

import argparse
import io
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from training.common import cifar
from training.common.lst import read_lst

Predictor = Callable[[bytes], list[float]]

FEATURES_VERSION = 1  # bump when image_features changes: older model files are retrained
CONFIDENCE_THRESHOLD = 0.90  # the workflow's default: what "confident" means in evaluate()
REGULARISATION = 0.03  # LogisticRegression's C: small C, strong L2, modest confidence
IMAGE_FORMATS = ("PNG", "JPEG")  # what the image-classification algorithm accepts
CELLS = 4  # orientation histograms over a CELLS x CELLS grid of regions
ORIENTATIONS = 8
LEVELS = (0.2, 0.4, 0.6, 0.8)  # fractions of the picture's own contrast
MIN_CONTRAST = 0.03  # below this a picture is treated as blank, not amplified


class NotAnImage(ValueError):
    """The bytes are not a PNG or JPEG picture that can be decoded."""


class IncompatibleModelFile(ValueError):
    """A model file from another features version, or not a model file at all."""


def decode(image_bytes: bytes) -> np.ndarray:
    """PNG or JPEG bytes as a 32x32 RGB uint8 array (other sizes are resized)."""
    try:
        with Image.open(io.BytesIO(image_bytes), formats=IMAGE_FORMATS) as image:
            rgb = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise NotAnImage(f"cannot decode the bytes as PNG or JPEG: {error}") from error
    side = cifar.IMAGE_SIDE
    if rgb.size != (side, side):
        rgb = rgb.resize((side, side), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


def _gradients(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation (0..pi) of each pixel, by central differences."""
    dx, dy = np.zeros_like(gray), np.zeros_like(gray)
    dx[:, :, 1:-1] = (gray[:, :, 2:] - gray[:, :, :-2]) / 2
    dy[:, 1:-1] = (gray[:, 2:] - gray[:, :-2]) / 2
    return np.hypot(dx, dy), np.mod(np.arctan2(dy, dx), np.pi)


def orientation_histograms(gray: np.ndarray) -> np.ndarray:
    """Mean edge strength per orientation bin and region: rings, frames, blocks."""
    strength, angle = _gradients(gray)
    bins = np.minimum((angle / np.pi * ORIENTATIONS).astype(int), ORIENTATIONS - 1)
    n, cell = len(gray), cifar.IMAGE_SIDE // CELLS
    per_bin = [
        (strength * (bins == b)).reshape(n, CELLS, cell, CELLS, cell).mean(axis=(2, 4))
        for b in range(ORIENTATIONS)
    ]
    return np.stack(per_bin, axis=-1).reshape(n, -1)


def _shares_above(values: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    return np.stack([(values > level).mean(axis=(1, 2)) for level in levels], axis=1)


def _relative_to_background(pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels minus the picture's median colour, over its contrast; and that contrast."""
    n = len(pictures)
    rgb = pictures.astype(np.float64) / 255
    shift = rgb - np.median(rgb.reshape(n, -1, 3), axis=1)[:, None, None, :]
    deviation = np.abs(shift).max(axis=-1).reshape(n, -1)
    contrast = np.maximum(np.percentile(deviation, 98, axis=1), MIN_CONTRAST)
    return shift / contrast[:, None, None, None], contrast


def image_features(pictures: np.ndarray) -> np.ndarray:
    """One feature row per 32x32 RGB uint8 picture (array of shape (n, 32, 32, 3))."""
    shift, contrast = _relative_to_background(pictures)
    gray = shift.mean(axis=-1)
    saturation = shift.max(axis=-1) - shift.min(axis=-1)
    saturation -= np.median(saturation.reshape(len(gray), -1), axis=1)[:, None, None]
    strength, _ = _gradients(gray)
    return np.hstack(
        [
            orientation_histograms(gray),
            _shares_above(-gray, LEVELS),  # darker than the background: tyres, bodies
            _shares_above(np.abs(shift).max(axis=-1), LEVELS),
            _shares_above(saturation, LEVELS[:3]),  # solid colour: a motorcycle's body
            _shares_above(strength, (0.1, 0.2, 0.4)),  # thin lines have many edges
            strength.mean(axis=(1, 2))[:, None],
            np.log(contrast)[:, None],
        ]
    )


@dataclass(frozen=True)
class ImageClassifier:
    """Logistic regression over image_features, as one weight vector and a bias.

    Callable as a Predictor: image bytes in, `[p_bicycle, p_motorcycle]` out.
    """

    weights: np.ndarray
    bias: float

    def probabilities(self, pictures: np.ndarray) -> np.ndarray:
        """(n, 2) class probabilities for (n, 32, 32, 3) uint8 pictures."""
        logits = image_features(pictures) @ self.weights + self.bias
        motorcycle = np.exp(-np.logaddexp(0, -logits))  # the sigmoid, without overflow
        return np.stack([1 - motorcycle, motorcycle], axis=1)

    def __call__(self, image_bytes: bytes) -> list[float]:
        return [float(p) for p in self.probabilities(decode(image_bytes)[None])[0]]


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    confident_share: float  # share of images whose larger probability >= the threshold
    count: int
    threshold: float = CONFIDENCE_THRESHOLD


def split_files(data_dir: Path, split: str) -> tuple[list[Path], np.ndarray]:
    """The split's image paths and labels, in its `.lst` order."""
    entries = read_lst(Path(data_dir) / f"{split}.lst")
    paths = [Path(data_dir) / split / entry.path for entry in entries]
    return paths, np.array([entry.label for entry in entries], dtype=int)


def train(data_dir: Path) -> ImageClassifier:
    """Fit on the ETL output's train split (`train.lst`, `train/*.png`)."""
    paths, labels = split_files(data_dir, "train")
    if len(set(labels.tolist())) < len(cifar.CLASSES):
        raise ValueError(f"{data_dir}/train.lst must hold both classes to train on")
    pictures = np.stack([decode(path.read_bytes()) for path in paths])
    pipeline = make_pipeline(
        StandardScaler(), LogisticRegression(C=REGULARISATION, max_iter=5000)
    ).fit(image_features(pictures), labels)
    scaler, regression = pipeline[0], pipeline[1]
    weights = regression.coef_[0] / scaler.scale_
    bias = regression.intercept_[0] - float(weights @ scaler.mean_)
    return ImageClassifier(weights, float(bias))


def save(model: ImageClassifier, path: Path) -> None:
    """Write the model as `.npz` (whatever `path`'s suffix), replacing any older file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        np.savez(file, weights=model.weights, bias=model.bias, features_version=FEATURES_VERSION)
    partial.replace(path)


def load(path: Path) -> ImageClassifier:
    """The model saved at `path`; IncompatibleModelFile if it is not one of this version's."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            version, weights, bias = saved["features_version"], saved["weights"], saved["bias"]
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise IncompatibleModelFile(f"{path} is not a model file: {error}") from error
    if int(version) != FEATURES_VERSION:
        raise IncompatibleModelFile(
            f"{path} was trained on features version {int(version)}, this is {FEATURES_VERSION}"
        )
    return ImageClassifier(weights, float(bias))


def evaluate(predictor: Predictor, data_dir: Path, split: str = "test") -> Evaluation:
    """Accuracy and the share of confident answers, through the Predictor's own path."""
    paths, labels = split_files(data_dir, split)
    if not paths:
        raise ValueError(f"{data_dir}/{split}.lst lists no images to evaluate on")
    answers = np.array([predictor(path.read_bytes()) for path in paths])
    accuracy = float((answers.argmax(axis=1) == labels).mean())
    confident = float((answers.max(axis=1) >= CONFIDENCE_THRESHOLD).mean())
    return Evaluation(accuracy, confident, len(paths))


def _newest_lst_time(data_dir: Path) -> float:
    return max(os.path.getmtime(Path(data_dir) / f"{split}.lst") for split in cifar.SPLITS)


def _current_model(model_path: Path, data_dir: Path) -> ImageClassifier | None:
    """The saved model, if it is newer than the data and of this features version."""
    if not model_path.is_file() or model_path.stat().st_mtime < _newest_lst_time(data_dir):
        return None
    try:
        return load(model_path)
    except IncompatibleModelFile:
        return None


def ensure_model(data_dir: Path, model_path: Path) -> ImageClassifier:
    """The model at `model_path`; trained and saved first if it is missing, older than the
    `.lst` files, or from another features version."""
    model = _current_model(Path(model_path), data_dir)
    if model is None:
        model = train(data_dir)
        save(model, model_path)
    return model


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.model",
        description="Train the local bicycle-vs-motorcycle model on the ETL's output, save "
        "it and print its test figures.",
    )
    parser.add_argument("--data", type=Path, required=True, help="the ETL's output folder")
    parser.add_argument("--out", type=Path, required=True, help="the model file to write")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = train(args.data)
    seconds = time.perf_counter() - started
    save(model, args.out)
    result = evaluate(model, args.data)
    print(
        f"trained in {seconds:.1f} s; test accuracy {result.accuracy:.3f}, "
        f"{result.confident_share:.1%} of {result.count} images at or above "
        f"{result.threshold:.2f} confidence; {args.out} ({args.out.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main()
