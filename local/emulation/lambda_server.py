"""A loopback server that answers Lambda's Invoke API by calling the handlers in-process.

moto cannot run Lambda code without Docker. Pointing `AWS_ENDPOINT_URL_LAMBDA` here lets moto's
Step Functions interpreter (or any boto3 client) invoke the real handlers: a handler's exception
comes back as Lambda reports it (`X-Amz-Function-Error` and `errorType`), so Retry and Catch
match it by name, and `throttle()` answers 429 as Lambda does when concurrency runs out. A
name that is not served is Lambda's 404, a malformed one (`arn:`) its 400 `ValidationException`.
"""

import json
import re
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import botocore.session
from botocore.model import Shape

from local.emulation.loopback import Answer, LoopbackService, Request, error_answer

Handler = Callable[[Any, Any], Any]
INVOKE_PATH = "/2015-03-31/functions/"
JSON = {"Content-Type": "application/json"}


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


@cache
def _function_name_shape() -> Shape:
    """Invoke's FunctionName in botocore's model of Lambda: the service's own length and pattern."""
    model = botocore.session.get_session().get_service_model("lambda")
    return model.operation_model("Invoke").input_shape.members["FunctionName"]


def broken_constraint(name_or_arn: str) -> str | None:
    """The constraint on FunctionName the value breaks, in Lambda's words, or None when it has
    none. Beyond the model's pattern, which `arn:aws` still matches, an ARN must name a function."""
    limits = _function_name_shape().metadata
    if len(name_or_arn) < limits["min"]:
        return f"Member must have length greater than or equal to {limits['min']}"
    if len(name_or_arn) > limits["max"]:
        return f"Member must have length less than or equal to {limits['max']}"
    if not re.fullmatch(limits["pattern"], name_or_arn):
        return f"Member must satisfy regular expression pattern: {limits['pattern']}"
    parts = name_or_arn.split(":")
    if parts[0] == "arn" and not (len(parts) in (7, 8) and parts[5] == "function"):
        return (
            "Member must be a function name or a function ARN"
            " (arn:partition:lambda:region:account-id:function:name[:qualifier])"
        )
    return None


def function_name_of(name_or_arn: str) -> str:
    """`MyFunction` from a name, a full ARN or a qualified ARN, as Lambda accepts all three
    (a value `broken_constraint` passes)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":")[6]
    return name_or_arn.split(":")[0]


class LambdaInvokeServer(LoopbackService):
    """Context manager serving `POST /2015-03-31/functions/{name}/invocations` on loopback.

    Invocations run one at a time, as Lambda runs one per execution environment: the three
    handlers share this process and its Powertools logger (one service name), whose keys, the
    correlation id among them, would otherwise leak from one execution's records into another's.
    """

    def __init__(self, handlers: Mapping[str, Handler], *, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host=host, port=port)
        self.handlers = dict(handlers)
        self.invocations: Counter[str] = Counter()
        self._throttled: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._one_invocation_at_a_time = threading.Lock()

    def throttle(self, function_name: str, times: int = 1) -> None:
        """Answer the next `times` invocations of the function with TooManyRequestsException."""
        with self._lock:
            self._throttled[function_name] += times

    def answer(self, request: Request) -> Answer:
        path = urlsplit(request.path).path
        if not (path.startswith(INVOKE_PATH) and path.endswith("/invocations")):
            return error_answer(404, "UnknownOperationException", {"message": f"no route {path}"})
        name = unquote(path[len(INVOKE_PATH) : -len("/invocations")])
        if constraint := broken_constraint(name):  # Lambda checks the name before the payload
            message = (
                f"1 validation error detected: Value '{name}' at 'functionName' failed to"
                f" satisfy constraint: {constraint}"
            )
            return error_answer(HTTPStatus.BAD_REQUEST, "ValidationException", {"message": message})
        try:
            event = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):  # not JSON, or JSON Python cannot hold
            status, headers, body = _service_error(
                HTTPStatus.BAD_REQUEST, "InvalidRequestContentException", name
            )
        else:
            status, headers, body = self.invoke(name, event)
        return Answer(status, json.dumps(body).encode(), {**JSON, **headers})

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
            with self._one_invocation_at_a_time:
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
        "InvalidRequestContentException": "Could not parse request body into json",
    }
    headers = {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())}
    return status, headers, {"Type": "User", "message": messages[error_type]}
