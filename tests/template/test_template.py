"""template.yaml: valid for SAM and cfn-lint, least privilege, and in step with the ASL and code."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from local.emulation import workflow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, _ = decode(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
TASK_FUNCTIONS = list(
    workflow.FUNCTIONS
)  # the state machine's three; the fourth runs on a schedule
STATE_MACHINE = RESOURCES["ImageClassificationStateMachine"]["Properties"]
LOG_DELIVERY_ACTIONS = [
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
]


METRICS_NAMESPACE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"][
    "POWERTOOLS_METRICS_NAMESPACE"
]


def tool(name: str) -> str:
    """The console script installed beside this interpreter (the project's virtualenv)."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or name


def run(*command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def translated(template: dict) -> dict:
    """The CloudFormation SAM generates from `template`, as `sam validate` translates it.

    Local paths become S3 locations (the translator accepts only those); nothing else changes.
    """
    sam = json.loads(json.dumps(template))
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri", "DefinitionUri"):
            if uri in properties:
                properties[uri] = "s3://artifacts/key"
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=boto3.Session(region_name="us-east-1"),
    )
    return translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)


GENERATED = translated(TEMPLATE)["Resources"]
ROLES = {name: r["Properties"] for name, r in GENERATED.items() if r["Type"] == "AWS::IAM::Role"}


def statements(role: dict) -> list[dict]:
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_sam_validate_lint_passes():
    result = run(tool("sam"), "validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow_type", ["STANDARD", "EXPRESS"])
def test_cfn_lint_reports_nothing_for_either_workflow_type(workflow_type):
    result = run(tool("cfn-lint"), "template.yaml", "--parameters", f"WorkflowType={workflow_type}")
    assert (result.returncode, result.stdout) == (0, "")


def own_logs(log_group: str) -> dict:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},  # the group's ARN, ending in `:*`
    }


