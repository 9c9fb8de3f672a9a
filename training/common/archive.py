"""Getting the CIFAR-100 archive: downloaded once into a cache, checked, and read safely.

Three sources, one result (a verified archive on disk): the published archive, downloaded
over http(s) only (its redirects too) with a short connect timeout, and cached; a local
copy (`--archive`); or a generated SYNTHETIC stand-in in the same layout (`--synthetic`),
cached per seed. Every archive is checked against an MD5 before it is read; no member larger
than CIFAR-100's is read, nor any split twice, and its pickles are read by
`training.common.splits`, which builds only what a split holds.
"""

import hashlib
import os
import pickle
import tarfile
import urllib.request
import zlib
from http.client import HTTPException, IncompleteRead
from pathlib import Path
from typing import IO
from urllib.error import URLError
from urllib.parse import urljoin, urlsplit

from tqdm import tqdm

from training.common import cifar, synthetic
from training.common.errors import TrainingError
from training.common.splits import NotCifarArchive, Split, load, to_split

HTTP_SCHEMES = ("http", "https")
CONNECT_TIMEOUT_SECONDS = 10  # also the longest silence tolerated mid-download
CHUNK_BYTES = 1 << 20
# The real members are 50,000 and 10,000 rows of 3,072 pixels plus labels and names:
# 155 MB and 31 MB. Room for about 30 % more, no further: each is read whole into memory.
MAX_SPLIT_BYTES = {"train": 200_000_000, "test": 40_000_000}
FIX_CACHE = "remove it, or choose another cache folder (--cache-dir DIR or XDG_CACHE_HOME)"
WAYS_ON = (
    "Use a local copy with --archive PATH (add --md5 HEX if it is not the published "
    "archive), or a generated stand-in with --synthetic (SYNTHETIC data, not CIFAR-100)."
)


class DownloadUnavailable(TrainingError):
    """The archive's address cannot be reached."""


class RedirectRefused(DownloadUnavailable):
    """The archive's address redirects to one that is not http(s): `ftp://`, `file://`, ..."""


class CacheUnusable(TrainingError):
    """The cache folder cannot be made, or a folder sits where a cached file goes."""


class ChecksumMismatch(TrainingError):
    """An archive's MD5 is not the expected one."""


class TruncatedArchive(TrainingError):
    """An archive ends before its end: an interrupted download or copy."""


class MemberTooLarge(NotCifarArchive):
    """An archive member larger than CIFAR-100's: not the dataset, or a decompression bomb."""


