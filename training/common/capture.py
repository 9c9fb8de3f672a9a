"""Data-capture records: writing one, finding the files and reading the inferences they hold.

SageMaker writes one JSON record a line to
`<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`:

    {"captureData": {
        "endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
        "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
     "eventMetadata": {"eventId", "inferenceTime"},
     "eventVersion": "0"}

`encoding` is `JSON` (`data` is the response's JSON text) or `BASE64` (`data` is the
response's bytes, base64-encoded). Either way the response is `[p_bicycle, p_motorcycle]`.
A line that is not such a record is counted as broken, never fatal: one bad line must not
hide the thousands of good ones around it.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from training.common import cifar
from training.common.aws import raise_if_no_bucket, split_s3_uri
from training.common.errors import TrainingError

SUFFIX = ".jsonl"


class BrokenRecord(ValueError):
    """A capture line that does not hold a timestamped two-class inference."""


class NoCaptureFiles(TrainingError):
    """No .jsonl file under the capture source."""


@dataclass(frozen=True)
class Inference:
    time: datetime
    probabilities: tuple[float, ...]  # in cifar.CLASSES order

    @property
    def confidence(self) -> float:
        return max(self.probabilities)

    @property
    def label(self) -> str:
        return cifar.CLASSES[self.probabilities.index(self.confidence)]


@dataclass(frozen=True)
class Captured:
    inferences: list[Inference]  # in time order
    broken_lines: int
    files: int


def capture_record(content_type: str, body: bytes, output: str, when: datetime) -> dict[str, Any]:
    """One data-capture record, as SageMaker writes them (input as base64, output as JSON)."""
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": base64.b64encode(body).decode("ascii"),
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": output,
                "encoding": "JSON",
            },
        },
        "eventMetadata": {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "eventVersion": "0",
    }


def decode_data(block: dict[str, Any]) -> Any:
    """The JSON value of a capture block, whichever its encoding."""
    encoding, data = block["encoding"], block["data"]
    if encoding == "BASE64":
        return json.loads(base64.b64decode(data, validate=True))
    if encoding == "JSON":
        return json.loads(data) if isinstance(data, str) else data
    raise BrokenRecord(f"unknown encoding {encoding!r}")


def _probabilities(value: Any) -> tuple[float, ...]:
    numbers = isinstance(value, list) and all(
        isinstance(p, int | float) and not isinstance(p, bool) for p in value
    )
    if not numbers or len(value) != len(cifar.CLASSES):
        raise BrokenRecord(f"not a list of {len(cifar.CLASSES)} numbers")
    if not all(0 <= p <= 1 for p in value):  # False for NaN, infinities and huge integers
        raise BrokenRecord("probabilities outside [0, 1]")
    return tuple(float(p) for p in value)


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_record(line: str) -> Inference:
    """One capture line -> its inference; BrokenRecord when it is not one."""
    try:
        record = json.loads(line)
        output = decode_data(record["captureData"]["endpointOutput"])
        moment = _time(record["eventMetadata"]["inferenceTime"])
        return Inference(moment, _probabilities(output))
    except BrokenRecord:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as error:
        raise BrokenRecord(f"{type(error).__name__}: {error}") from error


def read_lines(texts: Iterator[str]) -> tuple[list[Inference], int, int]:
    """Inferences, broken lines and files from the texts of capture files."""
    inferences, broken, files = [], 0, 0
    for text in texts:
        files += 1
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                inferences.append(parse_record(line))
            except BrokenRecord:
                broken += 1
    return inferences, broken, files


def local_texts(folder: Path) -> Iterator[str]:
    paths = [folder] if folder.is_file() else sorted(folder.rglob(f"*{SUFFIX}"))
    for path in paths:
        yield path.read_text(errors="replace")


def s3_texts(s3: Any, uri: str) -> Iterator[str]:
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix if not prefix or prefix.endswith(("/", SUFFIX)) else prefix + "/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        keys = sorted(
            item["Key"]
            for page in pages
            for item in page.get("Contents", [])
            if item["Key"].endswith(SUFFIX)
        )
    except ClientError as error:
        raise_if_no_bucket(error, bucket)
        raise
    for key in keys:
        yield s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode(errors="replace")


def read_captures(source: str | Path, s3: Any = None) -> Captured:
    """Every record of every capture file under `source`: an s3:// URI or a local folder."""
    is_s3 = str(source).startswith("s3://")
    texts = s3_texts(s3, str(source)) if is_s3 else local_texts(Path(source))
    inferences, broken, files = read_lines(texts)
    if files == 0:
        raise NoCaptureFiles(
            f"no {SUFFIX} files under {source}: has the endpoint served requests with data "
            "capture on? (files appear a few minutes after the requests)"
        )
    return Captured(sorted(inferences, key=lambda i: i.time), broken, files)
