"""The review core (`operations.reviewing`) against moto's SQS (the template's FIFO queue: holds,
receipt handles, message groups), S3 (conditional writes: moto 5.2.5 answers a second
`IfNoneMatch="*"` put with 412 PreconditionFailed, as S3 does) and STS. What moto cannot
answer, S3's 409 ConditionalRequestConflict and SQS refusing a receipt handle whose hold ran out
(moto keeps every old handle valid), comes from botocore's Stubber, checked against the
service model."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from operations.errors import (
    AccessDenied,
    DiscardRefused,
    HoldExpired,
    ImageNotFound,
    ImageTooLarge,
    InvalidAnswer,
    InvalidReviewItem,
    InvalidReviewRecord,
    QueueNotFound,
    WaitingMarkerLeft,
)
from operations.reviewing import (
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    ReviewItem,
    Unreadable,
    image_type,
    read,
    review_id,
)
from tests.conftest import IMAGE_BUCKET
from tests.images import make_image
from tests.unit.operations.review_queue import (
    EXECUTION,
    GROUND_TRUTH_BUCKET,
    PNG,
    Queue,
    inference_id,
    item_body,
    marker,
    sqs_failing_delete,
    sqs_hold_gone,
)
from workflow_common.errors import NotAnImage
from workflow_common.images import MAX_BASE64_CHARS, content_type_of

ANSWERED = datetime(2026, 12, 5, 23, 59, 30, tzinfo=UTC)
ID = inference_id(1)
MARKER = marker(1)
LINE_KEY = f"ground-truth/2026/12/05/23/{ID}.jsonl"
MOTO_ARN = "arn:aws:sts::123456789012:user/moto"  # moto's STS for the test credentials


@pytest.fixture
def queue(image_bucket):
    return Queue(image_bucket)


def message(body: dict | str, sent_ms: str = "1764979200000") -> dict:
    """A message as ReceiveMessage returns it."""
    text = body if isinstance(body, str) else json.dumps(body)
    attributes = {"SentTimestamp": sent_ms}
    return {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": text, "Attributes": attributes}


def without(field: str) -> dict:
    return {k: v for k, v in item_body(1).items() if k != field}


def test_a_message_of_ours_is_a_review_item():
    item = read(message(item_body(1)), IMAGE_BUCKET)

    assert item == ReviewItem(
        IMAGE_BUCKET,
        "incoming/photo-01.png",
        "etag01",
        (0.3, 0.7),
        EXECUTION.format(1),
        ID,
        review_id(IMAGE_BUCKET, "incoming/photo-01.png", "etag01"),
        "below_threshold",
        1764979200.0,
    )
    assert (item.label, item.confidence) == ("motorcycle", 0.7)


UNREADABLE = {
    "not JSON": ("not json", "not JSON"),
    "a JSON number": ("19", "not a JSON object but int"),
    "from before review records": (without("inference_id"), "no 'inference_id'"),
    "no reason": (without("reason"), "no 'reason'"),
    "another reason": (item_body(1, reason="urgent"), "'reason' is not one of"),
    "no inferences": (item_body(1, inferences=[]), "'inferences' is not two numbers"),
    "three inferences": (item_body(1, inferences=[0.2, 0.3, 0.5]), "'inferences' is not two"),
    "inferences as text": (item_body(1, inferences="19"), "'inferences' is not two"),
    "strings": (item_body(1, inferences=["0.3", "0.7"]), "'inferences' is not two"),
    "booleans": (item_body(1, inferences=[True, False]), "'inferences' is not two"),
    "out of [0, 1]": (item_body(1, inferences=[1.5, -0.5]), "'inferences' is not two"),
    "NaN": (item_body(1, inferences=[float("nan"), 0.5]), "'inferences' is not two"),
    "infinite": (item_body(1, inferences=[float("inf"), 0]), "'inferences' is not two"),
    "another bucket": (item_body(1, s3_bucket="someone-elses"), "another bucket, 'someone-elses'"),
    "escape sequence": (item_body(1, s3_key="a\x1b[2Jb.png"), "'s3_key' has control characters"),
    "forged line": (item_body(1, s3_key="a.png\nDONE b.png"), "'s3_key' has control characters"),
    "C1 control": (item_body(1, s3_key="a\x9bb.png"), "'s3_key' has control characters"),
    "empty key": (item_body(1, s3_key=""), "'s3_key' is not a non-empty string"),
    "number key": (item_body(1, s3_key=5), "'s3_key' is not a non-empty string: 5"),
    "long key": (item_body(1, s3_key="k" * 1025), "'s3_key' is longer than 1024 bytes"),
    "lone surrogate": (item_body(1, s3_key="a\ud800.png"), "'s3_key' is not Unicode text"),
    "a path as id": (item_body(1, inference_id="../../x"), "'inference_id' is not a UUID"),
    "upper-case id": (
        item_body(1, inference_id="6F9619FF-8B86-4011-B42D-00C04FC964FF"),
        "'inference_id' is not a UUID",
    ),
    "no review id": (without("review_id"), "no 'review_id'"),
    "a path as review id": (item_body(1, review_id="../" * 21 + "x"), "'review_id' is not a SHA"),
    "upper-case review id": (item_body(1, review_id="AB" * 32), "'review_id' is not a SHA-256"),
    "short review id": (item_body(1, review_id="ab" * 31), "'review_id' is not a SHA-256"),
    "review id and a line": (item_body(1, review_id="ab" * 32 + "\n"), "'review_id' is not"),
    "number review id": (item_body(1, review_id=7), "'review_id' is not a SHA-256 in hex: 7"),
    "no execution": (without("execution_id"), "'execution_id' is not a non-empty string"),
    "number etag": (item_body(1, etag=7), "'etag' is not a non-empty string"),
    "deep nesting": ("[" * 100_000, "nested deeper than 8 levels"),
    "deep field": (item_body(1, extra=[[[[[[[[[1]]]]]]]]]), "nested deeper than 8 levels"),
    "huge": (item_body(1, cause="x" * MAX_BODY_BYTES), "larger than 262,144 bytes"),
    "5,000 digits": ('{"inferences": [1' + "0" * 5000 + "]}", "not JSON"),
}


@pytest.mark.parametrize(("body", "problem"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_message_that_is_not_ours_is_unreadable_in_one_printable_line(body, problem):
    content = read(message(body), IMAGE_BUCKET)

    assert isinstance(content, Unreadable)
    assert problem in content.problem
    assert content.problem.isprintable()  # no control character, no line break
    assert len(content.problem) < 200


def test_bracket_characters_inside_strings_are_not_nesting():
    body = item_body(1, s3_key="incoming/[[[[[[[[[[{{{{{{{{{.png")

    assert isinstance(read(message(body), IMAGE_BUCKET), ReviewItem)


@pytest.mark.parametrize(
    "raw",
    [{"MessageId": "m"}, {"Body": json.dumps(item_body(1))}, message(item_body(1), "soon")],
    ids=["no body", "no attributes", "no timestamp"],
)
def test_reading_never_raises_whatever_the_message(raw):
    assert isinstance(read(raw, IMAGE_BUCKET), Unreadable)


def test_take_holds_an_item_so_a_second_reviewer_gets_another(queue):
    queue.send_item(1)
    queue.send_item(2)

    first, second = queue.reviewer().take(60), queue.reviewer().take(60)

    assert {first.content.s3_key, second.content.s3_key} == {
        "incoming/photo-01.png",
        "incoming/photo-02.png",
    }
    assert queue.reviewer().take(60) is None
    assert queue.counts() == (0, 2)


def test_a_message_that_is_not_ours_is_held_and_never_stands_before_the_items_behind_it(queue):
    queue.send("not json", 1)
    queue.send_item(2)

    bad = queue.reviewer().take(60)
    good = queue.reviewer().take(60)

    assert isinstance(bad.content, Unreadable)
    assert good.content.s3_key == "incoming/photo-02.png"
    queue.reviewer().discard(bad)
    assert queue.counts() == (0, 1)


def test_a_review_item_is_never_discarded(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)

    with pytest.raises(DiscardRefused, match="has its image: answer it"):
        queue.reviewer().discard(held)

    assert queue.counts() == (0, 1)
    assert set(queue.objects()) == {MARKER}


def test_a_discarded_message_that_is_not_ours_is_kept_first(queue):
    queue.send("not json", 1)
    held = queue.reviewer().take(60)

    key = queue.reviewer().discard(held)

    assert key == f"unreadable/{held.message_id}.json"
    copy = json.loads(queue.objects()[key])
    assert copy.pop("discarded_at").startswith("20")
    assert copy == {
        "message_id": held.message_id,
        "body": "not json",
        "attributes": {"SentTimestamp": held.message["Attributes"]["SentTimestamp"]},
        "message_attributes": {},
        "problem": held.content.problem,
        "discarded_by": MOTO_ARN,
    }
    assert queue.counts() == (0, 0)


def test_a_message_whose_copy_cannot_be_written_is_not_deleted(queue):
    queue.send("not json", 1)
    held = queue.reviewer().take(60)
    s3 = boto3.client("s3")

    with (
        Stubber(s3) as stub,
        pytest.raises(AccessDenied, match=f"write s3://{GROUND_TRUTH_BUCKET}/unreadable/"),
    ):
        stub.add_client_error("put_object", "AccessDenied", http_status_code=403)
        queue.reviewer(s3=s3).discard(held)

    assert queue.counts() == (0, 1)


def test_a_held_file_naming_no_sqs_message_is_never_a_key(queue):
    queue.send("not json", 1)
    held = queue.reviewer().take(60)
    forged = dataclasses.replace(held, message_id="../reviews/x")

    with pytest.raises(InvalidReviewItem, match="is not SQS's"):
        queue.reviewer().discard(forged)

    assert queue.objects() == {}


@pytest.mark.parametrize(("change", "why"), [("delete", "is gone"), ("replace", "was replaced")])
def test_an_item_whose_image_is_gone_is_closed_with_its_record_and_no_line(queue, change, why):
    body = queue.send_item(1)
    if change == "delete":
        queue.s3.delete_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"])
    else:
        queue.s3.put_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"], Body=PNG + b"new")
    held = queue.reviewer().take(60)

    key = queue.reviewer().discard(held)

    assert key == f"reviews/{ID}.json"
    objects = queue.objects()
    assert set(objects) == {key}  # no line, and the marker is gone with the message
    record = json.loads(objects[key])
    assert (record["outcome"], record["label"], record["record_key"]) == (
        "image_unavailable",
        None,
        None,
    )
    assert why in record["problem"] and record["reviewer"] == MOTO_ARN
    assert (record["s3_key"], record["etag"], record["inference_id"]) == (
        body["s3_key"],
        body["etag"],
        ID,
    )
    assert queue.counts() == (0, 0)


def test_an_answer_to_an_item_closed_before_writes_nothing_and_says_so(queue):
    """The close's delete failed; the same item answered then is told it was closed."""
    body = queue.send_item(1)
    queue.s3.delete_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"])
    held = queue.reviewer().take(60)
    sqs, stub = sqs_failing_delete()
    with stub, pytest.raises(ClientError, match="InternalError"):
        queue.reviewer(sqs=sqs).discard(held)
    queue.s3.put_object(Bucket=IMAGE_BUCKET, Key=body["s3_key"], Body=PNG)  # back, somehow

    answer = queue.reviewer().answer(held, "bicycle", 2)

    assert (answer.label, answer.already_answered, answer.line_key) == (
        "image_unavailable",
        True,
        None,
    )
    assert set(queue.objects()) == {f"reviews/{ID}.json"}
    assert queue.counts() == (0, 0)


