"""`sam delete` leaves only what the template retains on purpose (the review queue, the
backfill results bucket, the ground-truth bucket), and the log groups LocalStack made outside
the template for the functions' lines (`/aws/lambda/<function name>`, since it ignores
LoggingConfig.LogGroup)."""

from botocore.exceptions import ClientError

from local import acceptance
from local.emulation import template

# Resource types LocalStack creates for the stack that this test does not look up one by one.
UNCHECKED = {
    "AWS::Lambda::LayerVersion",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Dashboard",
    "AWS::SNS::Subscription",
    "AWS::Logs::MetricFilter",
    "AWS::Lambda::Permission",  # the hourly schedule's, on the check function
}
NOT_FOUND = {  # each service's error code for a resource that is not there
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "404",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "NotFound",
    "NoSuchEntity",
}
LOOK_UPS = {
    "AWS::SQS::Queue": ("sqs", lambda client, id_: client.get_queue_attributes(QueueUrl=id_)),
    "AWS::S3::Bucket": ("s3", lambda client, id_: client.head_bucket(Bucket=id_)),
    "AWS::Lambda::Function": ("lambda", lambda client, id_: client.get_function(FunctionName=id_)),
    "AWS::StepFunctions::StateMachine": (
        "stepfunctions",
        lambda client, id_: client.describe_state_machine(stateMachineArn=id_),
    ),
    "AWS::SNS::Topic": ("sns", lambda client, id_: client.get_topic_attributes(TopicArn=id_)),
    "AWS::IAM::Role": ("iam", lambda client, id_: client.get_role(RoleName=id_)),
    "AWS::Events::Rule": ("events", lambda client, id_: client.describe_rule(Name=id_)),
    "AWS::Logs::LogGroup": (
        "logs",
        lambda client, id_: (
            [
                group
                for group in client.describe_log_groups(logGroupNamePrefix=id_)["logGroups"]
                if group["logGroupName"] == id_
            ]
            or throw_not_found()
        ),
    ),
    "AWS::CloudWatch::Alarm": (
        "cloudwatch",
        lambda client, id_: (
            client.describe_alarms(AlarmNames=[id_])["MetricAlarms"] or throw_not_found()
        ),
    ),
}


def throw_not_found() -> None:
    raise ClientError({"Error": {"Code": "NotFound"}}, "look-up")


def exists(account, resource_type: str, physical_id: str) -> bool:
    """Whether the resource is still there (types this test cannot look up count as gone)."""
    if resource_type not in LOOK_UPS:
        return False
    service, look_up = LOOK_UPS[resource_type]
    try:
        look_up(account.client(service), physical_id)
    except ClientError as error:
        if error.response["Error"]["Code"] in NOT_FOUND:
            return False
        raise
    return True


def test_sam_delete_leaves_only_what_the_template_retains(run, account, outputs):
    cloudformation = account.client("cloudformation")
    resources = cloudformation.list_stack_resources(StackName=run.stack)["StackResourceSummaries"]
    retained = {
        logical_id
        for logical_id, resource in template.template()["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    function_log_groups = [
        f"/aws/lambda/{outputs[f'{name}FunctionArn'].rsplit(':', 1)[1]}"
        for name in ("SerializeImageData", "ClassifyImage", "FilterInferences")
    ]

    acceptance.delete(account, run.stack)

    stacks = cloudformation.list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == run.stack} == {"DELETE_COMPLETE"}
    assert {s["ResourceType"] for s in resources} - set(LOOK_UPS) <= UNCHECKED
    left = {
        summary["LogicalResourceId"]
        for summary in resources
        if exists(account, summary["ResourceType"], summary["PhysicalResourceId"])
    }
    assert left == retained == {"ReviewQueue", "BackfillResultsBucket", "GroundTruthBucket"}
    groups = account.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert set(function_log_groups) <= {group["logGroupName"] for group in groups["logGroups"]}
