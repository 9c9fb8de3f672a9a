"""`python -m operations.review` against moto's SQS (the template's FIFO review queue), S3 and
STS: what it prints, what it holds between commands, and what it writes (the ground-truth
bucket only). SQS refusing a receipt handle whose hold ran out, and a delete that fails, come
from botocore's Stubber: moto keeps every old receipt handle valid."""

import json
import time

import boto3
import pytest
from botocore.stub import Stubber

from operations import review
from operations.cli import run
from operations.errors import AccessDenied, OperationError
from tests.conftest import IMAGE_BUCKET
from tests.unit.operations.review_queue import (
    GROUND_TRUTH_BUCKET,
    PNG,
    Queue,
    inference_id,
    item_body,
    marker,
    sqs_failing_delete,
    sqs_hold_gone,
)

ID = inference_id(1)
MARKER = marker(1)
MOTO_ARN = "arn:aws:sts::123456789012:user/moto"


class Terminal:
    """The command as a reviewer runs it, with one held file per reviewer."""

    def __init__(self, queue: Queue, tmp_path):
        self.queue = queue
        self.tmp_path = tmp_path

    def argv(self, *argv: str, reviewer: str = "me") -> list[str]:
        return [
            *("--queue-url", self.queue.url, "--image-bucket", IMAGE_BUCKET),
            *("--ground-truth-bucket", GROUND_TRUTH_BUCKET, "--wait-seconds", "0"),
            *("--held-file", str(self.held_file(reviewer)), *argv),
        ]

    def held_file(self, reviewer: str = "me"):
        return self.tmp_path / f"{reviewer}.json"

    def main(self, *argv: str) -> int:
        """The command as a process runs it: its own session and clients."""
        return review.main(self.argv(*argv))

    def run(self, *argv: str, reviewer: str = "me", sqs=None, s3=None) -> int:
        """The command with the test's clients (a session's set-up is half a second): moto's,
        or a Stubber's."""
        args = review.parse_args(self.argv(*argv, reviewer=reviewer))
        chosen = self.queue.reviewer(sqs=sqs, s3=s3)
        return run(lambda: review.COMMANDS[args.command](chosen, args))


@pytest.fixture
def queue(image_bucket):
    return Queue(image_bucket)


@pytest.fixture
def terminal(queue, tmp_path):
    return Terminal(queue, tmp_path)


def test_list_shows_every_item_and_hides_none(queue, terminal, capsys):
    for n in range(11):  # more than one receive returns
        queue.send_item(n)
    queue.send_item(11, reason="audit")

    assert terminal.run("list") == 0

    out = capsys.readouterr().out
    assert out.startswith("12 waiting for review; the queue counts about 12 that nobody holds\n")
    guess = "below the threshold: the model says motorcycle at 0.700; waiting 0 min"
    assert out.count(guess) == 11
    assert all(f"incoming/photo-{n:02d}.png\n" in out for n in range(12))
    assert "incoming/photo-11.png\n  audit: answer it blind" in out  # no guess for an audit
    assert "http" not in out  # no links: the image is read with the reviewer's credentials
    assert queue.counts() == (12, 0)


def test_list_names_each_message_that_is_not_ours_and_shows_the_rest(queue, terminal, capsys):
    queue.send("not json", 1)
    queue.send(item_body(2, inferences=[]), 2)
    queue.send(item_body(3, inferences=[0.2, 0.3, 0.5]), 3)
    queue.send(item_body(4, inferences="19"), 4)
    queue.send_item(5)

    assert terminal.run("list") == 0

    out = capsys.readouterr().out
    assert out.startswith("5 waiting for review; the queue counts about 5 that nobody holds\n")
    assert out.count("unreadable message ") == 4
    assert "not JSON" in out and out.count("'inferences' is not two numbers in [0, 1]") == 3
    assert "incoming/photo-05.png\n  below the threshold" in out
    assert queue.counts() == (5, 0)


def test_list_says_how_many_max_left_out(queue, terminal, capsys):
    for n in range(5):
        queue.send_item(n)

    assert terminal.run("list", "--max", "2") == 0

    header = capsys.readouterr().out.split("\n")[0]
    assert (
        header
        == "2 waiting for review (or more: --max); the queue counts about 5 that nobody holds"
    )


