"""The review of what the model was unsure about (and of the audits), for every front end.

One implementation for the command line (`python -m operations.review`) and the review page:
read the review queue's messages strictly, hold one item for one reviewer (its SQS visibility
is the lock), show its image from the image bucket, and record the answer in the ground-truth
bucket exactly once per inference id, whoever answers and however often:

    reviews/<inference_id>.json          the review record, written first and only if absent
                                         (S3's conditional write): the lock of the answer
    ground-truth/yyyy/mm/dd/hh/<id>.jsonl  bicycle or motorcycle, as Model Monitor reads it
    neither/yyyy/mm/dd/hh/<id>.jsonl       neither: never under ground-truth/
    waiting/<review_id>                    the state machine's marker of the upload, deleted
                                           by the answer
    unreadable/<message_id>.json           a message that is not ours, as SQS gave it, kept
                                           when it is discarded

An item whose image is gone or was replaced cannot be labelled: discarding it writes its review
record with the outcome image_unavailable (label and line key null; never a ground-truth line),
then lets it go like an answer.

Only the image bucket's images are read; only the ground-truth bucket is written.
"""

import hashlib
import json
import re
import reprlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from operations.cli import denied_or_none
from operations.errors import (
    BucketNotFound,
    DiscardRefused,
    HoldExpired,
    ImageNotFound,
    ImageTooLarge,
    InvalidAnswer,
    InvalidReviewItem,
    InvalidReviewRecord,
    OperationError,
    QueueNotFound,
    WaitingMarkerLeft,
)
from training.common.cifar import CLASSES

LABELS = (*CLASSES, "neither")  # a person may see something that is neither
UNAVAILABLE = "image_unavailable"  # the outcome of an item closed because its image is gone
REASONS = ("below_threshold", "audit")
PEEK_SECONDS = 30  # `peek` hides what it reads at most this long, then gives it back at once
ANSWER_HOLD_SECONDS = 120  # the hold an answer renews before it writes: its writes fit in it
CONFLICT_ATTEMPTS = 3  # S3 answers 409 to a conditional write racing another: try again
# The state machine's state is at most 256 KiB, so none of its messages is larger; only the
# inferences list nests in a message of ours.
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 8
MAX_KEY_BYTES = 1024  # S3's limit
MAX_TEXT_BYTES = 2048  # an etag or an execution ARN is far shorter
# The workflow refuses images whose base64 text exceeds 196,608 characters (ImageTooLarge).
MAX_IMAGE_BYTES = 196_608 * 3 // 4
# What the workflow classifies, by magic number: the layer's content_type_of, which the
# operator's commands cannot import (they run without the layer on their path; a test holds
# this copy to it).
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
QUEUE_GONE = {"NonExistentQueue", "QueueDoesNotExist"}
HOLD_GONE = {"ReceiptHandleIsInvalid", "MessageNotInflight"}
JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: what terminals act on
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
shown = _REPR.repr  # a value in a message: quoted, escaped (repr), at most about 80 characters


@dataclass(frozen=True)
class ReviewItem:
    """A message that is ours: an image the state machine sent for review."""

    s3_bucket: str
    s3_key: str
    etag: str | None
    inferences: tuple[float, float]
    execution_id: str
    inference_id: str
    review_id: str  # the upload's: names its waiting marker
    reason: str  # "below_threshold" | "audit"
    sent_at: float  # seconds since the epoch (SentTimestamp)

    @property
    def label(self) -> str:
        """The model's guess."""
        return CLASSES[self.inferences.index(self.confidence)]

    @property
    def confidence(self) -> float:
        return max(self.inferences)


@dataclass(frozen=True)
class Unreadable:
    """A message that is not ours (or from before review records): shown, then discarded."""

    problem: str  # one line, its values quoted and escaped; escape it again where it is shown


@dataclass(frozen=True)
class Held:
    """A message received for one reviewer, hidden from the others while the hold lasts."""

    message_id: str
    receipt_handle: str
    content: ReviewItem | Unreadable
    received_at: float  # seconds since the epoch
    message: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as SQS
    # gave it: what the command line keeps between its commands, to read again


@dataclass(frozen=True)
class Answer:
    label: str  # or UNAVAILABLE: the item was closed without a label
    reviewer: str
    record_key: str  # reviews/<inference_id>.json
    line_key: str | None  # ground-truth/... or neither/...; None for UNAVAILABLE
    already_answered: bool  # True: someone answered this inference id before; nothing new written


