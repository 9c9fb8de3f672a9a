"""SerializeImageData: read an image from the image bucket and pass it on as base64 text."""

import base64
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from workflow_common.configuration import required_setting
from workflow_common.errors import ImageNotFound, ImageTooLarge, InvalidEvent, S3Unavailable
from workflow_common.events import required_string, response, unwrap_body
from workflow_common.images import MAX_BASE64_CHARS, base64_length, content_type_of

logger = Logger()
# Standard retries (with backoff) and timeouts sized to the function's 30 s: two attempts that
# time out (2 + 4 s each), their backoff (at most 1 + 2 s), and a last one whose body stalls
# (2 + 4 + 4 s) take 25 s at worst, so S3 trouble ends as S3Unavailable, not a Lambda timeout.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 4
TOTAL_ATTEMPTS = 3
s3 = boto3.client(
    "s3",
    config=Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    ),
)

MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 encoding
NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "404"}
DENIED_CODES = {"AccessDenied", "403"}
UNAVAILABLE_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"}
REFUSED_CODES = {"KeyTooLongError", "InvalidRequest"}  # the request, not S3, is at fault
ARCHIVED_CODE = "InvalidObjectState"  # Glacier, Deep Archive or an archive tier, not restored


@logger.inject_lambda_context(correlation_id_path="execution_id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    bucket, key = image_location(unwrap_body(event), required_setting("IMAGE_BUCKET_NAME"))
    image = read_image(bucket, key)
    content_type = content_type_of(image)
    logger.info("Image read", extra={"s3_bucket": bucket, "s3_key": key, "bytes": len(image)})
    return response(
        {
            "s3_bucket": bucket,
            "s3_key": key,
            "image_data": base64.b64encode(image).decode("ascii"),
            "content_type": content_type,
            "inferences": [],
        }
    )


def image_location(payload: dict[str, Any], image_bucket: str) -> tuple[str, str]:
    """Bucket and key to read. The role can read only the image bucket, so only it is accepted."""
    if payload.get("image_data"):
        raise InvalidEvent("'image_data' must be empty or absent: the image is read from S3")
    bucket = payload.get("s3_bucket", image_bucket)
    if bucket != image_bucket:
        raise InvalidEvent(f"'s3_bucket' must be the image bucket '{image_bucket}', got {bucket!r}")
    key = required_string(payload, "s3_key")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidEvent(f"'s3_key' is longer than S3's {MAX_KEY_BYTES} bytes (UTF-8)")
    return bucket, key


def read_image(bucket: str, key: str) -> bytes:
    """The object's bytes, refused before download when their base64 would not fit the state."""
    try:
        image_object = s3.get_object(Bucket=bucket, Key=key)
        size = image_object["ContentLength"]
        if base64_length(size) > MAX_BASE64_CHARS:
            image_object["Body"].close()
            raise ImageTooLarge(
                f"s3://{bucket}/{key} is {size} bytes: its base64 would exceed {MAX_BASE64_CHARS}"
                f" characters; resize it below {MAX_BASE64_CHARS * 3 // 4} bytes"
            )
        return image_object["Body"].read()
    except ClientError as error:
        raise _s3_error(error, bucket, key) from None
    except BotoCoreError as error:  # unreachable, timed out, or the body cut short
        raise S3Unavailable(f"s3://{bucket}/{key} could not be read: {error}") from None


def _s3_error(error: ClientError, bucket: str, key: str) -> Exception:
    code = error.response["Error"]["Code"]
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in NOT_FOUND_CODES:
        return ImageNotFound(f"s3://{bucket}/{key} does not exist ({code})")
    if code in DENIED_CODES:
        return ImageNotFound(f"access to s3://{bucket}/{key} was denied ({code}): check the role")
    if code == ARCHIVED_CODE:
        tiers = (error.response.get(field) for field in ("StorageClass", "AccessTier"))
        where = ", ".join(filter(None, tiers)) or "its storage class not given"
        return ImageNotFound(
            f"s3://{bucket}/{key} is archived ({where}): restore it (S3 RestoreObject),"
            " then start the execution again"
        )
    if code in REFUSED_CODES:
        message = error.response["Error"].get("Message", "")
        return InvalidEvent(f"S3 refused the request for s3://{bucket}/{key} ({code}): {message}")
    if code in UNAVAILABLE_CODES or status >= 500:
        return S3Unavailable(f"S3 answered {code} ({status}) for s3://{bucket}/{key}: try again")
    return error
