"""training.cleanup: the calls in order under botocore's Stubber (moto 5.2.5 has no
list/delete_monitoring_schedule), and real removals in moto's SageMaker."""

import subprocess
import sys
from pathlib import Path

import pytest

from training import cleanup, deploy
from training.cleanup import Removal

from . import sagemaker_answers as answers
from .sagemaker_answers import ARN, WHEN


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


def test_removes_schedules_first_then_endpoint_config_and_model(stubbed):
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
    removed = cleanup.cleanup(client, "scones", poll_seconds=0)
    assert removed == [
        Removal("monitoring schedule", "scones-quality"),
        Removal("monitoring schedule", "scones-drift"),
        Removal("model-quality job definition", "scones-model-quality"),
        Removal("endpoint", "scones"),
        Removal("endpoint configuration", "scones-config"),
        Removal("model", "scones-model"),
    ]
    assert cleanup.describe(removed, "scones").splitlines()[3] == "removed endpoint scones"


def test_without_an_endpoint_it_removes_what_is_named_after_it(stubbed):
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
    assert cleanup.cleanup(client, "scones") == [Removal("model", "scones")]


def test_nothing_there_is_nothing_removed(stubbed):
    client, stubber = stubbed
    queue_schedules(stubber, [])
    job_definition(stubber)
    not_found(stubber, "describe_endpoint", {"EndpointName": "scones"})
    not_found(stubber, "describe_endpoint_config", {"EndpointConfigName": "scones"})
    not_found(stubber, "describe_model", {"ModelName": "scones"})
    removed = cleanup.cleanup(client, "scones")
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
        cleanup.cleanup(client, "scones", timeout_seconds=0)


def test_other_errors_are_not_taken_for_absence(stubbed):
    client, stubber = stubbed
    queue_schedules(stubber, [])
    job_definition(stubber)
    stubber.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized")
    with pytest.raises(client.exceptions.ClientError, match="not authorized"):
        cleanup.cleanup(client, "scones")


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