def test_list_without_leave_to_count_lists_all_the_same(queue, terminal, capsys):
    sqs = boto3.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_client_error("get_queue_attributes", "AccessDenied", http_status_code=403)
        stub.add_response("receive_message", {})
        assert terminal.run("list", sqs=sqs) == 0

    assert capsys.readouterr().out == "0 waiting for review\n"


def test_what_uploaders_chose_reaches_the_terminal_escaped(queue, terminal, capsys):
    queue.send_item(1, s3_key="incoming/\u202egnp.exe\u2028DONE.png")  # readable: no Cc
    queue.send(item_body(2, s3_key="incoming/\x1b[2J\nforged: done.png"), 2)

    assert terminal.run("list") == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\u2028" not in out
    assert "incoming/\\u202egnp.exe\\u2028DONE.png\n" in out
    assert "'incoming/\\x1b[2J\\nforged: done.png'" in out
    assert len(out.splitlines()) == 4  # the count, two lines of the item, one unreadable


def test_take_holds_an_item_and_saves_its_image(queue, terminal, capsys):
    queue.send_item(1)

    assert terminal.main("take") == 0

    out = capsys.readouterr().out
    image = terminal.tmp_path / "me-image.png"
    assert out.startswith("held for 900 s: incoming/photo-01.png\n  below the threshold")
    assert f"  image: {image}\n" in out
    assert image.read_bytes() == PNG
    assert queue.counts() == (0, 1)


def test_an_audit_is_taken_blind(queue, terminal, capsys):
    queue.send_item(1, reason="audit")

    assert terminal.run("take") == 0

    out = capsys.readouterr().out
    assert "audit: answer it blind" in out
    assert "motorcycle at" not in out and "0.7" not in out


def test_take_holds_an_item_so_a_second_reviewer_gets_another(queue, terminal, capsys):
    queue.send_item(1)
    queue.send_item(2)

    assert terminal.run("take") == 0
    assert terminal.run("take", reviewer="other") == 0

    out = capsys.readouterr().out
    assert "photo-01.png" in out and "photo-02.png" in out
    assert queue.counts() == (0, 2)
    assert terminal.run("take", reviewer="third") == 1
    assert "error: NothingToReview:" in capsys.readouterr().err


def test_a_message_that_is_not_ours_never_blocks_the_items_behind_it(queue, terminal, capsys):
    queue.send("not json", 1)
    queue.send_item(2)

    assert terminal.run("take") == 0
    assert terminal.run("take", reviewer="other") == 0

    out = capsys.readouterr().out
    assert "held for 900 s: unreadable message " in out and "discard it" in out
    assert "held for 900 s: incoming/photo-02.png" in out
    assert terminal.run("discard") == 0
    out = capsys.readouterr().out
    assert " discarded: not JSON" in out
    [kept] = queue.objects(prefix="unreadable/")
    assert out.endswith(f"; a copy is in s3://{GROUND_TRUTH_BUCKET}/{kept}\n")
    assert queue.counts() == (0, 1)
    assert not terminal.held_file().exists()


@pytest.mark.parametrize(
    "body",
    [item_body(1, inferences=[]), item_body(1, inferences=[0.2, 0.3, 0.5]), "[" * 100_000],
    ids=["no inferences", "three inferences", "deeply nested"],
)
def test_a_malformed_message_is_held_as_unreadable_then_discarded(queue, terminal, capsys, body):
    queue.send(body, 1)

    assert terminal.run("take") == 0
    assert "unreadable message " in capsys.readouterr().out
    assert terminal.run("discard") == 0

    assert queue.counts() == (0, 0)


def test_a_message_for_another_bucket_reads_and_writes_nothing_there(queue, terminal, capsys):
    queue.s3.create_bucket(Bucket="someone-elses")
    queue.send(item_body(1, s3_bucket="someone-elses"), 1)

    assert terminal.run("take") == 0
    assert terminal.run("done", "bicycle") == 1

    out, err = capsys.readouterr()
    assert "another bucket, 'someone-elses'" in out and "image:" not in out
    assert err.startswith("error: InvalidReviewItem: message ")
    assert queue.objects("someone-elses") == {} and queue.objects() == {}
    assert queue.counts() == (0, 1)


