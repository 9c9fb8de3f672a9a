"""ETL: CIFAR-100 -> bicycle and motorcycle PNGs with `.lst` files -> (optionally) S3.

    python -m training.etl                                   # download once, extract
    python -m training.etl --bucket my-bucket                # ... and upload the channels
    python -m training.etl --synthetic --bucket my-bucket    # SYNTHETIC data, not CIFAR-100

Under --out it writes `train/<name>.png` and `test/<name>.png` (3x32x32 RGB, CIFAR's own
file names) and `train.lst`, `test.lst`: `index<TAB>label<TAB>path`, label 0 = bicycle,
1 = motorcycle. Each path is relative to its split folder (`bicycle_s_000513.png`, for
`train/bicycle_s_000513.png`) because SageMaker resolves `.lst` paths against the data
channel of the same split. A second run over the same archive reuses what is there, and
uploads only what S3 lacks or holds differently.
"""

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from operations.reviewing import MAX_IMAGE_BYTES
from training.common import aws, cifar, pictures
from training.common.archive import (
    CacheUnusable,
    ChecksumMismatch,
    DownloadUnavailable,
    MemberTooLarge,
    NotCifarArchive,
    TruncatedArchive,
    default_cache_dir,
    download,
    read_splits,
    synthetic_archive,
    verify_md5,
)
from training.common.aws import BucketNotFound
from training.common.errors import TrainingError, exit_with_message
from training.common.ground_truth import Review, Reviews, read_reviews
from training.common.layout import DATA_CHANNEL, DEFAULT_PREFIX, LST_CHANNEL, S3Layout
from training.common.lst import LstEntry, MalformedLst, format_lst, read_lst
from training.common.manifest import ARCHIVE, MANIFEST, MalformedManifest, format_manifest, source
from training.common.retraining import Extension, ReviewedImageUnreadable, extend_training
from training.common.splits import ForbiddenPickle, MalformedSplit, Split
from training.common.upload import UploadResult, upload_files

__all__ = [
    "BadImageName",
    "BucketNotFound",
    "CacheUnusable",
    "ChecksumMismatch",
    "Dataset",
    "DownloadUnavailable",
    "DuplicateImageName",
    "ForbiddenPickle",
    "GroundTruthNotFound",
    "MalformedManifest",
    "MalformedSplit",
    "MemberTooLarge",
    "MissingClass",
    "NotCifarArchive",
    "TruncatedArchive",
    "main",
    "prepare",
    "upload",
]

LABEL_OF_FINE = {cifar.FINE_LABEL_OF[name]: label for label, name in enumerate(cifar.CLASSES)}
MARKER = ".dataset.json"  # written last: what a finished extraction came from
DEFAULT_OUT = Path("build/dataset")
MAX_NAME_LENGTH = 100  # CIFAR-100's longest is 29 characters; file systems allow 255 bytes


class ArchiveNotFound(TrainingError):
    """--archive names no file."""


class GroundTruthNotFound(TrainingError):
    """--ground-truth names a folder that does not exist (a missing bucket is BucketNotFound)."""


class BadImageName(NotCifarArchive):
    """An image name that is not a plain `.png` file name: a path, not UTF-8, NUL, too long."""


class DuplicateImageName(NotCifarArchive):
    """Two images of one split with the same name: one PNG, two conflicting `.lst` lines."""


class MissingClass(NotCifarArchive):
    """A split without a bicycle or without a motorcycle: nothing to train or test on."""


@dataclass(frozen=True)
class Dataset:
    root: Path
    archive_md5: str
    counts: dict[str, int]  # split -> images
    lst_files: dict[str, Path]  # split -> its .lst
    reused: bool  # True when `root` already held this archive's extraction

    def files(self) -> list[str]:
        """Every file of the dataset, relative to `root`: the PNGs, the `.lst` files, the
        manifest."""
        images = [
            f"{split}/{entry.path}"
            for split, lst in self.lst_files.items()
            for entry in read_lst(lst)
        ]
        return images + [lst.name for lst in self.lst_files.values()] + [MANIFEST]


