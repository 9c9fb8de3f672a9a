"""The review queue and the two buckets of a review, in moto, with messages per the contract:
what the review core's tests and the command's tests share."""

import hashlib
import json
import uuid

import boto3
from botocore.stub import Stubber

from local.emulation import workflow
from operations.reviewing import Reviewer, review_id, waiting_key
from tests.conftest import IMAGE_BUCKET

GROUND_TRUTH_BUCKET = "stack-groundtruthbucket-1a2b3c"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ImageClassification:run-{}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24  # what the image's first bytes say; never decoded here


def inference_id(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def marker(n: int) -> str:
    """The waiting marker of item `n` as `Queue.send_item` uploads it (S3's etag of one part is
    its MD5)."""
    etag = hashlib.md5(PNG, usedforsecurity=False).hexdigest()
    return waiting_key(review_id(IMAGE_BUCKET, f"incoming/photo-{n:02d}.png", etag))


def item_body(n: int, reason: str = "below_threshold", **changes) -> dict:
    """A message as the state machine's review states write it (an audit has no error)."""
    body = {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": f"incoming/photo-{n:02d}.png",
        "etag": f"etag{n:02d}",
        "inferences": [0.3, 0.7],
        "threshold": 0.9,
        "execution_id": EXECUTION.format(n),
        "inference_id": inference_id(n),
        "review_id": review_id(IMAGE_BUCKET, f"incoming/photo-{n:02d}.png", f"etag{n:02d}"),
        "reason": reason,
    }
    if reason == "below_threshold":
        body |= {"error": "ConfidenceThresholdNotMet", "cause": "{}"}
    return body | changes


class Queue:
    """The template's review queue (FIFO) and the ground-truth bucket, in moto."""

    def __init__(self, s3, ground_truth_bucket: str = GROUND_TRUTH_BUCKET):
        self.s3 = s3
        self.sqs = boto3.client("sqs")
        self.url = workflow.create_review_queue(self.sqs)
        self.ground_truth_bucket = ground_truth_bucket
        s3.create_bucket(Bucket=ground_truth_bucket)

    def send(self, body: dict | str, n: int) -> None:
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=body if isinstance(body, str) else json.dumps(body),
            MessageGroupId=f"group-{n}",
            MessageDeduplicationId=f"dedup-{n}",
        )

    def send_item(self, n: int, reason: str = "below_threshold", **changes) -> dict:
        """A review item whose etag is its image's, and the state machine's waiting marker."""
        body = item_body(n, reason, **changes)
        key = body["s3_key"]
        body["etag"] = self.s3.put_object(Bucket=IMAGE_BUCKET, Key=key, Body=PNG)["ETag"].strip('"')
        body["review_id"] = review_id(IMAGE_BUCKET, key, body["etag"])
        self.s3.put_object(Bucket=self.ground_truth_bucket, Key=waiting_key(body["review_id"]))
        self.send(body, n)
        return body

    def counts(self) -> tuple[int, int]:
        """(visible, held) messages."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return tuple(int(attributes["Attributes"][name]) for name in names)

    def objects(self, bucket: str | None = None, prefix: str = "") -> dict[str, bytes]:
        bucket = bucket or self.ground_truth_bucket
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return {
            o["Key"]: self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed
        }

    def reviewer(self, sqs=None, s3=None, sts=None) -> Reviewer:
        """A reviewer on this queue; moto's clients unless others are given."""
        return Reviewer(
            sqs or self.sqs,
            s3 or self.s3,
            sts or boto3.client("sts"),
            self.url,
            IMAGE_BUCKET,
            self.ground_truth_bucket,
            wait_seconds=0,
        )


def sqs_failing_delete() -> tuple:
    """An SQS client (and its Stubber) whose hold renewal succeeds and whose delete fails."""
    sqs = boto3.client("sqs")
    stub = Stubber(sqs)
    stub.add_response("change_message_visibility", {})
    stub.add_client_error("delete_message", "InternalError", http_status_code=500)
    return sqs, stub


def sqs_hold_gone() -> tuple:
    """An SQS client (and its Stubber) for which the hold ran out: SQS refuses its handle."""
    sqs = boto3.client("sqs")
    stub = Stubber(sqs)
    stub.add_client_error("change_message_visibility", "ReceiptHandleIsInvalid")
    return sqs, stub
