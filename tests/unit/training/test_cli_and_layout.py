"""Every step's --help; the S3 layout the steps share; region and S3 URI handling."""

import importlib
from pathlib import Path

import boto3
import pytest

from training.common import aws
from training.common.layout import S3Layout, UnknownDatasetFile

STEPS = ["etl", "train", "deploy", "report", "monitor", "cleanup"]


def test_training_holds_the_six_tools_and_nothing_else_at_its_top():
    training = Path(__file__).resolve().parents[3] / "training"
    modules = {path.stem for path in training.glob("*.py")} - {"__init__"}
    assert modules == set(STEPS)


@pytest.mark.parametrize("step", STEPS)
def test_each_step_has_help(step, capsys):
    module = importlib.import_module(f"training.{step}")
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith(f"usage: python -m training.{step}")
    assert "--region" in help_text


# Each step's way to a named error offline: no AWS region anywhere, or nothing to read.
FAILING_ARGV = {
    "etl": ["--archive", "absent.tar.gz"],
    "train": ["--bucket", "scones-test-data"],
    "deploy": ["--training-job", "a-job", "--bucket", "scones-test-data"],
    "report": ["--bucket", "scones-test-data"],
    "monitor": ["--delete"],
    "cleanup": [],
}


@pytest.mark.parametrize("step", STEPS)
def test_each_step_turns_its_named_errors_into_one_line(step, monkeypatch, tmp_path, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(f"training.{step}")
    with pytest.raises(SystemExit) as exited:
        module.main(FAILING_ARGV[step])
    message = exited.value.code
    assert isinstance(message, str) and message.startswith("error: ") and "\n" not in message
    assert "Traceback" not in capsys.readouterr().err


def test_local_files_map_to_the_four_channels():
    layout = S3Layout("bucket", "scones/v1")
    assert layout.key_for("train/bicycle_s_000513.png") == "scones/v1/train/bicycle_s_000513.png"
    assert (
        layout.key_for("test/motorcycle_s_0001.png") == "scones/v1/validation/motorcycle_s_0001.png"
    )
    assert layout.key_for("train.lst") == "scones/v1/train_lst/train.lst"
    assert layout.key_for("test.lst") == "scones/v1/validation_lst/validation.lst"
    assert layout.channel_uri("validation_lst") == "s3://bucket/scones/v1/validation_lst/"
    assert layout.capture_uri == "s3://bucket/scones/v1/data-capture"


def test_an_empty_prefix_puts_the_channels_at_the_bucket_root():
    layout = S3Layout("bucket", "")
    assert layout.channel_uri("train") == "s3://bucket/train/"
    assert layout.key_for("test.lst") == "validation_lst/validation.lst"


@pytest.mark.parametrize("name", ["meta", "train/nested/x.png", "other/x.png", "notes.lst"])
def test_files_outside_the_dataset_have_no_key(name):
    with pytest.raises(UnknownDatasetFile):
        S3Layout("bucket").key_for(name)


def test_region_comes_from_the_argument_then_aws_region_then_boto3(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert aws.resolve_region("ap-south-1") == "ap-south-1"
    assert aws.resolve_region() == "eu-west-1"
    monkeypatch.delenv("AWS_REGION")
    assert aws.resolve_region() == "us-east-2"
    assert aws.session().region_name == "us-east-2"


def test_no_region_anywhere(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    assert boto3.Session().region_name is None
    with pytest.raises(aws.RegionNotSet, match="--region"):
        aws.resolve_region()


def test_s3_uris():
    assert aws.split_s3_uri("s3://bucket/a/b.jsonl") == ("bucket", "a/b.jsonl")
    assert aws.split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(aws.InvalidS3Uri):
        aws.split_s3_uri("https://bucket.s3.amazonaws.com/key")
