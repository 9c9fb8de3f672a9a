"""template.yaml: valid for SAM and cfn-lint, least privilege, and in step with the ASL and code."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from local import workflow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
STATE_MACHINE = RESOURCES["ImageClassificationStateMachine"]["Properties"]
LOG_DELIVERY_ACTIONS = {
    f"logs:{action}"
    for action in (
        "CreateLogDelivery",
        "GetLogDelivery",
        "UpdateLogDelivery",
        "DeleteLogDelivery",
        "ListLogDeliveries",
        "PutResourcePolicy",
        "DescribeResourcePolicies",
        "DescribeLogGroups",
    )
}


def tool(name: str) -> str:
    """The console script installed beside this interpreter (the project's virtualenv)."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def inline_statements() -> list[tuple[str, dict]]:
    """(logical id, statement) for every inline IAM statement in the template."""
    statements = []
    for name, resource in RESOURCES.items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            statements += [(name, statement) for statement in policy.get("Statement", [])]
    return statements


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_sam_validate_lint_passes():
    result = run(tool("sam"), "validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_reports_nothing():
    result = run(tool("cfn-lint"), "template.yaml")
    assert (result.returncode, result.stdout) == (0, "")


def test_no_action_wildcards():
    for name, statement in inline_statements():
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name} allows {action}"


def test_only_log_delivery_may_use_a_resource_wildcard():
    wildcard = [(n, s) for n, s in inline_statements() if "*" in as_list(s["Resource"])]
    assert [name for name, _ in wildcard] == ["ImageClassificationStateMachine"]
    assert set(wildcard[0][1]["Action"]) == LOG_DELIVERY_ACTIONS


def test_classify_may_invoke_exactly_the_one_endpoint():
    policies = FUNCTIONS["ClassifyImageFunction"]["Properties"]["Policies"]
    assert policies == [
        {
            "Statement": [
                {
                    "Sid": "InvokeTheModelEndpoint",
                    "Effect": "Allow",
                    "Action": "sagemaker:InvokeEndpoint",
                    "Resource": {
                        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:"
                        "${AWS::AccountId}:endpoint/${EndpointName}"
                    },
                }
            ]
        }
    ]


def test_each_function_has_only_what_it_needs():
    policies = {name: f["Properties"].get("Policies") for name, f in FUNCTIONS.items()}
    assert policies["SerializeImageDataFunction"] == [
        {"S3ReadPolicy": {"BucketName": {"Ref": "ImageBucketName"}}}
    ]
    assert policies["FilterInferencesFunction"] is None


def test_state_machine_may_invoke_each_function_and_nothing_else():
    invoked = [
        policy["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for policy in STATE_MACHINE["Policies"]
        if "LambdaInvokePolicy" in policy
    ]
    assert sorted(invoked) == sorted(FUNCTIONS)
    assert len(STATE_MACHINE["Policies"]) == len(FUNCTIONS) + 2  # + log delivery + review queue


def test_every_asl_placeholder_is_a_substitution_and_vice_versa():
    placeholders = set(re.findall(r"\$\{(\w+)\}", workflow.DEFINITION.read_text()))
    assert placeholders == set(STATE_MACHINE["DefinitionSubstitutions"])
    review = {"SqsSendMessage", "ReviewQueueUrl", "ConfidenceThreshold"}
    assert placeholders == {f"{name}Arn" for name in FUNCTIONS} | review


def test_local_workflow_runs_the_template_functions():
    assert set(workflow.FUNCTIONS) == set(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        code = ROOT / function["Properties"]["CodeUri"] / "app.py"
        module = workflow.FUNCTIONS[name].replace(".", "/") + ".py"
        assert code == ROOT / module


def test_state_machine_is_standard_traced_and_logs_errors_without_data():
    assert STATE_MACHINE["Type"] == "STANDARD"
    assert STATE_MACHINE["Tracing"] == {"Enabled": True}
    assert STATE_MACHINE["Logging"]["Level"] == "ERROR"
    assert STATE_MACHINE["Logging"]["IncludeExecutionData"] is False
    log_group = RESOURCES["StateMachineLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


@pytest.mark.parametrize(
    ("function", "variable", "parameter"),
    [
        ("SerializeImageDataFunction", "IMAGE_BUCKET_NAME", "ImageBucketName"),
        ("ClassifyImageFunction", "ENDPOINT_NAME", "EndpointName"),
        ("FilterInferencesFunction", "CONFIDENCE_THRESHOLD", "ConfidenceThreshold"),
        ("FilterInferencesFunction", "STACK_NAME", "AWS::StackName"),
    ],
)
def test_configuration_comes_from_parameters(function, variable, parameter):
    variables = FUNCTIONS[function]["Properties"]["Environment"]["Variables"]
    assert variables[variable] == {"Ref": parameter}


def test_functions_have_no_other_variables():
    variables = {
        name: set(f["Properties"]["Environment"]["Variables"]) for name, f in FUNCTIONS.items()
    }
    assert variables == {
        "SerializeImageDataFunction": {"IMAGE_BUCKET_NAME"},
        "ClassifyImageFunction": {"ENDPOINT_NAME"},
        "FilterInferencesFunction": {"CONFIDENCE_THRESHOLD", "STACK_NAME"},
    }


def test_local_runs_give_the_functions_the_template_variables():
    templated = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for function in FUNCTIONS.values():
        templated |= set(function["Properties"]["Environment"]["Variables"])
    local = workflow.function_environment(region="us-east-1", endpoint_name="any-endpoint")
    assert set(local) - {"AWS_REGION", "AWS_DEFAULT_REGION"} == templated


def test_threshold_parameter_defaults_to_the_seed_value():
    threshold = TEMPLATE["Parameters"]["ConfidenceThreshold"]
    assert (threshold["Default"], threshold["MinValue"], threshold["MaxValue"]) == (0.90, 0, 1)


def test_endpoint_name_must_be_lower_case():
    pattern = TEMPLATE["Parameters"]["EndpointName"]["AllowedPattern"]
    assert re.fullmatch(pattern, "scones-image-classifier-2026")
    assert not re.fullmatch(pattern, "Scones-Image-Classifier")


def pins(path: Path) -> set[str]:
    """`name==version` lines, names normalised as pip does."""
    lines = path.read_text().split()
    return {line.lower().replace("_", "-") for line in lines if "==" in line}


def test_layer_ships_the_powertools_the_tests_run():
    shipped = pins(ROOT / "layers" / "common" / "requirements.txt")
    assert shipped
    assert shipped <= pins(ROOT / "constraints.txt")
