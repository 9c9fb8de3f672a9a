"""What every command shares: one-line errors, the exit status, and progress."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from operations.errors import AccessDenied, OperationError

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "403"}


def denied_or_none(error: ClientError, action: str) -> OperationError | None:
    """AccessDenied naming the action when AWS refused it; None for other errors."""
    if error.response["Error"]["Code"] in DENIED_CODES:
        return AccessDenied(f"your credentials may not {action}")
    return None


def printable(text: str) -> str:
    """`text` with each character a terminal acts on or hides (escape sequences, line breaks,
    bidirectional overrides) written as its Python escape: names chosen by uploaders cannot
    recolour, rewrite or add lines of what a command prints."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def run(command: Callable[[], str]) -> int:
    """Run a command; print its output, or its error as one line on stderr (status 1). Each
    line printed is made printable; a value in it should be so already (see `printable`), or a
    line break inside it would print as two lines."""
    try:
        print("\n".join(printable(line) for line in command().split("\n")))
    except (OperationError, ClientError, BotoCoreError) as error:
        print(f"error: {type(error).__name__}: {printable(str(error))}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def progress_display(
    stream: TextIO | None, description: str, unit: str
) -> Iterator[Callable[[int, int], None]]:
    """A `show(done, total)` for the work's progress: tqdm's bar on a terminal; on a log (CI,
    `| tee`), a plain line at each tenth of the way instead of a carriage return at every
    update; nothing without a stream."""
    if stream is None:
        yield lambda done, total: None
    elif stream.isatty():
        with tqdm(desc=description, unit=unit, file=stream) as bar:

            def redraw(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            yield redraw
    else:
        shown: set[int] = set()

        def line_at_each_tenth(done: int, total: int) -> None:
            tenth = done * 10 // total if total else 0
            if tenth not in shown:
                shown.add(tenth)
                print(f"{description}: {done}/{total} {unit}s", file=stream, flush=True)

        yield line_at_each_tenth
