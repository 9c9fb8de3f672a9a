"""template.yaml's arrivals rule, review queue and signals: exact permissions, encryption, and
alarms that watch the metrics FilterInferences really prints."""

import contextlib
import itertools
import json
import re

import pytest

from functions.filter_inferences import app as filter_inferences
from local.emulation import workflow
from tests.template.test_template import RESOURCES, STATE_MACHINE, TEMPLATE, as_list
from workflow_common.errors import ConfidenceThresholdNotMet

RULE = RESOURCES["ArrivalsRule"]["Properties"]
[TARGET] = RULE["Targets"]
IAM_DOCUMENTS = {
    "AWS::IAM::Role": lambda p: [policy["PolicyDocument"] for policy in p.get("Policies", [])],
    "AWS::SQS::QueuePolicy": lambda p: [p["PolicyDocument"]],
    "AWS::S3::BucketPolicy": lambda p: [p["PolicyDocument"]],
}


def case_variants(suffix: str) -> set[str]:
    return {
        "".join(letters) for letters in itertools.product(*zip(suffix, suffix.upper(), strict=True))
    }


def statements_of(logical_id: str) -> list[dict]:
    resource = RESOURCES[logical_id]
    documents = IAM_DOCUMENTS[resource["Type"]](resource["Properties"])
    return [statement for document in documents for statement in document["Statement"]]


def allows_of(logical_id: str) -> list[dict]:
    return [s for s in statements_of(logical_id) if s["Effect"] == "Allow"]


