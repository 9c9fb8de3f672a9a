"""training.deploy --update-endpoint through botocore's Stubber: the calls, in order, and what
they ask for. Stubber checks each request against botocore's model (types, required fields,
minima); the maxima and cross-field rules SageMaker and CloudWatch document are checked here,
one test per rule, on the very requests the command sends."""

import re
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from training import deploy
from training.common import rollout

from .conftest import REGION

NAME = "scones"
OLD = "scones"  # training.deploy names the first configuration like the endpoint
NOW = datetime(2026, 12, 4, 23, 59, 1, tzinfo=UTC)
NEW = "scones-20261204-235901"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
MODEL_DATA = "s3://models/job/output/model.tar.gz"
ROLE = "arn:aws:iam::123456789012:role/serve"
CAPTURE = "s3://captures/scones/data-capture"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012"
WHEN = "2026-01-01T00:00:00Z"
# SageMaker's EndpointConfigName and ModelName patterns, as its API reference gives them
CONFIG_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
MODEL_NAME = re.compile(r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?")
ALARM_NAME = re.compile(r"(?!\s*$).+")
METRIC_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


def endpoint(status="InService", config=OLD, **extra):
    return {
        "EndpointName": NAME,
        "EndpointArn": f"{ARN}:endpoint/{NAME}",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": WHEN,
        "LastModifiedTime": WHEN,
        **extra,
    }


def live_config(capture=CAPTURE, instance_type="ml.c5.xlarge", count=1):
    config = {
        "EndpointConfigName": OLD,
        "EndpointConfigArn": f"{ARN}:endpoint-config/{OLD}",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": OLD,
                "InitialInstanceCount": count,
                "InstanceType": instance_type,
            }
        ],
        "CreationTime": WHEN,
    }
    if capture:
        config["DataCaptureConfig"] = deploy.data_capture_config(capture)
    return config


class Clients:
    """A session's `client(name)` answered by stubbed botocore clients, one per service."""

    def __init__(self):
        self.clients = {
            name: boto3.client(name, region_name=REGION) for name in ("sagemaker", "cloudwatch")
        }
        self.stubbers = {name: Stubber(client) for name, client in self.clients.items()}
        for stubber in self.stubbers.values():
            stubber.activate()

    def client(self, name):
        return self.clients[name]

    @property
    def sagemaker(self):
        return self.stubbers["sagemaker"]

    @property
    def cloudwatch(self):
        return self.stubbers["cloudwatch"]

    def assert_all_called(self):
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def not_found(stubber, method, **params):
    stubber.add_client_error(
        method, "ValidationException", f"Could not find {method}", expected_params=params
    )


def args(*extra):
    return deploy.parse_args(
        ["--model-data", MODEL_DATA, "--role", ROLE, "--update-endpoint", NAME, *extra]
    )


DEFAULTS = rollout.Guardrails()


def plan(guardrails=DEFAULTS, endpoint_name=NAME, now=NOW):
    deployment = deploy.Deployment(endpoint_name, MODEL_DATA, ROLE, CAPTURE, "ml.c5.xlarge", 1)
    return deploy.plan_update(deployment, live_config(), IMAGE, guardrails, now)


def alarm_state(name, state):
    return {
        "AlarmName": name,
        "StateValue": state,
        "StateReason": "Threshold Crossed" if state == "ALARM" else "",
    }


def expect_reads(clients, config=None, states=()):
    clients.sagemaker.add_response("describe_endpoint", endpoint(), {"EndpointName": NAME})
    clients.sagemaker.add_response(
        "describe_endpoint_config", config or live_config(), {"EndpointConfigName": OLD}
    )
    clients.cloudwatch.add_response(
        "describe_alarms",
        {"MetricAlarms": [alarm_state(name, state) for name, state in states]},
        {"AlarmNames": deploy.alarm_names(plan().alarms), "AlarmTypes": ["MetricAlarm"]},
    )


