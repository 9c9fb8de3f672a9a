"""training.train against moto's SageMaker and S3: the CreateTrainingJob request really sent."""

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from training import train
from training.common.aws import BucketNotFound
from training.common.layout import S3Layout

from .conftest import REGION

IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"


def described(session, job_name):
    return session.client("sagemaker").describe_training_job(TrainingJobName=job_name)


def set_job_state(job_name, **state):
    """What the service does to a job over its life, which moto has no API for."""
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[job_name]
    for name, value in state.items():
        setattr(job, name, value)


def start(session, layout, role, **settings):
    return train.start_training(session, layout, train.JobSettings(role=role, **settings))


def test_request_uses_the_algorithm_image_and_the_four_image_channels(session, uploaded, role):
    job = described(session, start(session, uploaded, role).training_job_name)
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    channels = {channel["ChannelName"]: channel for channel in job["InputDataConfig"]}
    assert sorted(channels) == ["train", "train_lst", "validation", "validation_lst"]
    for name, channel in channels.items():
        assert channel["ContentType"] == "application/x-image"
        source = channel["DataSource"]["S3DataSource"]
        assert source["S3Uri"] == f"s3://{uploaded.bucket}/runs/test/{name}/"
        assert (source["S3DataType"], source["S3DataDistributionType"]) == (
            "S3Prefix",
            "FullyReplicated",
        )


def test_request_carries_the_chosen_hyperparameters_and_the_lst_count(session, uploaded, role):
    job = described(session, start(session, uploaded, role).training_job_name)
    assert job["HyperParameters"] == {**train.HYPERPARAMETERS, "num_training_samples": "24"}
    chosen = job["HyperParameters"]
    assert (chosen["use_pretrained_model"], chosen["num_layers"]) == ("1", "50")
    assert (chosen["image_shape"], chosen["num_classes"]) == ("3,224,224", "2")
    assert chosen["learning_rate"] != "0.1" and chosen["early_stopping"] == "True"


def test_request_resources_output_and_role(session, uploaded, role):
    job = described(session, start(session, uploaded, role).training_job_name)
    assert job["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert job["ResourceConfig"]["InstanceCount"] == 1
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{uploaded.bucket}/runs/test/models/"
    assert job["RoleArn"] == role
    assert job["EnableManagedSpotTraining"] is False
    assert "CheckpointConfig" not in job


def test_spot_training_waits_longer_and_checkpoints_per_run(session, uploaded, role):
    settings = {"spot": True, "instance_type": "ml.p3.2xlarge", "max_runtime_seconds": 1800}
    job = described(session, start(session, uploaded, role, **settings).training_job_name)
    assert job["EnableManagedSpotTraining"] is True
    assert job["ResourceConfig"]["InstanceType"] == "ml.p3.2xlarge"
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800, "MaxWaitTimeInSeconds": 3600}
    checkpoints = job["CheckpointConfig"]["S3Uri"]
    assert checkpoints.startswith(f"s3://{uploaded.bucket}/runs/test/checkpoints/")
    assert checkpoints.rsplit("/", 1)[1].startswith("scones-image-classification-")


def test_explicit_max_wait(session, uploaded, role):
    job = start(session, uploaded, role, spot=True, max_wait_seconds=5000)
    assert (
        described(session, job.training_job_name)["StoppingCondition"]["MaxWaitTimeInSeconds"]
        == 5000
    )


def test_cli_no_wait_prints_the_artifact_and_how_to_follow(session, uploaded, role, capsys):
    argv = ["--bucket", uploaded.bucket, "--prefix", uploaded.prefix, "--role", role]
    train.main([*argv, "--hyperparameter", "epochs=5", "--job-name", "trial", "--no-wait"])
    lines = capsys.readouterr().out.splitlines()
    job_name = lines[0].removeprefix("started training job ")
    assert job_name.startswith("trial-")
    assert described(session, job_name)["HyperParameters"]["epochs"] == "5"
    artifact = f"s3://{uploaded.bucket}/runs/test/models/{job_name}/output/model.tar.gz"
    assert lines[1] == f"model artifact, once it completes: {artifact}"
    assert f"--training-job-name {job_name}" in lines[2]
    assert lines[3] == (
        f"then: python -m training.deploy --training-job {job_name} "
        f"--bucket {uploaded.bucket} --prefix {uploaded.prefix}"
    )


def test_cli_waits_by_default_and_prints_the_outcome(session, uploaded, role, capsys):
    train.main(["--bucket", uploaded.bucket, "--prefix", uploaded.prefix, "--role", role])
    started, first, artifact, _ = capsys.readouterr().out.splitlines()
    job_name = started.removeprefix("started training job ")
    assert first == f"training job {job_name}: Completed, validation accuracy n/a"
    assert (
        artifact
        == f"model artifact: {described(session, job_name)['ModelArtifacts']['S3ModelArtifacts']}"
    )


def test_outcome_reports_the_validation_accuracy(session, uploaded, role):
    job = start(session, uploaded, role)
    metric = {"MetricName": "validation:accuracy", "Value": 0.935, "Timestamp": job.creation_time}
    set_job_state(job.training_job_name, final_metric_data_list=[metric])
    train.follow(job)
    run = train.outcome(job, uploaded)
    assert (run.status, run.validation_accuracy) == ("Completed", 0.935)
    assert "validation accuracy 0.935" in train.describe(run, uploaded, waited=True)


def test_a_failed_job_raises_with_its_reason(session, uploaded, role):
    job = start(session, uploaded, role)
    set_job_state(
        job.training_job_name, training_job_status="Failed", failure_reason="ClientError: bad lst"
    )
    with pytest.raises(train.TrainingFailed, match="bad lst"):
        train.follow(job)


def test_a_stopped_job_is_a_failure_too(session, uploaded, role):
    job = start(session, uploaded, role)
    set_job_state(job.training_job_name, training_job_status="Stopped")
    with pytest.raises(train.TrainingFailed, match="ended Stopped"):
        train.follow(job)


def test_missing_training_data_says_to_run_the_etl(session, layout, role):
    with pytest.raises(train.TrainingDataNotFound, match=f"training.etl --bucket {layout.bucket}"):
        start(session, layout, role)


def test_an_empty_lst_is_no_training_data(session, layout, role):
    session.client("s3").put_object(Bucket=layout.bucket, Key=layout.lst_key("train"), Body=b"")
    with pytest.raises(train.TrainingDataNotFound, match="lists no images"):
        start(session, layout, role)


def test_a_missing_bucket(session, role):
    with pytest.raises(BucketNotFound, match="absent-bucket"):
        start(session, S3Layout("absent-bucket"), role)


def test_an_unusable_role_says_to_name_one(session, uploaded, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    with pytest.raises(train.RoleNotUsable, match="--role ARN"):
        start(session, uploaded, None)


def test_cli_rejects_a_hyperparameter_without_a_value(capsys):
    with pytest.raises(SystemExit) as exited:
        train.main(["--bucket", "b", "--hyperparameter", "epochs"])
    assert exited.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_cli_prints_a_missing_bucket_without_traceback(aws):
    with pytest.raises(SystemExit, match="error: bucket 'absent-bucket' does not exist"):
        train.main(["--bucket", "absent-bucket", "--region", REGION])
