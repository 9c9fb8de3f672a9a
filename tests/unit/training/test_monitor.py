"""training.monitor under botocore's Stubber (moto has no Model Monitor): the calls in order
with their exact requests, each request held to SageMaker's documented rules (botocore checks
types and required members, not patterns, maxima or cross-field rules), and every refusal."""

import re

import pytest

from training import monitor
from training.monitor import InvalidMonitorSetting, Monitor

from . import sagemaker_answers as answers
from .sagemaker_answers import ARN, WHEN

ROLE = "arn:aws:iam::123456789012:role/model-monitor"
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
MONITOR = Monitor("scones", "s3://scones-ground-truth", "s3://data/scones/model-quality", ROLE)

# The rules as SageMaker's API reference states them, written out here, not imported.
NAME_RULE = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"  # 1-63
ROLE_RULE = r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"  # 20-2048
S3_RULE = r"(https|s3)://([^/]+)/?(.*)"  # MonitoringS3Uri: at most 512
OFFSET_RULE = r".?P.*"  # 1-15
SCHEDULE_FORMS = [  # ScheduleConfig: hourly, daily at an hour, every N hours from an hour
    r"cron\(0 \* \? \* \* \*\)",
    r"cron\(0 ([01]?[0-9]|2[0-3]) \? \* \* \*\)",
    r"cron\(0 ([01]?[0-9]|2[0-3])/([01]?[0-9]|2[0-4]) \? \* \* \*\)",
]


def assert_definition_meets_the_rules(request):
    assert re.fullmatch(NAME_RULE, request["JobDefinitionName"])
    assert 1 <= len(request["JobDefinitionName"]) <= 63
    app = request["ModelQualityAppSpecification"]
    assert app["ImageUri"] and len(app["ImageUri"]) <= 255
    assert app["ProblemType"] in {"BinaryClassification", "MulticlassClassification", "Regression"}
    endpoint = request["ModelQualityJobInput"]["EndpointInput"]
    assert re.fullmatch(NAME_RULE, endpoint["EndpointName"])
    assert endpoint["LocalPath"] and len(endpoint["LocalPath"]) <= 256
    # Binary from a probability: no InferenceAttribute then (required only for the others)
    assert app["ProblemType"] == "BinaryClassification" and "InferenceAttribute" not in endpoint
    assert endpoint["ProbabilityAttribute"] == "$[1]"  # p_motorcycle, class 1 in .lst order
    assert 0 <= endpoint["ProbabilityThresholdAttribute"] <= 1
    for offset in (endpoint["StartTimeOffset"], endpoint["EndTimeOffset"]):
        assert re.fullmatch(OFFSET_RULE, offset) and 1 <= len(offset) <= 15
    ground_truth = request["ModelQualityJobInput"]["GroundTruthS3Input"]["S3Uri"]
    assert re.fullmatch(S3_RULE, ground_truth) and len(ground_truth) <= 512
    assert ground_truth.endswith("/ground-truth")  # never neither/ nor reviews/
    [output] = request["ModelQualityJobOutputConfig"]["MonitoringOutputs"]  # exactly one
    assert re.fullmatch(S3_RULE, output["S3Output"]["S3Uri"])
    assert len(output["S3Output"]["S3Uri"]) <= 512
    assert output["S3Output"]["S3UploadMode"] in {"Continuous", "EndOfJob"}
    cluster = request["JobResources"]["ClusterConfig"]
    assert 1 <= cluster["InstanceCount"] <= 100 and 1 <= cluster["VolumeSizeInGB"] <= 16384
    assert re.fullmatch(ROLE_RULE, request["RoleArn"]) and 20 <= len(request["RoleArn"]) <= 2048
    assert 1 <= request["StoppingCondition"]["MaxRuntimeInSeconds"] <= 86400


def assert_schedule_meets_the_rules(request, definition):
    assert re.fullmatch(NAME_RULE, request["MonitoringScheduleName"])
    config = request["MonitoringScheduleConfig"]
    expression = config["ScheduleConfig"]["ScheduleExpression"]
    assert any(re.fullmatch(form, expression) for form in SCHEDULE_FORMS)
    assert config["MonitoringType"] == "ModelQuality"
    assert config["MonitoringJobDefinitionName"] == definition["JobDefinitionName"]
    if expression == "cron(0 * ? * * *)":  # an hourly run ends before the next one starts
        assert definition["StoppingCondition"]["MaxRuntimeInSeconds"] <= 1800


def endpoint(stubber, capture=True):
    stubber.add_response("describe_endpoint", answers.endpoint(capture), {"EndpointName": "scones"})


def absent(stubber, operation, params):
    stubber.add_client_error(operation, "ResourceNotFound", "Could not find it.", 400, params)


def neither_exists(stubber):
    name = "scones-model-quality"
    absent(stubber, "describe_monitoring_schedule", {"MonitoringScheduleName": name})
    absent(stubber, "describe_model_quality_job_definition", {"JobDefinitionName": name})


