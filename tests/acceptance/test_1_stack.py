"""The stack as `sam deploy` made it: complete, every output real, and updatable in place."""

from urllib.parse import unquote

from local import acceptance


def stack_status(run) -> str:
    cloudformation = run.account.client("cloudformation")
    return cloudformation.describe_stacks(StackName=run.stack)["Stacks"][0]["StackStatus"]


def test_the_stack_is_created(run):
    assert stack_status(run) == "CREATE_COMPLETE"


def test_every_output_resolves_to_something_that_exists(run, account, outputs):
    stepfunctions, lambda_, sqs = (account.client(s) for s in ("stepfunctions", "lambda", "sqs"))
    for name in ("StateMachineArn", "BackfillStateMachineArn"):
        assert (
            stepfunctions.describe_state_machine(stateMachineArn=outputs[name])["status"]
            == "ACTIVE"
        )
    for name in (
        "SerializeImageDataFunctionArn",
        "ClassifyImageFunctionArn",
        "FilterInferencesFunctionArn",
    ):
        waiter = lambda_.get_waiter("function_active_v2")
        waiter.wait(FunctionName=outputs[name], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for name in ("ReviewQueueUrl", "ArrivalsDeadLetterQueueUrl"):
        assert sqs.get_queue_attributes(QueueUrl=outputs[name], AttributeNames=["QueueArn"])
    s3 = account.client("s3")
    s3.head_bucket(Bucket=outputs["BackfillResultsBucketName"])
    s3.head_bucket(Bucket=outputs["GroundTruthBucketName"])
    versioning = s3.get_bucket_versioning(Bucket=outputs["GroundTruthBucketName"])
    assert versioning["Status"] == "Enabled"
    assert outputs["ImageBucketName"] == acceptance.IMAGE_BUCKET
    topics = account.client("sns").list_topics()["Topics"]
    assert outputs["AlarmTopicArn"] in {topic["TopicArn"] for topic in topics}
    console = unquote(outputs["StateMachineConsoleUrl"])
    assert console.endswith(f"#/statemachines/view/{outputs['StateMachineArn']}")
    # LocalStack's CloudFormation skips AWS::CloudWatch::Dashboard (no dashboard, physical id
    # "unknown"): the output can only be tied to the resource here (README, only AWS can show).
    resources = account.client("cloudformation").list_stack_resources(StackName=run.stack)
    (dashboard,) = [
        resource["PhysicalResourceId"]
        for resource in resources["StackResourceSummaries"]
        if resource["LogicalResourceId"] == "Dashboard"
    ]
    assert outputs["DashboardUrl"].endswith(f"#dashboards:name={dashboard}")
    assert set(outputs) == {
        "StateMachineArn",
        "StateMachineConsoleUrl",
        "SerializeImageDataFunctionArn",
        "ClassifyImageFunctionArn",
        "FilterInferencesFunctionArn",
        "ReviewQueueUrl",
        "ArrivalsDeadLetterQueueUrl",
        "AlarmTopicArn",
        "BackfillStateMachineArn",
        "BackfillResultsBucketName",
        "GroundTruthBucketName",
        "ImageBucketName",
        "DashboardUrl",
    }


def test_a_second_deploy_with_a_changed_parameter_updates_the_stack(run, account, outputs):
    """LogLevel reaches every function's environment. (LocalStack reports an alarm updated
    without changing it, so a parameter of the alarms would show nothing here: README.)"""
    acceptance.deploy(run.account, run.workspace, run.stack, LogLevel="DEBUG")

    assert stack_status(run) == "UPDATE_COMPLETE"
    lambda_ = account.client("lambda")
    for name in ("SerializeImageData", "ClassifyImage", "FilterInferences"):
        configuration = lambda_.get_function_configuration(
            FunctionName=outputs[f"{name}FunctionArn"]
        )
        assert configuration["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert run.outputs() == outputs  # the same resources, updated in place
