"""`make demo ARGS="--learn"`: one round of the learning loop on this machine.

1. The round's training set is the archive's train split less `--images` of its images, which
   play the traffic a deployed model meets: images it never trained on. Its validation set is
   the archive's test split, the same as every round's.
2. The model before is trained on that set and served by the local endpoint.
3. The traffic goes through the workflow (uploads under `incoming/`, as `make demo`); what the
   model is unsure about, and the audited share, waits in the review queue.
4. The scripted reviewer answers every item with its true label, and `training.report
   --ground-truth` measures the model on the answers.
5. `training.etl`'s rule adds the answers to the training set (bicycle and motorcycle only;
   nothing that is in validation; no picture twice), the model after is trained on it and
   redeployed to the same endpoint.
6. The held-out images (the test split, which neither model trained on) are classified through
   the endpoint before and after, and the figures printed side by side.

Everything goes under `learn/` of the work folder; the demo's own data and model are not
touched.
"""

import argparse
import json
import random
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import boto3

from local import demo
from local.emulation import template, workflow
from local.model import classifier
from training import etl, report
from training.common import cifar, lst
from training.common.ground_truth import read_reviews
from training.common.manifest import MANIFEST, format_manifest, read_manifest
from training.common.retraining import Extension, extend_training

ROUND = "learn"  # the round's folder under the work folder
IMAGE_CONTENT_TYPE = "image/png"


@dataclass
class Deployment:
    """What the local endpoint serves: redeploying swaps the model, the endpoint stays."""

    model: classifier.Predictor

    def __call__(self, image_bytes: bytes) -> list[float]:
        return self.model(image_bytes)


