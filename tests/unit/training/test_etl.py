"""training.etl on SYNTHETIC archives in CIFAR-100's layout: extraction, checks, cache, upload."""

import contextlib
import gzip
import hashlib
import io
import pickle
import pickletools
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import etl
from training.common import archive, cifar, lst, synthetic
from training.common.archive import md5_of

from .conftest import SMALL

ROOT = Path(__file__).resolve().parents[3]


def fine_labels_by_name(archive_path, split):
    with tarfile.open(archive_path, "r:gz") as archive:
        batch = pickle.load(archive.extractfile(f"{cifar.ROOT}/{split}"), encoding="bytes")  # noqa: S301 (our own archive)
    names = [name.decode() for name in batch[cifar.FILENAMES]]
    return dict(zip(names, batch[cifar.FINE_LABELS], strict=True))


def test_extracts_only_bicycles_and_motorcycles_with_their_lst(dataset, small_archive):
    assert dataset.counts == {"train": 24, "test": 8}
    for split in cifar.SPLITS:
        fine_of = fine_labels_by_name(small_archive[0], split)
        entries = lst.read_lst(dataset.lst_files[split])
        assert [entry.index for entry in entries] == list(range(len(entries)))
        for entry in entries:
            expected_label = cifar.CLASSES.index(entry.path.split("_s_")[0])
            assert entry.label == expected_label
            assert fine_of[entry.path] == cifar.FINE_LABEL_OF[cifar.CLASSES[entry.label]]
        assert sorted(p.name for p in (dataset.root / split).iterdir()) == sorted(
            entry.path for entry in entries
        )


def test_lst_is_tab_separated_with_paths_relative_to_the_split_folder(dataset):
    first = dataset.lst_files["train"].read_text().splitlines()[0]
    index, label, path = first.split("\t")
    assert (index, "/" in path, path.endswith(".png")) == ("0", False, True)
    assert (dataset.root / "train" / path).is_file()
    assert label in {"0", "1"}


def test_pngs_are_the_archives_pixels_as_32x32_rgb(dataset, small_archive):
    with tarfile.open(small_archive[0], "r:gz") as archive:
        batch = pickle.load(archive.extractfile(f"{cifar.ROOT}/test"), encoding="bytes")  # noqa: S301 (our own archive)
    names = [name.decode() for name in batch[cifar.FILENAMES]]
    entry = lst.read_lst(dataset.lst_files["test"])[0]
    row = batch[cifar.DATA][names.index(entry.path)]
    with Image.open(dataset.root / "test" / entry.path) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (32, 32))
        pixels = np.asarray(image)
    assert np.array_equal(pixels, row.reshape(3, 32, 32).transpose(1, 2, 0))


def test_second_run_reuses_the_extraction(dataset, small_archive):
    png = dataset.root / "train" / lst.read_lst(dataset.lst_files["train"])[0].path
    png.write_bytes(b"left alone by a reuse")
    again = etl.prepare(dataset.root, archive=small_archive[0], md5=small_archive[1])
    assert again.reused and again.counts == dataset.counts
    assert png.read_bytes() == b"left alone by a reuse"


def test_an_incomplete_extraction_is_redone(dataset, small_archive):
    png = dataset.root / "train" / lst.read_lst(dataset.lst_files["train"])[0].path
    png.unlink()
    again = etl.prepare(dataset.root, archive=small_archive[0], md5=small_archive[1])
    assert not again.reused and png.is_file()


def test_another_archive_replaces_the_extraction(dataset, tmp_path):
    other = tmp_path / "other.tar.gz"
    md5 = synthetic.write_archive(other, seed=4, **{**SMALL, "train_per_class": 3})
    again = etl.prepare(dataset.root, archive=other, md5=md5)
    assert not again.reused and again.counts["train"] == 6
    assert len(lst.read_lst(again.lst_files["train"])) == 6


def test_the_published_checksum_is_the_default(small_archive, tmp_path, cache_dir):
    with pytest.raises(etl.ChecksumMismatch, match=cifar.MD5):
        etl.prepare(tmp_path / "out", archive=small_archive[0])


def test_checksum_mismatch_names_both_sums(small_archive, tmp_path, cache_dir):
    with pytest.raises(etl.ChecksumMismatch, match=small_archive[1]):
        etl.prepare(tmp_path / "out", archive=small_archive[0], md5="0" * 32)
    assert not (tmp_path / "out").exists()