def test_give_back_with_a_delay_keeps_the_item_from_coming_straight_back(queue):
    queue.send_item(1)
    reviewer = queue.reviewer()

    reviewer.give_back(reviewer.take(60), delay_seconds=30)
    assert reviewer.take(60) is None
    assert queue.counts() == (0, 1)

    queue.sqs.purge_queue(QueueUrl=queue.url)
    queue.send_item(2)
    reviewer.give_back(reviewer.take(60))
    assert queue.counts() == (1, 0)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("MessageNotInflight", "The message referred to isn't in flight."),
        ("ReceiptHandleIsInvalid", "The input receipt handle is invalid."),
        (
            "InvalidParameterValue",
            "Value x for parameter ReceiptHandle is invalid. "
            "Reason: The receipt handle has expired.",
        ),
    ],
)
def test_a_hold_sqs_no_longer_knows_is_hold_expired(queue, code, words):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    sqs = boto3.client("sqs")

    with Stubber(sqs) as stub, pytest.raises(HoldExpired, match=r"photo-01\.png' ran out"):
        stub.add_client_error("change_message_visibility", code, words)
        queue.reviewer(sqs=sqs).keep(held, 60)


def test_a_hold_longer_than_sqs_allows_is_not_taken_for_a_lost_one(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)

    with pytest.raises(ClientError, match="maximum visibility timeout"):
        queue.reviewer().keep(held, 43_201)


