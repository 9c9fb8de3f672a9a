"""local.invoke (`make invoke`) without Docker: the expected answers, how SAM CLI is called,
what it answers, the stand-ins, and that an unknown event is refused before anything starts."""

import json
from pathlib import Path

import boto3
import pytest

from local import invoke
from local.emulation import workflow
from tests.images import make_image
from tests.template.test_template import FUNCTIONS
from workflow_common import errors


def test_every_event_file_is_listed_with_its_function_and_answer():
    files = {path.name for path in invoke.EVENTS.glob("*.json")} - {invoke.EXPECTED.name}
    listed = json.loads(invoke.EXPECTED.read_text())

    assert set(listed) == files
    for name, expected in listed.items():
        assert expected["function"] in FUNCTIONS, name
        answer = expected["answer"]
        assert answer == 200 or issubclass(getattr(errors, answer), errors.WorkflowError), name


def test_state_machine_inputs_go_to_the_first_task():
    first = json.loads(workflow.DEFINITION.read_text())["StartAt"]

    for name, expected in invoke.expectations().items():
        if name.startswith("sfn_"):
            assert expected.function == f"{first}Function"


TIMED_OUT = "Function 'F' timed out after 30 seconds"


@pytest.mark.parametrize(
    ("stdout", "stderr", "answer"),
    [
        ('START\n{"statusCode": 200, "body": {"s3_key": "k"}}\n', "", 200),
        ('{"errorMessage": "m", "errorType": "ImageNotFound"}\n', "", "ImageNotFound"),
        ("", f"Mounting...\n{TIMED_OUT}\n", f"no response ({TIMED_OUT})"),
        ("not json\n", "", "no response"),
        ("[1, 2]\n", "", "unexpected response"),
    ],
)
def test_answer_is_the_status_code_or_the_error_name(stdout, stderr, answer):
    assert invoke.answer_of(stdout, stderr) == answer


def test_sam_is_called_offline_with_the_local_parameters_and_image(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someones-real-profile")
    monkeypatch.setenv("ENDPOINT_NAME", "an-endpoint-sam-would-hand-the-function")
    sam = invoke.SamLocal(
        "x86_64",
        {"Parameters": {}},
        tmp_path,
        "http://172.18.0.1:5000",
        "scones-invoke-1",
        "img:tag",
    )
    expectation = invoke.expectations()["sfn_missing_image"]

    command = sam.command(expectation)
    environment = sam.environment()

    assert command[1:4] == ["local", "invoke", "SerializeImageDataFunction"]
    assert command[command.index("--event") + 1] == str(invoke.EVENTS / "sfn_missing_image.json")
    overrides = command[
        command.index("--parameter-overrides") + 1 : command.index("--invoke-image")
    ]
    assert overrides == [
        f"ImageBucketName={workflow.IMAGE_BUCKET}",
        f"EndpointName={workflow.LOCAL_ENDPOINT_NAME}",
        "Architecture=x86_64",
    ]
    assert command[command.index("--invoke-image") + 1 :] == ["img:tag", "--skip-pull-image"]
    assert command[command.index("--docker-network") + 1] == "scones-invoke-1"
    assert "AWS_PROFILE" not in environment
    assert not invoke.declared_variables() & set(environment)
    assert invoke.declared_variables() >= {"ENDPOINT_NAME", "AWS_ENDPOINT_URL_S3"}
    assert environment["AWS_ENDPOINT_URL_STS"] == "http://172.18.0.1:5000"
    assert environment["AWS_ACCESS_KEY_ID"] == "local"


def test_env_vars_point_every_function_at_the_stand_ins():
    stand_ins = invoke.StandIns("http://172.17.0.1:5000", "http://172.17.0.1:5001")

    assert stand_ins.env_vars() == {
        "Parameters": {
            "AWS_ENDPOINT_URL_S3": "http://172.17.0.1:5000",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://172.17.0.1:5001",
            "GROUND_TRUTH_BUCKET": workflow.GROUND_TRUTH_BUCKET,
        }
    }
    assert "GROUND_TRUTH_BUCKET" in invoke.declared_variables()


def test_an_events_own_variables_go_to_its_function_only(tmp_path):
    env_vars = {"Parameters": {"GROUND_TRUTH_BUCKET": workflow.GROUND_TRUTH_BUCKET}}
    sam = invoke.SamLocal("x86_64", env_vars, tmp_path, "http://172.18.0.1:5000", "net")
    no_bucket = invoke.expectations()["check_waiting_reviews_no_bucket"]

    written = json.loads(sam.env_vars_file(no_bucket).read_text())
    command = sam.command(invoke.expectations()["check_waiting_reviews"])
    usual = json.loads(Path(command[command.index("--env-vars") + 1]).read_text())

    assert written == env_vars | {"CheckWaitingReviewsFunction": no_bucket.environment}
    assert no_bucket.environment["GROUND_TRUTH_BUCKET"] != workflow.GROUND_TRUTH_BUCKET
    assert usual == env_vars | {"CheckWaitingReviewsFunction": {}}


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"waiting": 2, "oldest_key": "waiting/a", "hours": 0.01}, True),
        ({"waiting": 2, "oldest_key": "waiting/b", "hours": 0.01}, False),
        ({"waiting": 2}, False),
        ("not a body", False),
        (None, False),
    ],
)
def test_a_success_must_also_hold_the_bodys_expected_fields(body, ok):
    expected = invoke.Expectation("e", "F", 200, {"waiting": 2, "oldest_key": "waiting/a"})

    result = invoke.Result(expected, 200, 1.0, body)

    assert result.ok is ok
    assert ("WRONG" not in invoke.describe(result)) is ok


