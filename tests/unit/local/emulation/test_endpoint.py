"""The loopback endpoint through a real boto3 sagemaker-runtime client: answers, errors, capture."""

import base64
import json
import re
import threading
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulation.endpoint import ModelEndpoint

ENDPOINT = "unit-endpoint"
PNG = b"\x89PNG\r\n\x1a\n fake image bytes \x00\xff"  # the model below never decodes it
CAPTURE_FILE = re.compile(r"^\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$")


def fake_model(image_bytes: bytes) -> list[float]:
    """Answers by the bytes: the endpoint must not care what the model is."""
    if image_bytes.startswith(b"not an image"):
        raise ValueError("cannot identify image file")
    if image_bytes.startswith(b"crash"):
        raise RuntimeError("model fell over")
    if image_bytes.startswith(b"nonsense"):
        return ["bicycle"]
    return [0.25, 0.75]


@pytest.fixture
def endpoint(tmp_path):
    with ModelEndpoint(fake_model, endpoint_name=ENDPOINT, capture_dir=tmp_path) as served:
        yield served


def runtime(url: str):
    config = Config(retries={"mode": "standard", "max_attempts": 1})
    return boto3.client("sagemaker-runtime", endpoint_url=url, config=config)


def invoke(endpoint, body=PNG, content_type="image/png", name=ENDPOINT):
    return runtime(endpoint.url).invoke_endpoint(
        EndpointName=name, ContentType=content_type, Body=body
    )


def error_of(endpoint, **request) -> dict:
    with pytest.raises(ClientError) as raised:
        invoke(endpoint, **request)
    return raised.value.response


def captured(capture_dir) -> list[dict]:
    lines = []
    for path in sorted(capture_dir.rglob("*.jsonl")):
        lines += path.read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "application/x-image"])
def test_answers_the_probabilities_as_json(endpoint, content_type):
    answer = invoke(endpoint, content_type=content_type)
    assert answer["ContentType"] == "application/json"
    assert json.loads(answer["Body"].read()) == [0.25, 0.75]


def test_answers_with_the_headers_sagemaker_sends(endpoint):
    answer = invoke(endpoint)
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["ResponseMetadata"]["RequestId"])


def test_url_is_loopback_with_a_port_the_os_chose(endpoint):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", endpoint.url)
    assert not endpoint.url.endswith(":0")


def test_unknown_endpoint_is_a_validation_error(endpoint):
    response = error_of(endpoint, name="someone-elses")
    assert response["Error"]["Code"] == "ValidationError"
    assert response["Error"]["Message"] == (
        "Endpoint someone-elses of account 123456789012 not found."
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsupported_content_type_is_a_model_error(endpoint):
    response = error_of(endpoint, content_type="application/json", body=b"{}")
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 415
    assert response["Error"]["Message"].startswith("Received client error (415) from primary")


def test_bytes_the_model_cannot_read_are_a_client_model_error(endpoint):
    response = error_of(endpoint, body=b"not an image at all")
    assert response["Error"]["Code"] == "ModelError"
    assert response["OriginalStatusCode"] == 400
    assert "unable to evaluate payload provided" in response["OriginalMessage"]
    assert "cannot identify image file" in response["Error"]["Message"]


def test_a_failing_model_is_a_server_model_error(endpoint):
    response = error_of(endpoint, body=b"crash")
    assert response["Error"]["Code"] == "ModelError"
    assert response["OriginalStatusCode"] == 500
    assert response["Error"]["Message"].startswith("Received server error (500) from primary")
    assert "RuntimeError: model fell over" in response["OriginalMessage"]


def test_a_model_answer_that_is_not_numbers_is_a_server_model_error(endpoint):
    response = error_of(endpoint, body=b"nonsense")
    assert (response["Error"]["Code"], response["OriginalStatusCode"]) == ("ModelError", 500)


def test_another_path_is_an_unknown_operation(endpoint):
    client = boto3.client("sagemaker", endpoint_url=endpoint.url)  # a path ours does not serve
    with pytest.raises(ClientError) as raised:
        client.list_endpoints()
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_capture_writes_one_record_per_answer_in_sagemakers_layout(endpoint, tmp_path):
    before = datetime.now(UTC).replace(microsecond=0)
    invoke(endpoint)
    files = list(tmp_path.rglob("*.jsonl"))
    assert len(files) == 1
    relative = files[0].relative_to(tmp_path).parts
    assert relative[:2] == (ENDPOINT, "AllTraffic")
    hour = datetime.strptime("/".join(relative[2:6]), "%Y/%m/%d/%H").replace(tzinfo=UTC)
    assert hour == before.replace(minute=0, second=0)
    assert CAPTURE_FILE.match(relative[6])
    (record,) = captured(tmp_path)
    assert (
        datetime.strptime(record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
        >= before
    )


def test_capture_record_holds_the_exact_bytes_and_answer(endpoint, tmp_path):
    invoke(endpoint, content_type="image/jpeg")
    (record,) = captured(tmp_path)
    assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
    assert record["eventVersion"] == "0"
    sent, answered = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
    assert sent["observedContentType"] == "image/jpeg"
    assert (sent["mode"], sent["encoding"]) == ("INPUT", "BASE64")
    assert base64.b64decode(sent["data"]) == PNG
    assert answered == {
        "observedContentType": "application/json",
        "mode": "OUTPUT",
        "data": "[0.25, 0.75]",
        "encoding": "JSON",
    }
    assert re.fullmatch(r"[0-9a-f-]{36}", record["eventMetadata"]["eventId"])


def test_capture_records_the_callers_inference_id_as_sagemaker_does(endpoint, tmp_path):
    runtime(endpoint.url).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="image/png", Body=PNG, InferenceId="x" * 64
    )
    invoke(endpoint)  # without one: SageMaker's own eventId only

    with_id, without = (record["eventMetadata"] for record in captured(tmp_path))
    assert list(with_id) == ["eventId", "inferenceId", "inferenceTime"]
    assert with_id["inferenceId"] == "x" * 64
    assert list(without) == ["eventId", "inferenceTime"]


@pytest.mark.parametrize(
    "inference_id", ["x" * 65, "bell\x07", "tab\tinside"], ids=["too-long", "control", "tab"]
)
def test_an_inference_id_the_service_refuses_is_a_validation_error(
    endpoint, tmp_path, inference_id
):
    with pytest.raises(ClientError) as raised:
        runtime(endpoint.url).invoke_endpoint(
            EndpointName=ENDPOINT, ContentType="image/png", Body=PNG, InferenceId=inference_id
        )

    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError",
        400,
    )
    assert "at 'inferenceId' failed to satisfy constraint" in error["Error"]["Message"]
    assert captured(tmp_path) == []