def expect_writes(clients, update):
    """Every call an update makes, with exactly the planned requests."""
    not_found(clients.sagemaker, "describe_endpoint", EndpointName=NEW)
    not_found(clients.sagemaker, "describe_endpoint_config", EndpointConfigName=NEW)
    not_found(clients.sagemaker, "describe_model", ModelName=NEW)
    for alarm in update.alarms:
        clients.cloudwatch.add_response("put_metric_alarm", {}, alarm)
    clients.sagemaker.add_response(
        "create_model",
        {"ModelArn": f"{ARN}:model/{NEW}"},
        {
            "ModelName": NEW,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": MODEL_DATA},
            "ExecutionRoleArn": ROLE,
        },
    )
    clients.sagemaker.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"{ARN}:endpoint-config/{NEW}"},
        {
            "EndpointConfigName": NEW,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": NEW,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.c5.xlarge",
                }
            ],
            "DataCaptureConfig": deploy.data_capture_config(CAPTURE),
        },
    )
    clients.sagemaker.add_response(
        "update_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{NAME}"},
        {
            "EndpointName": NAME,
            "EndpointConfigName": NEW,
            "DeploymentConfig": update.deployment_config,
        },
    )


def expect_states(clients, *answers):
    for answer in answers:
        clients.sagemaker.add_response("describe_endpoint", answer, {"EndpointName": NAME})


def run(clients, *extra):
    deploy.update_endpoint(clients, args(*extra), now=NOW, poll_seconds=0)


# --- the whole command, call by call ---------------------------------------------------


def test_an_update_creates_alarms_model_and_configuration_then_waits_for_the_new_one(capsys):
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint("Updating"), endpoint("Updating"), endpoint(config=NEW))
    run(clients)
    clients.assert_all_called()
    out = capsys.readouterr().out
    assert f"endpoint {NAME} serves {NEW}; it was {OLD}" in out
    assert f"--endpoint-name {NAME} --endpoint-config-name {OLD}" in out


def test_the_old_configuration_still_serving_before_the_update_shows_is_no_rollback(capsys):
    """A description from before SageMaker set Updating: waited past, not read as a rollback."""
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint(), endpoint("Updating"), endpoint(config=NEW))
    run(clients)
    clients.assert_all_called()
    assert f"endpoint {NAME} serves {NEW}; it was {OLD}" in capsys.readouterr().out


def test_the_old_configuration_serving_again_after_the_update_is_a_rollback():
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint(), endpoint("Updating"), endpoint())
    with pytest.raises(deploy.RolledBack, match=f"rolled back to {OLD}"):
        run(clients)
    clients.assert_all_called()


def test_a_rollback_is_an_error_with_sagemakers_reason():
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    reason = "Alarm scones-rollout-latency was in ALARM state during the baking period"
    expect_states(
        clients, endpoint("Updating"), endpoint("RollingBack"), endpoint(FailureReason=reason)
    )
    with pytest.raises(deploy.RolledBack) as raised:
        run(clients)
    assert str(raised.value) == f"endpoint {NAME} rolled back to {OLD}: {reason}"
    clients.assert_all_called()


def test_a_rollback_without_a_reason_says_where_to_look():
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint("RollingBack"), endpoint())
    with pytest.raises(deploy.RolledBack, match="no reason; see the alarms' history"):
        run(clients)


def test_a_rollback_that_failed_is_named_with_its_reason():
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint("UpdateRollbackFailed", FailureReason="capacity"))
    with pytest.raises(deploy.EndpointFailed, match=r"failed: capacity \(UpdateRollbackFailed\)"):
        run(clients)