def test_the_queue_counts_what_nobody_holds(queue):
    for n in range(3):
        queue.send_item(n)
    reviewer = queue.reviewer()
    reviewer.take(60)

    assert reviewer.waiting() == 2


def test_a_count_the_reviewer_may_not_read_is_none_and_a_missing_queue_is_named(queue):
    sqs = boto3.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_client_error("get_queue_attributes", "AccessDenied", http_status_code=403)
        assert queue.reviewer(sqs=sqs).waiting() is None
        stub.add_client_error("get_queue_attributes", "AWS.SimpleQueueService.NonExistentQueue")
        with pytest.raises(QueueNotFound, match=f"no queue at {queue.url}"):
            queue.reviewer(sqs=sqs).waiting()


def test_peek_shows_everything_and_gives_everything_back(queue):
    for n in range(11):
        queue.send_item(n)
    queue.send(item_body(11, inferences=[]), 11)

    listed = queue.reviewer().peek(50)

    assert len(listed) == 12
    assert sum(isinstance(held.content, Unreadable) for held in listed) == 1
    assert queue.counts() == (12, 0)
    assert len(queue.reviewer().peek(5)) == 5
    assert queue.counts() == (12, 0)


def test_the_image_is_read_from_the_image_bucket_as_the_model_saw_it(queue):
    queue.send_item(1)
    item = queue.reviewer().take(60).content

    assert queue.reviewer().image(item) == PNG

    queue.s3.put_object(Bucket=IMAGE_BUCKET, Key=item.s3_key, Body=PNG + b"changed")
    with pytest.raises(ImageNotFound, match="was replaced since it was classified"):
        queue.reviewer().image(item)
    queue.s3.delete_object(Bucket=IMAGE_BUCKET, Key=item.s3_key)
    with pytest.raises(ImageNotFound, match="is gone"):
        queue.reviewer().image(item)


