"""template.yaml's side of the review work: the audit share, the ground-truth bucket, the
waiting markers and their hourly check, and the alarms on what cannot be queued or waits too
long, each tied to what the ASL or a function really writes."""

import json

import boto3

from functions.check_waiting_reviews import app as check_waiting_reviews
from local.emulation import workflow
from tests.template.test_template import (
    EXPECTED_STATEMENTS,
    GENERATED,
    METRICS_NAMESPACE,
    RESOURCES,
    STATE_MACHINE,
    TEMPLATE,
)

STATES = json.loads(workflow.DEFINITION.read_text())["States"]
SUBSTITUTIONS = STATE_MACHINE["DefinitionSubstitutions"]
BUCKET = RESOURCES["GroundTruthBucket"]


def substituted(text: str) -> object:
    """What a `${Name}` placeholder of the ASL becomes in the template."""
    return SUBSTITUTIONS[text.removeprefix("${").removesuffix("}")]


def test_the_audit_share_is_a_percentage_parameter_that_reaches_filter_inferences():
    parameter = TEMPLATE["Parameters"]["AuditSamplePercent"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", "2")
    assert (parameter["MinValue"], parameter["MaxValue"]) == (0, 100)
    variables = RESOURCES["FilterInferencesFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["AUDIT_SAMPLE_PERCENT"] == {"Ref": "AuditSamplePercent"}


def test_the_ground_truth_bucket_is_encrypted_private_retained_and_versioned():
    assert BUCKET["DeletionPolicy"] == BUCKET["UpdateReplacePolicy"] == "Retain"
    assert "Condition" not in BUCKET  # EXPRESS stacks review too
    properties = BUCKET["Properties"]
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert "ExpirationInDays" not in rule, "current answers never expire"


def test_the_outputs_name_both_buckets_the_review_tools_take():
    outputs = TEMPLATE["Outputs"]
    assert outputs["GroundTruthBucketName"]["Value"] == {"Ref": "GroundTruthBucket"}
    assert outputs["ImageBucketName"]["Value"] == {"Ref": "ImageBucketName"}
    assert "Condition" not in outputs["GroundTruthBucketName"]


def test_the_state_machine_writes_only_waiting_markers_into_the_ground_truth_bucket():
    parameters = STATES["MarkAsWaiting"]["Parameters"]
    assert substituted(parameters["Bucket"]) == {"Ref": "GroundTruthBucket"}
    assert parameters["Key.$"] == "States.Format('waiting/{}', $.review.message.review_id)"
    # An object: Step Functions writes it as its JSON text. A string (States.JsonToString) would
    # be written as a JSON string literal, quoted, as LocalStack showed.
    assert parameters["Body.$"] == "$.review.message"
    [write] = [
        statement
        for statement in EXPECTED_STATEMENTS["ImageClassificationStateMachineRole"]
        if statement["Action"] == "s3:PutObject"
    ]
    assert write["Resource"] == {"Fn::Sub": "${GroundTruthBucket.Arn}/waiting/*"}


def test_the_review_id_is_computed_once_and_names_both_the_deduplication_and_the_marker():
    """The upload's SHA-256, in the message the compose states write; the send and the marker
    read it from there, so they can never name the upload differently."""
    upload = "States.Hash(States.Format('{}/{}/{}', $.s3_bucket, $.s3_key, $.execution.input.etag), 'SHA-256')"  # noqa: E501
    for compose in ("ComposeReview", "ComposeAudit"):
        assert STATES[compose]["Parameters"]["message"]["review_id.$"] == upload
    send = STATES["QueueForReview"]["Parameters"]
    assert send["MessageDeduplicationId.$"] == "$.review.message.review_id"
    assert STATES["MarkAsWaiting"]["Next"] == "QueueForReview"  # the marker first


def metric_written(task: str) -> tuple[object, str, dict[str, object]]:
    """(namespace, metric, dimension -> value) of a putMetricData task of the ASL, placeholders
    replaced by what the template substitutes; a value read from the state stays its path."""
    parameters = STATES[task]["Parameters"]
    assert substituted(STATES[task]["Resource"]) == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::aws-sdk:cloudwatch:putMetricData"
    }
    [datum] = parameters["MetricData"]
    dimensions = {
        d["Name"]: substituted(d["Value"]) if "Value" in d else d["Value.$"]
        for d in datum["Dimensions"]
    }
    return substituted(parameters["Namespace"]), datum["MetricName"], dimensions


def alarm_reads(alarm: str) -> list[tuple[str, str, dict[str, object]]]:
    properties = RESOURCES[alarm]["Properties"]
    metrics = [
        q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q
    ]
    return [
        (m["Namespace"], m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]})
        for m in metrics or [properties]
    ]


