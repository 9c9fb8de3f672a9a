"""Baseline ClassifyImage: one SageMaker runtime InvokeEndpoint with the decoded image."""

import base64
import json
import os

import boto3

sagemaker_runtime = boto3.client("sagemaker-runtime")


def lambda_handler(event: dict, context: object) -> dict:
    payload = event["body"]
    answer = sagemaker_runtime.invoke_endpoint(
        EndpointName=os.environ["ENDPOINT_NAME"],
        ContentType=payload["content_type"],
        Accept="application/json",
        Body=base64.b64decode(payload["image_data"]),
    )
    return {
        "statusCode": 200,
        "body": {
            "s3_bucket": payload["s3_bucket"],
            "s3_key": payload["s3_key"],
            "content_type": payload["content_type"],
            "inferences": json.loads(answer["Body"].read()),
        },
    }
