"""Accuracy over time: captured inferences joined with people's answers on the inference id.

Only two kinds of image reach a person, sampled differently, so each measures its own slice:

- unsure (confidence below the threshold): every one is sent to review, so the reviews are
  the unsure slice itself (those answered so far);
- confident: a share of them (AuditSamplePercent, chosen by a hash of the inference id) is
  sent as a blind audit, so the audits are a random sample of the confident slice.

The all-traffic accuracy of a day is the stratified estimate over the two slices, each weighted
by its share of that day's captured inferences (known exactly from the capture):

    p = W_u * p_u + W_c * p_c,    W_u = unsure / captured,  W_c = 1 - W_u

That is each answer weighted by how it was sampled: an answered audit stands for
confident / audits-answered images, which is 1 / AuditSamplePercent (50 at 2 %) once every audit
is answered, and a review for unsure / reviews-answered; the capture's counts make the weights
exact where 1 / share is only their expectation.

Its interval is the stratified normal interval

    p ± z √(Σ W² p~ (1 - p~) / (n + z²) · (1 - n / N)),   p~ = (x + z²/2) / (n + z²)

for x right of n answers in a slice of N captured inferences, clipped to [0, 1]. Each slice's
variance is taken at the Agresti-Coull adjusted proportion p~, so that a slice whose answers
were all right (p = 1, common here) still has width, where the plain (Wald) variance p(1 - p)/n
would claim certainty; (1 - n / N) is the finite-population correction: a slice whose every
image was answered adds no uncertainty. A slice's own accuracy gets the Wilson interval, for
the same reason (it holds its coverage at small counts and proportions near 1).

Counted and named, never dropped: answers without a capture record, inferences sent to a
person (below the threshold, or audited by the hash) without an answer yet, captures without an
inference id (nothing can join them) and captures repeating one, and answers the capture
contradicts; `neither` answers are counted apart.
"""

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import NormalDist

from training.common import cifar
from training.common.capture import Inference
from training.common.ground_truth import Review, Reviews

DEFAULT_AUDIT_PERCENT = 2.0  # the template's AuditSamplePercent default
LEVEL = 0.95
Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)
TRUE_LABELS = (*cifar.CLASSES, "neither")
_SPAN = 2**64


