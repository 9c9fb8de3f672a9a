"""Report: how sure the deployed model has been, from the endpoint's data capture.

    python -m training.report --bucket my-bucket     # the capture training.deploy set up
    python -m training.report --source captured/ --out build/report --threshold 0.93
    python -m training.report --bucket my-bucket --ground-truth s3://my-ground-truth-bucket

Reads every record of every capture file (S3 or a local folder; see `training.common.capture`)
and writes three files to --out: `confidence.png` (a histogram of each inference's
confidence, the larger probability, by predicted class with the threshold marked; and
the confidence over time when the inferences span 15 minutes or more), `classes.png`
(the share of each predicted class) and `summary.txt` (also printed). Figures are drawn
on matplotlib's non-interactive Agg canvas, so no display is ever needed.

With `--ground-truth` (the stack's ground-truth bucket, or a folder laid out like it, such as
the `build/ground-truth/` that `make demo` leaves), the captures are joined with people's
answers on the inference id (see `training.common.accuracy`): the summary adds accuracy per
day, and `accuracy.png` plots it with its counts and intervals, the share sent to review and
the confusion matrices.
"""

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from training.common import aws, cifar
from training.common.accuracy import (
    DEFAULT_AUDIT_PERCENT,
    LEVEL,
    TRUE_LABELS,
    Accuracy,
    Period,
    describe,
    measure,
)
from training.common.capture import Inference, read_captures
from training.common.errors import exit_with_message
from training.common.ground_truth import read_reviews
from training.common.layout import DEFAULT_PREFIX, S3Layout

DEFAULT_THRESHOLD = 0.90  # the workflow's ConfidenceThreshold default
DEFAULT_OUT = Path("build/report")
COLORS = dict(zip(cifar.CLASSES, sns.color_palette("pastel"), strict=False))
THRESHOLD_COLOR = "#c0392b"
HISTOGRAM_BINS = 25  # 0.02 wide from 0.5, the lowest confidence two classes allow
TIME_AXIS_MIN_SPAN = timedelta(minutes=15)  # shorter, and a time axis shows no trend
PRINTED_NAMES = 10  # unjoined records printed of each kind; summary.txt names them all


@dataclass(frozen=True)
class Summary:
    count: int
    below_threshold: int
    broken_lines: int
    class_shares: dict[str, float]  # class -> share of inferences, 0..1
    threshold: float
    files: int
    confidence_plot: Path
    classes_plot: Path
    summary_file: Path
    accuracy: Accuracy | None = None
    accuracy_plot: Path | None = None

    def text(self, limit: int | None = None) -> str:
        """The summary; with ground truth, its accuracy too, naming at most `limit` of each
        kind of unjoined record (None: all, as summary.txt has them)."""
        below = self.below_threshold / self.count if self.count else 0.0
        classes = ", ".join(f"{name} {share:.1%}" for name, share in self.class_shares.items())
        return "\n".join(
            [
                f"inferences: {self.count} (from {self.files} capture files)",
                f"below threshold {self.threshold:.2f}: {self.below_threshold} ({below:.1%})",
                f"broken lines: {self.broken_lines}",
                f"predicted classes: {classes or 'none'}",
                *([describe(self.accuracy, limit)] if self.accuracy else []),
            ]
        )

    @property
    def plots(self) -> list[Path]:
        return [self.confidence_plot, self.classes_plot, *filter(None, [self.accuracy_plot])]


def class_shares(inferences: Sequence[Inference]) -> dict[str, float]:
    counts = Counter(inference.label for inference in inferences)
    total = len(inferences)
    return {name: counts[name] / total if total else 0.0 for name in cifar.CLASSES}


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=120)
    return path


def plot_confidence(inferences: Sequence[Inference], threshold: float, path: Path) -> Path:
    """How confident the inferences were (see confidence_figure), as a PNG."""
    return _save(confidence_figure(inferences, threshold), path)