def cifar_pixels(row: np.ndarray) -> np.ndarray:
    """A CIFAR row (1024 red, 1024 green, 1024 blue) as a (32, 32, 3) array, as
    `pictures.decode` gives a picture."""
    side = cifar.IMAGE_SIDE
    return np.asarray(row, dtype=np.uint8).reshape(3, side, side).transpose(1, 2, 0)


def _file_name(raw: bytes) -> str:
    """The image's file name, if it is a plain `.png` name a file system and S3 both take."""
    try:
        name = raw.decode()
    except UnicodeDecodeError as error:
        raise BadImageName(
            f"the archive names an image {raw[:MAX_NAME_LENGTH]!r}: not UTF-8"
        ) from error
    plain = PurePosixPath(name).name == name and not name.startswith(".") and "\0" not in name
    if not plain or not name.endswith(".png") or len(name) > MAX_NAME_LENGTH:
        raise BadImageName(
            f"the archive names an image {name[:MAX_NAME_LENGTH]!r}: not a plain .png name "
            f"of at most {MAX_NAME_LENGTH} characters"
        )
    return name


def select(split_name: str, split: Split) -> list[tuple[int, LstEntry]]:
    """(row, .lst entry) of each bicycle and motorcycle: unique names, both classes present."""
    chosen, seen = [], set()
    for row, fine in enumerate(split.fine_labels):
        if fine in LABEL_OF_FINE:
            name = _file_name(split.filenames[row])
            if name in seen:
                raise DuplicateImageName(f"the {split_name} split names two images {name!r}")
            seen.add(name)
            chosen.append((row, LstEntry(len(chosen), LABEL_OF_FINE[fine], name)))
    missing = set(cifar.CLASSES) - {cifar.CLASSES[entry.label] for _, entry in chosen}
    if missing:
        raise MissingClass(
            f"the archive's {split_name} split has no {' and no '.join(sorted(missing))} image "
            f"(fine labels {cifar.FINE_LABEL_OF}): not CIFAR-100?"
        )
    return chosen


def write_split(out_dir: Path, split_name: str, split: Split, md5: str) -> list[dict]:
    """Write the split's bicycles and motorcycles as PNGs and its `.lst`; return their
    manifest lines."""
    chosen = select(split_name, split)  # every check before the first file is written
    folder = out_dir / split_name
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for row, entry in chosen:
        pixels = cifar_pixels(split.pixels[row])
        (folder / entry.path).write_bytes(pictures.png(pixels))
        digest = pictures.pixel_hash(pixels)
        sources.append(
            source(split_name, entry.path, entry.label, digest, ARCHIVE, archive_md5=md5)
        )
    (out_dir / f"{split_name}.lst").write_text(format_lst([entry for _, entry in chosen]))
    return sources


def _marker(md5: str, counts: dict[str, int]) -> dict[str, Any]:
    return {"archive_md5": md5, "fine_labels": cifar.FINE_LABEL_OF, "counts": counts}


def _dataset(out_dir: Path, md5: str, counts: dict[str, int], *, reused: bool) -> Dataset:
    lst_files = {split: out_dir / f"{split}.lst" for split in cifar.SPLITS}
    return Dataset(out_dir, md5, counts, lst_files, reused)


def existing_dataset(out_dir: Path, md5: str) -> Dataset | None:
    """The extraction already in `out_dir` from the archive `md5`, if it is complete."""
    try:
        marker = json.loads((out_dir / MARKER).read_text())
        dataset = _dataset(out_dir, md5, marker["counts"], reused=True)
        complete = all((out_dir / name).is_file() for name in dataset.files())
    except (OSError, ValueError, KeyError, TypeError, MalformedLst):
        return None
    same = marker == _marker(md5, marker["counts"])
    return dataset if same and complete else None


