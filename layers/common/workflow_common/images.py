"""Image checks made from the bytes themselves, never from a file name."""

import base64
import binascii

from workflow_common.errors import ImageTooLarge, InvalidEvent, NotAnImage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

# Step Functions caps a state at 256 KiB; 192 KiB of base64 leaves room for the rest of it.
MAX_BASE64_CHARS = 196_608


def content_type_of(image: bytes) -> str:
    """`image/png` or `image/jpeg`, read from the magic number; NotAnImage for anything else."""
    if image.startswith(PNG_SIGNATURE):
        return "image/png"
    if image.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if not image:
        raise NotAnImage("the object is empty")
    raise NotAnImage("the bytes are neither a PNG nor a JPEG")


def base64_length(byte_count: int) -> int:
    """Length of the padded base64 text for `byte_count` bytes."""
    return 4 * -(-byte_count // 3)


def decode_base64(text: str) -> bytes:
    """Strictly decoded base64; ImageTooLarge past the state's limit, InvalidEvent if not base64."""
    if len(text) > MAX_BASE64_CHARS:
        raise ImageTooLarge(
            f"'image_data' is {len(text)} characters: more than the {MAX_BASE64_CHARS} that fit"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEvent("'image_data' is not valid base64 text") from None
