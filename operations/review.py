"""Review what the model was unsure about, and the audits, from a terminal.

    python -m operations.review list                 # what waits, hiding nothing from others
    python -m operations.review take                 # hold one item and save its image
    python -m operations.review done motorcycle      # your answer, recorded once; the item leaves
    python -m operations.review release              # give the held item back, unanswered
    python -m operations.review discard              # close what cannot be answered: a message
                                                     # not ours, or an item whose image is gone
    python -m operations.review serve                # the review page, in a browser (--port)

The queue and the two buckets are the stack's ReviewQueueUrl, ImageBucketName and
GroundTruthBucketName outputs (--queue-url, --image-bucket, --ground-truth-bucket, or
REVIEW_QUEUE_URL, IMAGE_BUCKET_NAME, GROUND_TRUTH_BUCKET). The review itself is
`operations.reviewing`, which the review page shares; this module only keeps the held item in a
file between commands and prints.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from operations import review_page
from operations.cli import printable, run
from operations.errors import (
    AlreadyHolding,
    HeldFileUnreadable,
    HoldExpired,
    ImageNotFound,
    NothingHeld,
    NothingToReview,
    OperationError,
    WaitingMarkerLeft,
)
from operations.reviewing import LABELS, Held, Reviewer, ReviewItem, Unreadable, image_type

HELD_FILE = Path.home() / ".scones-unlimited" / "review-held.json"
MAX_HOLD_SECONDS = 43_200  # SQS holds a message at most 12 hours
IMAGE_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg"}  # from the bytes, not the key
OTHER_SUFFIX = ".img"


@dataclass(frozen=True)
class Kept:
    """What the held file keeps between `take` and `done`: the message as SQS gave it."""

    message: dict[str, Any]
    received_at: float
    held_until: float


def keep_file(path: Path, message: dict[str, Any], received_at: float, hold: int) -> None:
    """Write the held file (readable by its owner only), whole or not at all."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept = {"message": message, "received_at": received_at, "held_until": received_at + hold}
    partial = path.with_name(f"{path.name}.partial")
    partial.unlink(missing_ok=True)  # left by a take that stopped half-way: its mode may differ
    partial.touch(mode=0o600)
    partial.write_text(json.dumps(kept))
    partial.replace(path)


def kept(path: Path) -> Kept:
    """The held file's content; NothingHeld without one, HeldFileUnreadable for one that is
    not what `take` wrote."""
    try:
        content = json.loads(path.read_text())
        found = Kept(
            content["message"], float(content["received_at"]), float(content["held_until"])
        )
        if not all(isinstance(found.message.get(k), str) for k in ("MessageId", "ReceiptHandle")):
            raise ValueError("no message id or receipt handle")
    except FileNotFoundError:
        raise NothingHeld("take an item first") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise HeldFileUnreadable(
            f"{path} ({type(error).__name__}): `release` removes it; the item it held comes back "
            "to the queue when its hold runs out"
        ) from None
    return found


def drop_file(path: Path) -> None:
    """Forget the held item: the held file and its saved image."""
    path.unlink(missing_ok=True)
    for suffix in (*IMAGE_SUFFIXES.values(), OTHER_SUFFIX):
        image_file(path, suffix).unlink(missing_ok=True)


def image_file(held_file: Path, suffix: str) -> Path:
    return held_file.with_name(f"{held_file.stem}-image{suffix}")


def held_item(reviewer: Reviewer, path: Path) -> Held:
    found = kept(path)
    return reviewer.held(found.message, found.received_at)


def subject(held: Held) -> str:
    if isinstance(held.content, ReviewItem):
        return printable(held.content.s3_key)
    return f"message {held.message_id}"