def test_capture_appends_to_the_hours_file(endpoint, tmp_path):
    for _ in range(3):
        invoke(endpoint)
    assert len(list(tmp_path.rglob("*.jsonl"))) == 1
    records = captured(tmp_path)
    assert len({record["eventMetadata"]["eventId"] for record in records}) == 3


def test_errors_are_not_captured(endpoint, tmp_path):
    error_of(endpoint, body=b"crash")
    error_of(endpoint, name="someone-elses")
    assert captured(tmp_path) == []


def test_no_capture_without_a_capture_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with ModelEndpoint(fake_model, endpoint_name=ENDPOINT) as served:
        invoke(served)
    assert list(tmp_path.rglob("*")) == []


def test_variant_name_is_answered_and_captured(tmp_path):
    with ModelEndpoint(
        fake_model, endpoint_name=ENDPOINT, capture_dir=tmp_path, variant_name="Blue"
    ) as served:
        assert invoke(served)["InvokedProductionVariant"] == "Blue"
    assert next(tmp_path.rglob("*.jsonl")).relative_to(tmp_path).parts[1] == "Blue"


def test_concurrent_invocations_each_write_one_whole_line(endpoint, tmp_path):
    bodies = [PNG + bytes([n]) * 5000 for n in range(8)]
    errors = []

    def invoke_repeatedly(body):
        client = runtime(endpoint.url)
        try:
            for _ in range(5):
                client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=body)
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=invoke_repeatedly, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = captured(tmp_path)  # json.loads fails on any interleaved line
    sent = sorted(base64.b64decode(r["captureData"]["endpointInput"]["data"]) for r in records)
    assert sent == sorted(bodies * 5)


def test_url_before_the_endpoint_serves_is_an_error():
    with pytest.raises(RuntimeError, match="not serving"):
        _ = ModelEndpoint(fake_model, endpoint_name=ENDPOINT).url


def test_leaving_the_block_stops_the_server(tmp_path):
    with ModelEndpoint(fake_model, endpoint_name=ENDPOINT) as served:
        url = served.url
    with pytest.raises(Exception, match="Could not connect"):
        runtime(url).invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=PNG)


def test_serves_quietly(endpoint, capfd):
    invoke(endpoint)
    error_of(endpoint, body=b"crash")
    assert capfd.readouterr() == ("", "")


def test_a_capture_folder_that_cannot_be_written_is_logged_and_the_inference_answered(
    tmp_path, caplog
):
    not_a_folder = tmp_path / "capture"
    not_a_folder.write_text("a file where the capture folder should be")

    with ModelEndpoint(fake_model, endpoint_name=ENDPOINT, capture_dir=not_a_folder) as served:
        answer = invoke(served)

    assert json.loads(answer["Body"].read()) == [0.25, 0.75]
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(f"data capture not written to {not_a_folder}")
