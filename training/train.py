"""Train: a SageMaker training job with the built-in image-classification algorithm.

    python -m training.train --bucket my-bucket --role arn:aws:iam::111122223333:role/Train
    python -m training.train --bucket my-bucket --spot --no-wait

Uses the SageMaker Python SDK v3: `sagemaker.train.ModelTrainer` with the algorithm's image
from `sagemaker.core.image_uris` (v3 has no Estimator; v3 expresses all of this job). The
four channels are the ones `training.etl` uploaded (`training.common.layout`), and
`num_training_samples` is counted from the train `.lst` in S3, so it always matches the data
the job reads.
"""

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from sagemaker.core import image_uris
from sagemaker.core.helper.iam_role_resolver import RoleValidationError
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import TrainingJob
from sagemaker.core.training.configs import (
    CheckpointConfig,
    Compute,
    InputData,
    OutputDataConfig,
    StoppingCondition,
)
from sagemaker.core.utils.exceptions import FailedStatusError
from sagemaker.train import ModelTrainer

from training.common import aws, cifar
from training.common.errors import TrainingError, exit_with_message
from training.common.layout import CHANNELS, DEFAULT_PREFIX, S3Layout
from training.common.lst import parse_lst

ALGORITHM = "image-classification"
CONTENT_TYPE = "application/x-image"  # PNGs listed by .lst files: all four channels
DEFAULT_JOB_NAME = "scones-image-classification"
DEFAULT_INSTANCE_TYPE = "ml.g4dn.xlarge"  # the algorithm trains on GPUs only; a T4 suffices
DEFAULT_MAX_RUNTIME_SECONDS = 3600

# Chosen for this data (1,000 training and 200 validation images of 32x32 pixels, two
# classes), not left at the algorithm's defaults: those train a 152-layer network from
# scratch for 30 epochs at learning rate 0.1, which overfits 1,000 images and stalls at a
# validation accuracy of 0.75-0.885. Transfer learning from ImageNet is what reaches >= 0.90.
HYPERPARAMETERS = {
    # Two outputs, in .lst label order: 0 = bicycle, 1 = motorcycle.
    "num_classes": str(len(cifar.CLASSES)),
    # Start from ImageNet weights (which know wheels, frames and engines): 500 images a
    # class are far too few to learn such features from scratch.
    "use_pretrained_model": "1",
    # ResNet-50: a depth with pretrained weights (18/34/50/101/152/200); 152 layers add cost
    # and capacity to overfit, not accuracy, on two classes.
    "num_layers": "50",
    # Pretrained networks take 224x224 input only.
    "image_shape": "3,224,224",
    # Upscale so the shortest side is 256 (required for image input): objects then appear at
    # the scale the ImageNet filters learned, and random 224-pixel crops have room to move.
    "resize": "256",
    # Every augmentation offered (crops, flips, colour, rotation, shear, aspect): 500 images
    # a class need variety, and none of these turns a bicycle into a motorcycle.
    "augmentation_type": "crop_color_transform",
    # SGD with momentum: the well-trodden optimiser for fine-tuning ResNets.
    "optimizer": "sgd",
    "momentum": "0.9",
    # A twentieth of the from-scratch default: large steps would wash out the pretrained
    # features while the new top layer is still random.
    "learning_rate": "0.005",
    # Divide the rate by 10 after epochs 8 and 14: settle into the minimum once the top fits.
    "lr_scheduler_step": "8,14",
    "lr_scheduler_factor": "0.1",
    # Five times the default weight decay: a further brake on overfitting a small set.
    "weight_decay": "0.0005",
    # 32 images a step: ~31 updates an epoch on 1,000 images, and ResNet-50 at 224 pixels
    # fits a 16 GB GPU at this size.
    "mini_batch_size": "32",
    # Fine-tuning converges within a few epochs; early stopping ends sooner still.
    "epochs": "20",
    # Stop after 4 epochs without a validation gain, but not before the first rate decay has
    # had its effect (checkpoint_frequency stays unset: the model kept is then the epoch
    # with the best validation accuracy, not the last).
    "early_stopping": "True",
    "early_stopping_min_epochs": "10",
    "early_stopping_patience": "4",
    "early_stopping_tolerance": "0.0",
}


class TrainingDataNotFound(TrainingError):
    """The channels' data is not where training.etl puts it."""