def _archive_and_md5(
    archive: Path | None, md5: str | None, synthetic: bool, seed: int, cache_dir: Path
) -> tuple[Path | None, str]:
    """The archive to read (None: download it) and the MD5 it must have."""
    if synthetic:
        return synthetic_archive(cache_dir, seed)
    if archive is not None and not Path(archive).is_file():
        raise ArchiveNotFound(f"--archive {archive}: no such file")
    return archive, (md5 or cifar.MD5).lower()


def prepare(
    out_dir: Path,
    *,
    archive: Path | None = None,
    md5: str | None = None,
    synthetic: bool = False,
    seed: int = 0,
    cache_dir: Path | None = None,
    url: str = cifar.URL,
) -> Dataset:
    """Get the archive (local, SYNTHETIC, or downloaded once), check it, extract our classes."""
    if synthetic and archive is not None:
        raise ValueError("archive and synthetic exclude each other")
    out_dir, cache_dir = Path(out_dir), Path(cache_dir or default_cache_dir())
    path, expected = _archive_and_md5(archive, md5, synthetic, seed, cache_dir)
    existing = existing_dataset(out_dir, expected)
    if existing:
        return existing
    if path is None:
        path = download(url, cache_dir, expected)  # checked as it arrives
    else:
        verify_md5(Path(path), expected)
    splits = read_splits(Path(path))
    (out_dir / MARKER).unlink(missing_ok=True)  # a write that fails midway is never reused
    sources = {
        split: write_split(out_dir, split, splits[split], expected) for split in cifar.SPLITS
    }
    manifest = format_manifest(row for rows in sources.values() for row in rows)
    (out_dir / MANIFEST).write_text(manifest)
    counts = {split: len(rows) for split, rows in sources.items()}
    (out_dir / MARKER).write_text(json.dumps(_marker(expected, counts), indent=1))
    return _dataset(out_dir, expected, counts, reused=False)


def upload(dataset: Dataset, layout: S3Layout, s3: Any) -> UploadResult:
    """Upload the dataset into the channels' layout; objects already there are skipped."""
    files = {layout.key_for(name): dataset.root / name for name in dataset.files()}
    return upload_files(s3, layout.bucket, files, prefix=layout.key() + "/")


def image_reader(s3: Any) -> Callable[[Review], bytes]:
    """Reads a reviewed image from the image bucket as it was reviewed (its etag, when the
    record has one); ReviewedImageUnreadable when it is gone, replaced since or too large."""

    def read(review: Review) -> bytes:
        condition = {"IfMatch": f'"{review.etag.strip(chr(34))}"'} if review.etag else {}
        try:
            answer = s3.get_object(Bucket=review.s3_bucket, Key=review.s3_key, **condition)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in {"NoSuchKey", "404"}:
                raise ReviewedImageUnreadable("the image is gone") from None
            if code == "NoSuchBucket":
                raise ReviewedImageUnreadable(f"no bucket named '{review.s3_bucket}'") from None
            if code in {"PreconditionFailed", "412"}:
                raise ReviewedImageUnreadable(
                    f"the image was replaced since its review (etag {review.etag})"
                ) from None
            raise
        if answer["ContentLength"] > MAX_IMAGE_BYTES:
            answer["Body"].close()
            raise ReviewedImageUnreadable(f"{answer['ContentLength']:,} bytes: too large")
        return answer["Body"].read()

    return read


def add_ground_truth(dataset: Dataset, location: str, s3: Any) -> tuple[Reviews, Extension]:
    """The answers at `location` (S3 or a folder) added to the dataset's train split."""
    if not location.startswith("s3://") and not Path(location).is_dir():
        raise GroundTruthNotFound(f"--ground-truth {location}: no such folder")
    reviews = read_reviews(location, s3)
    return reviews, extend_training(dataset.root, reviews, image_reader(s3))


def _nothing_to_read(review: Review) -> bytes:
    raise AssertionError("no reviewed image is read without --ground-truth")


