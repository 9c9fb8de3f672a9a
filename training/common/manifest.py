"""The manifest beside the `.lst` files: where each image of the dataset came from.

`manifest.jsonl`, one JSON object a line, one line an image of either split:

    {"split": "train", "path": "bicycle_s_000513.png", "label": 0, "pixels_sha256": "…",
     "from": "archive", "archive_md5": "…"}
    {"split": "train", "path": "reviewed-….png", "label": 1, "pixels_sha256": "…",
     "from": "review", "inference_id": "…", "s3_bucket": "…", "s3_key": "…", "etag": "…",
     "answered_at": "…"}

It is kept out of the `.lst` files, whose format stays exactly index, label and path: the
image-classification algorithm would read any further column as one more label. In S3 it goes
beside the channels, never into one (a list channel reads every file it holds as a `.lst`).
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from training.common.errors import TrainingError

MANIFEST = "manifest.jsonl"
ARCHIVE, REVIEW = "archive", "review"
FIELDS = ("split", "path", "label", "pixels_sha256", "from")


class MalformedManifest(TrainingError):
    """A manifest line that is not an image's source: rebuild the dataset with training.etl."""


def source(
    split: str, path: str, label: int, pixels_sha256: str, origin: str, **details: Any
) -> dict[str, Any]:
    """One manifest line: the image, and where it came from (`origin`, with its details)."""
    image = {"split": split, "path": path, "label": label, "pixels_sha256": pixels_sha256}
    return image | {"from": origin} | details


def read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The manifest's lines, in order; MalformedManifest for one that lacks a field."""
    path = Path(folder) / MANIFEST
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            row = json.loads(line)
        except ValueError as error:
            raise MalformedManifest(f"{path}:{number}: not JSON ({error})") from error
        if not isinstance(row, dict):
            raise MalformedManifest(f"{path}:{number}: not a JSON object")
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise MalformedManifest(f"{path}:{number}: lacks {', '.join(missing)}")
        rows.append(row)
    return rows


def format_manifest(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
