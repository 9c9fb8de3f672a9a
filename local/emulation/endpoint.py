"""A loopback server that answers SageMaker runtime's InvokeEndpoint with a local model.

It speaks the real wire protocol (rest-json), so an unchanged boto3 client reaches it
through `endpoint_url=` or `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`: `POST
/endpoints/{EndpointName}/invocations` with the image bytes as the body, answered with
`[p_bicycle, p_motorcycle]` as JSON, as the built-in image-classification algorithm does.
Failures come back as the real service's errors (`ValidationError`, `ModelError`), so
callers' error handling is exercised too. With `capture_dir`, every answered request is
also written as SageMaker data capture writes it to S3, for the monitoring report; a capture
that cannot be written is logged and the inference answered all the same, as SageMaker does.
A request's `InferenceId` (header `X-Amzn-SageMaker-Inference-Id`, checked against the
service's constraints) is recorded as SageMaker records it: `eventMetadata.inferenceId`.

    with ModelEndpoint(predictor, endpoint_name="image-classification") as endpoint:
        boto3.client("sagemaker-runtime", endpoint_url=endpoint.url).invoke_endpoint(...)
"""

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from local.emulation.loopback import Answer, LoopbackService, Request, error_answer
from training.common.capture import capture_record

ACCOUNT_ID = "123456789012"  # the account the local stand-ins (moto) use
IMAGE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "application/x-image"})
INVOCATIONS_PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/invocations$")
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
# The service's constraint on InferenceId: 1 to 64 characters, `\A\S[\p{Print}]*\z` in
# botocore's model, a Java pattern whose classes are ASCII: the first any but whitespace, the
# rest printable ASCII.
INFERENCE_ID = re.compile(r"[^ \t\n\x0b\f\r][\x20-\x7e]{0,63}")
logger = logging.getLogger(__name__)


def endpoint_not_found(endpoint_name: str) -> Answer:
    message = f"Endpoint {endpoint_name} of account {ACCOUNT_ID} not found."
    return error_answer(400, "ValidationError", {"message": message})


def model_error(original_status: int, original_message: str) -> Answer:
    """What the service answers when the model container answers with an error."""
    kind = "client" if original_status < 500 else "server"
    message = (
        f'Received {kind} error ({original_status}) from primary with message "{original_message}".'
    )
    fields = {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": message,
        "OriginalMessage": original_message,
        "OriginalStatusCode": original_status,
    }
    return error_answer(424, "ModelError", fields)


def invalid_inference_id(inference_id: str) -> Answer:
    message = (
        f"1 validation error detected: Value '{inference_id}' at 'inferenceId' failed to satisfy"
        " constraint: Member must have length less than or equal to 64 and satisfy regular"
        r" expression pattern: \A\S[\p{Print}]*\z"
    )
    return error_answer(400, "ValidationError", {"message": message})


def unknown_operation(method: str, path: str) -> Answer:
    message = f"{method} {path} is not an operation of this endpoint"
    return error_answer(404, "UnknownOperationException", {"message": message})


class DataCapture:
    """JSON-lines files under `<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/`, one file an hour.

    File names follow SageMaker's (`<minute>-<second>-<millisecond>-<uuid>.jsonl`, taken
    when the hour's file is started). Writes from concurrent requests are serialised.
    """

    def __init__(self, root: Path, endpoint_name: str, variant_name: str) -> None:
        self.folder = Path(root) / endpoint_name / variant_name
        self._files: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _file_for(self, when: datetime) -> Path:
        hour = when.strftime("%Y/%m/%d/%H")
        if hour not in self._files:
            name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            self._files[hour] = self.folder / hour / name
        return self._files[hour]

    def write(
        self, content_type: str, body: bytes, output: str, inference_id: str | None = None
    ) -> None:
        when = datetime.now(UTC)
        record = capture_record(content_type, body, output, when)
        if inference_id is not None:  # where SageMaker puts the caller's id, beside its own
            event = record["eventMetadata"]
            record["eventMetadata"] = {
                "eventId": event["eventId"],
                "inferenceId": inference_id,
                "inferenceTime": event["inferenceTime"],
            }
        line = json.dumps(record) + "\n"
        with self._lock:
            path = self._file_for(when)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as file:
                file.write(line)


class ModelEndpoint(LoopbackService):
    """An InvokeEndpoint server on loopback for one endpoint name, in a daemon thread."""

    def __init__(
        self,
        predict: Callable[[bytes], list[float]],
        *,
        endpoint_name: str,
        capture_dir: Path | None = None,
        variant_name: str = "AllTraffic",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.predict = predict
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.capture = (
            DataCapture(capture_dir, endpoint_name, variant_name)
            if capture_dir is not None
            else None
        )
        super().__init__(host=host, port=port)

    def answer(self, request: Request) -> Answer:
        match = INVOCATIONS_PATH.match(urlsplit(request.path).path)
        if match is None:
            return unknown_operation(request.method, request.path)
        content_type = request.headers.get("Content-Type", "")
        inference_id = request.headers.get(INFERENCE_ID_HEADER)
        return self.invoke(unquote(match["name"]), content_type, request.body, inference_id)

    def invoke(
        self, endpoint_name: str, content_type: str, body: bytes, inference_id: str | None = None
    ) -> Answer:
        """InvokeEndpoint's logic, without HTTP: the answer for one request."""
        if endpoint_name != self.endpoint_name:
            return endpoint_not_found(endpoint_name)
        if inference_id is not None and not INFERENCE_ID.fullmatch(inference_id):
            return invalid_inference_id(inference_id)
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in IMAGE_CONTENT_TYPES:
            accepted = ", ".join(sorted(IMAGE_CONTENT_TYPES))
            return model_error(415, f"Content type {content_type!r} is not supported: {accepted}")
        output = self._model_output(body)
        if isinstance(output, Answer):
            return output
        if self.capture is not None:
            self._capture(content_type, body, output, inference_id)
        headers = {
            "Content-Type": "application/json",
            "x-Amzn-Invoked-Production-Variant": self.variant_name,
        }
        return Answer(200, output.encode(), headers)

    def _model_output(self, body: bytes) -> str | Answer:
        """The model's probabilities as JSON text, or the ModelError its failure becomes."""
        try:
            probabilities = self.predict(body)
        except ValueError as error:  # the model's word for a payload it cannot read
            return model_error(400, f"unable to evaluate payload provided: {error}")
        except Exception as error:  # any other failure of the model is the caller's ModelError
            return model_error(500, f"{type(error).__name__}: {error}")
        try:
            return json.dumps([float(p) for p in probabilities])
        except (TypeError, ValueError):
            return model_error(500, f"the model answered {probabilities!r}, not probabilities")

    def _capture(
        self, content_type: str, body: bytes, output: str, inference_id: str | None
    ) -> None:
        """Capture never fails an inference (nor does SageMaker's): a failed write is logged."""
        try:
            self.capture.write(content_type, body, output, inference_id)
        except OSError as error:
            logger.warning("data capture not written to %s: %s", self.capture.folder, error)
