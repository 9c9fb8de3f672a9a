"""training.cleanup: the calls in order under botocore's Stubber (moto 5.2.5 has no
list/delete_monitoring_schedule, and its list_models ignores NameContains), and real removals
in moto's SageMaker and CloudWatch."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from training import cleanup, deploy
from training.cleanup import Removal
from training.common import rollout

from . import sagemaker_answers as answers
from .conftest import REGION
from .sagemaker_answers import ARN, WHEN

ROLLOUT_ALARMS = [
    f"scones-rollout-{watch}" for watch in ("5xx", "4xx", "latency", "low-confidence")
]


@pytest.fixture
def watch():
    """A CloudWatch client under botocore's Stubber; every queued answer must be asked for."""
    client = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def queue_listing(stubber, operation, key, pages, contains="scones"):
    """A List* call's pages of summaries, each page a list of (name, summary fields) pairs."""
    for number, page in enumerate(pages):
        params = {"NameContains": contains}
        if number:
            params["NextToken"] = f"page{number}"
        answer = {key: page}
        if number + 1 < len(pages):
            answer["NextToken"] = f"page{number + 1}"
        stubber.add_response(operation, answer, params)


def configs(*names):
    return [
        {
            "EndpointConfigName": name,
            "EndpointConfigArn": f"{ARN}:endpoint-config/{name}",
            "CreationTime": WHEN,
        }
        for name in names
    ]


def models(*names):
    return [
        {"ModelName": name, "ModelArn": f"{ARN}:model/{name}", "CreationTime": WHEN}
        for name in names
    ]


def endpoints(*names):
    return [
        {
            "EndpointName": name,
            "EndpointArn": f"{ARN}:endpoint/{name}",
            "CreationTime": WHEN,
            "LastModifiedTime": WHEN,
            "EndpointStatus": "InService",
        }
        for name in names
    ]


def queue_no_earlier_rollouts(stubber):
    queue_listing(stubber, "list_endpoints", "Endpoints", [[]])
    queue_listing(stubber, "list_endpoint_configs", "EndpointConfigs", [[]])
    queue_listing(stubber, "list_models", "Models", [[]])


def queue_alarms(stubber, names, pages=1):
    """DescribeAlarms by the rollout's prefix, its answer split into `pages`."""
    size = -(-len(names) // pages) if names else 1
    chunks = [names[start : start + size] for start in range(0, max(len(names), 1), size)]
    for number, chunk in enumerate(chunks):
        params = {"AlarmNamePrefix": "scones-rollout-", "AlarmTypes": ["MetricAlarm"]}
        if number:
            params["NextToken"] = f"alarms{number}"
        answer = {"MetricAlarms": [{"AlarmName": name} for name in chunk]}
        if number + 1 < len(chunks):
            answer["NextToken"] = f"alarms{number + 1}"
        stubber.add_response("describe_alarms", answer, params)


def not_found(stubber, operation, params, code="ValidationException", what="resource"):
    stubber.add_client_error(operation, code, f"Could not find {what}.", expected_params=params)


def queue_schedules(stubber, names):
    summaries = [
        {
            "MonitoringScheduleName": name,
            "MonitoringScheduleArn": f"{ARN}:monitoring-schedule/{name}",
            "CreationTime": WHEN,
            "LastModifiedTime": WHEN,
            "MonitoringScheduleStatus": "Scheduled",
            "EndpointName": "scones",
        }
        for name in names
    ]
    stubber.add_response(
        "list_monitoring_schedules",
        {"MonitoringScheduleSummaries": summaries},
        {"EndpointName": "scones"},
    )
    for name in names:
        stubber.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": name})


def schedule(name, status="Pending"):
    return {
        "MonitoringScheduleArn": f"{ARN}:monitoring-schedule/{name}",
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": status,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        "MonitoringScheduleConfig": {},
    }


def queue_endpoint_and_what_it_uses(stubber):
    stubber.add_response("describe_endpoint", answers.endpoint(), {"EndpointName": "scones"})
    stubber.add_response("delete_endpoint", {}, {"EndpointName": "scones"})
    stubber.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "scones-config",
            "EndpointConfigArn": f"{ARN}:endpoint-config/scones-config",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "scones-model"}],
            "CreationTime": WHEN,
        },
        {"EndpointConfigName": "scones-config"},
    )
    stubber.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "scones-config"})
    stubber.add_response(
        "describe_model",
        {
            "ModelName": "scones-model",
            "ModelArn": f"{ARN}:model/scones-model",
            "CreationTime": WHEN,
        },
        {"ModelName": "scones-model"},
    )
    stubber.add_response("delete_model", {}, {"ModelName": "scones-model"})


