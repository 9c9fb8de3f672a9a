"""The ground-truth location read back: what people answered, for each inference id.

A location is `s3://bucket[/prefix]` or a folder laid out like the ground-truth bucket that
`operations.reviewing` writes (and `make demo` copies to `build/ground-truth/`):

    reviews/<inference_id>.json            the review record: label, reason, reviewer, ...
    ground-truth/yyyy/mm/dd/hh/<id>.jsonl  bicycle or motorcycle, as Model Monitor reads it
    neither/yyyy/mm/dd/hh/<id>.jsonl       neither

The review record is the answer (it alone says why the image was reviewed and which image it
was); the lines are checked against it. Whatever cannot be used is a named `Problem`, never
fatal and never silently dropped: one bad file must not hide the others.

    reviews = read_reviews("s3://my-ground-truth-bucket", s3)
    for review in reviews.labelled:      # bicycle or motorcycle, never neither
        review.s3_bucket, review.s3_key, review.label
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from operations.reviewing import LABELS, REASONS, UNAVAILABLE
from training.common import cifar
from training.common.capture import named_texts

RECORDS, LINES, NEITHER = "reviews", "ground-truth", "neither"


@dataclass(frozen=True)
class Review:
    """One person's answer about one inference, from its review record."""

    inference_id: str
    label: str  # bicycle | motorcycle | neither
    reason: str  # below_threshold | audit
    reviewer: str
    answered_at: datetime
    model_label: str
    model_confidence: float
    s3_bucket: str
    s3_key: str
    etag: str | None


@dataclass(frozen=True)
class Problem:
    where: str  # the file (s3://bucket/key or a path), with the inference id when known
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class Reviews:
    reviews: list[Review]  # one per inference id, in answer order
    problems: list[Problem] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # ids closed unanswered: image gone

    @property
    def labelled(self) -> list[Review]:
        """The answers a model can learn from or be scored on: bicycle or motorcycle."""
        return [review for review in self.reviews if review.label in cifar.CLASSES]

    @property
    def neither(self) -> list[Review]:
        """Answers the model cannot give: counted apart, never scored."""
        return [review for review in self.reviews if review.label == "neither"]


def read_reviews(location: str | Path, s3: Any = None) -> Reviews:
    """Every review record under `location`, checked against the ground-truth and neither
    lines; `s3` is a boto3 S3 client, needed for an s3:// location."""
    base = str(location).rstrip("/")
    problems: list[Problem] = []
    unavailable: list[str] = []
    reviews = _records(named_texts(f"{base}/{RECORDS}/", s3, ".json"), problems, unavailable)
    lines = {
        kind: _lines(named_texts(f"{base}/{kind}/", s3, ".jsonl"), kind, problems)
        for kind in (LINES, NEITHER)
    }
    _check_lines(reviews, lines, problems)
    answered = sorted(reviews.values(), key=lambda review: review.answered_at)
    return Reviews(answered, problems, sorted(unavailable))


def _records(texts: Any, problems: list[Problem], unavailable: list[str]) -> dict[str, Review]:
    reviews: dict[str, Review] = {}
    for where, text in texts:
        if (closed := closed_unanswered(text)) is not None:
            unavailable.append(closed)
            continue
        try:
            review = parse_review(text)
        except ValueError as error:
            problems.append(Problem(where, f"not a review record ({error})"))
            continue
        if not where.endswith(f"/{review.inference_id}.json"):
            problems.append(Problem(where, f"holds the record of {review.inference_id}"))
            continue
        reviews[review.inference_id] = review
    return reviews


def closed_unanswered(text: str) -> str | None:
    """The inference id of a record that closed an item unanswered (the review core's
    `image_unavailable` outcome: its image was gone or replaced); None for any other text."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("outcome") != UNAVAILABLE:
        return None
    inference_id = record.get("inference_id")
    return inference_id if isinstance(inference_id, str) and record.get("label") is None else None


def parse_review(text: str) -> Review:
    """A review record's text -> Review; ValueError naming what is wrong."""
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        review = Review(
            inference_id=_string(record, "inference_id"),
            label=_one_of(record, "label", LABELS),
            reason=_one_of(record, "reason", REASONS),
            reviewer=_string(record, "reviewer"),
            answered_at=_aware(record.get("answered_at")),
            model_label=_one_of(record, "model_label", cifar.CLASSES),
            model_confidence=_probability(record.get("model_confidence")),
            s3_bucket=_string(record, "s3_bucket"),
            s3_key=_string(record, "s3_key"),
            etag=None if record.get("etag") is None else _string(record, "etag"),
        )
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return review


def _string(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name!r} is not a non-empty string: {value!r:.80}")
    return value


def _one_of(record: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = record.get(name)
    if value not in allowed:
        raise ValueError(f"{name!r} is not one of {', '.join(allowed)}: {value!r:.80}")
    return value


def _aware(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"'answered_at' is not a time with its zone: {value!r:.80}")
    return moment


def _probability(value: Any) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 <= value <= 1:
        raise ValueError(f"'model_confidence' is not a number in [0, 1]: {value!r:.80}")
    return float(value)


def _lines(texts: Any, kind: str, problems: list[Problem]) -> dict[str, tuple[str, str]]:
    """inference id -> (label, where) of each line under `kind`; a second line of the same
    id, or a line that is not one, is a problem."""
    found: dict[str, tuple[str, str]] = {}
    for where, text in texts:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                inference_id, label = _line(line, kind)
            except (ValueError, KeyError, TypeError, RecursionError) as error:
                problems.append(Problem(f"{where} line {number}", f"not a {kind} line ({error})"))
                continue
            if inference_id in found:
                problems.append(
                    Problem(
                        where,
                        f"a second {kind} line for {inference_id} (first in "
                        f"{found[inference_id][1]})",
                    )
                )
                continue
            found[inference_id] = (label, where)
    return found


def _line(line: str, kind: str) -> tuple[str, str]:
    content = json.loads(line)
    if kind == NEITHER:
        return _string(content, "inference_id"), "neither"
    label = content["groundTruthData"]["data"]
    if label not in cifar.CLASSES:
        raise ValueError(f"label {label!r:.80}")
    inference_id = content["eventMetadata"]["eventId"]
    if not isinstance(inference_id, str) or not inference_id:
        raise ValueError(f"eventId {inference_id!r:.80}")
    return inference_id, label


def _check_lines(
    reviews: dict[str, Review],
    lines: dict[str, dict[str, tuple[str, str]]],
    problems: list[Problem],
) -> None:
    """Each answer has exactly its line, with its label; each line has its review record."""
    for found in lines.values():
        for inference_id, (label, where) in found.items():
            review = reviews.get(inference_id)
            if review is None:
                problems.append(Problem(where, f"{inference_id} has no review record"))
            elif review.label != label:
                problems.append(
                    Problem(where, f"{inference_id} says {label}, its review record {review.label}")
                )
    for inference_id, review in reviews.items():
        kind = NEITHER if review.label == "neither" else LINES
        if inference_id not in lines[kind]:
            problems.append(
                Problem(f"{RECORDS}/{inference_id}.json", f"{review.label}, but no {kind} line")
            )
