"""A loopback server that answers Lambda's Invoke API by calling the handlers in-process.

moto cannot run Lambda code without Docker. Pointing `AWS_ENDPOINT_URL_LAMBDA` here lets moto's
Step Functions interpreter (or any boto3 client) invoke the real handlers: a handler's exception
comes back as Lambda reports it (`X-Amz-Function-Error` and `errorType`), so Retry and Catch
match it by name, and `throttle()` answers 429 as Lambda does when concurrency runs out.
"""

import json
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

Handler = Callable[[Any, Any], Any]
INVOKE_PATH = "/2015-03-31/functions/"


@dataclass
class InvocationContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def function_name_of(name_or_arn: str) -> str:
    """`MyFunction` from a name, a full ARN or a qualified ARN, as Lambda accepts all three."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":")[0]


class LambdaInvokeServer:
    """Context manager serving `POST /2015-03-31/functions/{name}/invocations` on loopback."""

    def __init__(self, handlers: Mapping[str, Handler], *, host: str = "127.0.0.1", port: int = 0):
        self.handlers = dict(handlers)
        self.invocations: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _request_handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def throttle(self, function_name: str, times: int = 1) -> None:
        """Answer the next `times` invocations of the function with TooManyRequestsException."""
        with self._lock:
            self._throttled[function_name] += times

    def __enter__(self) -> "LambdaInvokeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def invoke(self, name_or_arn: str, event: Any) -> tuple[HTTPStatus, dict[str, str], Any]:
        """Status, headers and JSON body of Lambda's answer to one synchronous invocation."""
        name = function_name_of(name_or_arn)
        if name not in self.handlers:
            return _service_error(HTTPStatus.NOT_FOUND, "ResourceNotFoundException", name_or_arn)
        with self._lock:
            self.invocations[name] += 1
            throttled = self._throttled[name] > 0
            if throttled:
                self._throttled[name] -= 1
        if throttled:
            return _service_error(HTTPStatus.TOO_MANY_REQUESTS, "TooManyRequestsException", name)
        context = InvocationContext(name, name_or_arn if name_or_arn.startswith("arn:") else name)
        headers = {"x-amzn-RequestId": context.aws_request_id, "X-Amz-Executed-Version": "$LATEST"}
        try:
            return HTTPStatus.OK, headers, self.handlers[name](event, context)
        except Exception as error:
            headers["X-Amz-Function-Error"] = "Unhandled"
            return HTTPStatus.OK, headers, _error_payload(error, context.aws_request_id)


def _error_payload(error: Exception, request_id: str) -> dict[str, Any]:
    """The body the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _service_error(status: HTTPStatus, error_type: str, name: str) -> tuple[HTTPStatus, dict, Any]:
    messages = {
        "ResourceNotFoundException": f"Function not found: {name}",
        "TooManyRequestsException": "Rate Exceeded.",
    }
    headers = {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())}
    return status, headers, {"Type": "User", "message": messages[error_type]}


def _request_handler_for(server: LambdaInvokeServer) -> type[BaseHTTPRequestHandler]:
    class InvokeRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection for all of a client's calls
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length) if length else b"{}"  # read first: the connection stays
            if not (self.path.startswith(INVOKE_PATH) and self.path.endswith("/invocations")):
                self._answer(HTTPStatus.NOT_FOUND, {}, {"message": f"no route for {self.path}"})
                return
            name = unquote(self.path[len(INVOKE_PATH) : -len("/invocations")])
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                self._answer(*_invalid_request("Could not parse request body into json"))
                return
            self._answer(*server.invoke(name, event))

        def _answer(self, status: HTTPStatus, headers: dict[str, str], body: Any) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the handlers' own structured logs are what matter."""

    return InvokeRequestHandler


def _invalid_request(message: str) -> tuple[HTTPStatus, dict[str, str], Any]:
    headers = {"x-amzn-ErrorType": "InvalidRequestContentException"}
    return HTTPStatus.BAD_REQUEST, headers, {"Type": "User", "message": message}