def test_done_records_the_answer_in_the_ground_truth_bucket_only(queue, terminal, capsys):
    body = queue.send_item(1)
    terminal.run("take")

    assert terminal.main("done", "bicycle") == 0

    out = capsys.readouterr().out
    records = f"s3://{GROUND_TRUTH_BUCKET}/reviews/{ID}.json"
    assert f"incoming/photo-01.png: bicycle, recorded in {records} and " in out
    objects = queue.objects()
    assert set(objects) == {
        f"reviews/{ID}.json",
        json.loads(objects[f"reviews/{ID}.json"])["record_key"],
    }
    assert set(queue.objects(IMAGE_BUCKET)) == {body["s3_key"]}  # no labels/ there any more
    assert queue.counts() == (0, 0)
    assert list(terminal.tmp_path.iterdir()) == []  # the held file and the image are gone


def test_done_again_after_a_failed_delete_adds_no_second_answer(queue, terminal, capsys):
    queue.send_item(1)
    terminal.run("take")
    sqs, stub = sqs_failing_delete()
    with stub:
        assert terminal.run("done", "bicycle", sqs=sqs) == 1
    assert terminal.held_file().exists()  # the item is still held: done can be run again

    assert terminal.run("done", "motorcycle") == 0

    out = capsys.readouterr().out
    assert f"already answered bicycle by {MOTO_ARN}" in out
    assert "your answer was not recorded; the item left the queue" in out
    assert len(queue.objects(prefix="ground-truth/")) == 1
    assert queue.counts() == (0, 0)


def test_a_reviewer_whose_hold_ran_out_can_take_again(queue, terminal, capsys):
    queue.send_item(1)
    assert terminal.run("take", "--hold", "1") == 0
    time.sleep(1.1)  # the hold runs out: SQS makes the item visible again

    assert terminal.run("take") == 0

    out = capsys.readouterr().out
    assert "(your previous hold had run out: that item is back in the queue)" in out
    assert queue.counts() == (0, 1)


def test_done_after_the_hold_ran_out_records_nothing_and_frees_the_reviewer(
    queue, terminal, capsys
):
    queue.send_item(1)
    terminal.run("take")
    sqs, stub = sqs_hold_gone()

    with stub:
        assert terminal.run("done", "bicycle", sqs=sqs) == 1

    err = capsys.readouterr().err
    assert err == (
        "error: HoldExpired: your hold on 'incoming/photo-01.png' ran out: nothing is recorded "
        "for it; take an item again\n"
    )
    assert set(queue.objects()) == {MARKER}
    assert list(terminal.tmp_path.iterdir()) == []
    queue.send_item(2)
    assert terminal.run("take") == 0  # not AlreadyHolding


def test_release_after_the_hold_ran_out_frees_the_reviewer(queue, terminal, capsys):
    queue.send_item(1)
    terminal.run("take")
    sqs, stub = sqs_hold_gone()

    with stub:
        assert terminal.run("release", sqs=sqs) == 0

    assert "your hold had already run out; nothing to give back" in capsys.readouterr().out
    assert not terminal.held_file().exists()


def test_release_gives_the_item_back(queue, terminal, capsys):
    queue.send_item(1)
    terminal.run("take")

    assert terminal.run("release") == 0

    assert "incoming/photo-01.png: released, unanswered" in capsys.readouterr().out
    assert queue.counts() == (1, 0)
    assert list(terminal.tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        '{"message": {"MessageId": "m"',
        '{"message": {"MessageId": "m", "ReceiptHandle": "r"}, "received_at": 1, "held_until": ""}',
        '{"message": [], "received_at": 1, "held_until": 2}',
        "[]",
    ],
    ids=["cut short", "not a time", "not a message", "not an object"],
)
def test_a_corrupt_held_file_is_named_and_release_removes_it(queue, terminal, capsys, content):
    queue.send_item(1)
    terminal.held_file().write_text(content)

    assert terminal.run("take") == 1
    assert terminal.run("done", "bicycle") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("error: HeldFileUnreadable: ") for line in err)
    assert "`release` removes it" in err[0]

    assert terminal.run("release") == 0
    assert "was unreadable: removed" in capsys.readouterr().out
    assert terminal.run("take") == 0


def test_an_image_that_cannot_be_shown_is_named_and_the_item_stays_held(queue, terminal, capsys):
    body = queue.send_item(1)
    queue.send_item(2)
    queue.s3.delete_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"])
    s3 = boto3.client("s3")

    assert terminal.run("take") == 0
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        assert terminal.run("take", reviewer="other", s3=s3) == 0

    out = capsys.readouterr().out
    assert "image: not shown: ImageNotFound: s3://scones-unlimited-images/'incoming/photo-01" in out
    assert "image: not shown: AccessDenied: your credentials may not read s3://" in out
    assert out.count("nothing to label: discard closes it (image unavailable), or release") == 1
    assert terminal.held_file().exists() and terminal.held_file("other").exists()
    assert queue.counts() == (0, 2)


