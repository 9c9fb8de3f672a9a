"""Pictures as the models see them: PNG or JPEG bytes decoded to 32x32 RGB, and what is the
same picture.

One decoding for the local model (training and serving) and for the ETL's deduplication, so
that "the same image" means the same pixels after the same resize, whatever the encoding: a
PNG saved again, at another compression or with other metadata, is the same image.
"""

import hashlib
import io

import numpy as np
from PIL import Image

from training.common import cifar
from training.common.errors import TrainingError

IMAGE_FORMATS = ("PNG", "JPEG")  # what the image-classification algorithm accepts


class NotAnImage(TrainingError, ValueError):
    """The bytes are not a PNG or JPEG picture that can be decoded."""


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


def png(pixels: np.ndarray) -> bytes:
    """A (32, 32, 3) uint8 array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def pixel_hash(pixels: np.ndarray) -> str:
    """SHA-256 of the decoded pixels: equal for every encoding of the same picture."""
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()
