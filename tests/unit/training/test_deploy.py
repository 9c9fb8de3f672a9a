"""training.deploy against moto's SageMaker (Stubber for endpoint states moto never shows)."""

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from training import deploy, train

from .conftest import REGION

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"


@pytest.fixture
def job_name(session, uploaded, role):
    job = train.start_training(session, uploaded, train.JobSettings(role=role))
    return job.training_job_name


def deploy_args(job_name, layout, *extra):
    return [
        "--training-job",
        job_name,
        "--bucket",
        layout.bucket,
        "--prefix",
        layout.prefix,
        *extra,
    ]


def test_creates_model_config_with_full_data_capture_and_endpoint(
    session, uploaded, job_name, role, capsys
):
    deploy.main(deploy_args(job_name, uploaded, "--endpoint-name", "scones-test"))
    sagemaker = session.client("sagemaker")
    artifact = sagemaker.describe_training_job(TrainingJobName=job_name)["ModelArtifacts"]
    model = sagemaker.describe_model(ModelName="scones-test")
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["PrimaryContainer"]["ModelDataUrl"] == artifact["S3ModelArtifacts"]
    assert model["ExecutionRoleArn"] == role
    config = sagemaker.describe_endpoint_config(EndpointConfigName="scones-test")
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{uploaded.bucket}/runs/test/data-capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    (variant,) = config["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "scones-test",
        "ml.m5.large",
        1,
    )
    endpoint = sagemaker.describe_endpoint(EndpointName="scones-test")
    assert (endpoint["EndpointConfigName"], endpoint["EndpointStatus"]) == (
        "scones-test",
        "InService",
    )
    out = capsys.readouterr().out.splitlines()
    capture = f"s3://{uploaded.bucket}/runs/test/data-capture"
    assert f"endpoint scones-test is InService, capturing to {capture}" in out
    assert f"report later: python -m training.report --source {capture}" in out
    assert (
        out[-1]
        == "wire the workflow to it: sam deploy --parameter-overrides EndpointName=scones-test"
    )


def test_model_data_with_role_and_capture_uri(session, aws, capsys):
    deploy.main(
        [
            "--model-data", "s3://models/job/output/model.tar.gz",
            "--role", "arn:aws:iam::123456789012:role/serve",
            "--capture-uri", "s3://captures/scones",
            "--instance-type", "ml.c5.large",
            "--region", REGION,
        ]
    )  # fmt: skip
    sagemaker = session.client("sagemaker")
    name = "scones-image-classification"
    model = sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://models/job/output/model.tar.gz"
    assert model["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/serve"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == "s3://captures/scones"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.large"
    assert f"EndpointName={name}" in capsys.readouterr().out


def test_a_second_deployment_of_the_same_name_is_refused(uploaded, job_name, capsys):
    deploy.main(deploy_args(job_name, uploaded))
    with pytest.raises(SystemExit) as exited:
        deploy.main(deploy_args(job_name, uploaded))
    message = str(exited.value.code)
    existing = "an existing endpoint, endpoint configuration, model"
    assert message.startswith(f"error: 'scones-image-classification' already names {existing}")
    assert "python -m training.cleanup --endpoint-name scones-image-classification" in message


@pytest.mark.parametrize("name", ["Scones", "scones_endpoint", "-scones", "scones-", "x" * 64])
def test_endpoint_names_must_be_lower_case_and_valid(name, capsys):
    with pytest.raises(SystemExit) as exited:
        deploy.main(["--model-data", "s3://b/m.tar.gz", "--bucket", "b", f"--endpoint-name={name}"])
    assert exited.value.code == 2
    assert "endpoint ARNs are lower-cased" in capsys.readouterr().err


def test_an_unfinished_training_job_has_no_model(uploaded, job_name):
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[job_name]
    job.training_job_status = "InProgress"
    with pytest.raises(SystemExit, match=f"training job {job_name} is InProgress, not Completed"):
        deploy.main(deploy_args(job_name, uploaded))


def test_an_unknown_training_job(aws):
    with pytest.raises(SystemExit, match=r"error: .*Could not find training job"):
        deploy.main(["--training-job", "nope", "--bucket", "b", "--region", REGION])


def test_model_data_needs_a_role(aws):
    with pytest.raises(SystemExit, match="error: --model-data needs --role"):
        deploy.main(["--model-data", "s3://b/m.tar.gz", "--bucket", "b", "--region", REGION])


def test_model_data_must_be_an_s3_uri(aws):
    with pytest.raises(SystemExit, match="error: not an S3 URI"):
        deploy.main(["--model-data", "model.tar.gz", "--bucket", "b", "--region", REGION])


def test_a_capture_destination_is_required(capsys):
    with pytest.raises(SystemExit) as exited:
        deploy.main(["--model-data", "s3://b/m.tar.gz", "--role", "arn:aws:iam::1:role/r"])
    assert exited.value.code == 2
    assert "--bucket" in capsys.readouterr().err


def stubbed_sagemaker(*statuses, reason=None):
    client = boto3.client("sagemaker", region_name=REGION)
    stubber = Stubber(client)
    for status in statuses:
        response = {
            "EndpointName": "scones",
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/scones",
            "EndpointStatus": status,
            "CreationTime": "2026-01-01T00:00:00Z",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
        }
        if reason:
            response["FailureReason"] = reason
        stubber.add_response("describe_endpoint", response, {"EndpointName": "scones"})
    stubber.activate()
    return client, stubber


def test_waits_through_creating_until_in_service():
    client, stubber = stubbed_sagemaker("Creating", "Creating", "InService")
    deploy.wait_in_service(client, "scones", timeout_seconds=60, poll_seconds=0)
    stubber.assert_no_pending_responses()


def test_a_failed_endpoint_says_why():
    client, _ = stubbed_sagemaker("Creating", "Failed", reason="The model data is invalid")
    with pytest.raises(deploy.EndpointFailed, match="failed: The model data is invalid"):
        deploy.wait_in_service(client, "scones", timeout_seconds=60, poll_seconds=0)


def test_an_endpoint_not_in_service_in_time():
    client, stubber = stubbed_sagemaker("Creating")
    with pytest.raises(deploy.EndpointTimeout, match="still Creating after 0 s") as raised:
        deploy.wait_in_service(client, "scones", timeout_seconds=0)
    assert "training.cleanup --endpoint-name scones" in str(raised.value)
    stubber.assert_no_pending_responses()
