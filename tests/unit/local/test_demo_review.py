"""`make demo`'s scripted reviewer: it answers a few review items with the true labels through
the review core, in moto, and keeps the ground-truth bucket's files once moto is gone."""

import json

import pytest

from local import demo
from local.emulation import workflow
from tests.unit.operations.review_queue import Queue, inference_id, marker

TRUE_LABELS = ["bicycle", "motorcycle", "neither", "bicycle"]


@pytest.fixture
def queue(image_bucket):
    return Queue(image_bucket, workflow.GROUND_TRUTH_BUCKET)


def test_the_scripted_reviewer_answers_a_few_with_the_true_labels(queue, tmp_path, capsys):
    queue.send("not json", 9)  # first in the queue, and not ours: given back, never answered
    for n in range(4):
        queue.send_item(n, reason="audit" if n == 1 else "below_threshold")
    true_labels = {f"incoming/photo-{n:02d}.png": label for n, label in enumerate(TRUE_LABELS)}
    reviewer = demo.local_reviewer("us-east-1")

    answered = demo.scripted_review(reviewer, true_labels)
    demo.keep_ground_truth(reviewer, tmp_path / "ground-truth")
    demo.print_scripted_review(answered, tmp_path)

    assert [(a.item.s3_key, a.answer.label) for a in answered] == list(true_labels.items())[:3]
    assert queue.counts() == (2, 0)  # photo-03 waits for a person; the unreadable is back
    kept = {
        str(path.relative_to(tmp_path / "ground-truth")): path.read_bytes()
        for path in (tmp_path / "ground-truth").rglob("*")
        if path.is_file()
    }
    assert kept == queue.objects()
    assert {key.split("/")[0] for key in kept} == {"reviews", "ground-truth", "neither", "waiting"}
    assert marker(3) in kept
    record = json.loads(kept[f"reviews/{inference_id(1)}.json"])
    assert (record["label"], record["reason"]) == ("motorcycle", "audit")
    out = capsys.readouterr().out
    assert "scripted review: 3 answered with their true labels" in out
    assert "incoming/photo-01.png" in out and f"inference {inference_id(1)}" in out
    assert f"review records: {tmp_path / 'ground-truth' / 'reviews'}/<inference id>.json" in out


def test_keeping_the_ground_truth_replaces_what_an_earlier_run_kept(queue, tmp_path):
    stale = tmp_path / "ground-truth" / "reviews" / "from-an-earlier-run.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    demo.keep_ground_truth(demo.local_reviewer("us-east-1"), tmp_path / "ground-truth")

    assert not stale.exists()
