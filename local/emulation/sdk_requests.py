"""AWS SDK tasks' parameters shaped by the API's model before the call, as Step Functions does.

Step Functions (and LocalStack, whose interpreter moto's derives from) fits an `aws-sdk:` task's
parameters to the operation's input shape first: a JSON object given where the API takes bytes
(S3 PutObject's `Body`) is sent as its compact JSON text, one given where it takes a string as
JSON. moto 5.2.5 hands them to boto3 as written (`StateTaskService._normalise_parameters` is a
no-op there), so an object `Body` fails with "'dict' object has no attribute 'read'". This gives
moto's AWS SDK tasks the shaping LocalStack's have; the rest of moto's interpreter is unchanged.
"""

import functools
from typing import Any

import botocore.session
from botocore import xform_name

# `StateTaskServiceAwsSdk`: the class of every `arn:aws:states:::aws-sdk:*` task; its base's
# `_to_boto_request(parameters, input_shape)` does the shaping, `_get_boto_service_name()` and
# `_get_boto_service_action()` name the service and the operation (snake case).
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)


@functools.cache
def _input_shape(service: str, operation: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    names = {xform_name(name): name for name in model.operation_names}
    return model.operation_model(names[operation]).input_shape


def _normalise_parameters(
    task: StateTaskServiceAwsSdk,
    parameters: dict,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    service = task._get_boto_service_name(boto_service_name=boto_service_name)
    operation = task._get_boto_service_action(service_action_name=service_action_name)
    if (shape := _input_shape(service, operation)) is not None:
        task._to_boto_request(parameters, shape)


def shape_sdk_requests() -> None:
    """Make moto's AWS SDK tasks shape their parameters as Step Functions does. Idempotent."""
    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters
