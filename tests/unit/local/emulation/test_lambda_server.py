"""The loopback Lambda Invoke server through a real boto3 Lambda client: answers and load."""

import base64
import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from functions.classify_image import app as classify_image
from local.emulation import workflow
from local.emulation.endpoint import ModelEndpoint
from local.emulation.lambda_server import LambdaInvokeServer
from tests.conftest import ENDPOINT_NAME, IMAGE_BUCKET
from tests.images import make_image

CONCURRENT = 200
NO_RETRIES = {"mode": "standard", "total_max_attempts": 1}


@pytest.fixture(scope="module")
def server():
    with LambdaInvokeServer(workflow.load_handlers()) as served:
        yield served


@pytest.fixture(scope="module")
def client(server):
    """One client, as moto's interpreter shares one; a connection for each concurrent call."""
    config = Config(retries=NO_RETRIES, max_pool_connections=CONCURRENT)
    return boto3.client("lambda", endpoint_url=server.url, config=config)


def filter_event(n: int) -> dict:
    body = {"s3_bucket": IMAGE_BUCKET, "s3_key": f"test/{n}.png", "inferences": [0.99, 0.01]}
    return {"body": body, "execution_id": f"execution-{n}"}


def invoke(client, function: str, event: dict) -> dict:
    answer = client.invoke(FunctionName=function, Payload=json.dumps(event))
    return json.loads(answer["Payload"].read())


def test_invokes_the_handler_by_name_or_arn(client):
    for name in (
        "FilterInferencesFunction",
        workflow.function_arns("us-east-1")["FilterInferencesFunction"],
    ):
        assert invoke(client, name, filter_event(1))["body"]["label"] == "bicycle"


def test_many_concurrent_invocations_on_fresh_connections_are_all_answered(client, json_logs):
    start = threading.Barrier(CONCURRENT)

    def invoke_together(n: int) -> dict:
        start.wait()
        return invoke(client, "FilterInferencesFunction", filter_event(n))

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(invoke_together, range(CONCURRENT)))

    assert [answer["body"]["s3_key"] for answer in answers] == [
        f"test/{n}.png" for n in range(CONCURRENT)
    ]
    for record in json_logs():
        n = record["s3_key"].removeprefix("test/").removesuffix(".png")
        assert record["correlation_id"] == f"execution-{n}"


def test_an_invocation_never_logs_with_another_executions_correlation_id(
    client, json_logs, monkeypatch
):
    """ClassifyImage waits on the endpoint while FilterInferences is invoked for another
    execution: if both ran at once, the shared logger would give the first the second's id."""
    classifying, other_done = threading.Event(), threading.Event()

    def model(image: bytes) -> list[float]:
        classifying.set()
        other_done.wait(timeout=1)  # run one at a time, the other invocation is still waiting
        return [0.95, 0.05]

    image = base64.b64encode(make_image()).decode()
    classify_event = {
        "body": {"s3_bucket": IMAGE_BUCKET, "s3_key": "test/a.png", "image_data": image},
        "execution_id": "execution-a",
    }
    with ModelEndpoint(model, endpoint_name=ENDPOINT_NAME) as endpoint:
        runtime = boto3.client("sagemaker-runtime", endpoint_url=endpoint.url)
        monkeypatch.setattr(classify_image, "sagemaker_runtime", runtime)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(invoke, client, "ClassifyImageFunction", classify_event)
            classifying.wait()
            second = pool.submit(invoke, client, "FilterInferencesFunction", filter_event(2))
            second.add_done_callback(lambda _: other_done.set())
            assert first.result()["body"]["inferences"] == [0.95, 0.05]
            assert second.result()["body"]["label"] == "bicycle"

    ids = {(log["function_name"], log["correlation_id"]) for log in json_logs()}
    assert ids == {
        ("ClassifyImageFunction", "execution-a"),
        ("FilterInferencesFunction", "execution-2"),
    }


@pytest.mark.parametrize("payload", ["{not json", "[" * 100_000, "1" * 5_001])
def test_a_payload_python_cannot_read_is_invalid_request_content(client, payload):
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="FilterInferencesFunction", Payload=payload)


def post_invocation(server, quoted_name: str) -> tuple[int, str, dict]:
    """Status, `x-amzn-ErrorType` and JSON body of one raw Invoke request for that path segment."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("POST", f"/2015-03-31/functions/{quoted_name}/invocations", b"{}")
        answer = connection.getresponse()
        return answer.status, answer.getheader("x-amzn-ErrorType"), json.loads(answer.read())
    finally:
        connection.close()


UNKNOWN_FUNCTIONS = ["NoSuchFunction", "arn:aws:lambda:us-east-1:123456789012:function:Nope:live"]


@pytest.mark.parametrize("name", UNKNOWN_FUNCTIONS)
def test_a_well_formed_name_that_is_not_served_is_resource_not_found(server, client, name):
    body = {"Type": "User", "message": f"Function not found: {name}"}

    assert post_invocation(server, quote(name, safe="")) == (
        404,
        "ResourceNotFoundException",
        body,
    )
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName=name, Payload=b"{}")
    assert raised.value.response["Error"]["Message"] == body["message"]


NAME_SHAPE = (
    botocore.session.get_session()
    .get_service_model("lambda")
    .operation_model("Invoke")
    .input_shape.members["FunctionName"]
)
PATTERN_BROKEN = f"Member must satisfy regular expression pattern: {NAME_SHAPE.metadata['pattern']}"
NOT_A_FUNCTION_ARN = (
    "Member must be a function name or a function ARN"
    " (arn:partition:lambda:region:account-id:function:name[:qualifier])"
)
MALFORMED_NAMES = {
    "arn-too-few-parts": ("arn:", PATTERN_BROKEN),
    "arn-without-a-name": ("arn:aws:lambda:us-east-1:123456789012:function", NOT_A_FUNCTION_ARN),
    "arn-without-region-and-account": ("arn:aws:lambda:Name", NOT_A_FUNCTION_ARN),
    "space": ("Filter Inferences", PATTERN_BROKEN),
    "too-long": (
        "F" * (NAME_SHAPE.metadata["max"] + 1),
        f"Member must have length less than or equal to {NAME_SHAPE.metadata['max']}",
    ),
}


@pytest.mark.parametrize(("name", "constraint"), MALFORMED_NAMES.values(), ids=MALFORMED_NAMES)
def test_a_malformed_name_is_a_validation_error_as_lambda_answers_it(
    server, client, name, constraint
):
    message = (
        f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy"
        f" constraint: {constraint}"
    )

    assert post_invocation(server, quote(name, safe="")) == (
        400,
        "ValidationException",
        {"message": message},
    )
    with pytest.raises(ClientError) as raised:  # Lambda's model names no ValidationException
        client.invoke(FunctionName=name, Payload=b"{}")
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": message}


def test_the_server_still_answers_after_a_malformed_name(server, client):
    post_invocation(server, "arn%3A")

    assert invoke(client, "FilterInferencesFunction", filter_event(3))["body"]["label"] == "bicycle"
