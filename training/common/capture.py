"""Data-capture records: writing one, finding the files and reading the inferences they hold.

SageMaker writes one JSON record a line to
`<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`:

    {"captureData": {
        "endpointInput": {"observedContentType", "mode": "INPUT", "data", "encoding"},
        "endpointOutput": {"observedContentType", "mode": "OUTPUT", "data", "encoding"}},
     "eventMetadata": {"eventId", "inferenceId" (when the caller sent one), "inferenceTime"},
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
    inference_id: str | None = None  # the caller's InferenceId, when it sent one

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


def capture_record(
    content_type: str,
    body: bytes,
    output: str,
    when: datetime,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """One data-capture record, as SageMaker writes them (input as base64, output as JSON),
    with the caller's InferenceId beside SageMaker's own event id when it sent one."""
    caller = {} if inference_id is None else {"inferenceId": inference_id}
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
            **caller,
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


def _inference_id(metadata: dict[str, Any]) -> str | None:
    """The caller's InferenceId: absent from records of calls that sent none."""
    value = metadata.get("inferenceId")
    if value is not None and (not isinstance(value, str) or not value):
        raise BrokenRecord(f"inferenceId is not a non-empty string: {value!r:.80}")
    return value


def parse_record(line: str) -> Inference:
    """One capture line -> its inference; BrokenRecord when it is not one."""
    try:
        record = json.loads(line)
        output = decode_data(record["captureData"]["endpointOutput"])
        metadata = record["eventMetadata"]
        moment = _time(metadata["inferenceTime"])
        return Inference(moment, _probabilities(output), _inference_id(metadata))
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


def local_texts(folder: Path, suffix: str = SUFFIX) -> Iterator[tuple[str, str]]:
    """(path, text) of each file ending in `suffix` under `folder` (or `folder` itself)."""
    paths = [folder] if folder.is_file() else sorted(folder.rglob(f"*{suffix}"))
    for path in paths:
        yield str(path), path.read_text(errors="replace")


def s3_texts(s3: Any, uri: str, suffix: str = SUFFIX) -> Iterator[tuple[str, str]]:
    """(s3://bucket/key, text) of each object ending in `suffix` under `uri`."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix if not prefix or prefix.endswith(("/", suffix)) else prefix + "/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        keys = sorted(
            item["Key"]
            for page in pages
            for item in page.get("Contents", [])
            if item["Key"].endswith(suffix)
        )
    except ClientError as error:
        raise_if_no_bucket(error, bucket)
        raise
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        yield f"s3://{bucket}/{key}", body.decode(errors="replace")


def named_texts(
    source: str | Path, s3: Any = None, suffix: str = SUFFIX
) -> Iterator[tuple[str, str]]:
    """(where, text) of each file ending in `suffix` under `source`: s3://... or a folder."""
    if str(source).startswith("s3://"):
        return s3_texts(s3, str(source), suffix)
    return local_texts(Path(source), suffix)


def read_captures(source: str | Path, s3: Any = None) -> Captured:
    """Every record of every capture file under `source`: an s3:// URI or a local folder."""
    texts = (text for _, text in named_texts(source, s3))
    inferences, broken, files = read_lines(texts)
    if files == 0:
        raise NoCaptureFiles(
            f"no {SUFFIX} files under {source}: has the endpoint served requests with data "
            "capture on? (files appear a few minutes after the requests)"
        )
    return Captured(sorted(inferences, key=lambda i: i.time), broken, files)
