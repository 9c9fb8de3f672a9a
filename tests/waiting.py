"""Waiting for a condition, never for a fixed time: what happens on other threads (a page's
timers, a server's requests) is awaited until it is true, or fails after a generous limit."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
LIMIT_SECONDS = 10.0
POLL_SECONDS = 0.02


def eventually(condition: Callable[[], T], what: str, limit_seconds: float = LIMIT_SECONDS) -> T:
    """The first true value of `condition()`; AssertionError naming `what` after the limit."""
    deadline = time.monotonic() + limit_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {limit_seconds} s: {what} (last: {value!r})")
        time.sleep(POLL_SECONDS)
