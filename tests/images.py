"""Real images for tests, made in memory."""

import io

from PIL import Image


def make_image(color: tuple[int, int, int] = (200, 30, 30), image_format: str = "PNG") -> bytes:
    """A 32x32 image of one colour: distinct colours give distinct bytes to script answers by."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(buffer, image_format)
    return buffer.getvalue()
