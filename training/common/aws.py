"""What every step needs from AWS: a session in the right region, S3 URIs, endpoint names."""

import argparse
import os
import re
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from training.common.errors import TrainingError

# SageMaker's own pattern, lower case only: endpoint ARNs are lower-cased, so a mixed-case
# name would not match the ARN that the workflow's IAM policy names.
ENDPOINT_NAME = re.compile(r"[a-z0-9](-*[a-z0-9]){0,62}")
DEFAULT_ENDPOINT_NAME = "scones-image-classification"
S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)/?(?P<key>.*)")


class RegionNotSet(TrainingError):
    """No region from --region, AWS_REGION, AWS_DEFAULT_REGION or the AWS config."""


class BucketNotFound(TrainingError):
    """The S3 bucket does not exist."""


class InvalidS3Uri(TrainingError):
    """A string that should be s3://bucket[/key] is not."""


def resolve_region(region: str | None = None) -> str:
    """`region`, else AWS_REGION, else boto3's own default (AWS_DEFAULT_REGION, config)."""
    resolved = region or os.environ.get("AWS_REGION") or boto3.Session().region_name
    if not resolved:
        raise RegionNotSet("no AWS region: pass --region or set AWS_REGION")
    return resolved


def add_region_argument(parser: argparse.ArgumentParser) -> None:
    """The same `--region` for every script, resolved by `resolve_region`."""
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or the AWS config)")


def session(region: str | None = None) -> boto3.Session:
    """A boto3 session in the resolved region."""
    return boto3.Session(region_name=resolve_region(region))


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> (`bucket`, `some/key`)."""
    match = S3_URI.fullmatch(uri)
    if not match:
        raise InvalidS3Uri(f"not an S3 URI (s3://bucket/key): {uri!r}")
    return match["bucket"], match["key"]


def endpoint_name(value: str) -> str:
    """argparse type: a valid, lower-case SageMaker endpoint name."""
    if not ENDPOINT_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid endpoint name: use 1-63 lower-case letters, digits "
            "and hyphens, starting and ending with a letter or digit (endpoint ARNs are "
            "lower-cased, so the workflow's IAM policy must name it in lower case)"
        )
    return value


def describe_or_none(describe: Callable[..., dict[str, Any]], **name: str) -> dict[str, Any] | None:
    """A SageMaker Describe* answer, or None when there is no such resource."""
    try:
        return describe(**name)
    except ClientError as error:
        missing = error.response["Error"]["Code"] == "ResourceNotFound"
        if missing or "Could not find" in error.response["Error"]["Message"]:
            return None
        raise


def raise_if_no_bucket(error: ClientError, bucket: str) -> None:
    """Turn S3's NoSuchBucket into BucketNotFound; leave other errors to the caller."""
    if error.response["Error"]["Code"] == "NoSuchBucket":
        raise BucketNotFound(
            f"bucket {bucket!r} does not exist: create it (aws s3 mb s3://{bucket}) "
            "or name another with --bucket"
        ) from error