class TrainingFailed(TrainingError):
    """The training job ended Failed or Stopped."""


class RoleNotUsable(TrainingError):
    """SageMaker cannot use the given (or the caller's) role for training."""


@dataclass(frozen=True)
class JobSettings:
    role: str | None = None
    job_name: str = DEFAULT_JOB_NAME
    instance_type: str = DEFAULT_INSTANCE_TYPE
    spot: bool = False
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS
    max_wait_seconds: int | None = None  # spot only: runtime plus time waiting for capacity


@dataclass(frozen=True)
class TrainingRun:
    job_name: str
    status: str
    model_artifact: str
    validation_accuracy: float | None = None


def count_training_samples(s3: Any, layout: S3Layout) -> int:
    """Entries in the train `.lst` in S3: the number of images the job will train on."""
    key = layout.lst_key("train")
    try:
        text = s3.get_object(Bucket=layout.bucket, Key=key)["Body"].read().decode()
    except ClientError as error:
        aws.raise_if_no_bucket(error, layout.bucket)
        if error.response["Error"]["Code"] != "NoSuchKey":
            raise
        raise TrainingDataNotFound(
            f"no s3://{layout.bucket}/{key}: upload the data first with "
            f"python -m training.etl --bucket {layout.bucket} --prefix {layout.prefix}"
        ) from error
    count = len(parse_lst(text, f"s3://{layout.bucket}/{key}"))
    if count == 0:
        raise TrainingDataNotFound(f"s3://{layout.bucket}/{key} lists no images")
    return count


def hyperparameters(num_training_samples: int, overrides: Mapping[str, str]) -> dict[str, str]:
    """The chosen hyperparameters, the sample count, then any --hyperparameter overrides."""
    return {**HYPERPARAMETERS, "num_training_samples": str(num_training_samples), **overrides}


def channels(layout: S3Layout) -> list[InputData]:
    """The four channels of image-format training, all `application/x-image`."""
    return [
        InputData(
            channel_name=name, data_source=layout.channel_uri(name), content_type=CONTENT_TYPE
        )
        for name in CHANNELS
    ]


def model_trainer(
    boto_session: boto3.Session, layout: S3Layout, settings: JobSettings, params: dict[str, str]
) -> ModelTrainer:
    """A ModelTrainer for the algorithm's image, these hyperparameters and the settings."""
    return ModelTrainer(
        sagemaker_session=Session(boto_session=boto_session),
        training_image=image_uris.retrieve(ALGORITHM, boto_session.region_name),
        role=settings.role,
        base_job_name=settings.job_name,
        hyperparameters=params,
        compute=Compute(
            instance_type=settings.instance_type,
            instance_count=1,
            enable_managed_spot_training=settings.spot,
        ),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=settings.max_runtime_seconds,
            max_wait_time_in_seconds=_max_wait(settings),
        ),
        output_data_config=OutputDataConfig(s3_output_path=layout.output_uri),
        checkpoint_config=_checkpoints(layout, settings),
    )


def _max_wait(settings: JobSettings) -> int | None:
    """Spot only: the time allowed for waiting on capacity and for the run itself."""
    if not settings.spot:
        return None
    return settings.max_wait_seconds or 2 * settings.max_runtime_seconds


def _checkpoints(layout: S3Layout, settings: JobSettings) -> CheckpointConfig | None:
    """Spot only: where an interrupted job resumes from; one folder per run, so a new job
    never resumes an old one's."""
    if not settings.spot:
        return None
    run_id = f"{settings.job_name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    return CheckpointConfig(s3_uri=layout.uri("checkpoints", run_id))


def start_training(
    boto_session: boto3.Session,
    layout: S3Layout,
    settings: JobSettings,
    overrides: Mapping[str, str] | None = None,
) -> TrainingJob:
    """Create the training job and return it, without waiting."""
    samples = count_training_samples(boto_session.client("s3"), layout)
    params = hyperparameters(samples, overrides or {})
    try:
        trainer = model_trainer(boto_session, layout, settings, params)
        trainer.train(input_data_config=channels(layout), wait=False)
    except RoleValidationError as error:
        raise RoleNotUsable(f"{error} (name a SageMaker execution role with --role ARN)") from error
    # The SDK's own documented way to reach the job it started (ModelTrainer's docstring).
    return trainer._latest_training_job


