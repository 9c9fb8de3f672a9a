"""Each constant has one home: the class order lives in the layer, where the functions need it,
and the threshold in template.yaml's ConfidenceThreshold default, which the local pieces read.
Copies that cannot import their home are held to it here: the training tools run without the
layer on their path, and the bench's baseline handler may import nothing of ours. A 0/1 swap
would invert every answer silently; here it fails a test."""

import os

from bench.baselines import filter_inferences as baseline_filter
from local.emulation import template, workflow
from local.model import classifier
from training import etl, report
from training.common import cifar
from workflow_common.inferences import CLASSES


def test_every_copy_of_the_class_order_is_the_layers():
    assert cifar.CLASSES == CLASSES
    assert baseline_filter.CLASSES == CLASSES


def test_lst_labels_follow_the_class_order_from_cifars_fine_labels():
    """The .lst label is the index in CLASSES: 0 for fine label 8, 1 for fine label 48."""
    assert {8: CLASSES.index("bicycle"), 48: CLASSES.index("motorcycle")} == etl.LABEL_OF_FINE
    assert cifar.FINE_LABEL_OF == {"bicycle": 8, "motorcycle": 48}


def test_every_default_threshold_is_the_templates():
    home = template.confidence_threshold()
    assert template.parameter_defaults()["ConfidenceThreshold"] == "0.90"
    assert home == report.DEFAULT_THRESHOLD  # training.report runs without the repository's tools
    assert home == classifier.CONFIDENCE_THRESHOLD
    local = workflow.function_environment(region="us-east-1", endpoint_name="any")
    assert float(local["CONFIDENCE_THRESHOLD"]) == home
    assert float(os.environ["CONFIDENCE_THRESHOLD"]) == home  # what the tests give the functions
