"""Which confident inferences a person checks blind: a share chosen from the inference id.

The choice is a hash of the id, not a random draw: it is independent of the image (the id is a
fresh uuid4 per InvokeEndpoint call), the same every time it is computed, and exact in tests.
"""

import hashlib

_SPAN = 2**64  # the first 8 bytes of the id's SHA-256, read as an unsigned integer


def is_audit(inference_id: str, sample_percent: float) -> bool:
    """Whether the id falls in the first `sample_percent` % of the hash's range: 0 chooses
    none, 100 every one (Python compares the integer and the float exactly)."""
    digest = hashlib.sha256(inference_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") * 100 < sample_percent * _SPAN