def job_definition(stubber, exists=False):
    """training.monitor's model-quality job definition, found and deleted, or absent."""
    params = {"JobDefinitionName": "scones-model-quality"}
    if not exists:
        not_found(stubber, "describe_model_quality_job_definition", params, "ResourceNotFound")
        return
    stubber.add_response("describe_model_quality_job_definition", answers.job_definition(), params)
    stubber.add_response("delete_model_quality_job_definition", {}, params)


def queue_nothing_named_after_it(stubber):
    """No schedule, job definition, endpoint, configuration or model named "scones"."""
    queue_schedules(stubber, [])
    job_definition(stubber)
    not_found(stubber, "describe_endpoint", {"EndpointName": "scones"})
    not_found(stubber, "describe_endpoint_config", {"EndpointConfigName": "scones"})
    not_found(stubber, "describe_model", {"ModelName": "scones"})


def test_removes_schedules_first_then_endpoint_config_and_model(stubbed, watch):
    client, stubber = stubbed
    queue_schedules(stubber, ["scones-quality", "scones-drift"])
    stubber.add_response(
        "describe_monitoring_schedule",
        schedule("scones-quality"),
        {"MonitoringScheduleName": "scones-quality"},
    )
    for name in ("scones-quality", "scones-drift"):
        params = {"MonitoringScheduleName": name}
        not_found(stubber, "describe_monitoring_schedule", params, code="ResourceNotFound")
    job_definition(stubber, exists=True)
    queue_endpoint_and_what_it_uses(stubber)
    queue_no_earlier_rollouts(stubber)
    queue_alarms(watch[1], [])
    removed = cleanup.cleanup(client, watch[0], "scones", poll_seconds=0)
    assert removed == [
        Removal("monitoring schedule", "scones-quality"),
        Removal("monitoring schedule", "scones-drift"),
        Removal("model-quality job definition", "scones-model-quality"),
        Removal("endpoint", "scones"),
        Removal("endpoint configuration", "scones-config"),
        Removal("model", "scones-model"),
    ]
    assert cleanup.describe(removed, "scones").splitlines()[3] == "removed endpoint scones"


def test_without_an_endpoint_it_removes_what_is_named_after_it(stubbed, watch):
    client, stubber = stubbed
    queue_schedules(stubber, [])
    job_definition(stubber)
    not_found(stubber, "describe_endpoint", {"EndpointName": "scones"}, what="endpoint")
    not_found(stubber, "describe_endpoint_config", {"EndpointConfigName": "scones"})
    stubber.add_response(
        "describe_model",
        {"ModelName": "scones", "ModelArn": f"{ARN}:model/scones", "CreationTime": WHEN},
        {"ModelName": "scones"},
    )
    stubber.add_response("delete_model", {}, {"ModelName": "scones"})
    queue_listing(stubber, "list_endpoints", "Endpoints", [[]])
    queue_listing(stubber, "list_endpoint_configs", "EndpointConfigs", [[]])
    queue_listing(stubber, "list_models", "Models", [models("scones")])  # just deleted: not again
    queue_alarms(watch[1], [])
    assert cleanup.cleanup(client, watch[0], "scones") == [Removal("model", "scones")]


def test_nothing_there_is_nothing_removed(stubbed, watch):
    client, stubber = stubbed
    queue_nothing_named_after_it(stubber)
    queue_no_earlier_rollouts(stubber)
    queue_alarms(watch[1], [])
    removed = cleanup.cleanup(client, watch[0], "scones")
    assert removed == []
    assert cleanup.describe(removed, "scones").startswith("nothing to remove: no endpoint scones")


def test_a_schedule_that_does_not_go_away(stubbed):
    client, stubber = stubbed
    queue_schedules(stubber, ["scones-quality"])
    stubber.add_response(
        "describe_monitoring_schedule",
        schedule("scones-quality"),
        {"MonitoringScheduleName": "scones-quality"},
    )
    with pytest.raises(cleanup.ScheduleStillThere, match="scones-quality still exists"):
        cleanup.cleanup(client, None, "scones", timeout_seconds=0)


def test_other_errors_are_not_taken_for_absence(stubbed):
    client, stubber = stubbed
    queue_schedules(stubber, [])
    job_definition(stubber)
    stubber.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized")
    with pytest.raises(client.exceptions.ClientError, match="not authorized"):
        cleanup.cleanup(client, None, "scones")