def test_an_image_larger_than_the_workflow_classifies_is_not_read(queue):
    big = queue.s3.put_object(Bucket=IMAGE_BUCKET, Key="big.png", Body=b"x" * (MAX_IMAGE_BYTES + 1))
    item = read(message(item_body(1, s3_key="big.png", etag=big["ETag"])), IMAGE_BUCKET)

    with pytest.raises(ImageTooLarge):
        queue.reviewer().image(item)


@pytest.mark.parametrize(
    "data",
    [PNG, make_image(image_format="JPEG"), b"\x89PNG", b"GIF89a", b"", b"\xff\xd8"],
    ids=["png", "jpeg", "a png's first bytes", "gif", "empty", "a jpeg's first bytes"],
)
def test_image_types_are_the_workflows(data):
    """The layer's own check, which the commands cannot import: the same answer, None for
    what it refuses."""
    try:
        expected = content_type_of(data)
    except NotAnImage:
        expected = None

    assert image_type(data) == expected


def test_the_image_limit_is_the_workflows():
    assert MAX_IMAGE_BYTES == MAX_BASE64_CHARS * 3 // 4


def record_of(body: dict, **fields) -> dict:
    """The review record the contract specifies for `body` answered at ANSWERED."""
    return {
        "inference_id": body["inference_id"],
        "label": "bicycle",
        "reviewer": MOTO_ARN,
        "answered_at": "2026-12-05T23:59:30+00:00",
        "seconds_spent": 12.5,
        "reason": body["reason"],
        "model_label": "motorcycle",
        "model_confidence": 0.7,
        "inferences": [0.3, 0.7],
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": body["s3_key"],
        "etag": body["etag"],
        "execution_id": body["execution_id"],
        "message_id": ANY,
        "record_key": LINE_KEY,
    } | fields


