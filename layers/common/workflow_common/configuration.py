"""The functions' settings, read from their environment and checked where they are read.

A missing or malformed value is a deployment fault, not a bad event: it is raised as
ConfigurationError naming the variable, never as a bare KeyError or ValueError.
"""

import math
import os

from workflow_common.errors import ConfigurationError


def required_setting(name: str) -> str:
    """The non-empty value of the environment variable `name`."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"the environment variable {name} is missing or empty")
    return value


def probability_setting(name: str) -> float:
    """The environment variable `name` as a number from 0 to 1."""
    value = required_setting(name)
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number from 0 to 1, got {value!r}") from None
    if not (math.isfinite(number) and 0 <= number <= 1):
        raise ConfigurationError(f"{name} must be a number from 0 to 1, got {value!r}")
    return number