def test_the_rule_matches_image_uploads_of_the_image_bucket_under_the_upload_prefix():
    pattern = RULE["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (["aws.s3"], ["Object Created"])
    assert pattern["detail"]["bucket"] == {"name": [{"Ref": "ImageBucketName"}]}
    wildcards = [entry["wildcard"]["Fn::Sub"] for entry in pattern["detail"]["object"]["key"]]
    suffixes = case_variants("png") | case_variants("jpg") | case_variants("jpeg")
    assert sorted(wildcards) == sorted("${UploadPrefix}*." + suffix for suffix in suffixes)
    assert TEMPLATE["Parameters"]["UploadPrefix"]["Default"] == "incoming/"


def test_the_rule_starts_the_state_machine_with_bucket_key_and_etag():
    assert TARGET["Arn"] == {"Ref": "ImageClassificationStateMachine"}
    transformer = TARGET["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "s3_bucket": "$.detail.bucket.name",
        "s3_key": "$.detail.object.key",
        "etag": "$.detail.object.etag",
    }
    placeholders = set(re.findall(r"<(\w+)>", transformer["InputTemplate"]))
    assert placeholders == set(transformer["InputPathsMap"])
    assert '"<' not in transformer["InputTemplate"], "unquoted: EventBridge quotes and escapes"


def test_the_rule_retries_then_keeps_what_it_could_not_deliver():
    assert TARGET["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert TARGET["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ArrivalsDeadLetterQueue", "Arn"]}}


def test_the_rule_role_may_start_only_the_state_machine():
    assert TARGET["RoleArn"] == {"Fn::GetAtt": ["ArrivalsRuleRole", "Arn"]}
    trust = RESOURCES["ArrivalsRuleRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    assert [(s["Action"], s["Resource"]) for s in statements_of("ArrivalsRuleRole")] == [
        ("states:StartExecution", {"Ref": "ImageClassificationStateMachine"})
    ]


def test_only_the_rule_may_write_to_its_dead_letter_queue():
    [statement] = allows_of("ArrivalsDeadLetterQueuePolicy")
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert (statement["Action"], statement["Resource"]) == (
        "sqs:SendMessage",
        {"Fn::GetAtt": ["ArrivalsDeadLetterQueue", "Arn"]},
    )
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ArrivalsRule", "Arn"]}}
    }


def test_the_state_machine_may_send_only_to_the_review_queue():
    assert STATE_MACHINE["Role"] == {"Fn::GetAtt": ["ImageClassificationStateMachineRole", "Arn"]}
    sends = [
        statement
        for statement in statements_of("ImageClassificationStateMachineRole")
        if any(action.startswith("sqs:") for action in as_list(statement["Action"]))
    ]
    assert [(s["Action"], s["Resource"]) for s in sends] == [
        ("sqs:SendMessage", {"Fn::GetAtt": ["ReviewQueue", "Arn"]})
    ]
    assert STATE_MACHINE["DefinitionSubstitutions"]["SqsSendMessage"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::sqs:sendMessage"
    }


@pytest.mark.parametrize("logical_id", ["ArrivalsRuleRole", "ArrivalsDeadLetterQueuePolicy"])
def test_new_roles_and_policies_name_actions_and_resources(logical_id):
    """Of what they allow: a wildcard in a Deny only refuses more."""
    for statement in allows_of(logical_id):
        assert all("*" not in action for action in as_list(statement["Action"]))
        assert all(resource != "*" for resource in as_list(statement["Resource"]))


# Each queue and bucket the stack creates -> its one resource policy (a second QueuePolicy on a
# queue would replace the first) and the service's action prefix.
RESOURCE_POLICIES = {
    "ReviewQueue": ("ReviewQueuePolicy", "sqs"),
    "ArrivalsDeadLetterQueue": ("ArrivalsDeadLetterQueuePolicy", "sqs"),
    "BackfillResultsBucket": ("BackfillResultsBucketPolicy", "s3"),
    "GroundTruthBucket": ("GroundTruthBucketPolicy", "s3"),
}
POLICY_TARGETS = {
    "AWS::SQS::QueuePolicy": lambda p: [queue["Ref"] for queue in p["Queues"]],
    "AWS::S3::BucketPolicy": lambda p: [p["Bucket"]["Ref"]],
}


def test_every_queue_and_bucket_of_the_stack_has_exactly_one_policy():
    created = {
        name for name, r in RESOURCES.items() if r["Type"] in {"AWS::SQS::Queue", "AWS::S3::Bucket"}
    }
    assert created == set(RESOURCE_POLICIES)
    targets = [
        (target, name)
        for name, r in RESOURCES.items()
        if r["Type"] in POLICY_TARGETS
        for target in POLICY_TARGETS[r["Type"]](r["Properties"])
    ]
    assert sorted(targets) == sorted((t, p) for t, (p, _) in RESOURCE_POLICIES.items())


@pytest.mark.parametrize("target", RESOURCE_POLICIES)
def test_each_queue_and_bucket_refuses_every_request_without_tls(target):
    policy, service = RESOURCE_POLICIES[target]
    assert RESOURCES[policy].get("Condition") == RESOURCES[target].get("Condition")
    arn = {"Fn::GetAtt": [target, "Arn"]}
    resources = [arn] if service == "sqs" else [arn, {"Fn::Sub": "${" + target + ".Arn}/*"}]
    [deny] = [s for s in statements_of(policy) if s["Sid"] == "DenyInsecureTransport"]
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": f"{service}:*",
        "Resource": resources if len(resources) > 1 else arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_no_one_but_the_state_machine_may_send_to_the_review_queue():
    """Sending also covers SendMessageBatch; the Deny holds for any principal of any account."""
    sends = [
        s
        for s in statements_of("ReviewQueuePolicy")
        if "sqs:SendMessage" in as_list(s["Action"]) or s["Action"] == "sqs:*"
    ]
    assert [s for s in sends if s["Sid"] != "DenyInsecureTransport"] == [
        {
            "Sid": "OnlyTheStateMachineSends",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["ReviewQueue", "Arn"]},
            "Condition": {
                "ArnNotEquals": {
                    "aws:PrincipalArn": {
                        "Fn::GetAtt": ["ImageClassificationStateMachineRole", "Arn"]
                    }
                }
            },
        }
    ]
    assert allows_of("ReviewQueuePolicy") == []


def test_both_queues_are_encrypted_and_review_is_fifo_with_explicit_deduplication():
    review = RESOURCES["ReviewQueue"]["Properties"]
    dead_letters = RESOURCES["ArrivalsDeadLetterQueue"]["Properties"]
    assert review["SqsManagedSseEnabled"] is dead_letters["SqsManagedSseEnabled"] is True
    assert (review["FifoQueue"], review["ContentBasedDeduplication"]) == (True, False)


