"""The one base class for failures a person can act on, and how the CLIs show them."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError


class TrainingError(Exception):
    """A failure whose message says what went wrong and what to do next."""


@contextmanager
def exit_with_message() -> Iterator[None]:
    """Turn our errors and AWS's into one line on stderr and exit status 1, no traceback.

    A traceback helps the person who wrote the code; the person running a script needs the
    message (a missing bucket, a bad checksum, AccessDenied) and nothing else.
    """
    try:
        yield
    except (TrainingError, BotoCoreError, ClientError) as error:
        sys.exit(f"error: {error}")
