"""Turn arrivals on (or off) for the image bucket: S3 sends its events to EventBridge.

The bucket exists before the stack, so the stack cannot change its notification configuration.
S3 replaces that configuration whole on every write, so this command reads it, adds or removes
only `EventBridgeConfiguration`, keeps every topic, queue and function notification, and writes
nothing when there is nothing to change (running it twice changes nothing).

    python -m operations.arrivals on --bucket my-scones-images
    python -m operations.arrivals off --bucket my-scones-images
"""

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError

from operations.cli import denied_or_none, run
from operations.errors import BucketNotFound

EVENTBRIDGE = "EventBridgeConfiguration"
RESPONSE_ONLY = {"ResponseMetadata"}


def notification_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    """The bucket's notification configuration, in the shape S3 takes it back."""
    try:
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
    except ClientError as error:
        raise _named(error, bucket, "read") from None
    return {key: value for key, value in current.items() if key not in RESPONSE_ONLY}


def turn_on(s3: Any, bucket: str) -> bool:
    """Add EventBridge to the bucket's notifications; True when something changed."""
    current = notification_configuration(s3, bucket)
    if EVENTBRIDGE in current:
        return False
    _write(s3, bucket, current | {EVENTBRIDGE: {}})
    return True


def turn_off(s3: Any, bucket: str) -> bool:
    """Remove EventBridge from the bucket's notifications; True when something changed."""
    current = notification_configuration(s3, bucket)
    if EVENTBRIDGE not in current:
        return False
    _write(s3, bucket, {key: value for key, value in current.items() if key != EVENTBRIDGE})
    return True


def _write(s3: Any, bucket: str, configuration: dict[str, Any]) -> None:
    try:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration
        )
    except ClientError as error:
        raise _named(error, bucket, "change") from None


def _named(error: ClientError, bucket: str, verb: str) -> Exception:
    if error.response["Error"]["Code"] == "NoSuchBucket":
        return BucketNotFound(f"no bucket named '{bucket}'")
    return denied_or_none(error, f"{verb} the notifications of '{bucket}'") or error


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m operations.arrivals", description=__doc__.split("\n")[0]
    )
    parser.add_argument("state", choices=["on", "off"], help="send the bucket's events or not")
    parser.add_argument("--bucket", required=True, help="the stack's ImageBucketName")
    parser.add_argument("--region", help="the bucket's region (default: your AWS configuration)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def command() -> str:
        s3 = boto3.client("s3", region_name=args.region)
        changed = (turn_on if args.state == "on" else turn_off)(s3, args.bucket)
        outcome = "turned" if changed else "already"
        return f"EventBridge notifications of s3://{args.bucket}: {outcome} {args.state}"

    return run(command)


if __name__ == "__main__":
    sys.exit(main())
