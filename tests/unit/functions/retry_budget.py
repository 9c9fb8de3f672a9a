"""The longest a function's boto3 client can take, computed from the client's own configuration."""

from botocore.config import Config

BOTOCORE_MAX_BACKOFF_SECONDS = 20  # botocore.retries.standard.ExponentialBackoff


def worst_case_seconds(config: Config) -> float:
    """Connect, read and backoff of every attempt, the last one's body stalling after its headers.

    botocore's standard mode waits at most min(2 ** (n - 1), 20) s before retry n; a body is read
    after botocore's retries, so only the last attempt can stall in it. `max_attempts` counts
    retries, not attempts (botocore's own reading of it).
    """
    retries = config.retries
    attempts = retries.get("total_max_attempts") or retries["max_attempts"] + 1
    attempt = config.connect_timeout + config.read_timeout
    backoff = sum(min(2 ** (n - 1), BOTOCORE_MAX_BACKOFF_SECONDS) for n in range(1, attempts))
    return (attempts - 1) * attempt + backoff + attempt + config.read_timeout


def function_timeout(template: dict, function: str) -> int:
    """The function's Timeout in template.yaml, or the Globals' one."""
    properties = template["Resources"][function]["Properties"]
    return properties.get("Timeout", template["Globals"]["Function"]["Timeout"])
