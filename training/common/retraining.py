"""The training split extended by people's answers: validation fixed, no picture twice.

`extend_training` adds each reviewed image labelled bicycle or motorcycle (never `neither`)
to the train split of a dataset `training.etl` wrote, as a 32x32 PNG of its decoded pixels
(`reviewed-<pixel hash>.png`), and records where it came from in the manifest. A picture is
known by the SHA-256 of its pixels after the same decoding and resize the models use, so a
copy saved again is the same picture: one that is in the validation (test) split never
enters training, one already in training is not added twice. The test split is never
touched, so every round is measured on the same images.

Each run starts again from the archive's images (the manifest says which they are) and the
answers it is given: the additions of an earlier run that are not given again go away.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.common import cifar
from training.common.errors import TrainingError
from training.common.ground_truth import Review, Reviews
from training.common.lst import LstEntry, format_lst
from training.common.manifest import (
    ARCHIVE,
    MANIFEST,
    REVIEW,
    format_manifest,
    read_manifest,
    source,
)
from training.common.pictures import NotAnImage, decode, pixel_hash, png

ImageReader = Callable[[Review], bytes]
REVIEWED_PREFIX = "reviewed-"
HASH_CHARACTERS = 32  # of the SHA-256's 64 in a file name: 128 bits, no two pictures alike


class ReviewedImageUnreadable(TrainingError):
    """A reviewed image that cannot be read as it was reviewed: gone, replaced since, too
    large. It is skipped and named; the others are added."""


@dataclass(frozen=True)
class Skipped:
    review: Review
    why: str

    def __str__(self) -> str:
        where = f"s3://{self.review.s3_bucket}/{self.review.s3_key}"
        return f"{where} (inference {self.review.inference_id}): {self.why}"


@dataclass(frozen=True)
class Extension:
    added: list[dict[str, Any]]  # the manifest lines of the reviewed images added
    skipped: list[Skipped]
    changed: bool  # False when train.lst and the manifest already said exactly this


def extend_training(folder: Path, reviews: Reviews, read_image: ImageReader) -> Extension:
    """Rebuild `folder`'s train split as the archive's images plus `reviews.labelled`."""
    folder = Path(folder)
    rows = read_manifest(folder)
    base = [row for row in rows if row["split"] == "train" and row["from"] == ARCHIVE]
    validation = {row["pixels_sha256"]: row for row in rows if row["split"] == "test"}
    training = {row["pixels_sha256"]: row for row in base}
    added, skipped, pngs = [], [], {}
    for review in reviews.labelled:
        try:
            pixels = decode(read_image(review))
        except (ReviewedImageUnreadable, NotAnImage) as error:
            skipped.append(Skipped(review, str(error)))
            continue
        digest = pixel_hash(pixels)
        if digest in validation:
            path = validation[digest]["path"]
            skipped.append(Skipped(review, f"the same picture as validation image test/{path}"))
        elif digest in training:
            path = training[digest]["path"]
            skipped.append(Skipped(review, f"the same picture as train/{path}, already there"))
        else:
            training[digest] = reviewed_source(review, digest)
            added.append(training[digest])
            pngs[training[digest]["path"]] = png(pixels)
    test = [row for row in rows if row["split"] == "test"]
    changed = _write(folder, rows, [*base, *added, *test], pngs)
    return Extension(added, skipped, changed)


def reviewed_source(review: Review, digest: str) -> dict[str, Any]:
    """The manifest line of a reviewed image: the answer and the image it was about."""
    return source(
        "train",
        f"{REVIEWED_PREFIX}{digest[:HASH_CHARACTERS]}.png",
        cifar.CLASSES.index(review.label),
        digest,
        REVIEW,
        inference_id=review.inference_id,
        s3_bucket=review.s3_bucket,
        s3_key=review.s3_key,
        etag=review.etag,
        answered_at=review.answered_at.isoformat(),
    )


def _write(folder: Path, old: list[dict], new: list[dict], pngs: dict[str, bytes]) -> bool:
    """PNGs first, then train.lst, the manifest last: an interrupted run leaves the archive's
    lines of the manifest as they were, and the next run starts again from them."""
    text = format_manifest(new)
    present = all((folder / "train" / name).is_file() for name in pngs)
    if present and (folder / MANIFEST).read_text() == text:
        return False
    for name, data in pngs.items():
        (folder / "train" / name).write_bytes(data)
    kept = {row["path"] for row in new if row["split"] == "train"}
    for row in old:
        if row["from"] == REVIEW and row["path"] not in kept:
            (folder / "train" / row["path"]).unlink(missing_ok=True)
    train = [row for row in new if row["split"] == "train"]
    entries = [LstEntry(index, row["label"], row["path"]) for index, row in enumerate(train)]
    (folder / "train.lst").write_text(format_lst(entries))
    (folder / MANIFEST).write_text(text)
    return True