def is_audit(inference_id: str, sample_percent: float) -> bool:
    """The workflow's audit choice (workflow_common.audits, which the training tools cannot
    import: they run without the layer on their path; a test holds this copy to it)."""
    digest = hashlib.sha256(inference_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") * 100 < sample_percent * _SPAN


@dataclass(frozen=True)
class Proportion:
    """`hits` of `count`, with its Wilson interval."""

    hits: int
    count: int

    @property
    def value(self) -> float | None:
        return self.hits / self.count if self.count else None

    def interval(self, z: float = Z) -> tuple[float, float] | None:
        if not self.count:
            return None
        n, p = self.count, self.hits / self.count
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Estimate:
    """The all-traffic accuracy and its interval; None where a slice that has weight has no
    answers yet (the estimate would be a guess)."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Period:
    """One day's figures (or all days'): what was captured and what people answered."""

    captured: int  # inferences with an inference id, the ones an answer can join
    unsure: int  # of those, below the threshold: every one sent to review
    audited: int  # confident ones the hash sent to audit
    confident_accuracy: Proportion  # from audits
    unsure_accuracy: Proportion  # from reviews
    neither: int  # answers the model cannot give: not scored

    @property
    def review_share(self) -> float | None:
        return self.unsure / self.captured if self.captured else None

    @property
    def estimate(self) -> Estimate:
        return stratified(
            [
                (self.captured - self.unsure, self.confident_accuracy),
                (self.unsure, self.unsure_accuracy),
            ]
        )


def stratified(strata: Sequence[tuple[int, Proportion]], z: float = Z) -> Estimate:
    """Σ W p over (size, answered proportion) slices, with the interval the module describes."""
    total = sum(size for size, _ in strata)
    present = [(size, share) for size, share in strata if size]
    if not present or any(not share.count for _, share in present):
        return Estimate(None, None, None)
    value = variance = 0.0
    for size, share in present:
        weight, n = size / total, share.count + z * z
        adjusted = (share.hits + z * z / 2) / n
        correction = max(0.0, 1 - share.count / size)
        value += weight * share.hits / share.count
        variance += weight * weight * adjusted * (1 - adjusted) / n * correction
    half = z * math.sqrt(variance)
    return Estimate(value, max(0.0, value - half), min(1.0, value + half))


@dataclass(frozen=True)
class Accuracy:
    days: dict[date, Period]  # by the UTC day of the inference, in order
    total: Period
    # (true label, predicted label) -> answers, for each slice: "audit", "below_threshold"
    confusion: dict[str, Counter[tuple[str, str]]]
    answers_without_capture: list[str]  # inference ids
    unanswered: list[str]  # inference ids sent to a person, not answered yet
    closed_unavailable: list[str]  # sent to a person, closed unanswered: the image was gone
    captures_without_id: int
    repeated_captures: list[str] = field(default_factory=list)  # ids captured again: first kept
    disagreements: list[str] = field(default_factory=list)  # answers the capture contradicts
    problems: list[str] = field(default_factory=list)  # from the ground-truth location


def measure(
    inferences: Iterable[Inference],
    reviews: Reviews,
    threshold: float,
    audit_percent: float = DEFAULT_AUDIT_PERCENT,
) -> Accuracy:
    """Join `inferences` and `reviews` on the inference id, per UTC day of the inference."""
    captured: dict[str, Inference] = {}
    without_id, repeated = 0, []
    for inference in inferences:
        if inference.inference_id is None:
            without_id += 1
        elif inference.inference_id in captured:
            repeated.append(inference.inference_id)
        else:
            captured[inference.inference_id] = inference
    answers = {review.inference_id: review for review in reviews.reviews}
    by_day: dict[date, list[tuple[Inference, Review | None]]] = defaultdict(list)
    for inference_id, inference in captured.items():
        by_day[inference.time.date()].append((inference, answers.get(inference_id)))
    sent = [
        inference_id
        for inference_id, inference in captured.items()
        if _sent(inference, threshold, audit_percent)
        and inference_id not in answers
        and inference_id not in reviews.unavailable
    ]
    joined = [pair for day in by_day.values() for pair in day]
    return Accuracy(
        days={day: _period(by_day[day], threshold, audit_percent) for day in sorted(by_day)},
        total=_period(joined, threshold, audit_percent),
        confusion=_confusion(joined),
        answers_without_capture=[i for i in answers if i not in captured],
        unanswered=sent,
        closed_unavailable=list(reviews.unavailable),
        captures_without_id=without_id,
        repeated_captures=repeated,
        disagreements=_disagreements(joined, threshold),
        problems=[str(problem) for problem in reviews.problems],
    )


def _sent(inference: Inference, threshold: float, audit_percent: float) -> bool:
    """Whether the workflow sent this inference to a person: below the threshold, or audited."""
    if inference.confidence < threshold:
        return True
    return is_audit(inference.inference_id, audit_percent)


def _period(
    pairs: Sequence[tuple[Inference, Review | None]], threshold: float, audit_percent: float
) -> Period:
    scored = Counter()
    for inference, review in pairs:
        if review is not None and review.label in cifar.CLASSES:
            scored[review.reason, review.label == inference.label] += 1
    unsure = sum(inference.confidence < threshold for inference, _ in pairs)
    return Period(
        captured=len(pairs),
        unsure=unsure,
        audited=sum(
            inference.confidence >= threshold and is_audit(inference.inference_id, audit_percent)
            for inference, _ in pairs
        ),
        confident_accuracy=Proportion(
            scored["audit", True], scored["audit", True] + scored["audit", False]
        ),
        unsure_accuracy=Proportion(
            scored["below_threshold", True],
            scored["below_threshold", True] + scored["below_threshold", False],
        ),
        neither=sum(review is not None and review.label == "neither" for _, review in pairs),
    )


def _confusion(
    pairs: Iterable[tuple[Inference, Review | None]],
) -> dict[str, Counter[tuple[str, str]]]:
    confusion: dict[str, Counter[tuple[str, str]]] = {
        "audit": Counter(),
        "below_threshold": Counter(),
    }
    for inference, review in pairs:
        if review is not None:
            confusion[review.reason][review.label, inference.label] += 1
    return confusion


def _disagreements(pairs: Iterable[tuple[Inference, Review | None]], threshold: float) -> list[str]:
    """Answers the capture contradicts: a reason the captured confidence and `threshold` deny
    (the threshold given is not the workflow's, and the slices are then not what they say),
    or a guess the review showed that is not the captured one (not the same inference)."""
    found = []
    for inference, review in pairs:
        if review is None:
            continue
        if (review.reason == "audit") != (inference.confidence >= threshold):
            found.append(
                f"{review.inference_id}: {review.reason}, captured at {inference.confidence:.4f} "
                f"against the threshold {threshold:.2f}"
            )
        if review.model_label != inference.label:
            found.append(
                f"{review.inference_id}: the review shows the model saying {review.model_label}, "
                f"the capture {inference.label}"
            )
    return found


def _proportion(share: Proportion) -> str:
    if not share.count:
        return f"0/0 {'-':>6}"
    low, high = share.interval()
    return f"{share.hits}/{share.count} {share.value:6.1%} [{low:.1%}, {high:.1%}]"


def _estimate(period: Period) -> str:
    estimate = period.estimate
    if estimate.value is None:
        return "- (a slice with images has no answers)" if period.captured else "-"
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


def _period_line(name: str, period: Period) -> str:
    share = period.review_share
    to_review = f"{period.unsure} ({share:.1%})" if share is not None else "0"
    return (
        f"{name}: captured {period.captured}, sent to review {to_review}, audited "
        f"{period.audited}; confident (audits) {_proportion(period.confident_accuracy)}; "
        f"unsure (reviews) {_proportion(period.unsure_accuracy)}; all traffic "
        f"{_estimate(period)}; neither {period.neither}"
    )


def _named(title: str, names: Sequence[str], limit: int | None) -> list[str]:
    shown = names if limit is None else names[:limit]
    more = len(names) - len(shown)
    return [
        f"{title}: {len(names)}",
        *(f"  {name}" for name in shown),
        *([f"  ... and {more} more (all in summary.txt)"] if more else []),
    ]


def _matrix(reason: str, confusion: Counter[tuple[str, str]]) -> list[str]:
    header = " " * 12 + "".join(f"{name:>12}" for name in cifar.CLASSES)
    rows = [
        f"{true:>12}" + "".join(f"{confusion[true, guess]:>12}" for guess in cifar.CLASSES)
        for true in TRUE_LABELS
    ]
    return [f"confusion, {reason} (rows: the person's answer; columns: the model's)", header, *rows]


def describe(result: Accuracy, limit: int | None = None) -> str:
    """The figures, per day then in all, the confusion matrices and everything unjoined;
    at most `limit` names of each kind (None: all)."""
    level = f"{LEVEL:.0%}"
    lines = [
        f"accuracy by UTC day of the inference ({level} intervals: Wilson for a slice, "
        "stratified for all traffic)",
        *(_period_line(f"{day}", period) for day, period in result.days.items()),
        _period_line("all days", result.total),
        *_matrix("audits", result.confusion["audit"]),
        *_matrix("reviews", result.confusion["below_threshold"]),
        *_named("answers without a capture record", result.answers_without_capture, limit),
        *_named("sent to a person, not answered yet", result.unanswered, limit),
        *_named("closed unanswered, the image gone or replaced", result.closed_unavailable, limit),
        f"captures without an inference id (cannot be joined): {result.captures_without_id}",
        *_named(
            "captures repeating an inference id (the first kept)", result.repeated_captures, limit
        ),
        *_named("answers the capture contradicts", result.disagreements, limit),
        *_named("ground-truth problems", result.problems, limit),
    ]
    return "\n".join(lines)