def test_an_update_not_done_in_time_says_that_it_may_still_roll_back():
    clients = Clients()
    expect_reads(clients)
    expect_writes(clients, plan())
    expect_states(clients, endpoint("Updating"))
    with pytest.raises(deploy.EndpointTimeout) as raised:
        run(clients, "--timeout-seconds", "0")
    message = str(raised.value)
    assert message.startswith(f"endpoint {NAME} is still Updating after 0 s")
    assert "rolls back by itself if an alarm fires (scones-rollout-5xx, " in message
    assert "training.cleanup" not in message  # never advise deleting the live endpoint


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_a_second_update_while_one_is_in_progress_is_refused(status):
    clients = Clients()
    expect_states(clients, endpoint(status))
    with pytest.raises(deploy.UpdateInProgress, match=f"endpoint {NAME} is {status}: wait"):
        run(clients)
    clients.assert_all_called()  # and nothing else was called: Stubber refuses unplanned calls


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "Deleting", "UpdateRollbackFailed"])
def test_an_endpoint_that_does_not_serve_is_not_updated(status):
    clients = Clients()
    expect_states(clients, endpoint(status, FailureReason="broken"))
    with pytest.raises(deploy.EndpointNotUpdatable, match=f"is {status} \\(broken\\)"):
        run(clients)


def test_an_endpoint_that_does_not_exist_is_not_found():
    clients = Clients()
    not_found(clients.sagemaker, "describe_endpoint", EndpointName=NAME)
    with pytest.raises(deploy.EndpointNotFound, match=f"no endpoint {NAME} to update"):
        run(clients)


def test_a_name_taken_within_the_same_second_is_refused_before_anything_is_written():
    clients = Clients()
    expect_reads(clients)
    not_found(clients.sagemaker, "describe_endpoint", EndpointName=NEW)
    clients.sagemaker.add_response(
        "describe_endpoint_config", live_config(), {"EndpointConfigName": NEW}
    )
    not_found(clients.sagemaker, "describe_model", ModelName=NEW)
    with pytest.raises(deploy.AlreadyDeployed, match=f"'{NEW}' already names"):
        run(clients)
    clients.assert_all_called()


def test_an_alarm_already_in_alarm_refuses_the_update_before_anything_is_written():
    clients = Clients()
    states = [("scones-rollout-5xx", "OK"), ("scones-rollout-latency", "ALARM")]
    expect_reads(clients, states=states)
    with pytest.raises(deploy.AlarmsFiring, match=r"^scones-rollout-latency in ALARM now"):
        run(clients)
    clients.assert_all_called()


def test_alarms_of_an_earlier_rollout_that_are_ok_let_it_start(capsys):
    clients = Clients()
    states = [("scones-rollout-5xx", "OK"), ("scones-rollout-latency", "INSUFFICIENT_DATA")]
    expect_reads(clients, states=states)
    run(clients, "--dry-run")
    clients.assert_all_called()
    assert "dry run: nothing was created or changed" in capsys.readouterr().out


def test_dry_run_prints_the_change_and_calls_nothing_that_writes(capsys):
    clients = Clients()
    expect_reads(clients)  # the only calls: Stubber fails any other
    run(clients, "--dry-run")
    clients.assert_all_called()
    out = capsys.readouterr().out
    assert f"endpoint {NAME} (its name stays)" in out
    assert f"  now:  {OLD}\n  now:  AllTraffic: model {OLD}, 1 x ml.c5.xlarge\n" in out
    assert f"  now:  data capture: 100 % to {CAPTURE}" in out
    assert f"  next: {NEW}\n  next: AllTraffic: model {NEW}, 1 x ml.c5.xlarge\n" in out
    assert f"  next: data capture: 100 % to {CAPTURE}" in out
    assert f"  new model {NEW}: {MODEL_DATA}" in out
    assert '"Type": "ALL_AT_ONCE"' in out and '"WaitIntervalInSeconds": 600' in out
    for name in ("5xx", "4xx", "latency", "low-confidence"):
        assert f"  scones-rollout-{name}: " in out
    assert out.rstrip().endswith("dry run: nothing was created or changed")