EXPECTED_DEFINITION = {
    "JobDefinitionName": "scones-model-quality",
    "ModelQualityAppSpecification": {"ImageUri": IMAGE, "ProblemType": "BinaryClassification"},
    "ModelQualityJobInput": {
        "EndpointInput": {
            "EndpointName": "scones",
            "LocalPath": "/opt/ml/processing/input/endpoint",
            "ProbabilityAttribute": "$[1]",
            "ProbabilityThresholdAttribute": 0.5,
            "StartTimeOffset": "-P8D",
            "EndTimeOffset": "-P1D",
        },
        "GroundTruthS3Input": {"S3Uri": "s3://scones-ground-truth/ground-truth"},
    },
    "ModelQualityJobOutputConfig": {
        "MonitoringOutputs": [
            {
                "S3Output": {
                    "S3Uri": "s3://data/scones/model-quality",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                }
            }
        ]
    },
    "JobResources": {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 20}
    },
    "RoleArn": ROLE,
    "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
}
EXPECTED_SCHEDULE = {
    "MonitoringScheduleName": "scones-model-quality",
    "MonitoringScheduleConfig": {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": "scones-model-quality",
        "MonitoringType": "ModelQuality",
    },
}


def test_creates_the_definition_then_its_schedule_with_exact_requests(stubbed):
    client, stubber = stubbed
    endpoint(stubber)
    neither_exists(stubber)
    definition_arn = f"{ARN}:model-quality-job-definition/scones-model-quality"
    stubber.add_response(
        "create_model_quality_job_definition",
        {"JobDefinitionArn": definition_arn},
        EXPECTED_DEFINITION,
    )
    stubber.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": f"{ARN}:monitoring-schedule/scones-model-quality"},
        EXPECTED_SCHEDULE,
    )
    monitor.create(client, MONITOR)


def test_the_requests_meet_each_documented_rule():
    definition = monitor.job_definition(MONITOR, IMAGE)
    assert definition == EXPECTED_DEFINITION
    assert_definition_meets_the_rules(definition)
    assert_schedule_meets_the_rules(monitor.schedule_request(MONITOR), definition)


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0 * ? * * *)",
        "cron(0 12 ? * * *)",
        "cron(0 0 ? * * *)",
        "cron(0 17/12 ? * * *)",
        "cron(0 0/2 ? * * *)",
    ],
)
def test_each_documented_schedule_form_is_taken(schedule):
    chosen = Monitor(**{**MONITOR.__dict__, "schedule": schedule})
    monitor.check(chosen, ["ml.m5.large"])
    assert_schedule_meets_the_rules(
        monitor.schedule_request(chosen), monitor.job_definition(chosen, IMAGE)
    )


def setting(**change):
    return Monitor(**{**MONITOR.__dict__, **change})


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"role_arn": "arn:aws:iam::123:role/x"}, "is not an IAM role ARN"),
        ({"role_arn": "arn:aws:iam::123456789012:user/x"}, "is not an IAM role ARN"),
        (
            {"ground_truth": "scones-ground-truth"},
            "--ground-truth 'scones-ground-truth/ground-truth'",
        ),
        ({"ground_truth": "s3://" + "b" * 500}, "is not an s3:// URI of at most 512"),
        ({"output": "s3://o/" + "k" * 510}, "output 's3://o/kkk"),
        ({"schedule": "NOW"}, "--schedule 'NOW' is not one SageMaker supports"),
        ({"schedule": "cron(0 24 ? * * *)"}, "is not one SageMaker supports"),
        ({"schedule": "cron(30 * ? * * *)"}, "is not one SageMaker supports"),
        ({"schedule": "cron(0 0/25 ? * * *)"}, "is not one SageMaker supports"),
        ({"schedule": "rate(1 hour)"}, "is not one SageMaker supports"),
        ({"start_offset": "P8D"}, "offset 'P8D' is not -P<days>D"),
        ({"end_offset": "-PT1H30M"}, "offset '-PT1H30M' is not"),
        ({"start_offset": "-P" + "9" * 14 + "D"}, "is not -P<days>D"),  # 17 characters
        ({"start_offset": "-PT1H", "end_offset": "-P1D"}, "must come before --end-offset"),
        ({"start_offset": "-P1D", "end_offset": "-PT24H"}, "must come before --end-offset"),
        ({"instance_type": "ml.m5.huge"}, "'ml.m5.huge' is not a processing instance"),
        ({"volume_gb": 0}, "--volume-gb 0 is not 1 to 16384"),
        ({"volume_gb": 16385}, "--volume-gb 16385 is not 1 to 16384"),
        ({"max_runtime_seconds": 1801}, "is not 1 to 1800 s (an hourly run must end before"),
        ({"max_runtime_seconds": 0}, "--max-runtime 0 is not 1 to 1800 s"),
        (
            {"schedule": "cron(0 3 ? * * *)", "max_runtime_seconds": 86401},
            "--max-runtime 86401 is not 1 to 86400 s",
        ),
    ],
)
def test_each_rule_broken_is_refused_by_name_before_any_call(stubbed, change, named):
    client, _ = stubbed  # nothing queued: any call would fail the test
    with pytest.raises(InvalidMonitorSetting) as refused:
        monitor.create(client, setting(**change))
    assert named in str(refused.value)


