"""LocalStack's runtime, started with the two fixes the arrivals path cannot do without.

localstack-core 2026.3.0 differs from AWS twice between an upload and its execution:

1. its S3 events for EventBridge carry the key percent-encoded (`a%20b.png`), as S3's older
   notifications to SQS, SNS and Lambda do; AWS's EventBridge events carry the key as it is
   (its documentation's examples; a real event with `2023-08-08T14:03:40.532432.zip` unencoded);
2. it names a Step Functions execution started by an EventBridge target after the event's
   `id`, which an event shaped by the target's `InputTransformer` no longer has: every such
   delivery fails with `KeyError: 'id'` ("Failed to deliver to target ...: 'id'").

Each fix below replaces one LocalStack function with AWS's behaviour (README, Deploy to
LocalStack). Run with LocalStack's own interpreter: `.venv-localstack/bin/python start.py`.
"""

import dataclasses
import runpy
from urllib.parse import unquote

from localstack.services.events import target
from localstack.services.s3 import notifications
from localstack.utils.strings import long_uid

percent_encoded_payload = notifications.EventBridgeNotifier._get_event_payload


def event_payload_with_the_key_as_it_is(ctx, config_id=None):
    return percent_encoded_payload(
        dataclasses.replace(ctx, key_name=unquote(ctx.key_name)), config_id
    )


def send_event(self, event, trace_header) -> None:
    self.service = "stepfunctions"
    shaped = "Input" in self.target or "InputTransformer" in self.target
    self.client.start_execution(
        stateMachineArn=self.target["Arn"],
        name=long_uid() if shaped else event["id"],
        input=target.to_json_str(event),
    )


notifications.EventBridgeNotifier._get_event_payload = staticmethod(
    event_payload_with_the_key_as_it_is
)
target.StatesTargetSender.send_event = send_event

if __name__ == "__main__":
    runpy.run_module("localstack.runtime.main", run_name="__main__")
