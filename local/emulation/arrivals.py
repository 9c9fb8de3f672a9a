"""The arrivals rule on one machine: S3 -> EventBridge in moto, then a bridge to Step Functions.

moto matches S3's `Object Created` events against EventBridge rules and delivers them to SQS
targets, but drops Step Functions targets and ignores input transformers for S3 events. So the
template's own rule (its event pattern, read from template.yaml, never copied) is created in
moto with an SQS target, and `ArrivalsBridge.deliver` drains that queue, applies the template's
input transformer and starts the state machine, as EventBridge's target would.
"""

import json
import re
import uuid
from typing import Any

from local.emulation import template
from operations.arrivals import turn_on

RULE = "ArrivalsRule"  # its logical id in template.yaml
BRIDGE_QUEUE = "arrivals-bridge"
PLACEHOLDER = re.compile(r"<([\w.-]+)>")


class ArrivalsBridge:
    """The template's arrivals rule in moto, and the hop moto does not make."""

    def __init__(self, clients: dict[str, Any], state_machine_arn: str, parameters: dict):
        """`clients`: boto3 `s3`, `events`, `sqs` and `stepfunctions` clients, all on moto."""
        self.sqs, self.stepfunctions = clients["sqs"], clients["stepfunctions"]
        self.state_machine_arn = state_machine_arn
        rule = template.properties(RULE)
        self.transformer = rule["Targets"][0]["InputTransformer"]
        self.queue_url = self.sqs.create_queue(QueueName=BRIDGE_QUEUE)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        pattern = template.resolve(rule["EventPattern"], template.parameter_defaults() | parameters)
        clients["events"].put_rule(Name=RULE, EventPattern=json.dumps(pattern), State="ENABLED")
        clients["events"].put_targets(Rule=RULE, Targets=[{"Id": "bridge", "Arn": queue_arn}])
        turn_on(clients["s3"], parameters["ImageBucketName"])

    def pending_events(self) -> list[dict]:
        """Every event the rule has matched since the last call, removed from the queue."""
        events = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages"):
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return events

    def start(self, event: dict) -> str:
        """Start one execution for a matched event, as the rule's target does; its ARN."""
        return self.stepfunctions.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=str(uuid.uuid4()),  # EventBridge names each execution anew
            input=json.dumps(execution_input(as_aws_sends_it(event), self.transformer)),
        )["executionArn"]

    def deliver(self) -> list[str]:
        """Start an execution for each event matched since the last call; their ARNs."""
        return [self.start(event) for event in self.pending_events()]


def as_aws_sends_it(event: dict) -> dict:
    """moto spells the object's `etag` as `eTag`; AWS sends `etag` (S3's EventBridge events)."""
    detail_object = dict(event["detail"]["object"])
    if "eTag" in detail_object:
        detail_object["etag"] = detail_object.pop("eTag")
    return event | {"detail": event["detail"] | {"object": detail_object}}


def execution_input(event: dict, transformer: dict) -> Any:
    """EventBridge's input transformer: each `<name>` of InputTemplate becomes the JSON value at
    InputPathsMap[name] (strings quoted and escaped, missing values null)."""
    values = {name: json_path(event, path) for name, path in transformer["InputPathsMap"].items()}
    text = PLACEHOLDER.sub(
        lambda match: json.dumps(values[match.group(1)]), transformer["InputTemplate"]
    )
    return json.loads(text)


def json_path(document: Any, path: str) -> Any:
    """The value at a `$.a.b.c` path, or None where it is missing."""
    for step in path.removeprefix("$.").split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(step)
    return document
