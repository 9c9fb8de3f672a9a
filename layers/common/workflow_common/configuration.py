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
    return _number_setting(name, 1)


def percentage_setting(name: str) -> float:
    """The environment variable `name` as a number from 0 to 100."""
    return _number_setting(name, 100)


def _number_setting(name: str, largest: int) -> float:
    value = required_setting(name)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 0 <= number <= largest):
        raise ConfigurationError(f"{name} must be a number from 0 to {largest}, got {value!r}")
    return number
