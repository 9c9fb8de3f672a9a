"""The local model's features: fixed sizes, finite values, and blind to left and right."""

import numpy as np
import pytest

from local.model.features import DICTIONARY_SIZE, PatchDictionary, mirror_averaged, shape_and_colour


@pytest.fixture(scope="module")
def pictures():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def dictionary(pictures):
    return PatchDictionary.learn(pictures)


def test_a_picture_and_its_mirror_image_are_described_alike(pictures, dictionary):
    mirrored = pictures[:, :, ::-1]
    for features in (shape_and_colour, dictionary.encode):
        assert mirror_averaged(features, mirrored) == pytest.approx(
            mirror_averaged(features, pictures), rel=1e-5, abs=1e-5
        )


def test_without_mirror_averaging_left_and_right_differ(pictures):
    assert not np.allclose(shape_and_colour(pictures), shape_and_colour(pictures[:, :, ::-1]))


def test_each_picture_gets_a_row_of_the_same_length(pictures, dictionary):
    assert dictionary.encode(pictures).shape == (20, 4 * DICTIONARY_SIZE)
    assert shape_and_colour(pictures).shape[0] == 20
    assert shape_and_colour(pictures[:1]).shape == shape_and_colour(pictures[1:3])[:1].shape


def test_the_dictionary_is_the_same_for_the_same_pictures(pictures, dictionary):
    again = PatchDictionary.learn(pictures)
    assert np.array_equal(again.centres, dictionary.centres)


def test_a_flat_picture_gives_finite_features(dictionary):
    flat = np.full((1, 32, 32, 3), 128, np.uint8)
    assert np.isfinite(shape_and_colour(flat)).all()
    assert np.isfinite(dictionary.encode(flat)).all()
