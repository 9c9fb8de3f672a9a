"""What the benchmarks share: the work directory, the synthetic data and the functions' settings."""

import tempfile
from pathlib import Path

from local import workflow
from training import etl

ROOT = workflow.ROOT
WORKDIR = Path(tempfile.gettempdir()) / "scones-unlimited-bench"
REGION = "us-east-1"
IMAGE_BUCKET = "scones-unlimited-images"
ENDPOINT_NAME = "local-image-classifier"
CONFIDENCE_THRESHOLD = 0.90
EXECUTION_ID = f"arn:aws:states:{REGION}:{workflow.ACCOUNT_ID}:execution:ImageClassification:bench"


def synthetic_data() -> Path:
    """The ETL's output for the SYNTHETIC archive (seed 0, as the demo's), extracted once."""
    return etl.prepare(WORKDIR / "data", synthetic=True).root


def function_environment() -> dict[str, str]:
    """What template.yaml gives the functions, with fake credentials: nothing reaches AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "image-classification",
        "POWERTOOLS_METRICS_NAMESPACE": "SconesUnlimited",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "IMAGE_BUCKET_NAME": IMAGE_BUCKET,
        "ENDPOINT_NAME": ENDPOINT_NAME,
        "CONFIDENCE_THRESHOLD": str(CONFIDENCE_THRESHOLD),
    }
