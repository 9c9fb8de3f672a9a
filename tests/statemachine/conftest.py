"""What every state machine test shares: the real handlers behind the Lambda Invoke server."""

import pytest

from local.emulation import workflow
from local.emulation.lambda_server import LambdaInvokeServer


@pytest.fixture(scope="module")
def lambda_server():
    with (
        LambdaInvokeServer(workflow.load_handlers()) as server,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        yield server
