"""The local model on a small SYNTHETIC dataset: trains, saves, loads, predicts, refuses junk.

Its quality on full archives is measured by `make bench`, not tested here.
"""

import dataclasses
import io
import math
import os

import numpy as np
import pytest
from PIL import Image
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from local.model import classifier
from local.model.features import PatchDictionary, mirror_averaged, shape_and_colour
from training import etl
from training.common import lst, synthetic

SMALL = {"train_per_class": 40, "test_per_class": 20, "other_per_class": 1}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("model")
    archive = root / "synthetic.tar.gz"
    md5 = synthetic.write_archive(archive, seed=3, **SMALL)
    return etl.prepare(root / "data", archive=archive, md5=md5).root


@pytest.fixture(scope="module")
def trained(data_dir):
    return classifier.train(data_dir)


@pytest.fixture(scope="module")
def test_image(data_dir):
    return next((data_dir / "test").glob("*.png")).read_bytes()


def encoded(picture: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    return buffer.getvalue()


def test_predicts_two_probabilities_that_sum_to_one(trained, test_image):
    answer = trained(test_image)
    assert isinstance(answer, list) and len(answer) == 2
    assert all(isinstance(p, float) and 0 <= p <= 1 for p in answer)
    assert sum(answer) == pytest.approx(1)


def test_learns_something_even_from_eighty_images(trained, data_dir):
    result = classifier.evaluate(trained, data_dir)
    assert result.count == 2 * SMALL["test_per_class"]
    assert result.accuracy >= 0.75
    assert 0 <= result.confident_share <= 1
    assert result.threshold == 0.90


def test_evaluation_counts_confident_answers_and_how_many_of_them_are_right():
    probabilities = np.array([[0.95, 0.05], [0.08, 0.92], [0.6, 0.4], [0.3, 0.7]])
    result = classifier.Evaluation.of(probabilities, np.array([0, 0, 0, 1]))
    assert (result.accuracy, result.confident_share, result.count) == (0.75, 0.5, 4)
    assert result.confident_accuracy == 0.5


def test_evaluation_without_confident_answers_has_no_confident_accuracy():
    result = classifier.Evaluation.of(np.array([[0.6, 0.4]]), np.array([0]))
    assert result.confident_share == 0 and math.isnan(result.confident_accuracy)


def test_kernel_machine_gives_the_svms_own_decision_values():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5)) * [1, 10, 100, 1, 1]
    labels = (features[:, 0] + rng.normal(size=60) > 0).astype(int)
    pipeline = make_pipeline(StandardScaler(), SVC(C=3.0, gamma="scale")).fit(features, labels)
    machine = classifier.KernelMachine.of(pipeline)
    expected = pipeline.decision_function(features)
    assert machine.decision(features) == pytest.approx(expected, abs=0.01)  # float16 support


def test_served_model_answers_as_the_fitted_stack(data_dir):
    pictures, labels = classifier.split_pictures(data_dir, "train")
    dictionary = PatchDictionary.learn(pictures)
    shape = mirror_averaged(shape_and_colour, pictures)
    features = np.hstack([shape, mirror_averaged(dictionary.encode, pictures)])
    fitted = classifier.stack(shape.shape[1]).fit(features, labels)
    served = classifier.from_stack(fitted, dictionary).probabilities(pictures)
    assert served == pytest.approx(fitted.predict_proba(features), abs=1e-3)


def test_cross_validation_predicts_every_training_image_once(data_dir):
    result = classifier.cross_validate(data_dir, folds=2)
    assert result.count == 2 * SMALL["train_per_class"]
    assert result.accuracy >= 0.6


def test_save_and_load_give_the_same_answers(trained, test_image, tmp_path):
    path = tmp_path / "model.npz"
    classifier.save(trained, path)
    assert classifier.load(path)(test_image) == trained(test_image)


def test_save_writes_exactly_the_path_given(trained, tmp_path):
    path = tmp_path / "nested" / "model.joblib"
    classifier.save(trained, path)
    assert [p.name for p in path.parent.iterdir()] == ["model.joblib"]


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"not an image at all",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # a PNG signature, then nothing sensible
    ],
)
def test_refuses_bytes_that_are_not_an_image(trained, junk):
    with pytest.raises(classifier.NotAnImage):
        trained(junk)