def test_deployed_resources_really_go(session, aws):
    sagemaker = session.client("sagemaker")
    deployment = deploy.Deployment(
        "scones", "s3://m/model.tar.gz", "arn:aws:iam::123456789012:role/r", "s3://c/capture"
    )
    deploy.deploy(sagemaker, deployment, timeout_seconds=0)
    removed, config = cleanup.remove_endpoint(sagemaker, "scones")
    removed_config, models = cleanup.remove_endpoint_config(sagemaker, config)
    removed += removed_config + cleanup.remove_models(sagemaker, models)
    assert [removal.kind for removal in removed] == ["endpoint", "endpoint configuration", "model"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    assert cleanup.remove_endpoint(sagemaker, "scones") == ([], "scones")
    assert cleanup.remove_models(sagemaker, ["scones"]) == []


def test_cli_validates_the_name(capsys):
    with pytest.raises(SystemExit) as exited:
        cleanup.main(["--endpoint-name", "Scones"])
    assert exited.value.code == 2
    assert "lower-case" in capsys.readouterr().err


def test_cli_runs_as_a_module():
    help_text = subprocess.run(
        [sys.executable, "-m", "training.cleanup", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[3],
    ).stdout
    assert "--endpoint-name" in help_text and "--region" in help_text


def test_earlier_rollouts_and_alarms_go_look_alikes_stay(stubbed, watch):
    """After two rollouts: the first deployment's and the earlier rollout's configuration and
    model go, as do the four alarms; another endpoint's names, and a configuration another
    endpoint serves, stay. Every listing comes in two pages."""
    client, stubber = stubbed
    queue_nothing_named_after_it(stubber)
    # an endpoint whose own name is one of our rollout names: its configuration stays
    queue_listing(
        stubber,
        "list_endpoints",
        "Endpoints",
        [endpoints("scones"), endpoints("scones-20261202-000000")],
    )
    stubber.add_response(
        "describe_endpoint",
        {
            **answers.endpoint(),
            "EndpointName": "scones-20261202-000000",
            "EndpointConfigName": "scones-20261202-000000",
        },
        {"EndpointName": "scones-20261202-000000"},
    )
    look_alikes = (
        "scones-2",
        "scones-2-20261201-090000",
        "my-scones-20261201-090000",
        "scones-20261301-000000",
        "scones-20261201-090000-x",
        "scones-20261202-000000",
    )
    queue_listing(
        stubber,
        "list_endpoint_configs",
        "EndpointConfigs",
        [configs("scones", *look_alikes[:3]), configs(*look_alikes[3:], "scones-20261201-090000")],
    )
    stubber.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "scones"})
    stubber.add_response(
        "delete_endpoint_config", {}, {"EndpointConfigName": "scones-20261201-090000"}
    )
    queue_listing(
        stubber,
        "list_models",
        "Models",
        [models("scones-20261201-090000"), models(*look_alikes, "scones")],
    )
    stubber.add_response("delete_model", {}, {"ModelName": "scones-20261201-090000"})
    stubber.add_response("delete_model", {}, {"ModelName": "scones"})
    queue_alarms(
        watch[1], [*ROLLOUT_ALARMS[:2], "scones-rollout-5xx-mine", *ROLLOUT_ALARMS[2:]], pages=2
    )
    watch[1].add_response("delete_alarms", {}, {"AlarmNames": ROLLOUT_ALARMS})
    removed = cleanup.cleanup(client, watch[0], "scones")
    assert removed == [
        Removal("endpoint configuration", "scones"),
        Removal("endpoint configuration", "scones-20261201-090000"),
        Removal("model", "scones-20261201-090000"),
        Removal("model", "scones"),
        *[Removal("alarm", name) for name in ROLLOUT_ALARMS],
    ]
    assert (
        cleanup.describe(removed, "scones").splitlines()[-1]
        == "removed alarm scones-rollout-low-confidence"
    )


def test_deployed_name_is_deploys_own_rule():
    rollout_name = deploy.new_resource_name("scones", datetime(2026, 12, 5, 1, 2, 3))
    assert cleanup.deployed_name("scones", rollout_name)
    assert cleanup.deployed_name("scones", "scones")
    assert not cleanup.deployed_name("scones-2", rollout_name)
    assert not cleanup.deployed_name("scones", rollout_name.replace("-01", "-1"))


def test_a_shortened_name_could_be_another_endpoints():
    """Two endpoints with the same first 47 characters get the same rollout names."""
    long_name = "s" * 50
    rollout_name = deploy.new_resource_name(long_name, datetime(2026, 12, 5, 1, 2, 3))
    assert rollout_name == deploy.new_resource_name(
        long_name + "-2", datetime(2026, 12, 5, 1, 2, 3)
    )
    assert not cleanup.deployed_name(long_name, rollout_name)
    assert cleanup.deployed_name(long_name, long_name)


