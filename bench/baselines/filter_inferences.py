"""Baseline FilterInferences: the same threshold check, with no AWS call and no Powertools."""

import os

CLASSES = ("bicycle", "motorcycle")


class ConfidenceThresholdNotMet(Exception):
    """The most likely class is less likely than the threshold."""


def lambda_handler(event: dict, context: object) -> dict:
    payload = event["body"]
    inferences = payload["inferences"]
    confidence = max(inferences)
    if confidence < float(os.environ["CONFIDENCE_THRESHOLD"]):
        raise ConfidenceThresholdNotMet(f"{confidence} is below the threshold")
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