WRITE_TRACES = {
    "Sid": "WriteTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}
EXPECTED_STATEMENTS = {
    "SerializeImageDataRole": [
        {
            "Sid": "ReadTheImages",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ImageBucketName}/*"},
        },
        {
            "Sid": "MissingKeyIsNotFoundNotDenied",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ImageBucketName}"},
        },
        own_logs("SerializeImageDataLogGroup"),
        WRITE_TRACES,
    ],
    "ClassifyImageRole": [
        {
            "Sid": "InvokeTheModelEndpoint",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:"
                "${AWS::AccountId}:endpoint/${EndpointName}"
            },
        },
        own_logs("ClassifyImageLogGroup"),
        WRITE_TRACES,
    ],
    "FilterInferencesRole": [own_logs("FilterInferencesLogGroup"), WRITE_TRACES],
    "ImageClassificationStateMachineRole": [
        {
            "Sid": "InvokeTheThreeFunctions",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [{"Fn::GetAtt": [name, "Arn"]} for name in TASK_FUNCTIONS],
        },
        {
            "Sid": "DeliverExecutionLogs",
            "Effect": "Allow",
            "Action": LOG_DELIVERY_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "SendToReviewQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["ReviewQueue", "Arn"]},
        },
        {
            "Sid": "MarkReviewsAsWaiting",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": "${GroundTruthBucket.Arn}/waiting/*"},
        },
        {
            "Sid": "CountReviewsNotQueued",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "SconesUnlimited"}},
        },
    ],
    "CheckWaitingReviewsRole": [
        {
            "Sid": "ListTheWaitingMarkers",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": {"Fn::GetAtt": ["GroundTruthBucket", "Arn"]},
            "Condition": {"StringEquals": {"s3:prefix": "waiting/"}},
        },
        own_logs("CheckWaitingReviewsLogGroup"),
        WRITE_TRACES,
    ],
    "ArrivalsRuleRole": [
        {
            "Sid": "StartImageClassification",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "ImageClassificationStateMachine"},
        },
    ],
}


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


STATES = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
EXPECTED_STATEMENTS["BackfillStateMachineRole"] = [
    {
        "Sid": "ListTheImages",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": sub("arn:${AWS::Partition}:s3:::${ImageBucketName}"),
    },
    {
        "Sid": "StartImageClassificationAndOwnMapRuns",
        "Effect": "Allow",
        "Action": "states:StartExecution",
        "Resource": [
            {"Ref": "ImageClassificationStateMachine"},
            sub(STATES + ":stateMachine:${AWS::StackName}-Backfill"),
        ],
    },
    {
        "Sid": "FollowTheExecutionsItStarts",
        "Effect": "Allow",
        "Action": ["states:DescribeExecution", "states:StopExecution"],
        "Resource": [
            sub(STATES + ":execution:${ImageClassificationStateMachine.Name}:*"),
            sub(STATES + ":execution:${AWS::StackName}-Backfill/*"),
        ],
    },
    {
        "Sid": "ManageTheSyncRule",
        "Effect": "Allow",
        "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        "Resource": sub(
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
            "StepFunctionsGetEventsForStepFunctionsExecutionRule"
        ),
    },
    {
        "Sid": "WriteResults",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        "Resource": sub("${BackfillResultsBucket.Arn}/results/*"),
    },
]
SERVICE_OF_ROLE = {
    "ImageClassificationStateMachineRole": "states",
    "BackfillStateMachineRole": "states",
    "ArrivalsRuleRole": "events",
}


def test_the_generated_roles_are_exactly_the_expected_ones():
    assert set(ROLES) == set(EXPECTED_STATEMENTS)


@pytest.mark.parametrize("role", EXPECTED_STATEMENTS)
def test_each_generated_role_allows_exactly_its_statements(role):
    assert statements(ROLES[role]) == EXPECTED_STATEMENTS[role]


def test_only_the_state_machine_gets_a_managed_policy_and_only_xray_write():
    managed = {name: role.get("ManagedPolicyArns") for name, role in ROLES.items()}
    assert managed == {
        "SerializeImageDataRole": None,
        "ClassifyImageRole": None,
        "FilterInferencesRole": None,
        "CheckWaitingReviewsRole": None,
        "ArrivalsRuleRole": None,
        "BackfillStateMachineRole": None,  # no tracing: nothing attached
        # what SAM attached to its generated role for Tracing, in any partition
        "ImageClassificationStateMachineRole": [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}
        ],
    }


def test_sam_generates_no_role_each_is_explicit_and_trust_policies_can_carry_conditions():
    explicit = {name for name, r in RESOURCES.items() if r["Type"] == "AWS::IAM::Role"}
    assert explicit == set(ROLES)
    for name, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::StateMachine":
            assert "Policies" not in resource["Properties"], name
            assert resource["Properties"]["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}
            assert RESOURCES[f"{name}Role"].get("Condition") == resource.get("Condition")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_as_its_own_role(function):
    role = GENERATED[function]["Properties"]["Role"]
    assert role == {"Fn::GetAtt": [function.removesuffix("Function") + "Role", "Arn"]}


@pytest.mark.parametrize("role", EXPECTED_STATEMENTS)
def test_each_role_is_assumed_only_by_its_service(role):
    service = SERVICE_OF_ROLE.get(role, "lambda")
    (trust,) = ROLES[role]["AssumeRolePolicyDocument"]["Statement"]
    assert as_list(trust["Principal"]["Service"]) == [f"{service}.amazonaws.com"]
    assert as_list(trust["Action"]) == ["sts:AssumeRole"]
    assert trust["Condition"] == SAME_ACCOUNT


# Only this account's resources may have the service assume a role (confused deputy). No source
# ARN: a function or the arrivals rule names its role (a cycle), the image classification state
# machine has no fixed name, and for the backfill, which ARN Step Functions gives when the
# Distributed Map's child workflows assume the role is undocumented (a wrong one stops them).
SAME_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_no_action_wildcards_and_resource_wildcards_only_where_aws_has_nothing_narrower():
    """X-Ray writes, log delivery and PutMetricData have no resources; PutMetricData is held to
    the stack's namespace instead."""
    for name, role in ROLES.items():
        for statement in statements(role):
            assert all("*" not in action for action in as_list(statement["Action"])), name
            if "*" in as_list(statement["Resource"]):
                assert statement["Sid"] in {
                    "WriteTraces",
                    "DeliverExecutionLogs",
                    "CountReviewsNotQueued",
                }, name
            if statement["Sid"] == "CountReviewsNotQueued":
                assert statement["Condition"] == {
                    "StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}
                }


def test_reserved_concurrency_is_optional_and_zero_means_none():
    parameter = TEMPLATE["Parameters"]["ReservedConcurrency"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    assert TEMPLATE["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]
    }
    for name in TASK_FUNCTIONS:
        assert GENERATED[name]["Properties"]["ReservedConcurrentExecutions"] == {
            "Fn::If": [
                "HasReservedConcurrency",
                {"Ref": "ReservedConcurrency"},
                {"Ref": "AWS::NoValue"},
            ]
        }
    # once an hour, it reserves nothing of the account's concurrency
    check = GENERATED[workflow.CHECK_FUNCTION[0]]["Properties"]
    assert check["ReservedConcurrentExecutions"] == {"Ref": "AWS::NoValue"}


def test_service_integrations_are_partition_neutral():
    substitutions = STATE_MACHINE["DefinitionSubstitutions"]
    assert substitutions["LambdaInvoke"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::lambda:invoke"
    }
    assert substitutions["SqsSendMessage"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::sqs:sendMessage"
    }
    assert substitutions["AwsSdkS3PutObject"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::aws-sdk:s3:putObject"
    }
    assert substitutions["AwsSdkCloudWatchPutMetricData"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::aws-sdk:cloudwatch:putMetricData"
    }
    assert "arn:aws:" not in workflow.DEFINITION.read_text()
    local = workflow.SERVICE_INTEGRATIONS
    for name, arn in local.items():
        assert substitutions[name]["Fn::Sub"].replace("${AWS::Partition}", "aws") == arn


def parameter_given(value: object) -> str | None:
    """The parameter a substitution gives, bare (`Ref`) or as a one-part `Fn::Join`."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::Join" in value and len(value["Fn::Join"][1]) == 1:
        return parameter_given(value["Fn::Join"][1][0])
    return None


def test_number_parameters_reach_the_asl_as_the_strings_cloudformation_gives():
    """CloudFormation's Ref gives every parameter as a string, LocalStack's a Number as a float,
    which its state machine resource refuses: a Join gives the same string on both."""
    numbers = {name for name, p in TEMPLATE["Parameters"].items() if p["Type"] == "Number"}
    given = {
        parameter_given(value): value
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::Serverless::StateMachine"
        for value in resource["Properties"]["DefinitionSubstitutions"].values()
    }
    assert {"ConfidenceThreshold", "BackfillConcurrency", "BackfillToleratedFailurePercent"} == (
        numbers & set(given)
    )
    for parameter in numbers & set(given):
        assert given[parameter] == {"Fn::Join": ["", [{"Ref": parameter}]]}


def test_every_asl_placeholder_is_a_substitution_and_vice_versa():
    placeholders = set(re.findall(r"\$\{(\w+)\}", workflow.DEFINITION.read_text()))
    assert placeholders == set(STATE_MACHINE["DefinitionSubstitutions"])
    local = workflow.definition_substitutions("us-east-1", "review-queue-url", "0.90")
    assert placeholders == set(local)


def test_local_workflow_runs_the_template_functions():
    modules = workflow.FUNCTIONS | dict([workflow.CHECK_FUNCTION])
    assert set(modules) == set(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        code = ROOT / function["Properties"]["CodeUri"] / "app.py"
        assert code == ROOT / (modules[name].replace(".", "/") + ".py")


@pytest.mark.parametrize("workflow_type", ["STANDARD", "EXPRESS"])
def test_state_machine_is_of_either_type_traced_and_logs_errors_without_data(workflow_type):
    parameter = TEMPLATE["Parameters"]["WorkflowType"]
    assert parameter["Default"] == "STANDARD"
    assert parameter["AllowedValues"] == ["STANDARD", "EXPRESS"]
    assert workflow_type in parameter["AllowedValues"]  # the logging below holds for both
    generated = GENERATED["ImageClassificationStateMachine"]["Properties"]
    assert generated["StateMachineType"] == {"Ref": "WorkflowType"}
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
        ("FilterInferencesFunction", "AUDIT_SAMPLE_PERCENT", "AuditSamplePercent"),
        ("CheckWaitingReviewsFunction", "GROUND_TRUTH_BUCKET", "GroundTruthBucket"),
        ("CheckWaitingReviewsFunction", "STACK_NAME", "AWS::StackName"),
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
        "FilterInferencesFunction": {"CONFIDENCE_THRESHOLD", "AUDIT_SAMPLE_PERCENT", "STACK_NAME"},
        "CheckWaitingReviewsFunction": {"GROUND_TRUTH_BUCKET", "STACK_NAME"},
    }


def test_local_runs_give_the_functions_the_template_variables():
    templated = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for function in FUNCTIONS.values():
        templated |= set(function["Properties"]["Environment"]["Variables"])
    templated -= {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"}  # each run's own
    local = workflow.function_environment(region="us-east-1", endpoint_name="any-endpoint")
    assert set(local) - {"AWS_REGION", "AWS_DEFAULT_REGION"} == templated


def test_threshold_parameter_defaults_to_the_seed_value():
    threshold = TEMPLATE["Parameters"]["ConfidenceThreshold"]
    assert (threshold["Default"], threshold["MinValue"], threshold["MaxValue"]) == ("0.90", 0, 1)


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