def test_alarms_really_go_another_endpoints_stay(session):
    cloudwatch = session.client("cloudwatch")
    guardrails = rollout.Guardrails()
    for name in ("scones", "scones-2"):
        for alarm in rollout.alarms(name, deploy.VARIANT, guardrails):
            cloudwatch.put_metric_alarm(**alarm)
    removed = cleanup.remove_alarms(cloudwatch, "scones")
    assert sorted(removal.name for removal in removed) == sorted(ROLLOUT_ALARMS)
    left = {alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert left == {alarm.replace("scones", "scones-2") for alarm in ROLLOUT_ALARMS}
    assert cleanup.remove_alarms(cloudwatch, "scones") == []


def test_a_refused_deletion_stops_the_cleanup(stubbed, watch):
    client, stubber = stubbed
    stubber.add_response("list_endpoints", {"Endpoints": []}, {"NameContains": "scones"})
    stubber.add_response(
        "list_endpoint_configs",
        {"EndpointConfigs": configs("scones-20261201-090000")},
        {"NameContains": "scones"},
    )
    stubber.add_client_error("delete_endpoint_config", "AccessDeniedException", "not authorized")
    with pytest.raises(client.exceptions.ClientError, match="not authorized"):
        cleanup.remove_earlier_rollouts(client, "scones", cleanup.configs_in_use(client, "scones"))


def test_a_rolled_out_endpoint_goes_first_then_every_rollout(stubbed, watch):
    """The endpoint serves its second rollout: it goes, then that configuration and model, then
    the first deployment's and the first rollout's; none is deleted twice."""
    client, stubber = stubbed
    serving, earlier = "scones-20261203-101010", "scones-20261201-090000"
    queue_schedules(stubber, [])
    job_definition(stubber)
    stubber.add_response(
        "describe_endpoint",
        {**answers.endpoint(), "EndpointConfigName": serving},
        {"EndpointName": "scones"},
    )
    stubber.add_response("delete_endpoint", {}, {"EndpointName": "scones"})
    config = {
        "EndpointConfigName": serving,
        "EndpointConfigArn": f"{ARN}:endpoint-config/{serving}",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": serving}],
        "CreationTime": WHEN,
    }
    stubber.add_response("describe_endpoint_config", config, {"EndpointConfigName": serving})
    stubber.add_response("delete_endpoint_config", {}, {"EndpointConfigName": serving})
    stubber.add_response("describe_model", models(serving)[0], {"ModelName": serving})
    stubber.add_response("delete_model", {}, {"ModelName": serving})
    queue_listing(stubber, "list_endpoints", "Endpoints", [endpoints("scones")])  # Deleting
    queue_listing(stubber, "list_endpoint_configs", "EndpointConfigs", [configs(serving, earlier)])
    stubber.add_response("delete_endpoint_config", {}, {"EndpointConfigName": earlier})
    queue_listing(stubber, "list_models", "Models", [models("scones", serving, earlier)])
    stubber.add_response("delete_model", {}, {"ModelName": "scones"})
    stubber.add_response("delete_model", {}, {"ModelName": earlier})
    queue_alarms(watch[1], ROLLOUT_ALARMS)
    watch[1].add_response("delete_alarms", {}, {"AlarmNames": ROLLOUT_ALARMS})
    removed = cleanup.cleanup(client, watch[0], "scones")
    assert removed == [
        Removal("endpoint", "scones"),
        Removal("endpoint configuration", serving),
        Removal("model", serving),
        Removal("endpoint configuration", earlier),
        Removal("model", "scones"),
        Removal("model", earlier),
        *[Removal("alarm", name) for name in ROLLOUT_ALARMS],
    ]


def test_a_refused_alarm_deletion_is_not_taken_for_success(watch):
    client, stubber = watch
    queue_alarms(stubber, ROLLOUT_ALARMS)
    stubber.add_client_error("delete_alarms", "AccessDenied", "not authorized")
    with pytest.raises(client.exceptions.ClientError, match="not authorized"):
        cleanup.remove_alarms(client, "scones")


def test_a_look_alike_endpoint_gone_meanwhile_keeps_nothing(stubbed):
    client, stubber = stubbed
    queue_listing(stubber, "list_endpoints", "Endpoints", [endpoints("scones", "scones-2")])
    not_found(stubber, "describe_endpoint", {"EndpointName": "scones-2"})
    assert cleanup.configs_in_use(client, "scones") == set()
