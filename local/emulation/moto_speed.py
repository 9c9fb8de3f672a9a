"""moto's Step Functions interpreter, made to keep what it rebuilds for every task and every
execution. moto 5.2.5 (pinned) creates a boto3 client, and so a new connection, for every Task
(Lambda, the review queue's SQS send, the SDK calls to S3 and CloudWatch, the backfill's child
executions), and parses the definition with its pure-Python ANTLR parser for every execution:
together more than half of a local execution (`make bench`: 12x the direct calls before, 5x
after). Nothing here changes what an execution does, only how often the interpreter builds the
same thing.

Each patch names the moto internal it relies on; a moto upgrade must check them.
"""

import functools
import os
from typing import Any

# `boto_client_for(region, service, state_credentials)`: the factory every task module imports
# by name, so each module's own reference is what has to be replaced.
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

# `StateCredentials(role_arn)`: what the factory takes to assume a task's role.
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)

# `state_task_service_sqs`, `_sfn` and `_aws_sdk` import `boto_client_for`;
# `state_task_service_callback` polls a `.sync` child every `_DELAY_SECONDS_SYNC_CONDITION_CHECK`
# seconds (0.5 s in moto).
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_callback,
    state_task_service_sfn,
    state_task_service_sqs,
)

# `execution_worker.AmazonStateLanguageParser.parse(definition)`: a static method, called with
# the definition text for every execution; the program it returns keeps no execution's state.
from moto.stepfunctions.parser.backend import execution_worker

MOTO_CLIENT_FOR = lambda_eval_utils.boto_client_for  # moto's own, before it is shared


@functools.cache
def _client_for(region: str, service: str, role_arn: str | None, endpoint_url: str | None) -> Any:
    credentials = StateCredentials(role_arn) if role_arn else None
    return MOTO_CLIENT_FOR(region=region, service=service, state_credentials=credentials)


def _shared_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """One client per region, service, role and endpoint: boto3 clients are thread-safe."""
    role_arn = getattr(state_credentials, "role_arn", None)
    endpoint_url = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}")  # read at creation
    return _client_for(region, service, role_arn, endpoint_url)


def reuse_interpreter_work() -> None:
    """Share one client per key and one parsed program per definition. Idempotent."""
    lambda_eval_utils.boto_client_for = _shared_client
    state_task_service_sqs.boto_client_for = _shared_client  # the review queue's send
    state_task_service_sfn.boto_client_for = _shared_client  # the backfill's child executions
    state_task_service_aws_sdk.boto_client_for = _shared_client  # waiting markers, lost counts
    # `.sync` checks a child's status every 0.5 s. Every 50 ms keeps a backfill's wait short
    # without its polls crowding out the children: with four children polling every 10 ms, the
    # polls took most of the interpreter (`make bench`, backfill: 0.39x at 10 ms, 0.64-0.72x
    # at 50 ms, 0.69x at 100 ms).
    state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 0.05
    parser = execution_worker.AmazonStateLanguageParser
    if not hasattr(parser.parse, "cache_info"):
        parser.parse = staticmethod(functools.lru_cache(maxsize=8)(parser.parse))