def follow(job: TrainingJob) -> None:
    """Print the job's logs until it ends; raise unless it completed."""
    try:
        job.wait(logs=True)
    except FailedStatusError as error:
        raise TrainingFailed(f"training job {job.training_job_name}: {error}") from error
    if job.training_job_status != "Completed":
        raise TrainingFailed(
            f"training job {job.training_job_name} ended {job.training_job_status}: "
            f"{job.failure_reason or 'no reason given'}"
        )


def outcome(job: TrainingJob, layout: S3Layout) -> TrainingRun:
    """Name, status, model artifact and (once completed) validation accuracy of the job."""
    name = job.training_job_name
    artifacts = job.model_artifacts and job.model_artifacts.s3_model_artifacts
    accuracy = [
        metric.value
        for metric in job.final_metric_data_list or []
        if metric.metric_name == "validation:accuracy"
    ]
    return TrainingRun(
        job_name=name,
        status=job.training_job_status,
        model_artifact=artifacts or f"{layout.output_uri}{name}/output/model.tar.gz",
        validation_accuracy=accuracy[0] if accuracy else None,
    )


def hyperparameter(value: str) -> tuple[str, str]:
    """argparse type: KEY=VALUE."""
    key, sep, val = value.partition("=")
    if not (sep and key):
        raise argparse.ArgumentTypeError(f"{value!r}: expected KEY=VALUE")
    return key, val


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train the bicycle/motorcycle classifier: a SageMaker training job "
        "with the built-in image-classification algorithm, on the channels training.etl "
        "uploaded.",
    )
    parser.add_argument("--bucket", required=True, help="the bucket training.etl uploaded to")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="default: %(default)s")
    aws.add_region_argument(parser)
    parser.add_argument("--role", help="SageMaker execution role ARN (default: your own role)")
    parser.add_argument(
        "--job-name",
        default=DEFAULT_JOB_NAME,
        help="base of the job name (a timestamp is added); default: %(default)s",
    )
    parser.add_argument(
        "--instance-type", default=DEFAULT_INSTANCE_TYPE, help="default: %(default)s"
    )
    parser.add_argument("--spot", action="store_true", help="managed spot training")
    parser.add_argument(
        "--max-runtime-seconds",
        type=int,
        default=DEFAULT_MAX_RUNTIME_SECONDS,
        help="default: %(default)s",
    )
    parser.add_argument("--max-wait-seconds", type=int, help="with --spot (default: 2 x runtime)")
    parser.add_argument(
        "--hyperparameter",
        type=hyperparameter,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a chosen hyperparameter (repeatable)",
    )
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the job's logs until it ends (default); --no-wait returns once started",
    )
    return parser.parse_args(argv)


def describe(run: TrainingRun, layout: S3Layout, waited: bool) -> str:
    """What became of the job, where its model is (or will be), and what to run next."""
    deploy = (
        f"python -m training.deploy --training-job {run.job_name} "
        f"--bucket {layout.bucket} --prefix {layout.prefix}"
    )
    if not waited:
        return "\n".join(
            [
                f"model artifact, once it completes: {run.model_artifact}",
                f"follow it: aws sagemaker describe-training-job --training-job-name "
                f"{run.job_name} --query TrainingJobStatus",
                f"then: {deploy}",
            ]
        )
    accuracy = "n/a" if run.validation_accuracy is None else f"{run.validation_accuracy:.3f}"
    return "\n".join(
        [
            f"training job {run.job_name}: {run.status}, validation accuracy {accuracy}",
            f"model artifact: {run.model_artifact}",
            f"next: {deploy}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    settings = JobSettings(
        role=args.role,
        job_name=args.job_name,
        instance_type=args.instance_type,
        spot=args.spot,
        max_runtime_seconds=args.max_runtime_seconds,
        max_wait_seconds=args.max_wait_seconds,
    )
    layout = S3Layout(args.bucket, args.prefix)
    with exit_with_message():
        session = aws.session(args.region)
        job = start_training(session, layout, settings, dict(args.hyperparameter))
        print(f"started training job {job.training_job_name}", flush=True)
        if args.wait:
            follow(job)
        print(describe(outcome(job, layout), layout, args.wait))


if __name__ == "__main__":
    main()