def spans_time(inferences: Sequence[Inference]) -> bool:
    """Whether the inferences spread over enough time for a time axis to show a trend."""
    return bool(inferences) and inferences[-1].time - inferences[0].time >= TIME_AXIS_MIN_SPAN


def confidence_figure(inferences: Sequence[Inference], threshold: float) -> Figure:
    """A histogram of confidence by predicted class with the threshold marked; below it,
    confidence over time, when the inferences span enough time for that to mean something."""
    over_time = spans_time(inferences)
    figure = Figure(figsize=(9, 9 if over_time else 4.5), layout="constrained")
    axes = figure.subplots(2 if over_time else 1, 1, squeeze=False)[:, 0]
    below = sum(inference.confidence < threshold for inference in inferences)
    figure.suptitle(f"Confidence of {len(inferences)} inferences: {below} below the threshold")
    _confidence_histogram(axes[0], inferences, threshold)
    if over_time:
        _confidence_over_time(axes[1], inferences, threshold)
    return figure


def _confidence_histogram(axes: Any, inferences: Sequence[Inference], threshold: float) -> None:
    lowest = min([threshold, *(inference.confidence for inference in inferences)])
    bins = np.linspace(min(lowest, 0.5), 1.0, HISTOGRAM_BINS + 1)
    by_class = [[i.confidence for i in inferences if i.label == name] for name in cifar.CLASSES]
    axes.hist(
        by_class,
        bins=bins,
        stacked=True,
        color=[COLORS[name] for name in cifar.CLASSES],
        edgecolor="#555",
        label=[
            f"{name} ({len(values)})" for name, values in zip(cifar.CLASSES, by_class, strict=True)
        ],
    )
    axes.axvspan(
        bins[0], threshold, color=THRESHOLD_COLOR, alpha=0.07, zorder=0, label="sent to a person"
    )
    axes.axvline(
        threshold, color=THRESHOLD_COLOR, linestyle="--", label=f"threshold {threshold:.2f}"
    )
    axes.set(xlim=(bins[0], 1.0), xlabel="confidence (larger probability)", ylabel="inferences")
    axes.yaxis.get_major_locator().set_params(integer=True)
    if not inferences:
        axes.set_ylim(0, 1)
        axes.text(0.5, 0.5, "no inferences captured", transform=axes.transAxes, ha="center")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="predicted")


def _confidence_over_time(axes: Any, inferences: Sequence[Inference], threshold: float) -> None:
    for name in cifar.CLASSES:
        points = [inference for inference in inferences if inference.label == name]
        times = [inference.time for inference in points]
        confidences = [inference.confidence for inference in points]
        axes.scatter(times, confidences, s=28, color=COLORS[name], edgecolor="#555", label=name)
    axes.axhline(threshold, color=THRESHOLD_COLOR, linestyle="--")
    lowest = min([threshold, 0.5, *(inference.confidence for inference in inferences)])
    axes.set(ylim=(lowest - 0.02, 1.01), ylabel="confidence", xlabel="time (UTC)")
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def plot_classes(inferences: Sequence[Inference], path: Path) -> Path:
    """The share of each predicted class as a pie."""
    figure = Figure(figsize=(5, 5), layout="constrained")
    axes = figure.subplots()
    counts = Counter(inference.label for inference in inferences)
    present = [name for name in cifar.CLASSES if counts[name]]
    if present:
        axes.pie(
            [counts[name] for name in present],
            labels=[f"{name} ({counts[name]})" for name in present],
            colors=[COLORS[name] for name in present],
            autopct="%1.1f%%",
            startangle=90,
            counterclock=False,
            wedgeprops={"edgecolor": "white"},
        )
    else:
        axes.text(0.5, 0.5, "no inferences captured", transform=axes.transAxes, ha="center")
        axes.set_axis_off()
    axes.set_title(f"Predicted classes of {len(inferences)} inferences")
    return _save(figure, path)


