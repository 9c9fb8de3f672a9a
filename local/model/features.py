"""The local model's two families of image features, both blind to left and right.

- `shape_and_colour`: histograms of oriented gradients (scikit-image's HOG) at two cell
  sizes, for frames, wheels and outlines, plus a coarse Lab thumbnail and a hue/saturation
  histogram, for the solid painted body a motorcycle has and a bicycle lacks;
- `PatchDictionary`: a dictionary of 6x6 colour patches learnt from the training pictures
  (brightness and contrast normalised, whitened, clustered by k-means), each picture
  described by how strongly every dictionary patch appears in each quarter of it
  (Coates, Lee and Ng, "An Analysis of Single-Layer Networks in Unsupervised Feature
  Learning", 2011).

A vehicle facing left is the same vehicle facing right: `mirror_averaged` describes a
picture by the mean of its own features and its mirror image's, which is training on
flipped copies and averaging over both at prediction in one step.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from skimage.color import rgb2hsv, rgb2lab
from skimage.feature import hog
from skimage.transform import resize
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.feature_extraction.image import extract_patches_2d

Features = Callable[[np.ndarray], np.ndarray]

ORIENTATIONS = 9
HOG_CELLS = ((4, 4), (8, 8))  # pixels per cell: fine parts, then the whole outline
THUMBNAIL = (8, 8)
LAB_SCALE = 50.0  # brings L (0..100) and a, b (about -100..100) near unit size
HUE_SATURATION_BINS = (8, 4)
PATCH = 6
DICTIONARY_SIZE = 400
PATCHES_PER_PICTURE = 64  # dictionary learning samples this many patches from each picture
PATCH_CONTRAST_FLOOR = 10.0  # in 0..255 units: flat patches stay flat, not amplified noise
WHITENING_FLOOR = 0.1  # added to each variance: whitening lifts no direction above 1/sqrt(0.1)
ENCODE_BATCH = 100  # pictures encoded at a time: 100 x 729 patches x 400 distances in memory


def mirror_averaged(features: Features, pictures: np.ndarray) -> np.ndarray:
    """The mean of each picture's features and its left-right mirror's."""
    return (features(pictures) + features(pictures[:, :, ::-1])) / 2


def shape_and_colour(pictures: np.ndarray) -> np.ndarray:
    """HOG at two scales, a Lab thumbnail and a hue/saturation histogram per picture."""
    return np.stack([_shape_and_colour_of(picture) for picture in pictures])


def _shape_and_colour_of(picture: np.ndarray) -> np.ndarray:
    gradients = [
        hog(picture, ORIENTATIONS, cell, (2, 2), channel_axis=-1, transform_sqrt=True)
        for cell in HOG_CELLS
    ]
    thumbnail = resize(rgb2lab(picture), THUMBNAIL, anti_aliasing=True) / LAB_SCALE
    hsv = rgb2hsv(picture).reshape(-1, 3)
    hue_saturation, _, _ = np.histogram2d(
        hsv[:, 0], hsv[:, 1], bins=HUE_SATURATION_BINS, range=((0, 1), (0, 1))
    )
    shares = hue_saturation.ravel() / len(hsv)
    return np.concatenate([*gradients, thumbnail.ravel(), shares])


def _normalised(patches: np.ndarray) -> np.ndarray:
    """Each patch (a row) minus its mean, over its contrast: lighting no longer counts."""
    centred = patches - patches.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(centred.var(axis=-1, keepdims=True) + PATCH_CONTRAST_FLOOR)


@dataclass(frozen=True)
class PatchDictionary:
    """Whitening (`mean`, `whitening`) and the k-means centres of whitened 6x6 patches."""

    mean: np.ndarray
    whitening: np.ndarray
    centres: np.ndarray

    @classmethod
    def learn(cls, pictures: np.ndarray, seed: int = 0) -> "PatchDictionary":
        """Sample patches from `pictures`, whiten them (PCA) and cluster them (k-means)."""
        rng = np.random.default_rng(seed)
        samples = [
            extract_patches_2d(
                picture,
                (PATCH, PATCH),
                max_patches=PATCHES_PER_PICTURE,
                random_state=int(rng.integers(2**31)),
            )
            for picture in pictures
        ]
        patches = _normalised(np.concatenate(samples).reshape(-1, PATCH * PATCH * 3).astype(float))
        pca = PCA(random_state=seed).fit(patches)
        whitening = pca.components_.T / np.sqrt(pca.explained_variance_ + WHITENING_FLOOR)
        whitened = (patches - pca.mean_) @ whitening
        kmeans = MiniBatchKMeans(DICTIONARY_SIZE, random_state=seed, n_init=3, batch_size=4096)
        centres = kmeans.fit(whitened).cluster_centers_
        return cls(
            pca.mean_.astype(np.float32), whitening.astype(np.float32), centres.astype(np.float32)
        )

    def encode(self, pictures: np.ndarray) -> np.ndarray:
        """Per picture, each centre's activation summed over each quarter: 4 x 400 numbers."""
        batches = range(0, len(pictures), ENCODE_BATCH)
        return np.vstack([self._encode_batch(pictures[i : i + ENCODE_BATCH]) for i in batches])

    def _encode_batch(self, pictures: np.ndarray) -> np.ndarray:
        windows = sliding_window_view(pictures.astype(np.float32), (PATCH, PATCH, 3), (1, 2, 3))
        count, rows, columns = windows.shape[:3]
        patches = _normalised(windows.reshape(count * rows * columns, -1))
        whitened = (patches - self.mean) @ self.whitening
        squared = (whitened**2).sum(1)[:, None] - 2 * whitened @ self.centres.T
        distances = np.sqrt(np.maximum(squared + (self.centres**2).sum(1), 0))
        # "triangle" activation: how much closer than average a patch is to each centre
        active = np.maximum(distances.mean(axis=1, keepdims=True) - distances, 0)
        active = active.reshape(count, rows, columns, -1)
        half_rows, half_columns = rows // 2, columns // 2
        quarters = [
            active[:, top:bottom, left:right].sum(axis=(1, 2))
            for top, bottom in ((0, half_rows), (half_rows, rows))
            for left, right in ((0, half_columns), (half_columns, columns))
        ]
        return np.concatenate(quarters, axis=1)
