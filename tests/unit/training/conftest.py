"""Fixtures of the training steps: a small SYNTHETIC archive, its extraction, moto's AWS."""

import boto3
import pytest
from botocore.stub import Stubber

from training import etl
from training.common import synthetic
from training.common.layout import S3Layout

SMALL = {"train_per_class": 12, "test_per_class": 4, "other_per_class": 1}
REGION = "us-east-1"
BUCKET = "scones-test-data"


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory):
    """A SYNTHETIC archive in CIFAR-100's layout: 12 + 4 images of each of our classes."""
    path = tmp_path_factory.mktemp("archive") / "cifar-100-python.tar.gz"
    md5 = synthetic.write_archive(path, seed=3, **SMALL)
    return path, md5


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty cache, also the default one, so no test reads or fills the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "scones-unlimited"


@pytest.fixture
def dataset(small_archive, tmp_path, cache_dir):
    path, md5 = small_archive
    return etl.prepare(tmp_path / "dataset", archive=path, md5=md5)


@pytest.fixture(scope="session")
def boto_session():
    """One session for all tests: its clients share the service models it has loaded."""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def session(aws, boto_session):
    """The shared session, inside moto: every client it makes is answered by moto."""
    return boto_session


@pytest.fixture
def bucket(session):
    session.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def layout(bucket):
    return S3Layout(bucket, "runs/test")


@pytest.fixture
def uploaded(dataset, layout, session):
    """The small dataset in moto's S3, laid out as the four channels."""
    etl.upload(dataset, layout, session.client("s3"))
    return layout


@pytest.fixture
def role(session, monkeypatch):
    """A role in moto's IAM; the SDK's role check needs IAM's policy simulator, which moto lacks."""
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    iam = session.client("iam")
    return iam.create_role(RoleName="scones-training", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture
def stubbed():
    """A SageMaker client under botocore's Stubber (moto has no Model Monitor), and the stubber;
    every queued answer must have been asked for."""
    client = boto3.client("sagemaker", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()