SERIES = (  # each accuracy plotted by day: legend, colour, offset within its day
    ("confident (audits)", "#2e86c1", -0.15),
    ("unsure (reviews)", "#e67e22", 0.0),
    ("all traffic (estimate)", "#333333", 0.15),
)


def _points(period: Period) -> list[tuple[float | None, float, float, str]]:
    """(accuracy, low, high, right/answered) of each series for one day."""
    points = []
    for share in (period.confident_accuracy, period.unsure_accuracy):
        low, high = share.interval() or (0.0, 0.0)
        points.append((share.value, low, high, f"{share.hits}/{share.count}"))
    estimate = period.estimate
    points.append((estimate.value, estimate.low or 0.0, estimate.high or 0.0, ""))
    return points


def _days_axis(axes: Any, result: Accuracy) -> None:
    """One slot a day, labelled with its date; slanted when a week or more would crowd them."""
    days = [str(day) for day in result.days]
    axes.set_xticks(range(len(days)), days, rotation=45 if len(days) > 7 else 0)
    axes.set_xlim(-0.5, max(len(days), 1) - 0.5)


def _accuracy_over_time(axes: Any, result: Accuracy) -> None:
    days = [_points(period) for period in result.days.values()]
    for index, (name, color, offset) in enumerate(SERIES):
        shown = [(n + offset, points[index]) for n, points in enumerate(days)]
        shown = [(x, point) for x, point in shown if point[0] is not None]
        for x, (value, low, high, count) in shown:
            first = x == shown[0][0]
            bars = [[value - low], [high - value]]
            axes.errorbar(
                [x],
                [value],
                yerr=bars,
                fmt="o",
                capsize=4,
                color=color,
                label=name if first else "_nolegend_",
            )
            if count:
                axes.annotate(
                    count,
                    (x, value),
                    xytext=(5, -12),
                    textcoords="offset points",
                    fontsize=8,
                    color=color,
                )
    _days_axis(axes, result)
    axes.set(ylim=(0, 1.05), ylabel="accuracy")
    axes.set_title(f"Accuracy by day, {LEVEL:.0%} intervals (right/answered beside each)")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    else:
        empty = "no answer joins a capture yet" if days else "no captured inference with an id"
        axes.text(0.5, 0.5, empty, transform=axes.transAxes, ha="center")


def _review_share(axes: Any, result: Accuracy) -> None:
    periods = list(result.days.values())
    shares = [period.review_share or 0.0 for period in periods]
    bars = axes.bar(range(len(periods)), shares, color=THRESHOLD_COLOR, alpha=0.5)
    axes.bar_label(bars, [f"{p.unsure}/{p.captured}" for p in periods], fontsize=8)
    _days_axis(axes, result)
    axes.set(ylim=(0, 1.1), ylabel="share")
    axes.set_title("Sent to review (below the threshold / captured)")


def _confusion(axes: Any, result: Accuracy, reason: str, title: str) -> None:
    counts = result.confusion[reason]
    matrix = [[counts[true, guess] for guess in cifar.CLASSES] for true in TRUE_LABELS]
    sns.heatmap(
        matrix,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        ax=axes,
        xticklabels=cifar.CLASSES,
        yticklabels=TRUE_LABELS,
    )
    axes.set(xlabel="the model said", ylabel="the person said", title=title)
    axes.tick_params(axis="y", labelrotation=0)


def plot_accuracy(result: Accuracy, path: Path) -> Path:
    """The accuracy (see accuracy_figure), as a PNG."""
    return _save(accuracy_figure(result), path)


def accuracy_figure(result: Accuracy) -> Figure:
    """Accuracy by day with counts and intervals, the share sent to review, and the
    confusion matrices of the audits and of the reviews."""
    figure = Figure(figsize=(10, 11), layout="constrained")
    top, middle, bottom = figure.subfigures(3, 1, height_ratios=[4, 2, 3])
    _accuracy_over_time(top.subplots(), result)
    _review_share(middle.subplots(), result)
    left, right = bottom.subplots(1, 2)
    _confusion(left, result, "audit", "Audits (confident, blind)")
    _confusion(right, result, "below_threshold", "Reviews (below the threshold)")
    return figure


