"""What every command shares: one-line errors and the exit status."""

import sys
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from operations.errors import AccessDenied, OperationError

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403"}


def denied_or_none(error: ClientError, action: str) -> OperationError | None:
    """AccessDenied naming the action when AWS refused it; None for other errors."""
    if error.response["Error"]["Code"] in DENIED_CODES:
        return AccessDenied(f"your credentials may not {action}")
    return None


def run(command: Callable[[], str]) -> int:
    """Run a command; print its output, or its error as one line on stderr (status 1)."""
    try:
        print(command())
    except OperationError as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0
