"""Baseline FilterInferences: the same threshold check and the same count, with boto3 alone.

The real handler counts every judged inference (Powertools Metrics, in CloudWatch's embedded
metric format: a log line, no call). A handler with boto3 alone publishes that count with the
one AWS call it has for it, CloudWatch PutMetricData; without it, it would not do the same
job. Measured against a handler with no count at all, the real one is about 60x slower: the
30 ms of importing Powertools over a 0.5 ms bare check (bench/README.md).
"""

import os

import boto3

CLASSES = ("bicycle", "motorcycle")
cloudwatch = boto3.client("cloudwatch")


class ConfidenceThresholdNotMet(Exception):
    """The most likely class is less likely than the threshold."""


def count(metric: str) -> None:
    cloudwatch.put_metric_data(
        Namespace=os.environ["POWERTOOLS_METRICS_NAMESPACE"],
        MetricData=[{"MetricName": metric, "Value": 1, "Unit": "Count"}],
    )


def lambda_handler(event: dict, context: object) -> dict:
    payload = event["body"]
    inferences = payload["inferences"]
    confidence = max(inferences)
    if confidence < float(os.environ["CONFIDENCE_THRESHOLD"]):
        count("ConfidenceThresholdNotMet")
        raise ConfidenceThresholdNotMet(f"{confidence} is below the threshold")
    count("ConfidenceThresholdMet")
    return {
        "statusCode": 200,
        "body": {
            "s3_bucket": payload["s3_bucket"],
            "s3_key": payload["s3_key"],
            "inferences": inferences,
            "label": CLASSES[inferences.index(confidence)],
            "confidence": confidence,
        },
    }
