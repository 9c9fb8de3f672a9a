"""SageMaker's answers as the Stubber tests queue them: the fields its model requires."""

from .conftest import REGION

ARN = f"arn:aws:sagemaker:{REGION}:123456789012"
WHEN = "2026-01-01T00:00:00Z"
MONITOR_NAME = "scones-model-quality"  # training.monitor's name for the endpoint "scones"


def endpoint(capture=None):
    """DescribeEndpoint of "scones"; with `capture` (True or False), its data capture."""
    answer = {
        "EndpointName": "scones",
        "EndpointArn": f"{ARN}:endpoint/scones",
        "EndpointConfigName": "scones-config",
        "EndpointStatus": "InService",
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
    }
    if capture is not None:
        answer["DataCaptureConfig"] = {
            "EnableCapture": capture,
            "CaptureStatus": "Started" if capture else "Stopped",
            "CurrentSamplingPercentage": 100,
            "DestinationS3Uri": "s3://data/scones/data-capture",
            "KmsKeyId": "",
        }
    return answer


def job_definition():
    """DescribeModelQualityJobDefinition of training.monitor's definition for "scones"."""
    return {
        "JobDefinitionArn": f"{ARN}:model-quality-job-definition/{MONITOR_NAME}",
        "JobDefinitionName": MONITOR_NAME,
        "CreationTime": WHEN,
        "ModelQualityAppSpecification": {"ImageUri": "image"},
        "ModelQualityJobInput": {"GroundTruthS3Input": {"S3Uri": "s3://gt/ground-truth"}},
        "ModelQualityJobOutputConfig": {
            "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://o/q", "LocalPath": "/o"}}]
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 20,
            }
        },
        "RoleArn": "arn:aws:iam::123456789012:role/monitor",
    }
