"""ClassifyImage: ask the SageMaker endpoint how likely the image is a bicycle or a motorcycle.

The image bytes go to the endpoint and no further: the response carries only the inferences,
and the inference id sent with them, which names this inference in the endpoint's data capture
(`eventMetadata.inferenceId`) and in the answer a reviewer gives about it.
"""

from typing import Any
from uuid import uuid4

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from workflow_common.configuration import required_setting
from workflow_common.errors import EndpointError
from workflow_common.events import required_string, response, unwrap_body
from workflow_common.images import content_type_of, decode_base64
from workflow_common.inferences import parse_inferences

logger = Logger()
# botocore retries throttling and transient faults itself (standard mode, with backoff). The
# worst case stays under the function's 45 s timeout with 8 s to spare, so a hung endpoint ends
# as EndpointError, never as a Lambda timeout: two attempts that time out (2 + 7 s each), their
# backoff (at most 1 + 2 s), and a last one whose body stalls after the headers (2 + 7 + 7 s).
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 7
TOTAL_ATTEMPTS = 3
sagemaker_runtime = boto3.client(
    "sagemaker-runtime",
    config=Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    ),
)


@logger.inject_lambda_context(correlation_id_path="execution_id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    endpoint_name = required_setting("ENDPOINT_NAME")
    payload = unwrap_body(event)
    bucket, key = required_string(payload, "s3_bucket"), required_string(payload, "s3_key")
    image = decode_base64(required_string(payload, "image_data"))
    content_type = content_type_of(image)
    inference_id = str(uuid4())  # fresh for every invocation: a retried task gets a new one
    inferences = invoke_endpoint(endpoint_name, image, content_type, inference_id)
    logger.info(
        "Image classified",
        extra={"s3_key": key, "inferences": inferences, "inference_id": inference_id},
    )
    return response(
        {
            "s3_bucket": bucket,
            "s3_key": key,
            "content_type": content_type,
            "inferences": inferences,
            "inference_id": inference_id,
        }
    )


def invoke_endpoint(
    endpoint_name: str, image: bytes, content_type: str, inference_id: str
) -> list[float]:
    """The endpoint's [p_bicycle, p_motorcycle]; EndpointError when it refuses or is unreachable.
    botocore's own retries resend the same InferenceId: one inference, one id."""
    try:
        answer = sagemaker_runtime.invoke_endpoint(
            EndpointName=endpoint_name,
            ContentType=content_type,
            Accept="application/json",
            Body=image,
            InferenceId=inference_id,
        )
        body = answer["Body"].read()  # inside the try: a body can stall or break mid-stream
    except ClientError as error:
        details = error.response["Error"]
        raise EndpointError(
            f"endpoint '{endpoint_name}' answered {details.get('Code')}: {details.get('Message')}"
        ) from None
    except BotoCoreError as error:
        raise EndpointError(f"endpoint '{endpoint_name}' could not be reached: {error}") from None
    return parse_inferences(body)
