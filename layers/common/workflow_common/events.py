"""The payload shapes every function accepts and the response shape every function returns."""

import json
from typing import Any

from workflow_common.errors import InvalidEvent


def unwrap_body(event: Any) -> dict[str, Any]:
    """Return the payload of an event that is bare, or wrapped as {"body": dict or JSON string}.

    The state machine sends {"body": <state>, "execution_id": ...}; the course's starter events
    send the body as a dict or as a JSON string; `sam local invoke` users send it bare.
    """
    if not isinstance(event, dict):
        raise InvalidEvent(f"the event must be a JSON object, not {type(event).__name__}")
    body = event.get("body", event)
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as error:
            raise InvalidEvent(f"body is not valid JSON: {error.msg}") from None
        except (ValueError, RecursionError) as error:  # a 5,000-digit number; deep nesting
            raise InvalidEvent(f"body is not JSON we can read: {type(error).__name__}") from None
    if not isinstance(body, dict):
        raise InvalidEvent(f"body must be a JSON object, not {type(body).__name__}")
    return body


def required_string(payload: dict[str, Any], field: str) -> str:
    """The non-empty, UTF-8 encodable string at `field`, or InvalidEvent naming the field."""
    value = payload.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"'{field}' must be a non-empty string, got {_describe(value)}")
    try:
        value.encode("utf-8")  # what S3, logs and JSON responses all need
    except UnicodeEncodeError:
        raise InvalidEvent(f"'{field}' is not valid Unicode text (a lone surrogate)") from None
    return value


def response(body: dict[str, Any]) -> dict[str, Any]:
    """The one response shape: the state machine keeps only `body`."""
    return {"statusCode": 200, "body": body}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if value == "":
        return "an empty string"
    return type(value).__name__
