"""training.etl --ground-truth: people's answers join the train split, and only it.

The answers are written by the review core's own record and line writers (answers.py), the
images are in moto's S3 under the etags it gives them, and the dataset is a SYNTHETIC archive's
extraction.
"""

import dataclasses
import io

import boto3
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from tests.unit.training.answers import files, item, uid, write_folder
from training import etl, train
from training.common import lst, pictures
from training.common.ground_truth import read_reviews
from training.common.layout import S3Layout
from training.common.manifest import MANIFEST, MalformedManifest, read_manifest
from training.common.retraining import extend_training

IMAGES = "scones-images"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    client.create_bucket(Bucket=IMAGES)
    return client


def new_picture(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def reencoded(image_bytes: bytes) -> bytes:
    """The same pixels saved again: RGBA, fully opaque, harder compression, with metadata."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        rgba = image.convert("RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "saved again")
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG", compress_level=9, pnginfo=info)
    assert buffer.getvalue() != image_bytes
    return buffer.getvalue()


class Answers:
    """Uploads images to the image bucket and answers them, as the review core records it."""

    def __init__(self, s3, folder):
        self.s3, self.folder, self.pairs = s3, folder, []

    def add(self, body: bytes, label: str, reason: str = "below_threshold") -> str:
        number = len(self.pairs) + 1
        key = f"incoming/{number}.png"
        etag = self.s3.put_object(Bucket=IMAGES, Key=key, Body=body)["ETag"]
        review_item = dataclasses.replace(item(uid(number), [0.6, 0.4], reason, key), etag=etag)
        self.pairs.append((review_item, label))
        return uid(number)

    def location(self) -> str:
        return str(write_folder(self.folder, files(self.pairs)))


@pytest.fixture
def answers(s3, tmp_path):
    return Answers(s3, tmp_path / "ground-truth")


def extend(dataset, answers, s3):
    reviews = read_reviews(answers.location())
    assert reviews.problems == []
    return extend_training(dataset.root, reviews, etl.image_reader(s3))


def snapshot(folder):
    return {
        path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }


def split_of(dataset, name):
    return {entry.path: entry.label for entry in lst.read_lst(dataset.lst_files[name])}


def test_answers_join_the_train_split_only_and_never_neither(dataset, answers, s3):
    test_before = snapshot(dataset.root / "test") | {
        "test.lst": dataset.lst_files["test"].read_bytes()
    }
    train_before = split_of(dataset, "train")
    bicycle = answers.add(pictures.png(new_picture(1)), "bicycle")
    motorcycle = answers.add(pictures.png(new_picture(2)), "motorcycle", "audit")
    answers.add(pictures.png(new_picture(3)), "neither")

    extension = extend(dataset, answers, s3)

    assert [row["inference_id"] for row in extension.added] == [bicycle, motorcycle]
    assert extension.skipped == []
    train = split_of(dataset, "train")
    added = {path: label for path, label in train.items() if path not in train_before}
    assert sorted(added.values()) == [0, 1]
    assert train.items() >= train_before.items()
    for line in dataset.lst_files["train"].read_text().splitlines():
        assert len(line.split("\t")) == 3  # index, label, path: nothing more
    assert [e.index for e in lst.read_lst(dataset.lst_files["train"])] == list(range(len(train)))
    for path in added:
        decoded = pictures.decode((dataset.root / "train" / path).read_bytes())
        assert pictures.pixel_hash(decoded) in {
            pictures.pixel_hash(new_picture(1)),
            pictures.pixel_hash(new_picture(2)),
        }
    assert (
        snapshot(dataset.root / "test") | {"test.lst": dataset.lst_files["test"].read_bytes()}
        == test_before
    )


def test_the_manifest_says_where_each_image_came_from(dataset, answers, s3):
    inference_id = answers.add(pictures.png(new_picture(1)), "motorcycle")
    extend(dataset, answers, s3)
    rows = read_manifest(dataset.root)
    listed = {
        (split, e.path)
        for split in ("train", "test")
        for e in lst.read_lst(dataset.lst_files[split])
    }
    assert {(row["split"], row["path"]) for row in rows} == listed
    assert {row["from"] for row in rows} == {"archive", "review"}
    assert {row["archive_md5"] for row in rows if row["from"] == "archive"} == {dataset.archive_md5}
    (reviewed,) = [row for row in rows if row["from"] == "review"]
    review_item = answers.pairs[0][0]
    assert reviewed == {
        "split": "train",
        "path": f"reviewed-{pictures.pixel_hash(new_picture(1))[:32]}.png",
        "label": 1,
        "pixels_sha256": pictures.pixel_hash(new_picture(1)),
        "from": "review",
        "inference_id": inference_id,
        "s3_bucket": IMAGES,
        "s3_key": "incoming/1.png",
        "etag": review_item.etag,
        "answered_at": "2026-11-26T09:30:00+00:00",
    }


def test_a_validation_image_never_enters_training_nor_a_copy_saved_again(dataset, answers, s3):
    entry = lst.read_lst(dataset.lst_files["test"])[0]
    original = (dataset.root / "test" / entry.path).read_bytes()
    answers.add(original, "bicycle")
    answers.add(reencoded(original), "motorcycle")  # even labelled otherwise
    test_hashes = {
        pictures.pixel_hash(pictures.decode(path.read_bytes()))
        for path in (dataset.root / "test").iterdir()
    }

    extension = extend(dataset, answers, s3)

    assert extension.added == []
    assert [s.why for s in extension.skipped] == [
        f"the same picture as validation image test/{entry.path}"
    ] * 2
    assert [s.review.inference_id for s in extension.skipped] == [uid(1), uid(2)]
    train_hashes = {
        pictures.pixel_hash(pictures.decode(path.read_bytes()))
        for path in (dataset.root / "train").iterdir()
    }
    assert train_hashes.isdisjoint(test_hashes)
    assert all(
        row["split"] == "test" or row["from"] == "archive" for row in read_manifest(dataset.root)
    )


def test_a_picture_is_added_once_however_it_was_saved(dataset, answers, s3):
    known = lst.read_lst(dataset.lst_files["train"])[0].path
    answers.add((dataset.root / "train" / known).read_bytes(), "bicycle")
    fresh = pictures.png(new_picture(7))
    first = answers.add(fresh, "motorcycle")
    answers.add(reencoded(fresh), "motorcycle")

    extension = extend(dataset, answers, s3)

    assert [row["inference_id"] for row in extension.added] == [first]
    added_path = extension.added[0]["path"]
    assert [s.why for s in extension.skipped] == [
        f"the same picture as train/{known}, already there",
        f"the same picture as train/{added_path}, already there",
    ]


def test_an_image_in_a_bucket_that_is_gone_is_skipped_and_named(dataset, answers, s3):
    answers.add(pictures.png(new_picture(1)), "bicycle")
    answers.pairs[0] = (dataclasses.replace(answers.pairs[0][0], s3_bucket="gone"), "bicycle")
    (skipped,) = extend(dataset, answers, s3).skipped
    assert skipped.why == "no bucket named 'gone'"


def test_a_ground_truth_folder_that_does_not_exist_is_named(dataset, s3, tmp_path):
    with pytest.raises(etl.GroundTruthNotFound, match=r"--ground-truth .*nowhere: no such folder"):
        etl.add_ground_truth(dataset, str(tmp_path / "nowhere"), s3)


def test_an_image_replaced_gone_or_unreadable_is_skipped_and_named(dataset, answers, s3):
    replaced = answers.add(pictures.png(new_picture(1)), "bicycle")
    s3.put_object(Bucket=IMAGES, Key="incoming/1.png", Body=pictures.png(new_picture(9)))
    gone = answers.add(pictures.png(new_picture(2)), "bicycle")
    s3.delete_object(Bucket=IMAGES, Key="incoming/2.png")
    broken = answers.add(b"\x89PNG\r\n\x1a\n not really", "motorcycle")
    large = answers.add(b"\0" * (etl.MAX_IMAGE_BYTES + 1), "motorcycle")
    kept = answers.add(pictures.png(new_picture(3)), "motorcycle")

    extension = extend(dataset, answers, s3)

    assert [row["inference_id"] for row in extension.added] == [kept]
    whys = {s.review.inference_id: s.why for s in extension.skipped}
    etag = answers.pairs[0][0].etag
    assert whys[replaced] == f"the image was replaced since its review (etag {etag})"
    assert whys[gone] == "the image is gone"
    assert whys[broken].startswith("cannot decode the bytes as PNG or JPEG")
    assert whys[large] == f"{etl.MAX_IMAGE_BYTES + 1:,} bytes: too large"
    (named,) = [str(s) for s in extension.skipped if s.review.inference_id == gone]
    assert named == (f"s3://{IMAGES}/incoming/2.png (inference {gone}): the image is gone")


def test_each_run_starts_again_from_the_archive_and_its_own_answers(dataset, answers, s3):
    base = dataset.lst_files["train"].read_text()
    answers.add(pictures.png(new_picture(1)), "bicycle")
    first = extend(dataset, answers, s3)
    assert first.changed
    again = extend(dataset, answers, s3)
    assert (again.changed, again.added) == (False, first.added)

    assert etl.archive_only(dataset).changed
    assert dataset.lst_files["train"].read_text() == base
    assert not any(p.name.startswith("reviewed-") for p in (dataset.root / "train").iterdir())
    assert not etl.archive_only(dataset).changed


def test_a_manifest_that_is_not_one_is_named(dataset, answers, s3):
    (dataset.root / MANIFEST).write_text('{"split": "train"}\n')
    with pytest.raises(MalformedManifest, match=r"manifest.jsonl:1: lacks path, label"):
        extend(dataset, answers, s3)
    (dataset.root / MANIFEST).write_text('["split", "path", "label", "pixels_sha256", "from"]\n')
    with pytest.raises(MalformedManifest, match="not a JSON object"):
        extend(dataset, answers, s3)


def test_a_denied_image_read_stops_the_run(dataset, answers, s3):
    answers.add(pictures.png(new_picture(1)), "bicycle")
    reviews = read_reviews(answers.location())

    def denied(review):
        raise etl.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    with pytest.raises(etl.ClientError, match="AccessDenied"):
        extend_training(dataset.root, reviews, denied)


def train_lst_text(s3, layout):
    return s3.get_object(Bucket=layout.bucket, Key=layout.lst_key("train"))["Body"].read().decode()


def objects(s3, uri):
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    return s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])


def test_cli_adds_the_answers_uploads_them_and_a_plain_run_takes_them_out(
    small_archive, answers, s3, tmp_path, cache_dir, capsys
):
    path, md5 = small_archive
    answers.add(pictures.png(new_picture(1)), "bicycle")
    answers.add(pictures.png(new_picture(2)), "neither")
    s3.create_bucket(Bucket="data")
    argv = ["--archive", str(path), "--md5", md5, "--out", str(tmp_path / "out")]
    location = answers.location()

    etl.main([*argv, "--ground-truth", location, "--bucket", "data", "--region", "us-east-1"])

    out = capsys.readouterr().out
    assert (
        f"ground truth at {location}: 1 answered bicycle or motorcycle, 1 neither "
        "(never trained on), 0 unusable"
    ) in out
    assert (
        "added 1 reviewed images to the train split (25 images; the test split, validation, "
        f"unchanged at 8); sources in {tmp_path / 'out' / MANIFEST}"
    ) in out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"]}
    reviewed = [k for k in keys if k.startswith("scones-unlimited/train/reviewed-")]
    assert len(reviewed) == 1 and "scones-unlimited/manifest.jsonl" in keys
    assert reviewed[0].rsplit("/", 1)[1] in train_lst_text(s3, S3Layout("data"))

    layout = S3Layout("data")  # what training.train reads, unchanged: every listed image is
    assert train.count_training_samples(s3, layout) == 25  # in its channel, nothing else is
    for channel in (c.data_source for c in train.channels(layout)):
        in_channel = [o["Key"] for o in objects(s3, channel)]
        assert in_channel and not any(key.endswith(MANIFEST) for key in in_channel)
    listed = lst.parse_lst(train_lst_text(s3, layout))
    assert {f"scones-unlimited/train/{e.path}" for e in listed} <= keys

    etl.main(argv)
    assert "holds the archive's images again" in capsys.readouterr().out
    assert len(lst.read_lst(tmp_path / "out" / "train.lst")) == 24


def test_same_picture_same_hash_whatever_the_encoding_and_resize_first():
    picture = new_picture(4)
    saved = pictures.png(picture)
    assert pictures.pixel_hash(pictures.decode(reencoded(saved))) == pictures.pixel_hash(picture)
    assert pictures.pixel_hash(new_picture(5)) != pictures.pixel_hash(picture)
    large = Image.fromarray(picture).resize((64, 64), Image.NEAREST)
    buffer = io.BytesIO()
    large.save(buffer, format="PNG")
    assert pictures.decode(buffer.getvalue()).shape == (32, 32, 3)
