"""The audit choice: a fixed function of the inference id, uniform over ids, exact at its ends."""

import random
import uuid

import pytest

from workflow_common.audits import is_audit


def inference_ids(count: int) -> list[str]:
    """uuid4 text, as ClassifyImage makes it, from a seeded generator: the same every run."""
    generator = random.Random(20261204)
    return [str(uuid.UUID(int=generator.getrandbits(128), version=4)) for _ in range(count)]


@pytest.mark.parametrize("percent", [0.5, 2, 10, 50])
def test_the_share_chosen_is_the_share_asked_for(percent):
    ids = inference_ids(20_000)

    chosen = sum(is_audit(inference_id, percent) for inference_id in ids)

    assert abs(100 * chosen / len(ids) - percent) < max(0.3, percent / 10)


def test_the_choice_depends_on_the_id_alone_and_grows_with_the_share():
    ids = inference_ids(2_000)
    at_2 = {i for i in ids if is_audit(i, 2)}
    at_5 = {i for i in ids if is_audit(i, 5)}

    assert at_2 == {i for i in ids if is_audit(i, 2)}  # the same every time
    assert at_2 < at_5  # a larger share keeps every id a smaller one chose


def test_zero_chooses_none_and_one_hundred_every_one():
    ids = inference_ids(2_000)

    assert not any(is_audit(i, 0) for i in ids)
    assert all(is_audit(i, 100) for i in ids)