def test_the_live_fleets_instances_and_capture_are_kept_unless_given(capsys):
    clients = Clients()
    expect_reads(clients, live_config(instance_type="ml.m5.xlarge", count=2))
    run(clients, "--dry-run")
    assert f"  next: AllTraffic: model {NEW}, 2 x ml.m5.xlarge" in capsys.readouterr().out
    clients = Clients()
    expect_reads(clients)
    run(clients, "--dry-run", "--instance-type", "ml.m5.large", "--bucket", "other")
    out = capsys.readouterr().out
    assert f"  next: AllTraffic: model {NEW}, 1 x ml.m5.large" in out
    assert "  next: data capture: 100 % to s3://other/scones-unlimited/data-capture" in out


def test_an_endpoint_capturing_nothing_needs_a_destination():
    clients = Clients()
    expect_reads(clients, live_config(capture=None))
    with pytest.raises(deploy.CaptureDestinationUnknown, match="captures nothing now"):
        run(clients, "--dry-run")


def test_dry_run_goes_with_update_endpoint_only(capsys):
    with pytest.raises(SystemExit) as exited:
        deploy.parse_args(["--model-data", MODEL_DATA, "--bucket", "b", "--dry-run"])
    assert exited.value.code == 2
    assert "--dry-run goes with --update-endpoint" in capsys.readouterr().err


def test_update_endpoint_and_endpoint_name_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        args("--endpoint-name", "other")
    assert "not allowed with argument --update-endpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option, value",
    [
        ("--bake-seconds", str(rollout.MIN_BAKE_SECONDS - 1)),
        ("--bake-seconds", "3601"),
        ("--low-confidence-percent", "101"),
        ("--low-confidence-minimum", "0"),
        ("--max-latency-ms", "0"),
    ],
)
def test_guardrails_outside_their_range_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as exited:
        args(option, value)
    assert exited.value.code == 2
    assert f"{value} is not within" in capsys.readouterr().err


# --- UpdateEndpoint: SageMaker's documented rules, one test each -----------------------

BAKES = [rollout.MIN_BAKE_SECONDS, rollout.DEFAULT_BAKE_SECONDS, rollout.MAX_BAKE_SECONDS]


def policy(bake):
    return plan(rollout.Guardrails(bake_seconds=bake)).deployment_config["BlueGreenUpdatePolicy"]


def test_the_endpoint_name_never_changes():
    update = plan()
    assert update.deployment.endpoint_name == NAME
    assert update.new_name != OLD


@pytest.mark.parametrize("name", [NAME, "x" * 63, "a" + "-b" * 31])
def test_endpoint_config_name_matches_the_pattern_within_63_characters(name):
    new = plan(endpoint_name=name).new_name
    assert len(new) <= 63 and CONFIG_NAME.fullmatch(new)


@pytest.mark.parametrize("name", [NAME, "x" * 63, "a" + "-b" * 31])
def test_model_name_matches_the_pattern_within_63_characters(name):
    new = plan(endpoint_name=name).new_name
    assert len(new) <= 63 and MODEL_NAME.fullmatch(new)


def test_each_rollout_has_a_new_endpoint_config_name():
    # "To update an endpoint, you must create a new EndpointConfig"
    later = datetime(2026, 12, 4, 23, 59, 2, tzinfo=UTC)
    assert plan().new_name != plan(now=later).new_name
    assert OLD not in (plan().new_name, plan(now=later).new_name)


def test_variant_properties_are_not_retained_so_the_new_capture_applies():
    # RetainAllVariantProperties defaults to false: the new EndpointConfig's
    # DataCaptureConfig is the one used, at 100 % to where the endpoint captured before.
    update = plan()
    assert deploy.data_capture_config(CAPTURE)["InitialSamplingPercentage"] == 100
    assert update.deployment.capture_uri == CAPTURE
    assert "RetainAllVariantProperties" not in update.deployment_config