def read(message: dict[str, Any], image_bucket: str) -> ReviewItem | Unreadable:
    """What a queue message holds; never raises, whatever the message."""
    try:
        return _review_item(message, image_bucket)
    except InvalidReviewItem as problem:
        return Unreadable(str(problem))


def _review_item(message: dict[str, Any], image_bucket: str) -> ReviewItem:
    body = _body(message.get("Body"))
    for name in ("inference_id", "review_id", "reason"):
        if name not in body:
            raise InvalidReviewItem(
                f"no '{name}': a message from before review records, or not ours"
            )
    bucket = _text(body, "s3_bucket", 63)
    if bucket != image_bucket:
        raise InvalidReviewItem(f"another bucket, {shown(bucket)}: only {image_bucket} is reviewed")
    etag = None if body.get("etag") is None else _text(body, "etag", MAX_TEXT_BYTES)
    return ReviewItem(
        bucket,
        _text(body, "s3_key", MAX_KEY_BYTES),
        etag,
        _inferences(body.get("inferences")),
        _text(body, "execution_id", MAX_TEXT_BYTES),
        _inference_id(body.get("inference_id")),
        _review_id(body.get("review_id")),
        _reason(body.get("reason")),
        _sent_at(message),
    )


def _body(body: Any) -> dict[str, Any]:
    """The message body as a JSON object, refused before parsing when too large or too deep."""
    if not isinstance(body, str):
        raise InvalidReviewItem("no text body")
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise InvalidReviewItem(f"a body larger than {MAX_BODY_BYTES:,} bytes")
    if _nesting(body) > MAX_DEPTH:
        raise InvalidReviewItem(f"a body nested deeper than {MAX_DEPTH} levels")
    try:
        parsed = json.loads(body)
    except ValueError as error:  # not JSON; a number past Python's 4,300 digits
        raise InvalidReviewItem(f"not JSON: {shown(str(error))}") from None
    if not isinstance(parsed, dict):
        raise InvalidReviewItem(f"not a JSON object but {type(parsed).__name__}")
    return parsed


def _nesting(text: str) -> int:
    """How deep brackets nest outside JSON strings (json.loads recurses once per level)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _text(body: dict[str, Any], name: str, max_bytes: int) -> str:
    """A non-empty string of at most `max_bytes` UTF-8 bytes without control characters."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidReviewItem(f"'{name}' is not a non-empty string: {shown(value)}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidReviewItem(f"'{name}' is not Unicode text: {shown(value)}") from None
    if size > max_bytes:
        raise InvalidReviewItem(f"'{name}' is longer than {max_bytes} bytes: {shown(value)}")
    if CONTROL.search(value):
        raise InvalidReviewItem(f"'{name}' has control characters: {shown(value)}")
    return value


def _inferences(value: Any) -> tuple[float, float]:
    """Exactly two JSON numbers in [0, 1]; the comparisons exclude NaN and infinities."""
    numbers = isinstance(value, list) and len(value) == len(CLASSES)
    if not numbers or not all(
        isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1 for p in value
    ):
        raise InvalidReviewItem(f"'inferences' is not two numbers in [0, 1]: {shown(value)}")
    return (float(value[0]), float(value[1]))


def _inference_id(value: Any) -> str:
    """A UUID in its canonical text: it names S3 keys, so nothing else may pass."""
    if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
        raise InvalidReviewItem(f"'inference_id' is not a UUID: {shown(value)}")
    return value


def _review_id(value: Any) -> str:
    """A SHA-256 in lowercase hex, as the state machine writes it: it names an S3 key."""
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise InvalidReviewItem(f"'review_id' is not a SHA-256 in hex: {shown(value)}")
    return value


def _reason(value: Any) -> str:
    if value not in REASONS:
        raise InvalidReviewItem(f"'reason' is not one of {', '.join(REASONS)}: {shown(value)}")
    return value


def _sent_at(message: dict[str, Any]) -> float:
    sent = message.get("Attributes", {}).get("SentTimestamp")
    if not isinstance(sent, str) or not sent.isdigit():
        raise InvalidReviewItem(f"no SentTimestamp: {shown(sent)}")
    return int(sent) / 1000