def test_an_answer_writes_its_record_then_its_line_and_lets_the_item_go(queue):
    body = queue.send_item(1)
    reviewer = queue.reviewer()
    held = reviewer.take(60)

    answer = reviewer.answer(held, "bicycle", 12.5, answered_at=ANSWERED)

    assert answer == (answer.__class__("bicycle", MOTO_ARN, f"reviews/{ID}.json", LINE_KEY, False))
    objects = queue.objects()
    assert set(objects) == {f"reviews/{ID}.json", LINE_KEY}  # the waiting marker is deleted
    assert objects[LINE_KEY] == (
        b'{"groundTruthData": {"data": "bicycle", "encoding": "CSV"}, '
        b'"eventMetadata": {"eventId": "' + ID.encode() + b'"}, "eventVersion": "0"}\n'
    )
    assert json.loads(objects[f"reviews/{ID}.json"]) == record_of(body, message_id=held.message_id)
    assert queue.counts() == (0, 0)
    assert set(queue.objects(IMAGE_BUCKET)) == {body["s3_key"]}  # nothing written there


def test_neither_is_recorded_beside_the_ground_truth_never_in_it(queue):
    body = queue.send_item(1, reason="audit")
    reviewer = queue.reviewer()

    answer = reviewer.answer(reviewer.take(60), "neither", 3, answered_at=ANSWERED)

    line_key = f"neither/2026/12/05/23/{ID}.jsonl"
    assert answer.line_key == line_key
    objects = queue.objects()
    assert set(objects) == {f"reviews/{ID}.json", line_key}
    assert json.loads(objects[line_key]) == {
        "inference_id": ID,
        "s3_bucket": IMAGE_BUCKET,
        "s3_key": body["s3_key"],
        "etag": body["etag"],
        "answered_at": "2026-12-05T23:59:30+00:00",
    }
    record = json.loads(objects[f"reviews/{ID}.json"])
    assert (record["label"], record["reason"], record["record_key"]) == (
        "neither",
        "audit",
        line_key,
    )


def test_the_keys_hour_is_the_answers_in_utc(queue):
    queue.send_item(1)
    reviewer = queue.reviewer()
    paris_morning = datetime(2026, 12, 6, 0, 30, tzinfo=timezone(timedelta(hours=1)))

    answer = reviewer.answer(reviewer.take(60), "motorcycle", 1, answered_at=paris_morning)

    assert answer.line_key == f"ground-truth/2026/12/05/23/{ID}.jsonl"


def answered_but_not_deleted(queue: Queue):
    """The item, taken and answered bicycle at ANSWERED, whose delete failed: still held."""
    queue.send_item(1)
    held = queue.reviewer().take(60)
    sqs, stub = sqs_failing_delete()
    with stub, pytest.raises(ClientError, match="InternalError"):
        queue.reviewer(sqs=sqs).answer(held, "bicycle", 5, answered_at=ANSWERED)
    return held