def archive_only(dataset: Dataset) -> Extension:
    """The train split back to the archive's images, without an earlier run's answers."""
    return extend_training(dataset.root, Reviews([]), _nothing_to_read)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.etl",
        description="CIFAR-100 -> bicycle (0) and motorcycle (1) PNGs with .lst files "
        "-> optionally S3, laid out as the image-classification algorithm's four channels.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--archive", type=Path, metavar="PATH", help="a local cifar-100-python.tar.gz"
    )
    source.add_argument(
        "--synthetic",
        action="store_true",
        help="generate a SYNTHETIC stand-in in CIFAR-100's layout (not CIFAR-100)",
    )
    parser.add_argument("--md5", metavar="HEX", help="the archive's MD5 if not the published one")
    parser.add_argument("--seed", type=int, default=0, help="seed of --synthetic (default 0)")
    parser.add_argument("--cache-dir", type=Path, help=f"default: {default_cache_dir()}")
    parser.add_argument("--url", default=cifar.URL, help="default: %(default)s")
    parser.add_argument(
        "--ground-truth",
        metavar="LOCATION",
        help="also train on people's answers: s3://bucket[/prefix] or a folder laid out like "
        "the ground-truth bucket (bicycle and motorcycle only; validation stays the same)",
    )
    parser.add_argument("--bucket", help="upload to this S3 bucket (default: no upload)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="S3 prefix (default: %(default)s)")
    aws.add_region_argument(parser)
    return parser.parse_args(argv)


def describe(dataset: Dataset, synthetic: bool) -> str:
    origin = "SYNTHETIC archive (not CIFAR-100)" if synthetic else "archive"
    state = "already extracted" if dataset.reused else "extracted"
    counts = ", ".join(f"{split} {count}" for split, count in dataset.counts.items())
    return f"{state} {counts} images to {dataset.root} from {origin} MD5 {dataset.archive_md5}"


def describe_extension(
    dataset: Dataset, location: str, reviews: Reviews, extension: Extension
) -> str:
    """What the answers added, and each answer or file that could not be used, by name."""
    lines = [
        f"ground truth at {location}: {len(reviews.labelled)} answered bicycle or motorcycle, "
        f"{len(reviews.neither)} neither (never trained on), {len(reviews.problems)} unusable",
        f"added {len(extension.added)} reviewed images to the train split "
        f"({len(read_lst(dataset.lst_files['train']))} images; the test split, validation, "
        f"unchanged at {dataset.counts['test']}); sources in {dataset.root / MANIFEST}",
    ]
    lines += [f"  skipped {skipped}" for skipped in extension.skipped]
    lines += [f"  unusable {problem}" for problem in reviews.problems]
    return "\n".join(lines)


def describe_upload(result: UploadResult, layout: S3Layout) -> str:
    lines = [f"uploaded {result.uploaded} files to {layout.uri()}/ ({result.unchanged} unchanged)"]
    channels = [*DATA_CHANNEL.values(), *LST_CHANNEL.values()]
    lines += [f"  {channel:<15}{layout.channel_uri(channel)}" for channel in channels]
    lines.append(
        f"next: python -m training.train --bucket {layout.bucket} --prefix {layout.prefix}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        dataset = prepare(
            args.out,
            archive=args.archive,
            md5=args.md5,
            synthetic=args.synthetic,
            seed=args.seed,
            cache_dir=args.cache_dir,
            url=args.url,
        )
        print(describe(dataset, args.synthetic))
        if args.ground_truth:
            s3 = aws.session(args.region).client("s3")
            reviews, extension = add_ground_truth(dataset, args.ground_truth, s3)
            print(describe_extension(dataset, args.ground_truth, reviews, extension))
        elif archive_only(dataset).changed:
            print("the train split holds the archive's images again, without reviewed ones")
        if args.bucket:
            layout = S3Layout(args.bucket, args.prefix)
            result = upload(dataset, layout, aws.session(args.region).client("s3"))
            print(describe_upload(result, layout))


if __name__ == "__main__":
    main()
