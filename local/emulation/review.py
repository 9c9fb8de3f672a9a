"""The review queue and its two buckets in moto, filled as the workflow fills them: what the review
page's browser tests, its bench, its screenshot and `make review` share. moto is reached in this
process, or through its server on 127.0.0.1 (which shares this process's moto state), so that a
page and other processes talk to it over HTTP as they would to AWS.
"""

import hashlib
import json
import uuid
from typing import Any

import boto3
import requests

from local.emulation import workflow
from operations.reviewing import Reviewer, review_id, waiting_key

REGION = "us-east-1"


def reset(moto_url: str) -> None:
    """Empty moto (every service) through its server: what a test starts from."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()


class LocalReview:
    """The template's review queue and the image and ground-truth buckets, in moto (through its
    server at `moto_url`, or in this process without one); created when missing."""

    def __init__(self, moto_url: str | None = None, region: str = REGION) -> None:
        session = boto3.session.Session(  # moto takes any credentials: never the caller's
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 (moto's, which checks none)
            region_name=region,
        )
        self.sqs = session.client("sqs", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)
        self.sts = session.client("sts", endpoint_url=moto_url)
        self.region = region
        self.queue_url = workflow.create_review_queue(self.sqs)
        if workflow.IMAGE_BUCKET not in self.buckets():
            self.s3.create_bucket(Bucket=workflow.IMAGE_BUCKET, **workflow.bucket_location(region))
        workflow.create_ground_truth_bucket(self.s3, region)

    def buckets(self) -> set[str]:
        return {bucket["Name"] for bucket in self.s3.list_buckets()["Buckets"]}

    def reviewer(self, wait_seconds: int = 0) -> Reviewer:
        return Reviewer(
            self.sqs,
            self.s3,
            self.sts,
            self.queue_url,
            workflow.IMAGE_BUCKET,
            workflow.GROUND_TRUTH_BUCKET,
            wait_seconds=wait_seconds,
        )

    def send(
        self,
        key: str,
        image: bytes,
        reason: str = "below_threshold",
        inferences: tuple[float, float] = (0.62, 0.38),
    ) -> dict[str, Any]:
        """Upload `image` under `key` and queue it for review as the state machine would, with
        the waiting marker; returns the message body."""
        etag = self.s3.put_object(Bucket=workflow.IMAGE_BUCKET, Key=key, Body=image)["ETag"]
        etag = etag.strip('"')
        inference_id = str(uuid.uuid4())
        body = {
            "s3_bucket": workflow.IMAGE_BUCKET,
            "s3_key": key,
            "etag": etag,
            "inferences": list(inferences),
            "threshold": 0.9,
            "execution_id": f"arn:aws:states:{self.region}:{workflow.ACCOUNT_ID}:execution:"
            f"ImageClassification:{inference_id}",
            "inference_id": inference_id,
            "review_id": review_id(workflow.IMAGE_BUCKET, key, etag),
            "reason": reason,
        }
        if reason == "below_threshold":
            cause = {"errorType": "ConfidenceThresholdNotMet", "errorMessage": "below 0.9"}
            body |= {"error": "ConfidenceThresholdNotMet", "cause": json.dumps(cause)}
        marker = waiting_key(body["review_id"])
        self.s3.put_object(Bucket=workflow.GROUND_TRUTH_BUCKET, Key=marker, Body=json.dumps(body))
        self.send_body(json.dumps(body), group=key)
        return body

    def send_body(self, body: str, group: str) -> None:
        """Any message body at all, as a sender other than the workflow might."""
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageGroupId=hashlib.sha256(group.encode()).hexdigest(),
            MessageDeduplicationId=hashlib.sha256(body.encode()).hexdigest(),
        )

    def counts(self) -> tuple[int, int]:
        """(waiting, held) messages."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return int(found["Attributes"][names[0]]), int(found["Attributes"][names[1]])

    def written(self, prefix: str = "") -> dict[str, bytes]:
        """The ground-truth bucket's objects under `prefix`, by key; one deleted between the
        listing and its reading (a page finishing an answer meanwhile) is left out."""
        bucket = workflow.GROUND_TRUTH_BUCKET
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        found = {}
        for key in (o["Key"] for o in listed):
            try:
                found[key] = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except self.s3.exceptions.NoSuchKey:
                continue
        return found
