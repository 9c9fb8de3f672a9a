"""Baseline SerializeImageData: one S3 GetObject, the bytes returned as base64."""

import base64
import os

import boto3

s3 = boto3.client("s3")


def lambda_handler(event: dict, context: object) -> dict:
    payload = event["body"]
    bucket = payload.get("s3_bucket", os.environ["IMAGE_BUCKET_NAME"])
    image = s3.get_object(Bucket=bucket, Key=payload["s3_key"])["Body"].read()
    return {
        "statusCode": 200,
        "body": {
            "s3_bucket": bucket,
            "s3_key": payload["s3_key"],
            "image_data": base64.b64encode(image).decode("ascii"),
            "content_type": "image/png",
            "inferences": [],
        },
    }
