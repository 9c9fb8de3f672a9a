"""Review the images the model was unsure about: list what waits, take one, record your answer.

    python -m operations.review list                 # what waits, with a link to each image
    python -m operations.review take                 # hold one item, so nobody else gets it
    python -m operations.review done motorcycle      # record your label; the item leaves the queue
    python -m operations.review release              # give the held item back, unanswered

The queue is the stack's `ReviewQueueUrl` output (`--queue-url`, or REVIEW_QUEUE_URL). `done`
writes one JSON line under `labels/` of the image bucket: the ground truth of later reports.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from operations.cli import denied_or_none, run
from operations.errors import (
    AlreadyHolding,
    HoldExpired,
    InvalidReviewItem,
    NothingHeld,
    NothingToReview,
    QueueNotFound,
)
from training.common.cifar import CLASSES

LABELS = (*CLASSES, "neither")  # a person may see something that is neither
PEEK_SECONDS = 30  # `list` hides what it reads at most this long, then gives it back at once
HELD_FILE = Path.home() / ".scones-unlimited" / "review-held.json"
QUEUE_GONE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
HOLD_GONE = {"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"}


@dataclass
class ReviewItem:
    """One message of the review queue, as the state machine wrote it."""

    s3_bucket: str
    s3_key: str
    etag: str | None
    inferences: list[float]
    execution_id: str
    sent_at: float  # seconds since the epoch

    @property
    def label(self) -> str:
        return CLASSES[self.inferences.index(self.confidence)]

    @property
    def confidence(self) -> float:
        return max(self.inferences)


def review_item(message: dict[str, Any]) -> ReviewItem:
    """The item a queue message holds; InvalidReviewItem for anything else."""
    try:
        body = json.loads(message["Body"])
        sent_at = int(message["Attributes"]["SentTimestamp"]) / 1000
        return ReviewItem(
            body["s3_bucket"],
            body["s3_key"],
            body.get("etag"),
            [float(p) for p in body["inferences"]],
            body["execution_id"],
            sent_at,
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InvalidReviewItem(f"message {message.get('MessageId')}: {error!r}") from None


def receive(sqs: Any, queue_url: str, count: int, hold_seconds: int) -> list[dict[str, Any]]:
    """Up to `count` (at most 10) messages, hidden from others for `hold_seconds`."""
    try:
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=hold_seconds,
            MessageSystemAttributeNames=["SentTimestamp"],
        )
    except ClientError as error:
        raise _queue_error(error, queue_url) from None
    return answer.get("Messages", [])


def peek(sqs: Any, queue_url: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` waiting messages, visible to others again as soon as they are read.

    SQS has no read-without-receive: each message is received with a short visibility timeout
    (so the next receive returns new ones), and all are made visible again at once at the end,
    even when the listing fails half-way."""
    messages: list[dict[str, Any]] = []
    try:
        while len(messages) < limit:
            batch = receive(sqs, queue_url, min(10, limit - len(messages)), PEEK_SECONDS)
            if not batch:
                break
            messages += batch
    finally:
        give_back(sqs, queue_url, [message["ReceiptHandle"] for message in messages])
    return messages


