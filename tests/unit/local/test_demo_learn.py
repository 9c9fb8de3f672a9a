"""`make demo ARGS="--learn"`: one round of the learning loop, as a user runs it, on a small
SYNTHETIC archive (a fresh process, as in test_demo.py)."""

import json
import re
from pathlib import Path

import pytest

from local import demo as demo_module
from local import learning
from local.model import classifier
from tests.unit.local.test_demo import run_demo
from training.common import lst, pictures
from training.common.manifest import read_manifest
from training.common.synthetic import write_archive

TRAFFIC = 10
FIGURE = re.compile(r"^(?P<name>.+?)\s{2,}(?P<before>\S+)\s+(?P<after>\S+)$")


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """One round over 10 traffic images of a 20 + 20 train split, measured on 6 + 6."""
    archive = tmp_path_factory.mktemp("archive") / "small-cifar-100.tar.gz"
    md5 = write_archive(archive, seed=5, train_per_class=20, test_per_class=6, other_per_class=1)
    workdir = tmp_path_factory.mktemp("learn")
    args = ("--archive", str(archive), "--md5", md5, "--images", str(TRAFFIC), "--learn")
    result = run_demo(workdir, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout, workdir


def figures(stdout: str) -> dict[str, tuple[str, str]]:
    table = stdout.split("neither model trained on\n", 1)[1].split("\n\n", 1)[0]
    found = {}
    for line in table.splitlines()[1:]:
        match = FIGURE.match(line)
        found[match["name"].strip()] = (match["before"], match["after"])
    return found


def pixel_hashes(folder: Path) -> set[str]:
    return {pictures.pixel_hash(pictures.decode(p.read_bytes())) for p in folder.iterdir()}


def test_the_round_prints_before_and_after_side_by_side(learned):
    stdout, _ = learned
    found = figures(stdout)
    assert list(found) == [
        "trained on (images)",
        "accuracy",
        "share at >= 0.90",
        "precision of those",
    ]
    added = int(re.search(r"retraining \(training.etl's rule\): (\d+) reviewed", stdout)[1])
    trained = found["trained on (images)"]
    assert (int(trained[0]), int(trained[1])) == (40 - TRAFFIC, 40 - TRAFFIC + added)
    assert "held-out images: the test split, 12 images neither model trained on" in stdout


def test_the_redeployed_model_is_the_one_measured_after(learned):
    stdout, workdir = learned
    found = figures(stdout)
    data = workdir / "learn" / "data"
    for name, column in (("before.npz", 0), ("after.npz", 1)):
        figures_of = classifier.evaluate(classifier.load(workdir / "learn" / name), data)
        assert f"{figures_of.accuracy:.3f}" == found["accuracy"][column]
        assert f"{figures_of.confident_share:.1%}" == found["share at >= 0.90"][column]


def test_every_review_item_is_answered_and_reported_with_the_ground_truth(learned):
    stdout, workdir = learned
    records = list((workdir / "learn" / "ground-truth" / "reviews").glob("*.json"))
    below = int(re.search(r"\d+ executions: \d+ succeeded, (\d+) below", stdout)[1])
    assert len(records) >= below  # every unsure image, and the audits
    assert f"scripted review: {len(records)} answered with their true labels" in stdout
    assert "sent to a person, not answered yet: 0" in stdout
    assert "accuracy by UTC day of the inference" in stdout


def test_only_answers_join_training_and_validation_stays_the_same(learned):
    _, workdir = learned
    base, data = workdir / "data", workdir / "learn" / "data"
    assert (data / "test.lst").read_bytes() == (base / "test.lst").read_bytes()
    for entry in lst.read_lst(base / "test.lst"):
        assert (data / "test" / entry.path).read_bytes() == (
            base / "test" / entry.path
        ).read_bytes()
    assert pixel_hashes(data / "train").isdisjoint(pixel_hashes(data / "test"))
    rows = read_manifest(data)
    reviewed = [row for row in rows if row["from"] == "review"]
    answers = [
        json.loads(path.read_text())
        for path in (workdir / "learn" / "ground-truth" / "reviews").glob("*.json")
    ]
    assert sorted(row["inference_id"] for row in reviewed) == sorted(
        answer["inference_id"] for answer in answers
    )
    archive_train = [row for row in rows if row["split"] == "train" and row["from"] == "archive"]
    traffic = {row["s3_key"].removeprefix("incoming/") for row in reviewed}
    assert len(archive_train) == 40 - TRAFFIC
    assert traffic.isdisjoint(row["path"] for row in archive_train)


def test_learn_takes_neither_backfill_nor_a_real_endpoint(capsys):
    for extra in (["--backfill"], ["--endpoint-name", "e"]):
        with pytest.raises(SystemExit):
            demo_module.parse_args(["--learn", *extra])
        assert "--learn runs the local endpoint's round" in capsys.readouterr().err


def test_the_traffic_is_at_most_half_the_train_split(tmp_path):
    (tmp_path / "train.lst").write_text(
        lst.format_lst([lst.LstEntry(i, i % 2, f"{i}.png") for i in range(7)])
    )
    traffic = learning.pick_traffic(tmp_path, 100, seed=0)
    assert len(traffic) == 3
    assert traffic == learning.pick_traffic(tmp_path, 100, seed=0)  # seeded
    assert all(path.parent == tmp_path / "train" for path, _ in traffic)