def test_refuses_a_truncated_png(trained, test_image):
    with pytest.raises(classifier.NotAnImage):
        trained(test_image[: len(test_image) // 2])


def test_refuses_images_that_are_neither_png_nor_jpeg(trained):
    gif = encoded(Image.new("RGB", (32, 32), "white"), "GIF")
    with pytest.raises(classifier.NotAnImage, match="PNG or JPEG"):
        trained(gif)


def test_not_an_image_is_a_value_error():
    """The endpoint turns ValueError into the ModelError a bad payload gets from SageMaker."""
    assert issubclass(classifier.NotAnImage, ValueError)


@pytest.mark.parametrize(
    ("mode", "size", "image_format"),
    [
        ("RGB", (32, 32), "JPEG"),
        ("RGBA", (32, 32), "PNG"),
        ("L", (32, 32), "PNG"),
        ("RGB", (200, 120), "PNG"),
    ],
)
def test_accepts_jpeg_other_modes_and_other_sizes(trained, mode, size, image_format):
    picture = Image.new(mode, size, "gray")
    assert sum(trained(encoded(picture, image_format))) == pytest.approx(1)


def test_a_blank_picture_is_not_amplified_into_a_confident_answer(trained):
    blank = encoded(Image.new("RGB", (32, 32), (200, 200, 200)), "PNG")
    assert np.isfinite(trained(blank)).all()
    flat = np.full((1, 32, 32, 3), 200, np.uint8)
    assert np.isfinite(shape_and_colour(flat)).all()
    assert np.isfinite(trained.dictionary.encode(flat)).all()


def test_load_refuses_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(classifier.IncompatibleModelFile):
        classifier.load(path)


def test_load_refuses_another_features_version(trained, tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, combine=trained.combine, bias=trained.bias, features_version=-1)
    with pytest.raises(classifier.IncompatibleModelFile, match="features version -1"):
        classifier.load(path)


def test_training_needs_both_classes(data_dir, tmp_path):
    (tmp_path / "train").symlink_to(data_dir / "train")
    bicycles = [e for e in lst.read_lst(data_dir / "train.lst") if e.label == 0]
    (tmp_path / "train.lst").write_text(lst.format_lst(bicycles))
    with pytest.raises(ValueError, match="both classes"):
        classifier.train(tmp_path)


def test_evaluating_an_empty_split_is_an_error(trained, tmp_path):
    (tmp_path / "test.lst").write_text("")
    with pytest.raises(ValueError, match="no images"):
        classifier.evaluate(trained, tmp_path)


def test_ensure_model_trains_when_the_file_is_missing(data_dir, tmp_path, test_image):
    path = tmp_path / "model.npz"
    predictor = classifier.ensure_model(data_dir, path)
    assert path.is_file()
    assert sum(predictor(test_image)) == pytest.approx(1)


def test_ensure_model_reuses_a_current_file(data_dir, trained, tmp_path):
    path = tmp_path / "model.npz"
    classifier.save(trained, path)  # written after the data
    written = path.stat().st_mtime_ns
    again = classifier.ensure_model(data_dir, path)
    assert path.stat().st_mtime_ns == written
    assert np.array_equal(again.combine, trained.combine) and again.bias == trained.bias


def test_ensure_model_retrains_when_the_data_is_newer(data_dir, trained, tmp_path):
    path = tmp_path / "model.npz"
    classifier.save(trained, path)
    lst_time = os.path.getmtime(data_dir / "train.lst")
    os.utime(path, (lst_time - 60, lst_time - 60))
    classifier.ensure_model(data_dir, path)
    assert os.path.getmtime(path) > lst_time


def test_ensure_model_retrains_over_another_features_version(data_dir, trained, tmp_path):
    path = tmp_path / "model.npz"
    with path.open("wb") as file:
        np.savez(file, combine=trained.combine[:1], bias=0.0, features_version=-1)
    predictor = classifier.ensure_model(data_dir, path)
    assert classifier.load(path).combine.shape == trained.combine.shape
    assert predictor.combine.shape == trained.combine.shape


def test_cli_trains_saves_and_reports(data_dir, tmp_path, capsys):
    out = tmp_path / "cli-model.npz"
    classifier.main(["--data", str(data_dir), "--out", str(out)])
    printed = capsys.readouterr().out
    assert out.is_file()
    assert "test accuracy" in printed and "at or above 0.90 confidence" in printed
    assert "trained in" in printed and "of those right" in printed


@pytest.mark.filterwarnings("error")  # an overflow in the sigmoid would warn
@pytest.mark.parametrize("bias", [-1000.0, 1000.0])
def test_extreme_logits_still_give_probabilities(trained, test_image, bias):
    certain = dataclasses.replace(trained, combine=np.zeros_like(trained.combine), bias=bias)
    assert sorted(certain(test_image)) == [0.0, 1.0]
