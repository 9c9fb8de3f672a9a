"""A small bicycle-vs-motorcycle classifier, trained in under a minute on a CPU from ETL output.

It stands in for the SageMaker image-classification model when the workflow runs on one
machine: same input (PNG or JPEG bytes), same answer (`[p_bicycle, p_motorcycle]`).

Two RBF support-vector machines, one per feature family of `local.model.features` (shape and
colour; a learnt dictionary of patches), each picture described together with its mirror
image. A logistic regression combines their two scores, fitted on scores the machines gave
to pictures they were not trained on (scikit-learn's StackingClassifier, 5 folds): it is
the calibration too, so 0.9 means right about nine times in ten, not a stretched score.
An over-confident model would push wrong answers past the workflow's threshold, where an
honest one sends them to a person.

Training keeps what serving needs: the dictionary, each machine's support vectors with
their standardisation, and the two combining weights, saved as `.npz` (about 4 MB, loaded
without pickle), so serving needs numpy, scikit-image and Pillow, not scikit-learn.

    python -m local.model.classifier --data build/dataset --out build/model.npz [--cross-validate]
"""

import argparse
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from local.emulation import template
from local.model.features import PatchDictionary, mirror_averaged, shape_and_colour
from training.common import cifar
from training.common.lst import read_lst
from training.common.pictures import NotAnImage as NotAnImage  # raised by decode: its error
from training.common.pictures import decode

Predictor = Callable[[bytes], list[float]]

FEATURES_VERSION = 2  # bump when the features or the saved arrays change: older files retrain
CONFIDENCE_THRESHOLD = template.confidence_threshold()  # what "confident" means in evaluate()
SVM_C = 3.0  # chosen by 5-fold cross-validation on real training photographs
FOLDS = 5  # for the stack's calibration scores and for cross_validate
SEED = 0


class IncompatibleModelFile(ValueError):
    """A model file from another features version, or not a model file at all."""


@dataclass(frozen=True)
class KernelMachine:
    """An RBF support-vector machine's decision function, with its standardisation."""

    mean: np.ndarray
    scale: np.ndarray
    support: np.ndarray  # float16: half the file; answers move by less than 0.001
    dual: np.ndarray
    intercept: float
    gamma: float

    @classmethod
    def of(cls, pipeline: Pipeline) -> "KernelMachine":
        """The arrays of a fitted `... StandardScaler, SVC(kernel="rbf")` pipeline."""
        scaler, svm = pipeline[-2], pipeline[-1]
        return cls(
            scaler.mean_.astype(np.float32),
            scaler.scale_.astype(np.float32),
            svm.support_vectors_.astype(np.float16),
            svm.dual_coef_[0].astype(np.float32),
            float(svm.intercept_[0]),
            float(svm._gamma),
        )

    def decision(self, features: np.ndarray) -> np.ndarray:
        """SVC.decision_function: positive for motorcycle, negative for bicycle."""
        standard = ((features - self.mean) / self.scale).astype(np.float32)
        support = self.support.astype(np.float32)
        squared = (standard**2).sum(1)[:, None] - 2 * standard @ support.T
        squared += (support**2).sum(1)
        return np.exp(-self.gamma * np.maximum(squared, 0)) @ self.dual + self.intercept


@dataclass(frozen=True)
class ImageClassifier:
    """Both machines' scores, combined and calibrated by a logistic regression.

    Callable as a Predictor: image bytes in, `[p_bicycle, p_motorcycle]` out.
    """

    dictionary: PatchDictionary
    shape_machine: KernelMachine
    patch_machine: KernelMachine
    combine: np.ndarray  # the logistic regression's weight for each machine's score
    bias: float

    def probabilities(self, pictures: np.ndarray) -> np.ndarray:
        """(n, 2) class probabilities for (n, 32, 32, 3) uint8 pictures."""
        scores = np.stack(
            [
                self.shape_machine.decision(mirror_averaged(shape_and_colour, pictures)),
                self.patch_machine.decision(mirror_averaged(self.dictionary.encode, pictures)),
            ],
            axis=1,
        )
        logits = scores @ self.combine + self.bias
        motorcycle = np.exp(-np.logaddexp(0, -logits))  # the sigmoid, without overflow
        return np.stack([1 - motorcycle, motorcycle], axis=1)

    def __call__(self, image_bytes: bytes) -> list[float]:
        return [float(p) for p in self.probabilities(decode(image_bytes)[None])[0]]


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    confident_share: float  # share of images whose larger probability >= the threshold
    confident_accuracy: float  # share of those confident answers that are right (nan if none)
    count: int
    threshold: float = CONFIDENCE_THRESHOLD

    @classmethod
    def of(cls, probabilities: np.ndarray, labels: np.ndarray) -> "Evaluation":
        right = probabilities.argmax(axis=1) == labels
        confident = probabilities.max(axis=1) >= CONFIDENCE_THRESHOLD
        precision = float(right[confident].mean()) if confident.any() else float("nan")
        return cls(float(right.mean()), float(confident.mean()), precision, len(labels))

    def text(self) -> str:
        return (
            f"accuracy {self.accuracy:.3f}, {self.confident_share:.1%} of {self.count} images "
            f"at or above {self.threshold:.2f} confidence, {self.confident_accuracy:.1%} of "
            "those right"
        )


def stack(shape_columns: int) -> StackingClassifier:
    """One RBF SVM per feature family (shape first), combined by a logistic regression."""

    def machine(columns: slice) -> Pipeline:
        family = ColumnTransformer([("family", "passthrough", columns)])
        return make_pipeline(family, StandardScaler(), SVC(C=SVM_C, gamma="scale"))

    return StackingClassifier(
        [
            ("shape", machine(slice(0, shape_columns))),
            ("patch", machine(slice(shape_columns, None))),
        ],
        final_estimator=LogisticRegression(),
        cv=StratifiedKFold(FOLDS, shuffle=True, random_state=SEED),
        stack_method="decision_function",
    )