class DuplicateMember(NotCifarArchive):
    """A split twice in one archive: reading on would let the second replace the first."""


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/scones-unlimited`, or `~/.cache/scones-unlimited`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scones-unlimited"


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_md5(path: Path, expected: str) -> None:
    actual = md5_of(path)
    if actual != expected.lower():
        raise ChecksumMismatch(
            f"{path} has MD5 {actual}, expected {expected.lower()}: the file is damaged or "
            "not the archive you meant (for another archive, name its MD5 with --md5 HEX)"
        )


def cache_file(cache_dir: Path, name: str, *companions: str) -> Path:
    """`cache_dir/name`, once the folder exists and nothing but files sits where its files go.

    `companions` are the suffixes of the files written beside it (partial copies, checksums).
    """
    path = cache_dir / name
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CacheUnusable(
            f"cannot use {cache_dir} as the cache ({error.strerror}): {FIX_CACHE}"
        ) from error
    for taken in [path, *(path.with_name(name + suffix) for suffix in companions)]:
        if taken.exists() and not taken.is_file():
            raise CacheUnusable(f"{taken} is in the cache's way, and not a file: {FIX_CACHE}")
    return path


def download(url: str, cache_dir: Path, md5: str) -> Path:
    """The archive at `url`, fetched once: a verified copy in `cache_dir` is reused."""
    cached = cache_file(cache_dir, Path(url).name, ".part")
    if cached.exists() and md5_of(cached) == md5.lower():
        return cached
    partial = cached.with_name(cached.name + ".part")
    try:
        _fetch(url, partial)
        verify_md5(partial, md5)
    except TrainingError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(cached)
    return cached


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in HTTP_SCHEMES


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to http(s): checking `--url` alone lets a redirect go anywhere.

    urllib's handler follows `ftp://`, and refuses `file://` in words that read like a
    server that cannot be reached; this one refuses both, and any other, the same way.
    """

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("Location") or headers.get("URI")
        target = urljoin(req.full_url, location) if location else req.full_url
        if not _is_http(target):
            fp.close()
            raise RedirectRefused(
                f"cannot download {req.full_url}: it redirects to {target}, "
                f"not an http(s) address. {WAYS_ON}"
            )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _fetch(url: str, destination: Path) -> None:
    if not _is_http(url):
        raise DownloadUnavailable(f"cannot download {url}: not an http(s) address. {WAYS_ON}")
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    try:
        with opener.open(url, timeout=CONNECT_TIMEOUT_SECONDS) as response:
            expected = _content_length(url, response.headers.get("Content-Length"))
            received = _stream(response, destination, expected)
    except IncompleteRead as error:  # a chunked answer that stops before its last chunk
        raise TruncatedArchive(
            f"the download of {url} was cut short ({error!r}); run again"
        ) from error
    except (URLError, HTTPException, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadUnavailable(f"cannot download {url} ({reason}). {WAYS_ON}") from error
    if expected is not None and received < expected:
        raise TruncatedArchive(
            f"the download of {url} ended after {received} of {expected} bytes; run again"
        )


def _content_length(url: str, header: str | None) -> int | None:
    """The announced size, if any: a value that is not a byte count is a broken server."""
    if header is None:
        return None
    if not (header.isascii() and header.isdigit()):
        raise DownloadUnavailable(
            f"cannot download {url}: its server announced Content-Length {header[:40]!r}, "
            f"not a byte count. {WAYS_ON}"
        )
    return int(header)


def _stream(response: IO[bytes], destination: Path, total: int | None) -> int:
    received = 0
    with (
        destination.open("wb") as out,
        tqdm(total=total, unit="B", unit_scale=True, desc="download", disable=None) as bar,
    ):
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def synthetic_archive(cache_dir: Path, seed: int) -> tuple[Path, str]:
    """The SYNTHETIC stand-in for `seed` and its MD5, generated once per seed.

    A cached copy is reused only when it still has the MD5 written beside it; a damaged
    copy or checksum is generated again, as it would be on a first run.
    """
    name = f"synthetic-cifar-100-python-v{synthetic.GENERATOR_VERSION}-seed{seed}.tar.gz"
    path = cache_file(cache_dir, name, ".md5", ".partial")
    checksum = path.with_name(path.name + ".md5")
    recorded = checksum.read_text(errors="replace").strip() if checksum.exists() else ""
    if recorded and path.exists() and md5_of(path) == recorded.lower():
        return path, recorded.lower()
    md5 = synthetic.write_archive(path, seed=seed)
    checksum.write_text(md5 + "\n")
    return path, md5


def read_splits(path: Path) -> dict[str, Split]:
    """Each split of the archive, checked (see `training.common.splits`), in one pass."""
    wanted = {f"{cifar.ROOT}/{split}": split for split in cifar.SPLITS}
    splits: dict[str, Split] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name in wanted and member.isfile():
                    split = wanted[member.name]
                    if split in splits:
                        raise DuplicateMember(
                            f"{path} holds {member.name} twice: not CIFAR-100's layout, "
                            "which has each split once"
                        )
                    splits[split] = to_split(load(_read_member(archive, member, split)))
    except (EOFError, pickle.UnpicklingError, tarfile.ReadError, zlib.error) as error:
        raise _unreadable(path, error) from error
    missing = sorted(set(wanted) - {f"{cifar.ROOT}/{split}" for split in splits})
    if missing:
        raise NotCifarArchive(f"{path} lacks {', '.join(missing)}: not CIFAR-100's layout")
    return splits


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, split: str) -> bytes:
    """The member's bytes, refused before reading when it is larger than a split can be."""
    if member.size > MAX_SPLIT_BYTES[split]:
        raise MemberTooLarge(
            f"{member.name} is {member.size:,} bytes uncompressed; CIFAR-100's {split} split "
            f"is under {MAX_SPLIT_BYTES[split]:,}: not CIFAR-100, or a decompression bomb"
        )
    return archive.extractfile(member).read()


def _unreadable(path: Path, error: Exception) -> TrainingError:
    """Name what went wrong reading an archive whose checksum was as expected."""
    cut = ("unexpected end of data", "empty file", "pickle data was truncated")
    if isinstance(error, EOFError) or any(sign in str(error) for sign in cut):
        return TruncatedArchive(f"{path} ends too early ({error}): an interrupted copy?")
    return NotCifarArchive(f"{path} is not a readable tar.gz of CIFAR-100 pickles ({error})")
