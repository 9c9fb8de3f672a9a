"""The synthetic archive has CIFAR-100's exact layout, and the same seed gives the same bytes."""

import hashlib
import pickle
import tarfile

import numpy as np
import pytest

from training.common import cifar, synthetic

SMALL = {"train_per_class": 6, "test_per_class": 3, "other_per_class": 1}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "cifar-100-python.tar.gz"
    md5 = synthetic.write_archive(path, seed=7, **SMALL)
    return path, md5


def load_member(path, name, encoding="bytes"):
    with tarfile.open(path, "r:gz") as archive:
        return pickle.load(archive.extractfile(f"{cifar.ROOT}/{name}"), encoding=encoding)  # noqa: S301


def test_returns_the_archives_md5(archive):
    path, md5 = archive
    assert md5 == hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def test_members_are_cifar_100s(archive):
    path, _ = archive
    with tarfile.open(path, "r:gz") as opened:
        names = opened.getnames()
    assert names == [cifar.ROOT, f"{cifar.ROOT}/train", f"{cifar.ROOT}/test", f"{cifar.ROOT}/meta"]


@pytest.mark.parametrize(("split", "per_class"), [("train", 6), ("test", 3)])
def test_split_keys_shapes_and_dtypes(archive, split, per_class):
    batch = load_member(archive[0], split)
    count = 2 * per_class + 98 * SMALL["other_per_class"]
    assert set(batch) == {
        cifar.DATA,
        cifar.FINE_LABELS,
        cifar.COARSE_LABELS,
        cifar.FILENAMES,
        cifar.BATCH_LABEL,
    }
    assert batch[cifar.DATA].shape == (count, 3 * cifar.IMAGE_SIDE**2)
    assert batch[cifar.DATA].dtype == np.uint8
    assert len(batch[cifar.FINE_LABELS]) == len(batch[cifar.COARSE_LABELS]) == count
    assert all(isinstance(name, bytes) for name in batch[cifar.FILENAMES])
    assert isinstance(batch[cifar.BATCH_LABEL], bytes)


@pytest.mark.parametrize(("split", "per_class"), [("train", 6), ("test", 3)])
def test_our_two_classes_have_the_requested_counts(archive, split, per_class):
    labels = load_member(archive[0], split)[cifar.FINE_LABELS]
    for name in cifar.CLASSES:
        assert labels.count(cifar.FINE_LABEL_OF[name]) == per_class
    assert labels.count(0) == SMALL["other_per_class"]


def test_file_names_are_unique_and_name_their_class(archive):
    names, fine_names = [], synthetic.FINE_LABEL_NAMES
    for split in cifar.SPLITS:
        batch = load_member(archive[0], split)
        for label, filename in zip(batch[cifar.FINE_LABELS], batch[cifar.FILENAMES], strict=True):
            assert filename.startswith(f"{fine_names[label]}_s_".encode())
            assert filename.endswith(b".png")
            names.append(filename)
    assert len(set(names)) == len(names)


def test_meta_names_our_classes_at_cifars_labels(archive):
    meta = load_member(archive[0], cifar.META)
    fine, coarse = meta[b"fine_label_names"], meta[b"coarse_label_names"]
    assert (len(fine), len(coarse)) == (cifar.FINE_LABEL_COUNT, cifar.COARSE_LABEL_COUNT)
    assert fine[8] == b"bicycle" and fine[48] == b"motorcycle"
    assert coarse[18] == b"vehicles_1"


def test_coarse_labels_follow_the_fine_ones(archive):
    batch = load_member(archive[0], "train")
    pairs = set(zip(batch[cifar.FINE_LABELS], batch[cifar.COARSE_LABELS], strict=True))
    assert (8, 18) in pairs and (48, 18) in pairs
    assert len({fine for fine, _ in pairs}) == len(pairs)  # one coarse label per fine label


def test_reads_like_a_python_2_pickle_with_latin1(archive):
    """As with the real archive, latin1 turns the Python 2 strings into str."""
    batch = load_member(archive[0], "test", encoding="latin1")
    assert batch["data"].dtype == np.uint8
    assert (
        load_member(archive[0], cifar.META, encoding="latin1")["fine_label_names"][8] == "bicycle"
    )


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, archive):
    _, md5 = archive
    assert synthetic.write_archive(tmp_path / "again.tar.gz", seed=7, **SMALL) == md5
    assert synthetic.write_archive(tmp_path / "other.tar.gz", seed=8, **SMALL) != md5


def test_rows_are_channel_planar():
    picture = np.zeros((32, 32, 3), np.uint8)
    picture[0, 1] = (10, 20, 30)
    row = synthetic.to_cifar_row(picture)
    assert (row[1], row[1024 + 1], row[2048 + 1]) == (10, 20, 30)


def test_motorcycles_carry_more_dark_paint_than_bicycles(archive):
    """The learnable signal: thick dark wheels and a solid body against thin rings."""
    batch = load_member(archive[0], "train")
    labels = np.array(batch[cifar.FINE_LABELS])
    bicycles, motorcycles = (batch[cifar.DATA][labels == label] for label in (8, 48))
    dark_share = {
        name: (rows < 80).mean() for name, rows in [("bike", bicycles), ("moto", motorcycles)]
    }
    assert dark_share["moto"] > 2 * dark_share["bike"]


def test_cli_prints_the_md5(tmp_path, capsys, archive):
    out = tmp_path / "cli.tar.gz"
    sizes = ["--train-per-class", "6", "--test-per-class", "3", "--other-per-class", "1"]
    synthetic.main(["--out", str(out), "--seed", "7", *sizes])
    assert capsys.readouterr().out.strip() == archive[1]