def describe(held: Held, now: float) -> str:
    """One item in a line or two. An audit is answered blind: no guess, no confidence."""
    item = held.content
    if isinstance(item, Unreadable):
        return f"unreadable message {held.message_id}: {printable(item.problem)}"
    minutes = max(0, int(now - item.sent_at) // 60)
    if item.reason == "audit":
        why = "audit: answer it blind (the model's guess is not shown)"
    else:
        why = f"below the threshold: the model says {item.label} at {item.confidence:.3f}"
    return f"{printable(item.s3_key)}\n  {why}; waiting {minutes} min"


def list_items(reviewer: Reviewer, args: argparse.Namespace) -> str:
    """What waits, after the queue's own count (read first: listing holds items for a moment),
    which also tells how many --max left out."""
    count = reviewer.waiting()
    held = reviewer.peek(args.max)
    now = time.time()
    more = " (or more: --max)" if len(held) == args.max else ""
    header = f"{len(held)} waiting for review{more}"
    if count is not None:
        header += f"; the queue counts about {count} that nobody holds"
    return "\n".join([header, *(describe(h, now) for h in held)])


def take(reviewer: Reviewer, args: argparse.Namespace) -> str:
    lines = []
    if args.held_file.exists():
        if kept(args.held_file).held_until > time.time():
            raise AlreadyHolding(
                f"finish it first: done LABEL, release or discard ({args.held_file})"
            )
        drop_file(args.held_file)
        lines.append("(your previous hold had run out: that item is back in the queue)")
    held = reviewer.take(args.hold)
    if held is None:
        raise NothingToReview("no item is waiting (others may hold some)")
    keep_file(args.held_file, held.message, held.received_at, args.hold)
    lines.append(f"held for {args.hold} s: {describe(held, held.received_at)}")
    if isinstance(held.content, Unreadable):
        lines.append("  not a review item: discard it (a copy is kept), or release it")
        return "\n".join(lines)
    try:
        lines.append(f"  image: {save_image(reviewer, held.content, args.held_file)}")
    except ImageNotFound as gone:  # nobody can label it: it can be closed, recorded as such
        lines.append(f"  image: not shown: ImageNotFound: {printable(str(gone))}")
        lines.append("  nothing to label: discard closes it (image unavailable), or release")
    except OperationError as error:  # too large, denied: the item stays held
        lines.append(f"  image: not shown: {type(error).__name__}: {printable(str(error))}")
        lines.append(f"  answer: done {'|'.join(LABELS)}, or release")
    else:
        lines.append(f"  answer: done {'|'.join(LABELS)}, or release")
    return "\n".join(lines)


def save_image(reviewer: Reviewer, item: ReviewItem, held_file: Path) -> str:
    """The image, saved beside the held file (its owner's only); where it is."""
    image = reviewer.image(item)
    suffix = IMAGE_SUFFIXES.get(image_type(image), OTHER_SUFFIX)
    path = image_file(held_file, suffix)
    path.touch(mode=0o600)
    path.write_bytes(image)
    return printable(str(path))


def done(reviewer: Reviewer, args: argparse.Namespace) -> str:
    held = held_item(reviewer, args.held_file)
    spent = max(0.0, time.time() - held.received_at)
    try:
        answer = reviewer.answer(held, args.label, spent)
    except (HoldExpired, WaitingMarkerLeft):  # the item is no longer this reviewer's
        drop_file(args.held_file)
        raise
    drop_file(args.held_file)
    where = f"s3://{reviewer.ground_truth_bucket}/"
    if answer.already_answered:
        return (
            f"{subject(held)}: already answered {answer.label} by {printable(answer.reviewer)} "
            f"({where}{answer.record_key}); your answer was not recorded; the item left the queue"
        )
    return (
        f"{subject(held)}: {answer.label}, recorded in {where}{answer.record_key} "
        f"and {where}{answer.line_key}"
    )


def release(reviewer: Reviewer, args: argparse.Namespace) -> str:
    try:
        held = held_item(reviewer, args.held_file)
    except HeldFileUnreadable:
        drop_file(args.held_file)
        return (
            f"{args.held_file} was unreadable: removed; its item comes back when its hold runs out"
        )
    drop_file(args.held_file)
    try:
        reviewer.give_back(held)
    except HoldExpired:
        return f"{subject(held)}: your hold had already run out; nothing to give back"
    return f"{subject(held)}: released, unanswered"


def discard(reviewer: Reviewer, args: argparse.Namespace) -> str:
    held = held_item(reviewer, args.held_file)
    try:
        key = reviewer.discard(held)
    except (HoldExpired, WaitingMarkerLeft):  # the item is no longer this reviewer's
        drop_file(args.held_file)
        raise
    drop_file(args.held_file)
    where = f"s3://{reviewer.ground_truth_bucket}/{key}"
    if isinstance(held.content, ReviewItem):
        return f"{subject(held)}: closed, its image unavailable; recorded in {where}"
    return f"{subject(held)} discarded: {printable(held.content.problem)}; a copy is in {where}"


def serve(reviewer: Reviewer, args: argparse.Namespace) -> str:
    return review_page.serve(reviewer, args.port)


COMMANDS = {
    "list": list_items,
    "take": take,
    "done": done,
    "release": release,
    "discard": discard,
    "serve": serve,
}


def hold_seconds(text: str) -> int:
    seconds = int(text)
    if not 1 <= seconds <= MAX_HOLD_SECONDS:
        raise argparse.ArgumentTypeError(f"from 1 to {MAX_HOLD_SECONDS} seconds")
    return seconds


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m operations.review", description=__doc__.split("\n")[0]
    )
    for option, variable, output in (
        ("--queue-url", "REVIEW_QUEUE_URL", "ReviewQueueUrl"),
        ("--image-bucket", "IMAGE_BUCKET_NAME", "ImageBucketName"),
        ("--ground-truth-bucket", "GROUND_TRUTH_BUCKET", "GroundTruthBucketName"),
    ):
        help_text = f"the stack's {output} output (default: ${variable})"
        parser.add_argument(option, default=os.environ.get(variable), help=help_text)
    parser.add_argument("--region", help="the queue's region (default: your AWS configuration)")
    parser.add_argument("--held-file", type=Path, default=HELD_FILE, help=f"({HELD_FILE})")
    parser.add_argument(
        "--wait-seconds", type=int, default=1, help="each receive waits for items this long (1)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="what waits, without hiding it from others")
    listing.add_argument("--max", type=int, default=50, help="items to show at most (50)")
    taking = commands.add_parser("take", help="hold one item, so no other reviewer gets it")
    taking.add_argument("--hold", type=hold_seconds, default=900, help="seconds to hold it (900)")
    finishing = commands.add_parser("done", help="record your answer for the held item")
    finishing.add_argument("label", choices=LABELS)
    commands.add_parser("release", help="give the held item back unanswered")
    commands.add_parser(
        "discard",
        help="close the held item that cannot be answered: a message that is not a review item "
        "(a copy is kept), or one whose image is gone (recorded as such)",
    )
    serving = commands.add_parser("serve", help="the review page on 127.0.0.1, until Ctrl-C")
    serving.add_argument(
        "--port", type=int, default=review_page.PORT, help="on 127.0.0.1 (%(default)s; 0: any free)"
    )
    args = parser.parse_args(argv)
    for option in ("queue_url", "image_bucket", "ground_truth_bucket"):
        if not getattr(args, option):
            parser.error(f"--{option.replace('_', '-')} is required (or its variable)")
    if getattr(args, "max", 1) < 1:
        parser.error("--max must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def command() -> str:
        session = boto3.session.Session(region_name=args.region)
        reviewer = Reviewer(
            session.client("sqs"),
            session.client("s3"),
            session.client("sts"),
            args.queue_url,
            args.image_bucket,
            args.ground_truth_bucket,
            wait_seconds=args.wait_seconds,
        )
        return COMMANDS[args.command](reviewer, args)

    return run(command)


if __name__ == "__main__":
    sys.exit(main())
