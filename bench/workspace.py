"""What the benchmarks share: the work directory, the synthetic data and the functions' settings."""

import tempfile
from pathlib import Path

from local.emulation import template, workflow
from training import etl

ROOT = workflow.ROOT
WORKDIR = Path(tempfile.gettempdir()) / "scones-unlimited-bench"
REGION = "us-east-1"
IMAGE_BUCKET = workflow.IMAGE_BUCKET
ENDPOINT_NAME = workflow.LOCAL_ENDPOINT_NAME
CONFIDENCE_THRESHOLD = template.confidence_threshold()
EXECUTION_ID = f"arn:aws:states:{REGION}:{workflow.ACCOUNT_ID}:execution:ImageClassification:bench"


def synthetic_data() -> Path:
    """The ETL's output for the SYNTHETIC archive (seed 0, as the demo's), extracted once."""
    return etl.prepare(WORKDIR / "data", synthetic=True).root


def function_environment() -> dict[str, str]:
    """What template.yaml gives the functions, with fake credentials: nothing reaches AWS."""
    credentials = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    }
    return credentials | workflow.function_environment(
        region=REGION, endpoint_name=ENDPOINT_NAME, threshold=CONFIDENCE_THRESHOLD
    )