def test_an_item_whose_image_is_gone_is_closed_by_discard(queue, terminal, capsys):
    body = queue.send_item(1)
    queue.s3.delete_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"])
    terminal.run("take")

    assert terminal.run("discard") == 0

    out = capsys.readouterr().out.split("\n")[-2]
    assert out == (
        "incoming/photo-01.png: closed, its image unavailable; recorded in "
        f"s3://{GROUND_TRUTH_BUCKET}/reviews/{ID}.json"
    )
    record = json.loads(queue.objects()[f"reviews/{ID}.json"])
    assert (record["outcome"], record["label"]) == ("image_unavailable", None)
    assert set(queue.objects()) == {f"reviews/{ID}.json"}  # no line; the marker deleted
    assert queue.counts() == (0, 0)
    assert not terminal.held_file().exists()


def test_a_review_item_is_answered_never_discarded(queue, terminal, capsys):
    queue.send_item(1)
    terminal.run("take")

    assert terminal.run("discard") == 1

    assert capsys.readouterr().err.startswith("error: DiscardRefused: 'incoming/photo-01.png'")
    assert queue.counts() == (0, 1)
    assert terminal.held_file().exists()


@pytest.mark.parametrize("argv", [["done", "bicycle"], ["release"], ["discard"]])
def test_finishing_without_taking_is_a_named_error(terminal, capsys, argv):
    assert terminal.run(*argv) == 1

    assert capsys.readouterr().err.startswith("error: NothingHeld: ")


def test_take_while_holding_is_refused(queue, terminal, capsys):
    queue.send_item(1)
    queue.send_item(2)
    terminal.run("take")

    assert terminal.run("take") == 1

    assert capsys.readouterr().err.startswith("error: AlreadyHolding: ")
    assert queue.counts() == (1, 1)


def test_access_denied_is_named(queue, terminal):
    sqs = boto3.client("sqs")
    args = review.parse_args(terminal.argv("list"))

    with Stubber(sqs) as stub, pytest.raises(AccessDenied, match="may not use the queue"):
        stub.add_response(
            "get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "0"}}
        )
        stub.add_client_error("receive_message", "AccessDenied", http_status_code=403)
        review.list_items(queue.reviewer(sqs=sqs), args)


def test_a_wrong_queue_url_is_named(queue, terminal, capsys):
    terminal.queue.url = "https://sqs.us-east-1.amazonaws.com/123456789012/nothing-here.fifo"

    assert terminal.main("list") == 1

    assert capsys.readouterr().err.startswith("error: QueueNotFound: ")


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["done", "scooter"], "invalid choice: 'scooter'"),
        (["take", "--hold", "0"], "from 1 to 43200 seconds"),
        (["take", "--hold", "43201"], "from 1 to 43200 seconds"),
        (["list", "--max", "0"], "--max must be at least 1"),
    ],
)
def test_arguments_a_review_cannot_use_are_refused(capsys, argv, complaint):
    with pytest.raises(SystemExit):
        review.parse_args(
            ["--queue-url", "q", "--image-bucket", "i", "--ground-truth-bucket", "g", *argv]
        )
    assert complaint in capsys.readouterr().err


def test_the_ground_truth_bucket_is_required_and_read_from_the_environment(monkeypatch, capsys):
    argv = ["--queue-url", "q", "--image-bucket", IMAGE_BUCKET, "list"]
    monkeypatch.delenv("GROUND_TRUTH_BUCKET", raising=False)
    with pytest.raises(SystemExit):
        review.parse_args(argv)
    assert "--ground-truth-bucket is required" in capsys.readouterr().err

    monkeypatch.setenv("GROUND_TRUTH_BUCKET", GROUND_TRUTH_BUCKET)
    assert review.parse_args(argv).ground_truth_bucket == GROUND_TRUTH_BUCKET


def test_an_error_is_one_printable_line(capsys):
    def failing() -> str:
        raise OperationError("key 'a\nb\x1b[2J'")

    assert run(failing) == 1

    assert capsys.readouterr().err == "error: OperationError: key 'a\\nb\\x1b[2J'\n"


def test_help(capsys):
    with pytest.raises(SystemExit) as exited:
        review.main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m operations.review")