def fit(pictures: np.ndarray, labels: np.ndarray) -> ImageClassifier:
    """Learn the patch dictionary, then the stack, from (n, 32, 32, 3) pictures of both classes."""
    dictionary = PatchDictionary.learn(pictures, SEED)
    shape = mirror_averaged(shape_and_colour, pictures)
    patches = mirror_averaged(dictionary.encode, pictures)
    fitted = stack(shape.shape[1]).fit(np.hstack([shape, patches]), labels)
    return from_stack(fitted, dictionary)


def from_stack(fitted: StackingClassifier, dictionary: PatchDictionary) -> ImageClassifier:
    """The arrays serving needs from a fitted `stack()`: predictions stay the same."""
    final = fitted.final_estimator_
    return ImageClassifier(
        dictionary,
        KernelMachine.of(fitted.estimators_[0]),
        KernelMachine.of(fitted.estimators_[1]),
        final.coef_[0].astype(np.float64),
        float(final.intercept_[0]),
    )


def split_files(data_dir: Path, split: str) -> tuple[list[Path], np.ndarray]:
    """The split's image paths and labels, in its `.lst` order."""
    entries = read_lst(Path(data_dir) / f"{split}.lst")
    paths = [Path(data_dir) / split / entry.path for entry in entries]
    return paths, np.array([entry.label for entry in entries], dtype=int)


def split_pictures(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's decoded pictures, (n, 32, 32, 3), and labels."""
    paths, labels = split_files(data_dir, split)
    side = cifar.IMAGE_SIDE
    pictures = [decode(path.read_bytes()) for path in paths]
    return np.stack(pictures) if pictures else np.empty((0, side, side, 3), np.uint8), labels


def train(data_dir: Path) -> ImageClassifier:
    """Fit on the ETL output's train split (`train.lst`, `train/*.png`)."""
    pictures, labels = split_pictures(data_dir, "train")
    if len(set(labels.tolist())) < len(cifar.CLASSES):
        raise ValueError(f"{data_dir}/train.lst must hold both classes to train on")
    return fit(pictures, labels)


def cross_validate(data_dir: Path, folds: int = FOLDS) -> Evaluation:
    """Figures on the train split alone: each fold predicted by a model fitted without it."""
    pictures, labels = split_pictures(data_dir, "train")
    probabilities = np.zeros((len(labels), len(cifar.CLASSES)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    for fitted_on, held_out in splitter.split(pictures, labels):
        model = fit(pictures[fitted_on], labels[fitted_on])
        probabilities[held_out] = model.probabilities(pictures[held_out])
    return Evaluation.of(probabilities, labels)


PARTS = ("dictionary", "shape_machine", "patch_machine")


def save(model: ImageClassifier, path: Path) -> None:
    """Write the model as `.npz` (whatever `path`'s suffix), replacing any older file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{part}.{field.name}": getattr(getattr(model, part), field.name)
        for part in PARTS
        for field in fields(getattr(model, part))
    }
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        np.savez_compressed(
            file,
            **arrays,
            combine=model.combine,
            bias=model.bias,
            features_version=FEATURES_VERSION,
        )
    partial.replace(path)


def _part(saved: np.lib.npyio.NpzFile, part: str, kind: type) -> object:
    values = {field.name: saved[f"{part}.{field.name}"] for field in fields(kind)}
    return kind(**{name: v if v.ndim else float(v) for name, v in values.items()})


def _model(saved: np.lib.npyio.NpzFile) -> ImageClassifier:
    return ImageClassifier(
        _part(saved, "dictionary", PatchDictionary),
        _part(saved, "shape_machine", KernelMachine),
        _part(saved, "patch_machine", KernelMachine),
        saved["combine"],
        float(saved["bias"]),
    )


def load(path: Path) -> ImageClassifier:
    """The model saved at `path`; IncompatibleModelFile if it is not one of this version's."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            version = int(saved["features_version"])
            model = _model(saved) if version == FEATURES_VERSION else None
    except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise IncompatibleModelFile(f"{path} is not a model file: {error}") from error
    if model is None:
        raise IncompatibleModelFile(
            f"{path} was trained on features version {version}, this is {FEATURES_VERSION}"
        )
    return model


def evaluate(predictor: Predictor, data_dir: Path, split: str = "test") -> Evaluation:
    """Accuracy and the share (and accuracy) of confident answers, through the Predictor."""
    paths, labels = split_files(data_dir, split)
    if not paths:
        raise ValueError(f"{data_dir}/{split}.lst lists no images to evaluate on")
    answers = np.array([predictor(path.read_bytes()) for path in paths])
    return Evaluation.of(answers, labels)


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
        prog="python -m local.model.classifier",
        description="Train the local bicycle-vs-motorcycle model on the ETL's output, save "
        "it and print its test figures.",
    )
    parser.add_argument("--data", type=Path, required=True, help="the ETL's output folder")
    parser.add_argument("--out", type=Path, required=True, help="the model file to write")
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help=f"also print {FOLDS}-fold cross-validated figures on the train split",
    )
    args = parser.parse_args(argv)
    if args.cross_validate:
        print(f"cross-validated on the train split: {cross_validate(args.data).text()}")
    started = time.perf_counter()
    model = train(args.data)
    seconds = time.perf_counter() - started
    save(model, args.out)
    print(
        f"trained in {seconds:.1f} s; test {evaluate(model, args.data).text()}; "
        f"{args.out} ({args.out.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main()