def give_back(sqs: Any, queue_url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible to everyone again, now."""
    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for n, handle in enumerate(receipt_handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def image_link(s3: Any, item: ReviewItem, expires_seconds: int) -> str:
    """A presigned GET link to the image, valid for `expires_seconds`."""
    return s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": item.s3_bucket, "Key": item.s3_key},
        ExpiresIn=expires_seconds,
    )


def describe(item: ReviewItem, link: str, now: float) -> str:
    """One item in a few lines: key, the model's answer, age, link."""
    minutes = max(0, int(now - item.sent_at) // 60)
    return (
        f"{item.s3_key}\n  model: {item.label} at {item.confidence:.3f}, waiting {minutes} min"
        f"\n  image: {link}"
    )


def list_items(clients: dict[str, Any], args: argparse.Namespace) -> str:
    messages = peek(clients["sqs"], args.queue_url, args.max)
    now = time.time()
    lines = [listed(clients["s3"], message, args.link_expires, now) for message in messages]
    more = " (or more: --max)" if len(messages) == args.max else ""
    return "\n".join([f"{len(messages)} waiting for review{more}", *lines])


def listed(s3: Any, message: dict[str, Any], link_expires: int, now: float) -> str:
    """One message as `list` shows it; one that is no review item is named, not hidden."""
    try:
        item = review_item(message)
    except InvalidReviewItem as error:
        return f"InvalidReviewItem: {error}"
    return describe(item, image_link(s3, item, link_expires), now)


def take(clients: dict[str, Any], args: argparse.Namespace) -> str:
    if args.held_file.exists():
        raise AlreadyHolding(f"finish it first: done LABEL, or release ({args.held_file})")
    messages = receive(clients["sqs"], args.queue_url, 1, args.hold)
    if not messages:
        raise NothingToReview("no item is waiting (others may hold some)")
    try:
        item = review_item(messages[0])
    except InvalidReviewItem:
        give_back(clients["sqs"], args.queue_url, [messages[0]["ReceiptHandle"]])
        raise
    held = {"receipt_handle": messages[0]["ReceiptHandle"], "message": messages[0]}
    args.held_file.parent.mkdir(parents=True, exist_ok=True)
    args.held_file.write_text(json.dumps(held))
    link = image_link(clients["s3"], item, args.link_expires)
    return f"held for {args.hold} s:\n{describe(item, link, time.time())}"


def held_message(held_file: Path) -> dict[str, Any]:
    if not held_file.exists():
        raise NothingHeld("take an item first")
    return json.loads(held_file.read_text())


def label_record(item: ReviewItem, label: str, labelled_at: datetime) -> dict[str, Any]:
    """The JSON line `done` writes: what the model said and what the person said."""
    return {
        "s3_bucket": item.s3_bucket,
        "s3_key": item.s3_key,
        "etag": item.etag,
        "inferences": item.inferences,
        "model_label": item.label,
        "label": label,
        "labelled_at": labelled_at.isoformat(timespec="seconds"),
        "execution_id": item.execution_id,
    }


def done(clients: dict[str, Any], args: argparse.Namespace) -> str:
    held = held_message(args.held_file)
    item = review_item(held["message"])
    keep_holding(clients["sqs"], args.queue_url, held["receipt_handle"], args.hold)
    labelled_at = datetime.now(UTC)
    key = f"{args.labels_prefix}{labelled_at:%Y/%m/%d}/{held['message']['MessageId']}.jsonl"
    line = json.dumps(label_record(item, args.label, labelled_at), ensure_ascii=False) + "\n"
    clients["s3"].put_object(
        Bucket=item.s3_bucket, Key=key, Body=line.encode(), ContentType="application/x-ndjson"
    )
    clients["sqs"].delete_message(QueueUrl=args.queue_url, ReceiptHandle=held["receipt_handle"])
    args.held_file.unlink()
    return f"{item.s3_key}: labelled {args.label} in s3://{item.s3_bucket}/{key}"


def release(clients: dict[str, Any], args: argparse.Namespace) -> str:
    held = held_message(args.held_file)
    keep_holding(clients["sqs"], args.queue_url, held["receipt_handle"], 0)
    args.held_file.unlink()
    return f"{review_item(held['message']).s3_key}: released, unanswered"


def keep_holding(sqs: Any, queue_url: str, receipt_handle: str, seconds: int) -> None:
    """Set the held item's hold; HoldExpired when it was lost (another reviewer may have it)."""
    try:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
    except ClientError as error:
        if error.response["Error"]["Code"] in HOLD_GONE:
            raise HoldExpired("take it again; nothing was recorded") from None
        raise _queue_error(error, queue_url) from None


def _queue_error(error: ClientError, queue_url: str) -> Exception:
    if error.response["Error"]["Code"] in QUEUE_GONE:
        return QueueNotFound(f"no queue at {queue_url}")
    return denied_or_none(error, f"use the queue {queue_url}") or error


COMMANDS = {"list": list_items, "take": take, "done": done, "release": release}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m operations.review", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--queue-url",
        default=os.environ.get("REVIEW_QUEUE_URL"),
        help="the stack's ReviewQueueUrl output (default: $REVIEW_QUEUE_URL)",
    )
    parser.add_argument("--region", help="the queue's region (default: your AWS configuration)")
    parser.add_argument("--held-file", type=Path, default=HELD_FILE, help=f"({HELD_FILE})")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="what waits, without hiding it from others")
    listing.add_argument("--max", type=int, default=50, help="items to show at most (50)")
    taking = commands.add_parser("take", help="hold one item, so no other reviewer gets it")
    finishing = commands.add_parser("done", help="record your label for the held item")
    finishing.add_argument("label", choices=LABELS)
    finishing.add_argument("--labels-prefix", default="labels/", help="under the image bucket")
    commands.add_parser("release", help="give the held item back unanswered")
    for sub in (listing, taking):
        sub.add_argument("--link-expires", type=int, default=3600, help="link lifetime, s (3600)")
    for sub in (taking, finishing):
        sub.add_argument("--hold", type=int, default=900, help="seconds to hold the item (900)")
    args = parser.parse_args(argv)
    if not args.queue_url:
        parser.error("--queue-url is required (or set REVIEW_QUEUE_URL)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def command() -> str:
        session = boto3.session.Session(region_name=args.region)
        s3 = session.client("s3", config=Config(signature_version="s3v4"))  # expiring links
        clients = {"sqs": session.client("sqs"), "s3": s3}
        return COMMANDS[args.command](clients, args)

    return run(command)


if __name__ == "__main__":
    sys.exit(main())
