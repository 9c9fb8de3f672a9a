"""Idempotent upload to S3: a file is sent only when the object there differs from it.

Objects are compared by MD5 against the ETag that ListObjectsV2 returns, which is the MD5
of an object uploaded in one part with S3-managed encryption (every file here is small and
sent in one part). Under SSE-KMS the ETag is not an MD5, and every file is sent again:
correct, only slower.
"""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from training.common.archive import md5_of
from training.common.aws import raise_if_no_bucket

UPLOAD_THREADS = 8  # S3 latency, not bandwidth, bounds a thousand 2 KB PNGs
CONTENT_TYPES = {".png": "image/png", ".lst": "text/plain"}


@dataclass(frozen=True)
class UploadResult:
    uploaded: int
    unchanged: int


def existing_md5s(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key -> ETag (an MD5 for single-part objects) of every object under `prefix`."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        return {
            item["Key"]: item["ETag"].strip('"')
            for page in pages
            for item in page.get("Contents", [])
        }
    except ClientError as error:
        raise_if_no_bucket(error, bucket)
        raise


def upload_files(s3: Any, bucket: str, files: Mapping[str, Path], prefix: str) -> UploadResult:
    """Put each `key -> path` of `files` whose object under `prefix` is missing or differs."""
    existing = existing_md5s(s3, bucket, prefix)
    changed = {key: path for key, path in files.items() if existing.get(key) != md5_of(path)}
    with (
        ThreadPoolExecutor(UPLOAD_THREADS) as pool,
        tqdm(total=len(changed), unit="file", desc="upload", disable=None) as bar,
    ):
        for _ in pool.map(lambda item: _put(s3, bucket, *item), changed.items()):
            bar.update()
    return UploadResult(uploaded=len(changed), unchanged=len(files) - len(changed))


def _put(s3: Any, bucket: str, key: str, path: Path) -> None:
    content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
