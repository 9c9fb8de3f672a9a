"""The workflow's errors. Lambda reports an exception's class name as the error type, so each
name below is what the state machine's Retry and Catch match and what a failed execution shows."""


class WorkflowError(Exception):
    """Base of every error a function raises on purpose."""


class InvalidEvent(WorkflowError):
    """Missing or mistyped fields, unparseable JSON, an empty key, a foreign bucket, bad base64."""


class ImageNotFound(WorkflowError):
    """No such object (S3 404), no permission to read it (S3 403), or archived and not restored."""


class S3Unavailable(WorkflowError):
    """S3 throttled, failed (5xx) or cut the body short, after botocore's own retries."""


class NotAnImage(WorkflowError):
    """The bytes are not a PNG or a JPEG (empty objects included)."""


class ImageTooLarge(WorkflowError):
    """The base64 text would not leave room for the rest of the state under 256 KiB."""


class EndpointError(WorkflowError):
    """The SageMaker endpoint rejected the request or does not exist."""


class InvalidInference(WorkflowError):
    """Inferences that are not two finite probabilities summing to 1."""


class ConfidenceThresholdNotMet(WorkflowError):
    """The most likely class is less likely than the configured threshold."""


class ConfigurationError(WorkflowError):
    """A function's environment variable is missing or malformed: a deployment fault."""
