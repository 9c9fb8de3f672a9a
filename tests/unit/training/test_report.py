"""training.report on capture files written in SageMaker's layout and record format."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from tests.unit.training import answers as fixture
from training import report
from training.common.accuracy import measure
from training.common.aws import BucketNotFound
from training.common.capture import Inference, NoCaptureFiles, read_captures
from training.common.ground_truth import read_reviews

START = datetime(2026, 11, 25, 10, 0, 1, tzinfo=UTC)
PNG_BYTES = base64.b64encode(b"\x89PNG\r\n\x1a\n...").decode()


def record(probabilities, seconds, encoding="JSON"):
    body = json.dumps(probabilities)
    data = body if encoding == "JSON" else base64.b64encode(body.encode()).decode()
    moment = START + timedelta(seconds=seconds)
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "image/png",
                    "mode": "INPUT",
                    "data": PNG_BYTES,
                    "encoding": "BASE64",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": data,
                    "encoding": encoding,
                },
            },
            "eventMetadata": {
                "eventId": f"event-{seconds}",
                "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        }
    )


def without_time(line):
    parsed = json.loads(line)
    del parsed["eventMetadata"]["inferenceTime"]
    return json.dumps(parsed)


def with_bad_base64(line):
    parsed = json.loads(line)
    parsed["captureData"]["endpointOutput"]["data"] = "not base64!"
    return json.dumps(parsed)


# Two hours of capture: 5 inferences (2 below 0.90, one exactly at it), 4 broken lines.
CAPTURES = {
    "scones/AllTraffic/2026/11/25/10/00-01-123-4a5b.jsonl": [
        record([0.97, 0.03], 0),
        record([0.2, 0.8], 30, "BASE64"),
        "{not json",
        "",
    ],
    "scones/AllTraffic/2026/11/25/11/00-02-456-6c7d.jsonl": [
        record([0.05, 0.95], 3600),
        record([0.55, 0.45], 3630, "BASE64"),
        record([0.9, 0.1], 3660),
        without_time(record([0.99, 0.01], 3690)),
        record([0.3, 0.3, 0.4], 3700),
        with_bad_base64(record([0.5, 0.5], 3710, "BASE64")),
    ],
}


def write_captures(root, captures=CAPTURES):
    for relative, lines in captures.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return root


def assert_is_png(path, size):
    with Image.open(path) as image:
        image.verify()
        assert (image.format, image.size) == ("PNG", size)


def test_report_figures_from_both_encodings_with_broken_lines(tmp_path):
    summary = report.write_report(write_captures(tmp_path / "capture"), tmp_path / "report")
    assert (summary.count, summary.below_threshold, summary.broken_lines) == (5, 2, 4)
    assert summary.class_shares == {"bicycle": 0.6, "motorcycle": 0.4}
    assert (summary.files, summary.threshold) == (2, 0.90)
    assert_is_png(summary.confidence_plot, (1080, 1080))  # two hours: a time axis too
    assert_is_png(summary.classes_plot, (600, 600))
    assert summary.summary_file.read_text().splitlines() == [
        "inferences: 5 (from 2 capture files)",
        "below threshold 0.90: 2 (40.0%)",
        "broken lines: 4",
        "predicted classes: bicycle 60.0%, motorcycle 40.0%",
    ]


def inferences_over(seconds):
    """Six inferences, three of each class, spread evenly over `seconds`."""
    confidences = [0.97, 0.55, 0.91, 0.8, 0.99, 0.6]
    return [
        Inference(START + timedelta(seconds=seconds * n / 5), (p, 1 - p) if n % 2 else (1 - p, p))
        for n, p in enumerate(confidences)
    ]


def histogram_counts(axes):
    """Bar heights per predicted class, as stacked by the histogram (bicycle first)."""
    return [[patch.get_height() for patch in bars] for bars in axes.containers]


def test_a_demo_length_capture_gets_the_histogram_alone(tmp_path):
    figure = report.confidence_figure(inferences_over(120), 0.90)
    (histogram,) = figure.axes
    assert histogram.get_xlabel() == "confidence (larger probability)"
    assert [line.get_xdata()[0] for line in histogram.lines] == [0.90]  # the threshold
    bicycle, motorcycle = histogram_counts(histogram)
    assert (sum(bicycle), sum(motorcycle)) == (3, 3)
    legend = [text.get_text() for text in histogram.get_legend().get_texts()]
    assert legend[:2] == ["bicycle (3)", "motorcycle (3)"] and "threshold 0.90" in legend
    assert figure.get_suptitle() == "Confidence of 6 inferences: 3 below the threshold"
    path = report.plot_confidence(inferences_over(120), 0.90, tmp_path / "confidence.png")
    assert_is_png(path, (1080, 540))


def test_a_capture_over_hours_adds_confidence_over_time(tmp_path):
    figure = report.confidence_figure(inferences_over(2 * 3600), 0.90)
    histogram, over_time = figure.axes
    assert histogram.get_xlabel() == "confidence (larger probability)"
    assert over_time.get_xlabel() == "time (UTC)"
    assert [line.get_ydata()[0] for line in over_time.lines] == [0.90]
    assert sum(len(points.get_offsets()) for points in over_time.collections) == 6
    path = report.plot_confidence(inferences_over(2 * 3600), 0.90, tmp_path / "confidence.png")
    assert_is_png(path, (1080, 1080))


def test_the_time_axis_appears_from_fifteen_minutes_on():
    assert not report.spans_time(inferences_over(15 * 60 - 1))
    assert report.spans_time(inferences_over(15 * 60))
    assert not report.spans_time([])


def test_the_threshold_moves_the_count_below_it(tmp_path):
    summary = report.write_report(write_captures(tmp_path / "capture"), tmp_path / "out", 0.96)
    assert summary.below_threshold == 4
    assert "below threshold 0.96: 4 (80.0%)" in summary.text()


def test_inferences_come_in_time_order_with_their_class(tmp_path):
    captured = read_captures(write_captures(tmp_path / "capture"))
    assert [inference.time for inference in captured.inferences] == sorted(
        inference.time for inference in captured.inferences
    )
    first = captured.inferences[0]
    assert (first.time, first.label, first.confidence) == (START, "bicycle", 0.97)
    assert captured.inferences[1].label == "motorcycle"


def test_reads_from_s3_only_under_the_prefix(tmp_path, session, bucket):
    s3 = session.client("s3")
    others = {"scones/AllTraffic/2026/11/25/12/x.jsonl": [record([0.6, 0.4], 7200)]}
    for root, captures in [("capture", CAPTURES), ("capture-old", others)]:
        for relative, lines in captures.items():
            body = "\n".join(lines).encode()
            s3.put_object(Bucket=bucket, Key=f"runs/{root}/{relative}", Body=body)
    summary = report.write_report(f"s3://{bucket}/runs/capture", tmp_path / "out", s3=s3)
    assert (summary.count, summary.broken_lines, summary.files) == (5, 4, 2)


def test_s3_source_with_the_default_session(tmp_path, session, bucket):
    s3 = session.client("s3")
    s3.put_object(Bucket=bucket, Key="c/e/v/2026/11/25/10/a.jsonl", Body=record([0.1, 0.9], 0))
    summary = report.write_report(f"s3://{bucket}/c", tmp_path / "out", region="us-east-1")
    assert (summary.count, summary.class_shares["motorcycle"]) == (1, 1.0)


def test_cli_finds_the_capture_from_bucket_and_prefix(tmp_path, session, bucket, capsys):
    key = "runs/test/data-capture/scones/AllTraffic/2026/11/25/10/a.jsonl"
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=record([0.1, 0.9], 0))
    argv = ["--bucket", bucket, "--prefix", "runs/test", "--out", str(tmp_path)]
    report.main([*argv, "--region", "us-east-1"])
    assert "inferences: 1 (from 1 capture files)" in capsys.readouterr().out


def test_cli_needs_a_source_or_a_bucket(capsys):
    with pytest.raises(SystemExit) as exited:
        report.main([])
    assert exited.value.code == 2
    assert "--source, or --bucket" in capsys.readouterr().err


def test_a_missing_bucket(tmp_path, aws):
    with pytest.raises(BucketNotFound, match="absent-bucket"):
        report.write_report("s3://absent-bucket/capture", tmp_path / "out", region="us-east-1")


def test_no_capture_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoCaptureFiles, match=r"no \.jsonl files under"):
        report.write_report(tmp_path / "empty", tmp_path / "out")


def with_encoding(line, encoding):
    parsed = json.loads(line)
    parsed["captureData"]["endpointOutput"]["encoding"] = encoding
    return json.dumps(parsed)


def test_only_broken_lines_still_makes_a_report(tmp_path):
    broken = [
        "{",
        "[]",
        with_encoding(record([0.9, 0.1], 0), "CSV"),
        record([1.5, -0.5], 1),
        record([True, False], 2),
        record({"prediction": [0.9, 0.1]}, 3),
    ]
    source = write_captures(tmp_path / "capture", {"e/v/2026/11/25/10/a.jsonl": broken})
    summary = report.write_report(source, tmp_path / "out")
    assert (summary.count, summary.below_threshold, summary.broken_lines) == (0, 0, 6)
    assert_is_png(summary.confidence_plot, (1080, 540))
    assert_is_png(summary.classes_plot, (600, 600))
    assert "predicted classes: bicycle 0.0%, motorcycle 0.0%" in summary.text()


def test_cli_prints_the_summary_and_the_files(tmp_path, capsys):
    source = write_captures(tmp_path / "capture")
    report.main(["--source", str(source), "--out", str(tmp_path / "out"), "--threshold", "0.5"])
    out = capsys.readouterr().out
    assert "inferences: 5 (from 2 capture files)" in out
    assert "below threshold 0.50: 0 (0.0%)" in out
    assert f"wrote {tmp_path / 'out' / 'confidence.png'}" in out


def test_cli_exits_with_a_message_when_there_is_nothing(tmp_path):
    with pytest.raises(SystemExit, match=r"error: no \.jsonl files"):
        report.main(["--source", str(tmp_path), "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        *[("--threshold", value) for value in ("1.5", "-0.1", "high")],
        *[("--audit-percent", value) for value in ("101", "-1", "some")],
    ],
)
def test_cli_rejects_a_threshold_outside_0_to_1_and_a_percent_outside_0_to_100(
    option, value, capsys
):
    with pytest.raises(SystemExit) as exited:
        report.main(["--source", "x", option, value])
    assert exited.value.code == 2
    assert option in capsys.readouterr().err


def with_output(line, data, encoding="JSON"):
    parsed = json.loads(line)
    output = parsed["captureData"]["endpointOutput"]
    output["data"] = data if encoding == "JSON" else base64.b64encode(data.encode()).decode()
    output["encoding"] = encoding
    return json.dumps(parsed)


DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE = {
    "400-digit-probability": record([10**400, 0], 0),
    "400-digit-probability-base64": with_output(record([0.5, 0.5], 0), f"[{10**400}, 0]", "BASE64"),
    "5001-digit-probability": with_output(record([0.5, 0.5], 0), f"[{'1' * 5001}, 0]"),
    "overflowing-float": with_output(record([0.5, 0.5], 0), "[1e400, 0]"),
    "nan": with_output(record([0.5, 0.5], 0), "[NaN, 0.5]"),
    "deeply-nested-line": DEEP,
    "deeply-nested-output": with_output(record([0.5, 0.5], 0), DEEP),
    "deeply-nested-base64-output": with_output(record([0.5, 0.5], 0), DEEP, "BASE64"),
    "nested-just-under-the-limit": with_output(record([0.5, 0.5], 0), "[" * 990 + "]" * 990),
    "number-as-time": record([0.5, 0.5], 0).replace('"2026-11-25T10:00:01Z"', "9" * 400),
    "number-as-line": "9" * 400,
    "surrogate-in-base64": with_output(record([0.5, 0.5], 0), "\ud800", "JSON").replace(
        '"encoding": "JSON"', '"encoding": "BASE64"'
    ),
}


@pytest.mark.parametrize("line", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_line_is_counted_as_broken_never_fatal(line, tmp_path):
    lines = [record([0.97, 0.03], 0), line]
    captured = read_captures(write_captures(tmp_path, {"e/v/2026/11/25/10/a.jsonl": lines}))
    assert (len(captured.inferences), captured.broken_lines) == (1, 1)


def test_cli_reports_around_every_hostile_line(tmp_path, capsys):
    lines = [record([0.97, 0.03], 0), *HOSTILE.values()]
    source = write_captures(tmp_path / "capture", {"e/v/2026/11/25/10/a.jsonl": lines})
    report.main(["--source", str(source), "--out", str(tmp_path / "out")])
    assert f"broken lines: {len(HOSTILE)}" in capsys.readouterr().out


def test_cli_with_ground_truth_adds_accuracy_and_its_plot(tmp_path, capsys):
    """The hand-counted fixture of test_accuracy.py, through the command."""
    captures = fixture.write_captures(tmp_path / "capture")
    answers = fixture.write_answers(tmp_path / "ground-truth")
    out = tmp_path / "out"
    argv = ["--source", str(captures), "--ground-truth", str(answers), "--out", str(out)]
    report.main([*argv, "--audit-percent", "50"])
    printed = capsys.readouterr().out
    assert "2026-11-25: captured 8, sent to review 4 (50.0%), audited 3;" in printed
    assert "answers without a capture record: 1" in printed
    assert f"  {fixture.uid(11)}" in printed
    assert (
        f"wrote {out / 'confidence.png'}, {out / 'classes.png'}, {out / 'accuracy.png'}" in printed
    )
    assert_is_png(out / "accuracy.png", (1200, 1320))
    assert "sent to a person, not answered yet: 2" in (out / "summary.txt").read_text()


def fixture_accuracy(tmp_path):
    inferences = read_captures(fixture.write_captures(tmp_path / "capture")).inferences
    reviews = read_reviews(fixture.write_answers(tmp_path / "ground-truth"))
    return measure(inferences, reviews, 0.90, 50)


def test_the_accuracy_plot_shows_each_days_figures_with_counts(tmp_path):
    figure = report.accuracy_figure(fixture_accuracy(tmp_path))
    over_time, share, audits, reviews = figure.axes
    assert [t.get_text() for t in over_time.get_xticklabels()] == ["2026-11-25", "2026-11-26"]
    assert [t.get_text() for t in over_time.texts] == ["1/2", "1/1", "1/2", "1/1"]
    legend = [t.get_text() for t in over_time.get_legend().get_texts()]
    assert legend == ["confident (audits)", "unsure (reviews)", "all traffic (estimate)"]
    assert [t.get_text() for t in share.texts] == ["4/8", "1/2"]
    # rows bicycle, motorcycle, neither (the person); columns bicycle, motorcycle (the model)
    assert [t.get_text() for t in audits.texts] == ["2", "1", "0", "0", "0", "0"]
    assert [t.get_text() for t in reviews.texts] == ["1", "1", "0", "1", "1", "0"]


def test_an_accuracy_plot_with_nothing_joined_still_draws(tmp_path):
    empty = measure([], read_reviews(tmp_path), 0.90)
    over_time, *_ = report.accuracy_figure(empty).axes
    assert [t.get_text() for t in over_time.texts] == ["no captured inference with an id"]
    assert report.plot_accuracy(empty, tmp_path / "a.png").exists()


def test_ground_truth_in_s3_beside_a_capture_in_s3(tmp_path, session, bucket):
    s3 = session.client("s3")
    local = fixture.write_captures(tmp_path / "capture")
    for path in local.rglob("*.jsonl"):
        s3.put_object(
            Bucket=bucket, Key=f"capture/{path.relative_to(local)}", Body=path.read_bytes()
        )
    answers = fixture.write_answers(tmp_path / "gt")
    for path in answers.rglob("*.json*"):
        s3.put_object(Bucket=bucket, Key=f"gt/{path.relative_to(answers)}", Body=path.read_bytes())
    summary = report.write_report(
        f"s3://{bucket}/capture",
        tmp_path / "out",
        ground_truth=f"s3://{bucket}/gt",
        region="us-east-1",
        audit_percent=50,
    )
    assert summary.accuracy == fixture_accuracy(tmp_path / "again")


def test_a_missing_ground_truth_bucket_is_named(tmp_path, session, bucket):
    session.client("s3").put_object(
        Bucket=bucket, Key="c/e/v/2026/11/25/10/a.jsonl", Body=record([0.1, 0.9], 0)
    )
    with pytest.raises(BucketNotFound, match="absent-gt"):
        report.write_report(
            f"s3://{bucket}/c", tmp_path / "out", ground_truth="s3://absent-gt", region="us-east-1"
        )


def test_a_week_or_more_of_days_slants_their_labels(tmp_path):
    inferences = [Inference(START + timedelta(days=n), (0.95, 0.05), f"id-{n}") for n in range(8)]
    figure = report.accuracy_figure(measure(inferences, read_reviews(tmp_path), 0.90))
    over_time, share, *_ = figure.axes
    for axes in (over_time, share):
        labels = axes.get_xticklabels()
        assert len(labels) == 8 and {label.get_rotation() for label in labels} == {45.0}
    assert [t.get_text() for t in over_time.texts] == ["no answer joins a capture yet"]
    few = measure(inferences[:7], read_reviews(tmp_path), 0.90)
    assert {t.get_rotation() for t in report.accuracy_figure(few).axes[0].get_xticklabels()} == {
        0.0
    }