def test_an_answer_again_after_a_failed_delete_writes_nothing_new(queue):
    held = answered_but_not_deleted(queue)
    written = queue.objects()

    again = queue.reviewer().answer(held, "motorcycle", 9, answered_at=ANSWERED + timedelta(1))

    assert (again.label, again.already_answered, again.line_key) == ("bicycle", True, LINE_KEY)
    assert queue.objects() == {k: v for k, v in written.items() if not k.startswith("waiting/")}
    assert queue.counts() == (0, 0)


def test_a_second_reviewer_after_midnight_is_told_the_first_answer_and_adds_no_line(queue):
    """The first reviewer's delete failed and their hold ran out; another reviewer takes the
    item the next day and answers differently."""
    first_held = answered_but_not_deleted(queue)
    queue.sqs.change_message_visibility(  # the first hold runs out
        QueueUrl=queue.url, ReceiptHandle=first_held.receipt_handle, VisibilityTimeout=0
    )
    iam = boto3.client("iam")
    iam.create_user(UserName="second-reviewer")
    key = iam.create_access_key(UserName="second-reviewer")["AccessKey"]
    sts = boto3.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    second = queue.reviewer(sts=sts)
    next_day = ANSWERED + timedelta(minutes=2)

    answer = second.answer(second.take(60), "motorcycle", 30, answered_at=next_day)

    assert (answer.label, answer.reviewer, answer.already_answered) == ("bicycle", MOTO_ARN, True)
    assert set(queue.objects()) == {f"reviews/{ID}.json", LINE_KEY}  # no 2026/12/06 line
    assert second.identity == "arn:aws:iam::123456789012:user/second-reviewer"
    assert queue.counts() == (0, 0)