def leave_out(base: Path, folder: Path, traffic: set[str]) -> None:
    """`folder`: the dataset at `base` without the train images named in `traffic`."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(base / "test", folder / "test")
    shutil.copy2(base / "test.lst", folder / "test.lst")
    (folder / "train").mkdir()
    rows = [
        row for row in read_manifest(base) if row["split"] != "train" or row["path"] not in traffic
    ]
    train = [row for row in rows if row["split"] == "train"]
    for row in train:
        shutil.copy2(base / "train" / row["path"], folder / "train" / row["path"])
    entries = [lst.LstEntry(index, row["label"], row["path"]) for index, row in enumerate(train)]
    (folder / "train.lst").write_text(lst.format_lst(entries))
    (folder / MANIFEST).write_text(format_manifest(rows))


def pick_traffic(base: Path, count: int, seed: int) -> list[tuple[Path, str]]:
    """`count` train images (seeded; at most half the split), with their true labels: the
    round's traffic."""
    entries = lst.read_lst(base / "train.lst")
    chosen = random.Random(seed).sample(  # noqa: S311 (a reproducible sample, not a secret)
        entries, min(count, len(entries) // 2)
    )
    return [(base / "train" / entry.path, cifar.CLASSES[entry.label]) for entry in chosen]


def through_endpoint(region: str) -> Callable[[bytes], list[float]]:
    """The local endpoint, called as the workflow calls it (InvokeEndpoint on the wire)."""
    runtime = boto3.client("sagemaker-runtime", region_name=region)

    def invoke(image_bytes: bytes) -> list[float]:
        answer = runtime.invoke_endpoint(
            EndpointName=workflow.LOCAL_ENDPOINT_NAME,
            ContentType=IMAGE_CONTENT_TYPE,
            Body=image_bytes,
        )
        return json.loads(answer["Body"].read())

    return invoke


@dataclass
class RoundResult:
    before: classifier.Evaluation
    after: classifier.Evaluation
    trained_before: int
    extension: Extension
    outcomes: list[demo.Outcome]
    answered: list[demo.Answered]
    summary: report.Summary


def run_round(args: argparse.Namespace) -> RoundResult:
    """The round, from the base dataset under `args.workdir / "data"` (training.etl's)."""
    base = args.workdir / "data"
    here = argparse.Namespace(**(vars(args) | {"workdir": args.workdir / ROUND}))
    here.workdir.mkdir(parents=True, exist_ok=True)
    traffic = pick_traffic(base, args.images, args.seed)
    data = here.workdir / "data"
    leave_out(base, data, {path.name for path, _ in traffic})
    deployment = Deployment(classifier.train(data))
    classifier.save(deployment.model, here.workdir / "before.npz")
    trained_before = len(lst.read_lst(data / "train.lst"))
    true_labels = {f"{demo.UPLOAD_PREFIX}{path.name}": label for path, label in traffic}
    with ExitStack() as stack:
        outcomes, _ = demo.run_workflow(here, traffic, stack, deployment)
        reviewer = demo.local_reviewer(args.region)
        answered = demo.scripted_review(reviewer, true_labels, count=len(traffic))
        demo.keep_ground_truth(reviewer, here.workdir / "ground-truth")
        summary = measure(here)
        reviews = read_reviews(here.workdir / "ground-truth")
        extension = extend_training(data, reviews, etl.image_reader(reviewer.s3))
        endpoint = through_endpoint(args.region)
        before = classifier.evaluate(endpoint, data, "test")
        deployment.model = classifier.train(data)  # redeployed: the same endpoint serves it
        classifier.save(deployment.model, here.workdir / "after.npz")
        after = classifier.evaluate(endpoint, data, "test")
    return RoundResult(before, after, trained_before, extension, outcomes, answered, summary)


def measure(args: argparse.Namespace) -> report.Summary:
    """training.report --ground-truth over the traffic's capture and the answers."""
    return report.write_report(
        args.workdir / "data-capture",
        args.workdir / "report",
        args.threshold,
        ground_truth=args.workdir / "ground-truth",
        audit_percent=float(template.parameter_defaults()["AuditSamplePercent"]),
    )


def side_by_side(result: RoundResult) -> str:
    """Before and after on the held-out images, one figure a line."""
    before, after = result.before, result.after
    added = len(result.extension.added)
    rows = [
        ("trained on (images)", f"{result.trained_before}", f"{result.trained_before + added}"),
        ("accuracy", f"{before.accuracy:.3f}", f"{after.accuracy:.3f}"),
        (
            f"share at >= {before.threshold:.2f}",
            f"{before.confident_share:.1%}",
            f"{after.confident_share:.1%}",
        ),
        (
            "precision of those",
            f"{before.confident_accuracy:.1%}",
            f"{after.confident_accuracy:.1%}",
        ),
    ]
    lines = [
        f"held-out images: the test split, {before.count} images neither model trained on",
        f"{'':<24}{'before':>10}{'after':>10}",
        *(f"{name:<24}{old:>10}{new:>10}" for name, old, new in rows),
    ]
    return "\n".join(lines)


def print_round(result: RoundResult, workdir: Path) -> None:
    print("\n" + "\n".join(demo.totals(result.outcomes)))
    labels = [done.answer.label for done in result.answered]
    print(
        f"\nscripted review: {len(labels)} answered with their true labels "
        f"({labels.count('bicycle')} bicycle, {labels.count('motorcycle')} motorcycle)"
    )
    print("\naccuracy with the ground truth (training.report --ground-truth):")
    print(result.summary.text(5))
    extension = result.extension
    print(
        f"\nretraining (training.etl's rule): {len(extension.added)} reviewed images added to "
        f"the train split, {len(extension.skipped)} skipped; sources in "
        f"{workdir / ROUND / 'data' / MANIFEST}"
    )
    for skipped in extension.skipped:
        print(f"  skipped {skipped}")
    print("\n" + side_by_side(result))
    print(f"\nmodels: {workdir / ROUND / 'before.npz'}, {workdir / ROUND / 'after.npz'}")


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 unless the workflow itself broke."""
    result = run_round(args)
    print_round(result, args.workdir)
    broken = [o for o in result.outcomes if o.error and o.error not in demo.EXPECTED_FAILURES]
    return 1 if broken else 0
