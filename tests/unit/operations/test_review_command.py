"""`python -m operations.review` against moto's SQS and S3, on the template's review queue."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from local.emulation import workflow
from operations import review
from operations.errors import AccessDenied, HoldExpired
from tests.conftest import IMAGE_BUCKET

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ImageClassification:run-{}"


def item_body(n: int) -> dict:
    """A message as the state machine's QueueForReview state writes it."""
    return {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": f"incoming/photo-{n:02d}.jpg",
        "etag": f"etag{n:02d}",
        "inferences": [0.3, 0.7],
        "threshold": 0.9,
        "execution_id": EXECUTION.format(n),
        "error": "ConfidenceThresholdNotMet",
        "cause": "{}",
    }


class Queue:
    def __init__(self, held_file):
        self.sqs = boto3.client("sqs")
        self.url = workflow.create_review_queue(self.sqs)
        self.held_file = held_file

    def send(self, body: dict | str, n: int) -> None:
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=body if isinstance(body, str) else json.dumps(body),
            MessageGroupId=f"group-{n}",
            MessageDeduplicationId=f"dedup-{n}",
        )

    def counts(self) -> tuple[int, int]:
        """(visible, held) messages."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return tuple(int(attributes["Attributes"][name]) for name in names)

    def run(self, *argv: str, held_file=None) -> int:
        held = str(held_file or self.held_file)
        return review.main(["--queue-url", self.url, "--held-file", held, *argv])


@pytest.fixture
def queue(image_bucket, tmp_path):
    return Queue(tmp_path / "held.json")


def test_list_shows_every_item_and_hides_none(queue, capsys):
    for n in range(12):  # more than one receive returns
        queue.send(item_body(n), n)

    assert queue.run("list") == 0

    out = capsys.readouterr().out
    assert out.startswith("12 waiting for review\n")
    assert out.count("model: motorcycle at 0.700, waiting 0 min") == 12
    assert all(f"incoming/photo-{n:02d}.jpg" in out for n in range(12))
    assert out.count("X-Amz-Expires=3600") == 12  # a presigned link each, expiring
    assert queue.counts() == (12, 0)


def test_take_holds_an_item_so_a_second_reviewer_gets_another(queue, tmp_path, capsys):
    queue.send(item_body(1), 1)
    queue.send(item_body(2), 2)

    assert queue.run("take") == 0
    assert queue.run("take", held_file=tmp_path / "other.json") == 0

    out = capsys.readouterr().out
    assert "photo-01.jpg" in out and "photo-02.jpg" in out
    assert queue.counts() == (0, 2)
    assert queue.run("take", held_file=tmp_path / "third.json") == 1
    assert "error: NothingToReview:" in capsys.readouterr().err


def test_done_records_one_label_line_and_removes_the_item(queue, capsys):
    queue.send(item_body(1), 1)
    queue.run("take")

    assert queue.run("done", "bicycle") == 0

    s3 = boto3.client("s3")
    [label_object] = s3.list_objects_v2(Bucket=IMAGE_BUCKET, Prefix="labels/")["Contents"]
    lines = s3.get_object(Bucket=IMAGE_BUCKET, Key=label_object["Key"])["Body"].read()
    [record] = [json.loads(line) for line in lines.decode().splitlines()]
    assert record.pop("labelled_at")
    assert record == {
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": "incoming/photo-01.jpg",
        "etag": "etag01",
        "inferences": [0.3, 0.7],
        "model_label": "motorcycle",
        "label": "bicycle",
        "execution_id": EXECUTION.format(1),
    }
    assert queue.counts() == (0, 0)
    assert not queue.held_file.exists()
    assert "labelled bicycle" in capsys.readouterr().out


def test_release_gives_the_item_back(queue):
    queue.send(item_body(1), 1)
    queue.run("take")

    assert queue.run("release") == 0

    assert queue.counts() == (1, 0)
    assert not queue.held_file.exists()


@pytest.mark.parametrize(
    ("argv", "error"),
    [(["done", "bicycle"], "NothingHeld"), (["release"], "NothingHeld")],
)
def test_finishing_without_taking_is_a_named_error(queue, capsys, argv, error):
    assert queue.run(*argv) == 1

    assert capsys.readouterr().err.startswith(f"error: {error}: ")


def test_take_while_holding_is_refused(queue, capsys):
    queue.send(item_body(1), 1)
    queue.send(item_body(2), 2)
    queue.run("take")

    assert queue.run("take") == 1

    assert capsys.readouterr().err.startswith("error: AlreadyHolding: ")
    assert queue.counts() == (1, 1)


def test_done_after_the_hold_ran_out_records_nothing(queue):
    queue.send(item_body(1), 1)
    queue.run("take")
    sqs = boto3.client("sqs")  # moto keeps old receipt handles valid; SQS refuses them
    args = review.parse_args(
        ["--queue-url", queue.url, "--held-file", str(queue.held_file), "done", "bicycle"]
    )

    with Stubber(sqs) as stub, pytest.raises(HoldExpired):
        stub.add_client_error("change_message_visibility", "MessageNotInflight")
        review.done({"sqs": sqs, "s3": boto3.client("s3")}, args)

    listed = boto3.client("s3").list_objects_v2(Bucket=IMAGE_BUCKET, Prefix="labels/")
    assert listed["KeyCount"] == 0
    assert queue.held_file.exists()


def test_list_names_a_message_that_is_not_a_review_item_and_shows_the_rest(queue, capsys):
    queue.send("not json", 1)
    queue.send(item_body(2), 2)

    assert queue.run("list") == 0

    out = capsys.readouterr().out
    assert out.startswith("2 waiting for review\n")
    assert "InvalidReviewItem: message " in out and "photo-02.jpg" in out
    assert queue.counts() == (2, 0)


def test_take_of_a_message_that_is_not_a_review_item_gives_it_back(queue, capsys):
    queue.send("not json", 1)

    assert queue.run("take") == 1

    assert capsys.readouterr().err.startswith("error: InvalidReviewItem: ")
    assert queue.counts() == (1, 0)
    assert not queue.held_file.exists()


def test_access_denied_is_named(queue):
    sqs = boto3.client("sqs")
    args = review.parse_args(["--queue-url", queue.url, "list"])

    with Stubber(sqs) as stub, pytest.raises(AccessDenied, match="may not use the queue"):
        stub.add_client_error("receive_message", "AccessDenied", http_status_code=403)
        review.list_items({"sqs": sqs, "s3": boto3.client("s3")}, args)


def test_a_wrong_queue_url_is_named(image_bucket, tmp_path, capsys):
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/nothing-here.fifo"
    assert review.main(["--queue-url", url, "--held-file", str(tmp_path / "h"), "list"]) == 1

    assert capsys.readouterr().err.startswith("error: QueueNotFound: ")


def test_a_label_must_be_one_a_report_can_use(queue, capsys):
    with pytest.raises(SystemExit):
        queue.run("done", "scooter")
    assert "invalid choice: 'scooter'" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as exited:
        review.main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m operations.review")