def test_one_update_policy_only():
    config = plan().deployment_config
    assert "BlueGreenUpdatePolicy" in config and "RollingUpdatePolicy" not in config


@pytest.mark.parametrize("bake", BAKES)
def test_wait_interval_is_0_to_3600_seconds(bake):
    assert 0 <= policy(bake)["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] <= 3600


def test_traffic_routing_is_all_at_once():
    assert policy(600)["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"


def test_all_at_once_has_no_canary_or_linear_step_size():
    routing = policy(600)["TrafficRoutingConfiguration"]
    assert not {"CanarySize", "LinearStepSize"} & set(routing)


@pytest.mark.parametrize("bake", BAKES)
def test_termination_wait_is_0_to_3600_seconds(bake):
    assert 0 <= policy(bake)["TerminationWaitInSeconds"] <= 3600


@pytest.mark.parametrize("bake", BAKES)
def test_maximum_execution_timeout_is_600_to_28800_seconds(bake):
    assert 600 <= policy(bake)["MaximumExecutionTimeoutInSeconds"] <= 28800


@pytest.mark.parametrize("bake", BAKES)
def test_maximum_execution_timeout_exceeds_the_waits(bake):
    # "the timeout value should be larger than the total waiting time specified in
    # TerminationWaitInSeconds and WaitIntervalInSeconds"
    update_policy = policy(bake)
    waits = (
        update_policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"]
        + update_policy["TerminationWaitInSeconds"]
    )
    assert update_policy["MaximumExecutionTimeoutInSeconds"] > waits


def test_rollback_alarms_are_1_to_10():
    assert 1 <= len(plan().deployment_config["AutoRollbackConfiguration"]["Alarms"]) <= 10


def test_each_rollback_alarm_has_an_alarm_name_of_1_to_255_characters_not_blank():
    names = [
        alarm["AlarmName"]
        for alarm in plan(endpoint_name="x" * 63).deployment_config["AutoRollbackConfiguration"][
            "Alarms"
        ]
    ]
    assert all(1 <= len(name) <= 255 and ALARM_NAME.fullmatch(name) for name in names)
    assert len(set(names)) == len(names)


def test_the_rollback_alarms_are_the_alarms_put():
    update = plan()
    watched = update.deployment_config["AutoRollbackConfiguration"]["Alarms"]
    assert [alarm["AlarmName"] for alarm in watched] == deploy.alarm_names(update.alarms)


# --- PutMetricAlarm: CloudWatch's documented rules, one test each ----------------------

ALARMS = plan().alarms
SINGLE = [alarm for alarm in ALARMS if "MetricName" in alarm]
MATH = [alarm for alarm in ALARMS if "Metrics" in alarm]


def periods(alarm):
    if "Period" in alarm:
        return [alarm["Period"]]
    return [query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query]


def test_alarms_are_named_from_the_endpoint():
    assert [alarm["AlarmName"] for alarm in ALARMS] == [
        "scones-rollout-5xx",
        "scones-rollout-4xx",
        "scones-rollout-latency",
        "scones-rollout-low-confidence",
    ]


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_alarm_names_are_1_to_255_characters_without_control_characters(alarm):
    name = alarm["AlarmName"]
    assert 1 <= len(name) <= 255 and not any(ord(char) < 32 for char in name)


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_alarm_descriptions_are_at_most_1024_characters(alarm):
    assert 0 < len(alarm["AlarmDescription"]) <= 1024


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_a_metric_name_or_a_metrics_array_never_both(alarm):
    assert ("MetricName" in alarm) != ("Metrics" in alarm)


@pytest.mark.parametrize("alarm", MATH, ids=lambda alarm: alarm["AlarmName"])
def test_a_math_alarm_has_none_of_the_single_metric_fields(alarm):
    single = {"Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic"}
    assert not (single | {"ExtendedStatistic"}) & set(alarm)


@pytest.mark.parametrize("alarm", SINGLE, ids=lambda alarm: alarm["AlarmName"])
def test_a_statistic_or_an_extended_statistic_never_both(alarm):
    assert ("Statistic" in alarm) != ("ExtendedStatistic" in alarm)


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_periods_are_multiples_of_60_for_standard_resolution_metrics(alarm):
    # SageMaker's metrics are per minute; Powertools' EMF lines are standard resolution
    assert all(period % 60 == 0 for period in periods(alarm))


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_evaluation_is_at_most_a_day_for_periods_under_an_hour(alarm):
    assert all(period * alarm["EvaluationPeriods"] <= 86400 for period in periods(alarm))


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_datapoints_to_alarm_are_at_most_the_evaluation_periods(alarm):
    assert 1 <= alarm["DatapointsToAlarm"] <= alarm["EvaluationPeriods"]


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_each_alarm_can_fire_within_the_shortest_bake(alarm):
    window = max(periods(alarm)) * alarm["EvaluationPeriods"]
    assert window <= rollout.MIN_BAKE_SECONDS
    assert (
        policy(rollout.MIN_BAKE_SECONDS)["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"]
        >= window
    )


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_a_static_threshold_with_a_static_comparison(alarm):
    static = {"GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold"}
    assert "Threshold" in alarm and alarm["ComparisonOperator"] in static | {
        "LessThanOrEqualToThreshold"
    }


@pytest.mark.parametrize("alarm", ALARMS, ids=lambda alarm: alarm["AlarmName"])
def test_missing_data_is_not_breaching(alarm):
    assert alarm["TreatMissingData"] in {"breaching", "notBreaching", "ignore", "missing"}
    assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is no evidence


@pytest.mark.parametrize("alarm", MATH, ids=lambda alarm: alarm["AlarmName"])
def test_exactly_one_metrics_entry_returns_data(alarm):
    assert [query["ReturnData"] for query in alarm["Metrics"]].count(True) == 1


@pytest.mark.parametrize("alarm", MATH, ids=lambda alarm: alarm["AlarmName"])
def test_metric_ids_start_lower_case_and_are_unique(alarm):
    ids = [query["Id"] for query in alarm["Metrics"]]
    assert all(METRIC_ID.fullmatch(metric_id) for metric_id in ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("alarm", MATH, ids=lambda alarm: alarm["AlarmName"])
def test_each_metrics_entry_has_an_expression_or_a_metric_stat_never_both(alarm):
    assert all(("Expression" in query) != ("MetricStat" in query) for query in alarm["Metrics"])


def test_endpoint_alarms_watch_the_endpoint_and_its_variant():
    for alarm in SINGLE:
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["Dimensions"] == [
            {"Name": "EndpointName", "Value": NAME},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]


def test_latency_is_in_microseconds_as_sagemaker_reports_it():
    (latency,) = [alarm for alarm in SINGLE if alarm["MetricName"] == "ModelLatency"]
    assert latency["Unit"] == "Microseconds"
    assert latency["Threshold"] == 1_000_000  # 1,000 ms
    assert latency["ExtendedStatistic"] == "p90"


def test_low_confidence_share_counts_what_filter_inferences_emits_for_this_stack():
    (share,) = MATH
    stats = [query["MetricStat"] for query in share["Metrics"] if "MetricStat" in query]
    assert {stat["Metric"]["MetricName"] for stat in stats} == {
        "ConfidenceThresholdMet",
        "ConfidenceThresholdNotMet",
    }
    for stat in stats:
        assert stat["Metric"]["Namespace"] == "SconesUnlimited"
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "service", "Value": "image-classification"},
            {"Name": "stack", "Value": "scones-unlimited-image-classification"},
        ]
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    assert share["Metrics"][0]["Expression"] == (
        "IF(notmet + met >= 10, 100 * notmet / (notmet + met), 0)"
    )
    assert share["Threshold"] == 30
