"""The accuracy report over what the run left: `python -m training.report --ground-truth` (the
real command) joins the endpoint stand-in's data capture with the stack's ground-truth bucket
on the inference id. The bucket outlives `sam delete` (the template retains it, test_7 checks
it), and the capture is this run's folder, so the report runs after the stack is gone too.

The expected figures are counted here from the capture records and the review records
themselves: every inference with an id, those below the threshold (AuditSamplePercent is 0 on
the acceptance stack, and the express stack's audits are not this bucket's), and the answers,
at least the one test_2 recorded."""

import json

import pytest

from local.emulation import template
from tests.acceptance.conftest import capture_records, command

CLASSES = ("bicycle", "motorcycle")


def confidence(record: dict) -> float:
    """The larger probability, from the output as the stand-in captures it (JSON)."""
    output = record["captureData"]["endpointOutput"]
    assert output["encoding"] == "JSON"
    return max(json.loads(output["data"]))


@pytest.fixture(scope="module")
def answers(s3, outputs) -> dict[str, dict]:
    """Inference id -> review record, everything under reviews/ of the ground-truth bucket."""
    bucket = outputs["GroundTruthBucketName"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="reviews/").get("Contents", [])
    records = [
        json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()) for item in listed
    ]
    return {record["inference_id"]: record for record in records}


@pytest.fixture(scope="module")
def reported(run, outputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    done = command(
        run,
        "training.report",
        *("--source", str(run.workspace.captures), "--out", str(out)),
        *("--ground-truth", f"s3://{outputs['GroundTruthBucketName']}", "--audit-percent", "0"),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, out


def test_the_report_counts_what_was_captured_and_sent_to_review(run, reported):
    threshold = template.confidence_threshold()
    records = capture_records(run)
    with_id = [r for r in records if "inferenceId" in r["eventMetadata"]]
    unsure = [r for r in with_id if confidence(r) < threshold]
    assert with_id and unsure
    printed, _ = reported
    share = len(unsure) / len(with_id)
    assert (
        f"all days: captured {len(with_id)}, sent to review {len(unsure)} ({share:.1%}), audited 0;"
    ) in printed
    assert (
        f"captures without an inference id (cannot be joined): {len(records) - len(with_id)}"
    ) in printed.splitlines()


def test_every_answer_joins_its_captured_inference(run, reported, answers):
    captured = {
        r["eventMetadata"]["inferenceId"]
        for r in capture_records(run)
        if "inferenceId" in r["eventMetadata"]
    }
    assert answers, "no answer in the ground-truth bucket: test_2 records one"
    assert set(answers) <= captured
    printed, _ = reported
    lines = printed.splitlines()
    assert "answers without a capture record: 0" in lines
    assert "ground-truth problems: 0" in lines


def test_the_unsure_accuracy_is_the_reviews_right_of_answered(run, reported, answers):
    reviews = [a for a in answers.values() if a["reason"] == "below_threshold"]
    scored = [a for a in reviews if a["label"] in CLASSES]
    right = sum(a["label"] == a["model_label"] for a in scored)
    printed, _ = reported
    all_days = next(line for line in printed.splitlines() if line.startswith("all days:"))
    assert f"unsure (reviews) {right}/{len(scored)} " in all_days
    assert f"neither {sum(a['label'] == 'neither' for a in answers.values())}" in all_days


def test_inferences_sent_to_review_but_unanswered_are_named(run, reported, answers):
    threshold = template.confidence_threshold()
    waiting = [
        r["eventMetadata"]["inferenceId"]
        for r in capture_records(run)
        if "inferenceId" in r["eventMetadata"]
        and confidence(r) < threshold
        and r["eventMetadata"]["inferenceId"] not in answers
    ]
    _, out = reported
    summary = (out / "summary.txt").read_text().splitlines()
    assert f"sent to a person, not answered yet: {len(waiting)}" in summary
    assert {f"  {inference_id}" for inference_id in waiting} <= set(summary)


def test_the_accuracy_plot_is_written_beside_the_others(reported):
    _, out = reported
    for name in ("confidence.png", "classes.png", "accuracy.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