def write_report(
    capture_source: str | Path,
    out_dir: Path,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    s3: Any = None,
    region: str | None = None,
    ground_truth: str | Path | None = None,
    audit_percent: float = DEFAULT_AUDIT_PERCENT,
) -> Summary:
    """Read the captures under `capture_source` (s3://... or a folder) and write the report;
    with `ground_truth` (s3://... or a folder), the accuracy joined from people's answers."""
    sources = [str(capture_source), str(ground_truth or "")]
    if s3 is None and any(source.startswith("s3://") for source in sources):
        s3 = aws.session(region).client("s3")
    captured = read_captures(capture_source, s3)
    inferences = captured.inferences
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    joined = None
    if ground_truth is not None:
        joined = measure(inferences, read_reviews(ground_truth, s3), threshold, audit_percent)
    summary = Summary(
        count=len(inferences),
        below_threshold=sum(inference.confidence < threshold for inference in inferences),
        broken_lines=captured.broken_lines,
        class_shares=class_shares(inferences),
        threshold=threshold,
        files=captured.files,
        confidence_plot=plot_confidence(inferences, threshold, out_dir / "confidence.png"),
        classes_plot=plot_classes(inferences, out_dir / "classes.png"),
        summary_file=out_dir / "summary.txt",
        accuracy=joined,
        accuracy_plot=plot_accuracy(joined, out_dir / "accuracy.png") if joined else None,
    )
    summary.summary_file.write_text(summary.text() + "\n")
    return summary


def threshold_value(value: str) -> float:
    """argparse type: a number in [0, 1]."""
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"{value}: the threshold is a probability, 0 to 1")
    return number


def percent_value(value: str) -> float:
    """argparse type: a percentage, 0 to 100."""
    number = float(value)
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"{value}: a percentage, 0 to 100")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.report",
        description="Plot the confidence and the predicted classes of every captured "
        "inference, and summarise them; with --ground-truth, the accuracy by day from "
        "people's answers (audits and reviews), with intervals and confusion matrices. This "
        "report is the way to follow accuracy: Model Monitor (python -m training.monitor) is "
        "no longer open to new customers.",
    )
    parser.add_argument("--source", help="s3://... of the data capture, or a local folder")
    parser.add_argument("--bucket", help="instead of --source: training.deploy's --bucket")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="with --bucket: %(default)s")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument(
        "--threshold",
        type=threshold_value,
        default=DEFAULT_THRESHOLD,
        help="the workflow's confidence threshold; default: %(default)s",
    )
    parser.add_argument(
        "--ground-truth",
        help="s3://bucket[/prefix] of the stack's ground-truth bucket (GroundTruthBucketName), "
        "or a folder laid out like it: adds accuracy by day (accuracy.png)",
    )
    parser.add_argument(
        "--audit-percent",
        type=percent_value,
        default=DEFAULT_AUDIT_PERCENT,
        help="the stack's AuditSamplePercent: which confident inferences were audited; "
        "default: %(default)s",
    )
    aws.add_region_argument(parser)
    args = parser.parse_args(argv)
    if not (args.source or args.bucket):
        parser.error("name the data capture: --source, or --bucket (and --prefix)")
    args.source = args.source or S3Layout(args.bucket, args.prefix).capture_uri
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        summary = write_report(
            args.source,
            args.out,
            args.threshold,
            region=args.region,
            ground_truth=args.ground_truth,
            audit_percent=args.audit_percent,
        )
        print(summary.text(limit=PRINTED_NAMES))
        print(f"wrote {', '.join(map(str, [*summary.plots, summary.summary_file]))}")


if __name__ == "__main__":
    main()
