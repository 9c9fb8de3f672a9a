"""What the two loopback servers share: serving on 127.0.0.1, reading a request once, answering.

`LoopbackService` subclasses (the Lambda Invoke server, the model endpoint) implement only
`answer(request)`. The server is created in `__enter__` and stopped in `__exit__`; a request's
body is read once, after its Content-Length is checked: an invalid one is a 400 and a larger
one than the service accepts a 413, both answered before anything is allocated.
"""

import json
import sys
import threading
import uuid
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

LISTEN_BACKLOG = 128  # http.server's 5 dropped connections under 50 concurrent executions
SHUTDOWN_POLL_SECONDS = 0.05  # how soon leaving the `with` block stops the server
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload and SageMaker's request limit


@dataclass(frozen=True)
class Request:
    """One HTTP request, read once."""

    method: str
    path: str
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Answer:
    """An HTTP answer before it is written: status, body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(status: int, code: str, fields: dict[str, object]) -> Answer:
    """An AWS JSON error: botocore reads the code from `x-amzn-ErrorType`, fields from the body."""
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return Answer(status, json.dumps(fields).encode(), headers)


def body_length(headers: Message, limit: int) -> int | Answer:
    """The body's length from Content-Length (absent: 0), or the error answer that refuses it."""
    value = headers.get("Content-Length", "0").strip()
    if not (value.isascii() and value.isdigit()):  # negative, fractional, empty, not a number
        return error_answer(400, "BadRequest", {"message": f"invalid Content-Length {value!r:.40}"})
    if len(value) > len(str(limit)) or int(value) > limit:  # never int() of 5,000 digits
        message = f"the body is {value:.40} bytes; at most {limit} are accepted"
        return error_answer(413, "RequestEntityTooLargeException", {"message": message})
    return int(value)


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server with a real backlog that takes clients' hang-ups calmly."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], service: "LoopbackService") -> None:
        super().__init__(address, RequestHandler)
        self.service = service

    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing a kept-alive connection is normal; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackService:
    """A service on loopback, in a daemon thread, for the duration of a `with` block."""

    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not serving: use it in a `with` block")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, request: Request) -> Answer:
        """The service's answer to one request."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._server = LoopbackServer(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None


class RequestHandler(BaseHTTPRequestHandler):
    """Reads each request once, hands it to the service, writes the answer; logs nothing."""

    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: LoopbackServer

    def do_POST(self) -> None:  # the name http.server dispatches POST requests to
        length = body_length(self.headers, self.server.service.max_body_bytes)
        if isinstance(length, Answer):  # the body cannot be skipped: end the connection after
            self.close_connection = True
            self.send(length)
            return
        request = Request("POST", self.path, self.headers, self.rfile.read(length))
        self.send(self.server.service.answer(request))

    def send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in {"x-amzn-RequestId": str(uuid.uuid4()), **answer.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a demo's output is its table, not one access-log line per request."""