def test_the_lost_review_alarm_reads_every_reason_the_state_machine_counts():
    namespace, name, dimensions = metric_written("CountReviewNotQueued")
    assert namespace == METRICS_NAMESPACE
    assert dimensions == {"stack": {"Ref": "AWS::StackName"}, "reason": "$.review.reason"}
    reasons = {STATES[s]["Parameters"]["reason"] for s in ("ComposeReview", "ComposeAudit")}
    assert reasons == {"below_threshold", "audit"}
    expected = [
        (namespace, name, {"stack": {"Ref": "AWS::StackName"}, "reason": reason})
        for reason in reasons
    ]
    read = alarm_reads("ReviewNotQueuedAlarm")
    assert sorted(map(str, read)) == sorted(map(str, expected))
    alarm = RESOURCES["ReviewNotQueuedAlarm"]["Properties"]
    [total] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    summed = {m["Id"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert all(f"FILL({metric}, 0)" in total["Expression"] for metric in summed)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_marker_alarm_reads_what_the_state_machine_counts():
    assert alarm_reads("WaitingMarkerNotWrittenAlarm") == [metric_written("CountMarkerNotWritten")]


def test_the_wait_alarm_reads_what_the_hourly_check_prints(lambda_context, capsys, aws):
    boto3.client("s3").create_bucket(Bucket=workflow.GROUND_TRUTH_BUCKET)
    check_waiting_reviews.lambda_handler({}, lambda_context)
    [record] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [(namespace, name, dimensions)] = alarm_reads("ReviewWaitAlarm")
    [definition] = record["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == namespace == METRICS_NAMESPACE
    assert name in {metric["Name"] for metric in definition["Metrics"]}
    assert [sorted(names) for names in definition["Dimensions"]] == [sorted(dimensions)]
    globals_ = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert record["service"] == dimensions["service"] == globals_["POWERTOOLS_SERVICE_NAME"]
    function = RESOURCES["CheckWaitingReviewsFunction"]["Properties"]["Environment"]["Variables"]
    assert dimensions["stack"] == function["STACK_NAME"] == {"Ref": "AWS::StackName"}


def test_the_wait_alarm_compares_hours_with_the_parameter_and_says_when_the_check_is_silent():
    alarm = RESOURCES["ReviewWaitAlarm"]["Properties"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        {"Ref": "ReviewMaxWaitHours"},
        "GreaterThanThreshold",
    )
    assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 3600)
    assert alarm["TreatMissingData"] == "missing"
    assert alarm["InsufficientDataActions"] == [{"Ref": "AlarmTopic"}]
    parameter = TEMPLATE["Parameters"]["ReviewMaxWaitHours"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", 72)
    assert parameter["MaxValue"] == 14 * 24  # SQS's longest retention


def test_the_hourly_check_lists_only_the_waiting_prefix_it_is_allowed_to():
    function = RESOURCES["CheckWaitingReviewsFunction"]["Properties"]
    assert function["Events"] == {
        "Hourly": {
            "Type": "Schedule",
            "Properties": {
                "Description": "The age of the oldest waiting review item, every hour.",
                "Schedule": "rate(1 hour)",
            },
        }
    }
    [listing] = EXPECTED_STATEMENTS["CheckWaitingReviewsRole"][:1]
    assert listing["Condition"] == {
        "StringEquals": {"s3:prefix": check_waiting_reviews.WAITING_PREFIX}
    }
    assert function["Environment"]["Variables"]["GROUND_TRUTH_BUCKET"] == {
        "Ref": "GroundTruthBucket"
    }


def test_the_schedule_may_invoke_only_the_check():
    [permission] = [r for r in GENERATED.values() if r["Type"] == "AWS::Lambda::Permission"]
    properties = permission["Properties"]
    assert properties["FunctionName"] == {"Ref": "CheckWaitingReviewsFunction"}
    assert properties["Principal"] == "events.amazonaws.com"
    assert properties["SourceArn"] == {"Fn::GetAtt": ["CheckWaitingReviewsFunctionHourly", "Arn"]}


def test_the_substitutions_give_the_state_machine_what_the_functions_get():
    assert SUBSTITUTIONS["MetricsNamespace"] == METRICS_NAMESPACE
    assert SUBSTITUTIONS["StackName"] == {"Ref": "AWS::StackName"}  # the functions' STACK_NAME
    assert SUBSTITUTIONS["GroundTruthBucketName"] == {"Ref": "GroundTruthBucket"}
