"""template.yaml as `sam local invoke` reads it: every default resolves, the endpoint variables
are declared for `--env-vars`, and both architectures build."""

import copy
import subprocess
from pathlib import Path

import boto3
import pytest
from samcli.lib.providers.sam_base_provider import SamBaseProvider
from samcli.yamlhelper import yaml_parse

from bench.sizes import build_environment, template_runtime
from tests.template.test_template import ROOT, TEMPLATE, tool

# SAM CLI and its translator, run here as `sam local` runs them, warn about their own calls.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:samtranslator"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:samcli"),
]
ENDPOINT_VARIABLES = {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"}
ARCHITECTURES = ["arm64", "x86_64"]


def sam_local_environment(template: dict) -> dict[str, dict]:
    """Each function's variables after SAM CLI's local resolver (what `sam local invoke` uses)."""
    resolved = SamBaseProvider.get_template(copy.deepcopy(template))
    return {
        name: resource["Properties"]["Environment"]["Variables"]
        for name, resource in resolved["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_every_parameter_default_resolves_to_a_value_in_sam_local():
    """SAM CLI leaves a default it cannot use (a YAML float) as an unresolved Ref, which
    reaches the function as an empty string: give every default to a function and look."""
    template = yaml_parse((ROOT / "template.yaml").read_text())
    defaults = {n: p["Default"] for n, p in template["Parameters"].items() if "Default" in p}
    probe = template["Globals"]["Function"]["Environment"]["Variables"]
    probe.update({f"DEFAULT_{name}": {"Ref": name} for name in defaults})

    for variables in sam_local_environment(template).values():
        for name, default in defaults.items():
            value = variables[f"DEFAULT_{name}"]  # an unresolved Ref is still a dict here
            assert not isinstance(value, dict), f"{name}'s default {default!r} is lost"
            assert str(value) == str(default)


def test_function_variables_resolve_without_empty_values_in_sam_local():
    template = yaml_parse((ROOT / "template.yaml").read_text())

    for function, variables in sam_local_environment(template).items():
        empty = {
            name for name, value in variables.items() if not isinstance(value, str) or not value
        }
        assert empty == ENDPOINT_VARIABLES, function


def test_endpoint_variables_are_declared_empty_for_every_function():
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]

    assert {name: variables.get(name) for name in ENDPOINT_VARIABLES} == dict.fromkeys(
        ENDPOINT_VARIABLES, ""
    )


@pytest.mark.parametrize(
    ("service", "variable", "aws_endpoint"),
    [
        ("s3", "AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com"),
        (
            "sagemaker-runtime",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
            "https://runtime.sagemaker.us-east-1.amazonaws.com",
        ),
    ],
)
def test_empty_endpoint_variable_keeps_botocore_on_the_aws_endpoint(
    service, variable, aws_endpoint, monkeypatch
):
    """A deployed function gets the declared empty value: botocore must treat it as unset."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv(variable, "")

    client = boto3.client(service, region_name="us-east-1")

    assert client.meta.endpoint_url == aws_endpoint


def test_functions_and_layer_share_one_architecture_parameter():
    parameter = TEMPLATE["Parameters"]["Architecture"]
    layer = TEMPLATE["Resources"]["CommonLayer"]
    by_parameter = {"Ref": "Architecture"}

    assert (parameter["Default"], parameter["AllowedValues"]) == ("arm64", ARCHITECTURES)
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == [by_parameter]
    assert layer["Properties"]["CompatibleArchitectures"] == [by_parameter]
    assert layer["Metadata"]["BuildArchitecture"] == by_parameter


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_builds(architecture, tmp_path: Path):
    build_dir = tmp_path / "build"

    command = [tool("sam"), "build", "--build-dir", str(build_dir)]
    command += ["--cache-dir", str(tmp_path / "cache")]
    command += ["--parameter-overrides", f"Architecture={architecture}"]
    environment = build_environment(template_runtime())
    result = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    built = yaml_parse((build_dir / "template.yaml").read_text())
    assert built["Resources"]["CommonLayer"]["Metadata"]["BuildArchitecture"] == architecture
    layer = build_dir / "CommonLayer" / "python"
    assert (layer / "aws_lambda_powertools").is_dir()
    assert (layer / "workflow_common" / "configuration.py").is_file()