def test_truncated_archive(small_archive, tmp_path, cache_dir):
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(small_archive[0].read_bytes()[:50_000])
    with pytest.raises(etl.TruncatedArchive, match="ends too early"):
        etl.prepare(tmp_path / "out", archive=truncated, md5=md5_of(truncated))


def test_a_cut_pickle_inside_a_whole_archive(tmp_path, cache_dir):
    split = synthetic.python2_pickle({cifar.DATA: np.zeros((4, 3072), np.uint8)})
    path = tmp_path / "cut.tar.gz"
    md5 = write_tar_gz(path, {"train": split[: len(split) // 2], "test": split})
    with pytest.raises(etl.TruncatedArchive, match="ends too early"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


def test_a_member_that_is_no_pickle(tmp_path, cache_dir):
    path = tmp_path / "garbage.tar.gz"
    md5 = write_tar_gz(path, {"train": b"\xea\x00 no pickle", "test": b"\xea"})
    with pytest.raises(etl.NotCifarArchive, match=r"pickles \(invalid load key"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


def test_a_file_that_is_not_a_tar_gz(tmp_path, cache_dir):
    text = tmp_path / "notes.tar.gz"
    text.write_text("not an archive")
    with pytest.raises(etl.NotCifarArchive, match=r"not a readable tar\.gz"):
        etl.prepare(tmp_path / "out", archive=text, md5=md5_of(text))


def write_tar_gz(path, members):
    """`members` maps names under the root to payloads, or lists pairs (a name may repeat)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items() if isinstance(members, dict) else members:
            info = tarfile.TarInfo(f"{cifar.ROOT}/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return md5_of(path)


def test_an_archive_without_the_splits(tmp_path, cache_dir):
    path = tmp_path / "meta-only.tar.gz"
    md5 = write_tar_gz(path, {"meta": synthetic.python2_pickle({b"fine_label_names": []})})
    with pytest.raises(etl.NotCifarArchive, match="lacks"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


class RunsCode:
    def __reduce__(self):
        return (socket.gethostname, ())


def test_a_split_twice_is_refused_not_replaced_by_the_second(tmp_path, cache_dir):
    """tarfile hands over both members; keeping the last would let a second copy win."""
    path = tmp_path / "twice.tar.gz"
    second = named(b"swapped_in.png")
    md5 = write_tar_gz(path, [("train", split_pickle()), ("test", second), ("train", second)])
    with pytest.raises(SystemExit) as exited:
        etl.main(["--archive", str(path), "--md5", md5, "--out", str(tmp_path / "out")])
    assert exited.value.code == (
        f"error: {path} holds {cifar.ROOT}/train twice: not CIFAR-100's layout, "
        "which has each split once"
    )
    assert not (tmp_path / "out").exists()


def test_pickles_cannot_run_code(tmp_path, cache_dir):
    path = tmp_path / "hostile.tar.gz"
    md5 = write_tar_gz(path, {"train": pickle.dumps(RunsCode()), "test": b""})
    with pytest.raises(etl.NotCifarArchive, match=r"socket\.gethostname"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


class ForgedArray:
    """numpy's own pickle of an array, but over a dtype and bytes the archive chooses."""

    def __init__(self, dtype, raw, shape=(1,)):
        self.dtype, self.raw, self.shape = dtype, raw, shape

    def __reduce__(self):
        state = (1, self.shape, self.dtype, False, self.raw)
        return (np._core.multiarray._reconstruct, (np.ndarray, (0,), b"b"), state)


class ForgedDtype:
    """numpy's pickle of a dtype whose state lays an object field over its bytes.

    The flags (0) say "no objects", so numpy takes the array's raw bytes as they are, and
    reading the field follows them as a pointer: a segfault, or an object the file chose.
    """

    def __init__(self, spec):
        self.spec = spec

    def __reduce__(self):
        fields = {"x": (np.dtype(object), 0)}
        return (np.dtype, (self.spec, False, True), (3, "|", None, ("x",), fields, 8, 1, 0))


def two_of_each():
    return synthetic.make_split("train", [2] * cifar.FINE_LABEL_COUNT, np.random.default_rng(0))


BATCH = two_of_each()


def split_pickle(overrides=None):
    """A protocol 2 split in the archive's flavour, with some of its parts replaced."""
    return synthetic.python2_pickle({**BATCH, **(overrides or {})})


def archive_of(tmp_path, train, test=None):
    path = tmp_path / "crafted.tar.gz"
    return path, write_tar_gz(path, {"train": train, "test": test or split_pickle()})


def globals_named(payload):
    return {arg for op, arg, _ in pickletools.genops(payload) if op.name == "GLOBAL"}


ALLOWED = {"numpy ndarray", "numpy dtype", "numpy._core.multiarray _reconstruct"}


@pytest.mark.parametrize(
    "dtype",
    [ForgedDtype("V8"), ForgedDtype("u1"), np.dtype([("x", object)]), np.dtype(object)],
    ids=["void-with-object-field", "uint8-with-object-field", "object-field", "object"],
)
def test_a_pickle_cannot_forge_objects_from_chosen_bytes(dtype, tmp_path, cache_dir):
    """numpy would read these 8 bytes as an object pointer: a crash, or a forged object."""
    forging = split_pickle({cifar.DATA: ForgedArray(dtype, b"\x41" * 8)})
    assert globals_named(forging) == ALLOWED  # nothing a name-based allow-list would refuse
    path, md5 = archive_of(tmp_path, forging)
    with pytest.raises(etl.ForbiddenPickle, match="dtype"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


def test_the_cli_names_a_forging_archive_in_one_line(tmp_path):
    """`python -m training.etl` on it: numpy's own constructors died here of a segfault."""
    one_bicycle = {cifar.FINE_LABELS: [8], cifar.FILENAMES: [b"bicycle_s_000001.png"]}
    forged = ForgedArray(ForgedDtype("V8"), b"\x41" * 8)
    path, md5 = archive_of(tmp_path, synthetic.python2_pickle({**one_bicycle, cifar.DATA: forged}))
    argv = ["--archive", str(path), "--md5", md5, "--out", str(tmp_path / "out")]
    command = [sys.executable, "-m", "training.etl", *argv, "--cache-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error: a pickle in the archive declares dtype")
    assert done.stderr.count("\n") == 1


def test_object_dtype_pixels_as_numpy_pickles_them(tmp_path, cache_dir):
    pixels = np.empty((1, 3072), dtype=object)
    path, md5 = archive_of(tmp_path, split_pickle({cifar.DATA: pixels}))
    with pytest.raises(etl.ForbiddenPickle, match="not uint8"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


ROWS = 2 * cifar.FINE_LABEL_COUNT
MALFORMED = {
    "build-on-a-dict": (b"\x80\x02}}b.", "AttributeError"),
    "wrong-width": (
        split_pickle({cifar.DATA: np.zeros((ROWS, 100), np.uint8)}),
        r"shape \(200, 100\)",
    ),
    "wrong-dtype-size": (
        split_pickle({cifar.DATA: np.zeros((ROWS, 3072), np.uint16)}),
        "not uint8",
    ),
    "raw-bytes-short": (
        split_pickle({cifar.DATA: ForgedArray(np.dtype(np.uint8), b"", (ROWS, 3072))}),
        "over 0 bytes",
    ),
    "pixels-as-lists": (split_pickle({cifar.DATA: [[0] * 3072]}), "not a uint8 array"),
    "fewer-labels": (split_pickle({cifar.FINE_LABELS: [8] * 3}), "3 fine labels for 200"),
    "unhashable-labels": (
        split_pickle({cifar.FINE_LABELS: [[8]] * ROWS}),
        "fine labels outside",
    ),
    "label-out-of-range": (
        split_pickle({cifar.FINE_LABELS: [100] * ROWS}),
        "fine labels outside",
    ),
    "fewer-names": (split_pickle({cifar.FILENAMES: [b"a.png"]}), "1 file names for 200"),
    "names-not-bytes": (
        split_pickle({cifar.FILENAMES: list(range(ROWS))}),
        "not byte strings",
    ),
    "dtype-called-alone": (synthetic.python2_pickle(np.dtype(object)), "dtype"),
}


@pytest.mark.parametrize(("payload", "match"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_split_is_a_named_error(payload, match, tmp_path, cache_dir):
    path, md5 = archive_of(tmp_path, payload)
    with pytest.raises(etl.NotCifarArchive, match=match):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)
    assert not (tmp_path / "out" / etl.MARKER).exists()


def named(first_name):
    """A split whose first bicycle or motorcycle is called `first_name`."""
    batch = two_of_each()
    ours = {cifar.FINE_LABEL_OF[name] for name in cifar.CLASSES}
    first = next(i for i, fine in enumerate(batch[cifar.FINE_LABELS]) if fine in ours)
    batch[cifar.FILENAMES][first] = first_name
    return synthetic.python2_pickle(batch)


@pytest.mark.parametrize(
    "name",
    [b"\xff\xfe.png", b"bicycle\x00_s_1.png", b"b" * 296 + b".png", b"motorcycle", b".png"],
    ids=["not-utf8", "nul", "300-characters", "no-png-suffix", "hidden"],
)
def test_image_names_that_are_no_plain_file_name(name, tmp_path, cache_dir):
    path, md5 = archive_of(tmp_path, named(name))
    with pytest.raises(etl.BadImageName, match="the archive names an image"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


def test_duplicate_image_names_are_refused_before_anything_is_written(tmp_path, cache_dir):
    batch = two_of_each()
    ours = [i for i, fine in enumerate(batch[cifar.FINE_LABELS]) if fine in etl.LABEL_OF_FINE]
    for row in ours:
        batch[cifar.FILENAMES][row] = b"bicycle_s_000001.png"
    path, md5 = archive_of(tmp_path, synthetic.python2_pickle(batch))
    with pytest.raises(etl.DuplicateImageName, match=r"bicycle_s_000001\.png"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)
    assert not (tmp_path / "out" / "train").exists()


@pytest.mark.parametrize("absent", cifar.CLASSES)
def test_a_split_without_one_of_our_classes(absent, tmp_path, cache_dir):
    counts = [0 if name == absent else 2 for name in synthetic.FINE_LABEL_NAMES]
    batch = synthetic.make_split("test", counts, np.random.default_rng(0))
    path, md5 = archive_of(tmp_path, split_pickle(), synthetic.python2_pickle(batch))
    with pytest.raises(etl.MissingClass, match=f"test split has no {absent} image"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)


def test_a_member_larger_than_cifars_is_refused_before_it_is_read(tmp_path, cache_dir):
    """A header claiming 1.8 GB: the check must come before the read (which would fail here)."""
    header = tarfile.TarInfo(f"{cifar.ROOT}/train")
    header.size = 1_800_000_000
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gzip.compress(header.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 512))
    with pytest.raises(etl.MemberTooLarge, match="1,800,000,000 bytes"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5_of(path))


def escaping_archive(path):
    batch = synthetic.make_split("train", [1] * cifar.FINE_LABEL_COUNT, np.random.default_rng(0))
    batch[cifar.FILENAMES] = [b"../../escaped.png"] * len(batch[cifar.FILENAMES])
    split = synthetic.python2_pickle(batch)
    return path, write_tar_gz(path, {"train": split, "test": split})


def test_image_names_cannot_leave_the_split_folder(tmp_path, cache_dir):
    path, md5 = escaping_archive(tmp_path / "escaping.tar.gz")
    with pytest.raises(etl.NotCifarArchive, match=r"escaped\.png"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5)
    assert not (tmp_path / "escaped.png").exists()


def test_a_failed_extraction_is_not_reused_later(dataset, small_archive, tmp_path):
    path, md5 = escaping_archive(tmp_path / "escaping.tar.gz")
    with pytest.raises(etl.NotCifarArchive):
        etl.prepare(dataset.root, archive=path, md5=md5)
    again = etl.prepare(dataset.root, archive=small_archive[0], md5=small_archive[1])
    assert not again.reused and again.counts == dataset.counts


def test_a_missing_archive_file(tmp_path, cache_dir):
    with pytest.raises(etl.ArchiveNotFound, match="no such file"):
        etl.prepare(tmp_path / "out", archive=tmp_path / "absent.tar.gz")


def test_synthetic_is_generated_once_and_said_to_be_synthetic(tmp_path, cache_dir, capsys):
    etl.main(["--synthetic", "--seed", "5", "--out", str(tmp_path / "one")])
    (cached,) = cache_dir.glob("synthetic-cifar-100-python-v*-seed5.tar.gz")
    stamp = cached.stat().st_mtime_ns
    second = etl.prepare(tmp_path / "two", synthetic=True, seed=5)
    assert "SYNTHETIC archive (not CIFAR-100)" in capsys.readouterr().out
    assert cached.stat().st_mtime_ns == stamp
    assert (second.counts, second.archive_md5) == ({"train": 1000, "test": 200}, md5_of(cached))
    assert len(lst.read_lst(tmp_path / "one" / "train.lst")) == 1000


def test_cached_synthetic_archive_is_named_by_generator_version(cache_dir, monkeypatch):
    """A new drawing must never be served from an archive cached by an older generator."""
    path, _ = archive.synthetic_archive(cache_dir, seed=1)
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    newer, _ = archive.synthetic_archive(cache_dir, seed=1)
    assert newer != path and newer.exists()


@pytest.fixture(scope="module")
def cached_synthetic(tmp_path_factory):
    """The seed-1 synthetic archive and its .md5, as a first --synthetic run caches them."""
    cache = tmp_path_factory.mktemp("synthetic-cache")
    path, md5 = archive.synthetic_archive(cache, seed=1)
    return path, md5


@pytest.mark.parametrize(
    "damage",
    [
        lambda path, checksum: path.write_bytes(path.read_bytes()[:1000]),
        lambda path, checksum: checksum.write_text(""),
    ],
    ids=["archive-cut", "empty-md5"],
)
def test_a_damaged_cached_synthetic_archive_is_generated_again(damage, cached_synthetic, cache_dir):
    path, md5 = cached_synthetic
    cache_dir.mkdir(parents=True)
    for file in (path, path.with_name(path.name + ".md5")):
        shutil.copy(file, cache_dir)
    cached, checksum = cache_dir / path.name, cache_dir / (path.name + ".md5")
    damage(cached, checksum)
    assert archive.synthetic_archive(cache_dir, seed=1) == (cached, md5)
    assert (md5_of(cached), checksum.read_text()) == (md5, md5 + "\n")


@pytest.mark.parametrize("taken", ["", ".md5"])
def test_a_folder_where_the_synthetic_archive_goes(taken, tmp_path, cache_dir, capsys):
    name = f"synthetic-cifar-100-python-v{synthetic.GENERATOR_VERSION}-seed2.tar.gz{taken}"
    (cache_dir / name).mkdir(parents=True)
    with pytest.raises(SystemExit) as exited:
        etl.main(["--synthetic", "--seed", "2", "--out", str(tmp_path / "out")])
    assert str(exited.value.code).startswith(f"error: {cache_dir / name} is in the cache's way")
    assert "Traceback" not in capsys.readouterr().err


def test_a_cache_folder_that_is_a_file(tmp_path, cache_dir):
    cache_dir.parent.mkdir(parents=True)
    cache_dir.write_text("a file, not a folder")
    with pytest.raises(etl.CacheUnusable, match=r"cannot use .* as the cache"):
        etl.prepare(tmp_path / "out", synthetic=True)


class Archives(BaseHTTPRequestHandler):
    """Serves `body` at any path but those of `redirects`; claims `length` bytes (a short body
    is a cut download).

    `content_length` replaces the header's value; `chunked` sends the body as one chunk
    and hangs up without the last, empty chunk.
    """

    body = b""
    length = None
    content_length = None
    chunked = False
    requests = 0
    redirects = None  # path -> the Location a 302 answers with

    def do_GET(self):
        type(self).requests += 1
        location = (self.redirects or {}).get(self.path)
        if location:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(self.body), self.body))
            return
        length = self.content_length or str(self.length or len(self.body))
        self.send_header("Content-Length", length)
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # a client that refuses the header hangs up
            self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(small_archive):
    handler = type("Handler", (Archives,), {"body": small_archive[0].read_bytes()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_port}/cifar-100-python.tar.gz"
    httpd.shutdown()
    httpd.server_close()


def test_download_happens_once_then_comes_from_the_cache(
    server, small_archive, tmp_path, cache_dir
):
    handler, url = server
    first = etl.prepare(tmp_path / "one", md5=small_archive[1], url=url)
    second = etl.prepare(tmp_path / "two", md5=small_archive[1], url=url)
    assert handler.requests == 1
    assert first.counts == second.counts == {"train": 24, "test": 8}
    assert md5_of(cache_dir / "cifar-100-python.tar.gz") == small_archive[1]


def test_a_cut_download_is_a_truncated_archive(server, small_archive, tmp_path, cache_dir):
    handler, url = server
    handler.length = len(handler.body)
    handler.body = handler.body[:10_000]
    with pytest.raises(etl.TruncatedArchive, match=r"ended after 10000 of \d+ bytes"):
        etl.prepare(tmp_path / "out", md5=small_archive[1], url=url)
    assert not list(cache_dir.glob("*"))


def test_a_chunked_download_cut_short(server, small_archive, tmp_path, cache_dir):
    handler, url = server
    handler.chunked = True
    with pytest.raises(etl.TruncatedArchive, match="was cut short"):
        etl.prepare(tmp_path / "out", md5=small_archive[1], url=url)
    assert not list(cache_dir.glob("*"))


@pytest.mark.parametrize("value", ["many", "-5", "1e6", "\u00b2"])
def test_a_malformed_content_length(value, server, small_archive, tmp_path, cache_dir, capsys):
    handler, url = server
    handler.content_length = value
    with pytest.raises(SystemExit) as exited:
        etl.main(["--out", str(tmp_path / "out"), "--md5", small_archive[1], "--url", url])
    assert str(exited.value.code).startswith(f"error: cannot download {url}: its server")
    assert "Traceback" not in capsys.readouterr().err


def test_a_folder_where_the_download_goes(server, small_archive, tmp_path, cache_dir):
    (cache_dir / "cifar-100-python.tar.gz").mkdir(parents=True)
    with pytest.raises(etl.CacheUnusable, match="in the cache's way"):
        etl.prepare(tmp_path / "out", md5=small_archive[1], url=server[1])
    assert server[0].requests == 0


def test_a_wrong_download_is_not_cached(server, tmp_path, cache_dir):
    with pytest.raises(etl.ChecksumMismatch):
        etl.prepare(tmp_path / "out", url=server[1])
    assert not list(cache_dir.glob("*"))


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-100-python.tar.gz"


def test_only_http_addresses_are_downloaded(tmp_path, cache_dir):
    with pytest.raises(etl.DownloadUnavailable, match="not an http"):
        etl.prepare(tmp_path / "out", url="file:///etc/passwd")


@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_a_redirect_within_http_is_followed(absolute, server, small_archive, tmp_path, cache_dir):
    handler, url = server
    handler.redirects = {"/moved.tar.gz": url if absolute else "/cifar-100-python.tar.gz"}
    moved = url.replace("cifar-100-python.tar.gz", "moved.tar.gz")
    dataset = etl.prepare(tmp_path / "out", md5=small_archive[1], url=moved)
    assert dataset.counts == {"train": 24, "test": 8}
    assert handler.requests == 2


@pytest.fixture
def silent_port():
    """A loopback port that takes connections and never answers: a redirect's way out, watched."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield listener


@pytest.mark.parametrize("scheme", ["file", "ftp"])
def test_a_redirect_out_of_http_is_refused(scheme, server, silent_port, tmp_path, cache_dir):
    """urllib would follow ftp:// (here, to a port that would hang it) and, in its own words,
    refuse file://: both end in one message, before anything is fetched."""
    handler, url = server
    port = silent_port.getsockname()[1]
    target = {"file": "file:///etc/passwd", "ftp": f"ftp://127.0.0.1:{port}/passwd"}[scheme]
    handler.redirects = {"/cifar-100-python.tar.gz": target}
    with pytest.raises(archive.RedirectRefused) as raised:
        etl.prepare(tmp_path / "out", url=url)
    assert str(raised.value) == (
        f"cannot download {url}: it redirects to {target}, not an http(s) address. "
        f"{archive.WAYS_ON}"
    )
    assert isinstance(raised.value, etl.DownloadUnavailable)
    with pytest.raises(BlockingIOError):
        silent_port.accept()
    assert not list(cache_dir.glob("*"))


def test_unreachable_download_names_the_ways_on(tmp_path, cache_dir):
    with pytest.raises(etl.DownloadUnavailable) as raised:
        etl.prepare(tmp_path / "out", url=closed_port_url())
    assert "--archive PATH" in str(raised.value) and "--synthetic" in str(raised.value)
    assert "--md5 HEX" in str(raised.value)


def test_cli_prints_unreachable_download_without_traceback(tmp_path, cache_dir, capsys):
    with pytest.raises(SystemExit) as exited:
        etl.main(["--out", str(tmp_path / "out"), "--url", closed_port_url()])
    assert exited.value.code != 0
    message = str(exited.value.code)
    assert message.startswith("error: cannot download") and "--synthetic" in message
    assert "Traceback" not in capsys.readouterr().err


def objects(session, bucket):
    listed = session.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"]: item for item in listed.get("Contents", [])}


def test_upload_lays_out_the_four_channels_and_the_manifest_beside_them(dataset, layout, session):
    result = etl.upload(dataset, layout, session.client("s3"))
    keys = set(objects(session, layout.bucket))
    assert result.uploaded == len(keys) == 24 + 8 + 2 + 1
    train_png = lst.read_lst(dataset.lst_files["train"])[0].path
    test_png = lst.read_lst(dataset.lst_files["test"])[0].path
    assert {
        f"runs/test/train/{train_png}",
        f"runs/test/validation/{test_png}",
        "runs/test/train_lst/train.lst",
        "runs/test/validation_lst/validation.lst",
        "runs/test/manifest.jsonl",
    } <= keys
    head = session.client("s3").head_object(
        Bucket=layout.bucket, Key=f"runs/test/train/{train_png}"
    )
    assert head["ContentType"] == "image/png"


def test_second_upload_sends_nothing_and_a_change_sends_one(dataset, layout, session):
    s3 = session.client("s3")
    etl.upload(dataset, layout, s3)
    assert etl.upload(dataset, layout, s3).uploaded == 0
    lst = dataset.lst_files["test"]
    lst.write_text(lst.read_text() + "\n")
    result = etl.upload(dataset, layout, s3)
    assert (result.uploaded, result.unchanged) == (1, 24 + 8 + 1 + 1)
    body = s3.get_object(Bucket=layout.bucket, Key="runs/test/validation_lst/validation.lst")
    assert hashlib.md5(body["Body"].read(), usedforsecurity=False).hexdigest() == md5_of(lst)


def test_upload_to_a_missing_bucket(dataset, session):
    from training.common.layout import S3Layout

    with pytest.raises(etl.BucketNotFound, match="no-such-bucket"):
        etl.upload(dataset, S3Layout("no-such-bucket"), session.client("s3"))


def test_cli_extracts_uploads_and_says_what_next(
    small_archive, tmp_path, bucket, cache_dir, capsys
):
    path, md5 = small_archive
    argv = ["--archive", str(path), "--md5", md5, "--out", str(tmp_path / "out")]
    etl.main([*argv, "--bucket", bucket, "--prefix", "p", "--region", "us-east-1"])
    etl.main([*argv, "--bucket", bucket, "--prefix", "p"])
    first, second = capsys.readouterr().out.split("already extracted")
    assert "uploaded 35 files to s3://scones-test-data/p/ (0 unchanged)" in first
    assert "uploaded 0 files to s3://scones-test-data/p/ (35 unchanged)" in second
    assert f"validation     s3://{bucket}/p/validation/" in second
    assert f"next: python -m training.train --bucket {bucket} --prefix p" in second


def test_cli_reports_a_missing_bucket(small_archive, tmp_path, aws, cache_dir):
    path, md5 = small_archive
    with pytest.raises(SystemExit, match="error: bucket 'absent-bucket' does not exist"):
        etl.main(
            [
                "--archive",
                str(path),
                "--md5",
                md5,
                "--out",
                str(tmp_path),
                "--bucket",
                "absent-bucket",
            ]
        )


def test_archive_and_synthetic_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exited:
        etl.main(["--archive", "a.tar.gz", "--synthetic"])
    assert exited.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_a_gzip_that_holds_no_tar(tmp_path, cache_dir):
    path = tmp_path / "plain.tar.gz"
    path.write_bytes(gzip.compress(b"just some bytes, not a tar"))
    with pytest.raises(etl.NotCifarArchive, match=r"not a readable tar\.gz"):
        etl.prepare(tmp_path / "out", archive=path, md5=md5_of(path))