def test_the_ground_truth_bucket_lists_the_expected_oldest_marker_first(aws):
    """The markers go in in key order: moto's LastModified, to the second, ties them or puts
    the first key first; either way the first listed is the oldest the sample expects."""
    s3 = boto3.client("s3", region_name=invoke.REGION)

    invoke.fill_ground_truth(s3)

    listed = s3.list_objects_v2(Bucket=workflow.GROUND_TRUTH_BUCKET, Prefix="waiting/")
    keys = [item["Key"] for item in listed["Contents"]]
    expected = invoke.expectations()["check_waiting_reviews"].body
    assert keys == sorted(invoke.waiting_markers())
    assert (len(keys), keys[0]) == (expected["waiting"], expected["oldest_key"])
    first = s3.get_object(Bucket=workflow.GROUND_TRUTH_BUCKET, Key=keys[0])
    assert json.loads(first["Body"].read())["s3_key"] in invoke.WAITING_UPLOADS


def test_the_bucket_holds_the_named_images_by_class_and_lacks_the_missing_one(tmp_path):
    (tmp_path / "test").mkdir()
    for name in ("bicycle_s_000500.png", "motorcycle_s_000501.png", "bicycle_s_000513.png"):
        (tmp_path / "test" / name).write_bytes(make_image())

    contents = invoke.bucket_contents(tmp_path)

    assert contents["test/bicycle_s_000513.png"] == tmp_path / "test" / "bicycle_s_000513.png"
    assert contents["test/motorcycle_s_001300.png"] == tmp_path / "test" / "motorcycle_s_000501.png"
    assert "test/no_such_image.png" not in contents
    assert invoke.named_keys() >= {"test/motorcycle_s_001300.png", "test/no_such_image.png"}


def test_stand_ins_serve_the_images_the_waiting_markers_and_the_model_offline(tmp_path):
    with invoke.stand_ins(tmp_path, "127.0.0.1") as local:
        s3 = boto3.client("s3", endpoint_url=local.moto_url, region_name=invoke.REGION)
        image = s3.get_object(Bucket=workflow.IMAGE_BUCKET, Key="test/motorcycle_s_001300.png")
        waiting = s3.list_objects_v2(Bucket=workflow.GROUND_TRUTH_BUCKET, Prefix="waiting/")
        runtime = boto3.client(
            "sagemaker-runtime", endpoint_url=local.endpoint_url, region_name=invoke.REGION
        )
        answer = runtime.invoke_endpoint(
            EndpointName=workflow.LOCAL_ENDPOINT_NAME,
            ContentType="image/png",
            Body=image["Body"].read(),
        )

    probabilities = json.loads(answer["Body"].read())
    assert waiting["KeyCount"] == len(invoke.WAITING_UPLOADS)
    assert len(probabilities) == 2 and sum(probabilities) == pytest.approx(1)


def test_an_unknown_event_is_refused_before_anything_starts(capsys):
    assert invoke.main(["no_such_event"]) == 2
    assert "no event 'no_such_event'" in capsys.readouterr().err
