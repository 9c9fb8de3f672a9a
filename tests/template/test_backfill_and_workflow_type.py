"""template.yaml's backfill and WorkflowType: the backfill ASL in step with its substitutions,
tolerance and concurrency from parameters, results nobody else may write, and a per-image
state machine whose logs never hold an image, whichever type it is."""

import json
import re

import pytest

from local.emulation import workflow
from tests.template.test_arrivals_review_signals import case_variants
from tests.template.test_template import GENERATED, RESOURCES, ROLES, TEMPLATE, statements

BACKFILL = RESOURCES["BackfillStateMachine"]
SUBSTITUTIONS = BACKFILL["Properties"]["DefinitionSubstitutions"]
BACKFILL_ASL = json.loads(workflow.BACKFILL_DEFINITION.read_text())
IMAGE_ASL = json.loads(workflow.DEFINITION.read_text())
MAP = BACKFILL_ASL["States"]["ClassifyEachImage"]
ITEM_STATES = MAP["ItemProcessor"]["States"]
IMAGE_STATES = IMAGE_ASL["States"]


def test_every_backfill_placeholder_is_a_substitution_and_vice_versa():
    placeholders = set(re.findall(r"\$\{(\w+)\}", workflow.BACKFILL_DEFINITION.read_text()))
    assert placeholders == set(SUBSTITUTIONS)
    assert placeholders == set(workflow.backfill_substitutions("arn:of:the:image:machine"))
    assert "arn:aws:" not in workflow.BACKFILL_DEFINITION.read_text()


def test_backfill_service_integrations_are_partition_neutral():
    assert SUBSTITUTIONS["StartExecutionSync"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::states:startExecution.sync:2"
    }
    assert SUBSTITUTIONS["S3ListObjectsV2"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::s3:listObjectsV2"
    }
    assert SUBSTITUTIONS["S3PutObject"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::s3:putObject"
    }
    for name, integration in workflow.BACKFILL_SERVICE_INTEGRATIONS.items():
        assert SUBSTITUTIONS[name]["Fn::Sub"].replace("${AWS::Partition}", "aws") == integration