def emitted_record(inferences: list[float], lambda_context, capsys) -> dict:
    """The embedded-metric-format record FilterInferences prints for one inference."""
    event = {"s3_bucket": "b", "s3_key": "incoming/a.png", "inferences": inferences}
    with contextlib.suppress(ConfidenceThresholdNotMet):  # counted all the same
        filter_inferences.lambda_handler(event, lambda_context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [record] = [line for line in lines if "_aws" in line and "ColdStart" not in line]
    return record


def test_the_share_alarm_watches_exactly_what_filter_inferences_prints(
    lambda_context, capsys, monkeypatch
):
    local = workflow.function_environment(region="us-east-1", endpoint_name="any")
    monkeypatch.setenv("STACK_NAME", local["STACK_NAME"])  # as a local run gives it
    records = [emitted_record(p, lambda_context, capsys) for p in ([0.6, 0.4], [0.99, 0.01])]
    alarm = RESOURCES["LowConfidenceShareAlarm"]["Properties"]
    watched = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    function = RESOURCES["FilterInferencesFunction"]["Properties"]["Environment"]["Variables"]
    for record, metric in zip(records, watched, strict=True):
        [definition] = record["_aws"]["CloudWatchMetrics"]
        assert definition["Namespace"] == metric["Namespace"]
        assert definition["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
        assert [m["Name"] for m in definition["Metrics"]] == [metric["MetricName"]]
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert [sorted(names) for names in definition["Dimensions"]] == [sorted(dimensions)]
        assert record["service"] == dimensions["service"] == environment["POWERTOOLS_SERVICE_NAME"]
        # the stack dimension is the STACK_NAME the function gets: the stack's own name
        assert dimensions["stack"] == function["STACK_NAME"] == {"Ref": "AWS::StackName"}
        assert record["stack"] == local["STACK_NAME"]


def test_the_share_alarm_needs_a_minimum_count_and_compares_a_percentage():
    alarm = RESOURCES["LowConfidenceShareAlarm"]["Properties"]
    [share] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert "${LowConfidenceMinimumCount}" in share["Expression"]["Fn::Sub"]
    assert alarm["Threshold"] == {"Ref": "LowConfidenceSharePercent"}
    assert {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m} == {3600}


ALARMS = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"]


@pytest.mark.parametrize("alarm", ALARMS)
def test_alarms_notify_the_topic(alarm):
    properties = RESOURCES[alarm]["Properties"]
    assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_the_dead_letter_alarm_fires_on_one_message():
    alarm = RESOURCES["ArrivalsDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ArrivalsDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_e_mail_subscription_exists_only_with_an_address():
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_dashboard_is_json_and_shows_every_signal():
    body_template, names = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(re.sub(r"\$\{[\w:]+\}", "0", body_template))
    metrics = [m for widget in body["widgets"] for m in widget["properties"].get("metrics", [])]
    shown = {(m[0], m[1]) for m in metrics if isinstance(m[0], str) and m[0] != "."}
    assert shown == {
        ("AWS/States", "ExecutionsSucceeded"),
        ("SconesUnlimited", "ConfidenceThresholdNotMet"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "Errors"),
        ("AWS/SageMaker", "Invocations"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("SconesUnlimited", "OldestReviewWaitHours"),
        ("SconesUnlimited", "ReviewsNotQueued"),
        ("SconesUnlimited", "WaitingMarkersNotWritten"),
    }
    assert set(names) == {"ReviewQueueName", "DeadLetterQueueName"}


def test_every_alarm_is_on_the_dashboard():
    """By its ARN, in an alarm widget or as a metric widget's alarm annotation."""
    body_template, names = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    quoted = re.sub(r'"\$\{([\w:.]+)\}"', r'"@\1@"', body_template)  # kept, to be read below
    body = json.loads(re.sub(r"\$\{[\w:.]+\}", "0", quoted))
    shown = [
        arn
        for widget in body["widgets"]
        for arn in (
            widget["properties"].get("alarms", [])
            if widget["type"] == "alarm"
            else widget["properties"].get("annotations", {}).get("alarms", [])
        )
    ]

    def alarm_of(arn: str) -> str:
        variable = arn.strip("@")
        given = names.get(variable, {"Fn::GetAtt": variable.split(".")})
        return given["Fn::GetAtt"][0] if given.get("Fn::GetAtt", [""])[1:] == ["Arn"] else ""

    alarms = {name for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms
    assert sorted(alarm_of(arn) for arn in shown) == sorted(alarms)