def test_a_daily_schedule_may_run_up_to_a_day():
    monitor.check(setting(schedule="cron(0 3 ? * * *)", max_runtime_seconds=86400), ["ml.m5.large"])


def test_names_fit_63_characters_and_stay_unique():
    assert monitor.monitor_name("scones") == "scones-model-quality"
    longest = "a" * 63
    sibling = "a" * 62 + "b"
    names = {monitor.monitor_name(longest), monitor.monitor_name(sibling)}
    assert len(names) == 2
    for name in names:
        assert len(name) <= 63 and re.fullmatch(NAME_RULE, name)
        assert name.endswith("-model-quality")
    cut_at_a_hyphen = monitor.monitor_name("a" * 39 + "-" + "b" * 23)
    assert re.fullmatch(NAME_RULE, cut_at_a_hyphen) and "--" not in cut_at_a_hyphen


@pytest.mark.parametrize(
    ("capture", "said"), [(False, "does not capture"), (None, "does not capture")]
)
def test_an_endpoint_that_does_not_capture_is_refused(stubbed, capture, said):
    client, stubber = stubbed
    endpoint(stubber, capture)
    with pytest.raises(monitor.EndpointNotCapturing, match=f"endpoint scones {said}"):
        monitor.create(client, MONITOR)


def test_a_missing_endpoint_is_refused(stubbed):
    client, stubber = stubbed
    absent(stubber, "describe_endpoint", {"EndpointName": "scones"})
    with pytest.raises(monitor.EndpointNotCapturing, match="endpoint scones does not exist"):
        monitor.create(client, MONITOR)


def schedule_answer():
    return {
        "MonitoringScheduleArn": f"{ARN}:monitoring-schedule/scones-model-quality",
        "MonitoringScheduleName": "scones-model-quality",
        "MonitoringScheduleStatus": "Scheduled",
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        "MonitoringScheduleConfig": {},
    }


def test_an_existing_schedule_is_never_replaced(stubbed):
    client, stubber = stubbed
    endpoint(stubber)
    name = {"MonitoringScheduleName": "scones-model-quality"}
    stubber.add_response("describe_monitoring_schedule", schedule_answer(), name)
    absent(
        stubber,
        "describe_model_quality_job_definition",
        {"JobDefinitionName": "scones-model-quality"},
    )
    with pytest.raises(monitor.MonitorExists, match="schedule scones-model-quality already"):
        monitor.create(client, MONITOR)


def test_delete_removes_the_schedule_then_its_definition(stubbed):
    client, stubber = stubbed
    schedule = {"MonitoringScheduleName": "scones-model-quality"}
    definition = {"JobDefinitionName": "scones-model-quality"}
    stubber.add_response("describe_monitoring_schedule", schedule_answer(), schedule)
    stubber.add_response("delete_monitoring_schedule", {}, schedule)
    stubber.add_response(
        "describe_model_quality_job_definition", answers.job_definition(), definition
    )
    stubber.add_response("delete_model_quality_job_definition", {}, definition)
    assert monitor.delete(client, "scones") == [
        "monitoring schedule scones-model-quality",
        "model-quality job definition scones-model-quality",
    ]


def test_delete_with_nothing_there_removes_nothing(stubbed):
    client, stubber = stubbed
    neither_exists(stubber)
    assert monitor.delete(client, "scones") == []


def test_help_says_the_report_is_the_main_path(capsys):
    with pytest.raises(SystemExit) as exited:
        monitor.main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "no longer open to new customers" in text
    assert "python -m training.report --ground-truth" in text


def test_creating_needs_the_ground_truth_the_bucket_and_the_role(capsys):
    with pytest.raises(SystemExit) as exited:
        monitor.main(["--ground-truth", "s3://gt", "--bucket", "data"])
    assert exited.value.code == 2
    assert "name --ground-truth, --bucket and --role" in capsys.readouterr().err


def test_the_command_line_makes_the_same_monitor():
    args = monitor.parse_args(
        [
            "--endpoint-name",
            "scones",
            "--ground-truth",
            "s3://scones-ground-truth/",
            "--bucket",
            "data",
            "--prefix",
            "scones",
            "--role",
            ROLE,
        ]
    )
    assert monitor.monitor_of(args) == Monitor(
        "scones", "s3://scones-ground-truth/", "s3://data/scones/model-quality", ROLE
    )
    assert monitor.monitor_of(args).ground_truth_uri == "s3://scones-ground-truth/ground-truth"