def test_the_map_lists_the_image_bucket_and_runs_each_item_as_a_standard_child():
    assert MAP["ItemReader"] == {
        "Resource": "${S3ListObjectsV2}",
        "Parameters": {"Bucket": "${ImageBucketName}", "Prefix.$": "$.prefix"},
    }
    assert MAP["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    task = ITEM_STATES["ClassifyImage"]
    assert task["Resource"] == "${StartExecutionSync}"
    assert task["Parameters"]["StateMachineArn"] == "${ImageClassificationStateMachineArn}"
    assert SUBSTITUTIONS["ImageClassificationStateMachineArn"] == {
        "Ref": "ImageClassificationStateMachine"
    }
    assert SUBSTITUTIONS["ImageBucketName"] == {"Ref": "ImageBucketName"}


def test_a_childs_error_is_read_only_from_a_childs_failure_and_only_low_confidence_passes():
    """In a Catch, States.TaskFailed matches every task error: only a States.TaskFailed whose
    cause is JSON (the child's describe_execution output) is parsed; the rest fail the key."""
    assert [c["ErrorEquals"] for c in ITEM_STATES["ClassifyImage"]["Catch"]] == [
        ["States.TaskFailed"]
    ]
    [child] = ITEM_STATES["DidTheChildFail"]["Choices"]
    assert child["And"] == [
        {"Variable": "$.failure.Error", "StringEquals": "States.TaskFailed"},
        {"Variable": "$.failure.Cause", "StringMatches": "{*"},
    ]
    assert child["Next"] == "ReadChildError"
    not_started = ITEM_STATES[ITEM_STATES["DidTheChildFail"]["Default"]]
    assert (not_started["Type"], not_started["ErrorPath"]) == ("Fail", "$.failure.Error")
    [rule] = ITEM_STATES["WhatFailed"]["Choices"]
    assert (rule["StringEquals"], rule["Next"]) == ("ConfidenceThresholdNotMet", "NeedsReview")
    failed = ITEM_STATES[ITEM_STATES["WhatFailed"]["Default"]]
    assert (failed["Type"], failed["ErrorPath"]) == ("Fail", "$.child.Error")


def test_the_image_suffixes_are_the_arrivals_rules_in_every_letter_case():
    [rule] = ITEM_STATES["IsImage"]["Choices"]
    patterns = sorted(choice["StringMatches"] for choice in rule["Or"])
    suffixes = case_variants("png") | case_variants("jpg") | case_variants("jpeg")
    assert patterns == sorted(f"*.{suffix}" for suffix in suffixes)


@pytest.mark.parametrize(
    ("path", "substitution", "parameter", "bounds"),
    [
        ("MaxConcurrencyPath", "BackfillConcurrency", "BackfillConcurrency", (1, 1000)),
        (
            "ToleratedFailurePercentagePath",
            "BackfillToleratedFailurePercent",
            "BackfillToleratedFailurePercent",
            (0, 100),
        ),
    ],
)
def test_concurrency_and_tolerance_come_from_parameters(path, substitution, parameter, bounds):
    """moto does not evaluate tolerance: this ties the ASL to the parameter, and the operator
    command's tests read a batch that AWS failed (tests/unit/operations/test_backfill.py)."""
    field = MAP[path].removeprefix("$.")
    settings = BACKFILL_ASL["States"]["ReadSettings"]["Parameters"]
    assert settings[f"{field}.$"] == f"States.StringToJson('${{{substitution}}}')"
    assert SUBSTITUTIONS[substitution] == {"Fn::Join": ["", [{"Ref": parameter}]]}
    declared = TEMPLATE["Parameters"][parameter]
    assert declared["Type"] == "Number"
    assert (declared["MinValue"], declared["MaxValue"]) == bounds


def test_results_go_to_the_stack_owned_bucket_which_no_other_role_may_write():
    assert MAP["ResultWriter"]["Parameters"]["Bucket"] == "${BackfillResultsBucketName}"
    assert SUBSTITUTIONS["BackfillResultsBucketName"] == {"Ref": "BackfillResultsBucket"}
    naming_it = {
        name for name, role in ROLES.items() if "BackfillResultsBucket" in json.dumps(role)
    }
    assert naming_it == {"BackfillStateMachineRole"}
    [write] = [
        s for s in statements(ROLES["BackfillStateMachineRole"]) if s["Sid"] == "WriteResults"
    ]
    prefix = MAP["ResultWriter"]["Parameters"]["Prefix"]
    assert write["Resource"] == {"Fn::Sub": "${BackfillResultsBucket.Arn}/" + prefix + "/*"}


def test_the_results_bucket_is_private_and_encrypted():
    bucket = RESOURCES["BackfillResultsBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_the_backfill_has_the_fixed_name_its_role_builds_its_own_arn_from():
    assert BACKFILL["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-Backfill"}
    role = json.dumps(statements(ROLES["BackfillStateMachineRole"]))
    assert ":stateMachine:${AWS::StackName}-Backfill" in role
    assert '"Ref": "BackfillStateMachine"' not in role  # a Ref of itself would be a cycle


def test_the_backfill_exists_only_with_a_standard_per_image_workflow():
    """Step Functions cannot wait (.sync) for an EXPRESS execution (README, Backfill)."""
    assert TEMPLATE["Conditions"]["HasBackfill"] == {
        "Fn::Equals": [{"Ref": "WorkflowType"}, "STANDARD"]
    }
    backfill = {name for name in GENERATED if name.startswith("Backfill")}
    assert backfill == {
        "BackfillStateMachine",
        "BackfillStateMachineRole",
        "BackfillResultsBucket",
        "BackfillResultsBucketPolicy",
    }
    assert {GENERATED[name].get("Condition") for name in backfill} == {"HasBackfill"}
    outputs = {name: o for name, o in TEMPLATE["Outputs"].items() if name.startswith("Backfill")}
    assert {o["Condition"] for o in outputs.values()} == {"HasBackfill"}


# EXPRESS logs go to CloudWatch Logs only: what they may hold is checked here, statically.


def test_per_image_logging_is_errors_only_and_without_execution_data():
    logging = RESOURCES["ImageClassificationStateMachine"]["Properties"]["Logging"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False)


def test_no_failure_keeps_the_state_that_holds_the_image():
    """The base64 image is the state between SerializeImageData and ClassifyImage: a Catch on
    ClassifyImage replaces that state with the error (no ResultPath), so no Fail state, and no
    ERROR-level log event, can carry it."""
    for choice in IMAGE_STATES["ClassifyImage"]["Catch"]:
        assert "ResultPath" not in choice
    for name, state in IMAGE_STATES.items():
        if state["Type"] == "Fail":  # an error named by a path or written out, and a cause
            paths = [state[key] for key in ("ErrorPath", "CausePath") if key in state]
            assert all(path.endswith((".Error", ".Cause")) for path in paths), name
            assert ("Error" in state) != ("ErrorPath" in state), name
            assert ("Cause" in state) != ("CausePath" in state), name