def test_an_answer_whose_hold_ran_out_writes_nothing_and_says_so(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    sqs, stub = sqs_hold_gone()

    with stub, pytest.raises(HoldExpired, match="nothing is recorded for it; take an item again"):
        queue.reviewer(sqs=sqs).answer(held, "bicycle", 5)

    assert set(queue.objects()) == {MARKER}


def test_an_answer_whose_hold_ran_out_names_the_answer_that_stands(queue):
    held = answered_but_not_deleted(queue)
    sqs, stub = sqs_hold_gone()

    with stub, pytest.raises(HoldExpired) as raised:
        queue.reviewer(sqs=sqs).answer(held, "motorcycle", 5)

    assert str(raised.value).endswith(
        f"was answered bicycle by {MOTO_ARN} at 2026-12-05T23:59:30+00:00; nothing more was written"
    )


def test_a_hold_lost_while_deleting_says_the_answer_is_recorded(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    sqs = boto3.client("sqs")

    with Stubber(sqs) as stub, pytest.raises(HoldExpired, match="bicycle is recorded"):
        stub.add_response("change_message_visibility", {})
        stub.add_client_error("delete_message", "ReceiptHandleIsInvalid")
        queue.reviewer(sqs=sqs).answer(held, "bicycle", 5, answered_at=ANSWERED)

    assert set(queue.objects()) == {f"reviews/{ID}.json", LINE_KEY, MARKER}


def stubbed_s3(stub: Stubber, *answers: tuple) -> None:
    """Queue S3's answers: ("ok", operation) or (code, status, operation)."""
    for answer in answers:
        if answer[0] == "ok":
            stub.add_response(answer[1], {})
        else:
            stub.add_client_error(answer[2], answer[0], http_status_code=answer[1])


def test_a_conditional_write_racing_another_is_tried_again(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    s3 = boto3.client("s3")

    with Stubber(s3) as stub:
        stubbed_s3(
            stub,
            ("ConditionalRequestConflict", 409, "put_object"),
            ("ok", "put_object"),
            ("ok", "put_object"),
            ("ok", "delete_object"),
        )
        answer = queue.reviewer(s3=s3).answer(held, "bicycle", 5)
        stub.assert_no_pending_responses()

    assert not answer.already_answered
    assert queue.counts() == (0, 0)


def test_a_write_refused_is_access_denied_and_the_item_stays_held(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    s3 = boto3.client("s3")

    with (
        Stubber(s3) as stub,
        pytest.raises(AccessDenied, match=f"write s3://{GROUND_TRUTH_BUCKET}"),
    ):
        stubbed_s3(stub, ("AccessDenied", 403, "put_object"))
        queue.reviewer(s3=s3).answer(held, "bicycle", 5)

    assert queue.counts() == (0, 1)


def test_a_waiting_marker_left_behind_is_named_once_the_answer_is_complete(queue):
    queue.send_item(1)
    held = queue.reviewer().take(60)
    s3 = boto3.client("s3")

    with Stubber(s3) as stub, pytest.raises(WaitingMarkerLeft, match=f"{MARKER} is still"):
        stubbed_s3(stub, ("ok", "put_object"), ("ok", "put_object"))
        stubbed_s3(stub, ("AccessDenied", 403, "delete_object"))
        queue.reviewer(s3=s3).answer(held, "bicycle", 5)

    assert queue.counts() == (0, 0)


@pytest.mark.parametrize(
    "existing",
    [b"not json", b"[]", json.dumps({"inference_id": ID, "label": "scooter"}).encode()],
)
def test_an_existing_record_that_is_not_one_is_never_written_over(queue, existing):
    queue.send_item(1)
    queue.s3.put_object(Bucket=GROUND_TRUTH_BUCKET, Key=f"reviews/{ID}.json", Body=existing)
    held = queue.reviewer().take(60)

    with pytest.raises(InvalidReviewRecord, match=f"reviews/{ID}.json is not a review record"):
        queue.reviewer().answer(held, "bicycle", 5)

    assert queue.objects()[f"reviews/{ID}.json"] == existing
    assert set(queue.objects()) == {f"reviews/{ID}.json", MARKER}
    assert queue.counts() == (0, 1)


@pytest.mark.parametrize(
    ("label", "seconds", "when", "error"),
    [
        ("scooter", 1, None, InvalidAnswer),
        ("bicycle", -1, None, InvalidAnswer),
        ("bicycle", float("nan"), None, InvalidAnswer),
        ("bicycle", 1, datetime(2026, 12, 5, 10), InvalidAnswer),  # no time zone
    ],
)
def test_an_answer_the_ground_truth_cannot_take_is_refused_before_anything(
    queue, label, seconds, when, error
):
    queue.send_item(1)
    held = queue.reviewer().take(60)

    with pytest.raises(error):
        queue.reviewer().answer(held, label, seconds, answered_at=when)

    assert set(queue.objects()) == {MARKER}
    assert queue.counts() == (0, 1)


def test_an_unreadable_message_cannot_be_answered(queue):
    queue.send(item_body(1, inferences="19"), 1)

    with pytest.raises(InvalidReviewItem, match=r"unreadable .*: discard it"):
        queue.reviewer().answer(queue.reviewer().take(60), "bicycle", 1)

    assert queue.objects() == {}


def test_the_reviewer_is_asked_once(queue):
    queue.send_item(1)
    queue.send_item(2)
    sts = boto3.client("sts")
    arn = "arn:aws:sts::123456789012:assumed-role/Reviewers/alice"

    with Stubber(sts) as stub:  # one answer only: a second call would fail
        stub.add_response(
            "get_caller_identity", {"UserId": "AROA:alice", "Account": "123456789012", "Arn": arn}
        )
        reviewer = queue.reviewer(sts=sts)
        answers = [reviewer.answer(reviewer.take(60), "bicycle", 1) for _ in range(2)]

    assert [answer.reviewer for answer in answers] == [arn, arn]
