"""template.yaml as data, for the local pieces that must follow it rather than copy it.

The local arrivals bridge and the local review queue are built from the template's own
resources, with `Ref` and `Fn::Sub` of parameters resolved as CloudFormation would.
"""

import functools
import re
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "template.yaml"
SUB_VARIABLE = re.compile(r"\$\{([\w:]+)\}")


@functools.cache
def template() -> dict[str, Any]:
    """The decoded template (CloudFormation's short forms become `Ref`, `Fn::Sub`...)."""
    decoded, problems = decode(str(TEMPLATE_FILE))
    if problems:
        raise ValueError(f"{TEMPLATE_FILE.name} cannot be read: {problems[0]}")
    return decoded


def properties(logical_id: str) -> dict[str, Any]:
    """A resource's Properties, as written in the template."""
    return template()["Resources"][logical_id]["Properties"]


def globals_environment() -> dict[str, Any]:
    """The variables every function gets (Globals), as written in the template."""
    return template()["Globals"]["Function"]["Environment"]["Variables"]


def parameter_defaults() -> dict[str, str]:
    """Every parameter that has a default, as the string CloudFormation would substitute."""
    parameters = template()["Parameters"]
    return {name: str(p["Default"]) for name, p in parameters.items() if "Default" in p}


def confidence_threshold() -> float:
    """The ConfidenceThreshold parameter's default: the one home of the workflow's threshold,
    which the local pieces (model figures, demo, bench, local functions) follow."""
    return float(parameter_defaults()["ConfidenceThreshold"])


def resolve(value: Any, parameters: dict[str, str]) -> Any:
    """`value` with each `Ref` and `Fn::Sub` of a parameter replaced by its value."""
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return SUB_VARIABLE.sub(lambda match: parameters[match.group(1)], value["Fn::Sub"])
    return {key: resolve(item, parameters) for key, item in value.items()}
