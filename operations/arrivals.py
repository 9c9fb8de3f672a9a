"""Turn arrivals on (or off) for the image bucket: S3 sends its events to EventBridge.

The bucket exists before the stack, so the stack cannot change its notification configuration.
S3 replaces that configuration whole on every write, so this command reads it, adds or removes
only `EventBridgeConfiguration`, keeps every topic, queue and function notification, and writes
nothing when there is nothing to change (running it twice changes nothing). S3 has no
conditional write for this configuration, so the command reads it again just before writing and
stops when someone else changed it meanwhile (this narrows the window; it cannot close it).

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
from operations.errors import BucketNotFound, InvalidDestination, NotificationsChanged

EVENTBRIDGE = "EventBridgeConfiguration"
RESPONSE_ONLY = {"ResponseMetadata"}
DESTINATION_ARNS = {
    "LambdaFunctionConfigurations": "LambdaFunctionArn",
    "QueueConfigurations": "QueueArn",
    "TopicConfigurations": "TopicArn",
}
UNVALIDATED = "Unable to validate the following destination configurations"
TEST_MESSAGE = (
    "Each write (on or off, when something changes) makes S3 send a test message "
    "(s3:TestEvent) to each SNS topic and SQS queue the bucket already notifies."
)


def notification_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    """The bucket's notification configuration, in the shape S3 takes it back."""
    try:
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
    except ClientError as error:
        raise _named(error, bucket, "read") from None
    return {key: value for key, value in current.items() if key not in RESPONSE_ONLY}


def turn_on(s3: Any, bucket: str, skip_destination_validation: bool = False) -> bool:
    """Add EventBridge to the bucket's notifications; True when something changed."""
    current = notification_configuration(s3, bucket)
    if EVENTBRIDGE in current:
        return False
    _write(s3, bucket, current, current | {EVENTBRIDGE: {}}, skip_destination_validation)
    return True


def turn_off(s3: Any, bucket: str, skip_destination_validation: bool = False) -> bool:
    """Remove EventBridge from the bucket's notifications; True when something changed."""
    current = notification_configuration(s3, bucket)
    if EVENTBRIDGE not in current:
        return False
    others = {key: value for key, value in current.items() if key != EVENTBRIDGE}
    _write(s3, bucket, current, others, skip_destination_validation)
    return True


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two reads of a notification configuration, one destination at a
    time (each by its Id, which S3 gives every one), sorted."""
    old, new = _destinations(before), _destinations(after)
    found = []
    for kind, name in sorted(old.keys() | new.keys()):
        which = f"{kind} '{name}'" if name else kind
        if (kind, name) not in old:
            found.append(f"{which} added")
        elif (kind, name) not in new:
            found.append(f"{which} removed")
        elif old[kind, name] != new[kind, name]:
            found.append(f"{which} changed")
    return found


def _destinations(configuration: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Each entry by (kind, Id); EventBridge's is one entry without an Id."""
    return {
        (kind, entry.get("Id", "")): entry
        for kind, value in configuration.items()
        for entry in (value if isinstance(value, list) else [value])
    }


def _write(
    s3: Any,
    bucket: str,
    started_from: dict[str, Any],
    configuration: dict[str, Any],
    skip_destination_validation: bool,
) -> None:
    """Write `configuration` unless the bucket's changed since `started_from` was read: S3
    replaces it whole, so writing would undo someone else's change."""
    changed = changes(started_from, notification_configuration(s3, bucket))
    if changed:
        raise NotificationsChanged(
            f"the notifications of '{bucket}' changed since this command read them "
            f"({'; '.join(changed)}), so it wrote nothing: run it again to start from what "
            "they are now"
        )
    skip = {"SkipDestinationValidation": True} if skip_destination_validation else {}
    try:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration, **skip
        )
    except ClientError as error:
        raise _named(error, bucket, "change", configuration) from None


def _named(
    error: ClientError, bucket: str, verb: str, configuration: dict[str, Any] | None = None
) -> Exception:
    details = error.response["Error"]
    if details["Code"] == "NoSuchBucket":
        return BucketNotFound(f"no bucket named '{bucket}'")
    if details["Code"] == "InvalidArgument" and details.get("Message", "").startswith(UNVALIDATED):
        return InvalidDestination(
            f"S3 could not validate destinations the notifications of '{bucket}' already had, "
            f"so it wrote nothing: {_unvalidated(details, configuration or {})}. Repair or "
            "remove them, or run again with --skip-destination-validation (S3 then keeps them "
            "as they are)"
        )
    return denied_or_none(error, f"{verb} the notifications of '{bucket}'") or error


def _unvalidated(details: dict[str, str], configuration: dict[str, Any]) -> str:
    """The destinations S3 names in its error (ArgumentName1, ArgumentValue1, ...: each ARN and
    why), or, when it names none, every destination the refused configuration holds."""
    names = sorted(
        (name for name in details if name.startswith("ArgumentName")),
        key=lambda name: int(name.removeprefix("ArgumentName") or 0),
    )
    named = [
        f"{details[name]} ({details.get(name.replace('Name', 'Value', 1), 'no reason given')})"
        for name in names
    ]
    if named:
        return ", ".join(named)
    arns = [
        entry[arn]
        for kind, arn in DESTINATION_ARNS.items()
        for entry in configuration.get(kind, [])
    ]
    return f"it did not say which; the bucket notifies {', '.join(arns)}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m operations.arrivals",
        description=__doc__.split("\n")[0],
        epilog=TEST_MESSAGE,
    )
    parser.add_argument("state", choices=["on", "off"], help="send the bucket's events or not")
    parser.add_argument("--bucket", required=True, help="the stack's ImageBucketName")
    parser.add_argument("--region", help="the bucket's region (default: your AWS configuration)")
    parser.add_argument(
        "--skip-destination-validation",
        action="store_true",
        help="write even when S3 cannot validate a destination the bucket already notifies "
        "(a deleted queue or function): S3 keeps it as it is",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def command() -> str:
        s3 = boto3.client("s3", region_name=args.region)
        turn = turn_on if args.state == "on" else turn_off
        changed = turn(s3, args.bucket, args.skip_destination_validation)
        outcome = "turned" if changed else "already"
        return f"EventBridge notifications of s3://{args.bucket}: {outcome} {args.state}"

    return run(command)


if __name__ == "__main__":
    sys.exit(main())