class Reviewer:
    """One reviewer's view of the review queue, the image bucket and the ground-truth bucket."""

    def __init__(
        self,
        sqs: Any,
        s3: Any,
        sts: Any,
        queue_url: str,
        image_bucket: str,
        ground_truth_bucket: str,
        *,
        wait_seconds: int = 1,
    ) -> None:
        """`wait_seconds`: each receive long-polls this long, so that it asks every SQS server
        (a short poll samples some, and may answer nothing while a few items wait)."""
        self.sqs, self.s3, self.sts = sqs, s3, sts
        self.queue_url = queue_url
        self.image_bucket = image_bucket
        self.ground_truth_bucket = ground_truth_bucket
        self.wait_seconds = wait_seconds

    @cached_property
    def identity(self) -> str:
        """The caller's ARN as STS reports it: who answered."""
        return self.sts.get_caller_identity()["Arn"]

    def held(self, message: dict[str, Any], received_at: float) -> Held:
        """A received message as this reviewer holds it."""
        content = read(message, self.image_bucket)
        return Held(message["MessageId"], message["ReceiptHandle"], content, received_at, message)

    def waiting(self) -> int | None:
        """About how many items wait that nobody holds (SQS's ApproximateNumberOfMessages); None
        when this reviewer may not read it (sqs:GetQueueAttributes serves only this count)."""
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
        except ClientError as error:
            if denied_or_none(error, ""):
                return None
            raise self._queue_error(error, "") from None
        return int(attributes["ApproximateNumberOfMessages"])

    def take(self, hold_seconds: int) -> Held | None:
        """Hold the next item for `hold_seconds`; None when nothing is visible. A message that
        is not ours is held too (as Unreadable), so that it can be discarded and never stands
        in front of the items behind it."""
        messages = self._receive(1, hold_seconds)
        return self.held(messages[0], time.time()) if messages else None

    def peek(self, limit: int) -> list[Held]:
        """Up to `limit` waiting messages, visible to others again as soon as they are read.

        SQS has no read-without-receive: each message is received with a short hold (so the
        next receive returns new ones), and all are given back at once at the end, even when
        reading fails half-way."""
        messages: list[dict[str, Any]] = []
        try:
            while len(messages) < limit:
                batch = self._receive(min(10, limit - len(messages)), PEEK_SECONDS)
                if not batch:
                    break
                messages += batch
        finally:
            self._give_back_all([message["ReceiptHandle"] for message in messages])
        now = time.time()
        return [self.held(message, now) for message in messages]

    def keep(self, held: Held, seconds: int) -> None:
        """Hold the item `seconds` from now; HoldExpired when it is no longer ours."""
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=held.receipt_handle,
                VisibilityTimeout=seconds,
            )
        except ClientError as error:
            raise self._queue_error(error, _subject(held)) from None

    def give_back(self, held: Held, delay_seconds: int = 0) -> None:
        """Give the item back, unanswered: visible to every reviewer after `delay_seconds` (a
        delay keeps this reviewer's next take from receiving it straight back)."""
        self.keep(held, delay_seconds)

    def discard(self, held: Held) -> str:
        """Close what cannot be answered, losing nothing; the key written in the ground-truth
        bucket. A message that is not ours is copied to unreadable/ (body and attributes), then
        deleted. A review item whose image is gone or was replaced (checked now) gets a review
        record saying so, and leaves the queue with its marker; one whose image can be read is
        answered, never discarded (DiscardRefused)."""
        if isinstance(held.content, Unreadable):
            key = unreadable_key(held.message_id)
            self._put(key, unreadable_copy(held, self.identity), "application/json")
            self._delete(held)
            return key
        try:
            self.image(held.content)
        except ImageNotFound as gone:
            return self._close_unavailable(held, str(gone))
        raise DiscardRefused(f"{_subject(held)} has its image: answer it, or give it back")

    def _close_unavailable(self, held: Held, problem: str) -> str:
        """The review record of an item nobody can label, written once like an answer's."""
        item = held.content
        self.keep(held, ANSWER_HOLD_SECONDS)
        spent = max(0.0, time.time() - held.received_at)
        record = unavailable_record(item, held.message_id, self.identity, spent, _now(), problem)
        standing, already = self._record_once(record)
        key = review_key(item.inference_id)
        label = standing["label"] or UNAVAILABLE
        self._finish(
            held, Answer(label, standing["reviewer"], key, standing["record_key"], already)
        )
        return key

    def image(self, item: ReviewItem) -> bytes:
        """The image's bytes from the image bucket, as the model saw them (its etag, when the
        message has one); ImageNotFound when it is gone or was replaced since."""
        condition = {"IfMatch": f'"{item.etag.strip(chr(34))}"'} if item.etag else {}
        try:
            answer = self.s3.get_object(Bucket=self.image_bucket, Key=item.s3_key, **condition)
        except ClientError as error:
            raise self._image_error(error, item) from None
        if answer["ContentLength"] > MAX_IMAGE_BYTES:
            answer["Body"].close()
            raise ImageTooLarge(f"{shown(item.s3_key)} is {answer['ContentLength']:,} bytes")
        return answer["Body"].read()

    def answer(
        self, held: Held, label: str, seconds_spent: float, answered_at: datetime | None = None
    ) -> Answer:
        """Record the person's label once for the item's inference id, then let the item go.

        The hold is renewed first (HoldExpired: nothing written). The review record is written
        only if absent; when it exists, someone answered before (a retry after a failed
        delete, a second reviewer after a lost hold): its line is put again, same key and same
        bytes, and its answer is reported; nothing else is written."""
        item = _answerable(held, label, seconds_spent)
        if answered_at is not None and answered_at.tzinfo is None:
            raise InvalidAnswer("answered_at must say its time zone")
        moment = (answered_at or _now()).astimezone(UTC)
        try:
            self.keep(held, ANSWER_HOLD_SECONDS)
        except HoldExpired:
            raise HoldExpired(self._what_expired_left(item)) from None
        record = review_record(item, held.message_id, label, self.identity, seconds_spent, moment)
        standing, already = self._record_once(record)
        if standing["record_key"] is not None:  # None: closed as UNAVAILABLE, which has no line
            self._put(standing["record_key"], line(standing), "application/x-ndjson")
        answer = Answer(
            standing["label"] or UNAVAILABLE,
            standing["reviewer"],
            review_key(item.inference_id),
            standing["record_key"],
            already,
        )
        self._finish(held, answer)
        return answer

    def _finish(self, held: Held, answer: Answer) -> None:
        """Delete the message, then the waiting marker (absent is fine)."""
        try:
            self._delete(held)
        except HoldExpired:
            raise HoldExpired(
                f"{_subject(held)}: {answer.label} is recorded (s3://{self.ground_truth_bucket}/"
                f"{answer.record_key}), but the hold ran out before the item left the queue: "
                "whoever takes it next is told it is answered"
            ) from None
        marker = waiting_key(held.content.review_id)
        try:
            self.s3.delete_object(Bucket=self.ground_truth_bucket, Key=marker)
        except ClientError as error:
            raise WaitingMarkerLeft(
                f"{_subject(held)}: {answer.label} is recorded and the item left the queue, but "
                f"s3://{self.ground_truth_bucket}/{marker} is still there "
                f"({error.response['Error']['Code']}): delete it, or its alarm will fire"
            ) from None

    def _record_once(self, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The review record that stands for the inference id, and whether it stood before."""
        key = review_key(record["inference_id"])
        body = json.dumps(record, ensure_ascii=False).encode()
        attempts = CONFLICT_ATTEMPTS
        while True:
            try:
                self._put(key, body, "application/json", IfNoneMatch="*")
                return record, False
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "PreconditionFailed":
                    return self._existing(record["inference_id"]), True
                attempts -= 1
                if code != "ConditionalRequestConflict" or not attempts:
                    raise

    def _existing(self, inference_id: str) -> dict[str, Any]:
        """The review record that made a conditional write fail, checked before it is used."""
        record = self._recorded(inference_id)
        if record is None:  # deleted between the write and this read: nobody's answer stands
            raise InvalidReviewRecord(f"{review_key(inference_id)} vanished; answer again")
        return record

    def _recorded(self, inference_id: str) -> dict[str, Any] | None:
        """The review record written for `inference_id`, None when there is none."""
        key = review_key(inference_id)
        where = f"s3://{self.ground_truth_bucket}/{key}"
        try:
            body = self.s3.get_object(Bucket=self.ground_truth_bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in {"NoSuchKey", "404"}:
                return None
            raise self._bucket_error(error, f"read {where}") from None
        try:
            record = json.loads(body)
            _check_record(record, inference_id)
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            raise InvalidReviewRecord(
                f"{where} is not a review record: {shown(str(error))}"
            ) from None
        return record

    def _what_expired_left(self, item: ReviewItem) -> str:
        """HoldExpired's message: whether anyone's answer stands for the item."""
        subject = f"your hold on {shown(item.s3_key)} ran out"
        try:
            record = self._recorded(item.inference_id)
        except (ClientError, OperationError) as error:
            return f"{subject}; whether it was answered is unknown ({error}); nothing was written"
        if record is None:
            return f"{subject}: nothing is recorded for it; take an item again"
        return (
            f"{subject}: it was answered {record['label'] or UNAVAILABLE} by "
            f"{record['reviewer']} at {record['answered_at']}; nothing more was written"
        )

    def _put(self, key: str, body: bytes, content_type: str, **condition: str) -> None:
        try:
            self.s3.put_object(
                Bucket=self.ground_truth_bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                **condition,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in {
                "PreconditionFailed",
                "ConditionalRequestConflict",
            }:
                raise
            raise self._bucket_error(
                error, f"write s3://{self.ground_truth_bucket}/{key}"
            ) from None

    def _delete(self, held: Held) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=held.receipt_handle)
        except ClientError as error:
            raise self._queue_error(error, _subject(held)) from None

    def _receive(self, count: int, hold_seconds: int) -> list[dict[str, Any]]:
        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=self.wait_seconds,
                MessageSystemAttributeNames=["SentTimestamp"],
            )
        except ClientError as error:
            raise self._queue_error(error, "") from None
        return answer.get("Messages", [])

    def _give_back_all(self, receipt_handles: list[str]) -> None:
        """Make received messages visible to everyone again, now."""
        for start in range(0, len(receipt_handles), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for n, handle in enumerate(receipt_handles[start : start + 10])
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)

    def _queue_error(self, error: ClientError, subject: str) -> Exception:
        code = error.response["Error"]["Code"].removeprefix("AWS.SimpleQueueService.")
        message = error.response["Error"].get("Message", "")
        if code in QUEUE_GONE:
            return QueueNotFound(f"no queue at {self.queue_url}")
        if code in HOLD_GONE or ("InvalidParameterValue" in code and "eceipt" in message):
            return HoldExpired(f"your hold on {subject} ran out: another reviewer may have it")
        return denied_or_none(error, f"use the queue {self.queue_url}") or error

    def _bucket_error(self, error: ClientError, action: str) -> Exception:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            return BucketNotFound(f"no bucket named '{self.ground_truth_bucket}'")
        return denied_or_none(error, action) or error

    def _image_error(self, error: ClientError, item: ReviewItem) -> Exception:
        code = error.response["Error"]["Code"]
        where = f"s3://{self.image_bucket}/{shown(item.s3_key)}"
        if code in {"NoSuchKey", "404"}:
            return ImageNotFound(f"{where} is gone")
        if code in {"PreconditionFailed", "412"}:
            return ImageNotFound(f"{where} was replaced since it was classified (etag {item.etag})")
        if code == "NoSuchBucket":
            return BucketNotFound(f"no bucket named '{self.image_bucket}'")
        return denied_or_none(error, f"read {where}") or error


def image_type(data: bytes) -> str | None:
    """`image/png` or `image/jpeg` from the bytes themselves, never from a name; None for
    anything else."""
    return next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)


def review_id(s3_bucket: str, s3_key: str, etag: str | None) -> str:
    """The upload's id, as the state machine computes it once: the SHA-256 of
    "bucket/key/etag" (its FIFO deduplication id, and its waiting marker's name), so that the
    same upload delivered twice is one message and one marker. No etag is written null."""
    upload = f"{s3_bucket}/{s3_key}/{'null' if etag is None else etag}"
    return hashlib.sha256(upload.encode()).hexdigest()


def waiting_key(review_id: str) -> str:
    """The state machine's marker of an upload waiting for review."""
    return f"waiting/{review_id}"


def unreadable_key(message_id: str) -> str:
    """Where a discarded message that is not ours is kept. SQS's message ids are UUIDs; anything
    else (a held file edited by hand) names no key."""
    if not UUID_TEXT.fullmatch(message_id):
        raise InvalidReviewItem(f"message id {shown(message_id)} is not SQS's")
    return f"unreadable/{message_id}.json"


def unreadable_copy(held: Held, reviewer: str) -> bytes:
    """A discarded message as SQS gave it (body and attributes), with why and by whom."""
    message = held.message
    copy = {
        "message_id": held.message_id,
        "body": message.get("Body"),
        "attributes": message.get("Attributes", {}),
        "message_attributes": message.get("MessageAttributes", {}),
        "problem": held.content.problem,
        "discarded_by": reviewer,
        "discarded_at": _now().isoformat(timespec="seconds"),
    }
    return json.dumps(copy, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _now() -> datetime:
    return datetime.now(UTC)


def review_key(inference_id: str) -> str:
    return f"reviews/{inference_id}.json"


def line_key(label: str, inference_id: str, answered_at: datetime) -> str:
    """Where the answer's line goes: never under ground-truth/ for neither (a model-quality
    job reads every file there)."""
    prefix = "neither" if label == "neither" else "ground-truth"
    return f"{prefix}/{answered_at:%Y/%m/%d/%H}/{inference_id}.jsonl"


def review_record(
    item: ReviewItem,
    message_id: str,
    label: str,
    reviewer: str,
    seconds_spent: float,
    answered_at: datetime,
) -> dict[str, Any]:
    """Who answered what, when, and what the model had said: reviews/<inference_id>.json."""
    return {
        "inference_id": item.inference_id,
        "label": label,
        "reviewer": reviewer,
        "answered_at": answered_at.isoformat(timespec="seconds"),
        "seconds_spent": round(seconds_spent, 3),
        "reason": item.reason,
        "model_label": item.label,
        "model_confidence": item.confidence,
        "inferences": list(item.inferences),
        "s3_bucket": item.s3_bucket,
        "s3_key": item.s3_key,
        "etag": item.etag,
        "execution_id": item.execution_id,
        "message_id": message_id,
        "record_key": line_key(label, item.inference_id, answered_at),
    }


def unavailable_record(
    item: ReviewItem,
    message_id: str,
    reviewer: str,
    seconds_spent: float,
    closed_at: datetime,
    problem: str,
) -> dict[str, Any]:
    """The review record of an item closed unanswered, its image gone or replaced: no label and
    no line, so that no reader takes it for an answer."""
    record = review_record(item, message_id, "neither", reviewer, seconds_spent, closed_at)
    return record | {"label": None, "record_key": None, "outcome": UNAVAILABLE, "problem": problem}


def line(record: dict[str, Any]) -> bytes:
    """The one JSON line a review record stands for: from the same record, the same bytes."""
    if record["label"] == "neither":
        fields = ("inference_id", "s3_bucket", "s3_key", "etag", "answered_at")
        content = {name: record[name] for name in fields}
    else:  # SageMaker Model Monitor's ground-truth record
        content = {
            "groundTruthData": {"data": record["label"], "encoding": "CSV"},
            "eventMetadata": {"eventId": record["inference_id"]},
            "eventVersion": "0",
        }
    return (json.dumps(content, ensure_ascii=False) + "\n").encode()


def _check_record(record: Any, inference_id: str) -> None:
    """ValueError unless `record` is a review record of `inference_id` whose line can be put
    again where it says."""
    if not isinstance(record, dict) or record.get("inference_id") != inference_id:
        raise ValueError(f"not the record of {inference_id}")
    if record.get("outcome") == UNAVAILABLE and record.get("label") is None:
        if record.get("record_key") is not None or not isinstance(record.get("reviewer"), str):
            raise ValueError("a closed item's record with a line or without its reviewer")
        return
    if record.get("label") not in LABELS:
        raise ValueError(f"label {shown(record.get('label'))}")
    prefix = "neither" if record["label"] == "neither" else "ground-truth"
    where = re.escape(prefix) + r"/\d{4}/\d{2}/\d{2}/\d{2}/" + re.escape(inference_id) + r"\.jsonl"
    if not isinstance(record.get("record_key"), str) or not re.fullmatch(
        where, record["record_key"]
    ):
        raise ValueError(f"record_key {shown(record.get('record_key'))}")
    for name in ("reviewer", "answered_at"):
        if not isinstance(record.get(name), str):
            raise ValueError(f"{name} {shown(record.get(name))}")
    line(record)  # KeyError when a field of the neither line is missing


def _answerable(held: Held, label: str, seconds_spent: float) -> ReviewItem:
    """The held review item, when the answer is one the ground truth can take."""
    if not isinstance(held.content, ReviewItem):
        raise InvalidReviewItem(
            f"{_subject(held)} is unreadable ({held.content.problem}): discard it"
        )
    if label not in LABELS:
        raise InvalidAnswer(f"{shown(label)} is not one of {', '.join(LABELS)}")
    if not isinstance(seconds_spent, int | float) or not 0 <= seconds_spent < float("inf"):
        raise InvalidAnswer(f"seconds spent must be a number from 0, not {shown(seconds_spent)}")
    return held.content


def _subject(held: Held) -> str:
    """The held item in a message: its key, or the message id of what is not ours."""
    if isinstance(held.content, ReviewItem):
        return shown(held.content.s3_key)
    return f"message {held.message_id}"
