"""Report: how sure the deployed model has been, from the endpoint's data capture.

    python -m training.report --bucket my-bucket     # the capture training.deploy set up
    python -m training.report --source captured/ --out build/report --threshold 0.93

Reads every record of every capture file (S3 or a local folder; see `training.common.capture`)
and writes three files to --out: `confidence.png` (a histogram of each inference's
confidence, the larger probability, by predicted class with the threshold marked; and
the confidence over time when the inferences span 15 minutes or more), `classes.png`
(the share of each predicted class) and `summary.txt` (also printed). Figures are drawn
on matplotlib's non-interactive Agg canvas, so no display is ever needed.
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
from training.common.capture import Inference, read_captures
from training.common.errors import exit_with_message
from training.common.layout import DEFAULT_PREFIX, S3Layout

DEFAULT_THRESHOLD = 0.90  # the workflow's ConfidenceThreshold default
DEFAULT_OUT = Path("build/report")
COLORS = dict(zip(cifar.CLASSES, sns.color_palette("pastel"), strict=False))
THRESHOLD_COLOR = "#c0392b"
HISTOGRAM_BINS = 25  # 0.02 wide from 0.5, the lowest confidence two classes allow
TIME_AXIS_MIN_SPAN = timedelta(minutes=15)  # shorter, and a time axis shows no trend


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

    def text(self) -> str:
        below = self.below_threshold / self.count if self.count else 0.0
        classes = ", ".join(f"{name} {share:.1%}" for name, share in self.class_shares.items())
        return "\n".join(
            [
                f"inferences: {self.count} (from {self.files} capture files)",
                f"below threshold {self.threshold:.2f}: {self.below_threshold} ({below:.1%})",
                f"broken lines: {self.broken_lines}",
                f"predicted classes: {classes or 'none'}",
            ]
        )


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


def write_report(
    capture_source: str | Path,
    out_dir: Path,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    s3: Any = None,
    region: str | None = None,
) -> Summary:
    """Read the captures under `capture_source` (s3://... or a folder) and write the report."""
    if s3 is None and str(capture_source).startswith("s3://"):
        s3 = aws.session(region).client("s3")
    captured = read_captures(capture_source, s3)
    inferences = captured.inferences
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
    )
    summary.summary_file.write_text(summary.text() + "\n")
    return summary


def threshold_value(value: str) -> float:
    """argparse type: a number in [0, 1]."""
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"{value}: the threshold is a probability, 0 to 1")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training.report",
        description="Plot the confidence and the predicted classes of every captured "
        "inference, and summarise them.",
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
    aws.add_region_argument(parser)
    args = parser.parse_args(argv)
    if not (args.source or args.bucket):
        parser.error("name the data capture: --source, or --bucket (and --prefix)")
    args.source = args.source or S3Layout(args.bucket, args.prefix).capture_uri
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with exit_with_message():
        summary = write_report(args.source, args.out, args.threshold, region=args.region)
        print(summary.text())
        print(f"wrote {summary.confidence_plot}, {summary.classes_plot}, {summary.summary_file}")


if __name__ == "__main__":
    main()
